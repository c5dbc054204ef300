"""An N-LEM synapse array of differential pairs, read electrically and optically.

This is the hardware of one fully connected layer (Fig. 4b): a weight matrix ``W`` (out × in)
of signed level indices is written by pulses through the compact model's write-verify into an
``in × 2·out`` N-LEM crossbar (column ``2j`` holds G+ of output ``j``, column ``2j+1`` G−).
Inputs are non-negative activations scaled by ``x_max``; a DAC turns them into row signals:

- ``pulse`` encoding: row ``i`` is held at the read voltage for ``t_i = T · code_i / (2^b − 1)``.
  While rows switch off one by one, the set of driven rows takes at most ``in + 1`` values per
  sample, and over all samples only ``2^in`` patterns exist: the crossbar (wire resistance,
  virtual-ground TIAs, nonlinear N-LEM I-V) is solved once per pattern and each sample's column
  charge is the duration-weighted sum of pattern currents.
- ``amplitude`` encoding: row voltage ``V_read · code / (2^b − 1)`` for a time ``T``; one
  nonlinear crossbar solve per sample (the N-LEM I-V makes this strongly nonlinear).

FCN-1 reads the column charges (TIA + integrator + ADC); FCN-2 reads the light: every cell's
optical power at its solved voltage goes through the coupling matrix to the facing photodiode
array, whose photodiodes of one column feed one TIA (pixels solved by
:func:`~circuits.photodiode.photodiode_currents`). Both outputs are differenced (G+ − G−),
digitised by the ADC and scaled back to weight units with factors computed from the nominal
level table (no fitting to the network's data).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from circuits.config import CircuitsConfig
from circuits.converters import ADC, DAC
from circuits.crossbar import solve_nonlinear_batch
from circuits.photodiode import PhotodiodeParams, coupling_matrix, photodiode_currents

log = logging.getLogger(__name__)


@dataclass
class WrittenArray:
    """Result of writing a weight matrix into the array."""

    level_index: np.ndarray
    """Signed level index per weight (out, in)."""
    target_w: np.ndarray
    """Target occupancy per device (in, 2·out)."""
    w: np.ndarray
    """Reached occupancy per device (in, 2·out)."""
    pulses: np.ndarray
    """Programming pulses per device (in, 2·out)."""
    gs: np.ndarray
    """Device-to-device current scale per device (in, 2·out)."""
    extra: dict[str, Any] = field(default_factory=dict)


class NLEMSynapseArray:
    """Differential-pair N-LEM array for one layer, with current and light readouts.

    Args:
        model: Compact model (``compact_model.load(...)``).
        cfg: Circuit configuration.
        n_in: Inputs (rows).
        n_out: Outputs (column pairs).
        w_scale: Weight of the top level (network units).
        seed: Seed of programming noise, device spread and read noise.
    """

    def __init__(self, model: Any, cfg: CircuitsConfig, n_in: int, n_out: int,
                 w_scale: float = 1.0, seed: int = 0):
        if n_in > 12:
            raise ValueError(f"n_in = {n_in}: pulse-pattern readout supports at most 12 rows")
        self.model, self.cfg = model, cfg
        self.n_in, self.n_out, self.w_scale = n_in, n_out, float(w_scale)
        self.rng = np.random.default_rng(seed)
        self.table = model.levels(cfg.levels_per_sign, v_read=cfg.read_voltage_v,
                                  n_max=cfg.write_n_max, amplitude=cfg.write_amplitude_v,
                                  width=cfg.write_width_s, interval=cfg.write_width_s)
        g = np.asarray(self.table.g, dtype=float)
        self.levels = (g - g[0]) / (g[-1] - g[0])  # normalised magnitudes a_k, a_0 = 0
        self.dac = DAC(cfg.dac_bits, 0.0, 1.0)
        self.pd = PhotodiodeParams(responsivity=cfg.pd_responsivity_a_w,
                                   i_dark=cfg.pd_dark_current_a, rs=cfg.pd_series_ohm,
                                   rsh=cfg.pd_shunt_ohm)
        self.C = coupling_matrix(n_in, 2 * n_out, cfg.optical_efficiency, cfg.crosstalk)
        p_lv = np.asarray(model.optical_power(cfg.read_voltage_v, self.table.w), dtype=float)
        # scale from differential charge back to weight units (per unit input fraction)
        t, v = cfg.read_time_s, cfg.read_voltage_v
        self.alpha_current = self.w_scale / (t * v * (g[-1] - g[0]))
        self.alpha_light = self.w_scale / (
            t * cfg.pd_responsivity_a_w * cfg.optical_efficiency * (p_lv[-1] - p_lv[0]))
        self.written: WrittenArray | None = None
        self.fs: dict[str, float] = {}

    # ------------------------------------------------------------------ writing
    def weight_levels(self) -> np.ndarray:
        """Allowed non-negative weight magnitudes ``w_scale · a_k``."""
        return self.w_scale * self.levels

    def write(self, level_index: np.ndarray, write_verify: bool = True) -> WrittenArray:
        """Program the signed level indices (out, in) into fresh (UV-erased) devices."""
        k = np.asarray(level_index, dtype=int)
        if k.shape != (self.n_out, self.n_in):
            raise ValueError(f"level_index has shape {k.shape}, expected "
                             f"({self.n_out}, {self.n_in})")
        nl = len(self.levels)
        if np.any(np.abs(k) >= nl):
            raise ValueError(f"level indices must be in (-{nl}, {nl})")
        lvl = np.zeros((self.n_in, 2 * self.n_out), dtype=int)
        lvl[:, 0::2] = np.where(k > 0, k, 0).T
        lvl[:, 1::2] = np.where(k < 0, -k, 0).T
        target = np.asarray(self.table.w, dtype=float)[lvl]
        spread = self.model.sample_devices(target.shape, self.rng)
        w, pulses = self.model.program(
            target, self.rng, write_verify=write_verify, tol=self.cfg.write_tol,
            max_pulses=2 * self.cfg.write_n_max, amplitude=self.cfg.write_amplitude_v,
            width=self.cfg.write_width_s, interval=self.cfg.write_width_s,
            v_read=self.cfg.read_voltage_v, spread=spread)
        gs = np.asarray(spread.gs, dtype=float).reshape(target.shape)
        if not self.cfg.read_noise:
            gs = np.ones_like(gs)
        self.written = WrittenArray(k, target, np.asarray(w, float), np.asarray(pulses), gs)
        self.fs = {}
        return self.written

    # ------------------------------------------------------------------ circuit solves
    def _cell_iv(self, gs: np.ndarray):  # noqa: ANN202
        w = self.written.w  # type: ignore[union-attr]
        m, h = self.model, 1e-6

        def iv(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            ww = np.broadcast_to(w, v.shape)
            gg = np.broadcast_to(gs, v.shape)
            i = m.current(v, ww, gg)
            g = (m.current(v + h, ww, gg) - m.current(v - h, ww, gg)) / (2 * h)
            return np.asarray(i, float), np.maximum(np.asarray(g, float), 1e-15)

        return iv

    def _solve(self, v_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Column currents (B, 2·out) and photodiode column currents (B, 2·out)."""
        if self.written is None:
            raise RuntimeError("write() the array before reading it")
        b = v_rows.shape[0]
        gs = np.broadcast_to(self.written.gs, (b,) + self.written.gs.shape)
        if self.cfg.read_noise:
            read = self.model.variability.read
            gs = gs * (1.0 + read * self.rng.standard_normal(gs.shape))
        shape = (self.n_in, 2 * self.n_out)
        cur, vc = solve_nonlinear_batch(self._cell_iv(gs), v_rows, shape,
                                        self.cfg.wire_resistance_ohm, readout="tia")
        ww = np.broadcast_to(self.written.w, vc.shape)
        p_emit = np.asarray(self.model.optical_power(vc, ww, gs), dtype=float)
        if self.cfg.read_noise:
            p_emit = p_emit * (1.0 + self.model.variability.read *
                               self.rng.standard_normal(p_emit.shape))
        p_recv = (p_emit.reshape(b, -1) @ self.C.T).reshape(vc.shape)
        i_pd = photodiode_currents(p_recv, self.pd, "tia", v_bias=self.cfg.pd_bias_v)
        return cur, i_pd.sum(axis=1)

    def raw_outputs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Differential column charges (B, out) of the current and light readouts, in C.

        Args:
            x: Inputs as fractions of full scale (B, in), clipped to [0, 1].
        """
        x = np.atleast_2d(np.asarray(x, dtype=float))
        codes = self.dac.code(x)
        frac = codes / (self.dac.levels - 1)
        T, V = self.cfg.read_time_s, self.cfg.read_voltage_v
        if self.cfg.input_encoding == "amplitude":
            qe, ql = [], []
            for s in range(0, len(frac), 256):
                c, lp = self._solve(V * frac[s:s + 256])
                qe.append(c * T)
                ql.append(lp * T)
            qe_a, ql_a = np.concatenate(qe), np.concatenate(ql)
        else:
            n = self.n_in
            pats = ((np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1).astype(float)
            cur, lpd = self._solve(V * pats)
            order = np.argsort(-frac, axis=1, kind="stable")
            ts = np.take_along_axis(frac, order, axis=1) * T
            dt = ts - np.concatenate([ts[:, 1:], np.zeros((len(ts), 1))], axis=1)
            pid = np.cumsum(1 << order, axis=1)
            qe_a = np.einsum("bk,bkc->bc", dt, cur[pid])
            ql_a = np.einsum("bk,bkc->bc", dt, lpd[pid])
        return qe_a[:, 0::2] - qe_a[:, 1::2], ql_a[:, 0::2] - ql_a[:, 1::2]

    def calibrate(self, x: np.ndarray, margin: float = 1.05) -> dict[str, float]:
        """Set each ADC's full scale from the largest differential charge over ``x``."""
        de, dl = self.raw_outputs(x)
        self.fs = {"current": margin * float(np.abs(de).max() or 1.0),
                   "light": margin * float(np.abs(dl).max() or 1.0)}
        return self.fs

    def forward(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Layer outputs in weight units: ``current`` (FCN-1) and ``light`` (FCN-2), (B, out).

        ``x`` are inputs as fractions of full scale; the ideal output is ``x @ W_qᵀ``.
        """
        if not self.fs:
            raise RuntimeError("calibrate() the ADC ranges before forward()")
        de, dl = self.raw_outputs(x)
        adc_e = ADC(self.cfg.adc_bits, -self.fs["current"], self.fs["current"])
        adc_l = ADC(self.cfg.adc_bits, -self.fs["light"], self.fs["light"])
        return {"current": adc_e(de) * self.alpha_current, "light": adc_l(dl) * self.alpha_light}
