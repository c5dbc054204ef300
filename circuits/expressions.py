"""Arithmetic of SPICE ``.param`` values and ``{...}`` element values, as ngspice evaluates them.

Grammar: numbers with SPICE scale suffixes (``1k``, ``2.2meg``, ``10u``), parameter names,
``+ - * /``, ``**`` and ``^`` (power, right-associative), unary ``+``/``-``, parentheses and the
functions in :data:`FUNCTIONS`. Anything else (comparisons, ternaries, unknown names or
functions) raises :class:`ExpressionError`; nothing is passed to Python's ``eval``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

#: SPICE scale suffixes (case-insensitive; ``meg`` and ``mil`` before ``m``).
SUFFIX = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "mil": 25.4e-6, "m": 1e-3, "u": 1e-6,
          "n": 1e-9, "p": 1e-12, "f": 1e-15}
#: A SPICE number: mantissa, optional suffix, then letters ngspice ignores (units: ``10uA``).
NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(meg|mil|[tgkmunpf])?([a-z]*)",
                    re.IGNORECASE)

FUNCTIONS: dict[str, tuple[int, Callable[..., float]]] = {
    "sqrt": (1, math.sqrt), "exp": (1, math.exp), "ln": (1, math.log), "log": (1, math.log),
    "log10": (1, math.log10), "abs": (1, abs), "sin": (1, math.sin), "cos": (1, math.cos),
    "tan": (1, math.tan), "atan": (1, math.atan), "sinh": (1, math.sinh),
    "cosh": (1, math.cosh), "tanh": (1, math.tanh), "min": (2, min), "max": (2, max),
    "pow": (2, math.pow),
}


class ExpressionError(ValueError):
    """An expression that cannot be read; the message says where and why."""


_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?[a-zA-Z]*|\.\d+(?:[eE][+-]?\d+)?"
                    r"[a-zA-Z]*)|([A-Za-z_][A-Za-z0-9_.]*)|(\*\*|[-+*/^(),]))")


def number(text: str) -> float:
    """A SPICE number (``1k``, ``2.2meg``, ``10uA``, ``1e-3``).

    Raises:
        ExpressionError: when ``text`` is not a number.
    """
    m = NUMBER.fullmatch(text.strip())
    if not m:
        raise ExpressionError(f"cannot read number {text!r}")
    val = float(m.group(1))
    if m.group(2):
        val *= SUFFIX[m.group(2).lower()]
    if not math.isfinite(val):
        raise ExpressionError(f"number {text!r} is not finite")
    return val


def _tokenize(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"unexpected {text[pos:].strip()[:20]!r} in {text!r}")
        kind = "num" if m.group(1) else "name" if m.group(2) else "op"
        out.append((kind, m.group(m.lastindex or 0)))
        pos = m.end()
    return out


def evaluate(text: str, params: Mapping[str, float]) -> float:
    """Value of the expression ``text`` with parameter values ``params`` (lower-case names).

    Raises:
        ExpressionError: syntax error, unknown parameter or function, wrong argument count,
            or a math error (division by zero, log of a negative number).
    """
    toks = _tokenize(text)
    pos = 0

    def peek() -> str | None:
        return toks[pos][1] if pos < len(toks) else None

    def take(expected: str | None = None) -> tuple[str, str]:
        nonlocal pos
        if pos >= len(toks):
            raise ExpressionError(f"unexpected end of {text!r}")
        tok = toks[pos]
        if expected is not None and tok[1] != expected:
            raise ExpressionError(f"expected {expected!r}, got {tok[1]!r} in {text!r}")
        pos += 1
        return tok

    def expr() -> float:
        val = term()
        while peek() in ("+", "-"):
            op = take()[1]
            rhs = term()
            val = val + rhs if op == "+" else val - rhs
        return val

    def term() -> float:
        val = unary()
        while peek() in ("*", "/"):
            op = take()[1]
            rhs = unary()
            val = val * rhs if op == "*" else val / rhs
        return val

    def unary() -> float:
        if peek() in ("+", "-"):
            op = take()[1]
            v = unary()
            return -v if op == "-" else v
        return power()

    def power() -> float:
        base = atom()
        if peek() in ("**", "^"):
            take()
            return base ** unary()
        return base

    def atom() -> float:
        kind, tok = take()
        if kind == "num":
            return number(tok)
        if kind == "name":
            key = tok.lower()
            if peek() == "(":
                if key not in FUNCTIONS:
                    raise ExpressionError(f"function {tok!r} is not supported")
                take("(")
                args = [expr()]
                while peek() == ",":
                    take()
                    args.append(expr())
                take(")")
                nargs, fn = FUNCTIONS[key]
                if len(args) != nargs:
                    raise ExpressionError(f"{tok}() takes {nargs} argument(s), got {len(args)}")
                return float(fn(*args))
            if key not in params:
                raise ExpressionError(f"unknown parameter {tok!r}")
            return params[key]
        if tok == "(":
            val = expr()
            take(")")
            return val
        raise ExpressionError(f"unexpected {tok!r} in {text!r}")

    if not toks:
        raise ExpressionError("empty expression")
    try:
        val = expr()
    except (ZeroDivisionError, OverflowError, ValueError) as err:
        if isinstance(err, ExpressionError):
            raise
        raise ExpressionError(f"{text!r}: {err}") from None
    if pos != len(toks):
        raise ExpressionError(f"unexpected {toks[pos][1]!r} in {text!r}")
    if isinstance(val, complex) or not math.isfinite(val):
        raise ExpressionError(f"{text!r} evaluates to {val!r}")
    return float(val)
