"""The material-to-accuracy sweep: library pieces and the smoke DAG.

The unit tests check the pieces the rules call (pipeline.material_sweep); the workflow
test runs the sweep's targets at smoke scale (3 x 3 grid, 3-pulse train) and checks every
cell of the table and the heat map is a number or says why not.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from pipeline import material_sweep as ms

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "config" / "stacks" / "nlem.yaml"


def test_sweep_stack_scales_every_pvp_trap_density() -> None:
    base = ms.sweep_stack(STACK, 1.0)
    k = base.layer_index("pvp")
    st = ms.sweep_stack(STACK, 5.0)
    ratio = [t.density / b.density for t, b in zip(st.layers[k].traps, base.layers[k].traps,
                                                   strict=True)]
    assert ratio and ratio == pytest.approx([5.0] * len(ratio), rel=1e-12)  # to rounding
    sp = ms.swept_species(STACK)
    assert sp["carrier"] in ("hole", "electron") and sp["density_cm2"] > 0
    # the reported species is the densest PVP trap species
    assert sp["density_cm2"] * 1e4 == pytest.approx(max(t.density for t in base.layers[k].traps))


@pytest.mark.parametrize("value", [0.0, -2.0, float("nan")])
def test_bad_trap_factor_is_rejected_by_name(value: float) -> None:
    with pytest.raises(ValueError, match="trap_density_factor"):
        ms.sweep_stack(STACK, value)


def test_point_protocol_is_train_uv_probe() -> None:
    from device_physics.protocols import protocol_from_dict

    pr = protocol_from_dict(ms.full_protocol_dict(3, 70.0, 0.5))
    windows = pr.pulse_windows()
    assert len(windows) == 4  # 3 train pulses + 1 probe
    uv = [s for s in pr.segments if s.kind == "uv"]
    assert len(uv) == 1 and uv[0].uv == pytest.approx(700.0)  # 70 mW/cm^2 = 700 W/m^2
    assert pr.duration == pytest.approx(3 * 0.06 + 0.5 + 0.06)
    with pytest.raises(ValueError, match="uv_intensity_mw_cm2"):
        ms.reset_protocol_dict(0.0, 1.0)


def test_physics_summary_gain_and_reset_time() -> None:
    """A synthetic trace: J grows 10 -> 12 over the train, Q_t decays under UV with a 0.1 s
    time constant from 1 to 0.2 (above the equilibrium 0): 80 % erased, 99 % of the way to
    the end value after 0.1 s * ln(100) = 0.46 s."""
    from device_physics.protocols import protocol_from_dict

    pr = protocol_from_dict(ms.full_protocol_dict(2, 70.0, 2.0))
    t_train = 0.12
    t = np.r_[0.0, 0.03, 0.06, 0.09, 0.12, t_train + np.linspace(1e-4, 2.0, 4000), 2.15]
    j = np.where(t < 0.06, 10.0, 12.0)
    q = np.where(t <= t_train, 1.0, 0.2 + 0.8 * np.exp(-(t - t_train) / 0.1))
    q[0] = 0.0
    uv = np.where((t > t_train) & (t <= t_train + 2.0), 700.0, 0.0)
    s = ms.physics_summary({"t": t, "J": j, "Qt_p": q, "uv": uv}, pr, t_train, 0.99,
                           "complete")
    assert s["gain_current"] == pytest.approx(1.2)
    assert s["erased_fraction"] == pytest.approx(0.8, abs=1e-6)
    assert s["reset_time_s"] == pytest.approx(0.1 * math.log(100), rel=2e-3)  # 0.5 ms grid
    # electron traps: Q_t,n is a negative charge density; the same numbers from its magnitude
    e = ms.physics_summary({"t": t, "J": j, "Qt_n": -q, "uv": uv}, pr, t_train, 0.99,
                           "complete", carrier="electron")
    assert e["erased_fraction"] == pytest.approx(s["erased_fraction"], rel=1e-12)
    assert e["reset_time_s"] == pytest.approx(s["reset_time_s"], rel=1e-12)


def _fake_point(path: Path, status: str, gain: float) -> Path:
    with h5py.File(path, "w") as fh:
        fh.attrs["status"] = status
        fh.attrs["summary"] = json.dumps({"gain_current": gain, "trap_factor": 1.0,
                                          "uv_intensity_mw_cm2": 70.0, "reset_time_s": 0.01,
                                          "erased_fraction": 0.9})
    return path


def test_failures_are_recorded_per_point(tmp_path: Path) -> None:
    """A failed or non-potentiating physics point gives a failed fit with its reason, and the
    FCN-2 stage passes that reason on instead of raising."""
    cfg = {"require_potentiation": True, "fit_max_nfev": 5, "reset_erased": 0.99,
           "fcn_train_samples": 20, "fcn_test_samples": 20, "fcn_epochs": 1}
    compact = {"preset": "paper", "d2d_sigma": 0.0, "c2c_sigma": 0.0, "read_noise": 0.0}
    flat = ms.fit_point(_fake_point(tmp_path / "a.h5", "complete", 0.97), tmp_path / "a.json",
                        cfg, compact)
    assert flat["status"] == "failed" and "does not potentiate" in flat["reason"]
    broke = ms.fit_point(_fake_point(tmp_path / "b.h5", "failed: physics (train): Newton", 2.0),
                         tmp_path / "b.json", cfg, compact)
    assert broke["reason"] == "fit failed: physics (train): Newton"
    out = ms.fcn2_point(tmp_path / "a.json", tmp_path / "a_fcn.json", 70.0, cfg, {}, {}, 1)
    assert out["status"] == "failed" and out["reason"] == flat["reason"]


def test_summary_table_and_heatmap_show_numbers_or_reasons(tmp_path: Path) -> None:
    docs = []
    for i, (tr, uv) in enumerate([(0.3, 20.0), (0.3, 70.0), (1.0, 20.0)]):
        doc = {"uv_intensity_mw_cm2": uv, "status": "complete" if i else "failed",
               "physics": {"trap_factor": tr, "trap_density_cm2": 3e12 * tr,
                           "trap_species": "pvp_electron_traps",
                           "reset_time_s": 0.01 * (i + 1), "erased_fraction": 0.5,
                           "gain_current": 1.1}}
        if i:
            doc["fcn2_accuracy"] = 80.0 + i
        else:
            doc["reason"] = "fit failed: physics does not potentiate"
        path = tmp_path / f"p{i}.json"
        path.write_text(json.dumps(doc))
        docs.append(path)
    rows = ms.summarise(docs, [0.3, 1.0], [20.0, 70.0], tmp_path / "s.csv", tmp_path / "h.png")
    assert len(rows) == 3
    with open(tmp_path / "s.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["status"] for r in table] == ["failed", "complete", "complete"]
    assert table[0]["reason"].startswith("fit failed")
    assert [r["fcn2_accuracy"] for r in table[1:]] == ["81.0", "82.0"]  # sorted by trap, UV
    assert float(table[2]["trap_density_cm2"]) == 3e12
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"


# ------------------------------------------------------------------------------ the DAG
def _sweep_registered() -> bool:
    from pipeline.config import LemsimConfig

    snakefile = (ROOT / "workflow" / "Snakefile").read_text(encoding="utf-8")
    return "sweep" in LemsimConfig.__dataclass_fields__ and "rules/sweep.smk" in snakefile


def test_wall_limit_stops_a_long_run() -> None:
    import time

    t0 = time.monotonic()
    with pytest.raises(ms.PhysicsTimeout, match="max_wall_s = 0.2 s"):
        with ms.wall_limit(0.2):
            while time.monotonic() - t0 < 30:  # a run that would take 30 s
                sum(range(1000))
    assert time.monotonic() - t0 < 10  # stopped near 0.2 s (10 s: slack for a loaded box)


@pytest.mark.dolfinx
def test_dolfinx_point_runs_train_uv_probe_and_erases(tmp_path: Path) -> None:
    """The default solver path: one point from equilibrium on dolfinx (20 cells, 2 pulses,
    0.3 s UV) potentiates, the UV removes trapped charge, and the file is the data contract."""
    pytest.importorskip("mpi4py.MPI")  # loads libmpi: before dolfinx
    pytest.importorskip("dolfinx")
    from device_physics.studies import read_h5_trace

    cfg = {"solver": "dolfinx", "train_pulses": 2, "nodes_per_layer": 20, "mesh": "dolfinx",
           "rtol": 0.1, "max_wall_s": 0, "uv_duration_s": 0.3, "reset_erased": 0.99}
    stack = STACK
    assert ms.run_train(stack, 1.0, cfg, tmp_path / "train.npz") == "complete"
    out = ms.run_point(stack, 1.0, 70.0, tmp_path / "train.npz", cfg, tmp_path / "p.h5")
    assert out["status"] == "complete", out["status"]
    assert out["solver"] == "dolfinx"
    assert out["gain_current"] > 1.0  # the second pulse is above the first
    assert out["trapped_charge_c_m2"] > 0
    # 0.3 s of 70 mW/cm2 UV removes a good part of the written charge (0.38 measured; the UV's
    # own photoelectrons keep a floor in the traps, see the stack file), in a finite time
    assert 0.2 < out["erased_fraction"] <= 1.0
    assert 0 < out["reset_time_s"] <= 0.3
    arrays, proto, attrs = read_h5_trace(tmp_path / "p.h5")
    assert attrs["status"] == "complete"
    assert arrays["t"][-1] == pytest.approx(proto.duration, rel=1e-6)
    assert np.all(np.diff(arrays["t"]) > 0)
