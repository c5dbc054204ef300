"""Physics D rows: measured on device traces (here: compact-model traces in the data contract,
whose metrics are known), with the compact values named in the definition."""

from __future__ import annotations

from pathlib import Path

import pytest

import compact_model
from compact_model.fit import build_nlem
from compact_model.protocols import simulate, train, write_device_h5
from pipeline.device_rows import device_rows


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    d = tmp_path_factory.mktemp("dev")
    model = compact_model.load("paper")
    paths = []
    for n in (10, 30):
        tr, _ = simulate(model, train(n), substeps=4)
        p = d / f"pulses_{n}.h5"
        write_device_h5(p, tr, model.params.area, protocol=f"pulses_{n}")
        paths.append(p)
    nlem = d / "nlem.json"
    build_nlem(nlem)
    return paths, nlem


def test_rows_measure_the_traces(traces: tuple[list[Path], Path]) -> None:
    paths, nlem = traces
    rows = {r["id"]: r for r in device_rows(paths, nlem)}
    assert set(rows) == {"D2", "D3", "D4", "D5", "D6", "D7"}
    # The traces are the paper preset's own: NL and the N=30 gain come out as its metrics.
    assert rows["D3"]["simulated"] == pytest.approx(0.2015, abs=0.02)
    assert rows["D6"]["simulated"] == pytest.approx(1.91, rel=0.05)  # N = 30, the longest run
    assert "N=10: 1.38" in rows["D6"]["definition"]
    assert rows["D6"]["source_stage"].startswith("device_physics")


def test_edge_transients_are_left_out() -> None:
    """A displacement spike right after the rising edge must not be taken as the pulse peak."""
    import numpy as np

    from lemsim.metrics import drop_edge_transients

    t = np.linspace(0.0, 0.1, 10001)
    v = np.where((t > 0.01) & (t < 0.04), 5.0, 0.0)
    i = np.where(v > 0, 1.0 + t, 0.0)
    i[(t > 0.01) & (t < 0.0102)] = 1e4  # charging spike
    t2, v2, i2, _ = drop_edge_transients(t, v, i, np.zeros_like(t))
    assert i2.max() < 2.0 and (v2 > 0).sum() > 0.9 * (v > 0).sum()


def test_no_pulse_traces_give_no_rows(traces: tuple[list[Path], Path]) -> None:
    assert device_rows([], traces[1]) == []


def test_d4_says_why_when_light_and_current_nl_coincide():
    from pipeline.device_rows import _same_nl

    assert "equals that of the current (difference +0.0002" in _same_nl(
        {"nl_light": 0.1682, "nl_current": 0.1680})
    assert _same_nl({"nl_light": 0.27, "nl_current": 0.20}) == ""  # a real difference: no text
