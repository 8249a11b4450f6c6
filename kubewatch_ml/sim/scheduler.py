"""A small kube-scheduler: filters nodes the way the default profile does (NodeUnschedulable,
TaintToleration, NodeAffinity/nodeSelector, NodeResourcesFit), spreads pods round-robin over nodes
interleaved by zone, honours a preferred zone, hands out GPU / MIG device ids, and explains a failure
with the scheduler's own message ("0/40 nodes are available: ...")."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .units import parse_quantity

Obj = dict[str, Any]
SCHEDULED_RESOURCES = ("cpu", "memory")


@dataclass
class NodeSlot:
    name: str
    zone: str
    labels: dict[str, str]
    taints: list[Obj]
    unschedulable: bool
    allocatable: dict[str, float]
    host_ip: str
    used: dict[str, float] = field(default_factory=dict)
    pods: int = 0
    free_devices: dict[str, list] = field(default_factory=dict)  # resource -> free device ids
    ip_counter: int = 0


def tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if t.get("operator") == "Exists":
            if not t.get("key") or t["key"] == taint["key"]:
                return True
        elif t.get("key") == taint["key"] and t.get("value", "") == taint.get("value", ""):
            return True
    return False


def pod_requests(pod_spec: Obj) -> dict[str, float]:
    out: dict[str, float] = {}
    for c in pod_spec.get("containers", ()):
        r = c.get("resources") or {}
        req = r.get("requests") or {}
        for k, v in req.items():
            out[k] = out.get(k, 0.0) + parse_quantity(v)
        for k, v in (r.get("limits") or {}).items():
            if "/" in k and k not in req:
                out[k] = out.get(k, 0.0) + parse_quantity(v)
    return out


class Scheduler:
    def __init__(self) -> None:
        self.nodes: dict[str, NodeSlot] = {}
        self.order: list[NodeSlot] = []  # interleaved by zone: spreading is the default
        self._cursor: dict[Any, int] = {}
        self._static_cache: dict[Any, tuple[int, list[NodeSlot]]] = {}
        self._labels: dict = {}
        self._last_shape: tuple | None = None
        self._labels_at = -1
        self.version = 0  # bumps when a node is added or changes (cordon, labels, taints)

    def add_node(self, node: Obj, devices: dict[str, list] | None = None) -> NodeSlot:
        md, spec, st = node["metadata"], node.get("spec", {}), node.get("status", {})
        alloc = {k: parse_quantity(v) for k, v in st.get("allocatable", {}).items()}
        ip = next((a["address"] for a in st.get("addresses", []) if a["type"] == "InternalIP"), "")
        slot = NodeSlot(md["name"], md.get("labels", {}).get("topology.kubernetes.io/zone", ""),
                        md.get("labels", {}), list(spec.get("taints", [])), bool(spec.get("unschedulable")),
                        alloc, ip, free_devices={k: list(v) for k, v in (devices or {}).items()})
        self.nodes[slot.name] = slot
        self.order.append(slot)
        self.version += 1
        return slot

    def sort_by_zone(self) -> None:
        """Interleave nodes by zone (a, b, c, a, b, c, ...) so round-robin placement spreads."""
        by_zone: dict[str, list[NodeSlot]] = {}
        for s in self.order:
            by_zone.setdefault(s.zone, []).append(s)
        zones = sorted(by_zone)
        out: list[NodeSlot] = []
        i = 0
        while len(out) < len(self.order):
            for z in zones:
                if i < len(by_zone[z]):
                    out.append(by_zone[z][i])
            i += 1
        self.order = out
        self.version += 1

    def update_node(self, node: Obj) -> None:
        """A node changed through the API (cordon, label, taint): refresh what filters read."""
        slot = self.nodes.get(node["metadata"]["name"])
        if slot is None:
            return
        labels = node["metadata"].get("labels", {})
        taints = list(node.get("spec", {}).get("taints", []))
        unschedulable = bool(node.get("spec", {}).get("unschedulable"))
        if labels == slot.labels and taints == slot.taints and unschedulable == slot.unschedulable:
            return  # a status-only update (heartbeat): cached filter results stay valid
        slot.labels, slot.taints, slot.unschedulable = labels, taints, unschedulable
        slot.zone = labels.get("topology.kubernetes.io/zone", "")
        self.version += 1

    # --- filters ---------------------------------------------------------------------------------
    def _static_reason(self, s: NodeSlot, tolerations: list[Obj], selector: dict[str, str] | None) -> str:
        """The first failing filter that does not depend on what is already placed ("" = passes)."""
        if s.unschedulable and not tolerates(tolerations, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}):
            return "node(s) were unschedulable"
        for t in s.taints:
            if t["effect"] in ("NoSchedule", "NoExecute") and not tolerates(tolerations, t):
                return f"node(s) had untolerated taint {{{t['key']}: {t.get('value', '')}}}"
        if selector and any(s.labels.get(k) != v for k, v in selector.items()):
            return "node(s) didn't match Pod's node affinity/selector"
        return ""

    @staticmethod
    def _fits_resources(s: NodeSlot, req: dict[str, float]) -> bool:
        if s.pods + 1 > s.allocatable.get("pods", 110):
            return False
        used, alloc = s.used, s.allocatable
        for k, v in req.items():
            if v and used.get(k, 0.0) + v > alloc.get(k, 0.0) + 1e-9:
                return False
        return True

    def _candidates(self, tolerations: list[Obj], selector: dict[str, str] | None) -> list[NodeSlot]:
        """Nodes passing the static filters for this toleration/selector shape (cached until a node changes)."""
        last = self._last_shape  # pods of one workload share these very objects: skip the key
        if last is not None and last[0] is tolerations and last[1] is selector and last[2] == self.version:
            return last[3]
        key = (tuple(tuple(sorted(t.items())) for t in tolerations), tuple(sorted((selector or {}).items())))
        hit = self._static_cache.get(key)
        if hit is None or hit[0] != self.version:
            pool = self.order
            if selector:  # start from the nodes carrying the rarest selected label
                ix = self._label_index()
                pool = min((ix.get(kv, []) for kv in selector.items()), key=len)
            hit = (self.version, [s for s in pool if not self._static_reason(s, tolerations, selector)])
            self._static_cache[key] = hit
        self._last_shape = (tolerations, selector, self.version, hit[1])
        return hit[1]

    def _label_index(self) -> dict[tuple[str, str], list[NodeSlot]]:
        if self._labels_at != self.version:
            ix: dict[tuple[str, str], list[NodeSlot]] = {}
            for s in self.order:
                for kv in s.labels.items():
                    ix.setdefault(kv, []).append(s)
            self._labels, self._labels_at = ix, self.version
        return self._labels

    def _reasons(self, s: NodeSlot, req: dict[str, float], tolerations: list[Obj],
                 selector: dict[str, str] | None) -> list[str]:
        if s.unschedulable and not tolerates(tolerations, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}):
            return ["node(s) were unschedulable"]
        for t in s.taints:
            if t["effect"] in ("NoSchedule", "NoExecute") and not tolerates(tolerations, t):
                return [f"node(s) had untolerated taint {{{t['key']}: {t.get('value', '')}}}"]
        if selector and any(s.labels.get(k) != v for k, v in selector.items()):
            return ["node(s) didn't match Pod's node affinity/selector"]
        out = []
        if s.pods + 1 > s.allocatable.get("pods", 110):
            out.append("Too many pods")
        for k, v in req.items():
            if v and s.used.get(k, 0.0) + v > s.allocatable.get(k, 0.0) + 1e-9:
                out.append(f"Insufficient {k}")
        return out

    def fits(self, s: NodeSlot, req: dict[str, float], tolerations: list[Obj], selector: dict[str, str] | None) -> bool:
        return not self._static_reason(s, tolerations, selector) and self._fits_resources(s, req)

    # --- placement ----------------------------------------------------------------------------------
    def place(self, req: dict[str, float], tolerations: list[Obj], selector: dict[str, str] | None = None,
              preferred_zone: str = "", key: Any = None) -> NodeSlot | None:
        """The node for a pod, or None when no node fits. `key` groups pods that share a cursor."""
        cands = self._candidates(tolerations, selector)
        n = len(cands)
        if not n:
            return None
        fits = self._fits_resources
        if preferred_zone:
            for s in cands:
                if s.zone == preferred_zone and fits(s, req):
                    return s
        ck = key if key is not None else (id(cands), bool(req.get("nvidia.com/gpu")))
        start = self._cursor.get(ck, 0) % n
        for off in range(n):
            s = cands[(start + off) % n]
            if fits(s, req):
                self._cursor[ck] = (start + off + 1) % n
                return s
        return None

    def explain(self, req: dict[str, float], tolerations: list[Obj], selector: dict[str, str] | None = None) -> str:
        """The scheduler's FitError message for a pod that fits nowhere."""
        hist: dict[str, int] = {}
        unresolvable = resources = 0
        for s in self.order:
            rs = self._reasons(s, req, tolerations, selector)
            for r in rs:
                hist[r] = hist.get(r, 0) + 1
            if rs and (rs[0].startswith("Insufficient") or rs[0] == "Too many pods"):
                resources += 1
            elif rs:
                unresolvable += 1
        n = len(self.order)
        parts = sorted(f"{c} {r}" for r, c in hist.items())
        pre = []
        if resources:
            pre.append(f"{resources} No preemption victims found for incoming pod")
        if unresolvable:
            pre.append(f"{unresolvable} Preemption is not helpful for scheduling")
        return (f"0/{n} nodes are available: {', '.join(parts)}. "
                f"preemption: 0/{n} nodes are available: {', '.join(sorted(pre))}.")

    def bind(self, s: NodeSlot, req: dict[str, float]) -> dict[str, list]:
        """Account a pod on a node; returns the device ids it was given per device resource."""
        for k, v in req.items():
            s.used[k] = s.used.get(k, 0.0) + v
        s.pods += 1
        got: dict[str, list] = {}
        for k, v in req.items():
            if k in s.free_devices and v:
                take = int(v)
                got[k] = s.free_devices[k][:take]
                del s.free_devices[k][:take]
        return got

    def release(self, node: str, req: dict[str, float], devices: dict[str, list] | None = None) -> None:
        s = self.nodes.get(node)
        if s is None:
            return
        for k, v in req.items():
            s.used[k] = max(0.0, s.used.get(k, 0.0) - v)
        s.pods = max(0, s.pods - 1)
        for k, ids in (devices or {}).items():
            s.free_devices.setdefault(k, []).extend(ids)
            s.free_devices[k].sort(key=str)

    def next_pod_ip(self, s: NodeSlot) -> str:
        """Pod IPs from the node's secondary range (VPC CNI style: same /16 as the node)."""
        s.ip_counter += 1
        a, b, c, _ = (s.host_ip or "10.0.0.0").split(".")
        k = s.ip_counter
        return f"{a}.{b}.{(int(c) + 64 + k // 250) % 256}.{k % 250 + 2}"
