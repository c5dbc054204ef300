"""Named parameter sets of the compact model, each citing its source.

``paper``: fitted by :func:`compact_model.fit.fit_paper` (scipy least squares) to the device
numbers of Chen et al., Nat. Commun. 2024 (PAPER_TARGETS D3-D12: NL 0.20 / 0.27, gains
1.38 -> 2.40 and 1.57 -> 3.17, natural decay 71.6 s, UV reset 2.52 s at 70 mW/cm²); the
scale parameters (i_ref, phi_ref, v_bi, alpha_i, alpha_l, wavelength, area) are not given
numerically in the paper and are typical QLED values (1 % EQE, ~2 V turn-on, 630 nm CdSe/ZnS).
"""

from __future__ import annotations

from compact_model.params import NLEMParams

#: Paper preset (refit with ``python -m compact_model.fit --paper``; see module docstring).
PAPER = NLEMParams()

PRESETS: dict[str, tuple[NLEMParams, str]] = {
    "paper": (PAPER, "Chen et al., Nat. Commun. 2024, Fig. 2c-g, S15, S16 (PAPER_TARGETS "
                     "D3-D12), fitted by compact_model.fit.fit_paper"),
}
