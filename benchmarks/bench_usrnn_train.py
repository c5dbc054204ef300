"""Benchmark: training throughput of the hardware-aware USRNN against its digital twin (issue 8).

Unit of work: one training step (forward, L1 loss, backward, Adam update) of the 133-layer ×2
USRNN on a batch of LR patches. The hardware-aware network (every conv an ``AnalogConv2d`` on
N-LEM pairs with quantised weights, programming/read noise, DAC/ADC and the I-V curve; every
skip an ``OpticalSkip``) and its digital twin (plain convs, identity skips, same shapes) are
timed in the same process, interleaved, several repetitions; patches/s are medians.
Goal: hardware-aware at most 1.5× slower (ratio = twin patches/s ÷ hardware patches/s).
Usage: ``python benchmarks/bench_usrnn_train.py [--channels 16] [--patch 48] [--batch 8]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--channels", type=int, default=16, help="USRNN width (default scale: 16)")
    ap.add_argument("--patch", type=int, default=48, help="LR patch side in pixels")
    ap.add_argument("--batch", type=int, default=8, help="patches per step")
    ap.add_argument("--steps", type=int, default=2, help="steps per repetition")
    ap.add_argument("--reps", type=int, default=3, help="repetitions (median)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--out", default="results/bench/usrnn_train.json")
    args = ap.parse_args()

    import torch

    from networks.archs import build_model
    from networks.layers import HardwareConfig

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
    for _ in range(args.reps):
        for name in models:  # interleaved
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step(name)
            times[name].append((time.perf_counter() - t0) / args.steps)
    pps = {k: args.batch / statistics.median(v) for k, v in times.items()}
    ratio = pps["digital twin"] / pps["hardware-aware"]
    print(f"{'network':16s} {'patches/s':>10s} {'s/step':>8s}")
    for k, v in pps.items():
        print(f"{k:16s} {v:10.2f} {args.batch / v:8.3f}")
    print(f"hardware-aware is {ratio:.2f}x slower (goal <= 1.5x)")
    result = {"name": "usrnn_train", "ratio": ratio, "goal": 1.5, "meets_goal": ratio <= 1.5,
              "unit": "twin patches/s / hardware patches/s",
              "patches_per_s_hardware": pps["hardware-aware"],
              "patches_per_s_digital": pps["digital twin"], "channels": args.channels,
              "patch": args.patch, "batch": args.batch, "threads": args.threads,
              "reps": args.reps, "steps_per_rep": args.steps}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
