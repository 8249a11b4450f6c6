"""open_metrics against the simulated cluster over HTTP, as the product sees it: a kubeconfig,
the API server's service proxy, exporters discovered by their usual Service names."""
from __future__ import annotations

import json
import time

import pytest

from metrics_support import need_prometheus
from world import wait_until

from kubewatch_ml.errors import UserError
from kubewatch_ml.settings import KubeOptions, MetricsOptions
from kubewatch_ml.sim.cluster import SimCluster
from kubewatch_ml.sim.prometheus_server import PrometheusServer
from kubewatch_ml.sim.units import parse_quantity
from kubewatch_ml.sources.kube import connect
from kubewatch_ml.sources.metrics import NoMetrics, open_metrics
from kubewatch_ml.sources.prometheus import PrometheusMetrics
from kubewatch_ml.sources.scrape import ScrapeMetrics  # noqa: F401


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with SimCluster(seed=7, nodes=30, pods=400, workdir=tmp_path_factory.mktemp("sim"), start_clock=False) as s:
        yield s


@pytest.fixture(scope="module")
def conn(sim):
    c = connect(KubeOptions(kubeconfig=sim.kubeconfig_path, readonly=True))
    yield c
    c.close()


def running_gpu_requests(conn) -> int:
    pods = conn.get_json("/api/v1/pods")["items"]
    n = 0
    for p in pods:
        if p["status"].get("phase") != "Running" or not p["spec"].get("nodeName"):
            continue
        for c in p["spec"]["containers"]:
            n += int(parse_quantity((c.get("resources", {}).get("limits") or {}).get("nvidia.com/gpu", 0)))
    return n


def test_falls_back_to_exporters_through_the_service_proxy(sim, conn):
    m = open_metrics(MetricsOptions(), conn)
    try:
        assert isinstance(m, ScrapeMetrics)
        d = m.describe()
        assert "kube-state-metrics monitoring/kube-state-metrics" in d and "nvidia-dcgm-exporter" in d
        assert "Prometheus found but unusable: monitoring/prometheus-k8s" in d  # the sim's Service has no backend
        snap = m.fetch(time.time())
        for area in ("gpu", "quota", "restarts", "hpa_history", "ksm"):
            assert snap.area(area).ok, (area, snap.area(area))
        assert not snap.area("usage").ok and "--kubelet-url" in snap.area("usage").reason
        # the numbers agree with what the API serves at the same time (the clock is stopped)
        quotas = conn.get_json("/api/v1/resourcequotas")["items"]
        want = {(q["metadata"]["namespace"], q["metadata"]["name"], k): (parse_quantity(q["status"]["used"][k]), parse_quantity(v))
                for q in quotas for k, v in q["status"]["hard"].items() if k in q["status"].get("used", {})}
        assert want and {k: v for k, v in snap.quota_usage.items() if k in want} == want
        nodes = conn.get_json("/api/v1/nodes")["items"]
        gpus_alloc = sum(int(parse_quantity(n["status"]["allocatable"].get("nvidia.com/gpu", 0))) for n in nodes)
        whole = [g for g in snap.gpus if not g.mig_profile]
        assert len(whole) >= gpus_alloc > 0
        assert sum(1 for g in whole if g.allocated) == running_gpu_requests(conn)
        hpas = conn.get_json("/apis/autoscaling/v2/horizontalpodautoscalers")["items"]
        assert set(snap.hpa_history) == {(h["metadata"]["namespace"], h["metadata"]["name"]) for h in hpas}
        for h in hpas:
            hist = snap.hpa_history[(h["metadata"]["namespace"], h["metadata"]["name"])]
            assert hist.current[-1] == h["status"].get("currentReplicas", 0)
            assert hist.max_replicas[-1] == h["spec"]["maxReplicas"]
    finally:
        m.close()


def test_discovers_prometheus_behind_the_api_server(sim, conn, tmp_path):
    binary = need_prometheus()
    prom = PrometheusServer(sim.exporter_urls, tmp_path, scrape_interval=1, binary=binary).start()
    # "deploy" it: the sim's monitoring/prometheus-k8s Service gets this Prometheus as its backend
    svc = conn.get_json("/api/v1/namespaces/monitoring/services/prometheus-k8s")
    for p in svc["spec"]["ports"]:
        for key in (p.get("name"), str(p["port"])):
            if key:
                sim.api.proxy_targets[("monitoring", "prometheus-k8s", key)] = prom.url
    m = None
    try:
        assert prom.wait_for_targets(30)
        m = open_metrics(MetricsOptions(), conn, history_step=1, history_seconds=60)
        assert isinstance(m, PrometheusMetrics)
        assert m.describe().startswith("prometheus monitoring/prometheus-k8s:") and m.describe().endswith("via the API server (ready)")
        snap = wait_until(lambda: (lambda s: s if s.gpus and s.quota_usage else None)(m.fetch(time.time())), 15)
        assert snap and all(snap.area(a).ok for a in ("gpu", "quota", "restarts", "hpa_history", "usage", "probes"))
        direct = open_metrics(MetricsOptions(no_prometheus=True), conn)
        try:
            d = direct.fetch(time.time())
            assert {(g.node, g.gpu, g.mig_instance, g.pod) for g in d.gpus} == {(g.node, g.gpu, g.mig_instance, g.pod) for g in snap.gpus}
            assert d.quota_usage == snap.quota_usage
        finally:
            direct.close()
    finally:
        for key in [k for k in sim.api.proxy_targets if k[1] == "prometheus-k8s"]:
            del sim.api.proxy_targets[key]
        if m is not None:
            m.close()
        prom.stop()


def test_explicit_urls_and_none():
    m = open_metrics(MetricsOptions(no_prometheus=True), None)
    assert isinstance(m, NoMetrics) and m.describe().startswith("none: --no-prometheus")
    snap = m.fetch(5.0)
    assert snap.taken_at == 5.0 and all(not st.ok and "--no-prometheus" in st.reason for st in snap.areas.values())
    m = open_metrics(MetricsOptions(prometheus_url="http://127.0.0.1:9"), None)
    try:
        assert isinstance(m, PrometheusMetrics) and "connection refused" in m.describe()
        assert all("unreachable: connection refused" in st.reason for st in m.fetch(1.0).areas.values())
    finally:
        m.close()
    m = open_metrics(MetricsOptions(kube_state_metrics_url="http://127.0.0.1:9/metrics"), None)
    assert isinstance(m, ScrapeMetrics) and m.describe() == "direct scrape: kube-state-metrics http://127.0.0.1:9/metrics"
    m.close()


@pytest.mark.parametrize("opts, message", [
    (MetricsOptions(prometheus_url="localhost:9090"), r"not an http\(s\) URL"),
    (MetricsOptions(dcgm_url="ftp://x/metrics"), "--dcgm-url"),
    (MetricsOptions(prometheus_url="http://p", prometheus_basic_auth="nocolon"), "USER:PASSWORD"),
    (MetricsOptions(prometheus_url="http://p", prometheus_headers=("novalue",)), "Name: value"),
    (MetricsOptions(prometheus_url="http://p", prometheus_ca_file="/nonexistent/ca.pem"), "no such file"),
    (MetricsOptions(prometheus_url="http://p", query_timeout=0), "--query-timeout must be positive"),
    (MetricsOptions(no_prometheus=True, scrape_timeout=-1), "--scrape-timeout must be positive"),
    (MetricsOptions(prometheus_url="http://p", prometheus_selector="cluster=prod"), "label matchers"),
])
def test_bad_options_are_one_line_user_errors(opts, message):
    with pytest.raises(UserError, match=message) as e:
        open_metrics(opts, None)
    assert "\n" not in str(e.value)


class FakeConn:
    """A KubeConnection stand-in serving a node list and the node proxy (a real cluster's kubelets),
    forwarding proxy GETs to the test exporters' kubelet endpoint."""

    def __init__(self, world, kubelet_url: str, proxy_status: int = 200):
        self.world, self.kubelet_url, self.proxy_status = world, kubelet_url, proxy_status
        self.paths: list[str] = []

    def request(self, method, path, params=None, timeout=None, **kw):
        import requests
        self.paths.append(path)
        if path == "/api/v1/nodes":
            items, _ = self.world.store.list("nodes")
            return 200, json.dumps({"items": items}).encode()
        if path.startswith("/api/v1/nodes/") and "/proxy/" in path:
            if self.proxy_status != 200:
                return self.proxy_status, b'{"kind":"Status","code":%d}' % self.proxy_status
            r = requests.get(self.kubelet_url + path.split("/proxy", 1)[1], timeout=5)
            return r.status_code, r.content
        return 404, b"{}"


def test_kubelets_through_the_node_proxy(world, exporters):
    from kubewatch_ml.sources.metrics import kubelet_endpoint
    conn = FakeConn(world, exporters.urls["kubelet"])
    sm = ScrapeMetrics({"probes": kubelet_endpoint(conn, "/metrics/probes", 5),
                        "cadvisor": kubelet_endpoint(conn, "/metrics/cadvisor", 5)})
    try:
        sm.fetch(1000.0)
        world.tick(10)
        m = sm.fetch(1010.0)
        assert m.area("probes").ok and m.area("usage").ok
        # the 3 Ready nodes were each asked (the NotReady one was not), and their answers merged;
        # our one fake kubelet serves every pod, so each value arrives 3 times and sums up
        proxied = {p for p in conn.paths if "/proxy/" in p}
        assert proxied == {f"/api/v1/nodes/{n}/proxy/metrics/{w}" for n in ("gpu-a-1", "gpu-b-1", "mig-a-2")
                           for w in ("cadvisor", "probes")}
        assert m.container_memory[("llm-prod", "trainer-0", "trainer")] == 40 * 2**30  # max over duplicates
    finally:
        sm.close()
    sm = ScrapeMetrics({"probes": kubelet_endpoint(FakeConn(world, exporters.urls["kubelet"], 403), "/metrics/probes", 5)})
    try:
        assert sm.fetch(1.0).area("probes").reason.startswith("no kubelet metrics through the API server (RBAC nodes/proxy")
    finally:
        sm.close()
    sm = ScrapeMetrics({"probes": kubelet_endpoint(conn, "/metrics/probes", 5, limit=2)})
    try:
        assert "3 nodes: too many kubelets" in sm.fetch(1.0).area("probes").reason
    finally:
        sm.close()


def test_real_prometheus_sees_the_sims_hpas_change(sim, conn, tmp_path):
    """Issue 2's acceptance: a real Prometheus scrapes every exporter of the simulated cluster with
    up == 1 and sees the HPA replica series change as the simulated clock advances. (Last in this
    module: it moves the shared simulator's clock.)"""
    prom = PrometheusServer(sim.exporter_urls, tmp_path, scrape_interval=1, binary=need_prometheus()).start()
    try:
        assert prom.wait_for_targets(30)
        assert {r["metric"]["job"]: r["value"][1] for r in prom.query("up")} == {
            "kube-state-metrics": "1", "dcgm-exporter": "1", "kubelet": "1", "cadvisor": "1"}
        t0 = time.time()
        for _ in range(4):  # 40 simulated minutes of load curves, a scrape after each 10
            sim.advance(600)
            time.sleep(1.5)
        changed = prom.query(f"changes(kube_horizontalpodautoscaler_status_current_replicas[{int(time.time() - t0) + 5}s]) > 0")
        assert len(changed) >= 3, changed
        # and what Prometheus holds now is what the API says now (the clock is stopped again)
        def agree():
            api = {(h["metadata"]["namespace"], h["metadata"]["name"]): h["status"].get("currentReplicas", 0)
                   for h in conn.get_json("/apis/autoscaling/v2/horizontalpodautoscalers")["items"]}
            prom_now = {(r["metric"]["namespace"], r["metric"]["horizontalpodautoscaler"]): float(r["value"][1])
                        for r in prom.query("kube_horizontalpodautoscaler_status_current_replicas")}
            return api == prom_now
        assert wait_until(agree, 10)
    finally:
        prom.stop()
