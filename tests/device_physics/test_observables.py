"""The run figure scales its current axis to the conduction current, not the edge spikes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lemsim.io import atomic_h5


def test_current_axis_ignores_displacement_spikes(tmp_path: Path, monkeypatch) -> None:
    import matplotlib.pyplot as plt

    from device_physics.observables import plot_run

    t = np.linspace(0.0, 0.1, 20001)
    v = np.where((t > 0.01) & (t < 0.04), 5.0, 0.0)
    j = np.where(v > 0, 100.0, 0.0)  # 10 mA/cm2 conduction
    j[(t > 0.01) & (t < 0.0101)] = 1e6  # charging spike
    with atomic_h5(tmp_path / "run.h5") as fh:
        g = fh.create_group("trace")
        for k, a in {"t": t, "V": v, "uv": 0 * t, "J": j, "L": j * 1e14, "Qt_p": 0 * t,
                     "Qt_n": 0 * t}.items():
            g[k] = a
    limits = []
    real_close = plt.close

    def spy_close(fig=None):
        if fig is not None:
            limits.append(fig.axes[0].get_ylim())
        real_close(fig)

    monkeypatch.setattr(plt, "close", spy_close)
    out = plot_run(tmp_path / "run.h5", tmp_path / "run.png")
    assert out.exists() and out.stat().st_size > 10_000
    lo, hi = limits[0]
    assert hi < 20.0 and lo > -5.0  # mA/cm2: the 1e5 mA/cm2 spike is clipped
