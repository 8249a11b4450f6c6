"""Input checks for node labels, taints and replica counts, with Kubernetes' own syntax rules.

Everything here is pure and runs before any request is built, so bad input never reaches the
cluster. Each failure raises InvalidInput with one line that says what is wrong and why.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from kubewatch_ml.errors import UserError

# apimachinery validation: IsQualifiedName / IsValidLabelValue / IsDNS1123Subdomain
_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS1123_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
NAME_MAX = 63
VALUE_MAX = 63
PREFIX_MAX = 253

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
RESERVED_DOMAINS = ("kubernetes.io", "k8s.io")

# Keys under the reserved domains that cluster operators are meant to set on nodes themselves.
NODE_SETTABLE_LABEL_PREFIXES = ("node-role.kubernetes.io/", "node-restriction.kubernetes.io/")
NODE_SETTABLE_LABELS = frozenset({
    "node.kubernetes.io/exclude-from-external-load-balancers",
    "node.kubernetes.io/exclude-disruption",
})
NODE_SETTABLE_TAINT_PREFIXES = ("node-role.kubernetes.io/", "node-restriction.kubernetes.io/")
NODE_SETTABLE_TAINTS = frozenset({
    "node.kubernetes.io/out-of-service",  # non-graceful node shutdown, set by the operator
})

# Offered first in the label / taint editors: what an ML platform team actually relabels.
SUGGESTED_LABEL_KEYS = ("nvidia.com/gpu.product", "pool", "team", "nvidia.com/gpu.present",
                        "nvidia.com/mig.config", "node-role.kubernetes.io/gpu")
SUGGESTED_TAINTS = ("nvidia.com/gpu=present:NoSchedule", "nvidia.com/gpu:NoSchedule",
                    "pool=training:NoSchedule", "team=ml:NoSchedule")

DEFAULT_REPLICA_CAP = 1000


class InvalidInput(UserError):
    """Input rejected before anything was sent."""


@dataclass(frozen=True)
class TaintSpec:
    key: str
    value: str = ""
    effect: str = "NoSchedule"

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"

    def as_json(self) -> dict:
        d = {"key": self.key, "effect": self.effect}
        if self.value:
            d["value"] = self.value
        return d


def _reserved_domain(prefix: str) -> str | None:
    for dom in RESERVED_DOMAINS:
        if prefix == dom or prefix.endswith("." + dom):
            return dom
    return None


def qualified_name_error(key: str, what: str = "label key") -> str | None:
    """Why `key` is not a valid qualified name ([prefix/]name), or None when it is."""
    if not key:
        return f"{what} is empty"
    if key.count("/") > 1:
        return f"{what} {key!r} has more than one '/': use an optional DNS prefix, one '/', then a name"
    prefix, _, name = key.rpartition("/")
    if "/" in key:
        if not prefix:
            return f"{what} {key!r} has an empty prefix before '/'"
        if len(prefix) > PREFIX_MAX:
            return f"{what} prefix is {len(prefix)} characters; at most {PREFIX_MAX} (a DNS subdomain)"
        if not _DNS1123_SUBDOMAIN_RE.match(prefix):
            return (f"{what} prefix {prefix!r} is not a DNS subdomain: lower-case letters, digits, "
                    "'-' and '.', starting and ending with a letter or digit")
    if not name:
        return f"{what} {key!r} has an empty name after the prefix"
    if len(name) > NAME_MAX:
        return f"{what} name {name!r} is {len(name)} characters; at most {NAME_MAX}"
    if not _NAME_RE.match(name):
        return (f"{what} name {name!r} must start and end with a letter or digit and contain only "
                "letters, digits, '-', '_' and '.'")
    return None


def label_value_error(value: str, what: str = "label value") -> str | None:
    if len(value) > VALUE_MAX:
        return f"{what} is {len(value)} characters; at most {VALUE_MAX}"
    if not _VALUE_RE.match(value):
        return (f"{what} {value!r} must be empty or start and end with a letter or digit and contain "
                "only letters, digits, '-', '_' and '.'")
    return None


def reserved_key_error(key: str, kind: str = "label") -> str | None:
    """Keys under kubernetes.io / k8s.io belong to Kubernetes components; refuse all but the few
    an operator is meant to set (node roles, node-restriction, load-balancer exclusion...)."""
    prefix = key.rpartition("/")[0]
    dom = _reserved_domain(prefix) if prefix else None
    if dom is None:
        return None
    if kind == "label":
        if key in NODE_SETTABLE_LABELS or key.startswith(NODE_SETTABLE_LABEL_PREFIXES):
            return None
    elif key in NODE_SETTABLE_TAINTS or key.startswith(NODE_SETTABLE_TAINT_PREFIXES):
        return None
    return (f"{kind} key {key!r} uses the reserved {dom}/ prefix: kubelet and controllers own those "
            f"keys and would overwrite or misread a manual change (operator-settable: "
            f"node-role.kubernetes.io/<role>, node-restriction.kubernetes.io/<name>"
            + (", node.kubernetes.io/exclude-from-external-load-balancers)" if kind == "label"
               else ", node.kubernetes.io/out-of-service)"))


def check_label(key: str, value: str | None) -> None:
    """value None means 'remove the label' (removal of any existing key is allowed, syntax aside)."""
    err = qualified_name_error(key) or reserved_key_error(key, "label")
    if err is None and value is not None:
        err = label_value_error(value)
    if err:
        raise InvalidInput(err)


def check_taint(t: TaintSpec) -> None:
    err = qualified_name_error(t.key, "taint key") or reserved_key_error(t.key, "taint") \
        or label_value_error(t.value, "taint value")
    if err is None and t.effect not in TAINT_EFFECTS:
        err = f"taint effect {t.effect!r} is not one of {', '.join(TAINT_EFFECTS)}"
    if err:
        raise InvalidInput(err)


def parse_label_changes(text: str) -> dict[str, str | None]:
    """kubectl-style: 'pool=a100 team=ml old-'  ->  {'pool': 'a100', 'team': 'ml', 'old': None}."""
    changes: dict[str, str | None] = {}
    tokens = text.replace(",", " ").split()
    if not tokens:
        raise InvalidInput("no label change given: write key=value to set, key- to remove")
    for tok in tokens:
        if "=" in tok:
            key, _, value = tok.partition("=")
            check_label(key, value)
            changes[key] = value
        elif tok.endswith("-"):
            check_label(tok[:-1], None)
            changes[tok[:-1]] = None
        else:
            raise InvalidInput(f"{tok!r}: write key=value to set a label or key- to remove it")
    return changes


def parse_taint(tok: str) -> TaintSpec:
    """'key=value:Effect' or 'key:Effect' (or 'key=value' / 'key' meaning NoSchedule)."""
    body, sep, effect = tok.rpartition(":")
    if not sep:
        body, effect = tok, "NoSchedule"
    key, _, value = body.partition("=")
    t = TaintSpec(key, value, effect)
    check_taint(t)
    return t


def parse_taint_changes(text: str) -> tuple[list[TaintSpec], list[tuple[str, str | None]]]:
    """'nvidia.com/gpu=present:NoSchedule dedicated-'  ->  (adds, removals (key, effect or None))."""
    adds: list[TaintSpec] = []
    removes: list[tuple[str, str | None]] = []
    tokens = text.replace(",", " ").split()
    if not tokens:
        raise InvalidInput("no taint change given: key=value:Effect to add, key- or key:Effect- to remove")
    for tok in tokens:
        if tok.endswith("-"):
            key, _, effect = tok[:-1].partition(":")
            err = qualified_name_error(key, "taint key") or reserved_key_error(key, "taint")
            if err:
                raise InvalidInput(err)
            if effect and effect not in TAINT_EFFECTS:
                raise InvalidInput(f"taint effect {effect!r} is not one of {', '.join(TAINT_EFFECTS)}")
            removes.append((key, effect or None))
        else:
            adds.append(parse_taint(tok))
    return adds, removes


def parse_replicas(value: str | int, current: int | None = None, cap: int = DEFAULT_REPLICA_CAP) -> int:
    """A replica count the user typed -> int, or InvalidInput explaining why it is absurd."""
    if isinstance(value, bool):
        raise InvalidInput("replicas must be a whole number")
    if isinstance(value, int):
        n = value
    else:
        s = str(value).strip()
        if not re.fullmatch(r"[+-]?\d+", s):
            raise InvalidInput(f"replicas must be a whole number, got {s!r}")
        n = int(s)
    if n < 0:
        raise InvalidInput(f"replicas cannot be negative (got {n}); 0 stops every pod")
    if n > cap:
        now = f" (now {current})" if current is not None else ""
        raise InvalidInput(f"{n} replicas is above the safety cap of {cap}{now}: "
                           "a typo here can exhaust quota and GPUs in seconds")
    return n
