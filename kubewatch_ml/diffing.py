"""What changed between two snapshot documents (kubewatch-ml/snapshot/v1): nodes cordoned,
relabelled, tainted or gone; workload replicas; quota usage; HPA states; findings new and gone.

Pure: two dicts in, a SnapshotDiff out. Works on documents so a JSON file from last week's
CronJob and a moment from a recording compare the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Change:
    section: str  # cluster | nodes | workloads | gpus | quotas | hpas | findings
    kind: str  # added | removed | cordoned | uncordoned | relabelled | tainted | untainted | ready | replicas | usage | hard | state | new | gone | severity | count
    object: str  # "Node gpu-a", "Deployment ns/name", ...
    before: str = ""
    after: str = ""
    detail: str = ""

    def line(self) -> str:
        if self.section == "findings" and self.kind in ("new", "gone"):
            return f"{self.section}: {self.kind} {(self.after or self.before).upper()} {self.object}: {self.detail}"
        arrow = f"{self.before} -> {self.after}" if (self.before or self.after) else ""
        detail = f"({self.detail})" if self.detail and arrow else self.detail
        return " ".join(p for p in (f"{self.section}:", self.kind, self.object, arrow, detail) if p)

    def to_dict(self) -> dict:
        return {"section": self.section, "kind": self.kind, "object": self.object, "before": self.before,
                "after": self.after, "detail": self.detail}


@dataclass(frozen=True)
class SnapshotDiff:
    a_taken_at: str
    b_taken_at: str
    a_context: str
    b_context: str
    changes: tuple[Change, ...] = field(default_factory=tuple)

    def section(self, name: str) -> list[Change]:
        return [c for c in self.changes if c.section == name]

    def to_dict(self) -> dict:
        return {"a": {"taken_at": self.a_taken_at, "context": self.a_context},
                "b": {"taken_at": self.b_taken_at, "context": self.b_context},
                "changes": [c.to_dict() for c in self.changes]}


def diff_documents(a: dict, b: dict) -> SnapshotDiff:
    changes: list[Change] = []
    changes += _cluster(a, b)
    changes += _nodes(a["inventory"]["nodes"], b["inventory"]["nodes"])
    changes += _workloads(a["inventory"]["workloads"], b["inventory"]["workloads"])
    changes += _gpus(a["views"].get("gpu_nodes"), b["views"].get("gpu_nodes"))
    changes += _quotas(a["views"].get("quotas"), b["views"].get("quotas"))
    changes += _hpas(a["views"].get("hpas"), b["views"].get("hpas"))
    changes += _findings(a["findings"], b["findings"])
    return SnapshotDiff(a["taken_at"], b["taken_at"], a["cluster"]["context"], b["cluster"]["context"], tuple(changes))


def _cluster(a: dict, b: dict) -> list[Change]:
    out = []
    for k in ("nodes", "ready_nodes", "cordoned_nodes", "pods", "gpu_allocatable", "gpu_requested"):
        va, vb = a["cluster"].get(k), b["cluster"].get(k)
        if va != vb:
            out.append(Change("cluster", "count", k, str(va), str(vb)))
    return out


def _nodes(a: list[dict], b: list[dict]) -> list[Change]:
    na, nb = {n["name"]: n for n in a}, {n["name"]: n for n in b}
    out = [Change("nodes", "removed", f"Node {n}", detail=f"zone {na[n]['zone'] or '-'}") for n in sorted(na.keys() - nb.keys())]
    out += [Change("nodes", "added", f"Node {n}", detail=f"zone {nb[n]['zone'] or '-'}") for n in sorted(nb.keys() - na.keys())]
    for name in sorted(na.keys() & nb.keys()):
        x, y, o = na[name], nb[name], f"Node {name}"
        if x["unschedulable"] != y["unschedulable"]:
            out.append(Change("nodes", "cordoned" if y["unschedulable"] else "uncordoned", o))
        if x["ready"] != y["ready"]:
            out.append(Change("nodes", "ready", o, x["ready"], y["ready"]))
        added, removed = set(y["taints"]) - set(x["taints"]), set(x["taints"]) - set(y["taints"])
        if added:
            out.append(Change("nodes", "tainted", o, detail=", ".join(sorted(added))))
        if removed:
            out.append(Change("nodes", "untainted", o, detail=", ".join(sorted(removed))))
        la, lb = x["labels"], y["labels"]
        parts = [f"+{k}={lb[k]}" for k in sorted(lb.keys() - la.keys())]
        parts += [f"-{k}" for k in sorted(la.keys() - lb.keys())]
        parts += [f"{k}: {la[k]} -> {lb[k]}" for k in sorted(la.keys() & lb.keys()) if la[k] != lb[k]]
        if parts:
            out.append(Change("nodes", "relabelled", o, detail="; ".join(parts)))
    return out


def _wkey(w: dict) -> tuple[str, str, str]:
    return (w["kind"], w["namespace"], w["name"])


def _workloads(a: list[dict], b: list[dict]) -> list[Change]:
    wa, wb = {_wkey(w): w for w in a}, {_wkey(w): w for w in b}
    name = lambda k: f"{k[0]} {k[1]}/{k[2]}"
    out = [Change("workloads", "removed", name(k)) for k in sorted(wa.keys() - wb.keys())]
    out += [Change("workloads", "added", name(k), after=str(wb[k]["replicas"])) for k in sorted(wb.keys() - wa.keys())]
    for k in sorted(wa.keys() & wb.keys()):
        x, y = wa[k], wb[k]
        if x["replicas"] != y["replicas"]:
            out.append(Change("workloads", "replicas", name(k), str(x["replicas"]), str(y["replicas"]),
                              f"ready {x['ready_replicas']} -> {y['ready_replicas']}"))
        elif x["ready_replicas"] != y["ready_replicas"]:
            out.append(Change("workloads", "ready", name(k), str(x["ready_replicas"]), str(y["ready_replicas"]),
                              f"of {y['replicas']}"))
    return out


def _gpus(a: dict | None, b: dict | None) -> list[Change]:
    """GPUs requested per GPU node: where capacity went (or came back)."""
    if a is None or b is None:
        return []
    ga, gb = {r["node"]: r for r in a.get("rows", [])}, {r["node"]: r for r in b.get("rows", [])}
    out = []
    for n in sorted(ga.keys() & gb.keys()):
        x, y = ga[n], gb[n]
        if (x["requested"], x["allocatable"]) != (y["requested"], y["allocatable"]):
            out.append(Change("gpus", "requested", f"Node {n}", f"{x['requested']}/{x['allocatable']}",
                              f"{y['requested']}/{y['allocatable']}"))
    return out


def _quotas(a: dict | None, b: dict | None) -> list[Change]:
    if a is None or b is None:
        return []
    ra = {r["key"]: r for r in a.get("quota_rows", [])}
    rb = {r["key"]: r for r in b.get("quota_rows", [])}
    out = [Change("quotas", "removed", f"ResourceQuota {k}") for k in sorted(ra.keys() - rb.keys())]
    out += [Change("quotas", "added", f"ResourceQuota {k}", after=f"{rb[k]['used']}/{rb[k]['hard']}")
            for k in sorted(rb.keys() - ra.keys())]
    for k in sorted(ra.keys() & rb.keys()):
        x, y = ra[k], rb[k]
        if x["hard"] != y["hard"]:
            out.append(Change("quotas", "hard", f"ResourceQuota {k}", str(x["hard"]), str(y["hard"])))
        if x["used"] != y["used"]:
            pct = f"{y['percent']:.0f}% of hard, {y['level']}" if y.get("percent") is not None else y["level"]
            out.append(Change("quotas", "usage", f"ResourceQuota {k}", str(x["used"]), str(y["used"]), pct))
    return out


def _hpas(a: dict | None, b: dict | None) -> list[Change]:
    if a is None or b is None:
        return []
    ha, hb = {r["key"]: r for r in a.get("rows", [])}, {r["key"]: r for r in b.get("rows", [])}
    out = []
    for k in sorted(ha.keys() & hb.keys()):
        x, y = ha[k], hb[k]
        if x["state"] != y["state"]:
            out.append(Change("hpas", "state", f"HorizontalPodAutoscaler {k}", x["state"], y["state"]))
        if (x["min_replicas"], x["max_replicas"]) != (y["min_replicas"], y["max_replicas"]):
            out.append(Change("hpas", "bounds", f"HorizontalPodAutoscaler {k}",
                              f"{x['min_replicas']}..{x['max_replicas']}", f"{y['min_replicas']}..{y['max_replicas']}"))
    return out


def _fkey(f: dict) -> str:
    return f.get("key") or f"{f['id']}/{f['kind']}/{f['namespace']}/{f['name']}"


def _fobj(f: dict) -> str:
    where = f"{f['namespace']}/{f['name']}" if f["namespace"] else f["name"]
    return f"{f['id']} {f['kind']} {where}"


def _findings(a: list[dict], b: list[dict]) -> list[Change]:
    fa, fb = {_fkey(f): f for f in a}, {_fkey(f): f for f in b}
    out = [Change("findings", "new", _fobj(fb[k]), after=fb[k]["severity"], detail=fb[k]["summary"])
           for k in fb if k not in fa]  # keep b's ranking: worst new finding first
    out += [Change("findings", "gone", _fobj(fa[k]), before=fa[k]["severity"], detail=fa[k]["summary"])
            for k in fa if k not in fb]
    out += [Change("findings", "severity", _fobj(fb[k]), fa[k]["severity"], fb[k]["severity"], fb[k]["summary"])
            for k in fb if k in fa and fa[k]["severity"] != fb[k]["severity"]]
    return out


_TITLES = {"cluster": "Cluster", "nodes": "Nodes", "workloads": "Workloads", "gpus": "GPUs", "quotas": "Quotas",
           "hpas": "Autoscalers", "findings": "Findings"}


def render_text(d: SnapshotDiff) -> str:
    lines = [f"--- {d.a_context or '?'} at {d.a_taken_at}", f"+++ {d.b_context or '?'} at {d.b_taken_at}"]
    if d.a_context != d.b_context:
        lines.append(f"note: different contexts ({d.a_context} vs {d.b_context})")
    if not d.changes:
        lines.append("no changes")
    for sec, title in _TITLES.items():
        items = d.section(sec)
        if items:
            lines.append(f"{title} ({len(items)}):")
            lines += [f"  {c.line().split(': ', 1)[1]}" for c in items]
    return "\n".join(lines) + "\n"
