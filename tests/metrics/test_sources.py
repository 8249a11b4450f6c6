"""sources/prometheus.py and sources/scrape.py: the MetricsSnapshot each builds, one query per
refresh, HPA history, parity between the two, range clamping, auth, and faults with recovery."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from prometheus_api_client import PrometheusApiClientException

from world import CPU_CORES, MEMORY, wait_until

from kubewatch_ml.metrics_snapshot import AREAS
from kubewatch_ml.queries.catalog import AREA_QUERIES
from kubewatch_ml.settings import MetricsOptions
from kubewatch_ml.sim.prometheus_server import PrometheusServer
from kubewatch_ml.sources.metrics import open_metrics
from kubewatch_ml.sources.prometheus import PrometheusMetrics, clamp_step
from kubewatch_ml.sources.scrape import ScrapeMetrics, http_endpoint

GiB = 2**30


def direct(exp, **kw) -> ScrapeMetrics:
    u = exp.urls
    t = kw.setdefault("timeout", 5)
    eps = {"kube-state-metrics": http_endpoint(u["kube-state-metrics"], t),
           "dcgm": http_endpoint(u["dcgm"], t), "probes": http_endpoint(u["kubelet"] + "/metrics/probes", t),
           "cadvisor": http_endpoint(u["kubelet"] + "/metrics/cadvisor", t)}
    return ScrapeMetrics(eps, **kw)


def gpus(m):
    return {(g.node, g.gpu, g.mig_instance): g for g in m.gpus}


def test_prometheus_snapshot_and_one_query_each(prom_env):
    young = PrometheusMetrics(prom_env.prom.url)
    try:  # seconds of samples: no 30-min average, so nothing is called idle yet, and the area says why
        m = young.fetch(time.time())
        assert m.gpus and all(g.util_avg_30m is None and not g.idle for g in m.gpus)
        assert "once Prometheus holds 30 min" in m.area("gpu").reason and m.area("gpu").ok
    finally:
        young.close()
    pm = PrometheusMetrics(prom_env.prom.url, history_step=1, history_seconds=120, min_idle_coverage=0)
    try:
        assert pm.describe() == f"prometheus {prom_env.prom.url} (not checked yet)"  # describe() does no I/O
        m = pm.fetch(time.time())
        assert pm.describe() == f"prometheus {prom_env.prom.url} (ready)"
        assert pm.queries_issued == 1 + len({n for names in AREA_QUERIES.values() for n in names})
        assert {a: (st.ok, st.stale) for a, st in m.areas.items()} == {a: (True, False) for a in AREAS}
        g = gpus(m)
        assert len(g) == 10 and g[("gpu-a-1", "0", "")].util == 90 and g[("gpu-a-1", "0", "")].pod == "trainer-0"
        assert g[("mig-a-2", "0", "1")].util == pytest.approx(55) and g[("mig-a-2", "0", "1")].mig_profile == "1g.10gb"
        assert [k for k, s in g.items() if s.idle] == [("gpu-a-1", "2", "")]  # allocated, ~1% over 30 min
        assert g[("gpu-b-1", "3", "")].xid == 79 and not g[("gpu-b-1", "3", "")].allocated
        assert m.container_memory == MEMORY
        assert m.container_cpu == {k: pytest.approx(v, rel=0.25) for k, v in CPU_CORES.items()}
        assert m.namespace_memory == {"llm-prod": 43 * GiB, "vision-dev": 7 * GiB}
        assert m.quota_usage[("llm-prod", "compute", "requests.nvidia.com/gpu")] == (4, 4)
        assert m.crashlooping == {("llm-prod", "infer-7d9f-abc12", "server")}
        assert m.probe_failures_5m[("llm-prod", "infer-7d9f-abc12", "server", "Liveness")] > 0
        h = m.hpa_history[("llm-prod", "infer")]
        last = {k: (cur[-1], tgt[-1] if tgt else None) for k, cur, tgt in h.metrics}
        assert {k: v for k, v in last.items() if k != "cpu/average"} == {
            "cpu/utilization": (80, 50), "inference_queue_depth/average": (12, 30)}
        assert last["cpu/average"][0] == 0.4  # a current value without a target of that type
        assert all(len(cur) == len(h.times) for _, cur, _ in h.metrics)
    finally:
        pm.close()


def test_hpa_replica_series_change_over_time(prom_env):
    w, prom = prom_env.world, prom_env.prom

    def seen(cur, des):
        r = prom.query('kube_horizontalpodautoscaler_status_current_replicas')
        d = prom.query('kube_horizontalpodautoscaler_status_desired_replicas')
        return r and d and float(r[0]["value"][1]) == cur and float(d[0]["value"][1]) == des
    t0 = time.time()
    try:
        for cur, des in ((2, 4), (4, 4), (4, 5), (5, 5)):  # the controller scaling up to max
            w.set_hpa(cur, des)
            assert wait_until(lambda: seen(cur, des), 10), (cur, des)
            time.sleep(1.1)  # at least one more scrape at this state
        pm = PrometheusMetrics(prom.url, history_step=1, history_seconds=time.time() - t0 + 5)
        try:
            h = pm.fetch(time.time()).hpa_history[("llm-prod", "infer")]
            changes = [c for i, c in enumerate(h.current) if i == 0 or c != h.current[i - 1]]
            assert changes[-3:] == [2, 4, 5]
            assert h.desired[-1] == 5 and h.max_replicas[-1] == 5 and h.min_replicas[-1] == 1
            assert list(h.times) == sorted(h.times) and len(h.times) == len(h.current) == len(h.desired)
            assert [lb["horizontalpodautoscaler"] for lb, _ in pm.instant("hpa_maxed_out")] == ["infer"]
        finally:
            pm.close()
    finally:
        w.set_hpa(2, 3)
        wait_until(lambda: seen(2, 3), 10)
        time.sleep(1.1)


def test_direct_scrape_matches_prometheus(prom_env):
    pm = PrometheusMetrics(prom_env.prom.url, history_step=1, history_seconds=60, min_idle_coverage=0)
    sm = direct(prom_env.exp, idle_window=0.5)
    try:
        sm.fetch(time.time())
        time.sleep(1.0)
        d = sm.fetch(time.time())
        p = pm.fetch(time.time())
        assert all(d.area(a).ok and not d.area(a).stale for a in AREAS), d.areas
        assert d.source.startswith("direct scrape") and p.source.startswith("prometheus")
        gd, gp = gpus(d), gpus(p)
        assert gd.keys() == gp.keys()
        for k in gd:
            a, b = gd[k], gp[k]
            assert (a.uuid, a.model, a.mig_profile, a.pod, a.namespace, a.container, a.xid) == \
                   (b.uuid, b.model, b.mig_profile, b.pod, b.namespace, b.container, b.xid)
            for f in ("util", "fb_used_mib", "fb_free_mib", "power_w", "temp_c", "util_avg_30m"):
                assert getattr(a, f) == pytest.approx(getattr(b, f)), (k, f)
            assert a.idle == b.idle
        assert d.container_memory == p.container_memory
        assert d.namespace_memory == p.namespace_memory
        assert d.container_cpu.keys() == p.container_cpu.keys()
        for k in d.container_cpu:
            assert d.container_cpu[k] == pytest.approx(p.container_cpu[k], rel=0.3)
        assert d.quota_usage == p.quota_usage
        assert d.crashlooping == p.crashlooping
        assert d.restarts_1h.keys() == p.restarts_1h.keys()
        assert d.probe_failures_5m.keys() == p.probe_failures_5m.keys()
        hd, hp = d.hpa_history[("llm-prod", "infer")], p.hpa_history[("llm-prod", "infer")]
        assert [(k, c[-1], t[-1] if t else None) for k, c, t in hd.metrics] == \
               [(k, c[-1], t[-1] if t else None) for k, c, t in hp.metrics]
        assert (hd.current[-1], hd.desired[-1], hd.min_replicas[-1], hd.max_replicas[-1]) == \
               (hp.current[-1], hp.desired[-1], hp.min_replicas[-1], hp.max_replicas[-1])
    finally:
        pm.close()
        sm.close()


def test_range_queries_are_clamped_to_11000_points(prom_env):
    assert clamp_step(0, 11_000, 1) == 1
    assert clamp_step(0, 30 * 86400, 1) == 236  # ceil(2,592,000 / 11,000)
    assert (30 * 86400) / clamp_step(0, 30 * 86400, 1) <= 11_000
    pm = PrometheusMetrics(prom_env.prom.url)
    try:
        now = float(round(time.time()))
        span = 11_000 * 24  # three days: clamped to a 24 s step, whose last point falls on `now`
        with pytest.raises(PrometheusApiClientException, match="11,000 points"):  # what the clamp avoids
            pm.client.custom_query_range("up", datetime.fromtimestamp(now - span, timezone.utc),
                                         datetime.fromtimestamp(now, timezone.utc), "1")
        series = pm.range("hpa_replicas_history", now - span, now, 1)
        assert series and all(0 < len(pts) <= 11_000 for _, pts in series)
    finally:
        pm.close()


def test_direct_history_needs_time_before_idle(world, exporters):
    sm = direct(exporters, idle_window=60, history_seconds=600, history_points=60)
    try:
        t0 = 1_000_000.0
        m = sm.fetch(t0)
        g = gpus(m)[("gpu-a-1", "2", "")]
        assert g.allocated and g.util == 1 and g.util_avg_30m is None and not g.idle  # not watched long enough
        assert m.container_cpu == {} and "second scrape" in m.area("usage").reason
        assert "30-min averages" in m.area("gpu").reason
        world.tick(10)
        sm.fetch(t0 + 10)
        world.tick(50)
        m = sm.fetch(t0 + 60)
        g = gpus(m)
        assert g[("gpu-a-1", "2", "")].util_avg_30m == 1 and g[("gpu-a-1", "2", "")].idle
        assert not g[("gpu-a-1", "0", "")].idle and g[("gpu-a-1", "0", "")].util_history == (90, 90, 90)
        assert m.container_cpu[("llm-prod", "trainer-0", "trainer")] == pytest.approx(3.5)
        assert m.probe_failures_5m[("llm-prod", "infer-7d9f-abc12", "server", "Liveness")] == 120  # 2/s over 60 s
        # a restart within the hour shows in restarts_1h
        pod = world.store.get("pods", "llm-prod", "infer-7d9f-abc12")
        new = {**pod, "status": {**pod["status"], "containerStatuses": [
            {**pod["status"]["containerStatuses"][0], "restartCount": 9}]}}
        world.store.replace("pods", new)
        m = sm.fetch(t0 + 70)
        assert m.restarts_1h[("llm-prod", "infer-7d9f-abc12", "server")] == 2
        assert m.restarts_1h[("llm-prod", "trainer-0", "trainer")] == 0
    finally:
        sm.close()


def test_direct_faults_mark_only_their_areas_and_recover(world, exporters):
    sm = direct(exporters, timeout=0.5, stale_after=300)
    try:
        t = 2_000_000.0
        assert all(st.ok for st in sm.fetch(t).areas.values())
        exporters.faults["malformed"].add("dcgm")
        exporters.faults["status"]["kubelet"] = 500
        m = sm.fetch(t + 1)
        assert m.area("gpu").stale and "malformed exposition" in m.area("gpu").reason
        assert m.area("gpu").fetched_at == t and len(m.gpus) == 10  # the last good numbers, marked stale
        assert m.area("probes").stale and "HTTP 500" in m.area("probes").reason
        assert m.area("usage").stale and "HTTP 500" in m.area("usage").reason
        for a in ("quota", "restarts", "hpa_history", "ksm"):
            assert m.area(a).ok and not m.area(a).stale and m.area(a).fetched_at == t + 1
        assert m.quota_usage  # the rest works
        # past stale_after the stale numbers go: unavailable, with the reason
        m = sm.fetch(t + 400)
        assert not m.area("gpu").ok and "malformed" in m.area("gpu").reason and m.gpus == ()
        exporters.faults["malformed"].clear()
        exporters.faults["status"].clear()
        exporters.faults["down"].add("kube-state-metrics")
        m = sm.fetch(t + 401)
        assert m.area("gpu").ok and not m.area("gpu").stale and len(m.gpus) == 10  # recovered
        assert not m.area("quota").ok or m.area("quota").stale
        assert "kube-state-metrics" in m.area("quota").reason and "unreachable" in m.area("quota").reason
        exporters.faults["down"].clear()
        exporters.faults["latency"] = 1.5
        m = sm.fetch(t + 402)
        assert all("timed out after 0.5s (--scrape-timeout)" in st.reason for st in m.areas.values()), m.areas
        exporters.faults["latency"] = 0.0
        m = sm.fetch(t + 403)
        assert all(st.ok and not st.stale for st in m.areas.values())
    finally:
        exporters.faults["latency"] = 0.0
        sm.close()


def test_exporters_wait_scrape_timeout_not_query_timeout(world, exporters):
    """A big cluster's kube-state-metrics answers after seconds: direct scraping waits --scrape-timeout,
    which is separate from (and longer than) a Prometheus query's --query-timeout."""
    u = exporters.urls
    opts = dict(no_prometheus=True, kube_state_metrics_url=u["kube-state-metrics"], dcgm_url=u["dcgm"],
                kubelet_urls=(u["kubelet"],), query_timeout=0.2)
    exporters.faults["latency"] = 0.6
    try:
        patient = open_metrics(MetricsOptions(**opts, scrape_timeout=5), None)
        hasty = open_metrics(MetricsOptions(**opts, scrape_timeout=0.3), None)
        try:
            m = patient.fetch(time.time())
            assert all(st.ok and not st.stale for st in m.areas.values()), m.areas
            m = hasty.fetch(time.time())
            assert all(not st.ok and "timed out after 0.3s (--scrape-timeout)" in st.reason
                       for st in m.areas.values()), m.areas
        finally:
            patient.close()
            hasty.close()
    finally:
        exporters.faults["latency"] = 0.0


def test_prometheus_query_faults_touch_only_their_areas(prom_env, fault_proxy):
    pm = PrometheusMetrics(fault_proxy.url, MetricsOptions(prometheus_url=fault_proxy.url, query_timeout=0.5),
                           history_step=1, history_seconds=60, stale_after=300)
    try:
        t = time.time()
        m = pm.fetch(t)
        assert all(st.ok for st in m.areas.values()), m.areas
        fault_proxy.set("500", "DCGM")
        m = pm.fetch(t + 1)
        assert m.area("gpu").stale and "answered HTTP 500: injected failure" in m.area("gpu").reason
        assert len(m.gpus) == 10
        assert all(m.area(a).ok and not m.area(a).stale for a in AREAS if a != "gpu")
        fault_proxy.set("garbage", "prober_probe_total")
        m = pm.fetch(t + 2)
        assert m.area("probes").stale and "not a Prometheus API response" in m.area("probes").reason
        assert m.area("gpu").ok and not m.area("gpu").stale
        fault_proxy.set("slow", "kube_resourcequota")
        m = pm.fetch(t + 3)
        assert m.area("quota").stale and "timed out after 0.5s" in m.area("quota").reason
        assert m.area("usage").ok and not m.area("usage").stale
        fault_proxy.set("500", ".*")  # everything, `up` included
        m = pm.fetch(t + 400)  # and long past stale_after
        assert all(not st.ok and "HTTP 500" in st.reason for st in m.areas.values())
        assert m.gpus == () and m.quota_usage == {}
        fault_proxy.set(None)
        m = pm.fetch(t + 401)
        assert all(st.ok and not st.stale for st in m.areas.values())
    finally:
        pm.close()


def test_auth_and_readiness_path(prom_env, fault_proxy):
    opts = MetricsOptions(prometheus_url=fault_proxy.url, prometheus_token="s3cret",
                          prometheus_headers=("X-Scope-OrgID: team-ml",))
    pm = PrometheusMetrics(fault_proxy.url, opts)
    try:
        fault_proxy.set("500", "^/$")  # the Debian build's `/` answers 500: readiness must not use it
        assert pm.ready() == (True, "ready") and pm.describe().endswith("(ready)")
        pm.fetch(time.time())
        assert {s["path"] for s in fault_proxy.seen} >= {"/-/ready", "/api/v1/query", "/api/v1/query_range"}
        assert all(s["headers"].get("Authorization") == "Bearer s3cret" and s["headers"].get("X-Scope-OrgID") == "team-ml"
                   for s in fault_proxy.seen)
    finally:
        pm.close()
    fault_proxy.seen.clear()
    pm = PrometheusMetrics(fault_proxy.url, MetricsOptions(prometheus_url=fault_proxy.url, prometheus_basic_auth="ops:pw"))
    try:
        assert pm.ready() == (True, "ready")
        assert fault_proxy.seen[-1]["headers"]["Authorization"] == "Basic b3BzOnB3"
    finally:
        pm.close()


def test_prometheus_stopped_mid_run_then_back(prom_env, tmp_path):
    prom = PrometheusServer(prom_env.exp.urls, tmp_path, scrape_interval=1, binary=prom_env.prom.binary).start()
    try:
        assert prom.wait_for_targets(30)
        pm = PrometheusMetrics(prom.url, MetricsOptions(prometheus_url=prom.url, query_timeout=2), history_step=1,
                               history_seconds=60)
        assert wait_until(lambda: pm.fetch(time.time()).area("gpu").ok, 10)
        t = time.time()
        prom.stop(remove=False)
        m = pm.fetch(t)
        assert all(st.stale and "connection refused" in st.reason for st in m.areas.values()), m.areas
        assert "connection refused" in pm.describe()
        prom.start()  # same port, same data
        assert prom.wait_for_targets(30)
        m = pm.fetch(time.time())
        assert all(st.ok and not st.stale for st in m.areas.values()), m.areas
        assert len(m.gpus) == 10
        pm.close()
    finally:
        prom.stop()


def test_malformed_exporter_in_prometheus_mode(prom_env):
    pm = PrometheusMetrics(prom_env.prom.url, history_step=1, history_seconds=60)
    try:
        assert pm.fetch(time.time()).area("gpu").ok
        prom_env.exp.faults["malformed"].add("dcgm")
        m = wait_until(lambda: (lambda m: m if m.area("gpu").stale else None)(pm.fetch(time.time())), 10)
        assert m, "gpu area never noticed the broken exporter"
        assert "dcgm is down" in m.area("gpu").reason and "up == 0" in m.area("gpu").reason
        assert all(m.area(a).ok and not m.area(a).stale for a in AREAS if a != "gpu")
        prom_env.exp.faults["malformed"].clear()
        assert wait_until(lambda: (lambda m: m.area("gpu").ok and not m.area("gpu").stale)(pm.fetch(time.time())), 10)
    finally:
        prom_env.exp.faults["malformed"].clear()
        pm.close()


def test_https_prometheus_with_ca_file(prom_env, tmp_path):
    from metrics_support import FaultProxy, self_signed_cert
    cert, key = self_signed_cert(tmp_path)
    proxy = FaultProxy(prom_env.prom.url, tls=(cert, key))
    try:
        assert proxy.url.startswith("https://")
        untrusted = PrometheusMetrics(proxy.url, MetricsOptions(prometheus_url=proxy.url, query_timeout=5))
        assert untrusted.ready() == (False, "prometheus unreachable: TLS certificate not trusted (--prometheus-ca-file)")
        untrusted.close()
        pm = PrometheusMetrics(proxy.url, MetricsOptions(prometheus_url=proxy.url, prometheus_ca_file=cert, query_timeout=5))
        try:
            assert pm.ready() == (True, "ready")
            m = pm.fetch(time.time())
            assert all(st.ok for st in m.areas.values()) and len(m.gpus) == 10
        finally:
            pm.close()
    finally:
        proxy.stop()


def test_fetch_never_raises_even_after_close(world, exporters):
    sm = direct(exporters)
    sm.close()
    m = sm.fetch(10.0)  # the pool is gone: the areas say so, nothing raises
    assert all(not st.ok and "metrics fetch failed: RuntimeError" in st.reason for st in m.areas.values())
    pm = PrometheusMetrics("http://127.0.0.1:9")
    pm.close()
    m = pm.fetch(10.0)
    assert all(not st.ok for st in m.areas.values())


def test_a_refresh_is_bounded_when_every_query_is_slow(prom_env, fault_proxy):
    """up answers, every other query hangs: the refresh gives up at its deadline (2x the query
    timeout; how long that takes is bench material) and each area says it timed out."""
    pm = PrometheusMetrics(fault_proxy.url, MetricsOptions(prometheus_url=fault_proxy.url, query_timeout=0.5),
                           history_step=1, history_seconds=60)
    fault_proxy.delay = 0.8
    fault_proxy.set("slow", "^(?!up$)")
    try:
        m = pm.fetch(time.time())
        assert all(not st.ok and "timed out after 0.5s" in st.reason for st in m.areas.values()), m.areas
        fault_proxy.set(None)
        m = pm.fetch(time.time())  # and the next refresh, with Prometheus quick again, is whole
        assert all(st.ok and not st.stale for st in m.areas.values()), m.areas
    finally:
        fault_proxy.set(None)
        pm.close()
