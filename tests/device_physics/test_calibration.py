"""Calibration driver: run cache, resume, residual definition and input checks.

The physics run is replaced by a cheap stand-in runner (a synthetic raw record whose gains
depend on the parameters), so these tests do not solve anything and take about a second.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from device_physics import calibration as cal


def _base() -> dict:
    return cal.load_stack_mapping("config/stacks/nlem.yaml")


def _fake_runner(calls: list):
    """Raw record of a saturating train whose size grows with the trap density."""

    def run(stack, bundle, settings):
        calls.append(1)
        dens = cal.get_value(stack, cal.DEFAULT_PARAMS[0].path)
        k = np.arange(1, bundle.n_pulses + 1)
        amp = math.log10(dens) - 10.5  # 0.5 .. 3 over the box
        J = 1.0 + amp * (1 - np.exp(-k / 20))
        L = 1.0 + 1.3 * amp * (1 - np.exp(-k / 18))
        q = 1e-3 * (1 - np.exp(-k / 20))
        t = np.linspace(0, bundle.rest_s, 50)
        tu = np.linspace(0, bundle.uv_s, 50)
        return {"status": "complete",
                "train": {"J": J.tolist(), "L": L.tolist(), "Qt_n": q.tolist(),
                          "Qt_p": np.zeros_like(q).tolist()},
                "rest": {"t": t.tolist(), "Qt_n": (q[-1] * np.exp(-t / 70)).tolist(),
                         "Qt_p": np.zeros_like(t).tolist()},
                "uv": {"t": tu.tolist(), "Qt_n": (q[-1] * np.exp(-tu / 0.5)).tolist(),
                       "Qt_p": np.zeros_like(tu).tolist()}}

    return run


def _x0(base):
    return cal.current_values(base, cal.DEFAULT_PARAMS)


def test_cache_hit_costs_no_solve(tmp_path):
    calls: list = []
    base = _base()
    ev = cal.Evaluator(base, cache_dir=tmp_path, runner=_fake_runner(calls))
    x = _x0(base)
    a = ev.evaluate(x)
    b = ev.evaluate(x)
    assert len(calls) == 1 and ev.solves == 1
    assert not a["cached"] and b["cached"]
    assert a["cost"] == b["cost"]
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["key"] == a["key"]
    # a different parameter vector is a different run
    x2 = dict(x, et_density=x["et_density"] * 2)
    ev.evaluate(x2)
    assert len(calls) == 2


def test_cache_key_depends_on_settings_and_stack():
    base = _base()
    x = _x0(base)
    st = cal.apply_params(base, x)
    k0 = cal.cache_key(x, st, cal.Bundle(), cal.Settings())
    assert k0 == cal.cache_key(dict(x), cal.apply_params(base, x), cal.Bundle(), cal.Settings())
    assert k0 != cal.cache_key(x, st, cal.Bundle(), cal.Settings(nodes_per_layer=8))
    assert k0 != cal.cache_key(x, st, cal.Bundle(n_pulses=30), cal.Settings())
    st2 = cal.apply_params(base, x)
    st2["temperature"]["value"] = 301
    assert k0 != cal.cache_key(x, st2, cal.Bundle(), cal.Settings())


def test_resume_replays_cached_evaluations(tmp_path):
    base = _base()
    x0 = _x0(base)
    calls1: list = []
    ev1 = cal.Evaluator(base, cache_dir=tmp_path, runner=_fake_runner(calls1))
    cal.calibrate(ev1, x0, max_evals=8)
    n1 = len(calls1)
    assert 0 < n1 <= 8
    # "interrupted" after 8: a longer rerun repeats those 8 from the cache
    calls2: list = []
    ev2 = cal.Evaluator(base, cache_dir=tmp_path, runner=_fake_runner(calls2))
    best = cal.calibrate(ev2, x0, max_evals=16)
    assert sum(h["cached"] for h in best["history"][:8]) == 8
    assert len(calls2) <= 16 - 8
    assert best["cost"] <= min(h["cost"] for h in best["history"]) + 1e-12


def test_residuals_on_synthetic_metrics():
    m = dict(cal.PAPER)
    r = cal.residuals(m)
    assert all(abs(v) < 1e-12 for v in r.values())  # the paper itself fits exactly
    m2 = dict(m, D6_gain_current_10=1.38 * 1.1, D10_decay_s=71.6 * math.e, D5_pearson=0.989,
              D12_ratio=0.084)
    r2 = cal.residuals(m2)
    assert r2["D6_gain_current_10"] == pytest.approx(2.0 * 0.1)  # weight 2, 10 % high
    assert r2["D10_decay_s"] == pytest.approx(1.0)  # ln(e)
    assert r2["D5_pearson"] == pytest.approx(1.0)  # 0.01 below 0.999
    assert r2["D12_ratio"] == pytest.approx(0.5 * 1.0)  # twice the 4.2 % bound, weight 0.5
    m3 = dict(m, D5_pearson=1.0, D12_ratio=0.01, D11_uv_reset_s=float("nan"))
    r3 = cal.residuals(m3)
    assert r3["D5_pearson"] == 0.0 and r3["D12_ratio"] == 0.0  # one-sided bounds
    assert r3["D11_uv_reset_s"] == cal.MISSING


def test_metrics_from_raw_synthetic():
    calls: list = []
    raw = _fake_runner(calls)(cal.apply_params(_base(), {"et_density": 1e12}), cal.Bundle(),
                              cal.Settings())
    m = cal.metrics_from_raw(raw)
    J = np.asarray(raw["train"]["J"])
    assert m["D6_gain_current_50"] == pytest.approx(J[-1] / J[0])
    # D10/D11 on the written trapped charge q0 * exp(-t / tau): 63.06 % lost at
    # 70 ln(1 / 0.3694) = 69.71 s, 99 % erased at 0.5 ln(100) = 2.303 s (tolerance 0.5 %:
    # linear interpolation between the 50 samples of the synthetic branches)
    assert m["D10_decay_s"] == pytest.approx(70.0 * math.log(1 / (1 - 0.6306)), rel=5e-3)
    assert m["D11_uv_reset_s"] == pytest.approx(0.5 * math.log(100.0), rel=5e-3)
    assert math.isnan(m["probe_lost_rest"])  # the stand-in has no probe pulse
    # a probe that reads the first pulse again has lost all of the gain
    raw["rest"]["probe_J"] = J[0]
    assert cal.metrics_from_raw(raw)["probe_lost_rest"] == pytest.approx(1.0)


@pytest.mark.parametrize("bad, match", [
    ({"nonsense": 1.0}, "unknown parameter"),
    ({"et_density": 1e25}, "et_density"),
    ({"et_depth_mean": -1.0}, "et_depth_mean"),
])
def test_bad_parameters(bad, match):
    with pytest.raises(ValueError, match=match):
        cal.apply_params(_base(), bad)


def test_bad_inputs():
    with pytest.raises(ValueError, match="lo"):
        cal.FreeParam("x", ("a",), 1.0, 0.5)
    with pytest.raises(ValueError, match="n_pulses"):
        cal.Bundle(n_pulses=3)
    with pytest.raises(ValueError, match="nodes_per_layer"):
        cal.Settings(nodes_per_layer=1)
    with pytest.raises(ValueError, match="metrics lack"):
        cal.residuals({"D3_nl_current": 0.2})
    with pytest.raises(KeyError, match="no item named"):
        cal.Evaluator(_base(), spec=(cal.FreeParam(
            "y", ("layers", "nope", "thickness", "value"), 1.0, 2.0),))
    with pytest.raises(ValueError, match="max_evals"):
        cal.calibrate(cal.Evaluator(_base()), _x0(_base()), max_evals=0)


def test_two_species_parameters_address_both_populations():
    base = _base()
    x = cal.current_values(base, cal.TWO_SPECIES_PARAMS)
    # the stack's calibrated values are read from it
    assert x["et_density"] == pytest.approx(9.6e12) and x["ft_density"] == pytest.approx(7.8e11)
    st = cal.apply_params(base, dict(x, ft_capture=2e-13), cal.TWO_SPECIES_PARAMS)
    traps = next(la for la in st["layers"] if la["name"] == "pvp")["traps"]
    assert [t["capture"]["value"] for t in traps] == [pytest.approx(9e-15), 2e-13]
    assert cal.PARAM_SETS["two_species"] is cal.TWO_SPECIES_PARAMS
    with pytest.raises(ValueError, match="ft_capture"):
        cal.apply_params(base, {"ft_capture": 1.0}, cal.TWO_SPECIES_PARAMS)


def test_solver_choice_and_dolfinx_protocols(monkeypatch):
    with pytest.raises(ValueError, match="solver = 'devsim'"):
        cal.Settings(solver="devsim")
    from device_physics.protocols import protocol_from_dict

    b = cal.Bundle(n_pulses=12, rest_s=20.0, uv_s=2.0)
    rest = protocol_from_dict(cal._dolfinx_branch_spec(b, uv=False))
    uv = protocol_from_dict(cal._dolfinx_branch_spec(b, uv=True))
    assert len(rest.pulse_windows()) == len(uv.pulse_windows()) == 13  # train + probe
    kinds = [s.kind for s in uv.segments]
    # UV, then a dark pause before the probe (separate UV-off and bias-on edges)
    assert kinds[-3:] == ["uv", "rest", "pulse"]
    assert uv.segments[-3].t1 - uv.segments[-3].t0 == pytest.approx(2.0)
    assert [s.kind for s in rest.segments][-2:] == ["rest", "pulse"]
    assert rest.duration == pytest.approx(12 * 0.06 + 20.0 + 0.06)
    # the evaluation dispatches on the solver (stand-ins: nothing is solved)
    monkeypatch.setattr(cal, "simulate", lambda *a: {"solver": "fv1d"})
    monkeypatch.setattr(cal, "simulate_dolfinx", lambda *a: {"solver": "dolfinx"})
    assert cal.run_evaluation({}, b, cal.Settings())["solver"] == "fv1d"
    assert cal.run_evaluation({}, b, cal.Settings(solver="dolfinx"))["solver"] == "dolfinx"


def test_fit_shunt_recovers_an_exact_solution():
    # peaks built so that G = 20 A/(m2 V) at 5 V gives exactly the paper's current gains:
    # j1 + 5 G = 200, so j10 = 1.38 * 200 - 100 and j50 = 2.40 * 200 - 100
    j = np.linspace(100.0, 380.0, 50)
    j[9] = 1.38 * 200 - 100
    fit = cal.fit_shunt(j, 5.0)
    assert fit["shunt_conductance"] == pytest.approx(20.0, rel=1e-4)  # bounded search, xatol
    assert fit["gains"][10] == pytest.approx(1.38, rel=1e-5)
    assert fit["gains"][50] == pytest.approx(2.40, rel=1e-5)
    # no shunt leaves the gains of the drift-diffusion peaks
    assert cal.gains_with_shunt(j, 5.0, 0.0) == {10: j[9] / j[0], 50: j[49] / j[0]}
    with pytest.raises(ValueError, match="v_read"):
        cal.fit_shunt(j, 0.0)
    with pytest.raises(ValueError, match="j_dd"):
        cal.fit_shunt(j[:5], 5.0)
