"""Tests of the device-physics studies: overrides, controls, metrics, mechanism table, profile
summary and the figures (synthetic traces; one tiny fv1d run)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from device_physics import figures as F
from device_physics import studies as S
from device_physics.output import write_device_h5
from device_physics.protocols import protocol_from_dict
from device_physics.study_stage import SWEEP_KEYS, write_mechanism_table

ROOT = Path(__file__).resolve().parents[2]
_TRAPS = [  # a fixed PVP trap set: the tests do not depend on the calibration of nlem.yaml
    {"name": "pvp_hole_traps_idtbt_side", "carrier": "hole", "location": "lower_interface",
     "density": {"value": 5e11, "unit": "cm-2", "source": "test"},
     "width": {"value": 3, "unit": "nm", "source": "test"},
     "depth": {"kind": "gaussian", "mean": 0.62, "sigma": 0.06, "levels": 3, "unit": "eV",
               "source": "test"},
     "capture": {"value": 1e-16, "unit": "cm3/s", "source": "test"},
     "recombination": {"value": 1e-14, "unit": "cm3/s", "source": "test"}},
    {"name": "pvp_electron_traps_qd_side", "carrier": "electron", "location": "upper_interface",
     "density": {"value": 2e11, "unit": "cm-2", "source": "test"},
     "width": {"value": 3, "unit": "nm", "source": "test"},
     "depth": {"value": 0.6, "unit": "eV", "source": "test"},
     "capture": {"value": 1e-16, "unit": "cm3/s", "source": "test"},
     "recombination": {"value": 1e-14, "unit": "cm3/s", "source": "test"}}]


def _nlem_data() -> dict:
    data = S._read_yaml(ROOT / "config" / "stacks" / "nlem.yaml")
    for la in data["layers"]:
        if la["material"] == "PVP":
            la["traps"] = [dict(t) for t in _TRAPS]
    return data


NLEM = _nlem_data()


# ------------------------------------------------------------------------ overrides

def test_override_changes_only_the_named_values():
    base = S.variant_stack(NLEM)
    pvp = base.layers[base.layer_index("pvp")]
    st = S.variant_stack(NLEM, {"pvp.traps.*.density": {"scale": 2.0}, "pvp.thickness": 25,
                                "layers.pvp.traps.0.depth.mean": 0.5,
                                "contacts.cathode.work_function": 4.2})
    new = st.layers[st.layer_index("pvp")]
    for a, b in zip(pvp.traps, new.traps, strict=True):
        assert b.density == pytest.approx(2.0 * a.density, rel=1e-12)
    assert new.thickness == pytest.approx(25e-9, rel=1e-12)  # unit nm kept
    assert np.mean(new.traps[0].depths) == pytest.approx(0.5, abs=1e-12)  # gaussian mean
    assert new.traps[1].depths == pvp.traps[1].depths  # other species untouched
    assert st.cathode.work_function == pytest.approx(4.2)
    assert st.layers[0] == base.layers[0]  # other layers untouched


def test_override_inherited_material_parameter_keeps_material_unit():
    data = _nlem_data()
    for la in data["layers"]:
        la.pop("mu_p", None) if la["name"] == "pvp" else None
    st = S.variant_stack(data, {"pvp.mu_p": 2e-6})  # cm2/(V s), the material's unit
    assert st.layers[st.layer_index("pvp")].mu_p == pytest.approx(2e-10, rel=1e-12)


@pytest.mark.parametrize("path, value, words", [
    ("pvq.thickness", 3, ["'pvq'", "pvp"]),
    ("pvp.traps.7.density", 1.0, ["index 7", "2 entries"]),
    ("pvp.traps.nope.density", 1.0, ["'nope'", "pvp_hole_traps_idtbt_side"]),
    ("pvp.foo", 1.0, ["'foo'", "thickness"]),
    ("pvp", 1.0, ["<layer>.<key>"]),
    ("contacts.top.work_function", 4.0, ["'top'", "anode"]),
    ("pvp.traps.0.depth.median", 0.5, ["'median'"]),
])
def test_bad_override_path_names_the_problem(path, value, words):
    with pytest.raises(S.OverrideError) as exc:
        S.variant_stack(NLEM, {path: value})
    for w in words:
        assert w in str(exc.value)
    assert path in str(exc.value)


@pytest.mark.parametrize("path, value, words", [
    ("pvp.thickness", -3, ["thickness", "-3", "must be in"]),
    ("pvp.traps.0.density", "many", ["'many'", "number"]),
    ("pvp.traps.0.capture", {"scale": 1e20}, ["capture", "must be in"]),
    ("pvp.langevin", 1, ["true or false"]),
])
def test_bad_override_value_raises_before_solving(path, value, words):
    with pytest.raises(S.OverrideError) as exc:
        S.run_variant(NLEM, TINY, {path: value})  # a tiny protocol even if it did not raise
    for w in words:
        assert w in str(exc.value)


def test_protocol_overrides_keep_units_and_validate():
    src = ROOT / "config" / "protocols" / "uv_reset.yaml"
    pr = S.variant_protocol(src, {"uv.intensity": 35})
    uv = [s for s in pr.segments if s.kind == "uv"]
    assert uv[0].uv == pytest.approx(350.0)  # 35 mW/cm2 = 350 W/m2
    pr2 = S.variant_protocol(src, {"*.amplitude": {"scale": 0.8}})
    assert max(s.knots_v[1] for s in pr2.segments if s.kind == "pulse") == pytest.approx(4.0)
    with pytest.raises(S.OverrideError, match="no step named 'uvx'"):
        S.variant_protocol(src, {"uvx.intensity": 35})
    with pytest.raises(S.OverrideError, match="intensity"):
        S.variant_protocol(src, {"uv.intensity": -5})


def test_run_variant_rejects_bad_numerics():
    with pytest.raises(ValueError, match="nodes_per_layer"):
        S.run_variant(NLEM, ROOT / "config" / "protocols" / "pulses_10.yaml",
                      nodes_per_layer=1)
    with pytest.raises(ValueError, match="rtol"):
        S.run_variant(NLEM, ROOT / "config" / "protocols" / "pulses_10.yaml", rtol=2.0)


# ------------------------------------------------------------------------ controls

def test_controls_differ_from_the_stack_in_the_named_part_only():
    base = S.variant_stack(NLEM)
    mats = [la.material for la in base.layers]
    for name, (_, _) in S.CONTROLS.items():
        st = S.variant_stack(S.control_stack_data(NLEM, name))
        m = [la.material for la in st.layers]
        if name.startswith("no_") and name != "no_idtbt":
            assert len(m) == len(mats) - 1, name
        elif name == "no_idtbt":
            assert "PVK" in m and "PVK:IDTBT" not in m
            i = m.index("PVK")
            assert st.layers[i].thickness == base.layers[i].thickness
        else:
            assert m == mats, name
    traps = {n: [t.carrier for t in S.variant_stack(S.control_stack_data(NLEM, n)).layers[
        mats.index("PVP")].traps] for n in ("pvp_trapfree", "pvp_no_electron_traps",
                                             "pvp_no_hole_traps")}
    assert traps == {"pvp_trapfree": [], "pvp_no_electron_traps": ["hole"],
                     "pvp_no_hole_traps": ["electron"]}
    with pytest.raises(S.OverrideError, match="control"):
        S.control_stack_data(NLEM, "no_such_control")


# ------------------------------------------------------------------------ synthetic traces

MECH = {"name": "mech_syn", "steps": [
    {"kind": "pulses", "amplitude": "5 V", "width": "30 ms", "interval": "30 ms", "count": 5,
     "name": "train"},
    {"kind": "pulses", "amplitude": "4 V", "width": "30 ms", "interval": "30 ms", "count": 2,
     "name": "dark_read"},
    {"kind": "pulses", "amplitude": "4 V", "width": "30 ms", "interval": "30 ms", "count": 3,
     "uv": "70 mW/cm2", "name": "uv_read"},
    {"kind": "pulses", "amplitude": "4 V", "width": "30 ms", "interval": "30 ms", "count": 1,
     "name": "after_read"}]}
DECAY_UV = {"name": "decay_uv", "steps": [
    MECH["steps"][0],
    {"kind": "rest", "duration": "2 s", "name": "rest"},
    {"kind": "uv", "intensity": "70 mW/cm2", "duration": "1 s", "name": "uv"},
    {"kind": "pulses", "amplitude": "5 V", "width": "30 ms", "interval": "30 ms", "count": 1,
     "name": "probe"}]}


class _Syn:
    """A trace with known answers: the read current is V times a gain that grows by 10 % per
    training pulse (g_k = 1 + 0.1 k), falls to 0.5 under UV; light is 2x current;
    trapped charge Q rises 1 uC/cm2 per training pulse, decays with tau 1 s in the rest and
    0.1 s under UV."""

    def __init__(self, spec: dict, snapshots: bool = False):
        pr = protocol_from_dict(spec)
        t = np.unique(np.concatenate([np.linspace(0, pr.duration, 4000),
                                      pr.edges(), pr.pulse_windows().ravel() - 1e-6]))
        t = t[(t >= 0) & (t <= pr.duration)]
        v, uv = pr.waveform(np.maximum(t - 1e-9, 0.0))  # left limits, as the solvers record
        w = pr.pulse_windows()
        k = np.searchsorted(w[:, 0], t, side="left")  # pulses started before t
        n_train = 5 if spec["name"] in ("mech_syn", "decay_uv") else len(w)
        g = 1.0 + 0.1 * np.minimum(k, n_train)
        g = np.where(uv > 0, 0.5 * g, g)
        j = v * g
        q = 1e-2 * np.minimum(k, n_train) * 1.0
        rest = [s for s in pr.segments if s.kind == "rest"]
        uvs = [s for s in pr.segments if s.kind == "uv"]
        if rest:
            r = rest[0]
            q = np.where(t > r.t0, q * np.exp(-(np.minimum(t, r.t1) - r.t0) / 1.0), q)
            if uvs:
                u = uvs[0]
                q = np.where(t > u.t0, q * np.exp(-(np.minimum(t, u.t1) - u.t0) / 0.1), q)
        self.arrays_ = {"t": t, "V": v, "uv": uv, "J": j, "J_right": j, "J_conduction": j,
                        "L": 2.0 * j, "Qt_p": q, "Qt_n": np.zeros_like(t)}
        self.stats = {"steps": len(t)}
        self.snapshots = []
        if snapshots:
            for s in pr.segments:
                e_pvp = -1e7 if "trained" in s.label else 0.0
                self.snapshots.append((s.t1, {
                    "psi": -np.linspace(0, 1, 31) - 4.3, "n": np.full(31, 1e20),
                    "p": np.full(31, 1e22), "nt": np.zeros(31), "pt": np.full(31, 1e23),
                    "E": np.where((np.arange(30) >= 12) & (np.arange(30) < 18), e_pvp, 1e6)}))
        self.pr = pr

    def arrays(self):
        return self.arrays_


def _write(tmp_path: Path, spec: dict, name: str, snapshots: bool = False) -> Path:
    syn = _Syn(spec, snapshots)
    st = S.variant_stack(NLEM)
    x = np.linspace(0, 150e-9, 31)
    layer = np.repeat(np.arange(5), 6)  # 5 layers x 6 cells: pvp = layer 2 = cells 12..17
    out = tmp_path / f"{name}.h5"
    write_device_h5(out, x=x, cell_layer=layer, layer_names=[la.name for la in st.layers],
                    layer_thicknesses=[30e-9] * 5, trace=syn, protocol_json=syn.pr.to_json(),
                    stack_json=st.to_json())
    return out


def test_trace_metrics_on_a_synthetic_trace(tmp_path):
    h5 = _write(tmp_path, MECH, "mech")
    a, pr, _ = S.read_h5_trace(h5)
    m = S.trace_metrics(a, pr)
    assert m["complete"] == 1.0
    assert m["gain_J"] == pytest.approx(1.5 / 1.1, rel=1e-9)  # g_5 / g_1
    assert m["NL_J"] == pytest.approx(0.0, abs=1e-9)  # linear growth
    assert m["pearson"] == pytest.approx(1.0, abs=1e-12)
    assert m["dI_uv"] == pytest.approx(-0.5, rel=1e-9)  # UV halves the read
    assert m["dL_uv"] == pytest.approx(-0.5, rel=1e-9)
    assert m["dEL_uv"] == pytest.approx(-0.5, rel=1e-9)  # no light between reads: EL = L
    assert m["dI_after"] == pytest.approx(0.0, abs=1e-9)
    row = S.mechanism_row({"stack": "nlem", "status": "complete", "metrics": m})
    m0 = m
    a, pr, _ = S.read_h5_trace(_write(tmp_path, DECAY_UV, "decay_uv"))
    m = S.trace_metrics(a, pr)
    # trapped charge: 63.06 % lost after tau ln(1/0.3694) = 0.996 s; 99 % after 0.1 ln 100
    assert m["decay_s"] == pytest.approx(-math.log(1 - 0.6306), rel=2e-2)
    assert m["uv_reset_s"] == pytest.approx(0.1 * math.log(100), rel=2e-2)
    assert m["probe_gain_J"] == pytest.approx(1.5 / 1.1, rel=1e-9)
    assert row["sign_I_uv"] == "-"
    # the synthetic light is ~1 photon/(s m2), below the light floor (1e15): no change; at the
    # device's ~1e21 the same relative drop is one
    assert row["sign_L_uv"] == "0"
    lit = S.mechanism_row({"stack": "nlem", "status": "complete",
                           "metrics": {**m0, "L_dark": 1e21}})
    assert lit["sign_L_uv"] == "-" and lit["dL_uv_ph_s_m2"] == pytest.approx(-0.5e21)
    pos = S.mechanism_row({"stack": "no_pvp", "status": "complete",
                           "metrics": {**m0, "dI_uv": 0.2}})
    assert "holds" in S.mechanism_verdict([row, pos])
    assert "does not hold" in S.mechanism_verdict([row, {**row, "stack": "no_pvp"}])
    # absolute changes: the relative -0.5 of the read times the dark read
    assert row["dI_uv_A_m2"] == pytest.approx(-0.5 * row["I_dark_A_m2"], rel=1e-12)
    assert row["dL_uv_ph_s_m2"] == pytest.approx(-0.5 * row["L_dark_ph_s_m2"], rel=1e-12)
    # a stack that hardly conducts: a huge relative change on 1e-21 A/m2 is no change
    dead = S.mechanism_row({"stack": "no_idtbt", "status": "complete",
                            "metrics": {**m0, "I_dark": 1e-21, "dI_uv": -1.8e17,
                                        "dI_uv_end": -1.8e17}})
    assert dead["dI_uv_A_m2"] == pytest.approx(-1.8e-4, rel=1e-12)  # below the 1e-3 floor
    assert dead["sign_I_uv"] == "0" and dead["sign_I_uv_end"] == "0"
    assert "holds" in S.mechanism_verdict([row, dead])


def test_figures_from_synthetic_traces(tmp_path):
    traces = {"mechanism": _write(tmp_path, MECH, "mech")}
    traces["pulses_10"] = _write(tmp_path, {"name": "p", "steps": [MECH["steps"][0]]}, "p")
    traces["iv_3scans_smoke"] = _write(tmp_path, {"name": "iv", "steps": [
        {"kind": "sweep", "v_peak": "6 V", "rate": "60 V/s", "cycles": 2}]}, "iv")
    for ms in (10, 100, 1000):
        traces[f"ppf_{ms}ms"] = _write(tmp_path, {"name": f"ppf{ms}", "steps": [
            {"kind": "pulses", "amplitude": "5 V", "width": "30 ms",
             "interval": f"{ms} ms", "count": 2}]}, f"ppf{ms}")
    traces["decay"] = traces["uv_reset"] = _write(tmp_path, DECAY_UV, "decay_uv")
    outs = {k: tmp_path / f"{k}.png" for k in ("fig2a", "fig2c", "fig2d", "fig2f", "fig2g",
                                                "fig2h", "figS15_S16")}
    done = F.paper_panels(traces, outs)
    assert set(done) == set(outs)
    for p in outs.values():
        assert p.stat().st_size > 5000  # a drawn PNG, not an empty file
    pts = F.ppf_points([traces[f"ppf_{ms}ms"] for ms in (10, 100, 1000)])
    assert [round(p[0], 6) for p in pts] == [0.01, 0.1, 1.0]
    # the synthetic gain grows by 0.1 per started pulse: A2/A1 = 1.2/1.1
    assert pts[0][1] == pytest.approx(1.2 / 1.1 - 1, rel=1e-9)
    # a missing role gives a placeholder, not an error
    assert F.paper_panels({}, {"fig2a": tmp_path / "e.png"})["fig2a"].exists()


def test_profile_summary_and_figure(tmp_path):
    spec = S.profile_protocol(pulses=2, uv_s=0.1)
    h5 = _write(tmp_path, spec, "prof", snapshots=True)
    prof = S.read_profiles(h5)
    assert {"pristine", "trained_0V", "trained_read", "uv_read"} <= set(prof["states"])
    ec = prof["states"]["pristine"]["Ec"]
    assert ec.shape == (30, 2)
    # Ec = -chi - psi: at the cathode psi = -5.3 V, ZnO chi 4.2 eV -> Ec = +1.1 eV
    assert ec[-1, 1] == pytest.approx(-4.2 + 5.3, abs=1e-9)
    summ = S.profile_summary(prof)
    assert summ["builtin_E_pvp_mean_V_m"] == pytest.approx(-1e7, rel=1e-9)
    assert summ["builtin_field_opposes_applied"] is True
    assert F.profiles_figure(prof, tmp_path / "prof.png", summ).stat().st_size > 5000


def test_sweep_plots_and_tables(tmp_path):
    pts = [{"uv_intensity": i, "status": "complete",
            "metrics": {"uv_reset_s": 100 / i, "uv_t63_s": 20 / i}} for i in (70.0, 10.0)]
    rows = S.sweep_table(pts, "uv_intensity", SWEEP_KEYS["uv_intensity"])
    assert [r["uv_intensity"] for r in rows] == [10.0, 70.0]
    assert math.isnan(rows[0]["Q_gain"])
    F.sweep_plot(rows, "uv_intensity", tmp_path / "uv.png")
    tr = [{"trap_scale": s, "status": "complete",
           "metrics": {"gain_J": 1 + s, "NL_J": 0.1 * s}} for s in (0.5, 2.0)]
    F.sweep_plot(S.sweep_table(tr, "trap_scale", SWEEP_KEYS["trap_scale"]), "trap_scale",
                 tmp_path / "trap.png")
    assert (tmp_path / "trap.png").stat().st_size > 5000
    p = S.write_rows_csv(rows, tmp_path / "t.csv")
    assert p.read_text().splitlines()[0].startswith("uv_intensity,status,uv_reset_s")


# ------------------------------------------------------------------------ fv1d (tiny)

TINY = {"name": "mech_tiny", "steps": [  # one dark read, one read under UV (1 ms pulses)
    {"kind": "pulses", "amplitude": "4 V", "width": "1 ms", "interval": "1 ms", "count": 1,
     "name": "dark_read"},
    {"kind": "pulses", "amplitude": "4 V", "width": "1 ms", "interval": "1 ms", "count": 1,
     "uv": "70 mW/cm2", "name": "uv_read"}]}


@pytest.mark.long
def test_tiny_mechanism_table_with_fv1d(tmp_path):
    """Two stacks on a coarse mesh: the table has one row per stack with a sign each, or a
    failure status naming where the solver stopped (fail-soft), and the HDF5 is written."""
    res = []
    for c in ("nlem", "pvp_trapfree"):
        r = S.run_variant(S.control_stack_data(NLEM, c), TINY, nodes_per_layer=4,
                          h5_path=tmp_path / f"{c}.h5")
        assert r.status == "complete" or r.status.startswith("failed: time stepping failed")
        assert r.metrics["J1"] > 0  # the first pulse always completes
        res.append(r)
        assert (tmp_path / f"{c}.h5").exists()
    rows = [S.mechanism_row(r) for r in res]
    assert [r["stack"] for r in rows] == ["nlem", "pvp_trapfree"]
    for r in rows:
        assert r["sign_I_uv"] in ("+", "-", "0", "n/a")
    (tmp_path / "nlem.json").write_text(json.dumps(res[0].to_dict()))
    (tmp_path / "pvp_trapfree.json").write_text(json.dumps(res[1].to_dict()))
    out = write_mechanism_table([tmp_path / "nlem.json", tmp_path / "pvp_trapfree.json"],
                                  tmp_path / "m.csv", tmp_path / "m.png")
    assert len(out) == 2 and (tmp_path / "m.png").exists()


def test_run_variant_rejects_an_unknown_solver():
    with pytest.raises(ValueError, match="solver = 'comsol'"):
        S.run_variant(NLEM, ROOT / "config" / "protocols" / "pulses_10.yaml", solver="comsol")


@pytest.mark.dolfinx
def test_run_variant_on_dolfinx_matches_fv1d_on_the_same_mesh(tmp_path):
    """The studies' dolfinx path (the device stage's solver and mesh) writes the data contract
    and its metrics agree with fv1d on the same (dolfinx) mesh: the mechanism stack's first
    read and written trapped charge within 1 % (the solvers agree to ~1e-3 at 4 cells)."""
    kw = dict(nodes_per_layer=4, rtol=0.05)
    d = S.run_variant(NLEM, TINY, solver="dolfinx", h5_path=tmp_path / "d.h5", **kw)
    f = S.run_variant(NLEM, TINY, solver="fv1d", mesh="dolfinx", robust_retry=True, **kw)
    assert d.status == "complete", d.status
    assert d.metrics["J1"] == pytest.approx(f.metrics["J1"], rel=1e-2)
    assert abs(d.metrics["Q_gain"]) == pytest.approx(abs(f.metrics["Q_gain"]), rel=1e-2)
    prof = S.read_profiles(tmp_path / "d.h5")  # profiles readable like fv1d's
    assert prof["states"] and len(prof["x"]) > 10


@pytest.mark.parametrize("with_conduction", [True, False])
def test_fig2c_axis_is_set_by_the_conduction_current(tmp_path, with_conduction):
    """Displacement spikes 10^5 times the EPSC at every edge: the current axis still spans the
    conduction current (J_conduction, or J without the edge samples), the spikes are clipped."""
    spec = {"name": "p", "steps": [MECH["steps"][0], {"kind": "rest", "duration": "0.1 s"}]}
    syn = _Syn(spec)
    a = syn.arrays_
    j_cond = a["J"].copy()
    on = a["V"] > 2.5
    edge = np.flatnonzero(np.diff(on.astype(int)) != 0) + 1  # first sample after each edge
    spikes = np.zeros_like(j_cond)
    spikes[edge] = np.where(on[edge], 2e6, -2e6)
    a["J"] = j_cond + spikes
    if with_conduction:
        a["J_conduction"] = j_cond
    else:
        del a["J_conduction"]
    st = S.variant_stack(NLEM)
    out = tmp_path / "p.h5"
    write_device_h5(out, x=np.linspace(0, 150e-9, 31), cell_layer=np.repeat(np.arange(5), 6),
                    layer_names=[la.name for la in st.layers], layer_thicknesses=[30e-9] * 5,
                    trace=syn, protocol_json=syn.pr.to_json(), stack_json=st.to_json())
    fig = F.fig2c_figure(out)
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    jmax = float(j_cond.max()) * F.J_UNIT
    assert jmax < hi < 10 * jmax  # set by the conduction current, not the 2e5 mA/cm2 spikes
    assert lo > -0.5 * jmax
    assert "clipped" in " ".join(t.get_text() for t in ax.texts)
    assert all(a.get_ylabel() for a in fig.axes)  # units on every axis, inset included
    import matplotlib.pyplot as plt

    plt.close(fig)
