"""Protocols as data: waveforms, edges and validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from device_physics.protocols import ProtocolError, load_protocol, ppf_protocol, protocol_from_dict

PROTOCOLS = Path(__file__).resolve().parents[2] / "config" / "protocols"


@pytest.mark.parametrize("path", sorted(PROTOCOLS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_protocol_file_loads(path: Path) -> None:
    p = load_protocol(path)
    assert p.duration > 0
    e = p.edges()
    assert np.all(np.diff(e) > 0) and e[0] == 0.0 and e[-1] == pytest.approx(p.duration)


def test_pulse_train_waveform() -> None:
    p = load_protocol(PROTOCOLS / "pulses_10.yaml")
    assert p.duration == pytest.approx(10 * 0.06 + 1.0)
    t = np.array([0.0, 0.015, 0.0299, 0.03, 0.045, 0.06, 0.56, 0.6, 1.5])
    v, uv = p.waveform(t)
    np.testing.assert_allclose(v, [5, 5, 5, 0, 0, 5, 5, 0, 0])
    assert np.all(uv == 0)
    w = p.pulse_windows()
    assert w.shape == (10, 2)
    np.testing.assert_allclose(w[:, 1] - w[:, 0], 0.03)
    np.testing.assert_allclose(np.diff(w[:, 0]), 0.06)
    assert len(p.jumps()) == 20  # rising and falling edge of every pulse


def test_uv_units_and_full_protocol() -> None:
    p = load_protocol(PROTOCOLS / "full.yaml")
    assert p.duration == pytest.approx(50 * 0.06 + 100 + 2.5 + 0.06)
    v, uv = p.waveform(3.0 + 100 + 1.0)  # during the UV exposure
    assert v == 0.0 and uv == pytest.approx(700.0)  # 70 mW/cm2 = 700 W/m2
    assert p.wavelength == pytest.approx(365e-9)


def test_sweep_is_triangular() -> None:
    p = load_protocol(PROTOCOLS / "iv_3scans.yaml")
    v, _ = p.waveform(np.array([0.0, 3.0, 6.0, 9.0, 12.0, 18.0, 36.0]))
    np.testing.assert_allclose(v, [0, 3, 6, 3, 0, 6, 0])
    assert p.jumps().size == 0  # sweeps are continuous


def test_ppf_builder() -> None:
    p = ppf_protocol(0.3)
    w = p.pulse_windows()
    assert w[1, 0] - w[0, 1] == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("steps", "needle"),
    [
        ([{"kind": "uv", "intensity": "-5 mW/cm2", "duration": "1 s"}], "intensity"),
        ([{"kind": "rest", "duration": "2 s"}, {"kind": "rest", "duration": "1 s",
                                                 "start": "1 s"}], "overlaps"),
        ([{"kind": "pulses", "amplitude": "5 V", "width": "0 ms", "interval": "1 ms",
           "count": 2}], "width"),
        ([{"kind": "pulses", "amplitude": "5 V", "width": "30 ms", "interval": "30 ms",
           "count": 2, "colour": "red"}], "unknown keys ['colour']"),
        ([{"kind": "pulses", "amplitude": "5 kg", "width": "30 ms", "interval": "30 ms",
           "count": 2}], "amplitude"),
        ([{"kind": "wiggle"}], "kind = 'wiggle'"),
    ],
)
def test_bad_protocols_are_named(steps: list, needle: str) -> None:
    with pytest.raises(ProtocolError, match=None) as exc:
        protocol_from_dict({"name": "bad", "steps": steps})
    assert needle in str(exc.value)


def test_sequence_repeat_and_gap() -> None:
    p = protocol_from_dict({"name": "seq", "steps": [
        {"kind": "sequence", "repeat": 3, "steps": [
            {"kind": "pulses", "amplitude": "1 V", "width": "1 ms", "interval": "1 ms",
             "count": 2}]},
        {"kind": "uv", "intensity": "10 mW/cm2", "duration": "1 s", "start": "1 s"},
    ]})
    assert len(p.pulse_windows()) == 6
    assert p.duration == pytest.approx(2.0)
    assert p.waveform(0.5) == (0.0, 0.0)  # the gap is a dark rest
    assert p.waveform(1.5)[1] == pytest.approx(100.0)
