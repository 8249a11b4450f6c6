"""The measured half of the dynamics: per-GPU utilisation, memory, power, temperature and energy from
what holds each GPU (training busy, notebooks idle, stalled jobs idle with memory held, serving following
its load), and per-container CPU seconds, working set and successful probes over a bounded slice of
containers per step (exact at update time; counters only grow). A mixin of Dynamics (dynamics.py)."""
from __future__ import annotations

import random
import zlib
from typing import Any

from .dynamics_state import STEP, OwnerKey, PodInfo


class Readings:
    # --- telemetry -------------------------------------------------------------------------------------------
    def _telemetry_step(self) -> None:
        t = self.telemetry
        now = self.now
        dt_gpu = max(0.0, now - self._gpu_last)
        self._gpu_last = now
        models = self.scenario.builder.gpu_models
        with t.lock:
            for (node, _), dev in t.gpus.items():
                target, fb_frac = self._gpu_target(dev)
                r = random.Random(zlib.crc32(f"{dev.uuid}/{dev.mig_instance}/{int(now // STEP)}".encode()))
                dev.util = max(0.0, min(100.0, 0.6 * dev.util + 0.4 * target + r.uniform(-2, 2) * (target > 5)))
                if target < 5:
                    dev.util = min(dev.util, 4.0)
                m = models.get(node)
                idle, mx = (m.idle_w, m.max_w) if m else (50.0, 300.0)
                if dev.mig_profile:
                    share = int(dev.mig_profile.split("g.")[0]) / 7.0
                    idle, mx = idle * share, mx * share
                dev.power_w = round(idle + (mx - idle) * dev.util / 100.0 + r.uniform(-1, 1), 3)
                dev.fb_used_mib = float(int(dev.fb_total_mib * fb_frac)) if dev.holder else 0.0
                dev.temp_c = round(30.0 + dev.util * 0.45 + r.uniform(-0.5, 0.5), 1)
                dev.energy_mj += dev.power_w * dt_gpu * 1000.0
            self._containers_step()

    def _gpu_target(self, dev: Any) -> tuple[float, float]:
        if dev.holder is None:
            return 0.0, 0.0
        ns, pod, _ = dev.holder
        info = self.pods.get((ns, pod))
        plan = self.plans.get(info.owner) if info and info.owner else self.plans.get((ns, "Pod", pod))
        use = plan.gpu_use if plan else "train"
        if info is None or info.state not in ("running", "ready"):
            return 0.0, 0.05
        if use == "train":
            return 93.0, 0.9
        if use == "eval":
            return 55.0, 0.6
        if use == "notebook":
            return 1.5, 0.18
        if use == "stalled":
            return 0.5, 0.72
        if use == "serve" and info.owner:
            dep = self._deployment_of(info.owner)
            load = self.loads.get((ns, dep)) if dep else None
            if load:
                return min(97.0, 15.0 + 0.9 * 100.0 * self._busy(info, self._tick_cache)), 0.7
        return 50.0, 0.7

    def _deployment_of(self, owner: OwnerKey) -> str:
        if owner[1] != "ReplicaSet":
            return ""
        return owner[2].rsplit("-", 1)[0]

    def _containers_step(self) -> None:
        """CPU seconds and memory over a bounded slice of containers per step (exact at update time)."""
        t = self.telemetry
        keys = self._telemetry_keys
        n = len(keys)
        if not n:
            return
        chunk = n if n <= 20000 else max(20000, n // 8)
        i = self._telemetry_cursor
        end = min(n, i + chunk)
        cpu, mem, last = t.container_cpu_seconds, t.container_memory_bytes, self._last_telemetry
        util_cache = self._tick_cache
        pc = t.probe_counts
        rnd = self.rng.random
        for j in range(i, end):
            k = keys[j]
            if k not in cpu:
                continue
            ns, pod, cname = k
            info = self.pods.get((ns, pod))
            if info is None:
                continue
            dt = self.now - last.get(k, self.now)
            last[k] = self.now
            if info.state not in ("running", "ready") or dt <= 0:
                continue
            cores = info.req.get("cpu", 0.1) or 0.1
            busy = self._busy(info, util_cache)
            cpu[k] = cpu[k] + cores * busy * dt
            target = (info.req.get("memory", 268435456.0) or 268435456.0) * (0.45 + 0.3 * min(1.0, busy))
            mem[k] = float(int(mem[k] * 0.9 + target * 0.1)) if mem[k] else float(int(target * 0.8))
            # successful probes since the last update, one per 10 s period (counters only grow)
            n_probes = int(dt / 10.0 + rnd())
            for probe in ("Liveness", "Readiness"):
                pk = (ns, pod, cname, probe, "successful")
                if pk in pc:
                    pc[pk] += n_probes
        self._telemetry_cursor = 0 if end >= n else end
        if self._stale > max(1000, n // 10) and self._telemetry_cursor == 0:
            # compact the key list once deleted pods' keys pile up (only between full passes)
            self._telemetry_keys = [k for k in keys if k in cpu]
            self._stale = 0

    def _busy(self, info: PodInfo, cache: dict) -> float:
        if info.owner is None:
            return 0.05
        b = cache.get(info.owner)
        if b is None:
            plan = self.plans.get(info.owner)
            dep = self._deployment_of(info.owner)
            load = self.loads.get((info.owner[0], dep)) if dep else None
            if load:
                ready, _, _ = self._ready_counts(info.owner)
                b = min(2.0, load.utilization(self.now, max(1, ready)) / 100.0)
            else:
                b = plan.cpu_busy if plan else 0.3
            cache[info.owner] = b
        return b
