"""Benchmark: SimCluster start-up (scenario build, store load, dynamics index, API + exporters up),
RSS after start, and the cost of one 15 s dynamics step, at a given size.

    .venv/bin/python bench/sim_start.py --nodes 5000 --pods 150000 [--ticks 8]
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from kubewatch_ml.sim.cluster import SimCluster  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--ticks", type=int, default=8, help="dynamics steps to time after start")
    a = ap.parse_args()
    rss0 = rss_mb()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with SimCluster(seed=a.seed, nodes=a.nodes, pods=a.pods, start_clock=False, workdir=tempfile.mkdtemp()) as sim:
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        rss = rss_mb()
        steps = []
        for _ in range(a.ticks):
            t = time.perf_counter()
            sim.advance(15)
            steps.append(time.perf_counter() - t)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
              f"load average {os.getloadavg()[0]:.1f}")
        print(f"size: {a.nodes} nodes, {sim.store.count('pods')} pods (seed {a.seed})")
        print(f"start: wall {wall:.1f} s (scenario {sim.timings['scenario_s']:.1f} s, store+index {sim.timings['load_s'] - sim.timings['scenario_s']:.1f} s, "
              f"servers {sim.timings['start_s'] - sim.timings['load_s']:.2f} s), CPU {cpu:.1f} s")
        print(f"RSS after start: {rss:.0f} MB (interpreter before: {rss0:.0f} MB)")
        print(f"dynamics step (15 s simulated): median {statistics.median(steps):.2f} s, max {max(steps):.2f} s over {len(steps)}; "
              f"stats {sim.dynamics.stats}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
