"""Helpers for the fault-matrix tests (a unique module name: every test directory is on sys.path).

A small SimCluster (start_clock=False, TLS) reached only over HTTP; faults are switched through the
admin endpoint /_sim/faults exactly as a user of `kubewatch-ml sim` would, and waits poll a condition
(never a fixed sleep)."""
from __future__ import annotations

import time

from kubewatch_ml.settings import KubeOptions, MetricsOptions, Settings
from kubewatch_ml.sim.cluster import SimCluster
from kubewatch_ml.sources.kube import connect


def start_sim(tmp_path, **kw) -> SimCluster:
    opts = {"seed": 7, "nodes": 6, "pods": 30, "start_clock": False, "tls": True, "workdir": str(tmp_path / "sim")}
    opts.update(kw)
    return SimCluster(**opts).start()


def admin(sim):
    return connect(KubeOptions(kubeconfig=sim.kubeconfig_path, context="sim-admin"))


def faults(sim, spec: str | None = None, *, clear: bool = False) -> dict:
    """Switch faults on (spec) or off (clear) over HTTP with the admin token; returns the state."""
    conn = admin(sim)
    try:
        if clear:
            r = conn.request("DELETE", "/_sim/faults")
        elif spec is not None:
            r = conn.request("PUT", "/_sim/faults", params={"spec": spec})
        else:
            r = conn.request("GET", "/_sim/faults")
        assert r.status == 200, (r.status, r.body[:300])
        return r.json()
    finally:
        conn.close()


def settings_for(sim, context: str = "sim-viewer", *, metrics: bool = False, **kube) -> Settings:
    m = MetricsOptions(no_prometheus=True) if metrics else MetricsOptions(no_prometheus=True, kube_state_metrics_url="",
                                                                          dcgm_url="")
    return Settings(kube=KubeOptions(kubeconfig=sim.kubeconfig_path, context=context, **kube), metrics=m,
                    refresh_seconds=0.5)


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    """Poll predicate() until it is truthy; returns its value or fails naming `what`."""
    end = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def fast_retries(monkeypatch) -> None:
    """Short backoff caps so recovery happens in test time (the store reads them at run time)."""
    import kubewatch_ml.store as store
    monkeypatch.setattr(store, "BACKOFF_START_S", 0.05)
    monkeypatch.setattr(store, "BACKOFF_MAX_S", 0.3)
    monkeypatch.setattr(store, "FORBIDDEN_RETRY_S", 0.3)
