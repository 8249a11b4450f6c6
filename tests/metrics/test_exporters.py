"""The simulator's exporters: valid text format, real names/labels/units, values equal to the
store's and telemetry's state at the same instant, fault switches."""
from __future__ import annotations

import glob
import os

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from kubewatch_ml.queries.exposition import ExpositionError, parse_exposition, select
from kubewatch_ml.sim.units import parse_quantity

# Real exporter output (sources on each file's first line), copied from shared/fixtures so CI's clean clone has them.
FIXTURES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "fixtures", "exposition", "*.prom")))
assert len(FIXTURES) == 3, "the exposition fixtures are missing"


def scrape(exp, which: str) -> str:
    url = {"ksm": exp.urls["kube-state-metrics"], "dcgm": exp.urls["dcgm"],
           "probes": exp.urls["kubelet"] + "/metrics/probes", "cadvisor": exp.urls["kubelet"] + "/metrics/cadvisor"}[which]
    r = requests.get(url, timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return r.text


@pytest.mark.parametrize("which", ["ksm", "dcgm", "probes", "cadvisor"])
def test_every_exporter_parses_with_prometheus_client(exporters, which):
    text = scrape(exporters, which)
    fams = list(text_string_to_metric_families(text))
    assert fams and all(f.samples for f in fams if f.name not in ("kube_pod_status_unschedulable",))
    # every family has HELP and TYPE lines, each exactly once
    for f in fams:
        declared = f.name + "_total" if f.type == "counter" and f"# TYPE {f.name}_total" in text else f.name
        assert text.count(f"# TYPE {declared} ") == 1, declared
        assert text.count(f"# HELP {declared} ") == 1, declared


def test_ksm_quota_equals_store_status(world, exporters):
    s = parse_exposition(scrape(exporters, "ksm"))
    quotas, _ = world.store.list("resourcequotas")
    assert quotas
    for q in quotas:
        ns, name = q["metadata"]["namespace"], q["metadata"]["name"]
        for typ in ("used", "hard"):
            got = {lb["resource"]: v for lb, v in select(s, "kube_resourcequota", namespace=ns, resourcequota=name, type=typ)}
            assert got == {k: parse_quantity(v) for k, v in q["status"][typ].items()}, (ns, typ)


def test_ksm_pods_nodes_and_units(world, exporters):
    s = parse_exposition(scrape(exporters, "ksm"))
    pods, _ = world.store.list("pods")
    # phase is one-hot: exactly one series =1 per pod, the store's phase
    for p in pods:
        rows = select(s, "kube_pod_status_phase", namespace=p["metadata"]["namespace"], pod=p["metadata"]["name"])
        assert len(rows) == 5
        assert [lb["phase"] for lb, v in rows if v == 1] == [p["status"]["phase"]]
    # extended resources sanitized with unit integer; MIG too; unscheduled pods have no node label
    gpu = select(s, "kube_pod_container_resource_requests", resource="nvidia_com_gpu")
    assert {(lb["pod"], lb.get("node", ""), lb["unit"], v) for lb, v in gpu} == {
        ("trainer-0", "gpu-a-1", "integer", 2), ("infer-7d9f-abc12", "gpu-b-1", "integer", 1),
        ("infer-7d9f-def34", "gpu-a-1", "integer", 1), ("pending-gpu", "", "integer", 8)}
    assert select(s, "kube_pod_container_resource_requests", resource="nvidia_com_mig_1g_10gb", pod="mig-job-0")
    cpu = select(s, "kube_pod_container_resource_requests", resource="cpu", pod="trainer-0")
    assert [(lb["unit"], v) for lb, v in cpu] == [("core", 8.0)]
    mem = select(s, "kube_pod_container_resource_requests", resource="memory", pod="trainer-0")
    assert [(lb["unit"], v) for lb, v in mem] == [("byte", 64 * 2**30)]
    # waiting / last terminated reasons and restarts from the container status
    assert [(lb["pod"], lb["reason"]) for lb, _ in select(s, "kube_pod_container_status_waiting_reason")] == [
        ("infer-7d9f-abc12", "CrashLoopBackOff")]
    assert [lb["reason"] for lb, _ in select(s, "kube_pod_container_status_last_terminated_reason")] == ["Error"]
    assert select(s, "kube_pod_container_status_restarts_total", pod="infer-7d9f-abc12")[0][1] == 7
    # scheduling of the pending pod
    assert [lb["condition"] for lb, v in select(s, "kube_pod_status_scheduled", pod="pending-gpu") if v == 1] == ["false"]
    assert select(s, "kube_pod_status_unschedulable", pod="pending-gpu")[0][1] == 1
    # nodes: allow-listed labels only, sanitized; taints; cordon; conditions one-hot
    labels = {lb["node"]: lb for lb, _ in select(s, "kube_node_labels")}
    assert labels["gpu-a-1"]["label_topology_kubernetes_io_zone"] == "us-east-1a"
    assert labels["gpu-a-1"]["label_nvidia_com_gpu_product"] == "A100-SXM4-80GB"
    assert labels["gpu-a-1"]["label_node_kubernetes_io_instance_type"] == "p4de.24xlarge"
    assert "label_topology_kubernetes_io_region" not in labels["gpu-a-1"]  # not in the allowlist
    assert "label_nvidia_com_gpu_product" not in labels["cpu-c-1"]
    taints = {(lb["node"], lb["key"], lb.get("value", ""), lb["effect"]) for lb, _ in select(s, "kube_node_spec_taint")}
    assert ("gpu-a-1", "nvidia.com/gpu", "present", "NoSchedule") in taints
    assert {lb["node"]: v for lb, v in select(s, "kube_node_spec_unschedulable")}["gpu-b-1"] == 1
    ready = {lb["node"]: lb["status"] for lb, v in select(s, "kube_node_status_condition", condition="Ready") if v == 1}
    assert ready == {"gpu-a-1": "true", "gpu-b-1": "true", "mig-a-2": "true", "cpu-c-1": "unknown"}
    alloc = {(lb["node"], lb["resource"], lb["unit"]): v for lb, v in select(s, "kube_node_status_allocatable")}
    assert alloc[("gpu-a-1", "nvidia_com_gpu", "integer")] == 4
    assert alloc[("mig-a-2", "nvidia_com_mig_1g_10gb", "integer")] == 2
    assert alloc[("gpu-a-1", "ephemeral_storage", "byte")] == 500 * 2**30


def test_ksm_hpa_and_workloads(world, exporters):
    s = parse_exposition(scrape(exporters, "ksm"))
    one = dict(namespace="llm-prod", horizontalpodautoscaler="infer")
    assert select(s, "kube_horizontalpodautoscaler_spec_min_replicas", **one)[0][1] == 1
    assert select(s, "kube_horizontalpodautoscaler_spec_max_replicas", **one)[0][1] == 5
    assert select(s, "kube_horizontalpodautoscaler_status_current_replicas", **one)[0][1] == 2
    assert select(s, "kube_horizontalpodautoscaler_status_desired_replicas", **one)[0][1] == 3
    spec = {(lb["metric_name"], lb["metric_target_type"]): v for lb, v in select(s, "kube_horizontalpodautoscaler_spec_target_metric")}
    assert spec == {("cpu", "utilization"): 50, ("inference_queue_depth", "average"): 30}
    status = {(lb["metric_name"], lb["metric_target_type"]): v for lb, v in select(s, "kube_horizontalpodautoscaler_status_target_metric")}
    assert status == {("cpu", "utilization"): 80, ("cpu", "average"): 0.4, ("inference_queue_depth", "average"): 12}
    conds = {lb["condition"]: lb["status"] for lb, v in select(s, "kube_horizontalpodautoscaler_status_condition") if v == 1}
    assert conds == {"AbleToScale": "true", "ScalingActive": "true", "ScalingLimited": "false"}
    assert select(s, "kube_deployment_status_replicas_available", deployment="infer")[0][1] == 1
    assert select(s, "kube_statefulset_replicas", statefulset="trainer")[0][1] == 1


def test_ksm_follows_store_changes_at_the_same_instant(world, exporters):
    first = scrape(exporters, "ksm")
    assert scrape(exporters, "ksm") == first  # unchanged store: the cached text
    world.set_hpa(4, 5)
    s = parse_exposition(scrape(exporters, "ksm"))
    assert select(s, "kube_horizontalpodautoscaler_status_current_replicas")[0][1] == 4
    assert select(s, "kube_horizontalpodautoscaler_status_desired_replicas")[0][1] == 5
    world.store.delete("pods", "vision-dev", "notebook-0")
    s = parse_exposition(scrape(exporters, "ksm"))
    assert not select(s, "kube_pod_info", pod="notebook-0")
    assert len(select(s, "kube_pod_info")) == 5
    # the other exporters forget the pod too: no orphan series
    assert "notebook-0" not in scrape(exporters, "cadvisor")
    assert "notebook-0" not in scrape(exporters, "probes")


def test_dcgm_rows_and_pod_attribution(world, exporters):
    s = parse_exposition(scrape(exporters, "dcgm"))
    util = select(s, "DCGM_FI_DEV_GPU_UTIL")
    assert len(util) == 8  # whole GPUs only: MIG slices carry no DEV_GPU_UTIL
    for lb, v in util:
        d = world.telemetry.gpus[(lb["Hostname"], int(lb["gpu"]))]
        assert v == d.util and lb["UUID"] == d.uuid and lb["modelName"] == d.model
        assert lb["device"] == f"nvidia{lb['gpu']}" and lb["pci_bus_id"] and lb["DCGM_FI_DRIVER_VERSION"]
        # pod/namespace/container only on allocated GPUs, and exactly the holder
        if d.holder:
            assert (lb["namespace"], lb["pod"], lb["container"]) == d.holder
        else:
            assert not ({"pod", "namespace", "container"} & set(lb))
    mig = select(s, "DCGM_FI_PROF_GR_ENGINE_ACTIVE", Hostname="mig-a-2")
    assert sorted((lb["GPU_I_PROFILE"], lb["GPU_I_ID"], lb.get("pod", ""), v) for lb, v in mig) == [
        ("1g.10gb", "1", "mig-job-0", 0.55), ("1g.10gb", "2", "", 0.0)]
    xid = [(lb["Hostname"], lb["gpu"], lb["err_code"], v) for lb, v in select(s, "DCGM_FI_DEV_XID_ERRORS") if v]
    assert xid == [("gpu-b-1", "3", "79", 79)]
    used = {(lb["Hostname"], lb["gpu"], lb.get("GPU_I_ID", "")): v for lb, v in select(s, "DCGM_FI_DEV_FB_USED")}
    free = {(lb["Hostname"], lb["gpu"], lb.get("GPU_I_ID", "")): v for lb, v in select(s, "DCGM_FI_DEV_FB_FREE")}
    assert used[("gpu-a-1", "0", "")] + free[("gpu-a-1", "0", "")] == 81920
    assert used[("mig-a-2", "0", "1")] == 5000
    # the energy counter keeps its name (no _total) and grows
    e0 = select(s, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", Hostname="gpu-a-1", gpu="0")[0][1]
    world.tick(1.0)
    s2 = parse_exposition(scrape(exporters, "dcgm"))
    assert select(s2, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", Hostname="gpu-a-1", gpu="0")[0][1] == e0 + 330_000


def test_kubelet_probes_and_cadvisor(world, exporters):
    world.tick(2.0)
    s = parse_exposition(scrape(exporters, "probes"))
    failed = {(lb["pod"], lb["probe_type"]): v for lb, v in select(s, "prober_probe_total", result="failed")}
    assert failed[("infer-7d9f-abc12", "Liveness")] == 4 and failed[("trainer-0", "Liveness")] == 0
    uid = world.store.get("pods", "llm-prod", "trainer-0")["metadata"]["uid"]
    assert {lb["pod_uid"] for lb, _ in select(s, "prober_probe_total", pod="trainer-0")} == {uid}
    c = parse_exposition(scrape(exporters, "cadvisor"))
    rows = select(c, "container_cpu_usage_seconds_total", pod="trainer-0")
    by_container = {lb.get("container", ""): (lb, v) for lb, v in rows}
    lb, v = by_container["trainer"]
    assert v == 1000 + 3.5 * 2 and lb["cpu"] == "total" and lb["image"] == "trainer:2.1" and uid in lb["id"]
    pod_row = by_container[""]  # the pod cgroup: container="" image="" (dropped like Prometheus does)
    assert "image" not in pod_row[0] and pod_row[1] == v
    mem = select(c, "container_memory_working_set_bytes", pod="trainer-0", container="trainer")
    assert mem[0][1] == 40 * 2**30
    # a pod that is not scheduled has no cgroup
    assert not select(c, "container_memory_working_set_bytes", pod="pending-gpu")


def test_fault_switches(world, exporters):
    exporters.faults["malformed"].add("dcgm")
    with pytest.raises(ExpositionError):
        parse_exposition(requests.get(exporters.urls["dcgm"], timeout=5).content)
    exporters.faults["malformed"].clear()
    exporters.faults["status"]["kube-state-metrics"] = 500
    assert requests.get(exporters.urls["kube-state-metrics"], timeout=5).status_code == 500
    exporters.faults["status"].clear()
    exporters.faults["down"].add("kubelet")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(exporters.urls["kubelet"] + "/metrics/probes", timeout=5)
    exporters.faults["down"].clear()
    assert requests.get(exporters.urls["kubelet"] + "/metrics/probes", timeout=5).status_code == 200
    assert requests.get(exporters.urls["kubelet"] + "/nope", timeout=5).status_code == 404


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.rsplit("/", 1)[1])
def test_exposition_parser_on_real_samples(path):
    s = parse_exposition(open(path).read())
    assert s and parse_exposition(open(path).read(), fast=True) == s
    if "dcgm" in path:
        # the leaked NOT_SUPPORTED sentinel is dropped, empty labels are dropped
        assert "DCGM_FI_DEV_MEMORY_TEMP" not in s
        assert select(s, "DCGM_FI_DEV_SM_CLOCK")[0][0] == {"gpu": "0", "UUID": "GPU-604ac76c-d9cf-fef3-62e9-d92044ab6e52"}
    if "ksm-workload" in path:
        assert "kube_pod_container_status_restarts_total" in s  # the sample name, as Prometheus stores it
        assert select(s, "kube_pod_container_resource_requests", resource="nvidia_com_gpu")[0][0].get("node") is None


def test_exposition_quirks():
    text = ("# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\nDCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu=\"0\",pod=\"\"} 5\n"
            "# TYPE x_total counter\nx_total 3\n")
    s = parse_exposition(text)
    assert s == {"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": [({"gpu": "0"}, 5.0)], "x_total": [({}, 3.0)]}
    with pytest.raises(ExpositionError, match="malformed"):
        parse_exposition('x{a="1"} 1\nkube_pod_info{namespace="a",po')
    with pytest.raises(ExpositionError, match="UTF-8"):
        parse_exposition(b"\xff\xfe garbage")


def test_cpu_counters_grow_smoothly_one_update_behind():
    from kubewatch_ml.sim.exporters import CounterSmoother
    now = [0.0]
    sm = CounterSmoother(clock=lambda: now[0])
    k = ("ns", "p", "c")
    shown = []
    value = 100.0
    for step in range(1, 61):  # the dynamics add 15 s x 2 cores at once, every 15 s; scraped every second
        now[0] = float(step)
        if step % 15 == 0:
            value += 30.0
        shown.append(sm.smooth({k: value})[k])
    assert all(b >= a for a, b in zip(shown, shown[1:]))  # a counter never goes down
    # after the first update, every 1-s scrape interval sees ~2 cores, never 0 or 30
    rates = [b - a for a, b in zip(shown[30:], shown[31:])]
    assert all(r == pytest.approx(2.0) for r in rates), rates
    assert shown[-1] <= value  # behind, never ahead of the real counter
    assert sm.smooth({k: 5.0})[k] == 5.0  # a reset (restart) shows at once
    assert sm.smooth({}) == {} and not sm._s  # gone containers are forgotten


def test_need_prometheus_fails_under_ci(monkeypatch):
    import metrics_support
    monkeypatch.setattr(metrics_support, "find_prometheus_binary", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI"):
        metrics_support.need_prometheus()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        metrics_support.need_prometheus()


@pytest.mark.parametrize("which", ["ksm", "dcgm", "probes", "cadvisor"])
def test_fast_parser_equals_prometheus_client(world, exporters, which):
    from kubewatch_ml.sources.scrape import NEEDED
    text = scrape(exporters, which)
    ref = parse_exposition(text, fast=False)
    assert parse_exposition(text, fast=True) == ref
    only = NEEDED[{"ksm": "kube-state-metrics"}.get(which, which)]
    assert parse_exposition(text, only, fast=True) == parse_exposition(text, only, fast=False) == \
        {k: v for k, v in ref.items() if k in only} != {}


@pytest.mark.parametrize("bad", ['x{a="1"} 1\n{{{ not\n', 'x{a="1"} 1\nkube_pod_info{namespace="a",po', 'x{a="1} 2\n',
                                 'x{a="1"} one\n'])
def test_fast_parser_rejects_malformed_text(bad):
    with pytest.raises(ExpositionError, match="malformed"):
        parse_exposition(bad, fast=True)
    with pytest.raises(ExpositionError, match="malformed"):
        parse_exposition(bad, fast=False)
