"""Raw API JSON -> model records, on realistic fixtures (tests/data/)."""
import gc
import json
import pathlib

import msgspec
import pytest

from kubewatch_ml import model as m
from kubewatch_ml.sources import decode

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def objects():
    raw = json.loads((DATA / "objects.json").read_text())
    return {k: decode.decode_list(k, json.dumps(v).encode()).records for k, v in raw.items()}


@pytest.fixture(scope="module")
def pods():
    page = decode.decode_list("pods", (DATA / "pods.json").read_bytes())
    assert page.resource_version == "48211" and page.continue_token == ""
    return {p.name: p for p in page.records}


def test_every_kind_has_a_fixture_and_decodes(objects):
    assert set(objects) | {"pods"} == set(m.RECORD_KINDS)
    for kind, recs in objects.items():
        assert recs, kind
        assert all(isinstance(r, m.RECORD_KINDS[kind]) for r in recs), kind


def test_pod_effective_requests_take_init_max_and_count_sidecars(pods):
    p = pods["trainer-7d9f8b6c5-x2k4p"]
    # containers: trainer 1500m/8Gi/2 GPU + metrics 250m/500M + sidecar 100m/128Mi; init: 4 cpu / 16Gi
    assert p.requests.cpu_m == 4000
    assert p.requests.memory == 16 * 1024**3
    assert p.requests.gpu == 2
    assert p.requests.extended == {"ephemeral-storage": 10 * 1024**3}
    sidecar = next(c for c in p.containers if c.name == "log-shipper")
    assert not sidecar.init and next(c for c in p.containers if c.name == "fetch-weights").init


def test_pod_fields(pods):
    p = pods["trainer-7d9f8b6c5-x2k4p"]
    assert p.owner == m.OwnerRef(kind="ReplicaSet", name="trainer-7d9f8b6c5",
                                 uid="aa11bb22-0000-4000-8000-000000000001", controller=True)
    assert p.node_name == "gpu-a100-003" and p.phase == "Running" and not p.ready
    assert p.created == 1795860000.0  # 2026-11-28T10:00:00Z
    assert p.priority_class == "training-high"
    assert "kubectl.kubernetes.io/last-applied-configuration" not in (p.annotations or {})
    assert p.annotations == {"prometheus.io/scrape": "true"}
    trainer = next(c for c in p.containers if c.name == "trainer")
    assert trainer.liveness and trainer.readiness and not trainer.startup
    assert trainer.limits.cpu_m == 2000
    st = {s.name: s for s in p.statuses}
    assert st["trainer"].state == "waiting" and st["trainer"].reason == "CrashLoopBackOff"
    assert st["trainer"].restart_count == 7
    assert st["trainer"].last_term_reason == "OOMKilled" and st["trainer"].last_term_exit_code == 137
    assert st["metrics"].state == "running" and st["metrics"].started_at > 0
    assert p.tolerations[0] == m.Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")
    assert len(p.affinity_terms) == 2
    assert p.affinity_terms[0] == (m.Requirement("topology.kubernetes.io/zone", "In", ("us-east-1a", "us-east-1b")),)
    assert p.has_anti_affinity and p.has_spread_constraints


def test_mirror_deleting_and_unschedulable_pods(pods):
    assert pods["kube-apiserver-cp-1"].is_mirror and pods["kube-apiserver-cp-1"].ready
    ev = pods["batch-eval-29a"]
    assert ev.deleting and not ev.is_mirror and ev.node_name == ""
    assert ev.requests.mig() == {"nvidia.com/mig-1g.10gb": 1}
    sched = next(c for c in ev.conditions if c.type == "PodScheduled")
    assert sched.status == "False" and sched.reason == "Unschedulable"


def test_node(objects):
    n = objects["nodes"][0]
    assert n.zone == "us-east-1a" and n.gpu_product == "NVIDIA-A100-SXM4-80GB"
    assert n.unschedulable and n.ready == "True" and n.internal_ip == "10.0.3.3"
    assert n.allocatable.cpu_m == 95500 and n.allocatable.gpu == 6 and n.capacity.gpu == 8
    assert n.allocatable.memory == 1130 * 1024**3
    assert n.capacity.mig() == {"nvidia.com/mig-1g.10gb": 14}
    assert [t.key for t in n.taints] == ["nvidia.com/gpu", "node.kubernetes.io/unschedulable"]


def test_quota_keys_in_their_units(objects):
    q = objects["resourcequotas"][0]
    assert q.hard["requests.cpu"] == 200_000 and q.used["requests.cpu"] == 187_500
    assert q.hard["requests.memory"] == 1 << 40 and q.used["requests.memory"] == 900 * 1024**3
    assert q.hard["requests.nvidia.com/gpu"] == 16 and q.used["pods"] == 88
    assert q.hard["count/jobs.batch"] == 50 and q.hard["requests.storage"] == 10 << 40
    assert q.used["limits.ephemeral-storage"] == 0


def test_hpa_metrics_matched_with_current_values(objects):
    h = objects["horizontalpodautoscalers"][0]
    assert (h.min_replicas, h.max_replicas, h.current_replicas) == (2, 20, 20)
    assert (h.target_kind, h.target_name) == ("Deployment", "inference")
    by = {(x.type, x.name, x.container): x for x in h.metrics}
    assert by[("Resource", "cpu", "")].target == 70 and by[("Resource", "cpu", "")].current == 93
    mem = by[("Resource", "memory", "")]
    assert mem.target_type == "AverageValue" and mem.target == 6 * 1024**3 and mem.current == 5 * 1024**3
    assert by[("ContainerResource", "cpu", "server")].current == 950  # millicores
    assert by[("Pods", "inference_queue_depth", "")].current is None  # blind: missing from status
    ext = by[("External", "pubsub_undelivered", "")]
    assert ext.target_type == "Value" and ext.target == 1000 and ext.current == 1500
    assert h.scale_down.stabilization_window_seconds == 300 and h.scale_down.select_policy == "Min"
    assert h.scale_up.policies == (m.ScalingPolicy("Pods", 4, 15),)
    assert any(c.type == "ScalingLimited" and c.reason == "TooManyReplicas" for c in h.conditions)


def test_workloads(objects):
    d = objects["deployments"][0]
    assert d.kind == "Deployment" and d.replicas == 4 and d.ready_replicas == 3
    assert d.selector.match_expressions == (m.Requirement("tier", "NotIn", ("canary",)),)
    assert d.containers[0].requests.gpu == 2 and d.node_selector == {"pool": "gpu"}
    rs = objects["replicasets"][0]
    assert rs.owner.kind == "Deployment" and rs.owner.name == "trainer"
    ds = objects["daemonsets"][0]
    assert (ds.replicas, ds.ready_replicas, ds.updated_replicas) == (12, 11, 12)
    j = objects["jobs"][0]
    assert (j.replicas, j.active, j.succeeded, j.failed, j.completions) == (3, 2, 5, 1, 10)
    assert objects["statefulsets"][0].replicas == 1  # spec.replicas defaults to 1


def test_events_core_and_series(objects):
    e1, e2 = objects["events"]
    assert e1.involved_kind == "Pod" and e1.field_path == "spec.containers{trainer}" and e1.count == 42
    assert e1.type == "Warning" and e1.source == "kubelet" and e1.last_seen > e1.first_seen
    assert e2.count == 3 and e2.source == "horizontal-pod-autoscaler"
    assert e2.last_seen == 1795866900.0 and e2.first_seen == pytest.approx(1795866600.123456)


def test_pdb_netpol_service_limitrange_namespace(objects):
    p1, p2 = objects["poddisruptionbudgets"]
    assert p1.min_available == "3" and p1.disruptions_allowed == 0 and p1.expected_pods == 4
    assert p2.max_unavailable == "25%" and p2.min_available is None
    np_ = objects["networkpolicies"][0]
    assert np_.policy_types == ("Ingress", "Egress") and np_.pod_selector.match_labels is None
    svc = objects["services"][0]
    assert svc.ports == (80, 9000) and svc.cluster_ip == "10.96.12.34" and svc.selector == {"app": "inference"}
    lr = objects["limitranges"][0]
    assert lr.limits[0].default_request.cpu_m == 250 and lr.limits[0].max.gpu == 8
    assert lr.limits[1].min.extended == {"storage": 1 << 30}
    ns = {n.name: n for n in objects["namespaces"]}
    assert ns["old-team"].phase == "Terminating" and ns["team-vision"].labels["team"] == "vision"


def test_identical_subrecords_are_shared():
    page = json.loads((DATA / "pods.json").read_text())
    p = page["items"][0]
    clones = []
    for i in range(3):
        c = json.loads(json.dumps(p))
        c["metadata"]["name"] = f"trainer-{i}"
        c["metadata"]["uid"] = f"u{i}"
        clones.append(c)
    recs = decode.decode_list("pods", json.dumps({"items": clones}).encode()).records
    assert recs[0].containers[2] is recs[1].containers[2]
    assert recs[0].labels is recs[2].labels
    assert recs[0].name != recs[1].name


def test_watch_lines():
    obj = json.loads((DATA / "pods.json").read_text())["items"][1]
    ch = decode.decode_watch_line("pods", json.dumps({"type": "MODIFIED", "object": obj}).encode())
    assert ch.type == "MODIFIED" and ch.record.name == "kube-apiserver-cp-1" and ch.resource_version == "300"
    bm = decode.decode_watch_line("pods", b'{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"991"}}}')
    assert bm.type == "BOOKMARK" and bm.resource_version == "991" and bm.record is None
    err = decode.decode_watch_line("pods", b'{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}')
    assert err.type == "ERROR" and err.code == 410


def test_bad_quantities_do_not_break_a_page():
    body = {"items": [{"metadata": {"name": "n", "uid": "u"}, "status": {"allocatable": {"cpu": "lots", "memory": "1Gi"}}}]}
    n = decode.decode_list("nodes", json.dumps(body).encode()).records[0]
    assert n.allocatable.cpu_m == 0 and n.allocatable.memory == 1 << 30


def test_malformed_json_raises_decode_error():
    with pytest.raises(msgspec.DecodeError):
        decode.decode_list("pods", b'{"items": [ {"metadata": ')


def test_page_decode_pauses_the_cyclic_gc(monkeypatch):
    seen = []
    real = decode._list_decoder

    def spy(resource):
        seen.append(gc.isenabled())
        return real(resource)

    monkeypatch.setattr(decode, "_list_decoder", spy)
    assert gc.isenabled()
    decode.decode_list("pods", (DATA / "pods.json").read_bytes())
    assert seen == [False] and gc.isenabled()


def test_paths():
    assert decode.CODECS["pods"].path() == "/api/v1/pods"
    assert decode.CODECS["pods"].path("ml") == "/api/v1/namespaces/ml/pods"
    assert decode.CODECS["nodes"].path("ml") == "/api/v1/nodes"
    assert decode.CODECS["horizontalpodautoscalers"].path("a") == "/apis/autoscaling/v2/namespaces/a/horizontalpodautoscalers"
    assert "secrets" not in decode.CODECS


def test_routine_true_pod_conditions_are_not_kept():
    conds = [{"type": t, "status": s} for t, s in (
        ("PodReadyToStartContainers", "True"), ("Initialized", "True"), ("ContainersReady", "False"),
        ("Ready", "True"), ("PodScheduled", "True"), ("DisruptionTarget", "True"))]
    body = {"items": [{"metadata": {"name": "p", "uid": "u"}, "status": {"conditions": conds}}]}
    p = decode.decode_list("pods", json.dumps(body).encode()).records[0]
    assert [(c.type, c.status) for c in p.conditions] == [
        ("ContainersReady", "False"), ("Ready", "True"), ("PodScheduled", "True"), ("DisruptionTarget", "True")]
    assert p.ready


def test_continue_token_is_read_from_the_head_of_the_page():
    # the head (metadata before items) is all that is decoded: a page whose items do not parse still gives its token
    assert decode.list_continue_token(b'{"kind":"PodList","metadata":{"continue":"t1"},"items":[{"metadata":') == "t1"
    # laid out otherwise, the whole body is decoded
    assert decode.list_continue_token(b'{"items":[{"metadata":{"name":"p"}}],"metadata":{"continue":"t2"}}') == "t2"
    assert decode.list_continue_token(b'{"metadata": {"continue": "t3"}, "items": []}') == "t3"
    assert decode.list_continue_token(b'{"metadata":{"x":{"items":1},"continue":"t4"},"items":[]}') == "t4"
    assert decode.list_continue_token(b'{"metadata":{},"items":[]}') == ""
    with pytest.raises(msgspec.DecodeError):
        decode.list_continue_token(b'{"items":[{"metadata":')


def test_a_page_and_single_objects_decode_to_the_same_pods():
    body = (DATA / "pods.json").read_bytes()
    page = decode.decode_list("pods", body).records
    singles = [decode.decode_object("pods", json.dumps(o).encode()) for o in json.loads(body)["items"]]
    assert page == singles and len(page) >= 3


def test_container_statuses_that_differ_anywhere_are_kept_apart():
    base = {"name": "c", "ready": True, "restartCount": 1, "state": {"running": {"startedAt": "2026-11-28T10:00:04Z"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": "2026-11-28T10:00:03Z"}}}
    variants = [base, {**base, "state": {"running": {"startedAt": "2026-11-28T10:00:09Z"}}},
                {**base, "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}},
                {**base, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}, {**base, "started": False}]
    items = [{"metadata": {"name": f"p{i}", "uid": f"u{i}"}, "status": {"containerStatuses": [v]}}
             for i, v in enumerate(variants + [base])]
    recs = decode.decode_list("pods", json.dumps({"items": items}).encode()).records
    st = [r.statuses[0] for r in recs]
    assert st[0].started_at == 1795860004.0 and st[1].started_at == 1795860009.0
    assert (st[0].last_term_reason, st[0].last_term_exit_code) == ("OOMKilled", 137)
    assert (st[2].last_term_reason, st[2].last_term_exit_code) == ("Error", 1)
    assert (st[3].state, st[3].reason) == ("waiting", "CrashLoopBackOff") and st[4].started is False
    assert len({id(s) for s in st[:5]}) == 5 and recs[5].statuses is recs[0].statuses
