"""ActionPlan: exactly what a change will send, its server-computed diff, and how to send it safely.

A plan is built from a fresh GET and a server-side dry run (dryRun=All), so the diff shown in the
confirmation is what the API server would store. Every write carries the object's resourceVersion
(metadata.resourceVersion in the patch body), so a concurrent change gives 409 and the caller
re-plans and asks again instead of overwriting.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from kubewatch_ml.errors import UserError
from kubewatch_ml.sources.kube import ReadOnlyError

FIELD_MANAGER = "kubewatch-ml"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
JSON = "application/json"


@dataclass(frozen=True)
class ObjectRef:
    kind: str  # Node | Deployment | StatefulSet | HorizontalPodAutoscaler | Pod
    name: str
    namespace: str = ""

    def __str__(self) -> str:
        return f"{self.kind.lower()}/{self.namespace + '/' if self.namespace else ''}{self.name}"


def ref_of(obj: Any, kind: str | None = None) -> ObjectRef:
    """An ObjectRef from a ref, a model record (Node, Pod, Deployment...) or a raw API dict."""
    if isinstance(obj, ObjectRef):
        return obj
    if isinstance(obj, dict):
        md = obj.get("metadata") or {}
        return ObjectRef(kind or obj.get("kind", ""), md.get("name", ""), md.get("namespace", "") or "")
    return ObjectRef(kind or getattr(obj, "kind", None) or type(obj).__name__,
                     getattr(obj, "name"), getattr(obj, "namespace", "") or "")


@dataclass(frozen=True)
class Write:
    """One HTTP write of a plan."""

    target: ObjectRef
    method: str
    path: str
    content_type: str
    body: Any
    resource_version: str = ""
    params: tuple[tuple[str, str], ...] = (("fieldManager", FIELD_MANAGER),)

    def body_bytes(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()

    def describe(self) -> str:
        q = "&".join(f"{k}={v}" for k, v in self.params)
        return f"{self.method} {self.path}{'?' + q if q else ''}  ({self.content_type})\n  {json.dumps(self.body)}"


@dataclass
class ActionPlan:
    action: str  # scale | hpa-bounds | cordon | uncordon | label | taint | drain
    targets: tuple[ObjectRef, ...]
    writes: tuple[Write, ...]
    diff: tuple[str, ...]  # human-readable "before -> after" lines from the dry run
    before: dict = field(default_factory=dict)  # per target, the fields this action touches
    after: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    alternative: "ActionPlan | None" = None  # e.g. change the HPA bounds instead of scaling
    rebuild: Callable[[], "ActionPlan"] | None = None  # re-read and recompute (after a 409)
    inverse: Callable[[], "ActionPlan"] | None = None  # a fresh plan undoing this one (labels/taints/cordon)
    extra: dict = field(default_factory=dict)  # action-specific (drain: pods to evict / skip / refuse)

    @property
    def title(self) -> str:
        names = ", ".join(str(t) for t in self.targets[:3])
        more = f" and {len(self.targets) - 3} more" if len(self.targets) > 3 else ""
        return f"{self.action} {names}{more}"

    @property
    def no_op(self) -> bool:
        return not self.writes

    def describe(self) -> str:
        """The confirmation text: what changes, warnings, then exactly what is sent."""
        lines = [self.title, ""]
        lines += list(self.diff) or ["(no change: the object already looks like this)"]
        if self.warnings:
            lines += [""] + [f"! {w}" for w in self.warnings]
        if self.writes:
            lines += ["", "will send:"] + [w.describe() for w in self.writes]
        return "\n".join(lines)


@dataclass(frozen=True)
class ActionResult:
    outcome: str  # ok | conflict | not-found | forbidden | invalid | error | cancelled | refused
    message: str  # one line: what happened, or the server's Status message
    applied: tuple[ObjectRef, ...] = ()  # targets actually changed (a multi-node cordon may stop early)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


class ActionFailed(UserError):
    """Planning failed (object gone, forbidden, server refused the dry run); one line."""

    def __init__(self, message: str, outcome: str = "error"):
        super().__init__(message)
        self.outcome = outcome


# --- the HTTP helpers: everything goes through conn.request (the one HTTP path) -----------------

def _status_body(resp: Any) -> tuple[int, bytes]:
    status = getattr(resp, "status", None)
    if status is None:
        status, body = resp[0], resp[1]
    else:
        body = getattr(resp, "body", b"")
    return int(status), body or b""


def server_message(status: int, body: bytes) -> str:
    """The Status message the API server sent, as one line."""
    try:
        doc = json.loads(body)
        msg = doc.get("message") or doc.get("reason") or ""
    except (ValueError, AttributeError):
        msg = body[:200].decode("utf-8", "replace") if body else ""
    msg = " ".join(str(msg).split())
    return f"{msg} ({status})" if msg else f"HTTP {status}"


def outcome_of(status: int) -> str:
    return {401: "forbidden", 403: "forbidden", 404: "not-found", 409: "conflict",
            422: "invalid", 400: "invalid", 429: "throttled"}.get(status, "error")


def send(conn: Any, method: str, path: str, params: dict | None = None, body: Any = None,
         content_type: str | None = None) -> tuple[int, Any]:
    """One request through conn.request; returns (status, decoded JSON or raw bytes).
    A read-only connection raises ReadOnlyError (a UserError) before anything leaves."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    try:
        resp = conn.request(method, path, params=params, body=data, content_type=content_type)
    except UserError:
        raise
    except OSError as e:  # connection dropped: one line, never a traceback
        raise ActionFailed(f"{method} {path}: cannot reach the API server ({e.__class__.__name__}: {e})")
    status, raw = _status_body(resp)
    try:
        doc = json.loads(raw) if raw else None
    except ValueError:
        doc = raw
    return status, doc


def get_object(conn: Any, path: str, ref: ObjectRef) -> dict:
    status, doc = send(conn, "GET", path)
    if status == 404:
        raise ActionFailed(f"{ref} not found: it was deleted or renamed", "not-found")
    if status >= 300:
        raise ActionFailed(f"cannot read {ref}: {server_message(status, _raw(doc))}", outcome_of(status))
    return doc


def _raw(doc: Any) -> bytes:
    if isinstance(doc, (bytes, bytearray)):
        return bytes(doc)
    return json.dumps(doc).encode() if doc is not None else b""


def dry_run(conn: Any, w: Write) -> dict:
    """Send the write with dryRun=All: the server validates, admits and returns what it would store."""
    params = dict(w.params)
    params["dryRun"] = "All"
    status, doc = send(conn, w.method, w.path, params=params, body=w.body_bytes(), content_type=w.content_type)
    if status >= 300:
        what = {409: f"{w.target} changed while planning; try again"}.get(status)
        raise ActionFailed(what or f"the server refused {w.target}: {server_message(status, _raw(doc))}",
                           outcome_of(status))
    return doc if isinstance(doc, dict) else {}


def execute(conn: Any, plan: ActionPlan) -> ActionResult:
    """Send the plan's writes in order; the first failure stops the rest (nothing half-guessed).
    409 -> outcome 'conflict': re-plan with plan.rebuild() and ask the user again."""
    applied: list[ObjectRef] = []
    if plan.no_op:
        return ActionResult("ok", f"{plan.title}: nothing to change")
    for w in plan.writes:
        try:
            status, doc = send(conn, w.method, w.path, params=dict(w.params), body=w.body_bytes(),
                               content_type=w.content_type)
        except UserError as e:  # ReadOnlyError (nothing sent) -> refused; ConnectError -> error
            outcome = getattr(e, "outcome", None) or ("refused" if isinstance(e, ReadOnlyError) else "error")
            msg = str(e)
            if outcome == "error" and "timed out" in msg:  # sent, no answer: it may have landed
                msg = (f"{w.target}: no answer in time ({msg}); the change may have been applied: "
                       f"check the object before trying again")
            return ActionResult(outcome, msg, tuple(applied))
        if status == 409:
            msg = f"{w.target} was changed by someone else since the plan (409): re-read, check the new diff and confirm again"
        elif status == 404:
            msg = f"{w.target} no longer exists (404): nothing changed on it"
        elif status >= 300:
            msg = f"{w.target}: {server_message(status, _raw(doc))}"
        else:
            applied.append(w.target)
            continue
        if applied:
            msg += f"; already applied to {', '.join(str(a) for a in applied)}"
        return ActionResult(outcome_of(status), msg, tuple(applied))
    changed = [d for d in plan.diff if "already" not in d]
    summary = "; ".join(changed[:3]) + (f" (+{len(changed) - 3} more)" if len(changed) > 3 else "")
    return ActionResult("ok", f"done: {summary or plan.title}", tuple(applied))


def combine(action: str, plans: list[ActionPlan]) -> ActionPlan:
    """One confirmation for the same change on several objects (e.g. relabel a node pool)."""
    if len(plans) == 1:
        return plans[0]
    undo = [p.inverse for p in plans if p.inverse is not None]
    redo = [p.rebuild for p in plans]
    return ActionPlan(
        action, tuple(t for p in plans for t in p.targets), tuple(w for p in plans for w in p.writes),
        tuple(d for p in plans for d in p.diff),
        {str(p.targets[0]): p.before for p in plans}, {str(p.targets[0]): p.after for p in plans},
        warnings=tuple(dict.fromkeys(w for p in plans for w in p.warnings)),
        rebuild=(lambda: combine(action, [r() for r in redo])) if all(redo) else None,
        inverse=(lambda: combine(action, [u() for u in undo])) if undo else None,
        extra={"parts": list(plans)},
    )
