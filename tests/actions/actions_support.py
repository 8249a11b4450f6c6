"""Helpers for the integration tests (fixtures in conftest.py): a simulated cluster reached only over HTTP, as the product reaches any cluster.

Uses SimCluster when it exists (start_clock=False: nothing moves unless a test says so); until then
the simulator's ApiServer over an empty ObjectStore. Either way the test objects are created over
HTTP with the admin identity, and a counting proxy in front of the API server can count what the
product really sends.
"""
from __future__ import annotations

import collections
import http.server
import os
import shutil
import ssl
import threading
import urllib.request
from dataclasses import dataclass

import pytest
import yaml

from kubewatch_ml.settings import KubeOptions
from kubewatch_ml.sources.kube import connect


@dataclass
class Cluster:
    api_url: str
    kubeconfig_path: str
    admin_token: str
    viewer_token: str


def _sim_backend(tmp):
    try:
        from kubewatch_ml.sim.cluster import SimCluster
    except ImportError:
        SimCluster = None
    if SimCluster is not None:
        sim = SimCluster(seed=7, nodes=6, pods=30, start_clock=False, tls=True, workdir=str(tmp))
        sim.__enter__()
        return Cluster(sim.api_url, sim.kubeconfig_path, sim.admin_token, sim.viewer_token), lambda: sim.__exit__(None, None, None)
    from kubewatch_ml.sim.apiserver import ApiServer
    from kubewatch_ml.sim.kubeconfig import write_kubeconfig
    from kubewatch_ml.sim.objects import ObjectStore
    tokens = {"admin-tok-7f3a": "admin", "viewer-tok-19be": "viewer"}
    api = ApiServer(ObjectStore(), tokens=tokens, tls=True, workdir=str(tmp)).start()  # kubectl sends no token over http
    kc = write_kubeconfig(tmp / "kubeconfig", api.url, ca_file=api.ca_file, users={"admin": "admin-tok-7f3a", "viewer": "viewer-tok-19be"})
    return Cluster(api.url, kc, "admin-tok-7f3a", "viewer-tok-19be"), api.stop


def _admin(cluster):
    return connect(KubeOptions(kubeconfig=cluster.kubeconfig_path, context="sim-admin"))


def _create(conn, path, obj):
    r = conn.request("POST", path, body=obj, content_type="application/json")
    assert r.status in (200, 201), (path, r.status, r.body[:300])


def node_obj(name, labels=None, taints=None, gpus=0):
    alloc = {"cpu": "96", "memory": "1152Gi", "pods": "110"}
    if gpus:
        alloc["nvidia.com/gpu"] = str(gpus)
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "spec": {"taints": taints} if taints else {},
            "status": {"capacity": alloc, "allocatable": alloc,
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}


def pod_obj(name, ns, node, owner=None, labels=None, annotations=None):
    md = {"name": name, "namespace": ns, "labels": labels or {}}
    if owner:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1],
                                  "uid": f"uid-{owner[1]}", "controller": True, "blockOwnerDeletion": True}]
    if annotations:
        md["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"nodeName": node, "containers": [{"name": "main", "image": "vllm/vllm-openai:v0.6.3"}]},
            "status": {"phase": "Running"}}


def deployment_obj(name, ns, replicas):
    sel = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns, "labels": sel},
            "spec": {"replicas": replicas, "selector": {"matchLabels": sel},
                     "template": {"metadata": {"labels": sel},
                                  "spec": {"containers": [{"name": "main", "image": "vllm/vllm-openai:v0.6.3"}]}}}}


def hpa_obj(name, ns, target, lo, hi):
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "minReplicas": lo, "maxReplicas": hi,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]}}


def start_test_cluster(tmp):
    """A simulated cluster with this area's objects; returns (Cluster, stop)."""
    c, stop = _sim_backend(tmp)
    try:
        admin = _admin(c)
        ns = "kw-actions"
        _create(admin, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        _create(admin, "/api/v1/nodes", node_obj("kw-gpu-a", {"pool": "a100", "team": "search",
                                                             "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"},
                                                 [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}], 8))
        _create(admin, "/api/v1/nodes", node_obj("kw-gpu-b", {"pool": "a100"}, None, 8))
        _create(admin, f"/apis/apps/v1/namespaces/{ns}/deployments", deployment_obj("llm", ns, 2))
        _create(admin, f"/apis/apps/v1/namespaces/{ns}/deployments", deployment_obj("web", ns, 3))
        _create(admin, f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers", hpa_obj("llm", ns, "llm", 2, 6))
        for i in range(2):
            _create(admin, f"/api/v1/namespaces/{ns}/pods",
                    pod_obj(f"llm-{i}", ns, "kw-gpu-a", ("ReplicaSet", "llm-5d9f"), {"app": "llm"}))
        _create(admin, f"/api/v1/namespaces/{ns}/pods", pod_obj("dcgm-x", ns, "kw-gpu-a", ("DaemonSet", "dcgm")))
        admin.close()
    except BaseException:
        stop()
        raise
    return c, stop


class _CountingProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True


def kubectl_bin():
    path = shutil.which("kubectl")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is required when CI is set")
        pytest.skip("kubectl not installed")
    return path
