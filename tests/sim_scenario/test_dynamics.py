"""The cluster moves: HPAs follow load through the controller algorithm, replica controllers keep pods
in line with spec.replicas (HPA's or a user's), counters only grow, status stays consistent."""
import collections
import copy
import dataclasses

import kubernetes_validate
import pytest

from kubewatch_ml.sim import scenario as scenario_mod
from kubewatch_ml.sim.builder import usage_by_namespace
from kubewatch_ml.sim.load import LoadCurve
from kubewatch_ml.sim.units import parse_quantity

VALID_REASONS = {
    "AbleToScale": {"SucceededGetScale", "ReadyForNewScale", "ScaleDownStabilized", "ScaleUpStabilized", "SucceededRescale"},
    "ScalingActive": {"ValidMetricFound", "FailedGetPodsMetric", "FailedGetResourceMetric", "ScalingDisabled"},
    "ScalingLimited": {"TooManyReplicas", "TooFewReplicas", "ScaleUpLimit", "ScaleDownLimit", "DesiredWithinRange"},
}


def owned_pods(store, ns, kind, name):
    return [p for p in store.list("pods", ns)[0]
            if any(r["kind"] == kind and r["name"] == name for r in p["metadata"].get("ownerReferences") or ())]


def rs_of(store, ns, dep):
    return next(r for r in store.list("replicasets", ns)[0]
                if r["metadata"]["ownerReferences"][0]["name"] == dep)


def user_scale(store, res, ns, name, replicas):
    obj = copy.deepcopy(store.get(res, ns, name))
    obj["spec"]["replicas"] = replicas
    store.replace(res, obj, expect_rv=obj["metadata"]["resourceVersion"])


def test_replicas_follow_a_load_burst_up_then_down(sim):
    ns, name = "llm-prod", "chat-gateway"
    load = sim.dynamics.loads[(ns, name)]
    start = sim.now()
    # a known curve: steady at the target, a 3x burst from +2 min for 20 min, then steady again
    curve = LoadCurve(base_rps=load.curve.base_rps, seed=1, start=start, amplitude=0.0, noise=0.0,
                      burst_first=120, burst_every=10 ** 9, burst_len=1200, burst_factor=3.0)
    sim.dynamics.loads[(ns, name)] = dataclasses.replace(load, curve=curve)
    before = sim.store.get("deployments", ns, name)["spec"]["replicas"]
    seen = []
    for _ in range(40):  # 20 minutes
        sim.advance(30)
        seen.append(sim.store.get("deployments", ns, name)["spec"]["replicas"])
    peak = max(seen)
    assert peak > before
    hpa = sim.store.get("horizontalpodautoscalers", ns, name)
    assert hpa["status"].get("lastScaleTime")
    ev = [e for e in sim.store.list("events", ns)[0] if e["reason"] == "SuccessfulRescale" and e["involvedObject"]["name"] == name]
    assert ev and ev[0]["message"].startswith("New size: ")
    # the burst is over: scale-down waits for the 600 s window of this HPA's behavior, then steps down
    sim.advance(300)
    assert sim.store.get("deployments", ns, name)["spec"]["replicas"] == peak
    sim.advance(1800)
    after = sim.store.get("deployments", ns, name)["spec"]["replicas"]
    assert after < peak
    # pods follow the Deployment through its ReplicaSet
    rs = rs_of(sim.store, ns, name)
    assert rs["spec"]["replicas"] == after
    assert len(owned_pods(sim.store, ns, "ReplicaSet", rs["metadata"]["name"])) == after


def test_pods_match_replicas_everywhere_after_an_hour(sim):
    sim.advance(3600)
    store = sim.store
    refused = {(e["involvedObject"]["namespace"], e["involvedObject"]["name"]) for e in store.list("events")[0]
               if e["reason"] == "FailedCreate"}
    checked = 0
    for dep in store.list("deployments")[0]:
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        rs = rs_of(store, ns, name)
        assert rs["spec"]["replicas"] == dep["spec"]["replicas"], name
        pods = owned_pods(store, ns, "ReplicaSet", rs["metadata"]["name"])
        if (ns, rs["metadata"]["name"]) in refused:
            assert len(pods) <= rs["spec"]["replicas"]
            continue
        assert len(pods) == rs["spec"]["replicas"], name
        assert dep["status"]["replicas"] == len(pods)
        ready = sum(1 for p in pods if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"]))
        assert dep["status"].get("readyReplicas", 0) == ready
        checked += 1
    assert checked > 50
    for h in store.list("horizontalpodautoscalers")[0]:
        st = h["status"]
        assert h["spec"]["minReplicas"] <= st["desiredReplicas"] <= h["spec"]["maxReplicas"] or st["desiredReplicas"] == st["currentReplicas"]
        for c in st["conditions"]:
            assert c["reason"] in VALID_REASONS[c["type"]], c
    # quota status still equals the sum over the pods
    usage = usage_by_namespace(store.list("pods")[0])
    for q in store.list("resourcequotas")[0]:
        ns = q["metadata"]["namespace"]
        for key, val in q["status"]["used"].items():
            assert parse_quantity(val) == pytest.approx(usage.get(ns, {}).get(key, 0.0), abs=1e-3), (ns, key)
    # scheduler bookkeeping: never more than allocatable on a node
    per_node = collections.defaultdict(float)
    for p in store.list("pods")[0]:
        if p["spec"].get("nodeName") and p["status"]["phase"] not in ("Succeeded", "Failed"):
            for c in p["spec"]["containers"]:
                per_node[p["spec"]["nodeName"]] += parse_quantity((c["resources"].get("requests") or {}).get("nvidia.com/gpu", 0))
    for n in store.list("nodes")[0]:
        assert per_node[n["metadata"]["name"]] <= parse_quantity(n["status"]["allocatable"].get("nvidia.com/gpu", 0))


def test_user_scale_through_the_store_is_honoured(sim):
    store = sim.store
    ns, name = scenario_mod.SINGLE_REPLICA_SERVICE
    user_scale(store, "deployments", ns, name, 3)
    sim.advance(15)
    rs = rs_of(store, ns, name)
    assert rs["spec"]["replicas"] == 3
    pods = owned_pods(store, ns, "ReplicaSet", rs["metadata"]["name"])
    assert len(pods) == 3
    sim.advance(120)
    pods = owned_pods(store, ns, "ReplicaSet", rs["metadata"]["name"])
    assert all(p["status"]["phase"] == "Running" for p in pods)
    assert store.get("deployments", ns, name)["status"]["readyReplicas"] == 3
    assert store.get("poddisruptionbudgets", ns, name)["status"]["disruptionsAllowed"] == 2
    # StatefulSets add and remove the highest ordinal
    user_scale(store, "statefulsets", "platform", "feature-store-redis", 4)
    sim.advance(15)
    names = sorted(p["metadata"]["name"] for p in owned_pods(store, "platform", "StatefulSet", "feature-store-redis"))
    assert names == [f"feature-store-redis-{i}" for i in range(4)]
    user_scale(store, "statefulsets", "platform", "feature-store-redis", 2)
    sim.advance(15)
    names = sorted(p["metadata"]["name"] for p in owned_pods(store, "platform", "StatefulSet", "feature-store-redis"))
    assert names == ["feature-store-redis-0", "feature-store-redis-1"]


def test_deleted_pods_are_recreated_and_cordon_is_honoured(sim):
    store = sim.store
    ns, name = "speech-prod", "tts"
    rs = rs_of(store, ns, name)["metadata"]["name"]
    victim = owned_pods(store, ns, "ReplicaSet", rs)[0]
    node = victim["spec"]["nodeName"]
    # cordon the victim's node the way kubectl does, then delete (evict) the pod
    n = copy.deepcopy(store.get("nodes", "", node))
    n["spec"]["unschedulable"] = True
    store.replace("nodes", n, expect_rv=n["metadata"]["resourceVersion"])
    store.delete("pods", ns, victim["metadata"]["name"])
    sim.advance(15)
    pods = owned_pods(store, ns, "ReplicaSet", rs)
    assert len(pods) == 2
    new = [p for p in pods if p["metadata"]["name"] != victim["metadata"]["name"]]
    assert new and all(p["spec"].get("nodeName") != node for p in new)
    # the dynamics never undid the user's cordon
    assert store.get("nodes", "", node)["spec"]["unschedulable"] is True


def test_quota_admission_refuses_pods_over_hard(sim):
    store = sim.store
    ns, key = scenario_mod.QUOTA_EXCEEDED
    gpu_sts = "llm-finetune"
    user_scale(store, "statefulsets", ns, gpu_sts, 3)
    sim.advance(15)
    assert len(owned_pods(store, ns, "StatefulSet", gpu_sts)) == 2
    ev = [e for e in store.list("events", ns)[0] if e["reason"] == "FailedCreate"]
    assert ev and "exceeded quota" in ev[0]["message"] and key in ev[0]["message"]


def test_counters_only_grow(sim):
    t = sim.telemetry
    sim.advance(60)
    cpu0 = dict(t.container_cpu_seconds)
    probes0 = dict(t.probe_counts)
    energy0 = {k: d.energy_mj for k, d in t.gpus.items()}

    def restarts():
        return {(p["metadata"]["name"], s["name"]): s["restartCount"] for p in sim.store.list("pods")[0]
                for s in p["status"].get("containerStatuses", ())}
    r0 = restarts()
    ev0 = {e["metadata"]["name"]: e["count"] for e in sim.store.list("events")[0]}
    sim.advance(900)
    cpu1, probes1 = t.container_cpu_seconds, t.probe_counts
    common = cpu0.keys() & cpu1.keys()
    assert len(common) > 400
    assert all(cpu1[k] >= cpu0[k] for k in common)
    assert sum(1 for k in common if cpu1[k] > cpu0[k]) > 0.8 * len(common)
    pcommon = probes0.keys() & probes1.keys()
    assert all(probes1[k] >= probes0[k] for k in pcommon)
    assert any(probes1[k] > probes0[k] for k in pcommon if k[4] == "failed")
    assert all(d.energy_mj >= energy0[k] for k, d in t.gpus.items())
    r1 = restarts()
    assert all(r1[k] >= r0[k] for k in r0.keys() & r1.keys())
    assert any(r1[k] > r0[k] for k in r0.keys() & r1.keys())
    ev1 = {e["metadata"]["name"]: e["count"] for e in sim.store.list("events")[0]}
    assert all(ev1[k] >= ev0[k] for k in ev0.keys() & ev1.keys())
    assert any(ev1[k] > ev0[k] for k in ev0.keys() & ev1.keys())


def test_gpu_telemetry_moves_and_idle_allocated_gpus_stay_idle(sim):
    sim.advance(600)
    gpus = list(sim.telemetry.gpus.values())
    busy = [d for d in gpus if d.holder and d.util > 50]
    idle_alloc = [d for d in gpus if d.holder and d.util < 5]
    assert busy and idle_alloc
    for d in gpus:
        assert 0 <= d.util <= 100
        if d.holder is None:
            assert d.fb_used_mib == 0
        assert d.power_w > 0 and d.temp_c > 20
    hot = max(busy, key=lambda d: d.util)
    cold = min(idle_alloc, key=lambda d: d.util)
    assert hot.power_w > cold.power_w and hot.temp_c > cold.temp_c
    assert any(d.xid == 79 for d in gpus)  # the cordoned node's failing GPU


def test_objects_written_by_the_dynamics_validate(sim):
    rv0 = sim.store.resource_version
    sim.advance(1800)
    seen = set()
    for res in ("pods", "horizontalpodautoscalers", "deployments", "replicasets", "statefulsets", "events",
                "resourcequotas", "poddisruptionbudgets", "jobs", "daemonsets"):
        for e in sim.store.events_since(res, rv0):
            if e.type == "DELETED":
                continue
            key = (res, e.obj["metadata"].get("namespace"), e.obj.get("reason") or e.obj["metadata"]["name"].rsplit("-", 1)[0])
            if key in seen or len(seen) > 400:
                continue
            seen.add(key)
            kubernetes_validate.validate(e.obj, "1.32", strict=True)
    assert len(seen) > 50


def test_advance_is_deterministic(tmp_path):
    from kubewatch_ml.sim.cluster import SimCluster
    from .conftest import START

    def run(d):
        with SimCluster(seed=5, nodes=12, pods=200, start_clock=False, workdir=str(d), start=START, serve=False) as s:
            s.advance(1200)
            return {(h["metadata"]["namespace"], h["metadata"]["name"]): h["status"]["desiredReplicas"]
                    for h in s.store.list("horizontalpodautoscalers")[0]}, s.store.count("pods")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert run(tmp_path / "a") == run(tmp_path / "b")


def test_created_deployment_gets_replicaset_and_pods_and_deletion_cascades(sim):
    store = sim.store
    dep = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "hello", "namespace": "recsys-test", "labels": {"app": "hello"}, "generation": 1},
           "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "hello"}},
                    "template": {"metadata": {"labels": {"app": "hello"}},
                                 "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                                          "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}}
    store.create("deployments", dep)
    sim.advance(15)
    rs = rs_of(store, "recsys-test", "hello")
    assert rs["metadata"]["labels"]["pod-template-hash"]
    pods = owned_pods(store, "recsys-test", "ReplicaSet", rs["metadata"]["name"])
    assert len(pods) == 2 and all(p["spec"].get("nodeName") for p in pods)
    sim.advance(60)
    assert store.get("deployments", "recsys-test", "hello")["status"]["readyReplicas"] == 2
    kubernetes_validate.validate(store.get("replicasets", "recsys-test", rs["metadata"]["name"]), "1.32", strict=True)
    # a user's pod without an owner is scheduled and started too
    store.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": "recsys-test"},
                          "spec": {"containers": [{"name": "sh", "image": "busybox:1.36"}]}})
    sim.advance(30)
    assert store.get("pods", "recsys-test", "debug")["status"]["phase"] == "Running"
    # deleting the Deployment takes its ReplicaSet and pods with it
    store.delete("deployments", "recsys-test", "hello")
    sim.advance(15)
    sim.advance(15)
    assert store.get("replicasets", "recsys-test", rs["metadata"]["name"]) is None
    assert owned_pods(store, "recsys-test", "ReplicaSet", rs["metadata"]["name"]) == []


def test_hpa_whose_target_is_gone_cannot_get_scale(sim):
    ns, name = "llm-prod", "chat-gateway"
    sim.store.delete("deployments", ns, name)
    sim.advance(30)
    hpa = sim.store.get("horizontalpodautoscalers", ns, name)
    able = next(c for c in hpa["status"]["conditions"] if c["type"] == "AbleToScale")
    assert (able["status"], able["reason"]) == ("False", "FailedGetScale")
    assert not [p for p in sim.store.list("pods", ns)[0] if p["metadata"]["name"].startswith(name + "-")]


def test_hpa_without_ready_pods_reports_the_metric_failure(sim):
    ns, name = "recsys-prod", "ranker"
    rs = rs_of(sim.store, ns, name)["metadata"]["name"]
    for p in owned_pods(sim.store, ns, "ReplicaSet", rs):  # every pod replaced: none ready for a while
        sim.store.delete("pods", ns, p["metadata"]["name"])
    sim.advance(15)
    hpa = sim.store.get("horizontalpodautoscalers", ns, name)
    active = next(c for c in hpa["status"]["conditions"] if c["type"] == "ScalingActive")
    assert (active["status"], active["reason"]) == ("False", "FailedGetResourceMetric")
    assert sim.store.get("deployments", ns, name)["spec"]["replicas"] == 6  # blind: no scale-down
    sim.advance(120)
    active = next(c for c in sim.store.get("horizontalpodautoscalers", ns, name)["status"]["conditions"] if c["type"] == "ScalingActive")
    assert active["reason"] == "ValidMetricFound"


def test_ready_nodes_post_heartbeats_not_ready_node_does_not(sim):
    from kubewatch_ml.sim.manifests import rfc3339
    start = rfc3339(sim.now())
    sim.advance(315)
    for n in sim.store.list("nodes")[0]:
        ready = next(c for c in n["status"]["conditions"] if c["type"] == "Ready")
        if n["metadata"]["name"] == sim.scenario.not_ready_node:
            assert ready["lastHeartbeatTime"] < start and ready["status"] == "Unknown"
        else:
            assert ready["lastHeartbeatTime"] > start, n["metadata"]["name"]
            assert ready["lastTransitionTime"] < start


def test_node_leases_renewed_by_ready_nodes_the_not_ready_nodes_stale(sim):
    """kubelet's node Lease (kube-node-lease): within the 40 s lease duration on Ready nodes at every
    moment, stopped on the NotReady node (as long ago as its last heartbeat)."""
    from kubewatch_ml.sim.tables import parse_ts
    nodes = {n["metadata"]["name"]: n for n in sim.store.list("nodes")[0]}
    leases = {l["metadata"]["name"]: l for l in sim.store.list("leases", "kube-node-lease")[0]}
    assert set(leases) == set(nodes)
    for step in range(3):
        for name, lease in {l["metadata"]["name"]: l for l in sim.store.list("leases", "kube-node-lease")[0]}.items():
            age = sim.now() - parse_ts(lease["spec"]["renewTime"])
            assert lease["spec"]["holderIdentity"] == name and lease["spec"]["leaseDurationSeconds"] == 40
            assert lease["metadata"]["ownerReferences"][0]["uid"] == nodes[name]["metadata"]["uid"]
            if name == sim.scenario.not_ready_node:
                assert age > 600, age
            else:
                assert 0 <= age < 40, (name, age)
            kubernetes_validate.validate(dict(lease, kind="Lease", apiVersion="coordination.k8s.io/v1"), "1.32",
                                         strict=True)
        sim.advance(45)  # longer than a lease: only renewals keep them fresh
    stale = sim.store.get("leases", "kube-node-lease", sim.scenario.not_ready_node)
    assert stale["spec"]["renewTime"] == leases[sim.scenario.not_ready_node]["spec"]["renewTime"]


def test_every_namespace_has_a_default_service_account_and_pods_theirs(sim):
    sas = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in sim.store.list("serviceaccounts")[0]}
    for ns in sim.store.list("namespaces")[0]:
        assert (ns["metadata"]["name"], "default") in sas
    for pod in sim.store.list("pods")[0]:
        assert (pod["metadata"]["namespace"], pod["spec"].get("serviceAccountName", "default")) in sas
    sim.store.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh"}})
    assert sim.store.get("serviceaccounts", "fresh", "default") is None  # the controller acts on its next step
    sim.advance(15)
    assert sim.store.get("serviceaccounts", "fresh", "default") is not None


START = 1_767_225_600.0  # the sim fixture's start (conftest.py): 2026-01-01T00:00:00Z


def _cronjob(name: str, schedule: str, policy: str = "Allow", **extra) -> dict:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name, "namespace": "platform"},
            "spec": {"schedule": schedule, "concurrencyPolicy": policy, "suspend": False,
                     "successfulJobsHistoryLimit": 2, "failedJobsHistoryLimit": 1, **extra,
                     "jobTemplate": {"metadata": {"labels": {"app": name}}, "spec": {"backoffLimit": 0, "template": {
                         "metadata": {"labels": {"app": name}},
                         "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36",
                                  "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                                "limits": {"cpu": "100m", "memory": "64Mi"}}}]}}}}}}


def _jobs_of(sim, name):
    return sorted((j for j in sim.store.list("jobs", "platform")[0]
                   if any(r["name"] == name for r in j["metadata"].get("ownerReferences", []))),
                  key=lambda j: j["metadata"]["name"])


def test_cronjob_controller_runs_jobs_on_schedule_and_keeps_history(sim):
    """START is 2026-01-01T00:00:00Z: '*/15' fires at :15, :30, ...; each Job's pod runs, succeeds (Completed),
    the Job is Complete, the CronJob's status follows; two successful Jobs are kept."""
    sim.store.create("cronjobs", _cronjob("report", "*/15 * * * *"))
    sim.advance(14 * 60)
    assert _jobs_of(sim, "report") == []
    sim.advance(2 * 60)  # 00:16
    (job,) = _jobs_of(sim, "report")
    assert job["metadata"]["name"] == f"report-{(START + 900) // 60:.0f}"
    assert job["metadata"]["ownerReferences"][0]["controller"] is True
    cj = sim.store.get("cronjobs", "platform", "report")
    assert cj["status"]["lastScheduleTime"] == "2026-01-01T00:15:00Z"
    assert [a["name"] for a in cj["status"]["active"]] == [job["metadata"]["name"]]
    sim.advance(10 * 60)  # the pod ran and succeeded
    job = sim.store.get("jobs", "platform", job["metadata"]["name"])
    assert [c["type"] for c in job["status"]["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert job["status"]["succeeded"] == 1 and job["status"]["completionTime"]
    pods = [p for p in sim.store.list("pods", "platform")[0] if p["metadata"]["labels"].get("job-name") == job["metadata"]["name"]]
    assert len(pods) == 1 and pods[0]["status"]["phase"] == "Succeeded"
    assert pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    cj = sim.store.get("cronjobs", "platform", "report")
    assert "active" not in cj["status"] and cj["status"]["lastSuccessfulTime"] == job["status"]["completionTime"]
    for obj, kind in ((job, "Job"), (pods[0], "Pod"), (cj, "CronJob")):
        kubernetes_validate.validate(dict(obj, kind=kind, apiVersion="batch/v1" if kind != "Pod" else "v1"), "1.32",
                                     strict=True)
    sim.advance(60 * 60)  # 01:26: five runs so far, two kept
    names = [j["metadata"]["name"] for j in _jobs_of(sim, "report")]
    assert names == [f"report-{(START + m * 60) // 60:.0f}" for m in (60, 75)]
    assert not [p for p in sim.store.list("pods", "platform")[0]
                if p["metadata"]["labels"].get("app") == "report" and p["metadata"]["labels"]["job-name"] not in names]
    sim.store.delete("cronjobs", "platform", "report")  # cascades to its Jobs and their pods
    sim.advance(15)
    assert _jobs_of(sim, "report") == []
    assert not [p for p in sim.store.list("pods", "platform")[0] if p["metadata"]["labels"].get("app") == "report"]


def test_cronjob_forbid_suspend_and_deadline(sim):
    sim.dynamics.CRONJOB_RUN_S = (3000.0, 3000.0)  # runs outlast the schedule
    sim.store.create("cronjobs", _cronjob("forbid", "*/15 * * * *", "Forbid"))
    sim.store.create("cronjobs", _cronjob("allow", "*/15 * * * *", "Allow"))
    sim.store.create("cronjobs", _cronjob("paused", "*/15 * * * *", suspend=True))
    sim.advance(31 * 60)
    assert len(_jobs_of(sim, "forbid")) == 1  # the second run waits for the first
    assert len(_jobs_of(sim, "allow")) == 2
    assert _jobs_of(sim, "paused") == []
    assert len(sim.store.get("cronjobs", "platform", "allow")["status"]["active"]) == 2


def test_schedule_parsing_and_time_zones():
    import datetime as dt
    from kubewatch_ml.sim.cronjobs import _zone, last_due, parse_schedule
    assert parse_schedule("every day") is None and parse_schedule("61 * * * *") is None
    assert parse_schedule("*/0 * * * *") is None
    t = START + 3 * 3600 + 20 * 60  # 2026-01-01 (a Thursday) 03:20 UTC
    assert last_due(parse_schedule("0 3 * * *"), START, t, _zone("Etc/UTC")) == START + 3 * 3600
    assert last_due(parse_schedule("@hourly"), START, t, _zone(None)) == START + 3 * 3600
    assert last_due(parse_schedule("10-40/10 * * * 4"), START, t, _zone("UTC")) == START + 3 * 3600 + 20 * 60
    assert last_due(parse_schedule("0 3 * * 1-5"), START + 3 * 3600, t, _zone("UTC")) is None  # only after `after`
    # 03:00 in New York is 08:00 UTC
    ny = last_due(parse_schedule("0 3 * * *"), START, START + 9 * 3600, _zone("America/New_York"))
    assert dt.datetime.fromtimestamp(ny, dt.timezone.utc).hour == 8
