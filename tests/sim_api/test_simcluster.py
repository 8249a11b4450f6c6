"""kubectl, the kubernetes client and kubernetes-validate against the whole simulated ML cluster
(SimCluster: scenario + dynamics + this API server), with the clock driven by the test."""
from __future__ import annotations

import re
import ssl
import threading
import urllib.request

import kubernetes
import kubernetes_validate
import orjson
import pytest
from kubernetes import client, watch

from simapi_support import Kubectl, need_binary
from kubewatch_ml.sim.kinds import KINDS


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    from kubewatch_ml.sim.cluster import SimCluster
    with SimCluster(seed=7, nodes=40, pods=600, tls=True, start_clock=False,
                    workdir=tmp_path_factory.mktemp("sim")) as s:
        yield s


@pytest.fixture(scope="module")
def kctl(sim):
    need_binary("kubectl")
    return Kubectl(sim.kubeconfig_path)


def _get(sim, path: str):
    ctx = ssl.create_default_context(cafile=sim.api.ca_file)
    req = urllib.request.Request(sim.api_url + path, headers={"Authorization": f"Bearer {sim.admin_token}"})
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        return orjson.loads(r.read())


def _rows(out: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in out.strip().splitlines()]


def test_kubectl_gets_print_the_scenario(sim, kctl):
    nodes = _rows(kctl.run("get", "nodes").stdout)
    assert nodes[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] and len(nodes) == 41
    statuses = {r[1] for r in nodes[1:]}
    assert "Ready" in statuses and "NotReady" in statuses and "Ready,SchedulingDisabled" in statuses
    pods = _rows(kctl.run("get", "pods", "-A").stdout)
    assert pods[0][0] == "NAMESPACE" and len(pods) - 1 == sim.store.count("pods")
    assert {"Running", "Pending", "CrashLoopBackOff"} <= {r[3] for r in pods[1:]}
    hpas = _rows(kctl.run("get", "hpa", "-A").stdout)
    assert hpas[0][2:4] == ["REFERENCE", "TARGETS"] and len(hpas) - 1 == sim.store.count("horizontalpodautoscalers")
    assert all(re.match(r"(Deployment|StatefulSet)/", r[2]) for r in hpas[1:])
    quotas = _rows(kctl.run("get", "resourcequota", "-A").stdout)
    assert all("requests.cpu: " in r[3] for r in quotas[1:])


def test_describe_a_gpu_node(sim, kctl):
    gpu = next(n for n in sim.store.list("nodes")[0] if "nvidia.com/gpu" in n["status"].get("allocatable", {}))
    out = kctl.run("describe", "node", gpu["metadata"]["name"]).stdout
    assert "nvidia.com/gpu" in out and "Non-terminated Pods:" in out and "Allocated resources:" in out


def test_watch_sees_kubectl_cordon_and_scale_drives_pods(sim, kctl):
    node = next(n["metadata"]["name"] for n in sim.store.list("nodes")[0] if not n["spec"].get("unschedulable"))
    c = kubernetes.config.new_client_from_config(config_file=sim.kubeconfig_path)
    try:
        v1 = client.CoreV1Api(c)
        rv = v1.list_node(limit=5).metadata.resource_version
        seen = []
        w = watch.Watch()

        def consume():
            for ev in w.stream(v1.list_node, resource_version=rv, timeout_seconds=15):
                if ev["object"].metadata.name == node and ev["object"].spec.unschedulable:
                    seen.append(ev["type"])
                    w.stop()

        t = threading.Thread(target=consume, daemon=True)
        t.start()
        kctl.run("cordon", node)
        t.join(20)
        assert seen == ["MODIFIED"]
        kctl.run("uncordon", node)
    finally:
        c.close()
    dep = next(d for d in sim.store.list("deployments")[0]
               if d["metadata"]["namespace"].endswith("-dev") and d["spec"].get("replicas", 1) >= 1
               and not any(h["spec"]["scaleTargetRef"]["name"] == d["metadata"]["name"]
                           for h in sim.store.list("horizontalpodautoscalers", d["metadata"]["namespace"])[0]))
    ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
    want = dep["spec"].get("replicas", 1) + 1
    kctl.run("scale", "deployment", name, "-n", ns, f"--replicas={want}")
    sim.advance(60)
    rows = _rows(kctl.run("get", "deployment", name, "-n", ns).stdout)
    assert rows[1][1].endswith(f"/{want}")
    assert sim.store.get("deployments", ns, name)["spec"]["replicas"] == want


def test_auth_can_i_on_the_sim(sim, kctl):
    assert kctl.run("auth", "can-i", "patch", "nodes").stdout.strip() == "yes"
    assert kctl.run("auth", "can-i", "patch", "nodes", context="sim-viewer", check=False).stdout.strip() == "no"


def test_served_objects_validate(sim):
    """Every kind, paged; a spread of up to 40 objects per kind (jsonschema costs ~20 ms an object)."""
    n = 0
    for k in KINDS:
        if "list" not in k.verbs:
            continue
        path = f"/api/{k.version}/{k.resource}" if not k.group else f"/apis/{k.group}/{k.version}/{k.resource}"
        cont, items = "", []
        while True:
            doc = _get(sim, f"{path}?limit=200" + (f"&continue={cont}" if cont else ""))
            items += doc["items"]
            cont = doc["metadata"].get("continue")
            if not cont:
                break
        assert len(items) == sim.store.count(k.resource)
        for item in items[:: max(1, len(items) // 40)]:
            kubernetes_validate.validate(dict(item, kind=k.kind, apiVersion=k.api_version), "1.32", strict=True)
            n += 1
    assert n > 300


def test_describe_pod_shows_its_events(sim, kctl):
    ev = next(e for e in sim.store.list("events")[0]
              if e["involvedObject"].get("kind") == "Pod" and e.get("reason") in ("BackOff", "Unhealthy")
              and sim.store.get("pods", e["involvedObject"]["namespace"], e["involvedObject"]["name"]))
    inv = ev["involvedObject"]
    out = kctl.run("describe", "pod", inv["name"], "-n", inv["namespace"]).stdout
    assert re.search(rf"Warning\s+{ev['reason']}\s+", out), out[-800:]


def test_describe_node_shows_its_lease(sim, kctl):
    for name in (sim.scenario.cordoned_node, sim.scenario.not_ready_node):
        out = kctl.run("describe", "node", name).stdout
        assert "Failed to get lease" not in out
        assert re.search(rf"Lease:\s+HolderIdentity:\s+{re.escape(name)}\s+AcquireTime:\s+<unset>\s+RenewTime:\s+\w", out), out[:1500]
    leases = _rows(kctl.run("get", "leases", "-n", "kube-node-lease").stdout)
    assert leases[0] == ["NAME", "HOLDER", "AGE"] and len(leases) - 1 == sim.store.count("nodes")
    sas = _rows(kctl.run("get", "sa", "-n", "kube-system").stdout)
    assert sas[0] == ["NAME", "SECRETS", "AGE"] and ["default", "0"] in [r[:2] for r in sas[1:]]
    roles = _rows(kctl.run("get", "clusterrole", "cluster-admin", "view").stdout)
    assert roles[0] == ["NAME", "CREATED AT"] and [r[0] for r in roles[1:]] == ["cluster-admin", "view"]


def test_python_client_reads_the_control_plane_kinds_and_watches_a_lease_renewal(sim):
    """The official client deserialises the added kinds (typed models, required fields) and a watch on
    kube-node-lease sees a Ready node's kubelet renew its lease."""
    c = kubernetes.config.new_client_from_config(config_file=sim.kubeconfig_path)
    try:
        core, coord = client.CoreV1Api(c), client.CoordinationV1Api(c)
        rbac, batch = client.RbacAuthorizationV1Api(c), client.BatchV1Api(c)
        sas = core.list_service_account_for_all_namespaces(limit=10)
        assert len(sas.items) == 10 and sas.metadata._continue
        assert {(s.metadata.namespace, s.metadata.name) for s in sas.items} <= {
            (s["metadata"]["namespace"], s["metadata"]["name"]) for s in sim.store.list("serviceaccounts")[0]}
        crb = {b.metadata.name: b for b in rbac.list_cluster_role_binding().items}
        assert crb["sim-viewer"].role_ref.name == "viewer" and crb["sim-viewer"].subjects[0].name == "viewer"
        assert "cluster-admin" in {r.metadata.name for r in rbac.list_cluster_role().items}
        assert batch.list_cron_job_for_all_namespaces().items == []
        assert core.list_persistent_volume_claim_for_all_namespaces().items == []
        leases = coord.list_namespaced_lease("kube-node-lease")
        assert len(leases.items) == sim.store.count("nodes")
        ready = next(l.metadata.name for l in leases.items if l.metadata.name != sim.scenario.not_ready_node)
        before = next(l.spec.renew_time for l in leases.items if l.metadata.name == ready)
        seen = []
        w = watch.Watch()

        def consume():
            for ev in w.stream(coord.list_namespaced_lease, "kube-node-lease",
                               resource_version=leases.metadata.resource_version, timeout_seconds=15):
                if ev["object"].metadata.name == ready:
                    seen.append((ev["type"], ev["object"].spec.renew_time))
                    w.stop()

        t = threading.Thread(target=consume, daemon=True)
        t.start()
        sim.advance(30)
        t.join(20)
        assert seen and seen[0][0] == "MODIFIED" and seen[0][1] > before
    finally:
        c.close()
