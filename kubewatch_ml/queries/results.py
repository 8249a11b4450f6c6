"""Query results into the fields of a MetricsSnapshot, one builder per area.

Both sources feed these: sources/prometheus.py with what Prometheus answered for the catalog's
queries, sources/scrape.py with the same rows computed from scraped exporter text. So the views
read the same numbers whichever source is in use.

Rows = [(labels, value)] of an instant query; Series = [(labels, [(t, value), ...])] of a range.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from ..metrics_snapshot import AreaState, GpuSample, HpaHistory, MetricsSnapshot

Labels = Mapping[str, str]
Rows = list[tuple[Labels, float]]
Series = list[tuple[Labels, list[tuple[float, float]]]]
Parts = dict[str, Any]


def gpu_key(lb: Labels) -> tuple[str, str, str]:
    """One physical GPU or one MIG slice: (node, gpu index, GPU instance id)."""
    return (lb.get("Hostname") or lb.get("hostname") or lb.get("node", ""), lb.get("gpu", ""), lb.get("GPU_I_ID", ""))


def _by_gpu(rows: Rows) -> dict[tuple[str, str, str], tuple[Labels, float]]:
    return {gpu_key(lb): (lb, v) for lb, v in rows}


def _holder_key(lb: Labels) -> tuple[str, ...]:
    """One GPU as held by one pod: a GPU that changed hands within 30 min has a series per holder."""
    return (*gpu_key(lb), lb.get("namespace", ""), lb.get("pod", ""))


def _by_holder(rows: Rows) -> dict[tuple[str, ...], tuple[Labels, float]]:
    return {_holder_key(lb): (lb, v) for lb, v in rows}


def build_gpu(rows: Mapping[str, Rows], ranges: Mapping[str, Series], min_coverage: float = 0.9) -> Parts:
    util = _by_gpu(rows.get("gpu_util", []))
    engine = _by_gpu(rows.get("gpu_engine_active", []))
    fb_used = _by_gpu(rows.get("gpu_fb_used", []))
    fb_free = _by_gpu(rows.get("gpu_fb_free", []))
    power = _by_gpu(rows.get("gpu_power", []))
    temp = _by_gpu(rows.get("gpu_temp", []))
    xid = _by_gpu(rows.get("gpu_xid", []))
    # the 30-min average, its coverage and the history of the current holder's series, not of the pod
    # (or the idle unallocated GPU) before it: a serving pod must not inherit an idle predecessor's average
    avg = _by_holder(rows.get("gpu_util_avg_30m", []))
    cover = _by_holder(rows.get("gpu_util_coverage_30m", []))
    if "gpu_util_coverage_30m" in rows and min_coverage > 0:  # 2 minutes of data are no basis for "idle"
        avg = {k: v for k, v in avg.items() if k in cover and cover[k][1] >= min_coverage}
    hist = {_holder_key(lb): pts for lb, pts in ranges.get("gpu_util_history", [])}
    keys = set(util) | set(engine) | set(fb_used) | set(power)
    out = []
    for k in sorted(keys):
        lb = (util.get(k) or engine.get(k) or fb_used.get(k) or power.get(k))[0]
        u = util[k][1] if k in util else (engine[k][1] * 100.0 if k in engine else None)
        held = _holder_key(lb)

        def val(d: dict, key=k) -> float | None:
            return d[key][1] if key in d else None
        out.append(GpuSample(
            node=k[0], gpu=k[1], uuid=lb.get("UUID", ""), model=lb.get("modelName", ""),
            mig_profile=lb.get("GPU_I_PROFILE", ""), util=u, fb_used_mib=val(fb_used), fb_free_mib=val(fb_free),
            power_w=val(power), temp_c=val(temp), xid=int(xid[k][1]) if k in xid else 0,
            namespace=lb.get("namespace", ""), pod=lb.get("pod", ""), container=lb.get("container", ""),
            util_avg_30m=val(avg, held), util_history=tuple(v for _, v in hist.get(held, ())), mig_instance=k[2]))
    return {"gpus": tuple(out)}


def _ckey(lb: Labels) -> tuple[str, str, str]:
    return (lb.get("namespace", ""), lb.get("pod", ""), lb.get("container", ""))


def build_usage(rows: Mapping[str, Rows], ranges: Mapping[str, Series]) -> Parts:
    cpu = {_ckey(lb): v for lb, v in rows.get("container_cpu", [])}
    mem = {_ckey(lb): v for lb, v in rows.get("container_memory", [])}
    ns_cpu: dict[str, float] = {}
    ns_mem: dict[str, float] = {}
    for (ns, _, _), v in cpu.items():
        ns_cpu[ns] = ns_cpu.get(ns, 0.0) + v
    for (ns, _, _), v in mem.items():
        ns_mem[ns] = ns_mem.get(ns, 0.0) + v
    return {"container_cpu": cpu, "container_memory": mem, "namespace_cpu": ns_cpu, "namespace_memory": ns_mem}


def build_probes(rows: Mapping[str, Rows], ranges: Mapping[str, Series]) -> Parts:
    return {"probe_failures_5m": {(lb.get("namespace", ""), lb.get("pod", ""), lb.get("container", ""),
                                   lb.get("probe_type", "")): v for lb, v in rows.get("probe_failures_5m", [])}}


def build_restarts(rows: Mapping[str, Rows], ranges: Mapping[str, Series]) -> Parts:
    return {"restarts_1h": {_ckey(lb): v for lb, v in rows.get("restarts_1h", [])},
            "crashlooping": frozenset(_ckey(lb) for lb, v in rows.get("crashlooping", []) if v >= 1)}


_HPA_FIELD = {"kube_horizontalpodautoscaler_status_current_replicas": "current",
              "kube_horizontalpodautoscaler_status_desired_replicas": "desired",
              "kube_horizontalpodautoscaler_spec_min_replicas": "min_replicas",
              "kube_horizontalpodautoscaler_spec_max_replicas": "max_replicas"}


def _aligned(times: list[float], d: dict[float, float] | None) -> tuple[float, ...]:
    """Values of one series at `times`; a gap repeats the previous value (NaN before the first)."""
    if not d:
        return ()
    last = None
    vals = []
    for t in times:
        last = d.get(t, last)
        vals.append(last if last is not None else float("nan"))
    return tuple(vals)


def build_hpa(rows: Mapping[str, Rows], ranges: Mapping[str, Series]) -> Parts:
    per: dict[tuple[str, str], dict[str, dict[float, float]]] = {}
    mets: dict[tuple[str, str], dict[tuple[str, str], dict[float, float]]] = {}
    for lb, pts in ranges.get("hpa_replicas_history", []):
        f = _HPA_FIELD.get(lb.get("__name__", ""))
        if f is not None:
            per.setdefault((lb.get("namespace", ""), lb.get("horizontalpodautoscaler", "")), {})[f] = dict(pts)
    for lb, pts in ranges.get("hpa_metric_history", []):
        side = "target" if lb.get("__name__", "").startswith("kube_horizontalpodautoscaler_spec_") else "current"
        key = f"{lb.get('metric_name', '')}/{lb.get('metric_target_type', '')}"
        mets.setdefault((lb.get("namespace", ""), lb.get("horizontalpodautoscaler", "")), {})[(key, side)] = dict(pts)
    out = {}
    for hpa_key, fields in per.items():
        times = sorted(set().union(*(d.keys() for d in fields.values())))
        m = mets.get(hpa_key, {})
        metrics = tuple((k, _aligned(times, m.get((k, "current"))), _aligned(times, m.get((k, "target"))))
                        for k in sorted({k for k, _ in m}))
        out[hpa_key] = HpaHistory(times=tuple(times), current=_aligned(times, fields.get("current")),
                                  desired=_aligned(times, fields.get("desired")),
                                  min_replicas=_aligned(times, fields.get("min_replicas")),
                                  max_replicas=_aligned(times, fields.get("max_replicas")), metrics=metrics)
    return {"hpa_history": out}


def build_quota(rows: Mapping[str, Rows], ranges: Mapping[str, Series]) -> Parts:
    q: dict[tuple[str, str, str], list[float | None]] = {}
    for lb, v in rows.get("quota", []):
        k = (lb.get("namespace", ""), lb.get("resourcequota", ""), lb.get("resource", ""))
        pair = q.setdefault(k, [None, None])
        if lb.get("type") == "used":
            pair[0] = v
        elif lb.get("type") == "hard":
            pair[1] = v
    return {"quota_usage": {k: (u, h) for k, (u, h) in q.items()}}


def build_ksm(rows: Mapping[str, Rows], ranges: Mapping[str, Series]) -> Parts:
    return {}


BUILDERS: dict[str, Callable[[Mapping[str, Rows], Mapping[str, Series]], Parts]] = {
    "gpu": build_gpu, "usage": build_usage, "probes": build_probes, "restarts": build_restarts,
    "hpa_history": build_hpa, "quota": build_quota, "ksm": build_ksm,
}


class AreaMemory:
    """Last good numbers per area: a failed area shows them as stale (with the reason) for up to
    `stale_after` seconds, then as unavailable. A later success clears it: recovery is automatic."""

    def __init__(self, stale_after: float = 300.0):
        self.stale_after = stale_after
        self._last: dict[str, tuple[Parts, float]] = {}

    def succeeded(self, area: str, parts: Parts, now: float, note: str = "") -> tuple[AreaState, Parts]:
        self._last[area] = (parts, now)
        return AreaState(ok=True, reason=note, fetched_at=now), parts

    def failed(self, area: str, reason: str, now: float) -> tuple[AreaState, Parts]:
        last = self._last.get(area)
        if last is not None and now - last[1] <= self.stale_after:
            return AreaState(ok=True, reason=reason, fetched_at=last[1], stale=True), last[0]
        return AreaState(ok=False, reason=reason, fetched_at=last[1] if last else 0.0), {}


def assemble(taken_at: float, source: str, results: Mapping[str, tuple[AreaState, Parts]]) -> MetricsSnapshot:
    fields: dict[str, Any] = {}
    for _, parts in results.values():
        fields.update(parts)
    return MetricsSnapshot(taken_at=taken_at, source=source, areas={a: st for a, (st, _) in results.items()}, **fields)
