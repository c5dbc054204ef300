"""Benchmark: compact-model device updates per second.

Unit of work per device: one pulse update (5 V, 30 ms, both trap populations) plus current and
light evaluation at the read voltage, by the fused Numba kernel
(:func:`compact_model.kernels.pulse_read`: the states advance in place, as in a simulation, and
I and L are written; float64 states use the table-and-polynomial power ``g**gamma_l`` of
:func:`compact_model.fastmath.fpow_ge1`, float32 states run exp/log in float32 arithmetic).
Peers, measured in the same run, interleaved, several repetitions, medians (wall clock; the
CPU seconds of the process, summed over threads, are printed beside as a load-robust
companion):

* ``numpy copy``: ``np.copyto(I, ws); np.copyto(L, wf)`` on the very arrays the kernel uses
  (it reads the two state arrays the kernel reads and writes the two output arrays the kernel
  writes; single-threaded, as numpy is), the memory-bandwidth bound.
* ``numpy reference``: :mod:`compact_model.reference` (step, current, light) on the same
  arrays.

What is counted (``n`` devices, ``b`` bytes per element): the kernel moves ``6 n b`` bytes per
call (reads ``ws``, ``wf``; writes ``ws``, ``wf``, ``I``, ``L``), the copy ``4 n b`` (reads
``ws``, ``wf``; writes ``I``, ``L``); bandwidth = bytes / median wall time, and the ratio is
kernel bandwidth / copy bandwidth = ``1.5 t_copy / t_kernel``. (Counted as array passes, not
DRAM traffic: the kernel's write-allocate reads of ``I`` and ``L`` are not counted for it,
while memcpy's large copies use streaming stores that need none, so the count does not favour
the kernel.) ``update only`` times :func:`compact_model.kernels.step` alone (reads 2, writes 2
separate arrays: ``4 n b``).

Goals: kernel bandwidth >= 0.5 of the copy bandwidth; >= 20x the numpy reference.
``meets_goals`` judges the float64 kernel (the reference's precision); ``meets_goals_float32``
the float32 kernel (float32 states, float32 arithmetic) against the same reference and the
float32 copy. Output arrays are touched
before timing (steady-state throughput, no first-touch page faults). The box's 1-minute load
average before and after the run is recorded: on a shared machine the medians move with it.
Usage: ``python benchmarks/bench_compact_throughput.py [--n 10000000] [--reps 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000, help="number of devices")
    ap.add_argument("--reps", type=int, default=5, help="repetitions (median)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="Numba threads")
    ap.add_argument("--out", default="results/bench/compact_throughput.json")
    args = ap.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", str(args.threads))

    import numba
    import numpy as np

    from compact_model import kernels, reference
    from compact_model.params import pack
    from compact_model.presets import PAPER

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    pk = pack(PAPER)
    n = args.n
    rows = {}
    result: dict = {"name": "compact_throughput", "n_devices": n,
                    "numba_threads": numba.get_num_threads(),
                    "load_avg_1min_before": os.getloadavg()[0]}
    def timed(fn, *a, **kw) -> tuple[float, float]:
        """(wall, process CPU) seconds of one call; CPU time sums all threads."""
        w0, c0 = time.perf_counter(), time.process_time()
        fn(*a, **kw)
        return time.perf_counter() - w0, time.process_time() - c0

    ref_wall = float("nan")

    def med(ts, k=0):
        return statistics.median(x[k] for x in ts)

    def copy(out, ws, wf):
        np.copyto(out[2], ws)  # the arrays the kernel reads (ws, wf) and writes (I, L)
        np.copyto(out[3], wf)

    def ref(ws, wf):
        s, f = reference.step(ws, wf, 5.0, 0.0, 0.03, pk)
        w = s + f
        reference.current(4.0, w, pk)
        reference.light(4.0, w, pk)

    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(0)
        ws = rng.uniform(0, 0.5, n).astype(dtype)
        wf = rng.uniform(0, PAPER.f_fast, n).astype(dtype)
        out = tuple(np.zeros_like(ws) for _ in range(4))  # touched: no page faults when timed
        v1, u1, k1, x1 = np.array([5.0]), np.zeros(1), np.ones(1), np.zeros(1)
        small = (ws[:10].copy(), wf[:10].copy())
        kernels.pulse_read(*small, 5.0, 0.03, 4.0, pk, out=(*small, out[2][:10], out[3][:10]))
        kernels.step(ws[:10], wf[:10], v1, u1, 0.03, pk, k1, x1, 0.0)  # compile
        fused = (ws, wf, out[2], out[3])  # states advance in place, I and L written

        t_k, t_c, t_r, t_u, t_rs = [], [], [], [], []
        for _ in range(args.reps):
            t_u.append(timed(kernels.step, ws, wf, v1, u1, 0.03, pk, k1, x1, 0.0,
                             out_s=out[0], out_f=out[1]))
            t_k.append(timed(kernels.pulse_read, ws, wf, 5.0, 0.03, 4.0, pk, out=fused))
            t_c.append(timed(copy, out, ws, wf))
            if dtype is np.float64 and len(t_r) < 3:  # the reference is slow: 3 reps suffice
                t_rs.append(timed(reference.step, ws, wf, 5.0, 0.0, 0.03, pk))
                t_r.append(timed(ref, ws, wf))
        item = np.dtype(dtype).itemsize
        tk, tc, tu = med(t_k), med(t_c), med(t_u)
        bw_k = 6 * n * item / tk  # ws, wf read; ws, wf, I, L written
        bw_c = 4 * n * item / tc  # ws, wf read; I, L written
        bw_u = 4 * n * item / tu  # update only: 2 arrays read, 2 written
        name = np.dtype(dtype).name
        rows[f"numba fused, in place ({name})"] = (tk, n / tk, bw_k, med(t_k, 1))
        rows[f"numpy copy ({name})"] = (tc, 2 * n / tc, bw_c, med(t_c, 1))
        rows[f"numba update only ({name})"] = (tu, n / tu, bw_u, med(t_u, 1))
        result[f"bandwidth_ratio_update_only_{name}"] = bw_u / bw_c
        result[f"bandwidth_ratio_{name}"] = bw_k / bw_c
        result[f"updates_per_s_{name}"] = n / tk
        if dtype is np.float32:  # the reference computes in float64 whatever the input
            result["speedup_vs_reference_float32"] = ref_wall / tk
        if t_r:
            tr, trs = med(t_r), med(t_rs)
            rows[f"numpy reference ({name})"] = (tr, n / tr, float("nan"), med(t_r, 1))
            rows[f"numpy reference update ({name})"] = (trs, n / trs, float("nan"),
                                                        med(t_rs, 1))
            result["speedup_vs_reference"] = tr / tk
            ref_wall = tr
            result["speedup_update_only_vs_reference"] = trs / tu
            # load-robust companion: CPU seconds of the reference per CPU second of the kernel
            result["cpu_time_ratio_reference_to_kernel"] = med(t_r, 1) / med(t_k, 1)
        del ws, wf, out, fused
    print(f"load average (1 min): {result['load_avg_1min_before']:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after; {result['numba_threads']} Numba threads")
    print(f"{'variant':34s} {'median s':>9s} {'items/s':>10s} {'GB/s':>7s} {'CPU s':>8s}")
    for k, (t, rate, bw, cpu) in rows.items():
        print(f"{k:34s} {t:9.4f} {rate:10.3e} {bw / 1e9:7.2f} {cpu:8.4f}")
    result["load_avg_1min_after"] = os.getloadavg()[0]
    result["ratio"] = result["speedup_vs_reference"]
    result["goal_speedup"] = 20.0
    result["goal_bandwidth_ratio"] = 0.5
    result["float64_power"] = ("table+polynomial (fastmath.fpow_ge1)"
                               if kernels.fused_pow_table(pk) is not None else "exp/log")
    result["meets_goals"] = bool(result["speedup_vs_reference"] >= 20.0
                                 and result["bandwidth_ratio_float64"] >= 0.5)
    result["meets_goals_float32"] = bool(result["speedup_vs_reference_float32"] >= 20.0
                                         and result["bandwidth_ratio_float32"] >= 0.5)
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
