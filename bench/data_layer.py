"""Data-layer benchmark: cold load of a 150k-pod cluster, side by side with the floor and kubectl.

    .venv/bin/python bench/data_layer.py [--nodes 5000] [--pods 150000] [--server auto|sim|synthetic]
                                         [--kubectl-timeout 600] [--watch-seconds 15] [--rate 200]

One run measures, each in a fresh subprocess (wall time and peak RSS from wait4):
  (a) floor: plain paged GET (limit=500) of all pods and nodes, decoded into minimal msgspec structs
  (a+) the same floor asking for gzip (the server compresses pages over 128 KiB, as kube-apiserver)
  (b) ClusterStore cold load to a complete store (pods + nodes; the same with every list in-process,
      KUBEWATCH_LIST_PROCESS=0; then all 15 kinds). Peak RSS of (b) is the most the dashboard process and its
      list process held at once (sampled every 10 ms), or the dashboard's own peak when that is more.
  (c) `kubectl get pods -A > /dev/null` on the same server (TLS, as kubectl sends no token over HTTP)
  (d) watch latency: pods patched through the API at --rate events/s, time until the store applied each
Server: `kubewatch-ml sim --nodes N --pods P` when that command exists (--server sim/auto), SimCluster in a
subprocess (--server simcluster), or the simulator's ApiServer with synthetic pods (--server synthetic).
Not a test: prints a Markdown table for BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import pathlib
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "pods.json"
TOKEN = "bench-admin-token"


# --- the server (synthetic) ----------------------------------------------------------------------


def synthetic_objects(nodes: int, pods: int):
    """Realistic pods from the test fixture: ~50 pods per Deployment template, spread over nodes/zones."""
    tmpl = json.loads(FIXTURE.read_text())["items"][0]
    tmpl["metadata"].pop("uid")
    node_objs = []
    for i in range(nodes):
        zone = f"us-east-1{'abc'[i % 3]}"
        node_objs.append({
            "kind": "Node", "apiVersion": "v1",
            "metadata": {"name": f"node-{i:05d}", "labels": {
                "kubernetes.io/hostname": f"node-{i:05d}", "topology.kubernetes.io/zone": zone,
                "node.kubernetes.io/instance-type": "p4d.24xlarge" if i % 4 == 0 else "m6i.8xlarge",
                **({"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"} if i % 4 == 0 else {})}},
            "spec": {"podCIDR": f"10.{i // 256}.{i % 256}.0/24"},
            "status": {"capacity": {"cpu": "96", "memory": "1152Gi", "pods": "110", "nvidia.com/gpu": "8" if i % 4 == 0 else "0"},
                       "allocatable": {"cpu": "95500m", "memory": "1130Gi", "pods": "110", "nvidia.com/gpu": "8" if i % 4 == 0 else "0"},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "lastHeartbeatTime": "2026-11-28T12:00:00Z", "lastTransitionTime": "2026-11-01T00:00:00Z"}],
                       "addresses": [{"type": "InternalIP", "address": f"10.0.{i // 256}.{i % 256}"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0"}}})

    def pod(i: int) -> dict:
        dep = i // 50
        p = copy.deepcopy(tmpl)
        md = p["metadata"]
        ns = f"team-{dep % 40:02d}"
        rs = f"svc-{dep:05d}-7d9f8b6c5"
        md.update(name=f"{rs}-{i:06d}", namespace=ns, generateName=f"{rs}-",
                  creationTimestamp=f"2026-11-{1 + i % 27:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}Z")
        md["labels"] = {"app": f"svc-{dep:05d}", "pod-template-hash": "7d9f8b6c5", "team": f"team-{dep % 40:02d}"}
        md["ownerReferences"][0].update(name=rs, uid=f"rs-uid-{dep:05d}")
        p["spec"]["nodeName"] = f"node-{i % nodes:05d}"
        p["spec"]["containers"][0]["image"] = f"registry.example.com/svc-{dep % 300}:2.{dep % 7}"
        p["status"]["podIP"] = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
        p["status"]["containerStatuses"][0]["restartCount"] = i % 5
        return p

    return node_objs, (pod(i) for i in range(pods))


def serve_synthetic(nodes: int, pods: int, workdir: str) -> None:
    """Child process: ApiServer over TLS with the synthetic cluster; prints READY <kubeconfig>."""
    from kubewatch_ml.sim.apiserver import ApiServer
    from kubewatch_ml.sim.kubeconfig import write_kubeconfig
    from kubewatch_ml.sim.objects import ObjectStore

    store = ObjectStore()
    n, p = synthetic_objects(nodes, pods)
    store.load("nodes", n)
    store.load("pods", p)
    api = ApiServer(store, host="127.0.0.1", port=0, tls=True, tokens={TOKEN: "admin"}, workdir=workdir).start()
    kc = write_kubeconfig(os.path.join(workdir, "kubeconfig"), server=api.url, ca_file=api.ca_file,
                          users={"admin": TOKEN}, current="sim-admin")
    print("READY", kc, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    api.stop()


def serve_simcluster(nodes: int, pods: int, workdir: str) -> None:
    """Child process: SimCluster (TLS, clock stopped so the cluster holds still); prints READY <kubeconfig>."""
    from kubewatch_ml.sim.cluster import SimCluster

    t0 = time.perf_counter()
    sim = SimCluster(seed=7, nodes=nodes, pods=pods, tls=True, start_clock=False, workdir=workdir,
                     exporters=False).start()
    print(f"# SimCluster built in {time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
    print("READY", sim.kubeconfig_path, flush=True)
    sys.stdin.read()
    sim.stop()


def start_server(args, workdir: str) -> tuple[subprocess.Popen, str, str]:
    kind = args.server
    if kind == "simcluster":
        proc = subprocess.Popen([sys.executable, __file__, "--serve-sim", workdir, "--nodes", str(args.nodes),
                                 "--pods", str(args.pods)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline().split()
        if not line or line[0] != "READY":
            raise SystemExit("SimCluster failed to start")
        return proc, line[1], f"SimCluster(seed=7, nodes={args.nodes}, pods={args.pods}, tls=True) in a subprocess"
    if kind in ("auto", "sim"):
        helptext = subprocess.run([sys.executable, "-m", "kubewatch_ml", "sim", "--help"], capture_output=True,
                                  text=True).stdout
        if "--pods" in helptext and "--kubeconfig-out" in helptext:
            kc = os.path.join(workdir, "kubeconfig")
            proc = subprocess.Popen([sys.executable, "-m", "kubewatch_ml", "sim", "--nodes", str(args.nodes),
                                     "--pods", str(args.pods), "--tls", "--kubeconfig-out", kc],
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    text=True)
            deadline = time.time() + 900
            while not os.path.exists(kc) and time.time() < deadline and proc.poll() is None:
                time.sleep(1)
            if proc.poll() is None and os.path.exists(kc):
                time.sleep(2)
                return proc, kc, f"kubewatch-ml sim --nodes {args.nodes} --pods {args.pods} --tls (clock running at speed 1)"
            proc.kill()
            if kind == "sim":
                raise SystemExit("kubewatch-ml sim did not come up")
        elif kind == "sim":
            raise SystemExit("kubewatch-ml sim does not take --nodes/--pods/--kubeconfig-out yet; use --server simcluster")
    proc = subprocess.Popen([sys.executable, __file__, "--serve", workdir, "--nodes", str(args.nodes),
                             "--pods", str(args.pods)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()
    if not line or line[0] != "READY":
        raise SystemExit("synthetic server failed to start")
    return proc, line[1], f"sim ApiServer (TLS) with {args.nodes} synthetic nodes / {args.pods} pods from tests/data/pods.json"


# --- measured children -----------------------------------------------------------------------------

import msgspec  # noqa: E402


class _Meta(msgspec.Struct, gc=False, frozen=True):
    name: str = ""
    namespace: str = ""
    uid: str = ""


class _Spec(msgspec.Struct, gc=False, rename="camel", frozen=True):
    node_name: str = ""


class _Obj(msgspec.Struct, gc=False, frozen=True):
    """The floor's minimal record: identity and placement only."""

    metadata: _Meta = _Meta()
    spec: _Spec = _Spec()


class _LMeta(msgspec.Struct, gc=False, frozen=True):
    cont: str = msgspec.field(default="", name="continue")


class _Lst(msgspec.Struct, gc=False):
    metadata: _LMeta = _LMeta()
    items: list[_Obj] = []



def child_floor(kubeconfig: str, gzip: bool = False) -> dict:
    """(a) plain paged GET of pods and nodes into minimal structs, on the same TLS/auth configuration. With
    gzip, it asks for compressed pages (as kubectl and we do) and urllib3 inflates them."""
    import urllib3
    import yaml

    cfg = yaml.safe_load(open(kubeconfig))
    cluster = cfg["clusters"][0]["cluster"]
    token = cfg["users"][0]["user"]["token"]
    pool = urllib3.PoolManager(ca_certs=cluster.get("certificate-authority"), retries=False)

    dec = msgspec.json.Decoder(_Lst)
    kept: list = []
    nbytes = 0
    t0 = time.perf_counter()
    for path in ("/api/v1/pods", "/api/v1/nodes"):
        cont = ""
        while True:
            q = f"?limit=500" + (f"&continue={cont}" if cont else "")
            r = pool.request("GET", cluster["server"] + path + q,
                             headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                                      **({"Accept-Encoding": "gzip"} if gzip else {})})
            nbytes += len(r.data)
            lst = dec.decode(r.data)
            kept.extend(lst.items)
            cont = lst.metadata.cont
            if not cont:
                break
    return {"seconds": time.perf_counter() - t0, "objects": len(kept), "bytes": nbytes}


def child_warm(kubeconfig: str) -> dict:
    """One small list per kind, so the server's per-kind caches are built before anything is timed."""
    from kubewatch_ml.settings import KubeOptions
    from kubewatch_ml.sources.decode import CODECS
    from kubewatch_ml.sources.kube import connect

    conn = connect(KubeOptions(kubeconfig=kubeconfig, request_timeout=300))
    for c in CODECS.values():  # full paged lists: the server's per-object caches are warm for everyone
        cont = ""
        while True:
            r = conn.request("GET", c.path(), {"limit": 500, **({"continue": cont} if cont else {})})
            cont = json.loads(r.body).get("metadata", {}).get("continue", "") if r.status == 200 else ""
            if not cont:
                break
    return {}


def _status_kib(pid: int | str, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _child_pids() -> list[int]:
    pids = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/children") as f:
                pids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return pids


class _MemorySampler(threading.Thread):
    """Every 10 ms: this process's RSS plus its children's (the list process), the largest sum seen, and each
    child's own high-water mark (VmHWM). A child's ru_maxrss cannot be used: exec() records the forking
    process's RSS as the child's maximum."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop, self.sum_peak_kib, self.child_hwm_kib = threading.Event(), 0, 0

    def run(self) -> None:
        while not self.stop.is_set():
            kids = _child_pids()
            total = _status_kib("self", "VmRSS") + sum(_status_kib(k, "VmRSS") for k in kids)
            self.sum_peak_kib = max(self.sum_peak_kib, total)
            self.child_hwm_kib = max([self.child_hwm_kib] + [_status_kib(k, "VmHWM") for k in kids])
            self.stop.wait(0.01)


def child_store(kubeconfig: str, kinds: str) -> dict:
    """(b) ClusterStore cold load to a complete store."""
    from kubewatch_ml.settings import KubeOptions
    from kubewatch_ml.sources.kube import connect
    from kubewatch_ml.store import ClusterStore

    sampler = _MemorySampler()
    sampler.start()
    t0 = time.perf_counter()
    conn = connect(KubeOptions(kubeconfig=kubeconfig, request_timeout=120))
    store = ClusterStore(conn, kinds=kinds.split(",") if kinds != "all" else None).start()
    ok = store.wait_synced(1800)
    t_sync = time.perf_counter() - t0
    for t in threading.enumerate():  # list fetchers reap their list process (paged_list): count it below
        if t.name.startswith("list-"):
            t.join(30)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler.stop.set()
    sampler.join()
    t1 = time.perf_counter()
    snap = store.snapshot()
    t_snap = time.perf_counter() - t1
    t2 = time.perf_counter()
    store.snapshot()
    t_cached = time.perf_counter() - t2
    store.stop()
    return {"seconds": t_sync, "synced": ok, "pods": len(snap.pods), "nodes": len(snap.nodes),
            "first_snapshot_s": t_snap, "cached_snapshot_s": t_cached,
            "list_process_hwm_mib": sampler.child_hwm_kib / 1024, "sum_peak_mib": sampler.sum_peak_kib / 1024,
            "self_hwm_mib": _status_kib("self", "VmHWM") / 1024, "list_process_cpu_s": kids.ru_utime + kids.ru_stime,
            "errors": {k: s.error for k, s in store.progress().items() if s.error}}


def child_watch(kubeconfig: str, seconds: float, rate: float) -> dict:
    """(d) pods patched through the API at `rate`/s; latency from send to applied in the store."""
    from concurrent.futures import ThreadPoolExecutor

    from kubewatch_ml.settings import KubeOptions
    from kubewatch_ml.sources.kube import connect
    from kubewatch_ml.store import ClusterStore

    conn = connect(KubeOptions(kubeconfig=kubeconfig, request_timeout=120))
    store = ClusterStore(conn, kinds=("pods", "nodes")).start()
    store.wait_synced(1800)
    sent: dict[str, float] = {}
    applied: dict[str, float] = {}
    real_upsert = store._upsert

    def upsert(kind, rec):  # instrumented: when did the store apply each marked pod version
        real_upsert(kind, rec)
        if kind == "pods" and rec.labels and "bench-seq" in rec.labels:
            applied.setdefault(rec.labels["bench-seq"], time.perf_counter())

    store._upsert = upsert
    pods = sorted(store.snapshot().pods.values(), key=lambda p: p.uid)[:2000]
    n = int(seconds * rate)
    errors = []

    def patch(i: int) -> None:
        p = pods[i % len(pods)]
        seq = str(i)
        sent[seq] = time.perf_counter()
        r = conn.request("PATCH", f"/api/v1/namespaces/{p.namespace}/pods/{p.name}",
                         body={"metadata": {"labels": {"bench-seq": seq}}}, content_type="application/merge-patch+json")
        if r.status != 200:
            errors.append(r.status)

    snap_times: list[float] = []
    done = threading.Event()

    def reader() -> None:  # a UI refreshing at 2 Hz while the events flow
        while not done.is_set():
            t = time.perf_counter()
            store.snapshot()
            snap_times.append(time.perf_counter() - t)
            done.wait(0.5)

    rt = threading.Thread(target=reader)
    rt.start()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as ex:
        for i in range(n):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            ex.submit(patch, i)
        send_s = time.perf_counter() - t0
    deadline = time.perf_counter() + 30
    while len(applied) < n - len(errors) and time.perf_counter() < deadline:
        time.sleep(0.05)
    done.set()
    rt.join()
    store.stop()
    snap_times.sort()
    lat = sorted(applied[s] - sent[s] for s in applied if s in sent)
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")  # noqa: E731
    return {"events": n, "applied": len(lat), "achieved_rate": n / send_s, "p50": pct(0.5), "p95": pct(0.95),
            "p99": pct(0.99), "max": lat[-1] if lat else float("nan"), "errors": len(errors),
            "snapshot_median": snap_times[len(snap_times) // 2] if snap_times else 0.0,
            "snapshot_max": snap_times[-1] if snap_times else 0.0}


def run_child(args_list: list[str], timeout: float | None = None,
              env: dict | None = None) -> tuple[dict | None, float, float, str]:
    """Run a child; (its JSON result, wall seconds, peak RSS MiB, note)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *args_list], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, **(env or {})))
    timer = None
    if timeout:
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if timer:
        timer.cancel()
    wall = time.perf_counter() - t0
    note = "" if proc.returncode == 0 else f"exit {proc.returncode}: {err.decode(errors='replace').strip()[-300:]}"
    try:
        res = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        res = None
    return res, wall, ru.ru_maxrss / 1024, note


def run_kubectl(kubeconfig: str, timeout: float) -> tuple[float, float, str]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return float("nan"), float("nan"), "kubectl not installed"
    t0 = time.perf_counter()
    env = dict(os.environ, KUBECONFIG=kubeconfig, HOME=os.path.dirname(kubeconfig))
    with open(os.devnull, "w") as null:
        proc = subprocess.Popen([kubectl, "get", "pods", "-A", "--request-timeout=0"], stdout=null,
                                stderr=subprocess.PIPE, env=env)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        err = proc.stderr.read()
        _, status, ru = os.wait4(proc.pid, 0)
        timer.cancel()
    code = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    note = "ok" if code == 0 else (f"killed after {timeout:.0f}s timeout" if code == -9 else
                                  f"exit {code}: {err.decode(errors='replace').strip()[-200:]}")
    return wall, ru.ru_maxrss / 1024, note


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150000)
    ap.add_argument("--server", choices=("auto", "sim", "simcluster", "synthetic"), default="auto")
    ap.add_argument("--kubectl-timeout", type=float, default=600)
    ap.add_argument("--no-kubectl", action="store_true")
    ap.add_argument("--watch-seconds", type=float, default=15)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--serve", metavar="WORKDIR")
    ap.add_argument("--serve-sim", metavar="WORKDIR")
    ap.add_argument("--child", nargs="+")
    args = ap.parse_args()
    if args.serve:
        return serve_synthetic(args.nodes, args.pods, args.serve)
    if args.serve_sim:
        return serve_simcluster(args.nodes, args.pods, args.serve_sim)
    if args.child:
        what, kc, *rest = args.child
        res = {"floor": lambda: child_floor(kc), "floor-gzip": lambda: child_floor(kc, True), "warm": lambda: child_warm(kc), "store": lambda: child_store(kc, rest[0] if rest else "pods,nodes"),
               "watch": lambda: child_watch(kc, args.watch_seconds, args.rate)}[what]()
        print(json.dumps(res))
        return

    workdir = tempfile.mkdtemp(prefix="kubewatch-bench-")
    t0 = time.perf_counter()
    server, kc, server_desc = start_server(args, workdir)
    print(f"# server up in {time.perf_counter() - t0:.0f}s: {server_desc}", file=sys.stderr)
    rows = []
    try:
        run_child(["--child", "warm", kc])
        floor, fw, frss, fnote = run_child(["--child", "floor", kc])
        rows.append(("(a) floor: paged GET pods+nodes -> minimal structs", fw, frss, floor and floor["seconds"],
                     fnote or f"{floor['objects']} objects, {floor['bytes'] / 1e9:.2f} GB JSON"))
        print(rows[-1], file=sys.stderr)
        st, sw, srss, snote = run_child(["--child", "store", kc, "pods,nodes"])
        both = max(srss, st["sum_peak_mib"]) if st else srss  # the sampled sum can miss the parent's last MiB
        rows.append(("(b) ClusterStore cold load, pods+nodes", sw, both, st and st["seconds"],
                     snote or f"{st['pods']} pods, {st['nodes']} nodes; first snapshot {st['first_snapshot_s'] * 1000:.0f} ms, "
                              f"cached {st['cached_snapshot_s'] * 1e6:.0f} us; RSS: the dashboard process alone {srss:.0f} "
                              f"MiB; with its list process (peak {st['list_process_hwm_mib']:.0f} MiB, CPU "
                              f"{st['list_process_cpu_s']:.1f} s) {st['sum_peak_mib']:.0f} MiB at most at once (sampled)"))
        print(rows[-1], file=sys.stderr)
        fz, fzw, fzrss, fznote = run_child(["--child", "floor-gzip", kc])
        rows.append(("(a+) the floor asking for gzip pages", fzw, fzrss, fz and fz["seconds"],
                     fznote or f"{fz['bytes'] / 1e9:.2f} GB JSON inflated"))
        print(rows[-1], file=sys.stderr)
        tt, tw, trss, tnote = run_child(["--child", "store", kc, "pods,nodes"], env={"KUBEWATCH_LIST_PROCESS": "0"})
        rows.append(("(b-) the same, every list in-process (KUBEWATCH_LIST_PROCESS=0)", tw, trss, tt and tt["seconds"],
                     tnote or f"{tt['pods']} pods, {tt['nodes']} nodes"))
        print(rows[-1], file=sys.stderr)
        sa, saw, sarss, sanote = run_child(["--child", "store", kc, "all"])
        rows.append(("(b') ClusterStore cold load, all 15 kinds", saw, sarss, sa and sa["seconds"],
                     sanote or f"{sa['pods']} pods; kinds with errors: {sa['errors'] or 'none'}"))
        print(rows[-1], file=sys.stderr)
        floor2, fw2, frss2, fnote2 = run_child(["--child", "floor", kc])  # the floor again: how noisy is it?
        rows.append(("(a2) floor again, after (b) and (b')", fw2, frss2, floor2 and floor2["seconds"], fnote2 or ""))
        print(rows[-1], file=sys.stderr)
        if not args.no_kubectl:
            kw, krss, knote = run_kubectl(kc, args.kubectl_timeout)
            rows.append(("(c) kubectl get pods -A > /dev/null", kw, krss, None, knote))
            print(rows[-1], file=sys.stderr)
        wres, ww, wrss, wnote = run_child(["--child", "watch", kc, "--watch-seconds", str(args.watch_seconds),
                                           "--rate", str(args.rate)], timeout=1800)
    finally:
        server.stdin.close()
        server.send_signal(signal.SIGTERM)  # the sim command stops on SIGTERM; our own servers on stdin EOF
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"\nMachine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average at end {os.getloadavg()[0]:.1f} (shared with other engineers)")
    print(f"Server: {server_desc}\n")
    print("| measurement | wall (s) | peak RSS (MiB) | note |\n|---|---:|---:|---|")
    for name, wall, rss, inner, note in rows:
        inner_s = f" (in-process {inner:.1f})" if inner else ""
        print(f"| {name} | {wall:.1f}{inner_s} | {rss:.0f} | {note} |")
    a, b, a2 = rows[0], rows[1], next(r for r in rows if r[0].startswith("(a2)"))
    print(f"\nRatios: store/floor wall {b[1] / a[1]:.2f}x (against a2 {b[1] / a2[1]:.2f}x), RSS (both processes) "
          f"{b[2] / a[2]:.2f}x; in-process lists/store {rows[3][1] / b[1]:.2f}x", end="")
    kubectl_row = next((r for r in rows if r[0].startswith("(c)")), None)
    if kubectl_row and kubectl_row[4] == "ok":
        print(f"; kubectl/store wall {kubectl_row[1] / b[1]:.1f}x", end="")
    print()
    if wres:
        print(f"Watch: {wres['events']} pod patches at {wres['achieved_rate']:.0f}/s sent, {wres['applied']} applied; "
              f"send->applied p50 {wres['p50'] * 1000:.0f} ms, p95 {wres['p95'] * 1000:.0f} ms, "
              f"p99 {wres['p99'] * 1000:.0f} ms, max {wres['max'] * 1000:.0f} ms; errors {wres['errors']}; "
              f"store.snapshot() at 2 Hz during the events: median {wres['snapshot_median'] * 1000:.1f} ms, "
              f"max {wres['snapshot_max'] * 1000:.1f} ms")
    else:
        print(f"Watch: failed ({wnote})")


if __name__ == "__main__":
    main()
