"""Metrics without Prometheus: scrape kube-state-metrics, dcgm-exporter and the kubelet
(/metrics/probes, /metrics/cadvisor) directly, parse with prometheus_client's parser
(queries/exposition.py), and compute what the catalog's queries would answer, keeping a bounded
in-memory history for what needs one (CPU rate, increases, 30-minute GPU average, HPA history).

With less history than a query needs, the number says so: util_avg_30m is None until the GPU has
been watched for the whole idle window; CPU usage appears from the second scrape on.
"""
from __future__ import annotations

import collections
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import requests

from ..metrics_snapshot import AREAS, MetricsSnapshot
from ..queries.catalog import AREA_EXPORTER
from ..queries.exposition import ExpositionError, Samples, parse_exposition, select
from ..queries.results import BUILDERS, AreaMemory, Rows, Series, assemble, gpu_key
from .prometheus import fault_reason

EXPORTERS = ("kube-state-metrics", "dcgm", "probes", "cadvisor")
# The samples direct mode reads from each exporter; the rest of the text is skipped unparsed.
NEEDED: dict[str, frozenset[str]] = {
    "kube-state-metrics": frozenset({
        "kube_resourcequota", "kube_horizontalpodautoscaler_status_current_replicas",
        "kube_horizontalpodautoscaler_status_desired_replicas", "kube_horizontalpodautoscaler_spec_min_replicas",
        "kube_horizontalpodautoscaler_spec_max_replicas", "kube_pod_container_status_restarts_total",
        "kube_horizontalpodautoscaler_spec_target_metric", "kube_horizontalpodautoscaler_status_target_metric",
        "kube_pod_container_status_waiting_reason"}),
    "dcgm": frozenset({"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE",
                       "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_XID_ERRORS"}),
    "probes": frozenset({"prober_probe_total"}),
    "cadvisor": frozenset({"container_cpu_usage_seconds_total", "container_memory_working_set_bytes"}),
}


@dataclass
class Endpoint:
    """One exporter's /metrics: `get()` returns the body (or one per node) or raises; `where` names it."""
    where: str
    get: Callable[[], "bytes | list[bytes]"]


class EndpointError(Exception):
    """An exporter answered, but not with metrics (HTTP error); the message is one line."""


class EndpointMissing(EndpointError):
    """Not a fault: the way to the exporter does not exist or is not allowed (404/403 on a proxy).
    The message is the area's whole reason and starts with "no " (headless treats that as not set up)."""


def http_endpoint(url: str, timeout: float, session: requests.Session | None = None) -> Endpoint:
    s = session or requests.Session()

    def get() -> bytes:
        r = s.get(url, timeout=timeout, headers={"Accept": "text/plain;version=0.0.4"})
        if r.status_code != 200:
            raise EndpointError(f"HTTP {r.status_code}")
        return r.content
    return Endpoint(url, get)


def _add_point(d: collections.deque, point: tuple, step: float) -> None:
    """Append, but at most one point per `step`: the newest point moves forward until it is a step
    past its predecessor, then stays, so the last point is always the latest reading."""
    if len(d) >= 2 and point[0] - d[-2][0] < step:
        d[-1] = point
    else:
        d.append(point)


def merge_bodies(body: bytes | list[bytes], only: frozenset[str] | None = None) -> Samples:
    """One exporter's text, or several (one per node of a DaemonSet) merged."""
    if not isinstance(body, list):
        return parse_exposition(body, only)
    merged: Samples = {}
    for b in body:
        for name, rows in parse_exposition(b, only).items():
            merged.setdefault(name, []).extend(rows)
    return merged


def http_endpoints(urls: list[str], timeout: float, session: requests.Session | None = None) -> Endpoint:
    """Several URLs scraped as one exporter (a kubelet per node)."""
    if len(urls) == 1:
        return http_endpoint(urls[0], timeout, session)
    parts = [http_endpoint(u, timeout, session) for u in urls]
    return Endpoint(f"{len(urls)} URLs ({urls[0]}, ...)", lambda: [p.get() for p in parts])


class _Counter:
    """A counter's values over a window, stored only when they change (bounded memory)."""
    __slots__ = ("points",)

    def __init__(self):
        self.points: collections.deque[tuple[float, float]] = collections.deque()

    def add(self, t: float, v: float, window: float) -> None:
        p = self.points
        if not p or p[-1][1] != v:
            p.append((t, v))
        while len(p) > 1 and p[1][0] <= t - window:  # keep one point at or before the window start
            p.popleft()

    def increase(self) -> float:
        """Growth within the window (counter resets count as growth from 0)."""
        total, prev = 0.0, None
        for _, v in self.points:
            if prev is not None:
                total += v - prev if v >= prev else v
            prev = v
        return total


class ScrapeMetrics:
    def __init__(self, endpoints: dict[str, Endpoint], timeout: float = 10.0, idle_window: float = 1800.0,
                 history_seconds: float = 1800.0, history_points: int = 30, hpa_points: int = 120,
                 stale_after: float = 300.0, label: str | None = None):
        self.endpoints = endpoints
        self.timeout = timeout
        self.idle_window = idle_window
        self.history_seconds = history_seconds
        # per GPU: a sparkline's worth of points (thousands of GPUs); per HPA: finer
        self.history_step = history_seconds / history_points
        self.history_points = history_points
        self.hpa_step = history_seconds / hpa_points
        self.hpa_points = hpa_points
        self.memory = AreaMemory(stale_after)
        self.label = label or "direct scrape: " + (", ".join(endpoints) or "nothing")  # describe(): where from
        self.source = "direct scrape: " + (", ".join(endpoints) or "nothing")  # MetricsSnapshot.source: short
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="scrape")
        # history
        self._cpu: dict[tuple, tuple[float, float, float | None, float | None]] = {}  # key -> (t, v, prev_t, prev_v)
        self._probe_fail: dict[tuple, _Counter] = {}
        self._restarts: dict[tuple, _Counter] = {}
        self._crashloop_seen: dict[tuple, float] = {}
        self._gpu_util: dict[tuple, collections.deque] = {}  # key -> deque[(t, util)]
        self._gpu_first: dict[tuple, float] = {}
        self._hpa: dict[tuple, collections.deque] = {}  # key -> deque[(t, cur, des, min, max)]

    def describe(self) -> str:
        return self.label

    # --- one refresh ----------------------------------------------------------------------
    def fetch(self, now: float) -> MetricsSnapshot:
        """Never raises: a fault, or a bug here, makes the areas say why instead of killing the refresh."""
        try:
            return self._fetch(now)
        except Exception as e:  # noqa: BLE001 - the last line of defence for the UI's worker
            reason = f"metrics fetch failed: {type(e).__name__}: {str(e)[:120]}"
            return assemble(now, self.source, {a: self.memory.failed(a, reason, now) for a in AREAS})

    def _fetch(self, now: float) -> MetricsSnapshot:
        futures = {name: self._pool.submit(ep.get) for name, ep in self.endpoints.items()}
        parsed: dict[str, Samples] = {}
        failed: dict[str, str] = {}
        for name, f in futures.items():
            where = self.endpoints[name].where
            try:
                parsed[name] = merge_bodies(f.result(), NEEDED.get(name))
            except ExpositionError as e:
                failed[name] = f"{name} at {where}: {e}"
            except EndpointMissing as e:
                failed[name] = str(e)
            except EndpointError as e:
                failed[name] = f"{name} at {where} answered {e}"
            except Exception as e:
                failed[name] = fault_reason(e, f"{name} at {where}", self.timeout)
        results: dict[str, Any] = {}
        for area in AREAS:
            exp = AREA_EXPORTER[area]
            if exp in failed:
                results[area] = self.memory.failed(area, failed[exp], now)
            elif exp not in parsed:
                where = "kubelet endpoint (--kubelet-url)" if exp in ("probes", "cadvisor") else f"{exp} endpoint"
                results[area] = self.memory.failed(area, f"no {where} found or given", now)
            else:
                rows, ranges, note = self._evaluate(area, parsed[exp], now)
                results[area] = self.memory.succeeded(area, BUILDERS[area](rows, ranges), now, note)
        return assemble(now, self.source, results)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- the catalog's queries, computed locally ----------------------------------------------
    def _evaluate(self, area: str, s: Samples, now: float) -> tuple[dict[str, Rows], dict[str, Series], str]:
        return getattr(self, f"_eval_{area}")(s, now)

    def _eval_gpu(self, s: Samples, now: float):
        rows: dict[str, Rows] = {
            "gpu_util": select(s, "DCGM_FI_DEV_GPU_UTIL"),
            "gpu_engine_active": [(lb, v) for lb, v in select(s, "DCGM_FI_PROF_GR_ENGINE_ACTIVE") if lb.get("GPU_I_PROFILE")],
            "gpu_fb_used": select(s, "DCGM_FI_DEV_FB_USED"), "gpu_fb_free": select(s, "DCGM_FI_DEV_FB_FREE"),
            "gpu_power": select(s, "DCGM_FI_DEV_POWER_USAGE"), "gpu_temp": select(s, "DCGM_FI_DEV_GPU_TEMP"),
            "gpu_xid": [(lb, v) for lb, v in select(s, "DCGM_FI_DEV_XID_ERRORS") if v > 0],
        }
        current: dict[tuple, tuple[dict, float]] = {gpu_key(lb): (lb, v) for lb, v in rows["gpu_util"]}
        for lb, v in rows["gpu_engine_active"]:
            current.setdefault(gpu_key(lb), (lb, v * 100.0))
        avg_rows, hist = [], []
        for k, (lb, u) in current.items():
            d = self._gpu_util.setdefault(k, collections.deque(maxlen=self.history_points))
            self._gpu_first.setdefault(k, now)
            _add_point(d, (now, u), self.history_step)
            while d and d[0][0] < now - self.history_seconds:
                d.popleft()
            hist.append((lb, list(d)))
            if now - self._gpu_first[k] >= self.idle_window:  # watched long enough for a 30-min average
                win = [v for t, v in d if t >= now - self.idle_window]
                if win:
                    avg_rows.append((lb, sum(win) / len(win)))
        for k in set(self._gpu_util) - set(current):  # GPUs gone from the exporter
            del self._gpu_util[k]
            self._gpu_first.pop(k, None)
        rows["gpu_util_avg_30m"] = avg_rows
        note = "" if avg_rows or not current else f"30-min averages after {self.idle_window:g}s of scraping"
        return rows, {"gpu_util_history": hist}, note

    def _eval_usage(self, s: Samples, now: float):
        cpu_now: dict[tuple, tuple[dict, float]] = {}
        for lb, v in select(s, "container_cpu_usage_seconds_total"):
            if lb.get("container") and lb.get("image"):
                k = (lb.get("namespace", ""), lb.get("pod", ""), lb["container"])
                cpu_now[k] = (lb, cpu_now.get(k, (lb, 0.0))[1] + v)
        cpu_rows = []
        fresh = {}
        for k, (lb, v) in cpu_now.items():
            prev = self._cpu.get(k)
            fresh[k] = (now, v)
            if prev and now > prev[0]:
                dv = v - prev[1] if v >= prev[1] else v  # a reset: the container restarted
                cpu_rows.append(({"namespace": k[0], "pod": k[1], "container": k[2]}, dv / (now - prev[0])))
        self._cpu = fresh
        mem: dict[tuple, float] = {}
        for lb, v in select(s, "container_memory_working_set_bytes"):
            if lb.get("container") and lb.get("image"):
                k = (lb.get("namespace", ""), lb.get("pod", ""), lb["container"])
                mem[k] = max(mem.get(k, 0.0), v)
        mem_rows = [({"namespace": k[0], "pod": k[1], "container": k[2]}, v) for k, v in mem.items()]
        note = "" if cpu_rows or not cpu_now else "CPU usage from the second scrape on"
        return {"container_cpu": cpu_rows, "container_memory": mem_rows}, {}, note

    def _eval_probes(self, s: Samples, now: float):
        window = 300.0
        seen = {}
        for lb, v in select(s, "prober_probe_total", result="failed"):
            k = (lb.get("namespace", ""), lb.get("pod", ""), lb.get("container", ""), lb.get("probe_type", ""))
            seen[k] = seen.get(k, 0.0) + v
        for k, v in seen.items():
            self._probe_fail.setdefault(k, _Counter()).add(now, v, window)
        for k in set(self._probe_fail) - set(seen):
            del self._probe_fail[k]
        rows = [({"namespace": k[0], "pod": k[1], "container": k[2], "probe_type": k[3]}, c.increase())
                for k, c in self._probe_fail.items()]
        return {"probe_failures_5m": rows}, {}, ""

    def _eval_restarts(self, s: Samples, now: float):
        window = 3600.0
        seen = {}
        for lb, v in select(s, "kube_pod_container_status_restarts_total"):
            seen[(lb.get("namespace", ""), lb.get("pod", ""), lb.get("container", ""))] = v
        for k, v in seen.items():
            self._restarts.setdefault(k, _Counter()).add(now, v, window)
        for k in set(self._restarts) - set(seen):
            del self._restarts[k]
        for lb, v in select(s, "kube_pod_container_status_waiting_reason", reason="CrashLoopBackOff"):
            if v >= 1:
                self._crashloop_seen[(lb.get("namespace", ""), lb.get("pod", ""), lb.get("container", ""))] = now
        self._crashloop_seen = {k: t for k, t in self._crashloop_seen.items() if t >= now - 300.0}
        rows = {"restarts_1h": [({"namespace": k[0], "pod": k[1], "container": k[2]}, c.increase())
                                for k, c in self._restarts.items()],
                "crashlooping": [({"namespace": k[0], "pod": k[1], "container": k[2]}, 1.0) for k in self._crashloop_seen]}
        return rows, {}, ""

    def _eval_hpa_history(self, s: Samples, now: float):
        names = ("kube_horizontalpodautoscaler_status_current_replicas", "kube_horizontalpodautoscaler_status_desired_replicas",
                 "kube_horizontalpodautoscaler_spec_min_replicas", "kube_horizontalpodautoscaler_spec_max_replicas")
        metric_fams = ("kube_horizontalpodautoscaler_spec_target_metric", "kube_horizontalpodautoscaler_status_target_metric")
        cur: dict[tuple, dict[tuple, float]] = {}  # hpa -> {(family, metric_name, target_type): value}
        for n in names + metric_fams:
            for lb, v in select(s, n):
                k = (lb.get("namespace", ""), lb.get("horizontalpodautoscaler", ""))
                cur.setdefault(k, {})[(n, lb.get("metric_name", ""), lb.get("metric_target_type", ""))] = v
        for k, vals in cur.items():
            d = self._hpa.setdefault(k, collections.deque(maxlen=self.hpa_points))
            _add_point(d, (now, vals), self.hpa_step)
            while d and d[0][0] < now - self.history_seconds:
                d.popleft()
        for k in set(self._hpa) - set(cur):
            del self._hpa[k]
        series: Series = []
        for (ns, name), d in self._hpa.items():
            keys = sorted({key for _, vals in d for key in vals})
            for key in keys:
                pts = [(t, vals[key]) for t, vals in d if key in vals]
                lb = {"__name__": key[0], "namespace": ns, "horizontalpodautoscaler": name}
                if key[1] or key[2]:
                    lb.update(metric_name=key[1], metric_target_type=key[2])
                series.append((lb, pts))
        return {}, {"hpa_replicas_history": [x for x in series if x[0]["__name__"] in names],
                    "hpa_metric_history": [x for x in series if x[0]["__name__"] in metric_fams]}, ""

    def _eval_quota(self, s: Samples, now: float):
        return {"quota": select(s, "kube_resourcequota")}, {}, ""

    def _eval_ksm(self, s: Samples, now: float):
        return {}, {}, ""
