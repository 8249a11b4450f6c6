from kubewatch_ml.analysis import analyze, probe_view
from kubewatch_ml.analysis.probes import container_of
from kubewatch_ml.metrics_snapshot import AREAS, AreaState, MetricsSnapshot
from kubewatch_ml.model import ContainerSpec, ContainerStatus, Event
from kubewatch_ml.snapshot import ClusterSnapshot

from _records import deployment, node, pod, rs_owner

NOW = 5000.0
SPECS = (ContainerSpec(name="server", image="srv:1", liveness=True, readiness=True),
         ContainerSpec(name="sidecar", image="side:1", readiness=True))


def ev(pod_name, container, reason, message, first, last, ns="ml-prod"):
    return Event(uid=f"{pod_name}-{reason}-{last}", name=f"{pod_name}.{last}", namespace=ns, involved_kind="Pod",
                 involved_name=pod_name, involved_namespace=ns, field_path=f"spec.containers{{{container}}}" if container else "",
                 reason=reason, message=message, type="Warning", first_seen=first, last_seen=last, source="kubelet")


def _cluster():
    d, rs = deployment("api", "ml-prod", replicas=2, containers=SPECS)
    crash = (ContainerStatus(name="server", ready=False, restart_count=7, state="waiting", reason="CrashLoopBackOff",
                             last_term_reason="OOMKilled", last_term_exit_code=137, last_term_finished_at=4900.0),
             ContainerStatus(name="sidecar", ready=True, state="running"))
    flaky = (ContainerStatus(name="server", ready=True, state="running"),
             ContainerStatus(name="sidecar", ready=False, state="running"))
    healthy = (ContainerStatus(name="server", ready=True, state="running"),
               ContainerStatus(name="sidecar", ready=True, state="running"))
    pods = [
        pod("api-1", "ml-prod", "n1", owner=rs_owner("api", "ml-prod"), containers=SPECS, statuses=crash),
        pod("api-2", "ml-prod", "n1", owner=rs_owner("api", "ml-prod"), containers=SPECS, statuses=flaky),
        pod("ok", "ml-prod", "n1", containers=SPECS, statuses=healthy),
    ]
    events = [
        ev("api-1", "server", "BackOff", "Back-off restarting failed container server", 4000.0, 4990.0),
        ev("api-1", "server", "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500", 3900.0, 4800.0),
        ev("api-2", "sidecar", "Unhealthy", "Readiness probe failed: connection refused", 4500.0, 4950.0),
        ev("api-2", "", "Scheduled", "assigned", 100.0, 100.0),
    ]
    return ClusterSnapshot.build(NOW, nodes=[node("n1")], pods=pods, workloads=[d, rs], events=events)


def test_field_path_names_the_container():
    assert container_of("spec.containers{server}") == "server"
    assert container_of("spec.initContainers{init-db}") == "init-db"
    assert container_of("") == ""


def test_rows_per_container_grouped_by_top_controller():
    v = probe_view(_cluster(), None, NOW)
    assert [g.key for g in v.rows] == ["Deployment/ml-prod/api"]
    g = v.rows[0]
    assert (g.crashlooping, g.failing_containers, g.restarts) == (1, 2, 7)
    rows = {r.key: r for r in v.containers}
    assert set(rows) == {"ml-prod/api-1/server", "ml-prod/api-2/sidecar"}  # healthy containers are not listed
    s = rows["ml-prod/api-1/server"]
    assert s.crashloop and s.restarts == 7 and s.last_term_reason == "OOMKilled" and s.last_term_exit_code == 137
    assert s.failing == ("Liveness",)
    assert s.last_event_reason == "BackOff" and s.last_event_at == 4990.0
    assert s.since == 3900.0  # the first Unhealthy event
    assert s.probes == ("Liveness", "Readiness")
    side = rows["ml-prod/api-2/sidecar"]
    assert side.failing == ("Readiness",) and not side.crashloop and side.workload == "Deployment/api"
    assert side.last_event_message == "Readiness probe failed: connection refused"
    assert s.failures_5m is None and "unavailable" in v.note  # no metrics: None, not 0


def test_probe_counters_and_restart_increase_from_metrics():
    ok = {a: AreaState(ok=True) for a in AREAS}
    m = MetricsSnapshot(taken_at=NOW, areas=ok,
                        probe_failures_5m={("ml-prod", "api-1", "server", "Liveness"): 12.0,
                                           ("ml-prod", "ok", "server", "Startup"): 3.0},
                        restarts_1h={("ml-prod", "api-1", "server"): 4.0})
    rows = {r.key: r for r in probe_view(_cluster(), m, NOW).containers}
    s = rows["ml-prod/api-1/server"]
    assert s.failures_5m == 12.0 and s.failure_rate_per_min == 2.4 and s.restarts_1h == 4.0
    assert rows["ml-prod/ok/server"].failing == ("Startup",)  # found through the counters alone
    assert rows["ml-prod/ok/server"].workload == "Pod/ok"


def test_crash_loop_finding_follows_waiting_reason_not_restarts():
    d, rs = deployment("batch", "ml-dev", replicas=1, containers=SPECS[:1])
    restarting = (ContainerStatus(name="server", ready=True, restart_count=50, state="running", last_term_reason="Error"),)
    waiting = (ContainerStatus(name="server", ready=False, restart_count=1, state="waiting", reason="CrashLoopBackOff"),)
    c = ClusterSnapshot.build(NOW, nodes=[node("n1")], workloads=[d, rs], pods=[
        pod("many-restarts", "ml-dev", "n1", owner=rs_owner("batch", "ml-dev"), containers=SPECS[:1], statuses=restarting),
        pod("looping", "ml-dev", "n1", owner=rs_owner("batch", "ml-dev"), containers=SPECS[:1], statuses=waiting),
    ])
    found = [(f.name, f.alert, f.key) for f in analyze(c, None, NOW).findings if f.id == "KW-P001"]
    assert found == [("looping", "KubePodCrashLooping", "KW-P001/Pod/ml-dev/looping/server")]
