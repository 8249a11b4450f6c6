"""Every catalog query against a real Prometheus scraping the simulator's exporters; the expected
values come from how world.py built the cluster, not from exporter output."""
from __future__ import annotations

import time

import pytest

from world import CPU_CORES, MEMORY, wait_until

from kubewatch_ml.queries.catalog import AREA_QUERIES, BY_NAME, QUERIES
from kubewatch_ml.sources.prometheus import PrometheusMetrics

GiB = 2**30
UTIL = {("gpu-a-1", "0"): 90, ("gpu-a-1", "1"): 88, ("gpu-a-1", "2"): 1, ("gpu-a-1", "3"): 0,
        ("gpu-b-1", "0"): 40, ("gpu-b-1", "1"): 0, ("gpu-b-1", "2"): 0, ("gpu-b-1", "3"): 0}
FB_USED = {k: (70000 if k in {("gpu-a-1", "0"), ("gpu-a-1", "1"), ("gpu-a-1", "2"), ("gpu-b-1", "0")} else 0) for k in UTIL}


def gk(lb):
    return (lb["Hostname"], lb["gpu"]) + ((lb["GPU_I_ID"],) if "GPU_I_ID" in lb else ())


def by(rows, *keys):
    return {tuple(lb.get(k, "") for k in keys) if len(keys) > 1 else lb.get(keys[0], ""): v for lb, v in rows}


def approx_dict(d, tol=1e-6):
    return {k: pytest.approx(v, rel=tol, abs=tol) for k, v in d.items()}


def ns_sum(d):
    out = {}
    for (ns, _, _), v in d.items():
        out[ns] = out.get(ns, 0) + v
    return out


def hpa_state(world):
    h = world.store.get("horizontalpodautoscalers", "llm-prod", "infer")
    return h["status"]["currentReplicas"], h["status"]["desiredReplicas"]


# name -> check(rows_or_series, world) -> bool|None (assert inside; return False to retry while Prometheus catches up)
def _quota(rows, w):
    got = by(rows, "namespace", "resourcequota", "resource", "type")
    want = {}
    for q in w.store.list("resourcequotas")[0]:
        from kubewatch_ml.sim.units import parse_quantity
        for typ in ("hard", "used"):
            for k, v in q["status"][typ].items():
                want[(q["metadata"]["namespace"], q["metadata"]["name"], k, typ)] = parse_quantity(v)
    assert got == want
    return True


EXPECT = {
    "quota": _quota,
    "quota_ratio": lambda r, w: by(r, "namespace", "resource") == approx_dict({
        ("llm-prod", "requests.cpu"): 0.75, ("llm-prod", "requests.memory"): 80 / 128, ("llm-prod", "requests.nvidia.com/gpu"): 1.0,
        ("llm-prod", "pods"): 0.3, ("vision-dev", "requests.cpu"): 0.875, ("vision-dev", "limits.memory"): 0.75}),
    "quota_gpu_ratio": lambda r, w: by(r, "namespace") == {"llm-prod": 1.0},
    "namespace_requests_cpu": lambda r, w: by(r, "namespace") == {"llm-prod": 12, "vision-dev": 7},  # the Pending pod counts
    "namespace_requests_memory": lambda r, w: by(r, "namespace") == {"llm-prod": 80 * GiB, "vision-dev": 28 * GiB},
    "container_cpu": lambda r, w: by(r, "namespace", "pod", "container") == approx_dict(CPU_CORES, 0.25),
    "container_memory": lambda r, w: by(r, "namespace", "pod", "container") == MEMORY,
    "namespace_usage_cpu": lambda r, w: by(r, "namespace") == approx_dict(ns_sum(CPU_CORES), 0.25),
    "namespace_usage_memory": lambda r, w: by(r, "namespace") == ns_sum(MEMORY),
    "gpu_util": lambda r, w: {gk(lb): v for lb, v in r} == UTIL,
    "gpu_engine_active": lambda r, w: {gk(lb): v for lb, v in r} == {("mig-a-2", "0", "1"): 0.55, ("mig-a-2", "0", "2"): 0.0},
    "gpu_fb_used": lambda r, w: {gk(lb): v for lb, v in r} == {**FB_USED, ("mig-a-2", "0", "1"): 5000, ("mig-a-2", "0", "2"): 0},
    "gpu_fb_free": lambda r, w: {gk(lb): v for lb, v in r} == {**{k: 81920 - v for k, v in FB_USED.items()},
                                                                ("mig-a-2", "0", "1"): 4856, ("mig-a-2", "0", "2"): 9856},
    "gpu_power": lambda r, w: {gk(lb): v for lb, v in r if "GPU_I_ID" not in lb} == {k: 60 + 3 * u for k, u in UTIL.items()},
    "gpu_temp": lambda r, w: {gk(lb): v for lb, v in r if "GPU_I_ID" not in lb} == {k: round(35 + u / 3) for k, u in UTIL.items()},
    "gpu_xid": lambda r, w: [(gk(lb), lb["err_code"], v) for lb, v in r] == [(("gpu-b-1", "3"), "79", 79)],
    "gpu_util_avg_30m": lambda r, w: {gk(lb): v for lb, v in r} == approx_dict(
        {**UTIL, ("mig-a-2", "0", "1"): 55, ("mig-a-2", "0", "2"): 0}),
    # the session's Prometheus is seconds old: a small share of the 30-min window, the same for every GPU
    # (test_prometheus_server.py checks full coverage on a backfilled Prometheus)
    "gpu_util_coverage_30m": lambda r, w: {gk(lb) for lb, _ in r} <= set(UTIL) | {("mig-a-2", "0", "1"), ("mig-a-2", "0", "2")}
                                          and all(0 < v < 0.9 for _, v in r),
    "gpu_idle_allocated": lambda r, w: [(gk(lb), lb["pod"]) for lb, v in r] == [(("gpu-a-1", "2"), "infer-7d9f-def34")],
    "gpu_util_history": lambda s, w: {gk(lb): {round(v, 6) for _, v in pts} for lb, pts in s} == {
        **{k: {u} for k, u in UTIL.items()}, ("mig-a-2", "0", "1"): {55}, ("mig-a-2", "0", "2"): {0}}
        and all(len(pts) >= 2 for _, pts in s),
    "node_gpu_util": lambda r, w: by(r, "node") == {"gpu-a-1": 44.75, "gpu-b-1": 10},
    "node_gpu_fb_used_ratio": lambda r, w: by(r, "node") == approx_dict(
        {"gpu-a-1": 3 * 70000 / (4 * 81920), "gpu-b-1": 70000 / (4 * 81920), "mig-a-2": 5000 / (2 * 9856)}),
    "node_gpu_power": lambda r, w: by(r, "node") == {"gpu-a-1": 4 * 60 + 3 * (90 + 88 + 1), "gpu-b-1": 4 * 60 + 120, "mig-a-2": 60},
    "node_gpu_allocated": lambda r, w: by(r, "node") == {"gpu-a-1": 3, "gpu-b-1": 1},
    "node_gpu_allocatable": lambda r, w: by(r, "node") == {"gpu-a-1": 4, "gpu-b-1": 4},
    "hpa_replicas_history": lambda s, w: {lb["__name__"].rsplit("_", 2)[-2]: pts[-1][1] for lb, pts in s} == {
        "current": hpa_state(w)[0], "desired": hpa_state(w)[1], "min": 1, "max": 5},
    "hpa_metric_history": lambda s, w: {(lb["__name__"].split("_")[2], lb["metric_name"], lb["metric_target_type"]): pts[-1][1]
                                        for lb, pts in s} == {
        ("spec", "cpu", "utilization"): 50, ("spec", "inference_queue_depth", "average"): 30,
        ("status", "cpu", "utilization"): 80, ("status", "cpu", "average"): 0.4, ("status", "inference_queue_depth", "average"): 12},
    "hpa_replicas": lambda r, w: {lb["__name__"].rsplit("_", 2)[-2]: v for lb, v in r} == {
        "current": hpa_state(w)[0], "desired": hpa_state(w)[1], "min": 1, "max": 5},
    "hpa_conditions": lambda r, w: sorted(lb["condition"] for lb, v in r) == ["AbleToScale", "ScalingActive"],
    "hpa_maxed_out": lambda r, w: [lb["horizontalpodautoscaler"] for lb, v in r] == (["infer"] if hpa_state(w)[0] == 5 else []),
    "hpa_replicas_mismatch": lambda r, w: [lb["horizontalpodautoscaler"] for lb, v in r] == (
        ["infer"] if not w.hpa_changed and hpa_state(w)[0] != hpa_state(w)[1] else []),
    "probe_failures_5m": lambda r, w: by(r, "pod", "probe_type")[("infer-7d9f-abc12", "Liveness")] > 0 and all(
        v == 0 for (p, t), v in by(r, "pod", "probe_type").items() if (p, t) != ("infer-7d9f-abc12", "Liveness")),
    "restarts_1h": lambda r, w: set(by(r, "namespace", "pod", "container")) == {
        ("llm-prod", "trainer-0", "trainer"), ("llm-prod", "infer-7d9f-abc12", "server"), ("llm-prod", "infer-7d9f-def34", "server"),
        ("vision-dev", "notebook-0", "jupyter"), ("vision-dev", "mig-job-0", "worker")},
    "crashlooping": lambda r, w: [(lb["pod"], lb["container"]) for lb, v in r] == [("infer-7d9f-abc12", "server")],
    "zone_nodes": lambda r, w: by(r, "label_topology_kubernetes_io_zone") == {"us-east-1a": 2, "us-east-1b": 1, "us-east-1c": 1},
    "zone_ready_nodes": lambda r, w: by(r, "label_topology_kubernetes_io_zone") == {"us-east-1a": 2, "us-east-1b": 1},
    "zone_pods": lambda r, w: by(r, "namespace", "created_by_name", "label_topology_kubernetes_io_zone") == {
        ("llm-prod", "trainer", "us-east-1a"): 1, ("llm-prod", "infer-7d9f", "us-east-1a"): 1,
        ("llm-prod", "infer-7d9f", "us-east-1b"): 1, ("vision-dev", "notebook", "us-east-1c"): 1,
        ("vision-dev", "<none>", "us-east-1a"): 1},
    "targets_up": lambda r, w: by(r, "job") == {"kube-state-metrics": 1, "dcgm-exporter": 1, "kubelet": 1, "cadvisor": 1},
}


def test_every_catalog_query_has_an_expectation():
    assert set(EXPECT) == {q.name for q in QUERIES}
    for q in QUERIES:
        assert q.description and q.labels and q.view in ("quotas", "gpus", "hpas", "probes", "zones", "health")
    assert all(n in BY_NAME for names in AREA_QUERIES.values() for n in names)


@pytest.mark.parametrize("name", [q.name for q in QUERIES])
def test_catalog_query_against_real_prometheus(prom_env, name):
    pm = PrometheusMetrics(prom_env.prom.url, history_step=1, history_seconds=120)
    try:
        def run():
            now = time.time()
            return pm.range(name, now - 60, now, 1) if BY_NAME[name].range else pm.instant(name)

        def ok():
            try:
                return bool(EXPECT[name](run(), prom_env.world))
            except (AssertionError, KeyError):
                return False
        # Prometheus may be up to one scrape behind the last change another test made
        if not wait_until(ok, timeout=10):
            rows = run()
            EXPECT[name](rows, prom_env.world)  # raises with the difference
            assert EXPECT[name](rows, prom_env.world), rows
    finally:
        pm.close()


def test_mixin_recording_rules_agree_with_catalog(prom_env):
    q = prom_env.prom.query
    assert {r["metric"]["namespace"]: float(r["value"][1]) for r in q("namespace_cpu:kube_pod_container_resource_requests:sum")} == {
        "llm-prod": 12, "vision-dev": 7}
    assert {r["metric"]["namespace"]: float(r["value"][1]) for r in q("namespace_memory:kube_pod_container_resource_requests:sum")} == {
        "llm-prod": 80 * GiB, "vision-dev": 28 * GiB}
    mem = {(r["metric"]["pod"], r["metric"]["node"]): float(r["value"][1]) for r in q("node_namespace_pod_container:container_memory_working_set_bytes")}
    assert mem[("trainer-0", "gpu-a-1")] == 40 * GiB and len(mem) == 4
    cpu = q("node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m")
    assert {r["metric"]["node"] for r in cpu} == {"gpu-a-1", "gpu-b-1", "cpu-c-1", "mig-a-2"}


@pytest.mark.parametrize("name", [q.name for q in QUERIES])
def test_prometheus_selector_scopes_every_query(prom_env, name):
    """--prometheus-selector (one Thanos for many clusters): matching everything changes nothing,
    matching another cluster leaves nothing."""
    from kubewatch_ml.settings import MetricsOptions
    url = prom_env.prom.url

    def run(sel):
        pm = PrometheusMetrics(url, MetricsOptions(prometheus_url=url, prometheus_selector=sel))
        try:
            now = time.time()
            rows = pm.range(name, now - 30, now, 1) if BY_NAME[name].range else pm.instant(name)
            return pm.promql(name), sorted(tuple(sorted(lb.items())) for lb, _ in rows)
        finally:
            pm.close()
    plain_q, plain = run(None)
    every_q, every = run('job=~".+"')
    none_q, none = run('cluster="another-cluster"')
    assert 'job=~".+"' in every_q and 'cluster="another-cluster"' in none_q and plain_q == BY_NAME[name].promql
    if name not in ("hpa_replicas_mismatch", "hpa_maxed_out", "gpu_xid", "gpu_idle_allocated", "crashlooping",
                    "gpu_util_coverage_30m") or plain:
        assert plain, name  # the query has data, so scoping has something to remove
    assert every == plain
    assert none == []


def test_selector_matching_nothing_says_so(prom_env):
    from kubewatch_ml.settings import MetricsOptions
    url = prom_env.prom.url
    pm = PrometheusMetrics(url, MetricsOptions(prometheus_url=url, prometheus_selector='cluster="another-cluster"'))
    try:
        m = pm.fetch(time.time())
        assert all(not st.ok and 'matching cluster="another-cluster"' in st.reason for st in m.areas.values()), m.areas
    finally:
        pm.close()
