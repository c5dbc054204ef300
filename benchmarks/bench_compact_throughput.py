"""Benchmark: compact-model device updates per second (issue 5).

Unit of work per device: one pulse update (5 V, 30 ms, both trap populations) plus current and
light evaluation at the read voltage, by the fused Numba kernel
(:func:`compact_model.kernels.pulse_read`; float32 states run in float32 arithmetic). Peers,
measured in the same run, interleaved, several repetitions, medians:

* ``numpy copy``: ``np.copyto`` of the same state arrays, the memory-bandwidth bound. The ratio
  compares effective bandwidths: the kernel reads 2 and writes 4 arrays per update; a copy
  reads 1 and writes 1 array.
* ``numpy reference``: :mod:`compact_model.reference` (step, current, light) on the same
  arrays.

Goals: kernel bandwidth >= 0.5 of the copy bandwidth; >= 20x the numpy reference.
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
                    "numba_threads": numba.get_num_threads()}
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(0)
        ws = rng.uniform(0, 0.5, n).astype(dtype)
        wf = rng.uniform(0, PAPER.f_fast, n).astype(dtype)
        out = tuple(np.empty_like(ws) for _ in range(4))
        cp = [np.empty_like(ws), np.empty_like(ws)]
        c = kernels.pulse_read_consts(5.0, 0.03, 4.0, pk, dtype)
        kernels.pulse_read_parallel(ws[:10], wf[:10], c, *(o[:10] for o in out))  # compile
        v1, u1, k1, x1 = np.array([5.0]), np.zeros(1), np.ones(1), np.zeros(1)
        kernels.step(ws[:10], wf[:10], v1, u1, 0.03, pk, k1, x1, 0.0)  # compile
        t_k, t_c, t_r, t_u, t_rs = [], [], [], [], []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            kernels.step(ws, wf, v1, u1, 0.03, pk, k1, x1, 0.0, out_s=out[0], out_f=out[1])
            t_u.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            kernels.pulse_read(ws, wf, 5.0, 0.03, 4.0, pk, out=out)
            t_k.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            np.copyto(cp[0], ws)
            np.copyto(cp[1], wf)
            t_c.append(time.perf_counter() - t0)
            if dtype is np.float64 and len(t_r) < 3:  # the reference is slow: 3 reps suffice
                t0 = time.perf_counter()
                s, f = reference.step(ws, wf, 5.0, 0.0, 0.03, pk)
                t_rs.append(time.perf_counter() - t0)
                w = s + f
                reference.current(4.0, w, pk)
                reference.light(4.0, w, pk)
                t_r.append(time.perf_counter() - t0)
        item = np.dtype(dtype).itemsize
        tk, tc = statistics.median(t_k), statistics.median(t_c)
        bw_k = 6 * n * item / tk  # 2 arrays read, 4 written
        bw_c = 4 * n * item / tc  # 2 arrays read, 2 written
        name = np.dtype(dtype).name
        rows[f"numba fused ({name})"] = (tk, n / tk, bw_k)
        rows[f"numpy copy ({name})"] = (tc, 2 * n / tc, bw_c)
        tu = statistics.median(t_u)
        bw_u = 4 * n * item / tu  # update only: 2 arrays read, 2 written
        rows[f"numba update only ({name})"] = (tu, n / tu, bw_u)
        result[f"bandwidth_ratio_update_only_{name}"] = bw_u / bw_c
        result[f"bandwidth_ratio_{name}"] = bw_k / bw_c
        result[f"updates_per_s_{name}"] = n / tk
        if t_r:
            tr = statistics.median(t_r)
            rows[f"numpy reference ({name})"] = (tr, n / tr, float("nan"))
            trs = statistics.median(t_rs)
            rows[f"numpy reference update ({name})"] = (trs, n / trs, float("nan"))
            result["speedup_vs_reference"] = tr / tk
            result["speedup_update_only_vs_reference"] = trs / tu
        del ws, wf, out, cp
    print(f"{'variant':28s} {'median s':>10s} {'items/s':>12s} {'GB/s':>8s}")
    for k, (t, rate, bw) in rows.items():
        print(f"{k:28s} {t:10.4f} {rate:12.3e} {bw / 1e9:8.2f}")
    result["ratio"] = result["speedup_vs_reference"]
    result["goal_speedup"] = 20.0
    result["goal_bandwidth_ratio"] = 0.5
    result["meets_goals"] = bool(result["speedup_vs_reference"] >= 20.0
                                 and result["bandwidth_ratio_float64"] >= 0.5)
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
