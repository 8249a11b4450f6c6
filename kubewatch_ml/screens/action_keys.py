"""Action keys for the app: s scale, c / u cordon / uncordon, d drain, l labels, t taints, U undo.

The app mixes `ActionKeys` in and appends `ACTION_BINDINGS` (see app.py). Permission answers come
from the Guard's cache (`peek`, never blocking the UI); a miss starts a worker that asks the API
server and refreshes the footer. Disallowed actions stay visible but greyed (check_action -> None)
and their reason is shown once as a notification and on each press. Each flow runs in a worker:
input -> plan (GET + dry run, in a thread) -> confirmation -> write -> result notified; the view
then updates from the watch.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

from textual.binding import Binding
from textual.message import Message

from ..actions import validation as v
from ..actions.plan import ActionFailed, ActionPlan, ActionResult, ObjectRef, send
from ..actions.session import ActionRefused, ActionSession
from ..errors import UserError
from .action_confirm import ConfirmActionScreen, ScaleChoiceScreen
from .action_drain import DrainScreen
from .action_input import ActionInputScreen

ACTION_BINDINGS = [
    Binding("s", "act_scale", "Scale", id="action.scale", tooltip="Scale the selected workload (or its HPA's bounds)"),
    Binding("c", "act_cordon", "Cordon", id="action.cordon", tooltip="Cordon the selected node(s)"),
    Binding("u", "act_uncordon", "Uncordon", id="action.uncordon", tooltip="Uncordon the selected node(s)"),
    Binding("d", "act_drain", "Drain", id="action.drain", tooltip="Cordon the node and evict its pods (PDBs honoured)"),
    Binding("l", "act_label", "Labels", id="action.label", tooltip="Add, change or remove labels on the selected node"),
    Binding("t", "act_taint", "Taints", id="action.taint", tooltip="Add, change or remove taints on the selected node"),
    Binding("m", "act_mark", "Mark", id="action.mark", show=False,
            tooltip="Mark / unmark the selected node: c / u then act on every marked node"),
    Binding("U", "act_undo", "Undo", id="action.undo", tooltip="Undo the last label / taint / cordon change of this session"),
]

_NODE_ACTIONS = {"act_cordon": "cordon", "act_uncordon": "uncordon", "act_drain": "drain",
                 "act_label": "label", "act_taint": "taint", "act_undo": "undo"}
_ANY_NODE = ObjectRef("Node", "*")


class PermissionsChecked(Message):
    """A guard answer arrived (posted from a worker thread); the footer re-evaluates check_action."""


class ActionKeys:
    _action_session: ActionSession | None = None
    _guard_pending: set | None = None
    _guard_tried: dict | None = None  # subject -> monotonic time of the last prefetch
    _reasons_shown: set | None = None
    _action_busy = False
    _marked: list | None = None  # nodes marked with `m` for a multi-node cordon / uncordon

    # ------------------------------------------------------------------ plumbing
    def action_session(self) -> ActionSession | None:
        """The session for the live connection, or None (snapshot / replay has no cluster to change)."""
        if self._action_session is None:
            conn = getattr(getattr(self, "feed", None), "conn", None)
            if conn is None:
                return None
            self._action_session = ActionSession(conn)
        return self._action_session

    def _selected(self) -> ObjectRef | None:
        sel = self.current_selection()  # type: ignore[attr-defined]
        return None if sel is None else ObjectRef(sel.kind, sel.name, sel.namespace or "")

    def marked_selection(self) -> list[ObjectRef]:
        """Nodes marked with `m` (in marking order)."""
        return list(getattr(self, "_marked", None) or [])

    def _selected_nodes(self, use_marks: bool = False) -> list[str]:
        refs = self.marked_selection() if use_marks else []
        if not refs and self._selected() is not None:
            refs = [self._selected()]
        return [r.name for r in refs if r.kind == "Node"]

    def action_act_mark(self) -> None:
        sel = self._selected()
        if sel is None or sel.kind != "Node":
            self.notify("marking is for nodes (GPU nodes view)", severity="warning")  # type: ignore[attr-defined]
            return
        marked = self._marked = getattr(self, "_marked", None) or []
        if sel in marked:
            marked.remove(sel)
        else:
            marked.append(sel)
        names = ", ".join(r.name for r in marked[:6]) + (" ..." if len(marked) > 6 else "")
        self.notify(f"marked {len(marked)} node(s){': ' + names if marked else ''}")  # type: ignore[attr-defined]

    def _guard_subject(self, action: str) -> tuple[str, ObjectRef] | None:
        if action in _NODE_ACTIONS:
            return _NODE_ACTIONS[action], _ANY_NODE
        if action == "act_scale":
            sel = self._selected()
            if sel is None or not sel.namespace:
                return None
            kind = sel.kind if sel.kind in ("Deployment", "StatefulSet") else "Deployment"
            return "scale", ObjectRef(kind, sel.name, sel.namespace)
        return None

    def disabled_reason(self, action: str) -> str | None:
        """Why an action key is disabled, or None when it is (or may be) allowed."""
        session = self.action_session()
        if session is None:
            return "no live cluster (snapshot or replay)"
        subject = self._guard_subject(action)
        if subject is None:
            return None
        answer = session.guard.peek(*subject)
        return None if answer is None or answer[0] else answer[1]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not action.startswith("act_"):
            return super().check_action(action, parameters)  # type: ignore[misc]
        main = getattr(self, "main_screen", None)
        if main is not None and self.screen is not main:  # type: ignore[attr-defined]
            return False  # behind a modal (a confirmation, the drain) no other action starts
        session = self.action_session()
        if session is None:
            return None
        subject = self._guard_subject(action)
        if subject is None:
            return True
        answer = session.guard.peek(*subject)
        if answer is None:
            self._prefetch(session, subject)
            return True  # optimistic until known; the flow checks again before sending anything
        if not answer[0]:
            self._show_reason_once(answer[1])
            return None
        return True

    def _prefetch(self, session: ActionSession, subject: tuple[str, ObjectRef]) -> None:
        if self._guard_pending is None:
            self._guard_pending, self._guard_tried = set(), {}
        pending, tried = self._guard_pending, self._guard_tried
        now = time.monotonic()
        if subject in pending or now - tried.get(subject, -1e9) < 15.0:  # an unreachable server is not hammered
            return
        pending.add(subject)
        tried[subject] = now

        def ask() -> None:
            try:
                session.guard.allowed(*subject)
            finally:
                pending.discard(subject)
                self.post_message(PermissionsChecked())  # type: ignore[attr-defined]

        self.run_worker(ask, thread=True, group="action-guard", exit_on_error=False)  # type: ignore[attr-defined]

    def on_permissions_checked(self, message: PermissionsChecked) -> None:
        self.refresh_bindings()  # type: ignore[attr-defined]

    def _show_reason_once(self, reason: str) -> None:
        shown = self._reasons_shown = self._reasons_shown if self._reasons_shown is not None else set()
        if reason not in shown:
            shown.add(reason)
            self.call_later(self.notify, f"actions disabled: {reason}", severity="warning", timeout=8)  # type: ignore[attr-defined]

    def _start(self, action: str, flow) -> None:
        reason = self.disabled_reason(action)
        if reason or self._action_busy:
            flow.close()
            self.notify(f"{action.removeprefix('act_')}: disabled ({reason})" if reason  # type: ignore[attr-defined]
                        else "another action is still in progress", severity="warning")
            return
        self._action_busy = True  # one action at a time: a write in flight is never cancelled by a new key
        self.run_worker(self._guarded(flow), group="action", exit_on_error=False)  # type: ignore[attr-defined]

    async def _guarded(self, flow) -> None:
        try:
            await flow
        except UserError as e:  # validation, refusal, 404, server said no: one line, never a traceback
            self.notify(str(e), severity="error", timeout=10)  # type: ignore[attr-defined]
        finally:
            self._action_busy = False

    async def _permit(self, session: ActionSession, action: str, ref: ObjectRef) -> None:
        """Ask (or use the cached answer) before any input is asked for; refuse with the reason."""
        ok, why = await asyncio.to_thread(session.guard.allowed, action, ref)
        self.refresh_bindings()  # type: ignore[attr-defined]
        if not ok:
            session.audit.record(action, str(ref), "refused", why)
            raise ActionRefused(f"{action} not allowed: {why}")

    def _report(self, res: ActionResult) -> None:
        severity = "information" if res.ok else ("warning" if res.outcome == "cancelled" else "error")
        self.notify(res.message, severity=severity, timeout=8 if res.ok else 12)  # type: ignore[attr-defined]

    async def _confirm_and_apply(self, session: ActionSession, plan: ActionPlan, note: str = "",
                                 confirmed: bool = False) -> ActionResult | None:
        while True:
            if plan.no_op:  # nothing would change: say so instead of asking
                self.notify("; ".join(plan.diff) or f"{plan.title}: nothing to change")  # type: ignore[attr-defined]
                return None
            if not confirmed:
                ok = await self.push_screen_wait(ConfirmActionScreen(plan, note))  # type: ignore[attr-defined]
                if not ok:
                    session.declined(plan)
                    self.notify("cancelled: nothing was sent")  # type: ignore[attr-defined]
                    return None
            res = await asyncio.to_thread(session.apply, plan)
            if res.outcome != "conflict":
                self._report(res)
                return res
            # someone changed the object meanwhile: recompute from a fresh read and ask again
            old_diff = plan.diff
            plan = await asyncio.to_thread(session.replan, plan)
            note, confirmed = res.message, False
            if plan.diff == old_diff:
                note += "\n(only fields this change does not touch were changed: the change is the same)"

    def _need_node(self, use_marks: bool = False) -> list[str] | None:
        names = self._selected_nodes(use_marks)
        if not names:
            self.notify("select a node first (GPU nodes view)", severity="warning")  # type: ignore[attr-defined]
            return None
        return names

    # ------------------------------------------------------------------ cordon / uncordon
    def action_act_cordon(self) -> None:
        if (names := self._need_node(use_marks=True)) is not None:
            self._start("act_cordon", self._cordon_flow(names, True))

    def action_act_uncordon(self) -> None:
        if (names := self._need_node(use_marks=True)) is not None:
            self._start("act_uncordon", self._cordon_flow(names, False))

    async def _cordon_flow(self, names: list[str], unschedulable: bool) -> None:
        session = self.action_session()
        plan = await asyncio.to_thread(session.plan_cordon, names, unschedulable)
        res = await self._confirm_and_apply(session, plan)
        if res is not None and res.ok:
            self._marked = []  # marks are used up by a successful multi-node change

    # ------------------------------------------------------------------ labels / taints
    def action_act_label(self) -> None:
        if (names := self._need_node(use_marks=True)) is not None:
            self._start("act_label", self._label_flow(names))

    async def _node_json(self, session: ActionSession, name: str) -> dict:
        status, doc = await asyncio.to_thread(send, session.conn, "GET", f"/api/v1/nodes/{name}")
        if status == 404:
            raise ActionFailed(f"node {name} not found: it was deleted")
        return doc if isinstance(doc, dict) else {}

    async def _label_flow(self, names: list[str]) -> None:
        session = self.action_session()
        name = names[0]
        await self._permit(session, "label", ObjectRef("Node", name))
        labels = ((await self._node_json(session, name)).get("metadata") or {}).get("labels") or {}
        choices = [f"{k}=" if k not in labels else f"{k}={labels[k]}" for k in v.SUGGESTED_LABEL_KEYS]
        choices += [f"{k}={val}" for k, val in sorted(labels.items()) if not v.reserved_key_error(k)]

        def check(text: str) -> str | None:
            try:
                v.parse_label_changes(text)
            except v.InvalidInput as e:
                return str(e)
            return None

        text = await self.push_screen_wait(ActionInputScreen(  # type: ignore[attr-defined]
            f"Labels on {_nodes_title(names)}", "key=value sets, key- removes; several separated by spaces",
            check, choices))
        if text is None:
            return
        plan = await asyncio.to_thread(session.plan_labels, names, v.parse_label_changes(text))
        if (await self._confirm_and_apply(session, plan)) is not None:
            self._marked = []

    def action_act_taint(self) -> None:
        if (names := self._need_node(use_marks=True)) is not None:
            self._start("act_taint", self._taint_flow(names))

    async def _taint_flow(self, names: list[str]) -> None:
        session = self.action_session()
        name = names[0]
        await self._permit(session, "taint", ObjectRef("Node", name))
        taints = ((await self._node_json(session, name)).get("spec") or {}).get("taints") or []
        current = [str(v.TaintSpec(t.get("key", ""), t.get("value", "") or "", t.get("effect", ""))) for t in taints]
        choices = list(v.SUGGESTED_TAINTS) + [f"{t.get('key')}:{t.get('effect')}-" for t in taints]

        def check(text: str) -> str | None:
            try:
                v.parse_taint_changes(text)
            except v.InvalidInput as e:
                return str(e)
            return None

        hint = ("key=value:Effect adds (NoSchedule | PreferNoSchedule | NoExecute), key- or key:Effect- removes"
                + (f"\nnow on {name}: {', '.join(current) or 'no taints'}"))
        text = await self.push_screen_wait(ActionInputScreen(f"Taints on {_nodes_title(names)}", hint, check, choices))  # type: ignore[attr-defined]
        if text is None:
            return
        adds, removes = v.parse_taint_changes(text)
        plan = await asyncio.to_thread(session.plan_taints, names, adds, removes)
        if (await self._confirm_and_apply(session, plan)) is not None:
            self._marked = []

    # ------------------------------------------------------------------ drain
    def action_act_drain(self) -> None:
        if (names := self._need_node()) is not None:
            self._start("act_drain", self._drain_flow(names[0]))

    async def _drain_flow(self, name: str) -> None:
        session = self.action_session()
        note = ""
        try:
            plan = await asyncio.to_thread(session.plan_drain, name)
        except ActionFailed as e:
            if e.outcome != "refused":
                raise
            plan = await asyncio.to_thread(session.plan_drain, name, True, True)
            note = f"{e}\nDraining anyway DELETES those pods and their emptyDir data for good."
        ok = await self.push_screen_wait(ConfirmActionScreen(plan, note, "Drain"))  # type: ignore[attr-defined]
        if not ok:
            session.declined(plan)
            self.notify("cancelled: nothing was sent")  # type: ignore[attr-defined]
            return
        res = await self.push_screen_wait(DrainScreen(session, plan))  # type: ignore[attr-defined]
        self._report(res)

    # ------------------------------------------------------------------ scale
    def action_act_scale(self) -> None:
        sel = self._selected()
        if sel is None or sel.kind not in ("Deployment", "StatefulSet", "HorizontalPodAutoscaler", "ReplicaSet", "Pod"):
            self.notify("select a Deployment, StatefulSet, HPA or one of their pods first", severity="warning")  # type: ignore[attr-defined]
            return
        self._start("act_scale", self._scale_flow(sel))

    async def _scale_flow(self, sel: ObjectRef) -> None:
        session = self.action_session()
        target, current = await asyncio.to_thread(resolve_scale_target, session.conn, sel)
        await self._permit(session, "scale", target)

        def check(text: str) -> str | None:
            try:
                v.parse_replicas(text, current)
            except v.InvalidInput as e:
                return str(e)
            return None

        text = await self.push_screen_wait(ActionInputScreen(  # type: ignore[attr-defined]
            f"Scale {target}", f"replicas now {current}; a whole number from 0 to {v.DEFAULT_REPLICA_CAP}",
            check, value=str(current)))
        if text is None:
            return
        plan = await asyncio.to_thread(session.plan_scale, target, text)
        if plan.alternative is None:
            await self._confirm_and_apply(session, plan)
            return
        choice = await self.push_screen_wait(ScaleChoiceScreen(plan))  # type: ignore[attr-defined]
        if choice == "hpa" and plan.alternative is not None:
            await self._confirm_and_apply(session, plan.alternative, confirmed=True)
        elif choice == "scale":
            await self._confirm_and_apply(session, plan, confirmed=True)
        else:
            session.declined(plan)
            self.notify("cancelled: nothing was sent")  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ undo
    def action_act_undo(self) -> None:
        self._start("act_undo", self._undo_flow())

    async def _undo_flow(self) -> None:
        session = self.action_session()
        plan = await asyncio.to_thread(session.plan_undo)
        if plan is None:
            self.notify("nothing to undo in this session")  # type: ignore[attr-defined]
            return
        await self._confirm_and_apply(session, plan, note=f"undo: {plan.extra['undo_of'].title}")


def _nodes_title(names: list[str]) -> str:
    return f"node {names[0]}" if len(names) == 1 else f"{len(names)} nodes ({', '.join(names[:3])}{' ...' if len(names) > 3 else ''})"


def resolve_scale_target(conn: Any, sel: ObjectRef) -> tuple[ObjectRef, int]:
    """The Deployment / StatefulSet behind a selected HPA, ReplicaSet or Pod, and its replicas now."""
    from ..actions.scale import hpa_path, workload_path

    ref = sel
    for _ in range(3):
        if ref.kind in ("Deployment", "StatefulSet"):
            break
        if ref.kind == "HorizontalPodAutoscaler":
            status, doc = send(conn, "GET", hpa_path(ref.namespace, ref.name))
            tgt = ((doc or {}).get("spec") or {}).get("scaleTargetRef") or {} if status == 200 else {}
            if not tgt:
                raise ActionFailed(f"cannot read {ref} (HTTP {status})")
            ref = ObjectRef(tgt.get("kind", ""), tgt.get("name", ""), ref.namespace)
            continue
        if ref.kind not in ("Pod", "ReplicaSet"):
            raise ActionFailed(f"{ref} is not scaled through a Deployment or StatefulSet (only those are scaled here)")
        path = (f"/api/v1/namespaces/{ref.namespace}/pods/{ref.name}" if ref.kind == "Pod"
                else f"/apis/apps/v1/namespaces/{ref.namespace}/replicasets/{ref.name}")
        status, doc = send(conn, "GET", path)
        owner = next((o for o in ((doc or {}).get("metadata") or {}).get("ownerReferences") or []
                      if o.get("controller")), None) if status == 200 else None
        if owner is None:
            raise ActionFailed(f"{ref} has no scalable controller")
        ref = ObjectRef(owner.get("kind", ""), owner.get("name", ""), ref.namespace)
    status, doc = send(conn, "GET", workload_path(ref))
    if status != 200:
        raise ActionFailed(f"cannot read {ref} (HTTP {status})")
    return ref, int(((doc or {}).get("spec") or {}).get("replicas", 1) or 0)


__all__ = ["ACTION_BINDINGS", "ActionKeys", "PermissionsChecked", "resolve_scale_target"]
