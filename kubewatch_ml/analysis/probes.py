"""Probe failures: per container, failing probe types, failures and rate, restarts, the last
termination, CrashLoopBackOff and the latest kubelet Event; grouped by the top controller."""
from __future__ import annotations

from collections import defaultdict

from ..metrics_snapshot import MetricsSnapshot
from ..model import Event, Pod
from ..snapshot import ClusterSnapshot, top_controller
from .allocation import Allocation
from .areas import area_note, join_notes, kind_unreadable
from .models import ProbeGroup, ProbeRow, ProbeView

PROBE_TYPES = ("Liveness", "Readiness", "Startup")
TROUBLE_EVENTS = ("Unhealthy", "BackOff", "Killing", "Failed")
TROUBLE_TERMINATIONS = ("OOMKilled", "Error", "ContainerCannotRun", "StartError")


def container_of(field_path: str) -> str:
    """spec.containers{name} -> name ("" when the event is about the whole pod)."""
    start = field_path.find("{")
    return field_path[start + 1:field_path.find("}", start)] if start >= 0 and field_path.endswith("}") else ""


def probe_type_of(message: str) -> str:
    for t in PROBE_TYPES:
        if message.startswith(t):
            return t
    return ""


def probe_view(cluster: ClusterSnapshot, metrics: MetricsSnapshot | None = None, now: float | None = None, *,
               alloc: Allocation | None = None) -> ProbeView:
    """`alloc` (optional) supplies the pods whose statuses look troubled, gathered in allocation()'s pass."""
    probes_ok = metrics is not None and metrics.area("probes").ok
    restarts_ok = metrics is not None and metrics.area("restarts").ok
    failures: dict[tuple[str, str, str], dict[str, float]] = defaultdict(dict)
    if probes_ok:
        for (ns, pod, c, ptype), v in metrics.probe_failures_5m.items():  # type: ignore[union-attr]
            if v > 0:
                failures[(ns, pod, c)][ptype] = v
    crashloop_metric = metrics.crashlooping if metrics is not None else frozenset()
    restarts_1h = metrics.restarts_1h if restarts_ok else {}  # type: ignore[union-attr]
    # pods named by trouble signals outside their status (events, metrics): checked even if they look fine
    flagged: set[tuple[str, str]] = {(ns, pod) for (ns, pod, _c) in failures}
    flagged.update((ns, pod) for (ns, pod, _c) in crashloop_metric)
    flagged.update((ns, pod) for (ns, pod, _c), v in restarts_1h.items() if v > 0)
    for (kind, ns, name), evs in cluster.events_by_object.items():
        if kind == "Pod" and any(e.reason in TROUBLE_EVENTS and e.type == "Warning" for e in evs):
            flagged.add((ns, name))

    rows: list[ProbeRow] = []
    for p in _candidates(cluster, flagged, alloc):
        rows.extend(_pod_rows(cluster, p, failures, crashloop_metric, restarts_1h, probes_ok, restarts_ok))

    groups: dict[str, list[ProbeRow]] = defaultdict(list)
    for r in rows:
        groups[r.workload + "|" + r.namespace].append(r)
    out = []
    for _k, rs in groups.items():
        kind, _, name = rs[0].workload.partition("/")
        rs.sort(key=lambda r: (not r.crashloop, -(r.failures_5m or 0.0), -r.restarts, r.key))
        out.append(ProbeGroup(
            key=f"{kind}/{rs[0].namespace}/{name}", kind=kind, namespace=rs[0].namespace, name=name, rows=tuple(rs),
            failing_containers=sum(1 for r in rs if r.failing or r.crashloop),
            crashlooping=sum(1 for r in rs if r.crashloop), restarts=sum(r.restarts for r in rs),
        ))
    out.sort(key=lambda g: (-g.crashlooping, -g.failing_containers, -g.restarts, g.key))
    unreadable = kind_unreadable(cluster, "events")
    note = join_notes(f"events unreadable ({unreadable})" if unreadable else "",
                      area_note(metrics, "probes", "probe counters"), area_note(metrics, "restarts", "restart history"))
    return ProbeView(rows=tuple(out), containers=tuple(r for g in out for r in g.rows), note=note)


def _candidates(cluster: ClusterSnapshot, flagged: set[tuple[str, str]], alloc: Allocation | None) -> list[Pod]:
    """The pods that look troubled or that events/metrics name, each once (the view sorts its rows)."""
    if alloc is None:
        return [p for p in cluster.pods.values() if _looks_troubled(p) or (p.namespace, p.name) in flagged]
    out = list(alloc.troubled)
    if flagged:
        seen = {p.uid for p in out}
        pods = cluster.pods
        for ns in {ns for ns, _ in flagged}:  # only the namespaces that have a flagged pod
            for u in cluster.pods_by_namespace.get(ns, ()):
                p = pods[u]
                if (ns, p.name) in flagged and u not in seen:
                    out.append(p)
    return out


def _looks_troubled(p: Pod) -> bool:
    for s in p.statuses:
        if s.restart_count > 0 or s.reason == "CrashLoopBackOff":
            return True
        if not s.ready and s.state == "running":
            return True
    return False


def _pod_rows(cluster, p: Pod, failures, crashloop_metric, restarts_1h, probes_ok, restarts_ok) -> list[ProbeRow]:
    events: dict[str, list[Event]] = defaultdict(list)
    for e in cluster.events_by_object.get(("Pod", p.namespace, p.name), ()):
        if e.reason in TROUBLE_EVENTS:
            events[container_of(e.field_path)].append(e)
    top = top_controller(p, cluster.workloads)
    workload = f"{top[0]}/{top[2]}" if top else f"Pod/{p.name}"
    specs = {c.name: c for c in p.containers if not c.init}
    out = []
    for s in p.statuses:
        ck = (p.namespace, p.name, s.name)
        evs = events.get(s.name, [])
        fails = failures.get(ck, {})
        failing = set(fails)
        failing.update(t for t in (probe_type_of(e.message) for e in evs if e.reason == "Unhealthy") if t)
        crash = s.reason == "CrashLoopBackOff" or ck in crashloop_metric
        r1h = restarts_1h.get(ck) if restarts_ok else None
        if not (failing or crash or s.restart_count > 0 or (r1h or 0) > 0 or evs or (not s.ready and s.state == "running")):
            continue
        last = max(evs, key=lambda e: e.last_seen, default=None)
        since = min((e.first_seen for e in evs if e.first_seen), default=0.0)
        if not since and s.restart_count > 0:
            since = s.last_term_finished_at
        spec = specs.get(s.name)
        configured = tuple(t for t, on in (("Liveness", spec and spec.liveness), ("Readiness", spec and spec.readiness),
                                           ("Startup", spec and spec.startup)) if on)
        total = sum(fails.values()) if probes_ok else None
        out.append(ProbeRow(
            key=f"{p.namespace}/{p.name}/{s.name}", namespace=p.namespace, pod=p.name, container=s.name,
            workload=workload, node=p.node_name, probes=configured,
            failing=tuple(t for t in PROBE_TYPES if t in failing),
            failures_5m=total, failure_rate_per_min=None if total is None else total / 5.0,
            restarts=s.restart_count, restarts_1h=r1h, state=s.state, reason=s.reason, crashloop=crash,
            ready=s.ready, last_term_reason=s.last_term_reason, last_term_exit_code=s.last_term_exit_code,
            last_event_reason=last.reason if last else "", last_event_message=last.message if last else "",
            last_event_at=last.last_seen if last else 0.0, since=since,
        ))
    return out
