"""What the simulator's controllers remember about each pod, and small helpers they share."""
from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
STEP = 15.0
WATCHED = ("pods", "deployments", "replicasets", "statefulsets", "jobs", "daemonsets", "nodes",
           "horizontalpodautoscalers", "resourcequotas", "namespaces", "cronjobs")
OwnerKey = tuple[str, str, str]  # (namespace, kind, name)


@dataclass
class PodInfo:
    owner: OwnerKey | None
    node: str
    req: dict[str, float]
    usage: dict[str, float]  # quota usage
    state: str  # unscheduled | creating | running | ready | done
    devices: dict[str, list] = field(default_factory=dict)
    created: float = 0.0
    containers: tuple[str, ...] = ()


def ts(s: str) -> float:
    return float(calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ")))


def dur(seconds: float) -> str:
    """A Go duration as the kubelet prints back-off: 10s, 1m20s, 5m0s."""
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s}s" if m else f"{s}s"


def owner_of(obj: Obj) -> OwnerKey | None:
    for r in obj["metadata"].get("ownerReferences") or ():
        if r.get("controller"):
            return (obj["metadata"].get("namespace", ""), r["kind"], r["name"])
    return None


def state_of(pod: Obj) -> str:
    st = pod.get("status", {})
    phase = st.get("phase")
    if phase in ("Succeeded", "Failed"):
        return "done"
    if not pod["spec"].get("nodeName"):
        return "unscheduled"
    conds = {c["type"]: c["status"] for c in st.get("conditions", ())}
    if conds.get("Ready") == "True":
        return "ready"
    if phase == "Running":
        return "running"
    return "creating"
