"""Adapter from the stack description :class:`device_physics.stack.Stack` to the solver's
:class:`device_physics.equations.DDDevice`.

Interface traps (``lower_interface``/``upper_interface`` slabs of width ``w``) become sublayers
of their layer, so the mesh has nodes on the slab boundaries; every depth level of a trap
species becomes one :class:`DDTrap` (density × weight). For a hole trap the own-carrier
``capture`` is c_p and ``recombination`` (trapped hole + free electron) is c_n; for an
electron trap the other way round. ``parent`` maps every sublayer back to its stack layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from device_physics.equations import DDContact, DDDevice, DDLayer, DDTrap


@dataclass
class AdaptedDevice:
    """The solver device plus the sublayer -> stack-layer map."""

    device: DDDevice
    parent: list[int]
    names: list[str]
    thicknesses: list[float]


def _traps(species: Any) -> list[DDTrap]:
    out = []
    for depth, w in zip(species.depths, species.weights, strict=True):
        if species.carrier == "hole":
            cn, cp = species.recombination, species.capture
        else:
            cn, cp = species.capture, species.recombination
        out.append(DDTrap(density=species.volume_density * w, depth_eV=depth,
                          kind=species.carrier, c_n=cn, c_p=cp,
                          sigma_opt=getattr(species, "photoemission", 0.0)))
    return out


def device_from_stack(stack: Any, wavelength_m: float = 365e-9) -> AdaptedDevice:
    """Convert a validated :class:`~device_physics.stack.Stack` (SI) into a :class:`DDDevice`.

    Args:
        stack: The stack (layers bottom = anode at x = 0).
        wavelength_m: UV wavelength (m) at which absorption coefficients are taken.
    """
    layers: list[DDLayer] = []
    parent: list[int] = []
    for li, lay in enumerate(stack.layers):
        base = dict(eps_r=lay.eps_r, chi=lay.chi, Eg=lay.Eg, Nc=lay.Nc, Nv=lay.Nv,
                    mu_n=lay.mu_n, mu_p=lay.mu_p, N_D=lay.N_D, N_A=lay.N_A, N_fix=lay.N_fix,
                    tau_n=lay.tau_n, tau_p=lay.tau_p, langevin=lay.langevin, B_rad=lay.B_rad,
                    outcoupling=lay.eta_out, alpha_uv=lay.absorption(wavelength_m))
        lower = [t for t in lay.traps if t.location == "lower_interface"]
        upper = [t for t in lay.traps if t.location == "upper_interface"]
        bulk = [t for t in lay.traps if t.location == "bulk"]
        wl = max([t.width for t in lower], default=0.0)
        wu = max([t.width for t in upper], default=0.0)
        if wl + wu >= lay.thickness:
            raise ValueError(f"layer {lay.name!r}: interface trap slabs ({wl} m + {wu} m) must "
                             f"be thinner than the layer ({lay.thickness} m)")
        bulk_traps = [tr for sp in bulk for tr in _traps(sp)]
        pieces = []
        if wl > 0:
            # a species narrower than the slab keeps its areal density
            tl = [tr for sp in lower for tr in _traps(sp)]
            owners = [sp for sp in lower for _ in sp.depths]
            for tr, owner in zip(tl, owners, strict=True):
                tr.density *= owner.width / wl
            pieces.append((f"{lay.name}.lower", wl, tl + bulk_traps))
        pieces.append((lay.name, lay.thickness - wl - wu, list(bulk_traps)))
        if wu > 0:
            tu = [tr for sp in upper for tr in _traps(sp)]
            owners = [sp for sp in upper for _ in sp.depths]
            for tr, owner in zip(tu, owners, strict=True):
                tr.density *= owner.width / wu
            pieces.append((f"{lay.name}.upper", wu, tu + [DDTrap(**vars(t)) for t in bulk_traps]))
        for name, th, trs in pieces:
            layers.append(DDLayer(name=name, thickness=th, traps=trs, **base))
            parent.append(li)

    def contact(c: Any) -> DDContact:
        return DDContact(None if c.kind == "ohmic" else c.work_function)

    dev = DDDevice(layers=layers, left=contact(stack.anode), right=contact(stack.cathode),
                   T=stack.temperature, uv_wavelength_nm=wavelength_m * 1e9,
                   uv_from="left" if stack.uv_side == "anode" else "right")
    return AdaptedDevice(dev, parent, [la.name for la in stack.layers],
                         [la.thickness for la in stack.layers])
