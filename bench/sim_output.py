"""Reading `kubewatch-ml sim`'s start-up output (shared by the benchmarks that run it in its own process)."""
from __future__ import annotations

import re
from typing import Iterable


def read_exporter_urls(lines: Iterable[str]) -> dict[str, str] | None:
    """The exporter URLs `sim` prints ({"kube-state-metrics": url, ...}), read up to its kubeconfig line;
    None when the output ended first (the simulator exited before it was ready)."""
    urls: dict[str, str] = {}
    for line in lines:
        m = re.match(r"([\w-]+):\s+(http\S+)", line)
        if m and m.group(1) != "API server":
            urls[m.group(1)] = m.group(2)
        if line.startswith("kubeconfig:"):
            return urls
    return None
