"""labelSelector and fieldSelector as the API server parses them, turned into predicates on dicts."""
from __future__ import annotations

import re
from typing import Any, Callable

from .objects import ApiError

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9][-A-Za-z0-9_./]*)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9][-A-Za-z0-9_./]*)\s*(==|!=|=)\s*([-A-Za-z0-9_.]*)\s*$")


def _split_top(expr: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in expr:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in parts if p.strip()]


def parse_label_selector(expr: str | None) -> Predicate | None:
    """=, ==, !=, in, notin, exists, !key. Raises ApiError 400 on a malformed selector."""
    if not expr or not expr.strip():
        return None
    tests: list[Predicate] = []
    for part in _split_top(expr):
        m = _EQ_RE.match(part)
        if m:
            key, op, val = m.groups()
            if op == "!=":
                tests.append(lambda labels, k=key, v=val: labels.get(k) != v)
            else:
                tests.append(lambda labels, k=key, v=val: labels.get(k) == v)
            continue
        m = _SET_RE.match(part)
        if m:
            neg, key, op, vals = m.groups()
            if op:
                if neg:
                    raise _bad_label(expr)
                values = {v.strip() for v in vals.split(",") if v.strip()}
                if op == "in":
                    tests.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
                else:
                    tests.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
            elif neg:
                tests.append(lambda labels, k=key: k not in labels)
            else:
                tests.append(lambda labels, k=key: k in labels)
            continue
        raise _bad_label(expr)

    def match(obj: Obj) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(t(labels) for t in tests)

    return match


def _bad_label(expr: str) -> ApiError:
    return ApiError(400, "BadRequest", f'unable to parse requirement: found \'{expr}\', expected: valid label selector')


def _get_path(obj: Obj, path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _field_value(obj: Obj, path: str) -> str:
    v = _get_path(obj, path)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


COMMON_FIELDS = ("metadata.name", "metadata.namespace")
FIELDS: dict[str, tuple[str, ...]] = {
    "pods": ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
             "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"),
    "events": ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
               "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
               "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"),
    "nodes": ("spec.unschedulable",),
    "namespaces": ("status.phase",),
    "jobs": ("status.successful",),
    "replicasets": ("status.replicas",),
}


def parse_field_selector(expr: str | None, resource: str, label_expr: str = "") -> Predicate | None:
    """metadata.name / metadata.namespace for every kind plus each kind's own field labels; = == !=."""
    if not expr or not expr.strip():
        return None
    allowed = COMMON_FIELDS + FIELDS.get(resource, ())
    tests: list[Predicate] = []
    for part in _split_top(expr):
        m = re.match(r"^\s*([A-Za-z.]+)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if not m:
            raise ApiError(400, "BadRequest", f"invalid selector: '{expr}'; can't understand '{part}'")
        path, op, val = m.groups()
        if path not in allowed:
            gv = "/v1"
            from .kinds import BY_RESOURCE
            info = BY_RESOURCE.get(resource)
            if info is not None and info.group:
                gv = f"{info.group}/{info.version}"
            raise ApiError(400, "BadRequest",
                           f'Unable to find "{gv}, Resource={resource}" that match label selector '
                           f'"{label_expr or ""}", field selector "{expr}": field label not supported: {path}')
        if path == "source":
            path = "source.component"
        if op == "!=":
            tests.append(lambda o, p=path, v=val: _field_value(o, p) != v)
        else:
            tests.append(lambda o, p=path, v=val: _field_value(o, p) == v)

    def match(obj: Obj) -> bool:
        return all(t(obj) for t in tests)

    return match


def both(a: Predicate | None, b: Predicate | None) -> Predicate | None:
    if a is None:
        return b
    if b is None:
        return a
    return lambda o: a(o) and b(o)


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector object (matchLabels + matchExpressions) against labels; empty selects all."""
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def selector_string(selector: dict | None) -> str:
    """A LabelSelector object as the selector string Scale.status.selector carries."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for e in selector.get("matchExpressions") or []:
        op, key, vals = e.get("operator"), e.get("key"), ",".join(sorted(e.get("values") or []))
        parts.append({"In": f"{key} in ({vals})", "NotIn": f"{key} notin ({vals})",
                      "Exists": key, "DoesNotExist": f"!{key}"}.get(op, key))
    return ",".join(parts)
