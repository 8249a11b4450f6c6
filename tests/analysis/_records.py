"""Small record builders for hand-computed analysis tests."""
from __future__ import annotations

from kubewatch_ml.model import (Condition, ContainerSpec, ContainerStatus, Node, OwnerRef, Pod, Resources, Taint,
                                Toleration, Workload)

GIB = 1 << 30
GPU_TAINT = Taint("nvidia.com/gpu", "present", "NoSchedule")
GPU_TOLERATION = Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")


def node(name, zone="zone-a", cpu_m=8000, memory=32 * GIB, gpu=0, pods=110, ready="True", unschedulable=False,
         taints=(), labels=None, product="", extended=None) -> Node:
    lab = {"topology.kubernetes.io/zone": zone, **(labels or {})}
    if product:
        lab["nvidia.com/gpu.product"] = product
    res = Resources(cpu_m=cpu_m, memory=memory, gpu=gpu, pods=pods, extended=extended)
    return Node(name=name, uid=f"uid-{name}", labels=lab, unschedulable=unschedulable, taints=tuple(taints),
                capacity=res, allocatable=res, ready=ready, conditions=(Condition("Ready", ready),))


def pod(name, namespace="team-dev", node_name="", phase="Running", cpu_m=100, memory=GIB // 4, gpu=0,
        extended=None, owner=None, ready=True, tolerations=(), node_selector=None, statuses=None, containers=None,
        created=0.0, affinity_terms=(), labels=None) -> Pod:
    req = Resources(cpu_m=cpu_m, memory=memory, gpu=gpu, extended=extended)
    cs = containers if containers is not None else (ContainerSpec(name="main", image="app:1.0", requests=req, limits=req,
                                                                    liveness=True, readiness=True),)
    st = statuses if statuses is not None else tuple(
        ContainerStatus(name=c.name, ready=ready, started=True, state="running") for c in cs) if phase == "Running" else ()
    conds = (Condition("Ready", "True" if ready else "False"),) if phase == "Running" else (
        (Condition("PodScheduled", "False", "Unschedulable", "0/3 nodes are available"),) if not node_name else ())
    return Pod(uid=f"uid-{namespace}-{name}", name=name, namespace=namespace, node_name=node_name, phase=phase,
               owner=owner, containers=cs, statuses=st, requests=req, limits=req, tolerations=tuple(tolerations),
               node_selector=node_selector, conditions=conds, created=created, affinity_terms=affinity_terms,
               labels=labels)


def deployment(name, namespace="team-dev", replicas=2, containers=(), tolerations=(), template_labels=None):
    """A Deployment and its ReplicaSet; pods use `rs_owner(name)`."""
    d = Workload(kind="Deployment", uid=f"uid-d-{namespace}-{name}", name=name, namespace=namespace, replicas=replicas,
                 ready_replicas=replicas, containers=tuple(containers), tolerations=tuple(tolerations),
                 template_labels=template_labels or {"app": name})
    rs = Workload(kind="ReplicaSet", uid=f"uid-rs-{namespace}-{name}", name=f"{name}-5d4f", namespace=namespace,
                  owner=OwnerRef("Deployment", name, d.uid, True), replicas=replicas, containers=tuple(containers))
    return d, rs


def rs_owner(name, namespace="team-dev") -> OwnerRef:
    return OwnerRef("ReplicaSet", f"{name}-5d4f", f"uid-rs-{namespace}-{name}", True)
