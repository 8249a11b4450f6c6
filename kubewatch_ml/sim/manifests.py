"""Builders for the JSON objects the simulated cluster stores: nodes, pods (from a workload's
template), container statuses, events. Shared by scenario.py (start-up) and dynamics.py (pods that
come later), so a pod created at minute 30 looks exactly like one created at start-up.

Pods of one workload share their immutable parts (container specs, tolerations, labels) by
reference: stored dicts are never mutated in place (objects.py), and 150,000 pods stay affordable.
"""
from __future__ import annotations

import random
from typing import Any

from functools import lru_cache

from .objects import rfc3339 as _rfc3339


@lru_cache(maxsize=100_000)
def _rfc_whole(t: int) -> str:
    return _rfc3339(t)


def rfc3339(ts: float) -> str:
    """RFC 3339 in whole seconds (cached: many pods share their timestamps' seconds)."""
    return _rfc_whole(int(ts))


Obj = dict[str, Any]

REGION = "us-east-1"
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
KUBELET_VERSION = "v1.32.4"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
# Added by the DefaultTolerationSeconds admission plugin to every pod.
DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]
_HEX = "0123456789abcdef"
_ALNUM = "bcdfghjklmnpqrstvwxz2456789"  # the apiserver's generateName alphabet


def new_uid(rng: random.Random) -> str:
    """A version-4 UUID from the seeded generator (formatted directly: 150k of them at start-up)."""
    x = rng.getrandbits(128)
    x = (x & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
    h = f"{x:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def hex_id(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def suffix(rng: random.Random, n: int = 5) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(n))


def template_hash(rng: random.Random) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(rng.choice((9, 10))))


def owner_ref(obj: Obj, block: bool = True) -> Obj:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": block}


# --- containers -----------------------------------------------------------------------------------
def http_probe(path: str, port: int, period: int = 10, failure: int = 3, initial: int = 0, timeout: int = 1) -> Obj:
    p: Obj = {"httpGet": {"path": path, "port": port, "scheme": "HTTP"}, "periodSeconds": period,
              "timeoutSeconds": timeout, "successThreshold": 1, "failureThreshold": failure}
    if initial:
        p["initialDelaySeconds"] = initial
    return p


def container(name: str, image: str, requests: Obj | None = None, limits: Obj | None = None,
              port: int | None = 8080, liveness: Obj | None = None, readiness: Obj | None = None,
              startup: Obj | None = None, args: list[str] | None = None, env: list[Obj] | None = None) -> Obj:
    c: Obj = {"name": name, "image": image, "imagePullPolicy": "Always" if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1] else "IfNotPresent",
              "resources": {}, "terminationMessagePath": "/dev/termination-log",
              "terminationMessagePolicy": "File"}
    if requests:
        c["resources"]["requests"] = requests
    if limits:
        c["resources"]["limits"] = limits
    if port:
        c["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    if args:
        c["args"] = args
    if env:
        c["env"] = env
    if liveness:
        c["livenessProbe"] = liveness
    if readiness:
        c["readinessProbe"] = readiness
    if startup:
        c["startupProbe"] = startup
    return c


def image_id(image: str, rng: random.Random) -> str:
    repo = image.split(":")[0] if ":" in image.rsplit("/", 1)[-1] else image
    if "/" not in repo.split(".")[0] and "." not in repo.split("/")[0]:
        repo = "docker.io/library/" + repo if "/" not in repo else "docker.io/" + repo
    return f"{repo}@sha256:{hex_id(rng, 64)}"


_NO_STATE: Obj = {}  # shared empty lastState (stored objects are never mutated in place)


def running_status(c: Obj, image_ref: str, rng: random.Random, started: float, ready: bool = True,
                   restarts: int = 0, last_terminated: Obj | None = None, state: Obj | None = None) -> Obj:
    s: Obj = {"name": c["name"], "ready": ready, "started": True, "restartCount": restarts,
              "image": c["image"] if ":" in c["image"].rsplit("/", 1)[-1] else c["image"] + ":latest",
              "imageID": image_ref, "containerID": f"containerd://{hex_id(rng, 64)}",
              "state": state or {"running": {"startedAt": rfc3339(started)}}, "lastState": _NO_STATE}
    if last_terminated:
        s["lastState"] = {"terminated": last_terminated}
    return s


def waiting_status(c: Obj, reason: str, message: str = "", image_ref: str = "", restarts: int = 0,
                   last_terminated: Obj | None = None, container_id: str = "") -> Obj:
    w: Obj = {"reason": reason}
    if message:
        w["message"] = message
    s: Obj = {"name": c["name"], "ready": False, "started": False, "restartCount": restarts,
              "image": c["image"] if ":" in c["image"].rsplit("/", 1)[-1] else c["image"] + ":latest",
              "imageID": image_ref, "state": {"waiting": w}, "lastState": {}}
    if container_id:
        s["containerID"] = container_id
    if last_terminated:
        s["lastState"] = {"terminated": last_terminated}
    return s


def terminated_state(reason: str, exit_code: int, started: float, finished: float, container_id: str) -> Obj:
    return {"exitCode": exit_code, "reason": reason, "startedAt": rfc3339(started),
            "finishedAt": rfc3339(finished), "containerID": container_id}


def qos_class(containers: list[Obj]) -> str:
    any_set = False
    guaranteed = True
    for c in containers:
        r = c.get("resources") or {}
        req, lim = r.get("requests") or {}, r.get("limits") or {}
        if req or lim:
            any_set = True
        for res in ("cpu", "memory"):
            if res not in lim or req.get(res, lim.get(res)) != lim.get(res):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


# --- pods -------------------------------------------------------------------------------------------
def pod_conditions(created: float, scheduled: float | None, ready_at: float | None,
                   unschedulable_msg: str = "", not_ready_reason: str = "ContainersNotReady",
                   not_ready_msg: str = "") -> list[Obj]:
    """The pod's conditions in the order the kubelet writes them."""
    if scheduled is None:
        return [{"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                 "lastTransitionTime": rfc3339(created), "reason": "Unschedulable", "message": unschedulable_msg}]
    at = rfc3339(scheduled)
    conds = [
        {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None, "lastTransitionTime": rfc3339(scheduled + 2)},
        {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": at},
    ]
    if ready_at is not None:
        rt = rfc3339(ready_at)
        conds += [{"type": "Ready", "status": "True", "lastProbeTime": None, "lastTransitionTime": rt},
                  {"type": "ContainersReady", "status": "True", "lastProbeTime": None, "lastTransitionTime": rt}]
    else:
        msg = not_ready_msg or "containers with unready status: []"
        conds += [{"type": "Ready", "status": "False", "lastProbeTime": None, "lastTransitionTime": at,
                   "reason": not_ready_reason, "message": msg},
                  {"type": "ContainersReady", "status": "False", "lastProbeTime": None, "lastTransitionTime": at,
                   "reason": not_ready_reason, "message": msg}]
    conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": at})
    return conds


@lru_cache(maxsize=None)
def _host_ips(ip: str) -> list[Obj]:
    """One shared hostIPs list per node (read-only, like every stored object)."""
    return [{"ip": ip}]


class PodTemplate:
    """What every pod of one workload shares, prepared once: spec parts, labels, owner reference."""

    __slots__ = ("namespace", "labels", "owner", "containers", "tolerations", "node_selector", "affinity",
                 "restart_policy", "service_account", "priority_class", "image_refs", "qos", "extra_spec",
                 "annotations", "stateful_service")

    def __init__(self, namespace: str, labels: dict, owner: Obj | None, containers: list[Obj], rng: random.Random,
                 tolerations: list[Obj] | None = None, node_selector: dict | None = None,
                 affinity: Obj | None = None, restart_policy: str = "Always", service_account: str = "default",
                 priority_class: str = "", annotations: dict | None = None, stateful_service: str = "",
                 image_refs: list[str] | None = None):
        self.namespace = namespace
        self.labels = labels
        self.owner = [owner] if owner else None
        self.containers = containers
        self.tolerations = list(tolerations or []) + DEFAULT_TOLERATIONS
        self.node_selector = node_selector or None
        self.affinity = affinity
        self.restart_policy = restart_policy
        self.service_account = service_account
        self.priority_class = priority_class
        self.image_refs = image_refs or [image_id(c["image"], rng) for c in containers]
        self.qos = qos_class(containers)
        self.annotations = annotations
        self.stateful_service = stateful_service

    @classmethod
    def from_workload(cls, wl: Obj, rng: random.Random, extra_labels: dict | None = None) -> "PodTemplate":
        t = wl["spec"]["template"]
        spec = t["spec"]
        labels = dict(t["metadata"].get("labels", {}))
        if extra_labels:
            labels.update(extra_labels)
        return cls(wl["metadata"]["namespace"], labels, owner_ref(wl) if wl["kind"] != "Pod" else None, spec["containers"], rng,
                   tolerations=[x for x in spec.get("tolerations", []) if x not in DEFAULT_TOLERATIONS],
                   node_selector=spec.get("nodeSelector"), affinity=spec.get("affinity"),
                   restart_policy=spec.get("restartPolicy", "Always"),
                   service_account=spec.get("serviceAccountName", "default"),
                   priority_class=spec.get("priorityClassName", ""),
                   annotations=t["metadata"].get("annotations"),
                   stateful_service=wl["spec"].get("serviceName", "") if wl["kind"] == "StatefulSet" else "")

    def pod(self, name: str, uid: str, created: float, node: str | None, host_ip: str, pod_ip: str,
            statuses: list[Obj], phase: str, conditions: list[Obj], started: float | None,
            labels: dict | None = None, generate_name: str = "", hostname: str = "") -> Obj:
        md: Obj = {"name": name, "namespace": self.namespace, "uid": uid, "creationTimestamp": rfc3339(created),
                   "labels": labels or self.labels}
        if generate_name:
            md["generateName"] = generate_name
        if self.owner:
            md["ownerReferences"] = self.owner
        if self.annotations:
            md["annotations"] = self.annotations
        spec: Obj = {"containers": self.containers, "restartPolicy": self.restart_policy,
                     "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                     "serviceAccountName": self.service_account, "serviceAccount": self.service_account,
                     "securityContext": {}, "schedulerName": "default-scheduler",
                     "tolerations": self.tolerations, "priority": 0, "enableServiceLinks": True,
                     "preemptionPolicy": "PreemptLowerPriority"}
        if node:
            spec["nodeName"] = node
        if self.node_selector:
            spec["nodeSelector"] = self.node_selector
        if self.affinity:
            spec["affinity"] = self.affinity
        if self.priority_class:
            spec["priorityClassName"] = self.priority_class
        if hostname:
            spec["hostname"] = hostname
            spec["subdomain"] = self.stateful_service
        status: Obj = {"phase": phase, "conditions": conditions, "qosClass": self.qos}
        if node:
            status["hostIP"] = host_ip
            status["hostIPs"] = _host_ips(host_ip)
            if pod_ip:
                status["podIP"] = pod_ip
                status["podIPs"] = [{"ip": pod_ip}]
            status["startTime"] = rfc3339(started if started is not None else created)
            status["containerStatuses"] = statuses
        return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec, "status": status}


# --- events -------------------------------------------------------------------------------------------
def event(rng: random.Random, involved: Obj, reason: str, message: str, first: float, last: float,
          count: int = 1, type_: str = "Normal", component: str = "kubelet", host: str = "",
          field_path: str = "") -> Obj:
    md = involved["metadata"]
    inv: Obj = {"kind": involved["kind"], "namespace": md.get("namespace", ""), "name": md["name"],
                "uid": md["uid"], "apiVersion": involved["apiVersion"]}
    if md.get("resourceVersion"):
        inv["resourceVersion"] = md["resourceVersion"]
    if field_path:
        inv["fieldPath"] = field_path
    ev: Obj = {"apiVersion": "v1", "kind": "Event",
               "metadata": {"name": f"{md['name']}.{hex_id(rng, 16)}", "namespace": md.get("namespace") or "default",
                            "uid": new_uid(rng), "creationTimestamp": rfc3339(first)},
               "involvedObject": inv, "reason": reason, "message": message,
               "source": {"component": component, **({"host": host} if host else {})},
               "firstTimestamp": rfc3339(first), "lastTimestamp": rfc3339(last), "count": count,
               "type": type_, "eventTime": None, "reportingComponent": component,
               "reportingInstance": host}
    return ev
