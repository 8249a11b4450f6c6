"""Is an action allowed? Read-only mode first, then RBAC through SelfSubjectAccessReview.

Answers are cached per (verb, group, resource, subresource, namespace) for `ttl` seconds so the UI
can show disabled actions with their reason without asking the API server on every key press.
`allowed` may block on HTTP (call it from a worker); `peek` never does (call it from the UI thread).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from kubewatch_ml.actions.plan import JSON, ObjectRef, ref_of, send, server_message, _raw
from kubewatch_ml.errors import UserError

SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
READ_ONLY_REASON = "read-only mode"


@dataclass(frozen=True)
class Access:
    verb: str
    resource: str
    group: str = ""
    subresource: str = ""
    namespace: str = ""  # "" = all namespaces / cluster-scoped

    def __str__(self) -> str:
        res = self.resource + (f"/{self.subresource}" if self.subresource else "")
        res = f"{res}.{self.group}" if self.group else res
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.verb} {res}{where}"


_NODE_PATCH = (Access("patch", "nodes"),)
_WORKLOADS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "ReplicaSet": "replicasets"}


def accesses_for(action: str, ref: ObjectRef | None) -> tuple[Access, ...]:
    """The permissions an action needs on an object (what kubectl would need for the same change)."""
    ns = ref.namespace if ref else ""
    if action in ("cordon", "uncordon", "label", "taint", "undo"):
        return _NODE_PATCH
    if action == "drain":
        return _NODE_PATCH + (Access("list", "pods"), Access("create", "pods", "", "eviction"))
    if action == "scale":
        plural = _WORKLOADS.get(ref.kind if ref else "Deployment", "deployments")
        return (Access("patch", plural, "apps", "scale", ns),)
    if action == "hpa-bounds":
        return (Access("patch", "horizontalpodautoscalers", "autoscaling", "", ns),)
    raise ValueError(f"unknown action {action!r}")


class Guard:
    def __init__(self, conn: Any, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self._conn = conn
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[Access, tuple[float, bool, str]] = {}
        self._lock = threading.Lock()
        self.reviews_sent = 0  # SelfSubjectAccessReviews actually posted (cache misses)

    @property
    def readonly(self) -> bool:
        return bool(getattr(self._conn, "readonly", False))

    def can_i(self, access: Access) -> tuple[bool, str]:
        if self.readonly:
            return False, READ_ONLY_REASON
        now = self._clock()
        with self._lock:
            hit = self._cache.get(access)
        if hit and now - hit[0] < self._ttl:
            return hit[1], hit[2]
        try:
            ok, reason = self._review(access)
        except UserError as e:  # cannot reach the server: say so, but do not remember it
            return False, f"cannot check permission: {e}"
        with self._lock:
            self._cache[access] = (now, ok, reason)
        return ok, reason

    def _review(self, a: Access) -> tuple[bool, str]:
        attrs = {"verb": a.verb, "resource": a.resource, "group": a.group}
        if a.subresource:
            attrs["subresource"] = a.subresource
        if a.namespace:
            attrs["namespace"] = a.namespace
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attrs}}
        self.reviews_sent += 1
        status, doc = send(self._conn, "POST", SSAR_PATH, body=body, content_type=JSON)
        if status >= 300 or not isinstance(doc, dict):
            # cannot tell: let the action be offered; the server still enforces RBAC on the write
            return True, f"permission not verified ({server_message(status, _raw(doc))})"
        st = doc.get("status") or {}
        if st.get("allowed"):
            return True, ""
        user = getattr(getattr(self._conn, "info", None), "user", "") or "you"
        why = st.get("reason") or st.get("evaluationError") or "RBAC does not allow it"
        return False, f"{user} may not {a} ({why})"

    def allowed(self, action: str, obj: Any = None) -> tuple[bool, str]:
        """(True, "") or (False, one-line reason). Blocking on a cache miss."""
        if self.readonly:
            return False, READ_ONLY_REASON
        ref = ref_of(obj) if obj is not None else None
        notes = []
        for a in accesses_for(action, ref):
            ok, reason = self.can_i(a)
            if not ok:
                return False, reason
            if reason:
                notes.append(reason)
        return True, "; ".join(notes)

    def peek(self, action: str, obj: Any = None) -> tuple[bool, str] | None:
        """The cached answer, or None when it still has to be asked (never blocks)."""
        if self.readonly:
            return False, READ_ONLY_REASON
        ref = ref_of(obj) if obj is not None else None
        now = self._clock()
        with self._lock:
            for a in accesses_for(action, ref):
                hit = self._cache.get(a)
                if not hit or now - hit[0] >= self._ttl:
                    return None
                if not hit[1]:
                    return False, hit[2]
        return True, ""

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
