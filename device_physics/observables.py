"""Observables of a device run read back from its HDF5 file, and the run figure.

:func:`load_trace` returns the ``/trace`` arrays; :func:`plot_run` draws current density,
emitted photon flux and trapped charge against time (paper-style panels: log time after the
first event, shaded voltage pulses and UV exposure).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_trace(path: str | Path) -> dict[str, np.ndarray]:
    """The ``/trace`` datasets of a device HDF5 file (SI units)."""
    import h5py

    with h5py.File(path, "r") as fh:
        return {k: fh["trace"][k][:] for k in fh["trace"]}


def plot_run(h5_path: str | Path, png_path: str | Path, title: str = "") -> Path:
    """Figure of a run: J (mA/cm²), L (photons/(s cm²)) and trapped charge (nC/cm²) vs t."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lemsim.io import atomic_path

    tr = load_trace(h5_path)
    t = tr["t"]
    fig, axes = plt.subplots(3, 1, figsize=(7, 7.5), sharex=True)
    on = tr["V"] > 0.5 * max(np.max(tr["V"]), 1e-12)
    uv = tr["uv"] > 0
    for ax in axes:
        ax.fill_between(t, 0, 1, where=on, color="tab:orange", alpha=0.15,
                        transform=ax.get_xaxis_transform(), label="V pulse")
        ax.fill_between(t, 0, 1, where=uv, color="tab:purple", alpha=0.2,
                        transform=ax.get_xaxis_transform(), label="UV")
    j = tr["J"] * 0.1  # A/m^2 -> mA/cm^2
    axes[0].plot(t, j, color="k", lw=0.8)
    axes[0].set_ylabel("J (mA/cm²)")
    # The displacement (charging) spikes at the voltage edges are orders of magnitude above
    # the conduction current: scale the axis to the samples more than 1 ms from any edge.
    edges = t[np.flatnonzero(np.diff(on.astype(np.int8)) != 0) + 1]
    settled = np.ones(len(t), dtype=bool)
    for t0 in edges:
        settled &= ~((t >= t0) & (t < t0 + 1e-3))
    if settled.any() and edges.size:
        lo, hi = float(j[settled].min()), float(j[settled].max())
        pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi), 1e-12)
        if np.abs(j).max() > 1.5 * max(abs(lo), abs(hi), 1e-30):
            axes[0].set_ylim(lo - pad, hi + pad)
            axes[0].text(0.99, 0.95, "edge displacement spikes clipped", ha="right", va="top",
                         transform=axes[0].transAxes, fontsize=7, color="0.4")
    axes[1].plot(t, tr["L"] * 1e-4, color="tab:red", lw=0.8)
    axes[1].set_ylabel("EL photon flux (1/(s·cm²))")
    axes[2].plot(t, tr["Qt_p"] * 1e5, label="hole traps", color="tab:blue")
    axes[2].plot(t, tr["Qt_n"] * 1e5, label="electron traps (|Q|)", color="tab:green")
    axes[2].set_ylabel("trapped charge (nC/cm²)")
    axes[2].set_xlabel("t (s)")
    axes[2].legend(loc="best", fontsize=8)
    if title:
        axes[0].set_title(title)
    fig.tight_layout()
    png_path = Path(png_path)
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return png_path
