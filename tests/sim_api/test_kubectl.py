"""Real kubectl 1.32 against the simulator's API server (TLS, token auth from the written kubeconfig):
the printed columns and values, and the objects the commands leave behind."""
from __future__ import annotations

import re
import time


def _rows(out: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in out.strip().splitlines()]


def test_get_nodes_prints_kubectl_columns(kubectl):
    out = kubectl.run("get", "nodes").stdout
    rows = _rows(out)
    assert rows[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {"cpu-a-1", "cpu-b-1", "gpu-a-1", "gpu-c-1"}
    assert by_name["gpu-a-1"][1:3] == ["Ready", "gpu"]
    assert by_name["cpu-a-1"][2] == "worker"
    # created 3 h before the fixture started; kubectl adds minutes ("3h4m") once the run is slow
    assert re.fullmatch(r"3h(\d+m)?", by_name["cpu-a-1"][3]) and by_name["cpu-a-1"][4] == "v1.32.4"
    wide = _rows(kubectl.run("get", "nodes", "-o", "wide").stdout)
    assert wide[0][5:7] == ["INTERNAL-IP", "EXTERNAL-IP"]
    assert {r[0]: r[5] for r in wide[1:]}["gpu-c-1"] == "10.0.3.10"


def test_get_pods_all_namespaces(kubectl):
    rows = _rows(kubectl.run("get", "pods", "-A").stdout)
    assert rows[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    by_name = {r[1]: r for r in rows[1:]}
    assert len(by_name) == 9
    assert by_name["notebook-crashy"][0] == "ml-dev"
    assert by_name["notebook-crashy"][2:4] == ["0/1", "CrashLoopBackOff"]
    assert re.fullmatch(r"7 \(\d+m ago\)", by_name["notebook-crashy"][4])
    assert by_name["web-7d4b9c-x0k2p"][2:5] == ["1/1", "Running", "0"]
    # a field selector as `kubectl describe node` sends it
    rows = _rows(kubectl.run("get", "pods", "-A", "--field-selector", "spec.nodeName=gpu-a-1,status.phase!=Failed").stdout)
    assert sorted(r[1] for r in rows[1:]) == ["node-exporter-gpu-a-1", "notebook-crashy"]
    rows = _rows(kubectl.run("get", "pods", "-n", "ml-prod", "-l", "app in (web),team!=llm").stdout)
    assert len(rows) == 4 and rows[0][0] == "NAME"


def test_get_hpa_and_quota_all_namespaces(kubectl):
    rows = _rows(kubectl.run("get", "hpa", "-A").stdout)
    assert rows[0] == ["NAMESPACE", "NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert rows[1][:7] == ["ml-prod", "web", "Deployment/web", "cpu: 42%/50%, 12/30", "2", "10", "3"]
    rows = _rows(kubectl.run("get", "resourcequota", "-A").stdout)
    assert rows[0] == ["NAMESPACE", "NAME", "AGE", "REQUEST", "LIMIT"]
    assert rows[1][0:2] == ["ml-prod", "compute"]
    assert "requests.cpu: 1500m/8" in rows[1][3] and "requests.nvidia.com/gpu: 0/4" in rows[1][3]
    assert rows[1][4] == "limits.memory: 3Gi/64Gi"


def test_describe_node(kubectl):
    out = kubectl.run("describe", "node", "gpu-a-1").stdout
    assert re.search(r"^Taints:\s+nvidia.com/gpu=present:NoSchedule$", out, re.M)
    assert "topology.kubernetes.io/zone=us-east-1a" in out
    assert re.search(r"Non-terminated Pods:\s+\(2 in total\)", out)
    assert "notebook-crashy" in out and "node-exporter-gpu-a-1" in out
    assert re.search(r"nvidia.com/gpu\s+1\s+1", out)  # allocated resources summed from the pods' requests
    assert re.search(r"Normal\s+NodeReady\s+\S+\s+kubelet\s+Node gpu-a-1 status is now: NodeReady", out)


def test_cordon_uncordon_label_taint(kubectl, store):
    assert kubectl.run("cordon", "cpu-b-1").stdout.strip() == "node/cpu-b-1 cordoned"
    assert store.get("nodes", "", "cpu-b-1")["spec"]["unschedulable"] is True
    assert "Ready,SchedulingDisabled" in kubectl.run("get", "node", "cpu-b-1").stdout
    kubectl.run("uncordon", "cpu-b-1")
    assert not store.get("nodes", "", "cpu-b-1")["spec"].get("unschedulable")

    kubectl.run("label", "node", "gpu-a-1", "team=vision")
    assert store.get("nodes", "", "gpu-a-1")["metadata"]["labels"]["team"] == "vision"
    kubectl.run("label", "node", "gpu-a-1", "team-")
    assert "team" not in store.get("nodes", "", "gpu-a-1")["metadata"]["labels"]

    kubectl.run("taint", "node", "cpu-a-1", "dedicated=inference:NoSchedule")
    assert store.get("nodes", "", "cpu-a-1")["spec"]["taints"] == [
        {"key": "dedicated", "value": "inference", "effect": "NoSchedule"}]
    kubectl.run("taint", "node", "gpu-c-1", "nvidia.com/gpu:NoSchedule-")
    assert not store.get("nodes", "", "gpu-c-1")["spec"].get("taints")


def test_invalid_label_and_taint_are_refused_and_nothing_changes(kubectl, store):
    before = store.get("nodes", "", "gpu-a-1")
    p = kubectl.run("label", "node", "gpu-a-1", "bad key!=x", check=False)
    assert p.returncode != 0
    assert 'The Node "gpu-a-1" is invalid: metadata.labels: Invalid value: "bad key!"' in p.stderr
    p = kubectl.run("label", "node", "gpu-a-1", "ok=" + "v" * 64, check=False)
    assert p.returncode != 0 and "must be no more than 63 characters" in p.stderr
    assert store.get("nodes", "", "gpu-a-1") is before


def test_scale_deployment(kubectl, store):
    assert kubectl.run("scale", "deployment", "web", "-n", "ml-prod", "--replicas=5").stdout.strip() == \
        "deployment.apps/web scaled"
    assert store.get("deployments", "ml-prod", "web")["spec"]["replicas"] == 5
    kubectl.run("scale", "statefulset", "notebook", "-n", "ml-dev", "--replicas=0")
    assert store.get("statefulsets", "ml-dev", "notebook")["spec"]["replicas"] == 0


def test_auth_can_i_and_viewer_forbidden(kubectl, store):
    assert kubectl.run("auth", "can-i", "patch", "nodes").stdout.strip() == "yes"
    p = kubectl.run("auth", "can-i", "patch", "nodes", context="sim-viewer", check=False)
    assert p.returncode == 1 and p.stdout.strip() == "no"
    assert kubectl.run("auth", "can-i", "list", "pods", "-A", context="sim-viewer").stdout.strip() == "yes"
    rules = _rows(kubectl.run("auth", "can-i", "--list", "-n", "ml-dev", context="sim-viewer").stdout)
    assert ["*.*", "[]", "[]", "[get list watch]"] in rules
    assert ["*.*", "[]", "[]", "[*]"] in _rows(kubectl.run("auth", "can-i", "--list").stdout)
    before = store.resource_version
    p = kubectl.run("label", "pod", "-n", "ml-prod", "web-7d4b9c-x0k2p", "a=b", context="sim-viewer", check=False)
    assert p.returncode != 0
    assert p.stderr.strip() == ('Error from server (Forbidden): pods "web-7d4b9c-x0k2p" is forbidden: User "viewer" '
                                'cannot patch resource "pods" in API group "" in the namespace "ml-prod"')
    p = kubectl.run("cordon", "cpu-a-1", context="sim-viewer", check=False)
    assert 'nodes "cpu-a-1" is forbidden: User "viewer" cannot patch resource "nodes" in API group "" ' \
           'at the cluster scope' in p.stderr
    p = kubectl.run("get", "secrets", "-A", context="sim-viewer", check=False)
    assert p.returncode != 0 and 'cannot list resource "secrets"' in p.stderr
    assert store.resource_version == before


def test_drain_retries_a_blocking_pdb(kubectl, tls_api, store):
    # web has 2 pods on cpu-a-1 and its PDB allows 1 disruption: the second eviction gets 429, kubectl
    # retries every 5 s; once the PDB allows another disruption the drain completes.
    proc = kubectl.popen("drain", "cpu-a-1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s")
    try:
        deadline = time.monotonic() + 30
        while tls_api.stats["evictions_blocked"] < 1 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert tls_api.stats["evictions_blocked"] >= 1, "the PDB never blocked an eviction"
        kubectl.run("patch", "pdb", "web", "-n", "ml-prod", "--subresource=status", "--type=merge",
                    "-p", '{"status":{"disruptionsAllowed":1}}')
        out, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Cannot evict pod as it would violate the pod's disruption budget." in err
    assert "node/cpu-a-1 drained" in out
    assert "ignoring DaemonSet-managed Pods: kube-system/node-exporter-cpu-a-1" in err
    left = [p["metadata"]["name"] for p in store.list("pods")[0] if p["spec"].get("nodeName") == "cpu-a-1"]
    assert left == ["node-exporter-cpu-a-1"]
    assert store.get("nodes", "", "cpu-a-1")["spec"]["unschedulable"] is True
    assert store.get("poddisruptionbudgets", "ml-prod", "web")["status"]["disruptionsAllowed"] == 0


def test_get_pods_watch_shows_a_change(kubectl, tls_api):
    proc = kubectl.popen("get", "pods", "-n", "ml-dev", "--watch")
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and tls_api.stats["watches"] == 0:
            time.sleep(0.05)
        kubectl.run("delete", "pod", "-n", "ml-dev", "notebook-crashy", "--wait=false")
        time.sleep(1.0)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    rows = _rows(out)
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    names = [r[0] for r in rows[1:]]
    assert names.count("notebook-crashy") == 2, out  # listed, then its deletion streamed



def test_create_and_apply_from_a_file(kubectl, store, tmp_path):
    # kubectl validates server-side once /openapi/v3 says PATCH takes fieldValidation
    manifest = tmp_path / "dep.yaml"
    doc = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: newdep, namespace: ml-dev}\n"
           "spec:\n  replicas: REPLICAS\n  selector: {matchLabels: {app: newdep}}\n"
           "  template:\n    metadata: {labels: {app: newdep}}\n    spec: {containers: [{name: c, image: nginx}]}\n")
    manifest.write_text(doc.replace("REPLICAS", "2"))
    assert kubectl.run("create", "-f", str(manifest)).stdout.strip() == "deployment.apps/newdep created"
    manifest.write_text(doc.replace("REPLICAS", "3"))
    assert "deployment.apps/newdep configured" in kubectl.run("apply", "-f", str(manifest)).stdout
    dep = store.get("deployments", "ml-dev", "newdep")
    assert dep["spec"]["replicas"] == 3 and dep["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in dep["metadata"]["annotations"]
    p = kubectl.run("create", "-f", str(manifest), check=False)
    assert p.returncode != 0 and 'deployments.apps "newdep" already exists' in p.stderr
    manifest.write_text(doc.replace("REPLICAS", "5").replace("newdep", "ssa"))
    assert kubectl.run("apply", "--server-side", "-f", str(manifest)).stdout.strip() == \
        "deployment.apps/ssa serverside-applied"
    manifest.write_text(doc.replace("REPLICAS", "6").replace("newdep", "ssa"))
    kubectl.run("apply", "--server-side", "-f", str(manifest))
    assert store.get("deployments", "ml-dev", "ssa")["spec"]["replicas"] == 6


def test_logs_follow_the_container_state(kubectl):
    out = kubectl.run("logs", "-n", "ml-dev", "notebook-crashy", "--previous").stdout
    assert out.splitlines()[0] == "INFO  starting main (ghcr.io/acme/model-server:1.4.2)"
    assert "ERROR fatal: exiting with code 1" in out and "CUDA out of memory" in out
    out = kubectl.run("logs", "-n", "ml-prod", "web-7d4b9c-x0k2p", "--tail=1", "--timestamps",
                      context="sim-viewer").stdout.splitlines()
    assert len(out) == 1 and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO  \d+ requests in the last 30s", out[0])
    p = kubectl.run("logs", "-n", "ml-prod", "web-7d4b9c-x0k2p", "--previous", check=False)
    assert p.returncode != 0 and 'previous terminated container "main" in pod "web-7d4b9c-x0k2p" not found' in p.stderr


def test_large_lists_arrive_gzipped_and_kubectl_reads_them(kubectl, tls_api, store):
    """kubectl asks for gzip; the simulator compresses answers over 128 KiB as kube-apiserver does: the Table,
    the plain list and the paged list all read back whole."""
    for i in range(300):
        store.create("events", {"metadata": {"namespace": "ml-prod", "name": f"big-{i:03d}"},
                                "involvedObject": {"kind": "Pod", "namespace": "ml-prod", "name": f"p-{i}"},
                                "reason": "Filler", "message": "m" * 600, "type": "Normal"})
    before = tls_api.stats["gzip"]
    table = kubectl.run("get", "events", "-n", "ml-prod", "--chunk-size=0").stdout
    assert sum("Filler" in line for line in table.splitlines()) == 300
    import json
    doc = json.loads(kubectl.run("get", "events", "-n", "ml-prod", "-o", "json", "--chunk-size=250").stdout)
    assert sum(e["reason"] == "Filler" for e in doc["items"]) == 300
    assert tls_api.stats["gzip"] - before >= 2  # the whole Table and the first 250-event page went out gzip
