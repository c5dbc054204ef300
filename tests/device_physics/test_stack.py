"""Stack loading, validation and graded meshes."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from device_physics.grid import graded_mesh
from device_physics.stack import StackError, load_stack, stack_from_dict

STACKS = Path(__file__).resolve().parents[2] / "config" / "stacks"


def _nlem() -> dict:
    return yaml.safe_load((STACKS / "nlem.yaml").read_text())


@pytest.mark.parametrize("path", sorted(STACKS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_stack_file_loads(path: Path) -> None:
    s = load_stack(path)
    assert s.thickness > 0
    for la in s.layers:
        assert la.mu_n > 0 and la.mu_p > 0 and la.thickness > 0
        assert all(src for src in la.sources.values())  # every value has a source


def test_nlem_stack_si_values() -> None:
    s = load_stack(STACKS / "nlem.yaml")
    assert [la.name for la in s.layers] == ["pedot", "idtbt", "pvp", "qd", "zno"]
    pvp = s.layers[s.layer_index("pvp")]
    assert pvp.thickness == pytest.approx(20e-9)
    assert s.layers[0].N_A == pytest.approx(1e25)  # 1e19 cm-3 -> m-3
    assert s.layers[1].mu_p == pytest.approx(1e-7)  # 1e-3 cm2/Vs -> m2/Vs
    assert s.layers[3].absorption(365e-9) == pytest.approx(1.5e7)  # 1.5e5 cm-1 -> m-1
    # two electron-trap populations in the IDTBT/PVP slab (docs/calibration.md)
    assert [t.name for t in pvp.traps] == ["pvp_electron_traps", "pvp_fast_electron_traps"]
    assert [t.carrier for t in pvp.traps] == ["electron", "electron"]
    et, ft = pvp.traps
    for t in (et, ft):
        assert t.location == "lower_interface"
        assert t.width == pytest.approx(3e-9)  # one shared slab
        assert sum(t.weights) == pytest.approx(1.0)
        assert t.photoemission == pytest.approx(5e-19)  # 5e-15 cm2 -> m2
    assert et.volume_density == pytest.approx(9.6e16 / 3e-9)  # 9.6e12 cm-2 in 3 nm
    assert ft.volume_density == pytest.approx(7.8e15 / 3e-9)  # 7.8e11 cm-2 in 3 nm
    assert ft.capture == pytest.approx(8e-19)  # 8e-13 cm3/s -> m3/s
    assert ft.capture > 50 * et.capture  # the fast population fills within a few pulses
    assert et.depths[2] == pytest.approx(0.57) and ft.depths == pytest.approx((0.54,))
    assert s.shunt_conductance == pytest.approx(19.1)  # A/(m2 V), fitted to the current gains
    assert pvp.chi + pvp.Eg == pytest.approx(5.5)  # PVP HOMO -5.5 eV kept by the calibration
    assert pvp.absorption(365e-9) == 0.0  # PVP transparent at 365 nm (paper Fig. S1)
    with pytest.raises(ValueError, match="alpha_uv"):
        s.layers[0].absorption(500e-9)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (
            lambda d: d["layers"][2]["thickness"].update(value=-5),
            "layer 'pvp' (index 2).thickness = -5 nm",
        ),
        (lambda d: d["layers"][1]["mu_p"].update(value=0), "layer 'idtbt' (index 1).mu_p = 0"),
        (lambda d: d["layers"][3].update(material="unobtainium"), "unknown material"),
        (lambda d: d["layers"][0].update(colour="blue"), "unknown keys ['colour']"),
        (lambda d: d["layers"][0]["eps_r"].pop("source"), "missing 'source'"),
        (lambda d: d["layers"][0]["chi"].update(unit="cm"), "not a energy unit"),
        (lambda d: d["layers"][2]["traps"][0].update(carrier="ion"), "carrier = 'ion'"),
        (lambda d: d["contacts"]["anode"].update(kind="magic"), "kind = 'magic'"),
        (
            lambda d: d["layers"][2]["traps"][0]["photoemission"].update(value=-1e-16),
            "traps[0].photoemission = -1e-16 cm2",
        ),
        (
            lambda d: d["layers"][2]["traps"][0]["photoemission"].update(unit="cm3/s"),
            "not a cross_section unit",
        ),
        (  # the second (fast) population is checked and named as well
            lambda d: d["layers"][2]["traps"][1]["capture"].update(value=-1e-13),
            "traps[1].capture = -1e-13 cm3/s",
        ),
    ],
)
def test_bad_input_is_named(edit, needle: str) -> None:
    d = copy.deepcopy(_nlem())
    edit(d)
    with pytest.raises(StackError) as exc:
        stack_from_dict(d, "nlem.yaml")
    assert needle in str(exc.value)


def test_graded_mesh_nodes_on_interfaces() -> None:
    s = load_stack(STACKS / "nlem.yaml")
    x, layer = graded_mesh(s, 16, 1.2)
    assert len(x) == 16 * len(s.layers) + 1 and len(layer) == len(x) - 1
    assert np.all(np.diff(x) > 0)
    for xi in s.interfaces:
        assert np.min(np.abs(x - xi)) == 0.0  # exact node on every interface
    h = np.diff(x)
    first = h[layer == 0]
    assert first[1] / first[0] == pytest.approx(1.2)  # geometric growth away from interface
    assert np.all(np.bincount(layer) == 16)
