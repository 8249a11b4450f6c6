"""Ages are measured on the cluster's clock: the API server's Date header, not the workstation's."""
import time

from kubewatch_ml.analysis import analyze
from kubewatch_ml.settings import KubeOptions
from kubewatch_ml.sim.cluster import SimCluster
from kubewatch_ml.sources.kube import connect
from kubewatch_ml.store import load_snapshot


def test_snapshot_and_pending_ages_follow_a_skewed_cluster_clock(tmp_path):
    day = 86400.0
    start = time.time() - day  # the simulated cluster's clock runs a day behind ours
    with SimCluster(seed=7, nodes=40, pods=600, start_clock=False, start=start, workdir=tmp_path) as sim:
        sim.advance(600)
        conn = connect(KubeOptions(kubeconfig=str(sim.kubeconfig_path)))
        try:
            assert abs(conn.server_now() - sim.now()) < 5  # 1 s header resolution plus request latency
            snap = load_snapshot(conn)
        finally:
            conn.close()
    assert abs(snap.taken_at - sim.now()) < 5 and time.time() - snap.taken_at > day - 700
    pending = analyze(snap, None, snap.taken_at).pending.rows
    assert pending, "the scenario plants Pending GPU pods"
    # the scenario plants them up to an hour before its start: pending for minutes to an hour, not a day
    assert all(0 <= p.pending_for_s <= 2 * 3600 for p in pending), [p.pending_for_s for p in pending]


def test_no_skew_reads_as_none():
    from kubewatch_ml.sources.kube import KubeConnection

    conn = KubeConnection.__new__(KubeConnection)
    conn.clock_offset = 0.9  # under the header's resolution: not a skew
    assert abs(conn.server_now() - time.time()) < 0.1
    conn.clock_offset = -3600.0
    assert abs(conn.server_now() - (time.time() - 3600)) < 0.1
