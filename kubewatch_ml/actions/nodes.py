"""Node changes as plans: cordon / uncordon, labels, taints (the drain lives in drain.py).

The wire format follows kubectl: cordon is a strategic merge of spec.unschedulable, labels a
merge patch of metadata.labels (null removes), taints a strategic merge carrying the whole list
(NodeSpec.taints has no merge key, so the list is replaced). Each body also carries
metadata.resourceVersion, which the API server treats as a precondition (409 when stale).
"""
from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import quote

from kubewatch_ml.actions.plan import (
    MERGE_PATCH, STRATEGIC_MERGE_PATCH, ActionFailed, ActionPlan, ObjectRef, Write, dry_run, get_object,
)
from kubewatch_ml.actions.validation import (
    InvalidInput, TaintSpec, check_label, check_taint, qualified_name_error, reserved_key_error,
)


def node_path(name: str) -> str:
    return f"/api/v1/nodes/{quote(name, safe='')}"


def _rv(doc: dict) -> str:
    return (doc.get("metadata") or {}).get("resourceVersion", "")


def _cordoned(doc: dict) -> bool:
    return bool((doc.get("spec") or {}).get("unschedulable"))


def _state(flag: bool) -> str:
    return "cordoned (unschedulable)" if flag else "schedulable"


def plan_cordon(conn: Any, names: Iterable[str], unschedulable: bool = True) -> ActionPlan:
    """Cordon (or uncordon) one node or several; nodes already in that state are left alone."""
    names = list(dict.fromkeys(names))
    if not names:
        raise InvalidInput("no node selected")
    action = "cordon" if unschedulable else "uncordon"
    writes, diff, before, after = [], [], {}, {}
    for name in names:
        ref = ObjectRef("Node", name)
        doc = get_object(conn, node_path(name), ref)
        before[name] = _cordoned(doc)
        if before[name] == unschedulable:
            diff.append(f"node {name}: already {_state(unschedulable)}")
            after[name] = before[name]
            continue
        w = Write(ref, "PATCH", node_path(name), STRATEGIC_MERGE_PATCH,
                  {"metadata": {"resourceVersion": _rv(doc)}, "spec": {"unschedulable": unschedulable}},
                  _rv(doc))
        after[name] = _cordoned(dry_run(conn, w))
        diff.append(f"node {name}: {_state(before[name])} -> {_state(after[name])}")
        writes.append(w)
    changed = [w.target.name for w in writes]
    return ActionPlan(
        action, tuple(ObjectRef("Node", n) for n in names), tuple(writes), tuple(diff),
        before, after,
        rebuild=lambda: plan_cordon(conn, names, unschedulable),
        inverse=(lambda: plan_cordon(conn, changed, not unschedulable)) if changed else None,
    )


def plan_labels(conn: Any, name: str, changes: dict[str, str | None]) -> ActionPlan:
    """Add, change (key -> value) or remove (key -> None) labels on one node."""
    if not changes:
        raise InvalidInput("no label change given")
    for k, v in changes.items():
        check_label(k, v)
    ref = ObjectRef("Node", name)
    doc = get_object(conn, node_path(name), ref)
    labels = (doc.get("metadata") or {}).get("labels") or {}
    effective = {k: v for k, v in changes.items() if labels.get(k) != v}
    before = {k: labels.get(k) for k in changes}
    if not effective:
        return ActionPlan("label", (ref,), (), (), before, dict(before))
    w = Write(ref, "PATCH", node_path(name), MERGE_PATCH,
              {"metadata": {"resourceVersion": _rv(doc), "labels": effective}}, _rv(doc))
    new_labels = (dry_run(conn, w).get("metadata") or {}).get("labels") or {}
    after = {k: new_labels.get(k) for k in changes}
    diff = []
    for k in changes:
        b, a = before[k], after[k]
        if b == a:
            continue
        if b is None:
            diff.append(f"node {name}: + label {k}={a}")
        elif a is None:
            diff.append(f"node {name}: - label {k} (was {b!r})")
        else:
            diff.append(f"node {name}: label {k}: {b!r} -> {a!r}")
    undo = {k: before[k] for k in effective}
    return ActionPlan("label", (ref,), (w,), tuple(diff), before, after,
                      rebuild=lambda: plan_labels(conn, name, changes),
                      inverse=lambda: plan_labels(conn, name, undo))


def _taint_str(t: dict) -> str:
    return str(TaintSpec(t.get("key", ""), t.get("value", "") or "", t.get("effect", "")))


def _apply_taint_changes(current: list[dict], adds: list[TaintSpec],
                         removes: list[tuple[str, str | None]]) -> list[dict]:
    new = [dict(t) for t in current]
    for key, effect in removes:
        keep = [t for t in new if not (t.get("key") == key and (effect is None or t.get("effect") == effect))]
        if len(keep) == len(new):
            raise InvalidInput(f"taint {key}{':' + effect if effect else ''} is not on the node; nothing to remove")
        new = keep
    for t in adds:
        check_taint(t)
        for existing in new:
            if existing.get("key") == t.key and existing.get("effect") == t.effect:
                existing.clear()
                existing.update(t.as_json())
                break
        else:
            new.append(t.as_json())
    return new


def plan_taints(conn: Any, name: str, adds: list[TaintSpec] = (),
                removes: list[tuple[str, str | None]] = ()) -> ActionPlan:
    """Add / change (same key and effect) / remove taints; sends the whole list as kubectl does."""
    if not adds and not removes:
        raise InvalidInput("no taint change given")
    for t in adds:
        check_taint(t)
    for key, _ in removes:
        err = qualified_name_error(key, "taint key") or reserved_key_error(key, "taint")
        if err:
            raise InvalidInput(err)
    ref = ObjectRef("Node", name)
    doc = get_object(conn, node_path(name), ref)
    current = list((doc.get("spec") or {}).get("taints") or [])
    new = _apply_taint_changes(current, list(adds), list(removes))
    return _plan_taint_list(conn, ref, doc, current, new,
                            rebuild=lambda: plan_taints(conn, name, adds, removes))


def plan_restore_taints(conn: Any, name: str, added: list[dict], removed: list[dict]) -> ActionPlan:
    """Undo of a taint change: drop what it added, put back what it removed; taints others
    changed since (a controller's node.kubernetes.io/* taints included) are left as they are."""
    ref = ObjectRef("Node", name)
    doc = get_object(conn, node_path(name), ref)
    current = list((doc.get("spec") or {}).get("taints") or [])
    gone = {(t.get("key"), t.get("effect")) for t in added}
    new = [dict(t) for t in current if (t.get("key"), t.get("effect")) not in gone]
    for t in removed:
        new = [x for x in new if (x.get("key"), x.get("effect")) != (t.get("key"), t.get("effect"))]
        new.append(dict(t))
    return _plan_taint_list(conn, ref, doc, current, new,
                            rebuild=lambda: plan_restore_taints(conn, name, added, removed))


def _plan_taint_list(conn, ref, doc, current, new, rebuild) -> ActionPlan:
    key = lambda t: (t.get("key"), t.get("value", "") or "", t.get("effect"))  # noqa: E731
    before = {ref.name: [_taint_str(t) for t in current]}
    if sorted(map(key, current)) == sorted(map(key, new)):
        return ActionPlan("taint", (ref,), (), (), before, dict(before), rebuild=rebuild)
    w = Write(ref, "PATCH", node_path(ref.name), STRATEGIC_MERGE_PATCH,
              {"metadata": {"resourceVersion": _rv(doc)}, "spec": {"taints": new}}, _rv(doc),
              params=(("fieldManager", "kubewatch-ml"), ("fieldValidation", "Strict")))
    stored = list((dry_run(conn, w).get("spec") or {}).get("taints") or [])
    after = {ref.name: [_taint_str(t) for t in stored]}
    b, a = set(before[ref.name]), set(after[ref.name])
    diff = [f"node {ref.name}: + taint {t}" for t in after[ref.name] if t not in b]
    diff += [f"node {ref.name}: - taint {t}" for t in before[ref.name] if t not in a]
    ident = lambda t: (t.get("key"), t.get("value", "") or "", t.get("effect"))  # noqa: E731
    old_ids, new_ids = {ident(t) for t in current}, {ident(t) for t in stored}
    added = [t for t in stored if ident(t) not in old_ids]
    removed = [t for t in current if ident(t) not in new_ids]
    return ActionPlan("taint", (ref,), (w,), tuple(diff), before, after, rebuild=rebuild,
                      inverse=lambda: plan_restore_taints(conn, ref.name, added, removed))


def node_exists(conn: Any, name: str) -> bool:
    try:
        get_object(conn, node_path(name), ObjectRef("Node", name))
        return True
    except ActionFailed as e:
        if e.outcome == "not-found":
            return False
        raise
