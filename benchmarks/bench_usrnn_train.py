"""Benchmark: training throughput of the hardware-aware USRNN against its digital twin.

Unit of work: one training step (forward, L1 loss, backward, Adam update) of the 133-layer ×2
USRNN on a batch of LR patches. The hardware-aware network (every conv an ``AnalogConv2d`` on
N-LEM pairs with quantised weights, programming/read noise, DAC/ADC and the I-V curve; every
skip an ``OpticalSkip``) and its digital twin (plain convs, identity skips, same shapes) are
timed in the same process, interleaved, several repetitions; patches/s are medians.
Goal: hardware-aware at most 1.5× slower (ratio = twin patches/s ÷ hardware patches/s).
The ratio uses the CPU time of the timing thread (``--clock cpu``, the default; with one torch
thread all the work runs in it), which a shared, loaded machine does not inflate the way it
inflates wall time; the wall-clock ratio is reported beside it, and ``load_avg`` the 1-minute
load average before and after the timed repetitions (one step per repetition by default, the
two networks in alternating order).
Usage: ``python benchmarks/bench_usrnn_train.py [--channels 16] [--patch 24] [--batch 32]``
(the default-scale training batch: 32 LR patches of 24 px).
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
    ap.add_argument("--channels", type=int, default=16, help="USRNN width (default scale: 16)")
    ap.add_argument("--patch", type=int, default=24, help="LR patch side in pixels")
    ap.add_argument("--batch", type=int, default=32, help="patches per step")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="time of the ratio: thread CPU time (needs --threads 1) or wall time")
    ap.add_argument("--steps", type=int, default=1, help="steps per repetition")
    ap.add_argument("--reps", type=int, default=9, help="repetitions (median)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--out", default="results/bench/usrnn_train.json")
    args = ap.parse_args()

    import torch

    from networks.archs import build_model
    from networks.layers import HardwareConfig

    if args.clock == "cpu" and args.threads != 1:
        raise ValueError(f"--threads = {args.threads}: --clock cpu needs 1 thread")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    lr = torch.rand(args.batch, 3, args.patch, args.patch)
    hr = torch.rand(args.batch, 3, 2 * args.patch, 2 * args.patch)
    models = {"digital twin": build_model("usrnn", scale=2, channels=args.channels),
              "hardware-aware": build_model("usrnn", scale=2, channels=args.channels,
                                            hw=HardwareConfig(seed=0))}
    opts = {k: torch.optim.Adam(m.parameters(), lr=1e-4) for k, m in models.items()}

    def step(name: str) -> None:
        m, opt = models[name], opts[name]
        loss = (m(lr) - hr).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for name in models:  # warm-up (allocations, LUTs)
        step(name)
    times: dict[str, list[float]] = {k: [] for k in models}
    walls: dict[str, list[float]] = {k: [] for k in models}
    load0 = os.getloadavg()[0]
    names = list(models)
    for rep in range(args.reps):
        for name in (names if rep % 2 else names[::-1]):  # interleaved, alternating order
            t0, c0 = time.perf_counter(), time.thread_time()
            for _ in range(args.steps):
                step(name)
            walls[name].append((time.perf_counter() - t0) / args.steps)
            times[name].append((time.thread_time() - c0) / args.steps)
    if args.clock == "wall":
        times = walls
    pps = {k: args.batch / statistics.median(v) for k, v in times.items()}
    ratio = pps["digital twin"] / pps["hardware-aware"]
    ratio_wall = statistics.median(walls["hardware-aware"]) / statistics.median(
        walls["digital twin"])
    print(f"{'network':16s} {'patches/s':>10s} {'s/step':>8s}  ({args.clock} time)")
    for k, v in pps.items():
        print(f"{k:16s} {v:10.2f} {args.batch / v:8.3f}")
    print(f"hardware-aware is {ratio:.2f}x slower by {args.clock} time, {ratio_wall:.2f}x by "
          "wall time (goal <= 1.5x)")
    result = {"name": "usrnn_train", "ratio": ratio, "goal": 1.5, "meets_goal": ratio <= 1.5,
              "unit": "twin patches/s / hardware patches/s", "clock": args.clock,
              "ratio_wall": ratio_wall,
              "patches_per_s_hardware": pps["hardware-aware"],
              "patches_per_s_digital": pps["digital twin"], "channels": args.channels,
              "patch": args.patch, "batch": args.batch, "threads": args.threads,
              "reps": args.reps, "steps_per_rep": args.steps,
              "load_avg": [load0, os.getloadavg()[0]]}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
