"""Drain a node like `kubectl drain --ignore-daemonsets`: cordon, evict through the Eviction API
honouring PodDisruptionBudgets (429 -> wait and retry with backoff), then wait until the pods are gone.

Planning lists what will be evicted, skipped (DaemonSet and mirror pods) and refused (pods without a
controller or with emptyDir data, unless forced) before anything is sent. Cancelling leaves the node
cordoned and says how far the drain got.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import quote

from kubewatch_ml.actions.nodes import node_path, plan_cordon
from kubewatch_ml.actions.plan import (
    JSON, ActionFailed, ActionPlan, ActionResult, ObjectRef, execute, send, server_message, _raw,
)

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


@dataclass(frozen=True)
class DrainProgress:
    phase: str  # cordon | evict | blocked | wait | done | cancelled | failed
    done: int
    total: int
    message: str


@dataclass(frozen=True)
class PodRef:
    namespace: str
    name: str
    uid: str = ""

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def list_node_pods(conn: Any, node: str) -> list[dict]:
    pods, cont = [], None
    while True:
        params = {"fieldSelector": f"spec.nodeName={node}", "limit": "500"}
        if cont:
            params["continue"] = cont
        status, doc = send(conn, "GET", "/api/v1/pods", params=params)
        if status >= 300 or not isinstance(doc, dict):
            raise ActionFailed(f"cannot list the pods on node {node}: {server_message(status, _raw(doc))}")
        pods += doc.get("items") or []
        cont = (doc.get("metadata") or {}).get("continue")
        if not cont:
            return pods


def classify(pod: dict, force: bool, delete_emptydir_data: bool) -> tuple[str, str]:
    """-> ('evict' | 'skip' | 'refuse', why)."""
    md = pod.get("metadata") or {}
    if MIRROR_ANNOTATION in (md.get("annotations") or {}):
        return "skip", "mirror (static) pod"
    owner = next((o for o in md.get("ownerReferences") or [] if o.get("controller")), None)
    if owner and owner.get("kind") == "DaemonSet":
        return "skip", f"DaemonSet {owner.get('name')}"
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return "evict", "finished"
    if owner is None and not force:
        return "refuse", "no controller: it would not come back (use force)"
    if any("emptyDir" in v for v in (pod.get("spec") or {}).get("volumes") or []) and not delete_emptydir_data:
        return "refuse", "emptyDir data would be lost (allow deleting emptyDir data)"
    return "evict", "" if owner else "no controller (forced)"


def plan_drain(conn: Any, node: str, force: bool = False, delete_emptydir_data: bool = False) -> ActionPlan:
    cordon = plan_cordon(conn, [node], True)
    pods = list_node_pods(conn, node)
    evict, skipped, refused = [], [], []
    for p in pods:
        md = p.get("metadata") or {}
        ref = PodRef(md.get("namespace", ""), md.get("name", ""), md.get("uid", ""))
        verdict, why = classify(p, force, delete_emptydir_data)
        {"evict": evict, "skip": skipped, "refuse": refused}[verdict].append((ref, why))
    if refused:
        names = ", ".join(f"{r} ({why})" for r, why in refused[:5])
        more = f" and {len(refused) - 5} more" if len(refused) > 5 else ""
        raise ActionFailed(f"cannot drain {node}: {names}{more}; nothing was changed", "refused")
    diff = list(cordon.diff) + [f"evict {r}" + (f"  [{why}]" if why else "") for r, why in evict]
    diff += [f"skip  {r}  [{why}]" for r, why in skipped]
    labels = {(p.get("metadata") or {}).get("name"): (p.get("metadata") or {}).get("labels") or {} for p in pods}
    warnings = blocking_pdbs(conn, [(r, labels.get(r.name) or {}) for r, _ in evict])
    then = [f"then per pod: POST /api/v1/namespaces/<ns>/pods/<pod>/eviction  ({JSON}, policy/v1 Eviction), "
            "429 (PodDisruptionBudget) -> wait and retry; then wait until the pods are gone"] if evict else []
    return ActionPlan("drain", (ObjectRef("Node", node),), cordon.writes, tuple(diff),
                      cordon.before, cordon.after,
                      warnings=tuple(warnings + then),
                      rebuild=lambda: plan_drain(conn, node, force, delete_emptydir_data),
                      inverse=cordon.inverse,
                      extra={"evict": [r for r, _ in evict], "skipped": skipped, "node": node})


def _selector_matches(sel: dict, labels: dict) -> bool:
    if not sel:
        return False  # an empty PDB selector matches nothing in policy/v1 eviction
    for k, val in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != val:
            return False
    for req in sel.get("matchExpressions") or []:
        k, op, vals = req.get("key"), req.get("operator"), req.get("values") or []
        if (op == "In" and labels.get(k) not in vals) or (op == "NotIn" and k in labels and labels[k] in vals) \
                or (op == "Exists" and k not in labels) or (op == "DoesNotExist" and k in labels):
            return False
    return True


def blocking_pdbs(conn: Any, pods: list[tuple[PodRef, dict]]) -> list[str]:
    """Which pods a PodDisruptionBudget protects right now (0 disruptions allowed): the drain waits on them."""
    out: list[str] = []
    for ns in sorted({p.namespace for p, _ in pods}):
        status, doc = send(conn, "GET", f"/apis/policy/v1/namespaces/{quote(ns)}/poddisruptionbudgets")
        if status != 200 or not isinstance(doc, dict):
            continue
        for pdb in doc.get("items") or []:
            sel = (pdb.get("spec") or {}).get("selector") or {}
            allowed = int((pdb.get("status") or {}).get("disruptionsAllowed", 0) or 0)
            hit = [str(p) for p, lab in pods if p.namespace == ns and _selector_matches(sel, lab)]
            if len(hit) > allowed:  # enough budget for all of them: nothing to wait for
                name = pdb["metadata"]["name"]
                out.append(f"PodDisruptionBudget {ns}/{name} allows {allowed} disruption(s) now and covers "
                           f"{', '.join(hit[:4])}{' ...' if len(hit) > 4 else ''}; the drain will wait and retry until it allows more")
    return out


def _evict(conn: Any, pod: PodRef) -> tuple[int, str]:
    body = {"kind": "Eviction", "apiVersion": "policy/v1",
            "metadata": {"name": pod.name, "namespace": pod.namespace}, "deleteOptions": {}}
    status, doc = send(conn, "POST", f"/api/v1/namespaces/{quote(pod.namespace)}/pods/{quote(pod.name)}/eviction",
                       body=body, content_type=JSON)
    return status, server_message(status, _raw(doc))


def _gone(conn: Any, pod: PodRef) -> bool:
    status, doc = send(conn, "GET", f"/api/v1/namespaces/{quote(pod.namespace)}/pods/{quote(pod.name)}")
    if status == 404:
        return True
    uid = ((doc or {}).get("metadata") or {}).get("uid", "") if isinstance(doc, dict) else ""
    return bool(pod.uid and uid and uid != pod.uid)  # a new pod with the same name (StatefulSet)


def run_drain(conn: Any, plan: ActionPlan, progress: Callable[[DrainProgress], None] | None = None,
              cancel: threading.Event | None = None, timeout: float = 300.0, poll: float = 1.0,
              backoff: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 10.0),
              clock: Callable[[], float] = time.monotonic) -> ActionResult:
    """Carry out a drain plan; blocking (run it in a worker thread)."""
    cancel = cancel or threading.Event()
    report = progress or (lambda p: None)
    node = plan.extra["node"]
    pending: list[PodRef] = list(plan.extra["evict"])
    total = len(pending)
    deadline = clock() + timeout

    report(DrainProgress("cordon", 0, total, f"cordoning {node}"))
    res = execute(conn, plan)
    if not res.ok:
        return res

    def stopped(done: int) -> ActionResult | None:
        if cancel.is_set():
            msg = f"drain of {node} cancelled after {done}/{total} pods; the node stays cordoned"
            report(DrainProgress("cancelled", done, total, msg))
            return ActionResult("cancelled", msg, res.applied)
        if clock() > deadline:
            msg = f"drain of {node} timed out after {timeout:.0f} s with {total - done} pods left; the node stays cordoned"
            report(DrainProgress("failed", done, total, msg))
            return ActionResult("error", msg, res.applied)
        return None

    evicted: list[PodRef] = []
    attempt = 0
    while pending:
        blocked: list[tuple[PodRef, str]] = []
        for pod in pending:
            if (r := stopped(len(evicted))) is not None:
                return r
            status, msg = _evict(conn, pod)
            if status in (200, 201, 404):  # 404: already gone
                evicted.append(pod)
                report(DrainProgress("evict", len(evicted), total, f"evicted {pod}"))
            elif status == 429:
                blocked.append((pod, msg))
            else:
                msg = f"eviction of {pod} failed: {msg}; the node stays cordoned"
                report(DrainProgress("failed", len(evicted), total, msg))
                return ActionResult("error", msg, res.applied)
        pending = [p for p, _ in blocked]
        if pending:
            delay = backoff[min(attempt, len(backoff) - 1)]
            attempt += 1
            report(DrainProgress("blocked", len(evicted), total,
                                 f"{len(pending)} pod(s) blocked ({blocked[0][0]}: {blocked[0][1]}); retry in {delay:g} s"))
            if cancel.wait(delay):
                return stopped(len(evicted))

    waiting = list(evicted)
    while waiting:
        waiting = [p for p in waiting if not _gone(conn, p)]
        if not waiting:
            break
        report(DrainProgress("wait", total - len(waiting), total, f"waiting for {len(waiting)} pod(s) to terminate"))
        if (r := stopped(total - len(waiting))) is not None:
            return r
        if cancel.wait(poll):
            return stopped(total - len(waiting))
    skipped = len(plan.extra.get("skipped") or [])
    msg = f"drained {node}: evicted {total} pod(s)" + (f", skipped {skipped} DaemonSet/mirror pod(s)" if skipped else "")
    report(DrainProgress("done", total, total, msg))
    return ActionResult("ok", msg, res.applied)
