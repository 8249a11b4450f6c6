"""Kubernetes resource quantities for the simulator: parse "500m" / "16Gi" / "8", format them back,
and add up a pod's requests and limits the way quota admission counts them."""
from __future__ import annotations

from typing import Any

_SUFFIX = {
    "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4, "Pi": 1024 ** 5, "Ei": 1024 ** 6,
    "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
}


def parse_quantity(q: Any) -> float:
    """A quantity string (or number) as a float in base units (cores, bytes, count)."""
    if isinstance(q, (int, float)):
        return float(q)
    s = str(q).strip()
    for suf in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"):
        if s.endswith(suf):
            return float(s[:-2]) * _SUFFIX[suf]
    if s and s[-1] in "numkMGTPE" and not s[-2:-1] in ("e", "E"):
        return float(s[:-1]) * _SUFFIX[s[-1]]
    return float(s)


def format_cpu(cores: float) -> str:
    """Cores as the API server canonicalises them: whole cores as "4", else millicores "1500m"."""
    milli = round(cores * 1000)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def format_bytes(b: float) -> str:
    """Bytes in the largest binary suffix that divides them exactly ("16Gi", "512Mi")."""
    n = int(round(b))
    if n == 0:
        return "0"
    for suf, mult in (("Ti", 1024 ** 4), ("Gi", 1024 ** 3), ("Mi", 1024 ** 2), ("Ki", 1024)):
        if n % mult == 0:
            return f"{n // mult}{suf}"
    return str(n)


def format_quantity(resource: str, value: float) -> str:
    """Format a quota/allocatable value for `resource` (a quota key or a resource name)."""
    base = resource.split(".", 1)[1] if resource.startswith(("requests.", "limits.")) else resource
    if base == "cpu":
        return format_cpu(value)
    if base in ("memory", "ephemeral-storage") or base.startswith("hugepages-"):
        return format_bytes(value)
    return str(int(round(value)))


# The quota keys the scenario uses, and which (requests|limits, resource) each sums.
QUOTA_KEYS: dict[str, tuple[str, str]] = {
    "requests.cpu": ("requests", "cpu"),
    "requests.memory": ("requests", "memory"),
    "limits.cpu": ("limits", "cpu"),
    "limits.memory": ("limits", "memory"),
    "requests.nvidia.com/gpu": ("requests", "nvidia.com/gpu"),
}


def pod_resources(pod: dict) -> tuple[dict[str, float], dict[str, float]]:
    """Effective (requests, limits) of a pod: the sum over containers, or the largest init container
    if that is larger (the scheduler's and quota's rule). Limits default to requests for extended
    resources; a container without a limit adds nothing to limits."""
    spec = pod.get("spec", {})
    req: dict[str, float] = {}
    lim: dict[str, float] = {}
    for c in spec.get("containers", ()):
        r = c.get("resources") or {}
        for k, v in (r.get("requests") or {}).items():
            req[k] = req.get(k, 0.0) + parse_quantity(v)
        for k, v in (r.get("limits") or {}).items():
            lim[k] = lim.get(k, 0.0) + parse_quantity(v)
            if "/" in k and k not in (r.get("requests") or {}):
                req[k] = req.get(k, 0.0) + parse_quantity(v)  # extended: request defaults to the limit
    for c in spec.get("initContainers", ()) or ():
        r = c.get("resources") or {}
        for k, v in (r.get("requests") or {}).items():
            req[k] = max(req.get(k, 0.0), parse_quantity(v))
        for k, v in (r.get("limits") or {}).items():
            lim[k] = max(lim.get(k, 0.0), parse_quantity(v))
    return req, lim


def quota_usage(pod: dict) -> dict[str, float]:
    """What a pod counts against a ResourceQuota, by quota key (including "pods")."""
    req, lim = pod_resources(pod)
    out = {"pods": 1.0}
    for key, (side, res) in QUOTA_KEYS.items():
        v = (req if side == "requests" else lim).get(res, 0.0)
        if v:
            out[key] = v
    return out


def pod_terminated(pod: dict) -> bool:
    return pod.get("status", {}).get("phase") in ("Succeeded", "Failed")
