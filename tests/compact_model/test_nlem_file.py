"""The nlem.json gate, the kernels' input checks and the torch bridge's voltage range.

Property tests (hypothesis): random valid parameter sets round-trip save -> load exactly;
SI-prefixed units convert; random corruptions end in CompactModelFileError, never in a raw
KeyError/TypeError/JSONDecodeError or a default.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import compact_model
from compact_model import kernels
from compact_model.model import (
    NLEM,
    PREFIXABLE_UNITS,
    SI_PREFIXES,
    CompactModelFileError,
    document_sha256,
    from_document,
    load_json,
)
from compact_model.params import UNITS, NLEMParams, pack
from compact_model.variability import Variability

NAMES = [f.name for f in fields(NLEMParams)]
#: Fields that must be > 0 (a negative value is a corruption).
POSITIVE = ("i_ref", "phi_ref", "w_eta", "wavelength", "v_cap", "tau_fast", "tau_slow",
            "uv_i_sat", "uv_k", "area")
EXAMPLES = 60


def _pos(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def valid_params(draw: st.DrawFn) -> NLEMParams:
    v_bi = draw(_pos(0.0, 3.0))
    v_on = v_bi + draw(_pos(0.0, 2.0))
    v_ref = v_on + draw(_pos(1e-3, 5.0))
    return NLEMParams(
        i_ref=draw(_pos(1e-12, 1.0)), v_ref=v_ref, v_bi=v_bi, alpha_i=draw(_pos(1.0, 5.0)),
        g_leak=draw(_pos(0.0, 1e-3)), g_max=draw(_pos(1.0, 100.0)),
        phi_ref=draw(_pos(1.0, 1e15)), v_on_light=v_on, alpha_l=draw(_pos(1.0, 6.0)),
        gamma_l=draw(_pos(1.0, 3.0)), eta_max=draw(_pos(1.0, 5.0)), w_eta=draw(_pos(1e-3, 1.0)),
        wavelength=draw(_pos(1e-7, 2e-6)), f_fast=draw(_pos(0.0, 1.0)),
        k_fast=draw(_pos(0.0, 1e3)), k_slow=draw(_pos(0.0, 1e2)), v_cap=draw(_pos(1e-3, 5.0)),
        tau_fast=draw(_pos(1e-4, 1e2)), tau_slow=draw(_pos(1e-2, 1e5)),
        cap_sat=draw(st.floats(0.0, 1.0, exclude_max=True)), uv_rate=draw(_pos(0.0, 100.0)),
        uv_i_sat=draw(_pos(1e-3, 1e4)), uv_k=draw(_pos(1e-4, 1.0)),
        v_min=-draw(_pos(1e-3, 20.0)), v_max=draw(_pos(1e-3, 20.0)),
        area=draw(_pos(1e-12, 1e-2)))


def _doc(p: NLEMParams, var: Variability | None = None) -> dict:
    return NLEM(p, name="prop", variability=var or Variability()).to_dict()


@settings(max_examples=EXAMPLES, deadline=None)
@given(p=valid_params(), d2d=_pos(0.0, 1.0), c2c=_pos(0.0, 1.0), read=_pos(0.0, 1.0))
def test_valid_parameters_round_trip_exactly(tmp_path_factory, p, d2d, c2c, read) -> None:
    var = Variability(d2d=d2d, c2c=c2c, read=read)
    path = tmp_path_factory.mktemp("rt") / "nlem.json"
    doc = _doc(p, var)
    path.write_text(json.dumps(doc), encoding="utf-8")
    m = load_json(path)
    assert m.params == p and m.variability == var
    assert document_sha256(m.to_dict()) == document_sha256(doc)


@settings(max_examples=EXAMPLES, deadline=None)
@given(p=valid_params(), name=st.sampled_from(sorted(k for k in NAMES
                                                        if UNITS[k] in PREFIXABLE_UNITS)),
       prefix=st.sampled_from(sorted(SI_PREFIXES)))
def test_si_prefixed_units_convert_explicitly(p, name, prefix) -> None:
    doc = _doc(p)
    fac = SI_PREFIXES[prefix]
    doc["parameters"][name] = {"value": getattr(p, name) / fac, "unit": prefix + UNITS[name]}
    try:
        m = from_document(doc, "prefixed")
    except CompactModelFileError as exc:  # rounding can cross a relation (v_ref > v_on_light)
        assert "NLEMParams" in str(exc)
        return
    assert math.isclose(getattr(m.params, name), getattr(p, name), rel_tol=1e-12,
                        abs_tol=1e-300)


def _corrupt(doc: dict, kind: str, name: str, junk: object) -> str:
    """Apply corruption ``kind`` to parameter ``name``; returns the key the error must name."""
    pars = doc["parameters"]
    if kind == "drop":
        del pars[name]
        return name
    if kind == "type":
        pars[name]["value"] = junk
    elif kind == "nan":
        pars[name]["value"] = float("nan")
    elif kind == "inf":
        pars[name]["value"] = float("inf")
    elif kind == "negative":
        pars[name]["value"] = -abs(pars[name]["value"]) - 1.0
    elif kind == "unit":
        pars[name]["unit"] = junk
    elif kind == "entry":
        pars[name] = junk
    return name


@settings(max_examples=2 * EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(p=valid_params(),
       kind=st.sampled_from(["drop", "type", "nan", "inf", "negative", "unit", "entry"]),
       name=st.sampled_from(NAMES),
       junk=st.one_of(st.text(max_size=5), st.none(), st.booleans(),
                      st.lists(st.integers(), max_size=2)))
def test_random_corruptions_give_the_named_error(p, kind, name, junk) -> None:
    if kind == "negative":
        name = POSITIVE[NAMES.index(name) % len(POSITIVE)]
    if kind == "unit" and (isinstance(junk, str) and (junk == UNITS[name] or (
            UNITS[name] in PREFIXABLE_UNITS and len(junk) == len(UNITS[name]) + 1
            and junk[0] in SI_PREFIXES and junk.endswith(UNITS[name])))):
        return  # a valid spelling of the unit is no corruption
    doc = _doc(p)
    key = _corrupt(doc, kind, name, junk)
    with pytest.raises(CompactModelFileError) as err:
        from_document(json.loads(json.dumps(doc)), "corrupt.json")
    msg = str(err.value)
    assert msg.startswith("corrupt.json: ")
    assert key in msg


@settings(max_examples=EXAMPLES, deadline=None)
@given(frac=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_file_names_the_file(tmp_path_factory, frac) -> None:
    text = json.dumps(compact_model.load("paper").to_dict())
    path = tmp_path_factory.mktemp("tr") / "nlem.json"
    path.write_text(text[: int(frac * len(text))], encoding="utf-8")
    with pytest.raises(CompactModelFileError, match="not valid JSON"):
        load_json(path)


def test_missing_parameter_never_takes_its_default(tmp_path) -> None:
    doc = compact_model.load("paper").to_dict()
    del doc["parameters"]["cap_sat"]
    path = tmp_path / "nlem.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(CompactModelFileError,
                       match=r"nlem.json: parameters: missing \['cap_sat'\]"):
        compact_model.load(str(path))


def test_milli_units_are_converted_not_ignored() -> None:
    doc = compact_model.load("paper").to_dict()
    doc["parameters"]["g_leak"] = {"value": 2.0, "unit": "mS"}
    doc["parameters"]["i_ref"] = {"value": 3.0, "unit": "mA"}
    m = from_document(doc, "x")
    assert m.params.g_leak == pytest.approx(2e-3) and m.params.i_ref == pytest.approx(3e-3)


# ----------------------------------------------------------------------------- kernels
def test_kernels_refuse_short_arrays_and_bad_dt() -> None:
    pk = pack(compact_model.load("paper").params)
    ws, wf = np.zeros(8), np.zeros(8)
    one, zero = np.ones(1), np.zeros(1)
    kernels.step(ws, wf, np.full(8, 5.0), zero, 0.01, pk, one, zero, 0.0)  # valid
    with pytest.raises(kernels.KernelInputError, match="wf has 3 entries: must be 8"):
        kernels.step(ws, np.zeros(3), one * 5, zero, 0.01, pk, one, zero, 0.0)
    with pytest.raises(kernels.KernelInputError, match="v has 5 entries: must be 1"):
        kernels.step(ws, wf, np.full(5, 5.0), zero, 0.01, pk, one, zero, 0.0)
    with pytest.raises(kernels.KernelInputError, match="out_s has 2 entries"):
        kernels.step(ws, wf, one, zero, 0.01, pk, one, zero, 0.0, out_s=np.empty(2))
    for dt in (float("nan"), -1e-3, float("inf")):
        with pytest.raises(kernels.KernelInputError, match="dt = "):
            kernels.step(ws, wf, one, zero, dt, pk, one, zero, 0.0)
        with pytest.raises(kernels.KernelInputError, match="dt = "):
            kernels.pulse_read(ws, wf, 5.0, dt, 4.0, pk)
    with pytest.raises(kernels.KernelInputError, match="gs has 4 entries"):
        kernels.iv(np.full(8, 4.0), ws, pk, np.ones(4), 8)
    with pytest.raises(kernels.KernelInputError, match="pk has shape"):
        kernels.iv(one, ws, pk[:5], one, 8)
    with pytest.raises(kernels.KernelInputError, match="wf has 3 entries"):
        kernels.pulse_read(ws, np.zeros(3), 5.0, 0.01, 4.0, pk)
    v3, dt3 = np.full(3, 5.0), np.full(3, 0.01)
    kernels.replay(v3, np.zeros(3), dt3, pk, 0.01, 0.0, 0.0)  # valid
    with pytest.raises(kernels.KernelInputError, match="uv has 2 entries: must be 3"):
        kernels.replay(v3, np.zeros(2), dt3, pk, 0.01, 0.0, 0.0)
    for bad in (float("nan"), -0.01, float("inf")):
        with pytest.raises(kernels.KernelInputError, match="dt holds"):
            kernels.replay(v3, np.zeros(3), np.array([0.01, bad, 0.01]), pk, 0.01, 0.0, 0.0)


def test_model_refuses_nan_and_negative_durations() -> None:
    m = compact_model.load("paper")
    for bad in (float("nan"), -1.0, float("inf")):
        with pytest.raises(ValueError):
            m.rest(np.zeros(2), bad)
        with pytest.raises(ValueError):
            m.pulse(np.zeros(2), 1, 5.0, bad)


# ----------------------------------------------------------------------------- torch bridge
def test_torch_curves_refuse_what_current_refuses() -> None:
    import torch

    from compact_model import torch_bridge as tb

    m = compact_model.load("paper")
    cur, light = tb.current_curve(m), tb.light_curve(m)
    inside = torch.linspace(m.params.v_min, m.params.v_max, 5, dtype=torch.float64)
    cur(inside), light(inside)  # the model's range is accepted
    for v in (m.params.v_max + 1.0, m.params.v_min - 1.0, float("nan")):
        with pytest.raises(ValueError):
            m.current(v, 0.0)
        for f in (cur, light):
            with pytest.raises(ValueError, match="must lie in"):
                f(torch.tensor([0.0, v], dtype=torch.float64))


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.one_of(st.binary(max_size=40), st.text(max_size=40).map(str.encode)))
def test_random_bytes_give_the_named_error(tmp_path_factory, data) -> None:
    path = tmp_path_factory.mktemp("rb") / "nlem.json"
    path.write_bytes(data)
    with pytest.raises(CompactModelFileError, match="nlem.json"):
        load_json(path)
