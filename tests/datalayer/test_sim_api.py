"""The data layer against the simulator's API server over HTTP (admin / viewer identities, TLS,
faults, churn). Objects are planted server-side; the client sees them only through HTTP."""
import copy
import json
import pathlib
import random
import threading
import time

import pytest

from kubewatch_ml.errors import ConnectError
from kubewatch_ml.settings import KubeOptions
from kubewatch_ml.sim.apiserver import ApiServer
from kubewatch_ml.sim.kubeconfig import write_kubeconfig
from kubewatch_ml.sim.objects import ObjectStore
from kubewatch_ml.sources.decode import CODECS
from kubewatch_ml.sources.kube import ReadOnlyError, connect
from kubewatch_ml.store import ClusterStore, load_snapshot

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"
TOKENS = {"adm-tok-1": "admin", "view-tok-2": "viewer", "ro-tok-3": "readonly-role"}
USERS = {"admin": "adm-tok-1", "viewer": "view-tok-2", "readonly-role": "ro-tok-3"}


def _plant(store: ObjectStore, n_pods: int = 700) -> None:
    objs = json.loads((DATA / "objects.json").read_text())
    for kind, lst in objs.items():
        for o in lst["items"]:
            o = copy.deepcopy(o)
            for k in ("uid", "resourceVersion"):
                o["metadata"].pop(k, None)
            store.create(kind, o)
    base = json.loads((DATA / "pods.json").read_text())["items"]
    for p in base:
        p = copy.deepcopy(p)
        p["metadata"].pop("uid")
        store.create("pods", p)
    tmpl = base[0]
    for i in range(n_pods):
        p = copy.deepcopy(tmpl)
        p["metadata"]["name"] = f"trainer-7d9f8b6c5-{i:05d}"
        p["metadata"].pop("uid")
        p["spec"]["nodeName"] = f"gpu-a100-{i % 7:03d}"
        store.create("pods", p)


def _serve(tmp_path, tls=False):
    st = ObjectStore()
    _plant(st)
    api = ApiServer(st, host="127.0.0.1", port=0, tls=tls, tokens=TOKENS, workdir=tmp_path, version="v1.32.4").start()
    kc = write_kubeconfig(tmp_path / "kubeconfig", server=api.url, ca_file=api.ca_file or None, users=USERS,
                          current="sim-admin")
    return st, api, kc


@pytest.fixture
def sim(tmp_path):
    st, api, kc = _serve(tmp_path)
    api.kubeconfig, api.objects = kc, st
    yield api
    api.stop()


@pytest.fixture
def admin(sim):
    c = connect(KubeOptions(kubeconfig=sim.kubeconfig, context="sim-admin"))
    yield c
    c.close()


def _wait(pred, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_full_load_equals_the_api_lists(sim, admin):
    assert admin.info.version == "v1.32.4" and admin.info.context == "sim-admin"
    snap = load_snapshot(admin)
    for kind, codec in CODECS.items():
        raw = admin.get_json(codec.path())["items"]  # one unpaged list, straight JSON
        uids = {o["metadata"]["uid"] for o in raw}
        st = snap.kinds[kind]
        assert st.complete and st.listed == len(raw), kind
        if kind == "pods":
            assert set(snap.pods) == uids and len(uids) == 703
            assert st.pages == 2
        elif kind == "nodes":
            assert {n.uid for n in snap.nodes.values()} == uids
    p = next(p for p in snap.pods.values() if p.name == "trainer-7d9f8b6c5-00003")
    assert p.requests.cpu_m == 4000 and p.requests.gpu == 2 and p.node_name == "gpu-a100-003"
    assert len(snap.pods_by_workload[("Deployment", "team-vision", "trainer")]) == 701
    assert snap.hpas[0].metrics[0].current == 93


def test_viewer_loads_and_cannot_write(sim):
    c = connect(KubeOptions(kubeconfig=sim.kubeconfig, context="sim-viewer"))
    try:
        snap = load_snapshot(c, kinds=("nodes", "pods"))
        assert len(snap.pods) == 703 and c.info.user == "sim-viewer"
        r = c.request("PATCH", "/api/v1/nodes/gpu-a100-003", body={"spec": {"unschedulable": False}},
                      content_type="application/strategic-merge-patch+json")
        assert r.status == 403
    finally:
        c.close()
    ro = connect(KubeOptions(kubeconfig=sim.kubeconfig, context="sim-admin", readonly=True))
    with pytest.raises(ReadOnlyError):
        ro.request("PATCH", "/api/v1/nodes/gpu-a100-003", body={})
    ro.close()


def test_watch_sees_cordon_and_label_made_through_the_api(sim, admin):
    store = ClusterStore(admin, kinds=("nodes", "pods")).start()
    try:
        assert store.wait_synced(20)
        assert store.snapshot().nodes["gpu-a100-003"].unschedulable  # fixture node starts cordoned
        r = admin.request("PATCH", "/api/v1/nodes/gpu-a100-003", body={"spec": {"unschedulable": False}},
                          content_type="application/strategic-merge-patch+json")
        assert r.status == 200, r.body
        r = admin.request("PATCH", "/api/v1/nodes/gpu-a100-003", body={"metadata": {"labels": {"team": "vision"}}},
                          content_type="application/merge-patch+json")
        assert r.status == 200
        assert _wait(lambda: not store.snapshot().nodes["gpu-a100-003"].unschedulable
                     and store.snapshot().nodes["gpu-a100-003"].labels.get("team") == "vision")
    finally:
        store.stop()


def test_compacted_history_leads_to_relist(sim, admin):
    store = ClusterStore(admin, kinds=("pods",), watch_timeout=1).start()
    try:
        assert store.wait_synced(20)
        lists_before = sim.stats.get("watches", 0)
        # lost deletion: removed and the history compacted, so the resumed watch gets 410
        with sim.objects.lock:
            sim.objects.delete("pods", "team-vision", "trainer-7d9f8b6c5-00010")
            sim.objects.compact()
        assert _wait(lambda: not any(p.name == "trainer-7d9f8b6c5-00010" for p in store.snapshot().pods.values()))
        assert sim.stats.get("watches", 0) > lists_before
        assert len(store.snapshot().pods) == 702 and store.lists_completed["pods"] >= 2
    finally:
        store.stop()


def test_forbidden_kind_marked_rest_running(sim, admin):
    sim.faults = {**sim.faults, "status": {"networkpolicies": 403}}
    store = ClusterStore(admin).start()
    try:
        assert store.wait_synced(20)
        prog = store.progress()
        assert prog["networkpolicies"].forbidden and "forbidden" in prog["networkpolicies"].error
        assert all(prog[k].complete for k in prog if k != "networkpolicies")
        assert len(store.snapshot().pods) == 703
    finally:
        store.stop()


def test_namespace_only(sim):
    c = connect(KubeOptions(kubeconfig=sim.kubeconfig, namespace="team-nlp"))
    try:
        snap = load_snapshot(c)
        assert {p.namespace for p in snap.pods.values()} == {"team-nlp"}
        assert {h.namespace for h in snap.hpas} == {"team-nlp"} and len(snap.nodes) == 1
    finally:
        c.close()


def test_churn_equals_fresh_list(sim, admin):
    store = ClusterStore(admin, kinds=("pods", "nodes"), watch_timeout=2).start()
    rng = random.Random(3)
    stop = threading.Event()
    objs = sim.objects

    def churn():
        i = 0
        while not stop.is_set():
            i += 1
            items, _ = objs.list("pods")
            op = rng.random()
            if op < 0.35 and items:
                md = rng.choice(items)["metadata"]
                objs.delete("pods", md["namespace"], md["name"])
            elif op < 0.7:
                p = copy.deepcopy(rng.choice(items))
                p["metadata"] = {"name": f"churn-{i}", "namespace": "team-vision", "labels": {"app": "churn"}}
                objs.create("pods", p)
            elif items:
                p = copy.deepcopy(rng.choice(items))
                p["spec"]["nodeName"] = f"gpu-a100-{rng.randrange(9):03d}"
                objs.replace("pods", p)
            if rng.random() < 0.003:
                objs.compact()
            time.sleep(0.003)

    t = threading.Thread(target=churn)
    try:
        assert store.wait_synced(20)
        t.start()
        time.sleep(3)
    finally:
        stop.set()
        t.join()
    try:
        fresh = load_snapshot(admin, kinds=("pods", "nodes"))
        assert _wait(lambda: dict(store.snapshot().pods) == dict(fresh.pods), 20)
        live = store.snapshot()
        for idx in ("pods_by_node", "pods_by_namespace", "pods_by_workload"):
            assert {k: sorted(v) for k, v in getattr(live, idx).items()} == \
                   {k: sorted(v) for k, v in getattr(fresh, idx).items()}, idx
        assert store.applied_events > 50
    finally:
        store.stop()


def test_tls_with_ca_and_without(tmp_path):
    st, api, kc = _serve(tmp_path, tls=True)
    try:
        c = connect(KubeOptions(kubeconfig=kc))
        assert c.info.server.startswith("https://") and not c.info.insecure
        assert len(load_snapshot(c, kinds=("nodes",)).nodes) == 1
        c.close()
        bare = write_kubeconfig(tmp_path / "noca", server=api.url, users=USERS)
        with pytest.raises(ConnectError) as ei:
            connect(KubeOptions(kubeconfig=bare))
        assert "--insecure-skip-tls-verify" in str(ei.value)
        c = connect(KubeOptions(kubeconfig=bare, insecure_skip_tls_verify=True))
        assert c.info.insecure
        c.close()
    finally:
        api.stop()


def test_bad_token_and_unknown_context(sim, tmp_path):
    bad = write_kubeconfig(tmp_path / "bad", server=sim.url, users={"admin": "not-a-token"})
    with pytest.raises(ConnectError, match="401"):
        connect(KubeOptions(kubeconfig=bad))  # /version is public here; the discovery check is not
    with pytest.raises(ConnectError, match="sim-admin, sim-viewer"):
        connect(KubeOptions(kubeconfig=sim.kubeconfig, context="prod"))


def test_in_cluster_service_account(tmp_path, monkeypatch):
    import kubernetes.config.incluster_config as ic

    st, api, _ = _serve(tmp_path, tls=True)
    try:
        token = tmp_path / "token"
        token.write_text("ro-tok-3")  # the product's read-only ClusterRole identity
        monkeypatch.setattr(ic, "SERVICE_TOKEN_FILENAME", str(token))
        monkeypatch.setattr(ic, "SERVICE_CERT_FILENAME", api.ca_file)
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(api.port))
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
        c = connect(KubeOptions())
        assert c.info.context == "in-cluster" and c.info.server == f"https://127.0.0.1:{api.port}"
        snap = load_snapshot(c)
        assert len(snap.pods) == 703 and all(s.complete for s in snap.kinds.values())
        c.close()
    finally:
        api.stop()


def test_server_errors_show_then_clear_and_watch_resumes(sim, admin):
    store = ClusterStore(admin, kinds=("pods",)).start()
    try:
        assert store.wait_synced(20)
        watches0 = sim.stats.get("watches", 0)
        sim.faults = {**sim.faults, "status": {"pods": 503}, "drop_watches": True}
        sim.close_watches()  # the fault applies to new watches: cut the open one now, as an outage would
        assert _wait(lambda: "503" in store.progress()["pods"].error or "ServiceUnavailable" in store.progress()["pods"].error)
        time.sleep(1.5)
        assert sim.stats.get("watches", 0) - watches0 <= 4  # backing off, not hammering
        sim.faults = {**sim.faults, "status": {}, "drop_watches": False}
        p = copy.deepcopy(sim.objects.list("pods")[0][0])
        p["metadata"] = {"name": "after-outage", "namespace": "team-vision"}
        sim.objects.create("pods", p)
        assert _wait(lambda: any(x.name == "after-outage" for x in store.snapshot().pods.values()), 40)
        assert _wait(lambda: store.progress()["pods"].error == "", 10)
    finally:
        store.stop()
