"""The snapshot document ("kubewatch-ml/snapshot/v1"): the one structure every export renders.

JSON is this document as is; Markdown and HTML render it; `diff` compares two of them. Keys keep
a fixed order (the order below, then the view models' field order), so two exports of the same
state are byte-identical and diffs of the files stay readable. docs/SNAPSHOT.md describes it and
export/snapshot.schema.json validates it.
"""
from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Iterable

import orjson

from .. import __version__
from ..errors import UserError

if TYPE_CHECKING:
    from ..analysis.models import Analysis
    from ..metrics_snapshot import MetricsSnapshot
    from ..snapshot import ClusterSnapshot

SCHEMA_ID = "kubewatch-ml/snapshot/v1"

# view name in the document -> attribute of analysis.models.Analysis
VIEWS: dict[str, str] = {
    "quotas": "quotas",
    "gpu_nodes": "gpu_nodes",
    "hpas": "hpas",
    "probes": "probes",
    "zones": "zones",
    "pending": "pending",
}
_ALIASES = {
    "quota": "quotas", "namespaces": "quotas", "ns": "quotas",
    "gpu": "gpu_nodes", "gpus": "gpu_nodes", "gpu-nodes": "gpu_nodes", "nodes": "gpu_nodes",
    "hpa": "hpas", "autoscalers": "hpas",
    "probe": "probes", "zone": "zones", "az": "zones", "why-pending": "pending",
}


def resolve_views(names: Iterable[str] | None) -> tuple[str, ...]:
    """User view names (aliases allowed, comma lists allowed) -> document view names, in VIEWS order."""
    if not names:
        return tuple(VIEWS)
    chosen: set[str] = set()
    for raw in names:
        for n in raw.split(","):
            n = n.strip().lower()
            if not n:
                continue
            v = n if n in VIEWS else _ALIASES.get(n)
            if v is None:
                raise UserError(f"unknown view '{n}': choose from {', '.join(VIEWS)}")
            chosen.add(v)
    return tuple(v for v in VIEWS if v in chosen)


def rfc3339(ts: float) -> str:
    from ..recording import format_rfc3339

    return format_rfc3339(ts)


def build_document(
    analysis: "Analysis",
    cluster: "ClusterSnapshot",
    metrics: "MetricsSnapshot | None" = None,
    views: Iterable[str] | None = None,
    source: str = "live",
) -> dict:
    """The snapshot document for one analysed moment. `views` limits the `views` section."""
    chosen = resolve_views(views)
    ov = analysis.overview
    info = cluster.cluster
    doc: dict = {
        "schema": SCHEMA_ID,
        "taken_at": rfc3339(cluster.taken_at),
        "generator": f"kubewatch-ml {__version__}",
        "source": source,
        "cluster": {
            "context": info.context,
            "server": info.server,
            "version": info.version,
            "nodes": len(cluster.nodes),
            "pods": len(cluster.pods),
            "namespaces": len(cluster.namespaces),
            "ready_nodes": ov.ready_nodes,
            "cordoned_nodes": ov.cordoned_nodes,
            "gpu_nodes": ov.gpu_nodes,
            "gpu_allocatable": ov.gpu_allocatable,
            "gpu_requested": ov.gpu_requested,
            "insecure": info.insecure,
            "kinds": {k: _kind_state(s) for k, s in sorted(cluster.kinds.items())},
        },
        "metrics": {
            "source": metrics.source if metrics is not None else "none",
            "areas": {a: s for a, s in ov.metrics_areas},
        },
        "summary": {
            "critical": sum(1 for f in analysis.findings if f.severity == "critical"),
            "warning": sum(1 for f in analysis.findings if f.severity == "warning"),
            "info": sum(1 for f in analysis.findings if f.severity == "info"),
            "overview": ov.to_dict(),
        },
        "findings": [_finding(f) for f in analysis.findings],
        "views": {v: getattr(analysis, VIEWS[v]).to_dict() for v in chosen},
        "inventory": inventory(cluster),
    }
    return doc


def _kind_state(s) -> dict:
    return {"listed": s.listed, "complete": s.complete, "forbidden": s.forbidden, "error": s.error}


def _finding(f) -> dict:
    # the contract fields first, in the documented order; the rest as the model has them
    d = f.to_dict()
    head = {k: d.pop(k) for k in ("id", "severity", "kind", "namespace", "name", "summary", "action", "alert")}
    return head | d


def inventory(cluster: "ClusterSnapshot") -> dict:
    """What `diff` needs beyond the views: every node's scheduling state and every workload's size."""
    nodes = [
        {
            "name": n.name,
            "zone": n.zone,
            "ready": n.ready,
            "unschedulable": n.unschedulable,
            "taints": [f"{t.key}={t.value}:{t.effect}" if t.value else f"{t.key}:{t.effect}" for t in n.taints],
            "labels": dict(sorted(n.labels.items())),
        }
        for n in sorted(cluster.nodes.values(), key=lambda n: n.name)
    ]
    workloads = [
        {
            "kind": w.kind,
            "namespace": w.namespace,
            "name": w.name,
            "replicas": w.replicas,
            "ready_replicas": w.ready_replicas,
        }
        for key, w in sorted(cluster.workloads.items())
        if not (w.kind == "ReplicaSet" and w.owner is not None)  # a Deployment's ReplicaSets are its history
    ]
    return {"nodes": nodes, "workloads": workloads}


def render_json(doc: dict) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n"


def load_schema() -> dict:
    return json.loads(resources.files(__package__).joinpath("snapshot.schema.json").read_text())


def load_document(path: str) -> dict:
    """A snapshot JSON file written by `snapshot --format json`; one-line errors otherwise."""
    try:
        with open(path, "rb") as fh:
            doc = orjson.loads(fh.read())
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    except orjson.JSONDecodeError as e:
        raise UserError(f"{path} is not JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA_ID:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise UserError(f"{path} is not a {SCHEMA_ID} snapshot (schema: {found!r})")
    return doc
