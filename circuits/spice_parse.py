"""Parser of the SPICE subset lemsim solves; everything outside it is refused by line.

Supported (each checked against ``ngspice -b`` in the tests):

* title line, ``*`` comment lines (also between continuation lines), ``;`` end-of-line
  comments, ``+`` continuations, ``.end`` (the rest of the file is ignored);
* ``R n1 n2 value [m=]``, ``C n1 n2 value [m=]`` (``m`` parallel copies);
* ``V``/``I n+ n- [DC] value [AC mag [phase]] [PULSE(...)|SIN(...)|PWL(...)|EXP(...)]``,
  ``I ... [m=]``; the operating point takes the DC value or, without one, the waveform at
  t = 0 (ngspice's rule); ``.tran`` follows the waveform;
* ``D a k model [m=]`` with ``.model NAME D(IS N RS EG XTI CJO VJ M TT FC)``; temperature from
  ``.options temp=``/``tnom=`` or ``.temp`` with ngspice's IS(T) (EG, XTI); CJO or TT other
  than 0 are refused in a ``.tran`` (no junction charge is modelled);
* ``B a k I=pwl(V(a,k), v0, i0, v1, i1, ...)`` (the exporter's N-LEM form);
* ``X nodes... name [params:] [k=v ...] [m=]`` of ``.subckt name ports [params: k=v ...]``
  definitions (flattened as ngspice names them: ``x1.r1``, ``x1.node``);
* ``.param k=expr ...`` and ``{expr}`` values (:mod:`circuits.expressions`);
* ``.options`` ``gmin temp tnom method=trap maxord`` and the tolerances ``reltol abstol vntol
  chgtol trtol itl1 itl2 itl4`` (accepted; lemsim's Newton runs to round-off);
* ``.op``, ``.tran tstep tstop [tstart [tmax]] [uic]``, ``.print`` (ignored), ``.control``
  blocks (skipped).

Anything else raises ``NetlistError("line N: <what> is not supported")``.
"""

from __future__ import annotations

import re

from circuits.analyses import Op, Tran
from circuits.expressions import ExpressionError, evaluate, number
from circuits.netlist import (
    C_TO_K,
    T_DEFAULT_K,
    Capacitor,
    Diode,
    DiodeModel,
    Element,
    ISource,
    Netlist,
    NetlistError,
    PwlCurrent,
    Resistor,
    VSource,
)
from circuits.waveforms import FORMS, Waveform, make_waveform

#: Diode ``.model`` parameters read (others are refused); DiodeModel field for each.
_DIODE_PARAMS = {"is": "is_", "n": "n", "rs": "rs", "eg": "eg", "xti": "xti", "cjo": "cjo",
                 "cj0": "cjo", "tt": "tt", "vj": None, "m": None, "fc": None}
#: ``.options`` accepted without effect on the result (lemsim's Newton runs to round-off).
_TOLERANCES = {"reltol", "abstol", "vntol", "chgtol", "trtol", "itl1", "itl2", "itl4",
               "noacct", "acct", "nopage", "noinit", "list", "nomod"}
#: ``.options`` that change the result and are implemented.
_OPTIONS = {"gmin", "temp", "tnom", "method", "maxord"}
#: Output-only cards accepted and ignored.
_IGNORED_CARDS = {".print", ".title"}

Params = dict[str, float]


def parse_value(text: str, line: int | None = None, params: Params | None = None) -> float:
    """A SPICE value: a number with an optional scale suffix, or ``{expr}`` / ``'expr'``.

    Raises:
        NetlistError: unreadable number or expression (naming the line).
    """
    t = text.strip()
    try:
        if len(t) >= 2 and (t[0], t[-1]) in (("{", "}"), ("'", "'")):
            return evaluate(t[1:-1], params or {})
        return number(t)
    except ExpressionError as err:
        raise NetlistError(str(err), line) from None


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first physical line number, text) of each logical line.

    Comment (``*``) and blank lines are dropped before continuations are joined, as in
    ngspice, so a comment between a line and its ``+`` continuation is allowed.
    """
    out: list[tuple[int, str]] = []
    for k, raw in enumerate(text.splitlines(), start=1):
        if k == 1:
            out.append((k, raw.rstrip()))
            continue
        s = raw.split(";")[0].rstrip()
        st = s.lstrip()
        if not st or st.startswith("*"):
            continue
        if st.startswith("+"):
            if len(out) < 2:
                raise NetlistError("continuation line '+' with no line to continue", k)
            out[-1] = (out[-1][0], out[-1][1] + " " + st[1:])
        else:
            out.append((k, st))
    return out


def _tokens(s: str) -> list[str]:
    """Whitespace/comma/parenthesis separated tokens; ``{...}`` and ``'...'`` stay whole and
    ``k = v`` becomes ``k=v``."""
    s = re.sub(r"\s*=\s*", "=", s)
    out: list[str] = []
    cur = ""
    i = 0
    while i < len(s):
        c = s[i]
        if c in "{'":
            close = "}" if c == "{" else "'"
            j = s.find(close, i + 1)
            if j < 0:
                raise ValueError(f"unclosed {c!r}")
            cur += s[i:j + 1]
            i = j + 1
            continue
        if c in " \t,()":
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    if cur:
        out.append(cur)
    return out


def _tok(st: str, ln: int) -> list[str]:
    try:
        return _tokens(st)
    except ValueError as err:
        raise NetlistError(str(err), ln) from None


def _kv(tokens: list[str], ln: int, params: Params, what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in tokens:
        if "=" not in t:
            raise NetlistError(f"{what}: expected NAME=VALUE, got {t!r}", ln)
        k, v = t.split("=", 1)
        if not k or not v:
            raise NetlistError(f"{what}: expected NAME=VALUE, got {t!r}", ln)
        out[k.lower()] = parse_value(v, ln, params)
    return out


class _Subckt:
    """A ``.subckt`` definition: ports, parameter defaults (text) and body lines."""

    def __init__(self, name: str, line: int, ports: list[str], defaults: list[str]) -> None:
        self.name, self.line, self.ports, self.defaults = name, line, ports, defaults
        self.body: list[tuple[int, str]] = []
        self.params: list[tuple[int, list[str]]] = []


def _param_assignments(tokens: list[str], ln: int, scope: Params) -> None:
    """Evaluate ``k=expr`` tokens in order into ``scope`` (later ones see earlier ones)."""
    for t in tokens:
        if "=" not in t:
            raise NetlistError(f".param: expected NAME=VALUE, got {t!r}", ln)
        k, v = t.split("=", 1)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
            raise NetlistError(f".param: bad parameter name {k!r}", ln)
        v = v[1:-1] if len(v) >= 2 and (v[0], v[-1]) in (("{", "}"), ("'", "'")) else v
        try:
            scope[k.lower()] = evaluate(v, scope)
        except ExpressionError as err:
            raise NetlistError(f".param {k}: {err}", ln) from None


def parse_spice(text: str) -> Netlist:
    """Parse the supported SPICE subset (module docstring) into a validated :class:`Netlist`.

    The analyses found (``.op``, ``.tran``) are in ``Netlist.analyses``; options in
    ``Netlist.options``.

    Raises:
        NetlistError: anything outside the subset (``line N: ... is not supported``), unknown
            model or subcircuit, duplicate name, voltage-source loop, floating node, unreadable
            value; the message starts with ``line N:``.
    """
    if not text.strip():
        raise NetlistError("empty netlist", 1)
    lines = _logical_lines(text)
    title = lines[0][1].strip()
    body: list[tuple[int, str]] = []
    subckts: dict[str, _Subckt] = {}
    models: dict[str, tuple[int, DiodeModel]] = {}
    options: dict[str, float | str] = {}
    analyses: list[Op | Tran] = []
    gparams: Params = {}
    cur: _Subckt | None = None
    in_control = False
    temp_line: int | None = None
    for ln, st in lines[1:]:
        low = st.lower()
        if in_control:
            in_control = not low.startswith(".endc")
            continue
        if low.startswith(".control"):
            in_control = True
            continue
        if not low.startswith("."):
            (cur.body if cur is not None else body).append((ln, st))
            continue
        tok = _tok(st, ln)
        if not tok:
            raise NetlistError(f"cannot read {st!r}", ln)
        card = tok[0].lower()
        if card == ".end":
            break
        if card == ".subckt":
            if cur is not None:
                raise NetlistError("nested .subckt is not supported", ln)
            if len(tok) < 3:
                raise NetlistError(".subckt needs a name and nodes", ln)
            ports: list[str] = []
            defaults: list[str] = []
            for t in tok[2:]:
                if t.lower() == "params:" or "=" in t:
                    if "=" in t:
                        defaults.append(t)
                elif defaults or "params:" in (x.lower() for x in tok[2:tok.index(t)]):
                    raise NetlistError(f".subckt {tok[1]}: {t!r} after the parameters is not "
                                       "supported", ln)
                else:
                    ports.append(t.lower())
            cur = _Subckt(tok[1].lower(), ln, ports, defaults)
        elif card == ".ends":
            if cur is None:
                raise NetlistError(".ends without .subckt", ln)
            subckts[cur.name] = cur
            cur = None
        elif card == ".param":
            if cur is not None:
                cur.params.append((ln, tok[1:]))
            else:
                _param_assignments(tok[1:], ln, gparams)
        elif card == ".model":
            if len(tok) < 3:
                raise NetlistError(".model needs a name and a type", ln)
            if tok[2].lower() != "d":
                raise NetlistError(f"model type {tok[2]!r} is not supported (only D)", ln)
            kv = _kv(tok[3:], ln, gparams, f".model {tok[1]}")
            unknown = sorted(set(kv) - set(_DIODE_PARAMS))
            if unknown:
                raise NetlistError(f"diode parameter(s) {unknown} are not supported", ln)
            fields = {_DIODE_PARAMS[k]: v for k, v in kv.items() if _DIODE_PARAMS[k]}
            models[tok[1].lower()] = (ln, DiodeModel(name=tok[1].lower(), **fields))
        elif card in (".options", ".option", ".opt"):
            _options(tok[1:], ln, options, gparams)
        elif card == ".temp":
            if len(tok) != 2:
                raise NetlistError(".temp with other than one temperature is not supported",
                                   ln)
            options["temp"] = parse_value(tok[1], ln, gparams)
            temp_line = ln
        elif card == ".op":
            analyses.append(Op(line=ln))
        elif card == ".tran":
            analyses.append(_tran(tok[1:], ln, gparams))
        elif card in _IGNORED_CARDS:
            continue
        else:
            raise NetlistError(f"control card {tok[0]!r} is not supported", ln)
    if cur is not None:
        raise NetlistError(f".subckt {cur.name} has no .ends", cur.line)
    temp_k = float(options.get("temp", T_DEFAULT_K - C_TO_K)) + C_TO_K
    tnom_k = float(options.get("tnom", T_DEFAULT_K - C_TO_K)) + C_TO_K
    if temp_k <= 0 or tnom_k <= 0:
        raise NetlistError(f"temperature {temp_k - C_TO_K:g} °C is below absolute zero",
                           temp_line)
    gmin = float(options.get("gmin", 1e-12))
    for _, m in models.values():
        m.gmin, m.temp_k, m.tnom_k = gmin, temp_k, tnom_k
    net = Netlist(title=title, options=options, analyses=analyses)
    _emit(body, net, models, subckts, prefix="", nodemap={}, params=gparams, mult=None,
          depth=0)
    if any(isinstance(a, Tran) for a in analyses):
        for ln, m in models.values():
            if m.cjo or m.tt:
                raise NetlistError(f"diode model {m.name}: junction charge (CJO, TT) in .tran "
                                   "is not supported", ln)
    net.validate()
    return net


def _options(tokens: list[str], ln: int, options: dict[str, float | str],
             params: Params) -> None:
    for t in tokens:
        k, _, v = t.partition("=")
        key = k.lower()
        if key not in _OPTIONS and key not in _TOLERANCES:
            raise NetlistError(f".options {key} is not supported", ln)
        if key == "method":
            if v.lower() not in ("trap", "trapezoidal"):
                raise NetlistError(f".options method={v} is not supported (only trap)", ln)
            options["method"] = "trap"
        elif key in _OPTIONS:
            if not v:
                raise NetlistError(f".options {key} needs a value", ln)
            options[key] = parse_value(v, ln, params)
            if key == "maxord" and options[key] not in (1.0, 2.0):
                raise NetlistError(f".options maxord={v} is not supported (1 or 2 with trap)",
                                   ln)
            if key == "gmin" and not float(options[key]) >= 0:
                raise NetlistError(f".options gmin={v} must be >= 0", ln)
        elif v:
            parse_value(v, ln, params)  # a tolerance must at least be a number


def _tran(tokens: list[str], ln: int, params: Params) -> Tran:
    uic = any(t.lower() == "uic" for t in tokens)
    vals = [t for t in tokens if t.lower() != "uic"]
    if not 2 <= len(vals) <= 4:
        raise NetlistError(".tran needs tstep tstop [tstart [tmax]] [uic]", ln)
    nums = [parse_value(t, ln, params) for t in vals]
    tstep, tstop = nums[0], nums[1]
    tstart = nums[2] if len(nums) > 2 else 0.0
    tmax = nums[3] if len(nums) > 3 else None
    if not (tstep > 0 and tstop > 0 and 0 <= tstart < tstop and (tmax is None or tmax > 0)):
        raise NetlistError(f".tran {' '.join(vals)}: need tstep > 0, tstop > tstart >= 0, "
                           "tmax > 0", ln)
    return Tran(tstep, tstop, tstart, tmax, uic, line=ln)


def _emit(body: list[tuple[int, str]], net: Netlist, models: dict, subckts: dict[str, _Subckt],
          prefix: str, nodemap: dict[str, str], params: Params, mult: float | None,
          depth: int) -> None:
    """Add the elements of ``body`` to ``net``.

    ``mult`` is the ``m=`` of the enclosing subcircuit instances (None when none gave one):
    ngspice then replaces the devices' own ``m``, so a device ``m`` there is refused.
    """
    def node(n: str) -> str:
        n = n.lower()
        if n in ("0", "gnd"):
            return "0"
        if n in nodemap:
            return nodemap[n]
        return f"{prefix}{n}" if prefix else n

    for ln, st in body:
        tok = _tok(st, ln)
        if not tok:
            raise NetlistError(f"cannot read {st!r}", ln)
        name = tok[0]
        letter = name[0].lower()
        full = f"{prefix}{name.lower()}" if prefix else name.lower()

        def need(k: int, tok: list[str] = tok, name: str = name, ln: int = ln) -> None:
            if len(tok) < k:
                raise NetlistError(f"{name}: expected at least {k - 1} fields after the name",
                                   ln)

        if letter in "rc":
            need(4)
            pos = [t for t in tok[3:] if "=" not in t]
            kv = _kv([t for t in tok[3:] if "=" in t], ln, params, name)
            key = "r" if letter == "r" else "c"
            given = kv.pop(key, None)
            _only(kv, {"m"}, name, ln)
            if len(pos) + (given is not None) != 1:
                what = "no value" if not pos else f"extra value token {pos[-1]!r}"
                raise NetlistError(f"{name}: {what} is not supported", ln)
            val = given if given is not None else parse_value(pos[0], ln, params)
            m = _device_m(kv.get("m"), mult, name, ln)
            if letter == "r":
                net.add(Resistor(full, node(tok[1]), node(tok[2]), val / m, line=ln))
            else:
                net.add(Capacitor(full, node(tok[1]), node(tok[2]), val * m, line=ln))
        elif letter in "vi":
            need(3)
            dc, wf, m_dev = _source(tok[3:], name, letter, ln, params)
            if letter == "v":
                if mult is not None:
                    raise NetlistError(f"{name}: a voltage source inside a subcircuit instance "
                                       "with m= is not supported", ln)
                v0 = dc if dc is not None else (wf.value(0.0) if wf is not None else 0.0)
                net.add(VSource(full, node(tok[1]), node(tok[2]), v0, waveform=wf, line=ln))
            else:
                i0 = dc if dc is not None else (wf.value(0.0) if wf is not None else 0.0)
                net.add(ISource(full, node(tok[1]), node(tok[2]), i0, waveform=wf,
                                m=_device_m(m_dev, mult, name, ln), line=ln))
        elif letter == "d":
            need(4)
            mname = tok[3].lower()
            if mname not in models:
                raise NetlistError(f"{name}: diode model {tok[3]!r} is not defined", ln)
            extra = [t for t in tok[4:] if "=" not in t]
            if extra:
                raise NetlistError(f"{name}: diode {'area' if _isnum(extra[0]) else 'token'} "
                                   f"{extra[0]!r} is not supported", ln)
            kv = _kv([t for t in tok[4:] if "=" in t], ln, params, name)
            _only(kv, {"m"}, name, ln)
            m = _device_m(kv.get("m"), mult, name, ln)
            net.add(Diode(full, node(tok[1]), node(tok[2]), models[mname][1], m=m, line=ln))
        elif letter == "b":
            if mult is not None:
                raise NetlistError(f"{name}: a B source inside a subcircuit instance with m= "
                                   "is not supported", ln)
            net.add(_bsource(st, full, node, ln, params))
        elif letter == "x":
            _instance(tok, name, full, node, ln, net, models, subckts, params, mult, depth)
        else:
            raise NetlistError(f"element type {name[0].upper()!r} ({name}) is not supported "
                               "(supported: R C V I D B X)", ln)


def _isnum(t: str) -> bool:
    try:
        number(t)
    except ExpressionError:
        return t.startswith("{")
    return True


def _only(kv: dict[str, float], allowed: set[str], name: str, ln: int) -> None:
    bad = sorted(set(kv) - allowed)
    if bad:
        raise NetlistError(f"{name}: parameter {bad[0]!r} is not supported", ln)


def _device_m(own: float | None, mult: float | None, name: str, ln: int) -> float:
    """The multiplier of a device with its own ``m`` (or None) inside instances ``mult``."""
    if own is not None and mult is not None:
        raise NetlistError(f"{name}: m= on a device inside a subcircuit instance with m= is "
                           "not supported (ngspice replaces the device's m)", ln)
    m = own if own is not None else (mult if mult is not None else 1.0)
    _m_ok(m, name, ln)
    return m


def _m_ok(m: float, name: str, ln: int) -> None:
    if not m > 0 or m != m or m == float("inf"):
        raise NetlistError(f"{name}: m = {m!r} must be in (0, inf)", ln)


def _source(tokens: list[str], name: str, letter: str, ln: int,
            params: Params) -> tuple[float | None, Waveform | None, float | None]:
    """(DC value or None, waveform or None, m or None) of a V/I source's value tokens."""
    dc: float | None = None
    wf: Waveform | None = None
    m: float | None = None
    k = 0
    while k < len(tokens):
        t = tokens[k]
        low = t.lower()
        if "=" in t:
            key, _, v = t.partition("=")
            if key.lower() == "m" and letter == "i":
                m = parse_value(v, ln, params)
                _m_ok(m, name, ln)
                k += 1
                continue
            raise NetlistError(f"{name}: parameter {key.lower()!r} is not supported", ln)
        if low == "dc":
            if k + 1 >= len(tokens):
                raise NetlistError(f"{name}: DC needs a value", ln)
            dc = parse_value(tokens[k + 1], ln, params)
            k += 2
        elif low == "ac":
            # AC magnitude [phase]: used only by an .ac analysis; no effect on .op or .tran
            k += 1
            for _ in range(2):
                if k < len(tokens) and _isnum(tokens[k]):
                    parse_value(tokens[k], ln, params)
                    k += 1
        elif low in FORMS:
            if wf is not None:
                raise NetlistError(f"{name}: a second waveform is not supported", ln)
            _, lo, hi = FORMS[low]
            j = k + 1
            nums: list[float] = []
            while j < len(tokens) and _isnum(tokens[j]):
                nums.append(parse_value(tokens[j], ln, params))
                j += 1
            if not lo <= len(nums) <= hi:
                raise NetlistError(f"{name}: {low.upper()} with {len(nums)} values is not "
                                   f"supported (takes {lo} to {hi})", ln)
            try:
                wf = make_waveform(low, nums)
            except ValueError as err:
                raise NetlistError(f"{name}: {err}", ln) from None
            k = j
        elif _isnum(t) and dc is None and k == 0:
            dc = parse_value(t, ln, params)
            k += 1
        else:
            what = "extra value token" if _isnum(t) else "source form"
            raise NetlistError(f"{name}: {what} {t!r} is not supported", ln)
    return dc, wf, m


_BPWL = re.compile(r"^\s*(\S+)\s+(\S+)\s+(\S+)\s+i\s*=\s*pwl\s*\(\s*v\s*\(\s*([^,()\s]+)\s*"
                   r"(?:,\s*([^,()\s]+)\s*)?\)\s*,(.*)\)\s*$", re.IGNORECASE)


def _bsource(st: str, full: str, node, ln: int, params: Params) -> Element:  # noqa: ANN001
    m = _BPWL.match(st)
    if not m:
        raise NetlistError(f"{st.split()[0]}: B source other than I=pwl(V(a,k), v0, i0, ...) "
                           "is not supported", ln)
    name, a, k, va, vk, table = m.groups()
    vk = vk or "0"
    if (node(va), node(vk)) != (node(a), node(k)):
        raise NetlistError(f"{name}: pwl of a voltage other than its own V({a},{k}) is not "
                           "supported", ln)
    vals = [parse_value(t, ln, params) for t in table.replace(",", " ").split()]
    if len(vals) < 4 or len(vals) % 2:
        raise NetlistError(f"{name}: pwl needs (V, I) pairs, got {len(vals)} numbers", ln)
    return PwlCurrent(full, node(a), node(k), tuple(vals[0::2]), tuple(vals[1::2]), line=ln)


def _instance(tok: list[str], name: str, full: str, node, ln: int,  # noqa: ANN001
              net: Netlist, models: dict, subckts: dict[str, _Subckt], params: Params,
              mult: float | None, depth: int) -> None:
    args = [t for t in tok[1:] if t.lower() != "params:"]
    pos = [t for t in args if "=" not in t]
    if len(pos) < 2:
        raise NetlistError(f"{name}: expected nodes and a subcircuit name", ln)
    sname = pos[-1].lower()
    if sname not in subckts:
        raise NetlistError(f"{name}: subcircuit {pos[-1]!r} is not defined", ln)
    sub = subckts[sname]
    if depth >= 20:
        raise NetlistError(f"{name}: subcircuit nesting deeper than 20 (recursive .subckt?) "
                           "is not supported", ln)
    conns = pos[:-1]
    if len(conns) != len(sub.ports):
        raise NetlistError(f"{name}: {len(conns)} nodes given, subcircuit {sname} has "
                           f"{len(sub.ports)} ports", ln)
    over = _kv([t for t in args if "=" in t], ln, params, name)
    m_own = over.pop("m", None)
    if m_own is not None and mult is not None:
        raise NetlistError(f"{name}: m= on an instance inside a subcircuit instance with m= "
                           "is not supported (ngspice replaces the inner m)", ln)
    m = m_own if m_own is not None else mult
    if m is not None:
        _m_ok(m, name, ln)
    scope = dict(params)
    try:
        _param_assignments(sub.defaults, sub.line, scope)
    except NetlistError as err:
        raise NetlistError(f"{name}: {err}", ln) from None
    unknown = sorted(set(over) - {t.split("=", 1)[0].lower() for t in sub.defaults})
    if unknown:
        raise NetlistError(f"{name}: subcircuit {sname} has no parameter {unknown[0]!r}", ln)
    scope.update(over)
    for pl, ptoks in sub.params:
        _param_assignments(ptoks, pl, scope)
    sub_map = {p: node(c) for p, c in zip(sub.ports, conns, strict=True)}
    _emit(sub.body, net, models, subckts, prefix=f"{full}.", nodemap=sub_map, params=scope,
          mult=m, depth=depth + 1)

