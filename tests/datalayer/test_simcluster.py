"""The data layer against SimCluster (the full simulated ML cluster with its dynamics), over HTTP."""
import threading
import time

import pytest

from kubewatch_ml.settings import KubeOptions
from kubewatch_ml.sim.cluster import SimCluster
from kubewatch_ml.sim.kubeconfig import write_kubeconfig
from kubewatch_ml.sources.decode import CODECS
from kubewatch_ml.sources.kube import connect
from kubewatch_ml.store import ClusterStore, load_snapshot


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with SimCluster(seed=7, nodes=40, pods=600, start_clock=False, workdir=tmp_path_factory.mktemp("sim")) as s:
        yield s


def _wait(pred, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def _equal(live, fresh) -> bool:
    try:
        _same(live, fresh)
        return True
    except AssertionError:
        return False


def _same(live, fresh):
    assert dict(live.pods) == dict(fresh.pods)
    assert dict(live.nodes) == dict(fresh.nodes)
    assert dict(live.workloads) == dict(fresh.workloads)
    assert sorted(live.hpas, key=lambda h: h.uid) == sorted(fresh.hpas, key=lambda h: h.uid)
    for idx in ("pods_by_node", "pods_by_namespace", "pods_by_workload", "nodes_by_zone", "nodes_by_gpu_product"):
        assert {k: sorted(v) for k, v in getattr(live, idx).items()} == \
               {k: sorted(v) for k, v in getattr(fresh, idx).items()}, idx


@pytest.mark.parametrize("context", ["sim-admin", "sim-viewer"])
def test_full_load_equals_the_api_lists(sim, context):
    conn = connect(KubeOptions(kubeconfig=sim.kubeconfig_path, context=context))
    try:
        snap = load_snapshot(conn)
        for kind, codec in CODECS.items():
            raw = conn.get_json(codec.path())["items"]
            st = snap.kinds[kind]
            assert st.complete and not st.error and st.listed == len(raw), (kind, st)
        assert len(snap.pods) == len(conn.get_json("/api/v1/pods")["items"]) >= 600
        assert len(snap.nodes) == 40 and snap.hpas and snap.quotas and snap.events
        assert any(n.allocatable.gpu for n in snap.nodes.values())
        gpu_nodes = {n for names in snap.nodes_by_gpu_product.values() for n in names}
        assert gpu_nodes == {n.name for n in snap.nodes.values() if n.gpu_product or n.allocatable.gpu or n.capacity.gpu}
        assert any(p.requests.gpu for p in snap.pods.values())
        # every pod of a Deployment resolves to it through its ReplicaSet
        deps = [k for k in snap.pods_by_workload if k[0] == "Deployment"]
        assert deps and not [k for k in snap.pods_by_workload if k[0] == "ReplicaSet"
                             and snap.workloads.get(k) is not None and snap.workloads[k].owner is not None]
    finally:
        conn.close()


def test_readonly_role_reads_every_kind(sim, tmp_path):
    kc = write_kubeconfig(tmp_path / "ro", server=sim.api_url, ca_file=None, users={"ro": sim.readonly_token},
                          current="sim-ro")
    conn = connect(KubeOptions(kubeconfig=kc, readonly=True))
    try:
        snap = load_snapshot(conn)
        assert all(s.complete and not s.forbidden for s in snap.kinds.values()), snap.kinds
    finally:
        conn.close()


def test_watch_follows_dynamics_and_matches_fresh_list(sim):
    conn = connect(KubeOptions(kubeconfig=sim.kubeconfig_path))
    store = ClusterStore(conn, watch_timeout=5).start()
    try:
        assert store.wait_synced(30)
        before = store.applied_events
        stop = threading.Event()

        def run():
            for _ in range(12):
                if stop.is_set():
                    return
                sim.advance(60)  # scale, crash, reschedule, events: real churn through the watch

        t = threading.Thread(target=run)
        t.start()
        t.join(120)
        stop.set()
        assert store.applied_events > before
        fresh = load_snapshot(conn)
        assert _wait(lambda: _equal(store.snapshot(), fresh))  # every kind's watch caught up
        _same(store.snapshot(), fresh)
    finally:
        store.stop()
        conn.close()


def test_cordon_through_the_api_reaches_the_store(sim):
    conn = connect(KubeOptions(kubeconfig=sim.kubeconfig_path))
    store = ClusterStore(conn, kinds=("nodes",)).start()
    try:
        assert store.wait_synced(20)
        name = sorted(n.name for n in store.snapshot().nodes.values() if not n.unschedulable)[0]
        r = conn.request("PATCH", f"/api/v1/nodes/{name}", body={"spec": {"unschedulable": True}},
                         content_type="application/strategic-merge-patch+json")
        assert r.status == 200
        assert _wait(lambda: store.snapshot().nodes[name].unschedulable)
        conn.request("PATCH", f"/api/v1/nodes/{name}", body={"spec": {"unschedulable": False}},
                     content_type="application/strategic-merge-patch+json")
        assert _wait(lambda: not store.snapshot().nodes[name].unschedulable)
    finally:
        store.stop()
        conn.close()


def _freeze_then_compare(sim, store, conn):
    sim._stop.set()  # freeze the clock (no public pause), then compare with a fresh list
    time.sleep(0.5)
    fresh = load_snapshot(conn, kinds=store.kinds)
    assert _wait(lambda: _equal(store.snapshot(), fresh))
    _same(store.snapshot(), fresh)


def test_running_clock_churn(tmp_path):
    with SimCluster(seed=11, nodes=20, pods=300, speed=120.0, workdir=tmp_path) as s:
        conn = connect(KubeOptions(kubeconfig=s.kubeconfig_path))
        store = ClusterStore(conn, kinds=("pods", "nodes", "replicasets", "deployments"), watch_timeout=3).start()
        try:
            assert store.wait_synced(30)
            time.sleep(4)  # ~8 simulated minutes of dynamics while watching
            assert store.applied_events > 0
            _freeze_then_compare(s, store, conn)
        finally:
            store.stop()
            conn.close()


def test_running_clock_churn_with_the_list_process(tmp_path, monkeypatch):
    """The first pod list handed to a list process (after page 1) while the dynamics run: the store still ends
    equal to a fresh list."""
    from kubewatch_ml import paged_list

    started = []
    real_start = paged_list._Child.start
    monkeypatch.setattr(paged_list, "PROCESS_AFTER", 50)
    monkeypatch.setattr(paged_list._Child, "start", lambda self, *a: started.append(1) or real_start(self, *a))
    with SimCluster(seed=11, nodes=20, pods=1200, speed=120.0, workdir=tmp_path) as s:
        conn = connect(KubeOptions(kubeconfig=s.kubeconfig_path))
        store = ClusterStore(conn, kinds=("pods", "nodes", "replicasets", "deployments"), watch_timeout=3).start()
        try:
            assert store.wait_synced(30)
            assert started and store.progress()["pods"].pages >= 3
            time.sleep(3)
            assert store.applied_events > 0
            _freeze_then_compare(s, store, conn)
        finally:
            store.stop()
            conn.close()


@pytest.mark.parametrize("fault", ["api-restart=1", "api-gone"])
def test_store_recovers_from_api_faults(tmp_path, fault, caplog):
    with SimCluster(seed=5, nodes=20, pods=300, start_clock=False, exporters=False, workdir=tmp_path) as s:
        conn = connect(KubeOptions(kubeconfig=s.kubeconfig_path))
        store = ClusterStore(conn, kinds=("pods", "nodes", "replicasets", "deployments"), watch_timeout=30).start()
        try:
            assert store.wait_synced(30)
            r = conn.request("PUT", "/_sim/faults", {"spec": fault})
            assert r.status == 200, r.body
            time.sleep(1.5 if fault.startswith("api-restart") else 0.2)
            s.advance(120)  # changes while (and after) the watches were cut
            name = sorted(store.snapshot().nodes)[0]

            def cordon():
                try:
                    return conn.request("PATCH", f"/api/v1/nodes/{name}", body={"spec": {"unschedulable": True}},
                                        content_type="application/strategic-merge-patch+json").status == 200
                except Exception:  # the port may still be closed
                    return False

            assert _wait(cordon, 20)
            assert _wait(lambda: store.snapshot().nodes[name].unschedulable, 40)
            fresh = load_snapshot(conn, kinds=store.kinds)
            assert _wait(lambda: _equal(store.snapshot(), fresh), 40)
            assert not any(st.error for st in store.progress().values())
            # (no relist is forced here: the watch had seen everything up to the compaction point)
            assert not [r for r in caplog.records if r.name.startswith("kubewatch_ml") and r.levelname == "ERROR"]
        finally:
            store.stop()
            conn.close()
