"""Per-service request load: a daily sine, deterministic noise and recurring bursts, all from the seed.
The HPA's CPU utilisation and its requests-per-second Pods metric both derive from this curve."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

DAY = 86400.0


@dataclass(frozen=True)
class LoadCurve:
    base_rps: float  # mean requests per second over the service
    seed: int
    start: float  # the scenario's start (simulated epoch seconds)
    amplitude: float = 0.3  # daily swing, relative to base
    phase: float = 0.0  # seconds into the day of the daily peak
    noise: float = 0.05  # relative, redrawn every 15 s
    burst_first: float = 600.0  # seconds after start of the first burst
    burst_every: float = 3600.0
    burst_len: float = 900.0
    burst_factor: float = 2.5  # load multiplier at the burst's peak

    def rps(self, t: float) -> float:
        daily = 1.0 + self.amplitude * math.sin(2 * math.pi * (t - self.phase) / DAY)
        step = int(t // 15)
        n = random.Random(self.seed * 1_000_003 + step).uniform(-1.0, 1.0) * self.noise
        return max(0.0, self.base_rps * daily * (1.0 + n) * self.burst(t))

    def burst(self, t: float) -> float:
        """1.0 outside a burst; a smooth hump up to burst_factor inside one."""
        if self.burst_factor <= 1.0 or self.burst_every <= 0:
            return 1.0
        since = t - self.start - self.burst_first
        if since < 0:
            return 1.0
        x = since % self.burst_every
        if x >= self.burst_len:
            return 1.0
        return 1.0 + (self.burst_factor - 1.0) * math.sin(math.pi * x / self.burst_len)


@dataclass(frozen=True)
class ServiceLoad:
    """How a Deployment's pods turn load into the HPA's metrics."""

    namespace: str
    deployment: str
    curve: LoadCurve
    rps_per_core: float  # requests per second one CPU core serves
    cpu_request: float  # cores requested per pod (the Utilization denominator)
    memory_request: float  # bytes
    custom_metric: str = ""  # Pods metric name served by the custom metrics API ("" = none)
    metric_missing: bool = False  # the HPA asks for a metric nobody serves

    def utilization(self, t: float, ready: int) -> float:
        """CPU utilisation in % of request per ready pod."""
        if ready <= 0:
            return 0.0
        return 100.0 * self.curve.rps(t) / self.rps_per_core / (ready * self.cpu_request)

    def rps_per_pod(self, t: float, ready: int) -> float:
        return self.curve.rps(t) / ready if ready > 0 else 0.0
