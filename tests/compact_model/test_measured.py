"""A measured device in: readers, named errors, protocol detection, and the fit recovering the
parameters the shipped synthetic measurement was made with."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import compact_model
from compact_model import measured as M
from compact_model import protocols
from compact_model.presets import PAPER
from lemsim.configtools import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data" / "nlem_measured_synthetic.csv"
sys.path.insert(0, str(ROOT / "examples"))
from make_synthetic_measurement import TRUTH  # noqa: E402


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> dict:
    """The shipped example through the command line (``python -m compact_model fit``)."""
    from compact_model.__main__ import main

    out = tmp_path_factory.mktemp("measured") / "nlem.json"
    assert main(["fit", "--measured", str(DATA), "-o", str(out)]) == 0
    return json.loads(out.read_text())


def test_fit_recovers_the_parameters_it_was_made_with(fitted: dict) -> None:
    p = {k: v["value"] for k, v in fitted["parameters"].items()}
    # well constrained by 50 pulses, a 30 s rest and a probe (1-sigma <= 7 %, 0.5-1 % noise)
    assert p["i_ref"] == pytest.approx(TRUTH.i_ref, rel=0.05)
    assert p["tau_slow"] == pytest.approx(TRUTH.tau_slow, rel=0.05)
    assert p["gamma_l"] == pytest.approx(TRUTH.gamma_l, rel=0.03)
    # capture rate and conductance gain trade off (1-sigma about 20 %); their product, the
    # initial slope of the train, is sharp
    assert p["g_max"] == pytest.approx(TRUTH.g_max, rel=0.25)
    assert p["k_slow"] == pytest.approx(TRUTH.k_slow, rel=0.25)
    assert p["g_max"] * p["k_slow"] == pytest.approx(TRUTH.g_max * TRUTH.k_slow, rel=0.03)
    # the noise level: 0.5 % current, 1 % light -> rms ln residual about 0.008
    assert fitted["residuals"]["rms_ln_residual"]["decay"] < 0.02
    # every metric of the measurement reproduced within 10 % (the physics fit's goal)
    assert fitted["physics_agreement"]["all_within"], fitted["physics_agreement"]
    # the reported uncertainty covers the actual error of every well-constrained parameter
    for k, c in fitted["measured"]["constrained"].items():
        s = c["ln_sigma"]
        if c["fitted"] and s is not None and s < 0.3:
            assert abs(math.log(p[k] / getattr(TRUTH, k))) < 3 * s + 0.02, (k, p[k], s)


def test_report_names_constrained_and_sources(fitted: dict) -> None:
    meas = fitted["measured"]
    train, rest = meas["protocols"]["decay"]["segments"][:2]
    assert train["kind"] == "pulses" and train["count"] == 50 and train["amplitude"] == 5.0
    assert train["width"] == pytest.approx(0.03) and train["interval"] == pytest.approx(0.03)
    assert rest["kind"] == "rest" and rest["duration"] == pytest.approx(30.03)
    assert {"i_ref", "g_max", "k_slow", "tau_slow", "phi_ref"} <= set(meas["constrained"])
    # no UV and one amplitude: UV and power-law parameters are not constrained ...
    assert not {"uv_rate", "uv_k", "alpha_i", "alpha_l"} & set(meas["constrained"])
    src = fitted["parameter_sources"]
    assert src["uv_rate"] == "preset paper" and src["alpha_i"] == "preset paper"
    assert src["area"].startswith("declared in nlem_measured_synthetic.meta.yaml")
    assert src["tau_slow"] == "fitted to the measurement"
    # ... and they come from the named preset
    assert fitted["parameters"]["uv_rate"]["value"] == PAPER.uv_rate
    assert fitted["fitted_to"] == "measurement" and fitted["name"] == "measured"


def test_rows_name_the_measurement(fitted: dict) -> None:
    from compact_model.rows import target_rows

    rows = target_rows(fitted)
    assert rows and all(r["source_stage"] == "compact_model (measured fit)" for r in rows)
    assert "FITTED TO MEASUREMENT" in rows[0]["definition"]


# ------------------------------------------------------------------ named errors
def _write(tmp_path: Path, text: str, name: str = "m.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = "time (s),voltage (V),current (mA)\n0,0,0\n0.01,5,0.02\n0.02,0,0\n"


@pytest.mark.parametrize("text, error, words", [
    ("time (s),current (mA)\n0,1\n1,2\n", M.MissingColumnError, "voltage"),
    ("time (s),voltage (V),current (furlongs)\n0,0,0\n1,5,1\n", M.UnknownUnitError,
     "furlongs"),
    ("time (s),voltage (V),current\n0,0,0\n1,5,1\n", M.UnknownUnitError, "gives no unit"),
    ("time (s),voltage (V),current (mA)\n0,0,0\n0.02,5,1\n0.01,0,0\n",
     M.NonMonotoneTimeError, "data rows 2-3"),
    ("time (s),voltage (V),current (mA)\n0,0,0\n0.01,5,nan\n", M.NonFiniteError, "current"),
    ("time (s),voltage (V),current (mA)\n0,0,0\n0.01,5,abc\n", M.MeasurementFileError,
     "not a number"),
    ("# only a comment\n", M.MeasurementFileError, "no data rows"),
    ("pulse,conductance (uS)\n1,1\n2,2\n", M.MetadataError, "read_voltage"),
    ("voltage (V),current (A)\n0,0\n1,1e-6\n", M.MetadataError, "sweep_rate"),
])
def test_malformed_files_get_named_errors(tmp_path, text, error, words) -> None:
    p = _write(tmp_path, text)
    with pytest.raises(error, match=words) as exc:
        M.read_measurement(p)
    assert str(p) in str(exc.value)  # every message names the file


def test_missing_file_and_bad_metadata(tmp_path) -> None:
    with pytest.raises(M.MeasurementFileError, match="no such measurement file"):
        M.read_measurement(tmp_path / "none.csv")
    meta = _write(tmp_path, "parameters:\n  area: {value: 4, unit: mm2}\n", "m.meta.yaml")
    with pytest.raises(M.MetadataError, match="source"):
        M.read_meta(meta)
    meta.write_text("parameters:\n  area: {value: 4, unit: furlong2, source: x}\n")
    with pytest.raises(M.UnknownUnitError, match="furlong2"):
        M.read_meta(meta)
    meta.write_text("preset: nonsense\n")
    with pytest.raises(M.MetadataError, match="nonsense"):
        M.read_meta(meta)


def test_undeclared_parameters_stop_before_the_fit(tmp_path) -> None:
    data = _write(tmp_path, GOOD)
    _write(tmp_path, "parameters:\n  area: {value: 4, unit: mm2, source: mask}\n",
           "m.meta.yaml")
    with pytest.raises(M.UndeclaredParametersError, match=r"uv_rate \[1/s\]") as exc:
        M.fit_measured([data])
    assert "preset: paper" in str(exc.value) and "v_bi [V]" in str(exc.value)


def test_source_measured_with_empty_list_is_a_config_error() -> None:
    from pipeline.config import load_config

    with pytest.raises(ConfigError, match="compact.measured: empty"):
        load_config("smoke", overrides={"compact.source": "measured"})
    cfg = load_config("smoke", overrides={"compact.source": "measured",
                                          "compact.measured": [str(DATA)]})
    assert cfg.compact.measured == [str(DATA)]


# ------------------------------------------------------------------ formats and protocols
def test_units_are_converted_once_to_si(tmp_path) -> None:
    p = _write(tmp_path, "# a comment\ntime (ms),voltage (V),current (mA/cm2),light "
                         "(mW/cm2),uv (mW/cm2)\n0,0,0,0,0\n30,5,2,1,0\n60,0,0,0,70\n")
    m = M.read_measurement(p)
    assert m.t[1] == pytest.approx(0.03) and m.uv[2] == pytest.approx(700.0)
    i, lum = m.device_units(area=4e-6, wavelength=630e-9)
    assert i[1] == pytest.approx(20.0 * 4e-6)  # 2 mA/cm2 = 20 A/m2
    assert lum[1] == pytest.approx(10.0 * 4e-6 / (6.62607015e-34 * 299792458.0 / 630e-9))


def test_detects_trains_rests_uv_and_sweeps() -> None:
    m = compact_model.NLEM(PAPER)
    segs = protocols.train(10)[:-1] + [(0.0, 0.0, 2.0), (0.0, 700.0, 1.0), (0.0, 0.0, 0.5),
                                       (5.0, 0.0, 0.03)]
    tr, _ = protocols.simulate(m, segs, substeps=3)
    pr = M.detect_protocol(tr.t, tr.V, tr.uv)
    kinds = [s["kind"] for s in pr["segments"]]
    assert kinds[:4] == ["pulses", "rest", "uv", "rest"] and pr["name"] == "full"
    train = pr["segments"][0]
    assert train["count"] == 10 and train["amplitude"] == 5.0
    assert train["width"] == pytest.approx(0.03) and train["interval"] == pytest.approx(0.03)
    assert pr["segments"][2]["intensity"] == 700.0
    c = M.constrained_parameters(pr, has_light=True)
    assert {"uv_rate", "uv_k", "tau_fast", "g_max"} <= set(c) and "uv_i_sat" not in c
    v = np.r_[np.linspace(0, 6, 61), np.linspace(6, 0, 61)[1:]]
    sw = M.detect_protocol(np.arange(len(v)) * 0.01, v, np.zeros_like(v))
    assert sw["name"] == "iv_1scans" and sw["segments"][0]["rate"] == pytest.approx(10.0)
    assert "alpha_i" in M.constrained_parameters(sw, has_light=False)


def test_keithley_two_column_sweep(tmp_path) -> None:
    v = np.r_[np.linspace(0, 6, 31), np.linspace(6, 0, 31)[1:]]
    p = _write(tmp_path, "\n".join(f"{a:.3f},{1e-6 * a:.6e}" for a in v), "sweep.csv")
    _write(tmp_path, "protocol: {sweep_rate: 10 V/s}\n", "sweep.meta.yaml")
    m = M.read_measurement(p, M.read_meta(M.meta_path_for(p)).protocol)
    assert m.kind == "sweep" and m.t[-1] == pytest.approx(1.2)


def test_conductance_table_fit(tmp_path) -> None:
    """A pulse-number/conductance table (no light): the fit recovers the current scale and
    the capture; light, decay and UV parameters come from the preset."""
    truth = PAPER.replace(i_ref=PAPER.i_ref * 1.5, k_slow=PAPER.k_slow * 1.2)
    model = compact_model.NLEM(truth)
    segs, g = [], []
    for _ in range(30):
        segs += [(0.0, 0.0, 0.0145), (5.0, 0.0, 0.03), (0.0, 0.0, 0.0145), (4.0, 0.0, 0.001)]
    tr, _ = protocols.simulate(model, segs)
    g = tr.I[4::4] / 4.0
    rows = "\n".join(f"{k + 1},{x * 1e6:.6e}" for k, x in enumerate(g))
    p = _write(tmp_path, "pulse,conductance (uS)\n" + rows + "\n", "g.csv")
    _write(tmp_path, "preset: paper\nprotocol: {amplitude: 5 V, width: 30 ms, interval: 30 ms, "
                     "read_voltage: 4 V, read_width: 1 ms}\n", "g.meta.yaml")
    doc = M.fit_measured([p], max_nfev=60)
    c = doc["measured"]["constrained"]
    assert "phi_ref" not in c and "tau_slow" not in c and "i_ref" in c
    assert doc["parameter_sources"]["phi_ref"] == "preset paper"
    name = next(iter(doc["measured"]["protocols"]))
    assert name == "pulses_30"
    assert doc["parameters"]["i_ref"]["value"] == pytest.approx(truth.i_ref, rel=0.02)
    assert doc["physics_agreement"]["all_within"]
