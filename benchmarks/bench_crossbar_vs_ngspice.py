"""Crossbar solve: lemsim against ngspice (N = 32, 48, 64) and against a plain sparse solve.

Circuit (notes/ngspice-crossbars.md): N×N cells with conductances in [1e-6, 1e-4] S, row
inputs 0-0.2 V from ideal sources, r = 1 Ω per wire segment on rows and columns (driver to
first cell and last cell to the column's 0 V readout included), far ends open; the column
current is the readout source's branch current.

- Part 1: lemsim (:class:`circuits.crossbar.LinearCrossbar`, assembly + solve, ``auto``
  method) vs ``ngspice -b`` (``.op``, tight tolerances, process time including parsing) at
  N = 32, 48, 64, interleaved; ratio of medians and max relative column-current difference.
- Part 2: lemsim alone at N = 128, 256, 512 vs ``scipy.sparse.linalg.spsolve`` of the full
  MNA system (node voltages + source branch currents) assembled by the general compiler.
- Part 3: per-vector cost of a batched solve (64 input vectors through one CG, or through one
  LU factorisation) against one vector at a time, N = 64 and 256.

Last line of stdout: a JSON object, also written to ``results/bench/crossbar_vs_ngspice.json``.
Usage: ``python benchmarks/bench_crossbar_vs_ngspice.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import scipy.sparse.linalg as spla

from circuits.crossbar import LinearCrossbar, build_crossbar_netlist
from circuits.mna import compile_netlist
from circuits.spice import ngspice_available, run_ngspice

ROOT = Path(__file__).resolve().parents[1]


def circuit(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Conductances (N, N) and row voltages (N,) of the note's test circuit."""
    rng = np.random.default_rng(seed)
    return rng.uniform(1e-6, 1e-4, (n, n)), rng.uniform(0.0, 0.2, n)


def lemsim_solve(g: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Assemble and solve (everything a user pays for one crossbar)."""
    return LinearCrossbar(g, 1.0).solve(v, "auto").currents


def timed(fn, *args):  # noqa: ANN001, ANN201
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def part_ngspice(sizes: list[int], reps: int) -> list[dict]:
    rows = []
    for n in sizes:
        g, v = circuit(n)
        text = None
        t_l, t_n, diff = [], [], 0.0
        for _ in range(reps):  # interleaved
            dt, cur = timed(lemsim_solve, g, v)
            t_l.append(dt)
            if text is None:
                net = build_crossbar_netlist(v, 1.0, g)
            dt, ng = timed(run_ngspice, net)
            t_n.append(dt)
            ref = np.array([ng[f"vt{j}#branch"] for j in range(n)])
            diff = max(diff, float(np.max(np.abs(cur / ref - 1.0))))
        ml, mn = statistics.median(t_l), statistics.median(t_n)
        rows.append({"n": n, "lemsim_s": ml, "ngspice_s": mn, "ratio": mn / ml,
                     "max_rel_diff": diff})
        print(f"N={n:4d}  lemsim {ml * 1e3:9.3f} ms  ngspice {mn * 1e3:9.1f} ms  "
              f"ratio {mn / ml:9.1f}  max rel diff {diff:.2e}", flush=True)
    return rows


def part_spsolve(sizes: list[int], reps: int) -> list[dict]:
    rows = []
    for n in sizes:
        g, v = circuit(n)
        circ = compile_netlist(build_crossbar_netlist(v, 1.0, g))
        A, b = circ.G.tocsc(), circ.rhs()
        cols = [circ.branch_index[f"vt{j}"] for j in range(n)]
        t_l, t_s, diff = [], [], 0.0
        for _ in range(reps):
            dt, cur = timed(lemsim_solve, g, v)
            t_l.append(dt)
            dt, x = timed(spla.spsolve, A, b)
            t_s.append(dt)
            diff = max(diff, float(np.max(np.abs(cur / x[cols] - 1.0))))
        ml, ms = statistics.median(t_l), statistics.median(t_s)
        rows.append({"n": n, "lemsim_s": ml, "spsolve_s": ms, "ratio": ms / ml,
                     "max_rel_diff": diff})
        print(f"N={n:4d}  lemsim {ml * 1e3:9.1f} ms  spsolve {ms * 1e3:9.1f} ms  "
              f"ratio {ms / ml:7.2f}  max rel diff {diff:.2e}", flush=True)
    return rows


def part_batch(sizes: list[int], batch: int, reps: int) -> list[dict]:
    rows = []
    for n in sizes:
        g, _ = circuit(n)
        v = np.random.default_rng(1).uniform(0, 0.2, (n, batch))
        xb = LinearCrossbar(g, 1.0)
        for method in ("cg", "direct"):
            xb.solve(v[:, 0], method)  # factor / set up the preconditioner once
            t1 = statistics.median(timed(xb.solve, v[:, 0], method)[0] for _ in range(reps))
            tb = statistics.median(timed(xb.solve, v, method)[0] for _ in range(reps))
            rows.append({"n": n, "method": method, "single_s": t1,
                         "per_vector_batched_s": tb / batch, "speedup": t1 / (tb / batch)})
            print(f"N={n:4d}  {method:6s} single {t1 * 1e3:8.2f} ms  batched per vector "
                  f"{tb / batch * 1e3:8.3f} ms  ({t1 / (tb / batch):.1f}x)", flush=True)
    return rows


def main() -> None:
    """Run the three parts and print/write the JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    args = ap.parse_args()
    ng_sizes = [16, 32] if args.quick else [32, 48, 64]
    big = [64, 128] if args.quick else [128, 256, 512]
    reps = 3
    batch = 16 if args.quick else 64
    out: dict = {"name": "crossbar_vs_ngspice"}
    if ngspice_available():
        print("part 1: lemsim vs ngspice (.op)")
        out["ngspice"] = part_ngspice(ng_sizes, reps)
    else:
        print("ngspice not installed: part 1 skipped")
        out["ngspice"] = []
    print("part 2: lemsim vs plain scipy spsolve of the full MNA system")
    out["spsolve"] = part_spsolve(big, 3)
    print(f"part 3: batched right-hand sides ({batch} vectors)")
    out["batch"] = part_batch([64, 256], batch, 3)
    ng64 = [r for r in out["ngspice"] if r["n"] == max(ng_sizes)]
    out["ratio"] = ng64[0]["ratio"] if ng64 else None
    out["ratio_definition"] = f"ngspice / lemsim time at N = {max(ng_sizes)}"
    out["max_rel_diff"] = max((r["max_rel_diff"] for r in out["ngspice"]), default=None)
    out["spsolve_ratio_largest"] = out["spsolve"][-1]["ratio"]
    out["goals"] = {"ngspice_ratio_n64_min": 1000, "max_rel_diff_max": 1e-9,
                    "spsolve_ratio_n512_min": 5}
    path = ROOT / "results" / "bench" / "crossbar_vs_ngspice.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
