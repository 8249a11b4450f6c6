"""Admission for pods created through the API: LimitRange defaults (LimitRanger), then ResourceQuota
(the quota admission plugin): a pod that would push a namespace past a quota's hard limits, or leaves a
quota-tracked resource unspecified, is refused with the real 403 text; an admitted pod is charged to
the quotas' status.used at once. Pods the scenario's controllers make go straight into the store."""
from __future__ import annotations

import copy
from typing import Any

from .objects import ApiError, ObjectStore
from .units import QUOTA_KEYS, format_quantity, parse_quantity, quota_usage

Obj = dict[str, Any]


def apply_limit_ranges(store: ObjectStore, pod: Obj) -> Obj:
    """Containers without requests/limits get their namespace's LimitRange defaults."""
    ranges = store.list("limitranges", pod["metadata"].get("namespace", ""))[0]
    defaults: dict[str, dict] = {"default": {}, "defaultRequest": {}}
    for lr in ranges:
        for item in (lr.get("spec") or {}).get("limits") or []:
            if item.get("type") == "Container":
                for k in defaults:
                    for res, v in (item.get(k) or {}).items():
                        defaults[k].setdefault(res, v)
    if not defaults["default"] and not defaults["defaultRequest"]:
        return pod
    pod = copy.deepcopy(pod)
    for c in (pod.get("spec") or {}).get("containers") or []:
        r = c.setdefault("resources", {})
        lim, req = r.setdefault("limits", {}), r.setdefault("requests", {})
        for res, v in defaults["default"].items():
            lim.setdefault(res, v)
        for res, v in defaults["defaultRequest"].items():
            req.setdefault(res, v)
        for res, v in lim.items():  # a request defaults to its limit (defaulting after LimitRanger)
            req.setdefault(res, v)
        if not lim:
            del r["limits"]
        if not req:
            del r["requests"]
    return pod


def _forbidden(name: str, message: str) -> ApiError:
    return ApiError(403, "Forbidden", f'pods "{name}" is forbidden: {message}', {"name": name, "kind": "pods"})


def charge_quotas(store: ObjectStore, pod: Obj) -> list[Obj]:
    """Check the pod against every quota of its namespace; return the quotas with status.used updated.
    Raises 403 Forbidden (nothing changed) when a quota is exceeded or a tracked resource is unset."""
    ns, name = pod["metadata"].get("namespace", ""), pod["metadata"].get("name", "")
    usage = quota_usage(pod)
    updated = []
    for q in store.list("resourcequotas", ns)[0]:
        hard = (q.get("status") or {}).get("hard") or (q.get("spec") or {}).get("hard") or {}
        used = dict((q.get("status") or {}).get("used") or {})
        qname = q["metadata"]["name"]
        tracked = [k for k in hard if k in QUOTA_KEYS or k == "pods"]
        missing = sorted(k for k in tracked if k not in usage and QUOTA_KEYS.get(k, ("", ""))[1] in ("cpu", "memory"))
        if missing:
            raise _forbidden(name, f"failed quota: {qname}: must specify {','.join(missing)}")
        over = [k for k in sorted(tracked) if k in usage
                and parse_quantity(used.get(k, "0")) + usage[k] > parse_quantity(hard[k]) + 1e-9]
        if over:
            req = ",".join(f"{k}={format_quantity(k, usage[k])}" for k in over)
            use = ",".join(f"{k}={used.get(k, '0')}" for k in over)
            lim = ",".join(f"{k}={hard[k]}" for k in over)
            raise _forbidden(name, f"exceeded quota: {qname}, requested: {req}, used: {use}, limited: {lim}")
        for k in tracked:
            if k in usage:
                used[k] = format_quantity(k, parse_quantity(used.get(k, "0")) + usage[k])
        updated.append(dict(q, status=dict(q.get("status") or {}, hard=hard, used=used)))
    return updated
