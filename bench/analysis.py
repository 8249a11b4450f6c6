"""Time analyze() on a 5,000-node / 150,000-pod ML cluster: synthetic records, or the simulator's data.

    .venv/bin/python bench/analysis.py [--nodes 5000] [--pods 150000] [--repeat 3] [--load 1.0]
    .venv/bin/python bench/analysis.py --from-sim [--advance 1800] [--record] [--sim-metrics none|direct] [--profile]

Synthetic (default): a cluster built from records in memory. --from-sim: the simulator's cluster as the
product sees it (`kubewatch-ml sim --nodes N --pods P --no-tls` in its own process, loaded over HTTP
with sources.kube.connect + store.load_snapshot), recorded once to bench/out/ (git-ignored, the
recording module's frame format) and reused by later runs; --record starts the simulator again.
Prints the snapshot's build/load time (not measured against the budget) and analyze() timings;
the budget is "well under a second" (BENCHMARKS.md). --profile prints a cProfile of one more run.
"""
from __future__ import annotations

import argparse
import gc
import os
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import time

from kubewatch_ml.analysis import analyze
from kubewatch_ml.metrics_snapshot import AREAS, AreaState, GpuSample, HpaHistory, MetricsSnapshot
from kubewatch_ml.model import (Condition, ContainerSpec, ContainerStatus, Event, Hpa, HpaMetric, Namespace, Node,
                                OwnerRef, Pod, PodDisruptionBudget, LabelSelector, ResourceQuota, Resources, Taint,
                                Toleration, Workload)
from kubewatch_ml.snapshot import ClusterSnapshot

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
GIB = 1 << 30


def synthetic(n_nodes: int, n_pods: int, seed: int = 7, load: float = 1.0) -> tuple[ClusterSnapshot, MetricsSnapshot]:
    """`load` scales pod requests: 1.0 leaves room for a lost zone, 2.0 overcommits the cluster."""
    rnd = random.Random(seed)
    now = 1_800_000_000.0
    nodes = []
    gpu_nodes = n_nodes // 10
    for i in range(n_nodes):
        gpu = i < gpu_nodes
        labels = {"topology.kubernetes.io/zone": ZONES[i % 3], "node.kubernetes.io/instance-type": "p4d.24xlarge" if gpu else "m6i.8xlarge"}
        if gpu:
            labels["nvidia.com/gpu.product"] = "A100-SXM4-80GB"
        ready = "False" if i % 997 == 5 else "True"
        nodes.append(Node(
            name=f"node-{i:05d}", uid=f"n{i}", labels=labels, unschedulable=(i % 503 == 7),
            taints=(Taint("nvidia.com/gpu", "present", "NoSchedule"),) if gpu else (),
            allocatable=Resources(cpu_m=95_000 if gpu else 31_000, memory=(1100 if gpu else 120) * GIB, gpu=8 if gpu else 0, pods=110),
            ready=ready, conditions=(Condition("Ready", ready),),
        ))
    n_ns = 60
    namespaces = [Namespace(name=f"team{j}-{'prod' if j % 3 == 0 else 'dev'}", uid=f"ns{j}") for j in range(n_ns)]
    workloads, pods, hpas, quotas, events = [], [], [], [], []
    pods_per_wl = 30
    n_wl = n_pods // pods_per_wl
    gpu_tol = (Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule"),)
    pi = 0
    for w in range(n_wl):
        ns = namespaces[w % n_ns].name
        is_gpu = w % 80 == 0
        req = Resources(cpu_m=int(load * rnd.randrange(100, 1000, 10)), memory=int(load * rnd.randrange(256, 4096, 64)) << 20, gpu=1 if is_gpu else 0)
        c = ContainerSpec(name="main", image=f"registry/app{w % 50}:{'latest' if w % 40 == 0 else '1.2.3'}",
                          requests=req, limits=req, liveness=w % 7 != 0, readiness=True)
        name = f"app-{w}"
        dep = Workload(kind="Deployment", uid=f"d{w}", name=name, namespace=ns, replicas=pods_per_wl,
                       ready_replicas=pods_per_wl, template_labels={"app": name}, containers=(c,),
                       tolerations=gpu_tol if is_gpu else ())
        rs = Workload(kind="ReplicaSet", uid=f"rs{w}", name=f"{name}-abc", namespace=ns, owner=OwnerRef("Deployment", name, f"d{w}", True),
                      replicas=pods_per_wl)
        workloads += [dep, rs]
        for k in range(pods_per_wl):
            node = nodes[rnd.randrange(gpu_nodes)] if is_gpu else nodes[gpu_nodes + rnd.randrange(n_nodes - gpu_nodes)]
            pending = (w % 97 == 3 and k < 3)
            crash = (w % 53 == 1 and k == 0)
            st = ContainerStatus(name="main", ready=not crash, started=True, restart_count=12 if crash else 0,
                                 state="waiting" if crash else "running", reason="CrashLoopBackOff" if crash else "",
                                 last_term_reason="Error" if crash else "")
            pods.append(Pod(
                uid=f"p{pi}", name=f"{name}-abc-{k}", namespace=ns, labels={"app": name},
                owner=OwnerRef("ReplicaSet", f"{name}-abc", f"rs{w}", True), node_name="" if pending else node.name,
                phase="Pending" if pending else "Running", containers=(c,), statuses=() if pending else (st,),
                requests=req, limits=req, tolerations=gpu_tol if is_gpu else (), created=now - 3600,
                conditions=(Condition("PodScheduled", "False", "Unschedulable"),) if pending else
                (Condition("PodReadyToStartContainers", "True"), Condition("Initialized", "True"),
                 Condition("Ready", "False" if crash else "True"), Condition("ContainersReady", "False" if crash else "True"),
                 Condition("PodScheduled", "True")),
            ))
            if crash:
                events.append(Event(uid=f"e{pi}", name=f"ev{pi}", namespace=ns, involved_kind="Pod", involved_name=f"{name}-abc-{k}",
                                    involved_namespace=ns, field_path="spec.containers{main}", reason="BackOff",
                                    message="Back-off restarting failed container", type="Warning", first_seen=now - 900, last_seen=now))
            pi += 1
        if w % 10 == 0:
            hpas.append(Hpa(uid=f"h{w}", name=name, namespace=ns, target_kind="Deployment", target_name=name,
                            min_replicas=2, max_replicas=pods_per_wl, current_replicas=pods_per_wl, desired_replicas=pods_per_wl,
                            metrics=(HpaMetric("Resource", "cpu", "Utilization", 60.0, rnd.choice((40.0, 90.0, None))),)))
    for j, ns in enumerate(namespaces):
        if j % 5:
            quotas.append(ResourceQuota(uid=f"q{j}", name="compute", namespace=ns.name,
                                        hard={"requests.cpu": 2_000_000, "requests.memory": 8000 * GIB, "requests.nvidia.com/gpu": 80, "pods": 3000},
                                        used={"requests.cpu": 1_900_000, "requests.memory": 100 * GIB, "requests.nvidia.com/gpu": 80, "pods": 2500}))
    pdbs = [PodDisruptionBudget(uid="pdb0", name="app-0", namespace=namespaces[0].name, selector=LabelSelector(match_labels={"app": "app-0"}))]
    cluster = ClusterSnapshot.build(now, nodes=nodes, pods=pods, namespaces=namespaces, quotas=quotas, hpas=hpas,
                                    workloads=workloads, events=events, pdbs=pdbs)
    gpus = []
    for n in nodes[:gpu_nodes]:
        for g in range(8):
            gpus.append(GpuSample(node=n.name, gpu=str(g), uuid=f"GPU-{n.name}-{g}", model="NVIDIA A100-SXM4-80GB",
                                  util=rnd.uniform(0, 100), fb_used_mib=rnd.uniform(0, 80000), fb_free_mib=1000.0, power_w=250.0,
                                  namespace="team0-prod", pod="x", container="main", util_avg_30m=rnd.uniform(0, 100)))
    metrics = MetricsSnapshot(taken_at=now, source="bench", areas={a: AreaState(ok=True, fetched_at=now) for a in AREAS},
                              gpus=tuple(gpus), namespace_cpu={ns.name: 100.0 for ns in namespaces},
                              namespace_memory={ns.name: 1e12 for ns in namespaces},
                              hpa_history={(h.namespace, h.name): HpaHistory(times=tuple(now - 3600 + 60 * i for i in range(61)),
                                                                             current=tuple(float(h.current_replicas) for _ in range(61)),
                                                                             desired=tuple(float(h.desired_replicas) for _ in range(61)))
                                           for h in hpas})
    return cluster, metrics


OUT = pathlib.Path(__file__).resolve().parent / "out"


def _sim_paths(n_nodes: int, n_pods: int, advance: float) -> tuple[pathlib.Path, pathlib.Path]:
    stem = f"sim-{n_nodes}n-{n_pods}p-t{advance:g}"
    return OUT / f"{stem}.cluster.bin", OUT / f"{stem}.metrics.bin"


def record_from_sim(n_nodes: int, n_pods: int, sim_metrics: str, advance: float = 0.0) -> None:
    """Start `kubewatch-ml sim` (own process, plain HTTP on loopback), let its clock run `advance` simulated
    seconds (crash loops, events and HPA history build up), load it as `snapshot` does, and write the
    cluster (and metrics) as recording frames; the simulator is stopped in any case."""
    from kubewatch_ml.recording import encode_cluster, encode_metrics
    from kubewatch_ml.settings import KubeOptions, MetricsOptions
    from kubewatch_ml.sources.kube import connect
    from kubewatch_ml.sources.metrics import NoMetrics, open_metrics
    from kubewatch_ml.store import load_snapshot

    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as wd:
        kc = os.path.join(wd, "kubeconfig")
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "kubewatch_ml", "sim", "--nodes", str(n_nodes), "--pods", str(n_pods),
                                 "--no-tls", "--kubeconfig-out", kc], stdout=subprocess.PIPE, text=True)
        try:
            urls: dict[str, str] = {}
            for line in proc.stdout:  # type: ignore[union-attr]
                name, _, rest = line.partition(":")
                if name in ("kube-state-metrics", "dcgm", "kubelet"):
                    urls[name] = rest.strip()
                if line.startswith("kubeconfig:"):
                    break
            if proc.poll() is not None:
                raise SystemExit("the simulator did not start")
            print(f"simulator up in {time.perf_counter() - t0:.1f}s: {urls}")
            conn = connect(KubeOptions(kubeconfig=kc, readonly=True))
            if advance:
                _advance(kc, advance)
            t = time.perf_counter()
            cluster = load_snapshot(conn)
            print(f"load_snapshot: {len(cluster.nodes)} nodes, {len(cluster.pods)} pods, {len(cluster.events)} events "
                  f"in {time.perf_counter() - t:.1f}s")
            if sim_metrics == "direct":
                # kube-state-metrics is left out: its exposition is ~490 MB at 150k pods (BENCHMARKS.md, headless)
                src = open_metrics(MetricsOptions(no_prometheus=True, dcgm_url=urls.get("dcgm"),
                                                  kubelet_urls=(urls["kubelet"],) if urls.get("kubelet") else ()), conn)
            else:
                src = NoMetrics("bench --sim-metrics none")
            t = time.perf_counter()
            metrics = src.fetch(cluster.taken_at)
            print(f"metrics ({src.describe()}): {len(metrics.gpus)} GPU samples in {time.perf_counter() - t:.1f}s")
            src.close()
            conn.close()
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    cpath, mpath = _sim_paths(n_nodes, n_pods, advance)
    cpath.write_bytes(encode_cluster(cluster))
    mpath.write_bytes(encode_metrics(metrics))
    print(f"recorded {cpath} ({cpath.stat().st_size / 1e6:.1f} MB) and {mpath.name}")


def _advance(kubeconfig: str, seconds: float) -> None:
    """POST /_sim/advance (the simulator's admin route) in 5-minute slices, with the kubeconfig's admin token."""
    import json
    import urllib.request

    import yaml

    cfg = yaml.safe_load(open(kubeconfig))
    server = cfg["clusters"][0]["cluster"]["server"]
    token = next(u["user"]["token"] for u in cfg["users"] if u["name"].endswith("admin"))
    t = time.perf_counter()
    left = seconds
    while left > 0:
        step = min(300.0, left)
        req = urllib.request.Request(f"{server}/_sim/advance?seconds={step:g}", method="POST", data=b"",
                                     headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=600) as r:
            json.load(r)
        left -= step
    print(f"advanced the simulated clock {seconds:g}s in {time.perf_counter() - t:.1f}s")


def load_from_sim(n_nodes: int, n_pods: int, advance: float = 0.0):
    from kubewatch_ml.recording import decode_cluster, decode_metrics

    cpath, mpath = _sim_paths(n_nodes, n_pods, advance)
    return decode_cluster(cpath.read_bytes()), decode_metrics(mpath.read_bytes())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--load", type=float, default=1.0, help="scale pod requests (2.0: a full cluster, zone loss does not fit)")
    ap.add_argument("--from-sim", action="store_true", help="the simulator's data, recorded once under bench/out/")
    ap.add_argument("--record", action="store_true", help="with --from-sim: start the simulator and record again")
    ap.add_argument("--sim-metrics", choices=("none", "direct"), default="direct",
                    help="with --record: scrape the sim's DCGM and kubelet exporters (direct) or record no metrics")
    ap.add_argument("--advance", type=float, default=0.0,
                    help="with --from-sim: simulated seconds the sim runs before the load (events, crash loops, finished "
                         "Job pods and HPA history build up); each value is its own recording")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one more analyze() run")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.from_sim:
        if args.record or not _sim_paths(args.nodes, args.pods, args.advance)[0].exists():
            record_from_sim(args.nodes, args.pods, args.sim_metrics, args.advance)
            t0 = time.perf_counter()
        cluster, metrics = load_from_sim(args.nodes, args.pods, args.advance)
        what = "loaded the simulator's recorded"
    else:
        cluster, metrics = synthetic(args.nodes, args.pods, load=args.load)
        what = "built"
    print(f"{what} {len(cluster.nodes)} nodes, {len(cluster.pods)} pods, {len(cluster.workloads)} workloads, "
          f"{len(cluster.events)} events in {time.perf_counter() - t0:.2f}s")
    times, cpu = [], []
    result = None
    for _ in range(args.repeat):
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        result = analyze(cluster, metrics, cluster.taken_at)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    assert result is not None
    # CPU time is the fairer figure on a shared machine: wall time includes waiting for a core
    print(f"analyze(): wall min {min(times):.3f}s median {statistics.median(times):.3f}s max {max(times):.3f}s; "
          f"cpu min {min(cpu):.3f}s median {statistics.median(cpu):.3f}s "
          f"over {args.repeat} runs; {len(result.findings)} findings, {len(result.pending.rows)} pending, "
          f"{len(result.probes.containers)} probe rows, {len(result.zones.losses)} zone what-ifs; "
          f"load avg {os.getloadavg()[0]:.1f}")
    if args.profile:
        import cProfile
        import pstats

        gc.collect()
        prof = cProfile.Profile()
        prof.enable()
        analyze(cluster, metrics, cluster.taken_at)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(45)


if __name__ == "__main__":
    main()
