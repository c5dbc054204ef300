"""Benchmark: N-LEM analog layers against the plain torch layers (forward + backward).

``AnalogConv2d`` vs ``nn.Conv2d`` (64 → 64, 3×3, padding 1, batch 16, 32×32) and
``AnalogLinear`` vs ``nn.Linear`` (1024 → 1024, batch 256), in the same process, interleaved,
several repetitions, medians. The analog layers run with the default hardware (15 levels per
sign, programming and read noise, 8-bit DAC with I-V pre-distortion, 8-bit ADC) in training
mode (the array is programmed, quantisation + programming noise, once per weight value; read
noise, DAC and ADC on every forward). Rows ``+sgd`` add an in-place SGD update of both layers
after each backward (the analog layer then re-programs its weights every step, as in
training; without it the programmed weights stay cached). Goal: overhead ≤ 1.5×
(the best existing analog simulators measure 5-8× on this case). ``ratio`` / ``ratio_linear``
are wall-clock ratios with ``--threads`` torch threads (default 2, the whole box); the
``*_cpu1`` fields repeat every row with one thread timed by the thread's CPU time, which load
from other processes on a shared machine inflates much less (with two threads on a loaded
2-core box every parallel op waits for a second core). ``load_avg`` is the 1-minute load
average before and after the run. Last line: one JSON object, also written to
``results/bench/analog_layer.json``.

Usage: ``python benchmarks/bench_analog_layer.py [--reps 15] [--threads 2] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from networks.layers import AnalogConv2d, AnalogLinear, HardwareConfig

_CLOCK = time.perf_counter


def _step(layer: nn.Module, x: torch.Tensor, sgd: bool = False) -> float:
    t = _CLOCK()
    layer.zero_grad(set_to_none=True)
    x.grad = None
    layer(x).square().mean().backward()
    if sgd:  # in-place update: the analog layer must re-quantise its weights next step
        with torch.no_grad():
            for prm in layer.parameters():
                prm.add_(prm.grad, alpha=-1e-6)
    return _CLOCK() - t


def _pair_times(ref: nn.Module, ana: nn.Module, x: torch.Tensor, reps: int,
                sgd: bool = False) -> tuple[float, float]:
    for _ in range(3):  # warm-up (allocator, MKL-DNN primitives, LUT caches)
        _step(ref, x, sgd)
        _step(ana, x, sgd)
    tr, ta = [], []
    for i in range(reps):  # interleaved, alternating who goes first
        if i % 2:
            tr.append(_step(ref, x, sgd))
            ta.append(_step(ana, x, sgd))
        else:
            ta.append(_step(ana, x, sgd))
            tr.append(_step(ref, x, sgd))
    return statistics.median(tr), statistics.median(ta)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark and return the result object."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="results/bench/analog_layer.json")
    args = p.parse_args(argv)
    global _CLOCK
    load0 = os.getloadavg()[0]
    torch.manual_seed(0)
    hw = HardwareConfig()
    cases = {
        "conv2d 64-64 3x3 b16 32x32": (
            nn.Conv2d(64, 64, 3, padding=1), AnalogConv2d(64, 64, 3, padding=1, hw=hw),
            torch.randn(16, 64, 32, 32, requires_grad=True)),
        "linear 1024-1024 b256": (
            nn.Linear(1024, 1024), AnalogLinear(1024, 1024, hw=hw),
            torch.randn(256, 1024, requires_grad=True)),
    }
    for ref, ana, _ in cases.values():
        ana.load_state_dict(ref.state_dict(), strict=False)
        ana.train()
    runs = {}
    for label, threads, clock in (("wall", args.threads, time.perf_counter),
                                  ("cpu1", 1, time.thread_time)):
        torch.set_num_threads(threads)
        _CLOCK = clock
        rows = {}
        for name, (ref, ana, x) in cases.items():
            rows[name] = _pair_times(ref, ana, x, args.reps)
        # The same with an SGD update after each backward (both layers): a real training
        # step, in which the analog layer's programmed weights are invalidated every step.
        for name, (ref, ana, x) in cases.items():
            rows[name + " +sgd"] = _pair_times(ref, ana, x, args.reps, sgd=True)
        runs[label] = rows
        print(f"{'case (' + label + ', ' + str(threads) + ' thr)':34s} {'torch ms':>10s} "
              f"{'analog ms':>10s} {'ratio':>7s}")
        for name, (tr, ta) in rows.items():
            print(f"{name:34s} {1e3 * tr:10.2f} {1e3 * ta:10.2f} {ta / tr:7.2f}")
    (tc, ac), (tl, al), (tcs, acs), (tls, als) = runs["wall"].values()
    (tc1, ac1), (tl1, al1), (tcs1, acs1), (tls1, als1) = runs["cpu1"].values()
    result = {"name": "analog_layer", "ratio": ac / tc, "ratio_linear": al / tl,
              "ratio_conv_sgd": acs / tcs, "ratio_linear_sgd": als / tls,
              "ratio_cpu1": ac1 / tc1, "ratio_linear_cpu1": al1 / tl1,
              "ratio_conv_sgd_cpu1": acs1 / tcs1, "ratio_linear_sgd_cpu1": als1 / tls1,
              "torch_conv_s": tc, "analog_conv_s": ac, "torch_linear_s": tl,
              "analog_linear_s": al, "reps": args.reps, "threads": args.threads,
              "load_avg": [load0, os.getloadavg()[0]],
              "goal_ratio": 1.5, "meets_goal": bool(max(ac / tc, al / tl) <= 1.5)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
