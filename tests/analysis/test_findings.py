import pathlib

import orjson

from kubewatch_ml.analysis import analyze
from kubewatch_ml.analysis.findings import BY_ID, REGISTRY, image_unpinned, render_findings_doc
from kubewatch_ml.metrics_snapshot import AREAS, AreaState, HpaHistory, MetricsSnapshot
from kubewatch_ml.model import (ContainerSpec, Hpa, HpaMetric, LabelSelector, Namespace, NetworkPolicy,
                                PodDisruptionBudget, Resources)
from kubewatch_ml.snapshot import ClusterSnapshot

from _records import GIB, GPU_TAINT, GPU_TOLERATION, deployment, node, pod, rs_owner

NOW = 10_000.0
DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "FINDINGS.md"
GOOD = ContainerSpec(name="main", image="app:1.4.2", requests=Resources(cpu_m=100, memory=GIB),
                     limits=Resources(memory=GIB), liveness=True, readiness=True)


def ids(result, fid):
    return sorted((f.kind, f.namespace, f.name) for f in result.findings if f.id == fid)


def test_registry_ids_are_unique_and_documented():
    assert len({d.id for d in REGISTRY}) == len(REGISTRY)
    assert all(d.id.startswith("KW-") and d.action and d.title for d in REGISTRY)
    alerts = {d.alert for d in REGISTRY if d.alert}
    assert alerts == {"KubeQuotaAlmostFull", "KubeQuotaFullyUsed", "KubeQuotaExceeded", "KubeHpaMaxedOut",
                      "KubeHpaReplicasMismatch", "KubePodCrashLooping", "KubeNodeNotReady"}
    assert DOC.read_text() == render_findings_doc(), "docs/FINDINGS.md is stale: python -m kubewatch_ml.analysis.registry > docs/FINDINGS.md"


def test_node_not_ready_like_the_alert_excludes_cordoned_nodes():
    c = ClusterSnapshot.build(NOW, nodes=[
        node("ok"), node("down", ready="False"), node("unknown", ready="Unknown"),
        node("down-cordoned", ready="False", unschedulable=True),
    ])
    r = analyze(c, None, NOW)
    assert ids(r, "KW-N001") == [("Node", "", "down"), ("Node", "", "unknown")]
    assert {f.alert for f in r.findings if f.id == "KW-N001"} == {"KubeNodeNotReady"}
    assert ids(r, "KW-N002") == [("Node", "", "down-cordoned")]


def test_hpa_maxed_out_and_mismatch_like_the_alerts():
    def hpa(name, cur, des, mn, mx):
        return Hpa(uid=name, name=name, namespace="ns", min_replicas=mn, max_replicas=mx, current_replicas=cur,
                   desired_replicas=des, metrics=(HpaMetric("Resource", "cpu", "Utilization", 50.0, 50.0),))
    hpas = [hpa("at-max", 6, 6, 1, 6), hpa("min-eq-max", 3, 3, 3, 3), hpa("below", 5, 5, 1, 6),
            hpa("stuck", 4, 6, 2, 8), hpa("stuck-no-history", 4, 6, 2, 8), hpa("recent", 4, 6, 2, 8)]
    times = tuple(NOW - 60 * i for i in range(20, -1, -1))
    hist = {("ns", "stuck"): HpaHistory(times, (4.0,) * 21, (6.0,) * 21),
            ("ns", "recent"): HpaHistory(times, (3.0,) * 15 + (4.0,) * 6, (6.0,) * 21)}
    m = MetricsSnapshot(taken_at=NOW, areas={a: AreaState(ok=True) for a in AREAS}, hpa_history=hist)
    r = analyze(ClusterSnapshot.build(NOW, hpas=hpas), m, NOW)
    assert ids(r, "KW-H001") == [("HorizontalPodAutoscaler", "ns", "at-max")]
    assert ids(r, "KW-H002") == [("HorizontalPodAutoscaler", "ns", "stuck")]
    assert {f.alert for f in r.findings if f.id in ("KW-H001", "KW-H002")} == {"KubeHpaMaxedOut", "KubeHpaReplicasMismatch"}


def test_practices():
    latest = ContainerSpec(name="main", image="registry.local:5000/app:latest", requests=Resources(cpu_m=100, memory=GIB),
                           limits=Resources(memory=GIB), liveness=True, readiness=True)
    bare = ContainerSpec(name="main", image="busybox")
    gpu_c = ContainerSpec(name="main", image="trainer:2", requests=Resources(cpu_m=1000, memory=GIB, gpu=1),
                          limits=Resources(memory=GIB, gpu=1), liveness=True, readiness=True)
    one, one_rs = deployment("one", "shop-prod", replicas=1, containers=[GOOD])
    many, many_rs = deployment("many", "shop-prod", replicas=3, containers=[GOOD])
    guarded, guarded_rs = deployment("guarded", "shop-prod", replicas=3, containers=[GOOD], template_labels={"app": "guarded", "tier": "web"})
    lat, lat_rs = deployment("lat", "dev", replicas=2, containers=[latest])
    nothing, nothing_rs = deployment("nothing", "dev", replicas=2, containers=[bare])
    train, train_rs = deployment("train", "dev", replicas=1, containers=[gpu_c])  # no GPU toleration
    tolerant, tolerant_rs = deployment("tolerant", "dev", replicas=1, containers=[gpu_c], tolerations=[GPU_TOLERATION])
    pdb = PodDisruptionBudget(uid="p", name="guarded", namespace="shop-prod", selector=LabelSelector(match_labels={"tier": "web"}))
    c = ClusterSnapshot.build(
        NOW, nodes=[node("g", gpu=8, taints=[GPU_TAINT]), node("n")],
        namespaces=[Namespace(name="shop-prod", uid="1"), Namespace(name="dev", uid="2", labels={"env": "dev"})],
        workloads=[one, one_rs, many, many_rs, guarded, guarded_rs, lat, lat_rs, nothing, nothing_rs, train, train_rs, tolerant, tolerant_rs],
        pods=[pod("x", "shop-prod", "n", owner=rs_owner("many", "shop-prod")), pod("y", "dev", "n", owner=rs_owner("lat", "dev")),
              pod("debug", "dev", phase="Pending", gpu=1, containers=(bare,)),  # bare pod, no toleration
              pod("debug-ok", "dev", phase="Pending", gpu=1, tolerations=[GPU_TOLERATION])],
        pdbs=[pdb], network_policies=[NetworkPolicy(uid="np", name="deny", namespace="shop-prod")],
    )
    r = analyze(c, None, NOW)
    assert ids(r, "KW-W001") == [("Deployment", "shop-prod", "one")]
    assert ids(r, "KW-W003") == [("Deployment", "shop-prod", "many")]  # "guarded" has a PDB; "one" is W001
    assert ids(r, "KW-C004") == [("Deployment", "dev", "lat"), ("Deployment", "dev", "nothing"), ("Pod", "dev", "debug")]
    assert ids(r, "KW-C001") == [("Deployment", "dev", "nothing"), ("Pod", "dev", "debug")]
    assert ids(r, "KW-C003") == [("Deployment", "dev", "nothing"), ("Pod", "dev", "debug")]
    assert ids(r, "KW-G003") == [("Deployment", "dev", "train"), ("Pod", "dev", "debug")]
    assert ids(r, "KW-W004") == [("Namespace", "", "dev")]  # shop-prod has a NetworkPolicy
    assert ("Pod", "dev", "debug") in ids(r, "KW-C004")  # bare pods' containers are checked too
    assert not any(f.kind == "ReplicaSet" for f in r.findings)  # reported through their Deployment


def test_image_pinning():
    assert image_unpinned("nginx") and image_unpinned("nginx:latest") and image_unpinned("host:5000/team/app")
    assert not image_unpinned("host:5000/team/app:1.2") and not image_unpinned("app@sha256:abc")


def test_ranking_and_json():
    nodes = [node("down", ready="False")]
    c = ClusterSnapshot.build(NOW, nodes=nodes, pods=[
        pod("gpu-wait", "ml-prod", phase="Pending", gpu=1, tolerations=[GPU_TOLERATION], created=NOW - 600),
        pod("web", "team-dev", "down")])
    r = analyze(c, None, NOW)
    sev = [f.severity for f in r.findings]
    order = {"critical": 0, "warning": 1, "info": 2}
    assert sev == sorted(sev, key=order.__getitem__)
    assert r.findings[0].id == "KW-G004" and r.findings[0].severity == "critical"  # GPU pod pending in prod
    assert "0/1 nodes are available" in r.findings[0].summary
    assert len({f.key for f in r.findings}) == len(r.findings)
    doc = orjson.loads(orjson.dumps(r.to_dict()))
    assert doc["findings"][0]["id"] == "KW-G004" and doc["overview"]["pending_gpu_pods"] == 1
    assert BY_ID["KW-G004"].view == "pending"


def test_limit_range_defaults_silence_missing_requests():
    from kubewatch_ml.model import LimitRange, LimitRangeItem
    bare = ContainerSpec(name="main", image="app:1", liveness=True, readiness=True)
    d1, r1 = deployment("web", "covered", replicas=1, containers=[bare])
    d2, r2 = deployment("web", "partly", replicas=1, containers=[bare])
    d3, r3 = deployment("web", "open", replicas=1, containers=[bare])
    lrs = [LimitRange(uid="1", name="defaults", namespace="covered", limits=(
               LimitRangeItem(type="Container", default=Resources(cpu_m=500, memory=GIB), default_request=Resources(cpu_m=100)),)),
           LimitRange(uid="2", name="cpu-only", namespace="partly", limits=(
               LimitRangeItem(type="Container", default_request=Resources(cpu_m=100)),))]
    r = analyze(ClusterSnapshot.build(NOW, workloads=[d1, r1, d2, r2, d3, r3], limit_ranges=lrs), None, NOW)
    c001 = {f.namespace: f.summary for f in r.findings if f.id == "KW-C001"}
    assert c001 == {"partly": "container main has no memory request", "open": "container main has no cpu or memory request"}
    assert ids(r, "KW-C002") == [("Deployment", "open", "web"), ("Deployment", "partly", "web")]


def test_absences_are_not_findings_when_the_kind_could_not_be_read():
    from kubewatch_ml.snapshot import KindState
    d, rs = deployment("api", "shop-prod", replicas=3, containers=[GOOD])
    kw = dict(nodes=[node("n")], workloads=[d, rs], pods=[pod("p", "shop-prod", "n", owner=rs_owner("api", "shop-prod"))])
    readable = analyze(ClusterSnapshot.build(NOW, **kw), None, NOW)
    assert {f.id for f in readable.findings} >= {"KW-Q001", "KW-W003", "KW-W004"}
    states = {"resourcequotas": KindState("resourcequotas", forbidden=True),
              "poddisruptionbudgets": KindState("poddisruptionbudgets", error="not served by this cluster (404)"),
              "networkpolicies": KindState("networkpolicies", complete=False)}
    blind = analyze(ClusterSnapshot.build(NOW, kinds=states, **kw), None, NOW)
    assert not {f.id for f in blind.findings} & {"KW-Q001", "KW-W003", "KW-W004"}
    assert blind.quotas.without_quota == () and "quotas unreadable (resourcequotas: forbidden)" in blind.quotas.note


def test_views_say_when_their_kind_could_not_be_read():
    from kubewatch_ml.snapshot import KindState
    states = {"horizontalpodautoscalers": KindState("horizontalpodautoscalers", forbidden=True),
              "events": KindState("events", error="HTTP 500", complete=False)}
    a = analyze(ClusterSnapshot.build(NOW, kinds=states), None, NOW)
    assert a.hpas.note.startswith("HPAs unreadable (horizontalpodautoscalers: forbidden)")
    assert a.probes.note.startswith("events unreadable (events: HTTP 500)")
