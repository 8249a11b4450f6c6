"""Watches honour Retry-After on 429/503 (bounded), against the simulator's fault injection over HTTP."""
import time

import kubewatch_ml.store as store_mod
from kubewatch_ml.settings import KubeOptions
from kubewatch_ml.sim.cluster import SimCluster
from kubewatch_ml.sources.kube import connect
from kubewatch_ml.store import ClusterStore

from .test_store import _wait


def _faults(sim, spec=None):
    import json
    import urllib.parse
    import urllib.request
    url, method = sim.api_url + "/_sim/faults", "DELETE"
    if spec:
        url, method = url + "?" + urllib.parse.urlencode({"spec": spec}), "PUT"
    req = urllib.request.Request(url, method=method, headers={"Authorization": f"Bearer {sim.admin_token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def _pod_requests(sim) -> int:
    return sim.api.requests[("GET", "/api/v1/pods")]


def test_watch_waits_as_long_as_retry_after_asks(tmp_path, monkeypatch):
    # our own backoff made short, so a store that ignored Retry-After would re-watch ~every 0.2 s
    monkeypatch.setattr(store_mod, "BACKOFF_START_S", 0.05)
    monkeypatch.setattr(store_mod, "BACKOFF_MAX_S", 0.2)
    with SimCluster(seed=7, nodes=4, pods=20, start_clock=False, workdir=str(tmp_path / "sim")) as sim:
        conn = connect(KubeOptions(kubeconfig=sim.kubeconfig_path, context="sim-viewer"))
        store = ClusterStore(conn, kinds=("pods",), watch_timeout=30).start()
        try:
            assert store.wait_synced(20)
            assert _wait(lambda: "pods" in store._streams)
            for spec in ("api-429=pods", "api-503=pods"):  # both carry Retry-After: 1
                _faults(sim, spec)  # cuts the open watch; every new one gets the status
                assert _wait(lambda: "429" in store.progress()["pods"].error or "503" in store.progress()["pods"].error)
                before, t0 = _pod_requests(sim), time.monotonic()
                time.sleep(3.0)
                tries = _pod_requests(sim) - before
                elapsed = time.monotonic() - t0
                assert 1 <= tries <= elapsed / 1.0 + 1, (spec, tries)  # about one a second, not one per 0.2 s
                _faults(sim)
                assert _wait(lambda: not store.progress()["pods"].error, 10)  # resumes once the server is well
        finally:
            store.stop()
            conn.close()


def test_retry_after_is_bounded():
    assert store_mod._retry_after({"retry-after": "3600"}) == store_mod.RETRY_AFTER_MAX_S
    assert store_mod._retry_after({"retry-after": "-5"}) == 0.0
    assert store_mod._retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 1.0
    assert store_mod._retry_after({}) == 1.0
