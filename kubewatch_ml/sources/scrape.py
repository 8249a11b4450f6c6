"""Metrics without Prometheus: scrape kube-state-metrics, dcgm-exporter and the kubelet
(/metrics/probes, /metrics/cadvisor) directly, read of their text only what the queries need while
it arrives (queries/exposition.pick: the samples in PICKS, of each only the labels read below), and
compute what the catalog's queries would answer, keeping a bounded in-memory history for what needs
one (CPU rate, increases, 30-minute GPU average, HPA history).

With less history than a query needs, the number says so: util_avg_30m is None until the GPU has
been watched for the whole idle window; CPU usage appears from the second scrape on.
"""
from __future__ import annotations

import collections
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import requests

from ..metrics_snapshot import AREAS, MetricsSnapshot
from ..queries.catalog import AREA_EXPORTER
from ..queries.exposition import ExpositionError, Pick, Picked, pick
from ..queries.results import BUILDERS, AreaMemory, Rows, Series, assemble, gpu_key
from .prometheus import fault_reason

EXPORTERS = ("kube-state-metrics", "dcgm", "probes", "cadvisor")
_CONTAINER = ("namespace", "pod", "container")
_HPA = ("namespace", "horizontalpodautoscaler", "metric_name", "metric_target_type")
# every label results.build_gpu reads of a GPU row (gpu_key and the GpuSample fields)
_GPU = ("Hostname", "hostname", "node", "gpu", "GPU_I_ID", "UUID", "modelName", "GPU_I_PROFILE", "namespace", "pod", "container")
_HPA_REPLICAS = ("kube_horizontalpodautoscaler_status_current_replicas", "kube_horizontalpodautoscaler_status_desired_replicas",
                 "kube_horizontalpodautoscaler_spec_min_replicas", "kube_horizontalpodautoscaler_spec_max_replicas")
_HPA_METRICS = ("kube_horizontalpodautoscaler_spec_target_metric", "kube_horizontalpodautoscaler_status_target_metric")
# What direct mode reads of each exporter: these samples, of each only the labels its _eval_* reads
# (and the rows it keeps); the rest of the text is skipped unparsed. At 150k pods the texts are
# ~0.8 GB; a dict per sample of all its labels was ~1.5 GB and most of a 30 s fetch.
PICKS: dict[str, dict[str, Pick]] = {
    "kube-state-metrics": {
        "kube_resourcequota": Pick(("namespace", "resourcequota", "resource", "type")),
        **{n: Pick(_HPA) for n in _HPA_REPLICAS + _HPA_METRICS},
        "kube_pod_container_status_restarts_total": Pick(_CONTAINER),
        "kube_pod_container_status_waiting_reason": Pick(_CONTAINER, (("reason", "CrashLoopBackOff"),))},
    "dcgm": {**{n: Pick(_GPU) for n in ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE",
                                        "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_XID_ERRORS")},
             "DCGM_FI_PROF_GR_ENGINE_ACTIVE": Pick(_GPU, (("GPU_I_PROFILE", "!"),))},  # MIG slices only
    "probes": {"prober_probe_total": Pick(_CONTAINER + ("probe_type",), (("result", "failed"),))},
    # image="" rows are the pod's and the node's cgroups, not containers (the mixin's image!="")
    "cadvisor": {n: Pick(_CONTAINER, (("container", "!"), ("image", "!")))
                 for n in ("container_cpu_usage_seconds_total", "container_memory_working_set_bytes")},
}
NEEDED: dict[str, frozenset[str]] = {exp: frozenset(p) for exp, p in PICKS.items()}
_CHUNK = 1 << 20  # bytes read at a time: a text is parsed as it arrives, never held whole


@dataclass
class Endpoint:
    """One exporter's /metrics: `get()` returns the body (whole, as chunks while they arrive, or a
    list of those, one per node of a DaemonSet) or raises; `where` names it."""
    where: str
    get: Callable[[], "bytes | Iterable[bytes] | list[bytes | Iterable[bytes]]"]


class EndpointError(Exception):
    """An exporter answered, but not with metrics (HTTP error); the message is one line."""


class EndpointMissing(EndpointError):
    """Not a fault: the way to the exporter does not exist or is not allowed (404/403 on a proxy).
    The message is the area's whole reason and starts with "no " (headless treats that as not set up)."""


def http_endpoint(url: str, timeout: float, session: requests.Session | None = None) -> Endpoint:
    s = session or requests.Session()

    def get() -> Iterator[bytes]:
        r = s.get(url, timeout=timeout, headers={"Accept": "text/plain;version=0.0.4"}, stream=True)
        if r.status_code != 200:
            r.close()
            raise EndpointError(f"HTTP {r.status_code}")
        return _chunks(r)
    return Endpoint(url, get)


def _chunks(r: requests.Response) -> Iterator[bytes]:
    with r:
        yield from r.iter_content(_CHUNK)


def _add_point(d: collections.deque, point: tuple, step: float) -> None:
    """Append, but at most one point per `step`: the newest point moves forward until it is a step
    past its predecessor, then stays, so the last point is always the latest reading."""
    if len(d) >= 2 and point[0] - d[-2][0] < step:
        d[-1] = point
    else:
        d.append(point)


def read_bodies(body: Any, picks: dict[str, Pick]) -> Picked:
    """One exporter's text, or several (one per node of a DaemonSet) merged."""
    if not isinstance(body, list):
        return pick(body, picks)
    merged: Picked = {}
    for b in body:
        for name, rows in pick(b, picks).items():
            merged.setdefault(name, []).extend(rows)
    return merged


def http_endpoints(urls: list[str], timeout: float, session: requests.Session | None = None) -> Endpoint:
    """Several URLs scraped as one exporter (a kubelet per node)."""
    if len(urls) == 1:
        return http_endpoint(urls[0], timeout, session)
    parts = [http_endpoint(u, timeout, session) for u in urls]
    return Endpoint(f"{len(urls)} URLs ({urls[0]}, ...)", lambda: [_later(p) for p in parts])


def _later(ep: Endpoint) -> Iterator[bytes]:
    """One URL's chunks, its request sent when they are first read (one connection at a time)."""
    body = ep.get()
    yield from ([body] if isinstance(body, (bytes, bytearray)) else body)


Points = tuple[tuple[float, float], ...]


def _counted(points: Points | None, t: float, v: float, window: float) -> Points:
    """A counter's values over a window, a point stored only when the value changes (most never do:
    one small tuple each, not an object and a deque per container)."""
    if points is None:
        return ((t, v),)
    if points[-1][1] != v:
        points = points + ((t, v),)
    i = 0
    while len(points) - i > 1 and points[i + 1][0] <= t - window:  # keep one point at or before the window start
        i += 1
    return points[i:] if i else points


def _increase(points: Points) -> float:
    """Growth within the window (counter resets count as growth from 0)."""
    total, prev = 0.0, None
    for _, v in points:
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
        self._cpu: dict[tuple, float] = {}  # (namespace, pod, container) -> CPU seconds at _cpu_t
        self._cpu_t: float | None = None
        self._probe_fail: dict[tuple, Points] = {}
        self._restarts: dict[tuple, Points] = {}
        self._crashloop_seen: dict[tuple, float] = {}
        self._gpu_util: dict[tuple, collections.deque] = {}  # key -> deque[(t, util)]
        self._gpu_first: dict[tuple, float] = {}
        self._hpa: dict[tuple, collections.deque] = {}  # key -> deque[(t, {key: index}, values)]
        self._hpa_shapes: dict[tuple, dict[tuple, int]] = {}  # one shared key index per set of series
        self._labels: dict[tuple, dict[tuple, dict[str, str]]] = {}  # one fetch's row labels, shared by areas

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
        finally:
            self._labels = {}

    def _scrape(self, name: str) -> Picked:
        """In a pool thread: read one exporter's text as it arrives, keeping only what PICKS asks."""
        return read_bodies(self.endpoints[name].get(), PICKS.get(name, {}))

    def _fetch(self, now: float) -> MetricsSnapshot:
        futures = {self._pool.submit(self._scrape, name): name for name in self.endpoints}
        results: dict[str, Any] = {}
        # each exporter's areas are computed as soon as its text is read, while the others still arrive
        for f in as_completed(futures):
            name = futures[f]
            where = self.endpoints[name].where
            failed = None
            try:
                parsed = f.result()
            except ExpositionError as e:
                failed = f"{name} at {where}: {e}"
            except EndpointMissing as e:
                failed = str(e)
            except EndpointError as e:
                failed = f"{name} at {where} answered {e}"
            except Exception as e:
                failed = fault_reason(e, f"{name} at {where}", self.timeout, "--scrape-timeout")
            for area in AREAS:
                if AREA_EXPORTER[area] != name:
                    continue
                if failed is not None:
                    results[area] = self.memory.failed(area, failed, now)
                else:
                    rows, ranges, note = self._evaluate(area, parsed, now)
                    results[area] = self.memory.succeeded(area, BUILDERS[area](rows, ranges), now, note)
            parsed = None  # not held while the next exporter's areas are computed
        for area in AREAS:
            if area not in results:
                exp = AREA_EXPORTER[area]
                where = "kubelet endpoint (--kubelet-url)" if exp in ("probes", "cadvisor") else f"{exp} endpoint"
                results[area] = self.memory.failed(area, f"no {where} found or given", now)
        return assemble(now, self.source, {area: results[area] for area in AREAS})

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- the catalog's queries, computed locally ----------------------------------------------
    def _evaluate(self, area: str, s: Picked, now: float) -> tuple[dict[str, Rows], dict[str, Series], str]:
        return getattr(self, f"_eval_{area}")(s, now)

    def _rows(self, columns: tuple[str, ...], items: Iterable[tuple[tuple[str, ...], float]]) -> Rows:
        """Rows as a query answers them: the labels (empty ones left out) and the value; one labels
        dict per label set per fetch, shared by the areas that read the same containers."""
        made = self._labels.get(columns)
        if made is None:
            made = self._labels[columns] = {}
        out = []
        for values, v in items:
            lb = made.get(values)
            if lb is None:
                lb = made[values] = dict(zip(columns, values)) if all(values) else \
                    {k: x for k, x in zip(columns, values) if x}
            out.append((lb, v))
        return out

    def _eval_gpu(self, s: Picked, now: float):
        def rows(name: str) -> Rows:
            return self._rows(_GPU, s.get(name, ()))
        xid = rows("DCGM_FI_DEV_XID_ERRORS")
        rows_: dict[str, Rows] = {
            "gpu_util": rows("DCGM_FI_DEV_GPU_UTIL"), "gpu_engine_active": rows("DCGM_FI_PROF_GR_ENGINE_ACTIVE"),
            "gpu_fb_used": rows("DCGM_FI_DEV_FB_USED"), "gpu_fb_free": rows("DCGM_FI_DEV_FB_FREE"),
            "gpu_power": rows("DCGM_FI_DEV_POWER_USAGE"), "gpu_temp": rows("DCGM_FI_DEV_GPU_TEMP"),
            "gpu_xid": [(lb, v) for lb, v in xid if v > 0],
        }
        current: dict[tuple, tuple[Any, float]] = {gpu_key(lb): (lb, v) for lb, v in rows_["gpu_util"]}
        for lb, v in rows_["gpu_engine_active"]:
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
        rows_["gpu_util_avg_30m"] = avg_rows
        note = "" if avg_rows or not current else f"30-min averages after {self.idle_window:g}s of scraping"
        return rows_, {"gpu_util_history": hist}, note

    def _eval_usage(self, s: Picked, now: float):
        cpu_now: dict[tuple, float] = {}
        for k, v in s.get("container_cpu_usage_seconds_total", ()):
            cpu_now[k] = cpu_now.get(k, 0.0) + v
        prev_t, prev = self._cpu_t, self._cpu

        def rates():
            if prev_t is not None and now > prev_t:
                for k, v in cpu_now.items():
                    p = prev.get(k)
                    if p is not None:
                        yield k, (v - p if v >= p else v) / (now - prev_t)  # v < p: a reset, the container restarted
        cpu_rows = self._rows(_CONTAINER, rates())
        self._cpu, self._cpu_t = cpu_now, now
        mem: dict[tuple, float] = {}
        for k, v in s.get("container_memory_working_set_bytes", ()):
            mem[k] = max(mem.get(k, 0.0), v)
        mem_rows = self._rows(_CONTAINER, mem.items())
        note = "" if cpu_rows or not cpu_now else "CPU usage from the second scrape on"
        return {"container_cpu": cpu_rows, "container_memory": mem_rows}, {}, note

    def _eval_probes(self, s: Picked, now: float):
        window = 300.0
        seen: dict[tuple, float] = {}
        for k, v in s.get("prober_probe_total", ()):
            seen[k] = seen.get(k, 0.0) + v
        old = self._probe_fail
        self._probe_fail = {k: _counted(old.get(k), now, v, window) for k, v in seen.items()}  # gone ones go
        cols = _CONTAINER + ("probe_type",)
        rows = self._rows(cols, [(k, _increase(p)) for k, p in self._probe_fail.items()])
        return {"probe_failures_5m": rows}, {}, ""

    def _eval_restarts(self, s: Picked, now: float):
        window = 3600.0
        seen = dict(s.get("kube_pod_container_status_restarts_total", ()))
        old, start = self._restarts, now - window
        fresh = {}
        for k, v in seen.items():  # gone ones go
            p = old.get(k)
            # the usual case inline: an unchanged counter with nothing to drop keeps its points
            fresh[k] = p if p is not None and p[-1][1] == v and (len(p) == 1 or p[1][0] > start) \
                else _counted(p, now, v, window)
        self._restarts = fresh
        for k, v in s.get("kube_pod_container_status_waiting_reason", ()):
            if v >= 1:
                self._crashloop_seen[k] = now
        self._crashloop_seen = {k: t for k, t in self._crashloop_seen.items() if t >= now - 300.0}
        rows = {"restarts_1h": self._rows(_CONTAINER, [(k, 0.0 if len(p) == 1 else _increase(p))
                                                       for k, p in self._restarts.items()]),
                "crashlooping": self._rows(_CONTAINER, [(k, 1.0) for k in self._crashloop_seen])}
        return rows, {}, ""

    def _eval_hpa_history(self, s: Picked, now: float):
        cur: dict[tuple, dict[tuple, float]] = {}  # hpa -> {(family, metric_name, target_type): value}
        for n in _HPA_REPLICAS + _HPA_METRICS:
            for (ns, hpa, metric, target), v in s.get(n, ()):
                cur.setdefault((ns, hpa), {})[(n, metric, target)] = v
        for k, vals in cur.items():
            keys = tuple(vals)
            index = self._hpa_shapes.get(keys)
            if index is None:
                index = self._hpa_shapes[keys] = {key: i for i, key in enumerate(keys)}
            d = self._hpa.setdefault(k, collections.deque(maxlen=self.hpa_points))
            _add_point(d, (now, index, tuple(vals.values())), self.hpa_step)
            while d and d[0][0] < now - self.history_seconds:
                d.popleft()
        for k in set(self._hpa) - set(cur):
            del self._hpa[k]
        series: Series = []
        for (ns, name), d in self._hpa.items():
            for key in sorted({key for _, index, _ in d for key in index}):
                pts = [(t, vals[index[key]]) for t, index, vals in d if key in index]
                lb = {"__name__": key[0], "namespace": ns, "horizontalpodautoscaler": name}
                if key[1] or key[2]:
                    lb.update(metric_name=key[1], metric_target_type=key[2])
                series.append((lb, pts))
        return {}, {"hpa_replicas_history": [x for x in series if x[0]["__name__"] in _HPA_REPLICAS],
                    "hpa_metric_history": [x for x in series if x[0]["__name__"] in _HPA_METRICS]}, ""

    def _eval_quota(self, s: Picked, now: float):
        cols = PICKS["kube-state-metrics"]["kube_resourcequota"].columns
        return {"quota": self._rows(cols, s.get("kube_resourcequota", ()))}, {}, ""

    def _eval_ksm(self, s: Picked, now: float):
        return {}, {}, ""
