"""ActionSession: what the TUI (or a script) calls. Guard first, then plan (dry run), then apply.

Every attempt lands in the audit log (ok / refused / cancelled / conflict / error); successful
label, taint and cordon changes go onto the undo stack.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from kubewatch_ml.actions import drain as drain_mod, nodes, scale
from kubewatch_ml.actions.audit import AuditLog
from kubewatch_ml.actions.guard import Guard
from kubewatch_ml.actions.plan import ActionFailed, ActionPlan, ActionResult, ObjectRef, combine, execute
from kubewatch_ml.actions.undo import UndoStack
from kubewatch_ml.actions.validation import InvalidInput, TaintSpec
from kubewatch_ml.errors import UserError


class ActionRefused(UserError):
    """Not allowed (read-only, RBAC) or not valid; nothing was sent."""


class ActionSession:
    def __init__(self, conn: Any, audit: AuditLog | None = None, guard: Guard | None = None,
                 undo: UndoStack | None = None):
        info = getattr(conn, "info", None)
        self.conn = conn
        self.guard = guard or Guard(conn)
        self.audit = audit or AuditLog(context=getattr(info, "context", "") or "", user=getattr(info, "user", "") or "")
        self.undo = undo or UndoStack()

    # -- planning: guard, validate, GET + dry run ------------------------------------------------
    def _plan(self, action: str, target: Any, build: Callable[[], ActionPlan]) -> ActionPlan:
        ok, reason = self.guard.allowed(action, target if isinstance(target, ObjectRef) else None)
        if not ok:
            self.audit.record(action, _obj(target), "refused", reason)
            raise ActionRefused(f"{action} not allowed: {reason}")
        try:
            return build()
        except UserError as e:  # InvalidInput, ActionFailed (404, server refused the dry run)
            self.audit.record(action, _obj(target), "refused" if isinstance(e, InvalidInput) else "error", str(e))
            raise

    def plan_scale(self, ref: ObjectRef, replicas: str | int) -> ActionPlan:
        plan = self._plan("scale", ref, lambda: scale.plan_scale(self.conn, ref, replicas))
        if plan.alternative is not None:  # offer the HPA change only to someone who may make it
            ok, why = self.guard.allowed("hpa-bounds", plan.alternative.targets[0])
            if not ok:
                plan.warnings += (f"changing the HPA instead is not allowed: {why}",)
                plan.alternative = None
        return plan

    def plan_hpa_bounds(self, ref: ObjectRef, lo: int | str, hi: int | str) -> ActionPlan:
        return self._plan("hpa-bounds", ref, lambda: scale.plan_hpa_bounds(self.conn, ref, lo, hi))

    def plan_cordon(self, names: list[str], unschedulable: bool = True) -> ActionPlan:
        action = "cordon" if unschedulable else "uncordon"
        return self._plan(action, [f"node/{n}" for n in names],
                          lambda: nodes.plan_cordon(self.conn, names, unschedulable))

    def plan_labels(self, node: str | list[str], changes: dict[str, str | None]) -> ActionPlan:
        """One node, or several (one confirmation, one write per node)."""
        names = [node] if isinstance(node, str) else list(node)
        return self._plan("label", [f"node/{n}" for n in names],
                          lambda: combine("label", [nodes.plan_labels(self.conn, n, changes) for n in names]))

    def plan_taints(self, node: str | list[str], adds: list[TaintSpec] = (),
                    removes: list[tuple[str, str | None]] = ()) -> ActionPlan:
        names = [node] if isinstance(node, str) else list(node)
        return self._plan("taint", [f"node/{n}" for n in names],
                          lambda: combine("taint", [nodes.plan_taints(self.conn, n, adds, removes) for n in names]))

    def plan_drain(self, node: str, force: bool = False, delete_emptydir_data: bool = False) -> ActionPlan:
        return self._plan("drain", f"node/{node}",
                          lambda: drain_mod.plan_drain(self.conn, node, force, delete_emptydir_data))

    def plan_undo(self) -> ActionPlan | None:
        """A fresh inverse plan of the newest undoable change, or None when there is nothing to undo."""
        entry = self.undo.peek()
        if entry is None:
            return None
        plan = self._plan("undo", f"undo {entry.title}", entry.build)
        plan.extra["undo_of"] = entry
        return plan

    def replan(self, plan: ActionPlan) -> ActionPlan:
        """After a 409: re-read the object and recompute the change (ask the user again)."""
        if plan.rebuild is None:
            raise ActionFailed(f"{plan.title}: cannot be recomputed")
        return self._plan(plan.action, [str(t) for t in plan.targets], plan.rebuild)

    # -- applying ----------------------------------------------------------------------------------
    def declined(self, plan: ActionPlan) -> None:
        self.audit.record(plan.action, [str(t) for t in plan.targets], "cancelled", "declined at confirmation",
                          plan.before, plan.after)

    def apply(self, plan: ActionPlan) -> ActionResult:
        res = execute(self.conn, plan)
        self._finish(plan, res)
        return res

    def drain(self, plan: ActionPlan, progress: Callable[[drain_mod.DrainProgress], None] | None = None,
              cancel: threading.Event | None = None, timeout: float = 300.0, **kw: Any) -> ActionResult:
        res = drain_mod.run_drain(self.conn, plan, progress, cancel, timeout, **kw)
        self._finish(plan, res)
        return res

    def _finish(self, plan: ActionPlan, res: ActionResult) -> None:
        self.audit.record("undo" if "undo_of" in plan.extra else plan.action, [str(t) for t in plan.targets],
                          res.outcome, res.message, plan.before, plan.after)
        if not res.ok:
            self._push_partial(plan, res)
            return
        entry = plan.extra.get("undo_of")
        if entry is not None:
            if self.undo.peek() is entry:
                self.undo.pop()
        elif res.applied:
            self.undo.push(plan)


    def _push_partial(self, plan: ActionPlan, res: ActionResult) -> None:
        """A multi-node change that stopped part-way: make the part that was applied undoable."""
        if not res.applied or plan.action not in ("cordon", "uncordon", "label", "taint") or "undo_of" in plan.extra:
            return
        done = {str(t) for t in res.applied}
        if plan.action in ("cordon", "uncordon"):
            names = [t.name for t in res.applied]
            back = plan.action == "uncordon"
            inverse = lambda: nodes.plan_cordon(self.conn, names, back)  # noqa: E731
        else:
            undo = [p.inverse for p in plan.extra.get("parts", [plan]) if str(p.targets[0]) in done and p.inverse]
            if not undo:
                return
            inverse = lambda: combine(plan.action, [u() for u in undo])  # noqa: E731
        self.undo.push(ActionPlan(plan.action, res.applied, (), plan.diff, inverse=inverse,
                                  extra={"partial": True}))


def _obj(target: Any) -> Any:
    return target if isinstance(target, (str, list)) else str(target)
