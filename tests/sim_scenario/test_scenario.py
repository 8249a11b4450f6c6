"""The scenario plants what it promises, deterministically, as objects a real API server would accept."""
import collections

import kubernetes_validate
import pytest

from kubewatch_ml.sim import scenario as scenario_mod
from kubewatch_ml.sim.builder import usage_by_namespace
from kubewatch_ml.sim.units import parse_quantity

from .conftest import START


def _by(scn, res):
    return {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in scn.objects[res]}


def _ratios(q):
    hard, used = q["status"]["hard"], q["status"]["used"]
    return {k: parse_quantity(used[k]) / parse_quantity(v) for k, v in hard.items() if parse_quantity(v) > 0}


def test_size_and_kinds(scn):
    c = scn.count()
    assert c["nodes"] == 40
    assert 590 <= c["pods"] <= 660
    for res in ("namespaces", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs",
                "horizontalpodautoscalers", "poddisruptionbudgets", "networkpolicies", "limitranges",
                "resourcequotas", "services", "events"):
        assert c[res] > 0, res
    pods_per_node = collections.Counter(p["spec"].get("nodeName") for p in scn.objects["pods"] if p["spec"].get("nodeName"))
    assert max(pods_per_node.values()) <= 110


def test_namespaces_per_team_and_env(scn):
    names = {n["metadata"]["name"] for n in scn.objects["namespaces"]}
    assert {"vision-dev", "vision-prod", "llm-prod", "llm-dev", "recsys-test", "recsys-prod", "platform",
            "monitoring", "gpu-operator", "kube-system"} <= names


def test_quota_used_equals_sum_of_pod_requests(scn):
    usage = usage_by_namespace(scn.objects["pods"])
    checked = 0
    for q in scn.objects["resourcequotas"]:
        ns = q["metadata"]["namespace"]
        for key, val in q["status"]["used"].items():
            assert parse_quantity(val) == pytest.approx(usage.get(ns, {}).get(key, 0.0), abs=1e-3), (ns, key)
            checked += 1
        assert set(q["status"]["hard"]) == set(q["spec"]["hard"])
        assert {"requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "requests.nvidia.com/gpu", "pods"} <= set(q["spec"]["hard"])
    assert checked > 30


def test_planted_quota_cases(scn):
    quotas = collections.defaultdict(list)
    for q in scn.objects["resourcequotas"]:
        quotas[q["metadata"]["namespace"]].append(q)
    ns, key = scenario_mod.QUOTA_NEAR_FULL
    r = _ratios(quotas[ns][0])[key]
    assert 0.9 < r < 1.0
    ns, key = scenario_mod.QUOTA_EXCEEDED
    assert _ratios(quotas[ns][0])[key] > 1.0
    assert scenario_mod.NAMESPACE_WITHOUT_QUOTA not in quotas
    assert any(p["metadata"]["namespace"] == scenario_mod.NAMESPACE_WITHOUT_QUOTA for p in scn.objects["pods"])
    # the others have headroom
    for ns, qs in quotas.items():
        if ns not in (scenario_mod.QUOTA_NEAR_FULL[0], scenario_mod.QUOTA_EXCEEDED[0]):
            assert max(_ratios(qs[0]).values()) < 0.9, ns


def test_node_pools_zones_gpus_and_special_nodes(scn):
    nodes = {n["metadata"]["name"]: n for n in scn.objects["nodes"]}
    zones = collections.Counter(n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in nodes.values())
    assert set(zones) == {"us-east-1a", "us-east-1b", "us-east-1c"}
    products = {n["metadata"]["labels"].get("nvidia.com/gpu.product") for n in nodes.values()} - {None}
    assert {"NVIDIA-A100-SXM4-40GB", "NVIDIA-H100-80GB-HBM3", "NVIDIA-A10G", "NVIDIA-A100-SXM4-80GB"} <= products
    for n in nodes.values():
        labels = n["metadata"]["labels"]
        for k in ("topology.kubernetes.io/region", "node.kubernetes.io/instance-type", "kubernetes.io/hostname",
                  "kubernetes.io/os", "kubernetes.io/arch"):
            assert k in labels
        if "nvidia.com/gpu.product" in labels:
            assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in n["spec"]["taints"]
            assert labels["nvidia.com/gpu.count"] and labels["nvidia.com/gpu.memory"] and labels["nvidia.com/mig.strategy"]
            assert "nvidia.com/gpu" in n["status"]["allocatable"]
        assert n["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.4"
        assert {c["type"] for c in n["status"]["conditions"]} == {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}
    mig = nodes[scn.mig_node]
    assert mig["metadata"]["labels"]["nvidia.com/mig.strategy"] == "mixed"
    for res in ("nvidia.com/mig-1g.10gb", "nvidia.com/mig-2g.20gb", "nvidia.com/mig-3g.40gb"):
        assert int(mig["status"]["allocatable"][res]) > 0
    cordoned = nodes[scn.cordoned_node]
    assert cordoned["spec"]["unschedulable"] is True
    nr = nodes[scn.not_ready_node]
    ready = next(c for c in nr["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("Unknown", "NodeStatusUnknown")
    assert {t["effect"] for t in nr["spec"]["taints"] if t["key"] == "node.kubernetes.io/unreachable"} == {"NoSchedule", "NoExecute"}
    assert sum(1 for n in nodes.values() if n["spec"].get("unschedulable")) == 1


def test_pending_gpu_pods_with_scheduler_reasons(scn):
    pending = [p for p in scn.objects["pods"] if p["status"]["phase"] == "Pending"]
    msgs = {p["metadata"]["name"]: p["status"]["conditions"][0] for p in pending}
    assert all(c["type"] == "PodScheduled" and c["status"] == "False" and c["reason"] == "Unschedulable" for c in msgs.values())
    text = " | ".join(c["message"] for c in msgs.values())
    assert "Insufficient nvidia.com/gpu" in text
    assert "had untolerated taint {nvidia.com/gpu: present}" in text
    assert "didn't match Pod's node affinity/selector" in text
    assert all(c["message"].startswith("0/40 nodes are available: ") for c in msgs.values())
    debug = _by(scn, "pods")[("vision-dev", "gpu-debug")]
    assert not any(t.get("key") == "nvidia.com/gpu" for t in debug["spec"]["tolerations"])
    failed = [e for e in scn.objects["events"] if e["reason"] == "FailedScheduling"]
    assert {e["involvedObject"]["name"] for e in failed} == set(msgs)
    assert all(e["type"] == "Warning" and e["count"] >= 1 for e in failed)


def test_crash_loops_and_probe_failures_with_events(scn):
    pods = scn.objects["pods"]
    crash = [(p, s) for p in pods for s in p["status"].get("containerStatuses", ())
             if s["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff"]
    assert {s["lastState"]["terminated"]["reason"] for _, s in crash} >= {"OOMKilled", "Error"}
    assert all(s["restartCount"] > 0 for _, s in crash)
    events = scn.objects["events"]
    backoff = {(e["involvedObject"]["name"], e["involvedObject"]["fieldPath"]) for e in events if e["reason"] == "BackOff"}
    for p, s in crash:
        assert (p["metadata"]["name"], f"spec.containers{{{s['name']}}}") in backoff
    unhealthy = [e for e in events if e["reason"] == "Unhealthy"]
    kinds = {e["message"].split(" probe failed")[0] for e in unhealthy}
    assert kinds == {"Liveness", "Readiness", "Startup"}
    live = next(e for e in unhealthy if e["message"].startswith("Liveness"))
    assert live["message"] == "Liveness probe failed: HTTP probe failed with statuscode: 500"
    assert live["type"] == "Warning" and live["count"] > 1 and live["firstTimestamp"] <= live["lastTimestamp"]
    assert live["involvedObject"]["fieldPath"].startswith("spec.containers{")


def test_hpas_maxed_blind_and_behavior(scn):
    hpas = _by(scn, "horizontalpodautoscalers")
    maxed = hpas[scenario_mod.MAXED_HPA]
    conds = {c["type"]: c for c in maxed["status"]["conditions"]}
    assert maxed["status"]["currentReplicas"] == maxed["spec"]["maxReplicas"]
    assert (conds["ScalingLimited"]["status"], conds["ScalingLimited"]["reason"]) == ("True", "TooManyReplicas")
    blind = hpas[scenario_mod.BLIND_HPA]
    conds = {c["type"]: c for c in blind["status"]["conditions"]}
    assert (conds["ScalingActive"]["status"], conds["ScalingActive"]["reason"]) == ("False", "FailedGetPodsMetric")
    assert blind["status"]["currentMetrics"] == [{"type": ""}]  # as the controller leaves a failed metric
    warned = {e["reason"] for e in scn.objects["events"] if e["involvedObject"]["name"] == scenario_mod.BLIND_HPA[1]
              and e["involvedObject"]["kind"] == "HorizontalPodAutoscaler" and e["type"] == "Warning"}
    assert warned == {"FailedGetPodsMetric", "FailedComputeMetricsReplicas"}
    assert any(h["spec"].get("behavior") for h in hpas.values())
    assert any(m["type"] == "Pods" and m["pods"]["metric"]["name"] == "inference_requests_per_second"
               for h in hpas.values() for m in h["spec"]["metrics"])
    for h in hpas.values():
        assert h["apiVersion"] == "autoscaling/v2"


def test_workloads_owned_and_zone_cases(scn):
    pods = scn.objects["pods"]
    rs = _by(scn, "replicasets")
    for p in pods:
        refs = p["metadata"].get("ownerReferences")
        if refs and refs[0]["kind"] == "ReplicaSet":
            owner = rs[(p["metadata"]["namespace"], refs[0]["name"])]
            assert owner["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
            assert p["metadata"]["labels"]["pod-template-hash"] == owner["metadata"]["labels"]["pod-template-hash"]
            assert refs[0]["uid"] == owner["metadata"]["uid"]
    nodes = {n["metadata"]["name"]: n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in scn.objects["nodes"]}
    for ns, name in scenario_mod.SINGLE_ZONE_SERVICES:
        zones = {nodes[p["spec"]["nodeName"]] for p in pods
                 if p["metadata"]["namespace"] == ns and p["metadata"]["name"].startswith(name + "-")}
        assert len(zones) == 1, (name, zones)
    deps = _by(scn, "deployments")
    assert deps[scenario_mod.SINGLE_REPLICA_SERVICE]["spec"]["replicas"] == 1
    ds = {d["metadata"]["name"] for d in scn.objects["daemonsets"]}
    assert ds == {"node-exporter", "nvidia-dcgm-exporter"}
    ne = sum(1 for p in pods if p["metadata"]["name"].startswith("node-exporter-"))
    assert ne == 40
    assert any(j["status"].get("active") and any(
        "nvidia.com/gpu" in (c["resources"].get("limits") or {}) for c in j["spec"]["template"]["spec"]["containers"])
        for j in scn.objects["jobs"])
    images = [c["image"] for p in pods for c in p["spec"]["containers"]]
    assert any(i.endswith(":latest") for i in images) and any(":" not in i.rsplit("/", 1)[-1] for i in images)
    assert any(not c["resources"] for p in pods for c in p["spec"]["containers"])
    assert any("livenessProbe" not in c for p in pods for c in p["spec"]["containers"])


def test_pdb_status_is_consistent(scn):
    pods = scn.objects["pods"]
    for pdb in scn.objects["poddisruptionbudgets"]:
        st = pdb["status"]
        assert st["disruptionsAllowed"] == max(0, st["currentHealthy"] - st["desiredHealthy"])
        sel = pdb["spec"]["selector"]["matchLabels"]
        healthy = sum(1 for p in pods if p["metadata"]["namespace"] == pdb["metadata"]["namespace"]
                      and all(p["metadata"]["labels"].get(k) == v for k, v in sel.items())
                      and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"]))
        assert st["currentHealthy"] == healthy
    single = next(p for p in scn.objects["poddisruptionbudgets"] if p["metadata"]["name"] == scenario_mod.SINGLE_REPLICA_SERVICE[1])
    assert single["status"]["disruptionsAllowed"] == 0


def test_idle_allocated_gpus_and_mig_devices_in_telemetry(scn):
    gpus = scn.telemetry.gpus
    allocated = [d for d in gpus.values() if d.holder]
    assert allocated
    assert any(d.mig_profile for d in gpus.values())
    pods = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in scn.objects["pods"]}
    assert all(d.holder[:2] in pods for d in allocated)
    assert sum(1 for d in gpus.values() if not d.holder) > 0


def test_same_seed_same_objects_other_seed_differs():
    a = scenario_mod.build(seed=11, nodes=12, pods=150, start=START)
    b = scenario_mod.build(seed=11, nodes=12, pods=150, start=START)
    c = scenario_mod.build(seed=12, nodes=12, pods=150, start=START)
    assert a.objects == b.objects
    assert a.objects != c.objects


def test_every_kind_validates_against_the_schema(scn):
    seen = set()
    for res, objs in scn.objects.items():
        for o in objs:
            key = (res, o["metadata"].get("namespace"), o["metadata"]["name"].rsplit("-", 1)[0])
            if key in seen:
                continue
            seen.add(key)
            kubernetes_validate.validate(o, "1.32", strict=True)
    assert len(seen) > 300


@pytest.mark.parametrize("nodes,pods", [(1, 0), (3, 20), (7, 700)])
def test_small_sizes_build(nodes, pods):
    s = scenario_mod.build(seed=3, nodes=nodes, pods=pods, start=START)
    assert len(s.objects["nodes"]) == nodes
    assert all(len([p for p in s.objects["pods"] if p["spec"].get("nodeName") == n["metadata"]["name"]]) <= 110
               for n in s.objects["nodes"])


def test_bad_sizes_are_refused():
    assert scenario_mod.validate_size(0, 10)
    assert scenario_mod.validate_size(2, 221)
    assert scenario_mod.validate_size(2, 220) is None
    with pytest.raises(ValueError):
        scenario_mod.build(seed=1, nodes=0, pods=0)


@pytest.mark.slow
def test_scales_to_5000_nodes_150000_pods():
    s = scenario_mod.build(seed=7, nodes=5000, pods=150_000, start=START)
    assert len(s.objects["nodes"]) == 5000
    assert 150_000 <= len(s.objects["pods"]) <= 152_000
    per_node = collections.Counter(p["spec"].get("nodeName") for p in s.objects["pods"])
    per_node.pop(None, None)
    assert max(per_node.values()) <= 110
    running = sum(1 for p in s.objects["pods"] if p["status"]["phase"] == "Running")
    assert running > 0.99 * len(s.objects["pods"])


def test_pods_are_younger_than_their_nodes_and_owners(scn):
    nodes = {n["metadata"]["name"]: n["metadata"]["creationTimestamp"] for n in scn.objects["nodes"]}
    owners = {o["metadata"]["uid"]: o["metadata"]["creationTimestamp"]
              for res in ("replicasets", "statefulsets", "jobs", "daemonsets") for o in scn.objects[res]}
    for p in scn.objects["pods"]:
        created = p["metadata"]["creationTimestamp"]
        if p["spec"].get("nodeName"):
            assert created > nodes[p["spec"]["nodeName"]], p["metadata"]["name"]
        for ref in p["metadata"].get("ownerReferences") or ():
            assert created >= owners[ref["uid"]], p["metadata"]["name"]
