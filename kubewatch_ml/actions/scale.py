"""Scale a Deployment / StatefulSet through the scale subresource, or change its HPA's bounds.

A direct scale of an HPA-managed workload is undone by the HPA controller at its next sync
(15 s by default), so the plan says so and carries an alternative plan that moves the HPA's
minReplicas / maxReplicas instead.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from kubewatch_ml.actions.plan import (
    MERGE_PATCH, ActionFailed, ActionPlan, ObjectRef, Write, dry_run, get_object, send,
)
from kubewatch_ml.actions.validation import DEFAULT_REPLICA_CAP, InvalidInput, parse_replicas

HPA_SYNC_SECONDS = 15  # kube-controller-manager --horizontal-pod-autoscaler-sync-period default
SCALABLE = {"Deployment": "deployments", "StatefulSet": "statefulsets", "ReplicaSet": "replicasets"}


def workload_path(ref: ObjectRef) -> str:
    plural = SCALABLE.get(ref.kind)
    if plural is None:
        raise InvalidInput(f"cannot scale a {ref.kind}: only {', '.join(SCALABLE)} have replicas here")
    if not ref.namespace:
        raise InvalidInput(f"{ref.kind} {ref.name}: namespace missing")
    return f"/apis/apps/v1/namespaces/{quote(ref.namespace)}/{plural}/{quote(ref.name)}"


def hpa_path(namespace: str, name: str = "") -> str:
    base = f"/apis/autoscaling/v2/namespaces/{quote(namespace)}/horizontalpodautoscalers"
    return f"{base}/{quote(name)}" if name else base


def find_hpa(conn: Any, ref: ObjectRef) -> tuple[dict | None, str]:
    """The HPA whose scaleTargetRef names this workload, or (None, why-unknown)."""
    status, doc = send(conn, "GET", hpa_path(ref.namespace))
    if status >= 300 or not isinstance(doc, dict):
        return None, f"could not check for an HorizontalPodAutoscaler (HTTP {status})"
    for hpa in doc.get("items") or []:
        tgt = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if tgt.get("kind") == ref.kind and tgt.get("name") == ref.name:
            return hpa, ""
    return None, ""


def plan_scale(conn: Any, ref: ObjectRef, replicas: str | int, cap: int = DEFAULT_REPLICA_CAP) -> ActionPlan:
    path = workload_path(ref)
    doc = get_object(conn, path, ref)
    rv = (doc.get("metadata") or {}).get("resourceVersion", "")
    current = int((doc.get("spec") or {}).get("replicas", 1) or 0)
    n = parse_replicas(replicas, current, cap)
    hpa, why = find_hpa(conn, ref)
    warnings = [why] if why else []
    warnings += size_warnings(doc, current, n)
    alternative = None
    if hpa is not None:
        hname = hpa["metadata"]["name"]
        lo = int(hpa["spec"].get("minReplicas", 1) or 1)
        hi = int(hpa["spec"].get("maxReplicas", lo))
        warnings.append(f"HorizontalPodAutoscaler {hname} (min {lo}, max {hi}) manages these replicas: "
                        f"it would undo a direct scale within {HPA_SYNC_SECONDS} s")
        if n == 0:
            warnings.append("an HPA cannot hold 0 replicas (minReplicas >= 1); delete or pause the HPA first")
        else:
            new_lo, new_hi = (n, max(hi, n)) if n >= current else (min(lo, n), n)
            try:
                alternative = plan_hpa_bounds(conn, ObjectRef("HorizontalPodAutoscaler", hname, ref.namespace),
                                              new_lo, new_hi, cap)
            except ActionFailed as e:
                warnings.append(f"changing the HPA instead is not possible: {e}")
    w = Write(ref, "PATCH", path + "/scale", MERGE_PATCH,
              {"metadata": {"resourceVersion": rv}, "spec": {"replicas": n}}, rv)
    if n == current:
        plan_writes, after = (), current
    else:
        plan_writes = (w,)
        after = int((dry_run(conn, w).get("spec") or {}).get("replicas", n))
    diff = (f"{ref}: replicas {current} -> {after}",) if after != current else ()
    return ActionPlan("scale", (ref,), plan_writes, diff, {str(ref): current}, {str(ref): after},
                      warnings=tuple(warnings), alternative=alternative,
                      rebuild=lambda: plan_scale(conn, ref, n, cap))


def _template_gpus(doc: dict) -> int:
    spec = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
    total = 0
    for c in spec.get("containers") or []:
        res = c.get("resources") or {}
        val = (res.get("limits") or {}).get("nvidia.com/gpu") or (res.get("requests") or {}).get("nvidia.com/gpu")
        try:
            total += int(val or 0)
        except (TypeError, ValueError):
            pass
    return total


def size_warnings(doc: dict, current: int, n: int) -> list[str]:
    """Say what a big jump costs before it is confirmed (GPUs are the scarce part)."""
    out = []
    gpus = _template_gpus(doc)
    if gpus and n != current:
        delta = (n - current) * gpus
        out.append(f"each replica holds {gpus} GPU(s): {'+' if delta > 0 else ''}{delta} GPU(s) in total")
    if current and n >= 10 * current and n - current >= 50:
        out.append(f"{n} is {n // current}x the current {current} replicas: check quota and node capacity first")
    if n == 0 and current:
        out.append("0 replicas stops every pod of this workload")
    return out


def plan_hpa_bounds(conn: Any, ref: ObjectRef, min_replicas: int | str, max_replicas: int | str,
                    cap: int = DEFAULT_REPLICA_CAP) -> ActionPlan:
    lo = parse_replicas(min_replicas, cap=cap)
    hi = parse_replicas(max_replicas, cap=cap)
    if lo < 1:
        raise InvalidInput("an HPA's minReplicas must be at least 1")
    if hi < lo:
        raise InvalidInput(f"maxReplicas ({hi}) must not be below minReplicas ({lo})")
    path = hpa_path(ref.namespace, ref.name)
    doc = get_object(conn, path, ref)
    rv = (doc.get("metadata") or {}).get("resourceVersion", "")
    spec = doc.get("spec") or {}
    before = {"minReplicas": int(spec.get("minReplicas", 1) or 1), "maxReplicas": int(spec.get("maxReplicas", 0))}
    patch_spec = {k: v for k, v in (("minReplicas", lo), ("maxReplicas", hi)) if before[k] != v}
    if not patch_spec:
        return ActionPlan("hpa-bounds", (ref,), (), (), before, dict(before))
    w = Write(ref, "PATCH", path, MERGE_PATCH, {"metadata": {"resourceVersion": rv}, "spec": patch_spec}, rv)
    stored = dry_run(conn, w).get("spec") or {}
    after = {"minReplicas": int(stored.get("minReplicas", lo)), "maxReplicas": int(stored.get("maxReplicas", hi))}
    diff = tuple(f"{ref}: {k} {before[k]} -> {after[k]}" for k in before if before[k] != after[k])
    return ActionPlan("hpa-bounds", (ref,), (w,), diff, before, after,
                      rebuild=lambda: plan_hpa_bounds(conn, ref, lo, hi, cap))
