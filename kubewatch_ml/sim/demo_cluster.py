"""`--demo` for the headless commands: a simulated ML cluster on loopback for the duration of a
block. The commands reach it only through its kubeconfig and exporter URLs, like a real cluster."""
from __future__ import annotations

import contextlib
import tempfile
from typing import Iterator

DEMO_SEED, DEMO_NODES, DEMO_PODS = 7, 40, 600


@contextlib.contextmanager
def demo_cluster(seed: int | None = None, nodes: int | None = None, pods: int | None = None,
                 start_clock: bool = False) -> Iterator[object]:
    from .cluster import SimCluster

    with tempfile.TemporaryDirectory(prefix="kubewatch-demo-") as workdir:
        with SimCluster(seed=DEMO_SEED if seed is None else seed, nodes=DEMO_NODES if nodes is None else nodes,
                        pods=DEMO_PODS if pods is None else pods, speed=1.0, workdir=workdir,
                        start_clock=start_clock) as sim:
            yield sim
