"""ClusterStore against the fake API: paged load, watch, 410 relist, 403, churn == fresh list."""
import random
import threading
import time

import pytest

from kubewatch_ml.snapshot import ClusterSnapshot
from kubewatch_ml.sources.decode import CODECS
from kubewatch_ml.store import ClusterStore, load_snapshot

from .fakeapi import node, pod, workload

KINDS = ("nodes", "pods", "replicasets", "deployments")


def _wait(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def _seed(api, n_pods=1200):
    for i in range(4):
        api.put("nodes", node(f"n{i}", zone=f"z{i % 2}", gpus=8 if i == 3 else 0))
    api.put("deployments", workload("Deployment", "web"))
    api.put("replicasets", workload("ReplicaSet", "web-abc", owner=("Deployment", "web")))
    for i in range(n_pods):
        api.put("pods", pod(f"web-abc-{i}", node=f"n{i % 4}", owner=("ReplicaSet", "web-abc")))


def _same_as_fresh(store, conn):
    fresh = load_snapshot(conn, kinds=store.kinds)
    live = store.snapshot()
    assert dict(live.pods) == dict(fresh.pods)
    assert dict(live.nodes) == dict(fresh.nodes)
    assert dict(live.workloads) == dict(fresh.workloads)
    for idx in ("pods_by_node", "pods_by_namespace", "pods_by_workload", "nodes_by_zone", "nodes_by_gpu_product"):
        a = {k: sorted(v) for k, v in getattr(live, idx).items()}
        b = {k: sorted(v) for k, v in getattr(fresh, idx).items()}
        assert a == b, idx
    return live


def test_load_snapshot_pages_and_indexes(conn, fake_api):
    _seed(fake_api)
    progress = []
    totals = []
    snap = load_snapshot(conn, kinds=KINDS, on_progress=lambda k, st: (progress.append((k, st.pages, st.complete)),
                                                                         totals.append((k, st.listed, st.total))))
    assert len(snap.pods) == 1200 and len(snap.nodes) == 4
    pod_lists = [r for r in fake_api.requests if r[1].startswith("/api/v1/pods?")]
    assert len(pod_lists) == 3 and "limit=500" in pod_lists[0][1] and "continue=" in pod_lists[1][1]
    assert ("pods", 3, True) in progress and ("pods", 1, False) in progress
    assert snap.kinds["pods"].listed == 1200 and snap.kinds["pods"].pages == 3
    assert ("pods", 500, 1200) in totals and ("pods", 1000, 1200) in totals  # from remainingItemCount
    assert snap.kinds["pods"].total == 1200
    full = load_snapshot(conn)  # every kind the product reads
    assert set(full.kinds) == set(CODECS) and not any("secret" in path for _, path in fake_api.requests)
    assert len(snap.pods_by_workload[("Deployment", "default", "web")]) == 1200
    assert sorted(snap.nodes_by_zone) == ["z0", "z1"] and len(snap.pods_by_node["n1"]) == 300
    assert dict(snap.nodes_by_gpu_product) == {"": ("n3",)}  # allocatable GPUs, no product label
    ref = ClusterSnapshot.build(0, nodes=snap.nodes.values(), pods=snap.pods.values(), workloads=snap.workloads.values())
    assert {k: sorted(v) for k, v in ref.pods_by_workload.items()} == {k: sorted(v) for k, v in snap.pods_by_workload.items()}


def test_watch_applies_changes_and_notifies(conn, fake_api):
    _seed(fake_api, 10)
    changes = []
    store = ClusterStore(conn, kinds=KINDS, on_change=lambda: changes.append(time.monotonic()), watch_timeout=5)
    store.start()
    try:
        assert store.wait_synced(10)
        s1 = store.snapshot()
        assert store.snapshot() is s1  # cached until a change
        cordoned = node("n1", zone="z1")
        cordoned["spec"]["unschedulable"] = True
        fake_api.put("nodes", cordoned)
        fake_api.delete("pods", "uid-default-web-abc-3")
        fake_api.put("pods", pod("web-abc-99", node="n2", owner=("ReplicaSet", "web-abc")))
        assert _wait(lambda: store.snapshot().nodes["n1"].unschedulable
                     and "uid-default-web-abc-3" not in store.snapshot().pods
                     and "uid-default-web-abc-99" in store.snapshot().pods)
        s2 = store.snapshot()
        assert s2 is not s1 and not s1.nodes["n1"].unschedulable  # the old snapshot did not change
        assert "uid-default-web-abc-3" in s1.pods and "uid-default-web-abc-3" not in s2.pods_by_node["n3"]
        assert "uid-default-web-abc-99" in s2.pods_by_node["n2"]
        assert _wait(lambda: len(changes) >= 1)
        gaps = [b - a for a, b in zip(changes, changes[1:])]
        assert all(g >= 0.45 for g in gaps)  # coalesced: at most ~2 calls per second
        watches = [r for r in fake_api.requests if "watch=true" in r[1] and "allowWatchBookmarks=true" in r[1]]
        assert watches
        _same_as_fresh(store, conn)
    finally:
        store.stop()


def test_410_relists_and_reconciles_deletions(conn, fake_api):
    _seed(fake_api, 20)
    store = ClusterStore(conn, kinds=KINDS, watch_timeout=1).start()
    try:
        assert store.wait_synced(10)
        # a deletion whose event is lost (compacted), then the watch expires: only a relist can notice
        fake_api.silently_delete("pods", "uid-default-web-abc-5")
        fake_api.put("pods", pod("web-abc-500", node="n0", owner=("ReplicaSet", "web-abc")), event="ADDED")
        fake_api.compacted_rv = fake_api.rv + 1
        fake_api.put("nodes", node("n9", zone="z3"))
        assert _wait(lambda: "uid-default-web-abc-5" not in store.snapshot().pods, 15)
        assert _wait(lambda: "n9" in store.snapshot().nodes, 15)
        fake_api.compacted_rv = 0
        lists = [r for r in fake_api.requests if r[1].startswith("/api/v1/pods?limit")]
        assert len(lists) >= 2
        _same_as_fresh(store, conn)
    finally:
        store.stop()


def test_first_list_restarted_by_an_expired_continue_token_holds_each_pod_once(conn, fake_api):
    _seed(fake_api, 1200)
    fake_api.expire_continue_once.add("pods")  # the second page answers 410: the list starts over
    store = ClusterStore(conn, kinds=KINDS).start()
    try:
        assert store.wait_synced(10)
        pod_lists = [r for r in fake_api.requests if r[1].startswith("/api/v1/pods?limit")]
        assert len(pod_lists) == 5 and "continue=" not in pod_lists[2][1]  # 1 page, 410, then 3 pages again
        live = _same_as_fresh(store, conn)
        assert len(live.pods) == 1200 and sum(map(len, live.pods_by_node.values())) == 1200
        assert len(live.pods_by_workload[("Deployment", "default", "web")]) == 1200
    finally:
        store.stop()


def test_forbidden_kind_is_marked_and_others_run(conn, fake_api):
    _seed(fake_api, 5)
    fake_api.forbidden.add("nodes")
    store = ClusterStore(conn, kinds=KINDS).start()
    try:
        assert store.wait_synced(10)
        st = store.progress()["nodes"]
        assert st.forbidden and not st.complete and "forbidden" in st.error
        assert store.progress()["pods"].complete and len(store.snapshot().pods) == 5
        assert store.snapshot().kinds["nodes"].forbidden
    finally:
        store.stop()


def test_namespace_restriction(conn, fake_api):
    _seed(fake_api, 3)
    fake_api.put("pods", pod("other-1", ns="ml", node="n0"))
    snap = load_snapshot(conn, kinds=("pods", "nodes"), namespace="ml")
    assert [p.name for p in snap.pods.values()] == ["other-1"]
    assert len(snap.nodes) == 4
    assert any(r[1].startswith("/api/v1/namespaces/ml/pods?") for r in fake_api.requests)


def test_dropped_connection_resumes(conn, fake_api):
    _seed(fake_api, 5)
    store = ClusterStore(conn, kinds=("pods",), watch_timeout=30).start()
    try:
        assert store.wait_synced(10)
        assert _wait(lambda: "pods" in store._streams)
        store._streams["pods"].close()  # as if the connection dropped mid-watch
        fake_api.put("pods", pod("web-abc-77", node="n1"))
        assert _wait(lambda: "uid-default-web-abc-77" in store.snapshot().pods)
    finally:
        store.stop()


def test_churn_equals_fresh_list(conn, fake_api):
    _seed(fake_api, 300)
    rng = random.Random(7)
    store = ClusterStore(conn, kinds=KINDS, watch_timeout=2).start()
    stop = threading.Event()

    def churn():
        i = 1000
        while not stop.is_set():
            uids = list(fake_api.objects["pods"])
            op = rng.random()
            if op < 0.4 and uids:
                fake_api.delete("pods", rng.choice(uids))
            elif op < 0.8:
                i += 1
                fake_api.put("pods", pod(f"web-abc-{i}", node=f"n{rng.randrange(4)}", owner=("ReplicaSet", "web-abc")))
            elif uids:
                p = fake_api.objects["pods"][rng.choice(uids)]
                p["spec"]["nodeName"] = f"n{rng.randrange(4)}"
                fake_api.put("pods", p)
            if rng.random() < 0.01:
                fake_api.expire_watch_once.add("pods")
            time.sleep(0.002)

    t = threading.Thread(target=churn)
    try:
        assert store.wait_synced(10)
        t.start()
        time.sleep(3)
        stop.set()
        t.join()
        assert _wait(lambda: set(store.snapshot().pods) == set(fake_api.objects["pods"]), 10)
        assert store.applied_events > 100
        _same_as_fresh(store, conn)
    finally:
        stop.set()
        store.stop()


def test_losing_permission_clears_the_kind_and_notifies(conn, fake_api):
    _seed(fake_api, 5)
    calls = []
    store = ClusterStore(conn, kinds=("pods",), on_change=lambda: calls.append(1), watch_timeout=1).start()
    try:
        assert store.wait_synced(10) and len(store.snapshot().pods) == 5
        fake_api.forbidden.add("pods")
        fake_api.compacted_rv = fake_api.rv + 1  # the next watch gets 410, the relist gets 403
        fake_api.put("nodes", node("n-x"))
        assert _wait(lambda: store.progress()["pods"].forbidden)
        assert len(store.snapshot().pods) == 0 and store.snapshot().kinds["pods"].forbidden
        assert _wait(lambda: len(calls) >= 2)  # the load, then the forbidden state (coalesced, <= 2/s)
    finally:
        store.stop()


def test_throttled_pages_are_retried_in_place(conn, fake_api):
    _seed(fake_api, 1200)
    fake_api.throttle["pods"] = 3
    snap = load_snapshot(conn, kinds=("pods",))
    assert len(snap.pods) == 1200 and snap.kinds["pods"].complete and snap.kinds["pods"].pages == 3
    pod_lists = [p for _, p in fake_api.requests if p.startswith("/api/v1/pods?")]
    assert len(pod_lists) == 3 + 3  # three pages, three 429s retried without starting over
    assert sum(1 for p in pod_lists if "continue=" not in p) == 1


def test_broken_watch_stream_resumes_without_internal_error(conn, fake_api, caplog):
    _seed(fake_api, 5)
    store = ClusterStore(conn, kinds=("pods",), watch_timeout=30).start()
    try:
        assert store.wait_synced(10)
        fake_api.cut_watches.add("pods")
        fake_api.put("pods", pod("web-abc-500", node="n1"))  # this event's line is cut in half
        assert _wait(lambda: "uid-default-web-abc-500" in store.snapshot().pods)  # resumed, then received
        assert not [r for r in caplog.records if r.levelname == "ERROR"]
        assert store.lists_completed["pods"] == 1  # resumed from the resourceVersion, no relist
    finally:
        store.stop()


def test_switch_interval_lowered_only_while_listing(conn, fake_api):
    import sys

    _seed(fake_api, 600)
    before = sys.getswitchinterval()
    seen = []
    load_snapshot(conn, kinds=("pods",), on_progress=lambda k, st: st.complete or seen.append(sys.getswitchinterval()))
    assert seen and max(seen) <= 0.001 + 1e-9
    assert sys.getswitchinterval() == before


def test_switch_interval_set_by_someone_else_while_listing_is_kept(conn, fake_api):
    """The store restores the interval it found only if the value is still its own: a caller that sets the
    interval during the list (a UI mounting: 1 ms, or anything else) keeps its setting."""
    import sys

    from kubewatch_ml.switch_interval import LIST_SWITCH_INTERVAL_S

    _seed(fake_api, 1200)
    saved = sys.getswitchinterval()
    try:
        for theirs in (0.001, 0.002):
            sys.setswitchinterval(0.005)
            seen = []

            def on_progress(kind, st, theirs=theirs):
                if st.pages == 1 and not st.complete:
                    seen.append(sys.getswitchinterval())
                    sys.setswitchinterval(theirs)  # another caller, mid-list

            load_snapshot(conn, kinds=("pods",), on_progress=on_progress)
            assert seen and abs(seen[0] - LIST_SWITCH_INTERVAL_S) < 2e-6  # the store's value while paging
            assert sys.getswitchinterval() == theirs  # not put back to 5 ms behind their back
        sys.setswitchinterval(0.005)
        seen = []
        load_snapshot(conn, kinds=("pods",), switch_interval=None,  # the caller owns it: untouched
                      on_progress=lambda k, st: seen.append(sys.getswitchinterval()))
        assert seen and set(seen) == {0.005} and sys.getswitchinterval() == 0.005
    finally:
        sys.setswitchinterval(saved)


def test_overlapping_lists_lower_once_and_restore_once():
    import sys

    from kubewatch_ml.switch_interval import lowered_switch_interval

    saved = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        a, b = lowered_switch_interval(), lowered_switch_interval()
        a.__enter__()
        low = sys.getswitchinterval()
        b.__enter__()
        a.__exit__(None, None, None)
        assert low < 0.005 and sys.getswitchinterval() == low  # b still lists
        b.__exit__(None, None, None)
        assert sys.getswitchinterval() == 0.005
        sys.setswitchinterval(0.0005)  # already lower than the store's: left alone
        with lowered_switch_interval():
            assert sys.getswitchinterval() == 0.0005
        assert sys.getswitchinterval() == 0.0005
    finally:
        sys.setswitchinterval(saved)
