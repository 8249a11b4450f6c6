"""Time the simulator's API server serving 150,000 pods paged by 500.

    .venv/bin/python bench/sim_api_list.py [--pods 150000] [--limit 500] [--tls] [--kubectl]

Fills an ObjectStore with synthetic pods shaped like the scenario's (owner, requests, tolerations,
container status), starts ApiServer on loopback and lists every page over one keep-alive connection
(JSON; then as a meta.k8s.io Table, as kubectl asks). --kubectl also times `kubectl get pods -A`
(TLS, since kubectl sends no token over plain HTTP). The server runs in a child process so the
client's decoding does not share its GIL. Prints one line per measurement.
"""
from __future__ import annotations

import argparse
import http.client
import os
import resource
import signal
import ssl
import subprocess
import sys
import tempfile
import time

import orjson

from kubewatch_ml.sim.apiserver import ApiServer
from kubewatch_ml.sim.kubeconfig import write_kubeconfig
from kubewatch_ml.sim.objects import ObjectStore

TOKEN = "bench-admin"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def synthetic_pod(i: int) -> dict:
    ns = f"team{i % 40}-prod"
    node = f"node-{i % 5000:04d}"
    app = f"svc-{i % 900}"
    return {
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": f"{app}-{i:06d}-x7k2p", "namespace": ns, "labels": {"app": app, "team": f"team{i % 40}"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{app}-7d4b9c",
                                          "uid": f"uid-{app}", "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"nodeName": node, "restartPolicy": "Always", "schedulerName": "default-scheduler",
                 "containers": [{"name": "main", "image": "ghcr.io/acme/model-server:1.4.2",
                                 "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
                                 "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}}],
                 "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
        "status": {"phase": "Running", "podIP": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
                   "hostIP": "10.0.0.1", "qosClass": "Burstable", "startTime": "2026-11-01T00:00:00Z",
                   "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-01T00:00:10Z"}],
                   "containerStatuses": [{"name": "main", "ready": True, "started": True, "restartCount": i % 3,
                                          "image": "ghcr.io/acme/model-server:1.4.2", "imageID": "",
                                          "state": {"running": {"startedAt": "2026-11-01T00:00:05Z"}}}]},
    }


def list_all(api, limit: int, accept: str, ctx: ssl.SSLContext | None) -> tuple[int, int, float, int]:
    if ctx is not None:
        conn = http.client.HTTPSConnection(api.host, api.port, context=ctx, timeout=120)
    else:
        conn = http.client.HTTPConnection(api.host, api.port, timeout=120)
    t0 = time.perf_counter()
    items = pages = nbytes = 0
    cont = ""
    while True:
        path = f"/api/v1/pods?limit={limit}" + (f"&continue={cont}" if cont else "")
        conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}", "Accept": accept})
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200, body[:200]
        doc = orjson.loads(body)
        items += len(doc.get("items") or doc.get("rows") or [])
        nbytes += len(body)
        pages += 1
        cont = doc["metadata"].get("continue", "")
        if not cont:
            break
    conn.close()
    return items, pages, time.perf_counter() - t0, nbytes


class Remote:
    """The API server in a child process: `host`, `port`, `ca_file`, `url` like ApiServer's."""

    def __init__(self, pods: int, tls: bool, workdir: str):
        cmd = [sys.executable, __file__, "--serve", "--pods", str(pods)] + (["--tls"] if tls else [])
        self.proc = subprocess.Popen(cmd + ["--workdir", workdir], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()  # "ready URL CA RSS_MB FILL_S"
        if not line or line[0] != "ready":
            self.proc.kill()
            raise SystemExit("server did not start")
        self.url, ca, self.rss_mb, self.fill_s = line[1], line[2], float(line[3]), float(line[4])
        self.ca_file = None if ca == "-" else ca
        self.host, self.port = "127.0.0.1", int(self.url.rsplit(":", 1)[1])

    def rss_now(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def serve(args) -> int:
    t0 = time.perf_counter()
    store = ObjectStore()
    store.load("pods", (synthetic_pod(i) for i in range(args.pods)))
    fill = time.perf_counter() - t0
    api = ApiServer(store, tls=args.tls, tokens={TOKEN: "admin"}, workdir=args.workdir).start()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ready {api.url} {api.ca_file or '-'} {rss:.0f} {fill:.2f}", flush=True)
    try:
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
    finally:
        api.stop()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pods", type=int, default=150_000)
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--kubectl", action="store_true")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        return serve(args)

    with tempfile.TemporaryDirectory() as tmp:
        api = Remote(args.pods, args.tls or args.kubectl, tmp)
        print(f"fill store: {args.pods} pods in {api.fill_s:.2f} s; server RSS after fill {api.rss_mb:.0f} MB")
        ctx = ssl.create_default_context(cafile=api.ca_file) if api.ca_file else None
        try:
            for label, accept in (("JSON (first)", "application/json"), ("JSON (again)", "application/json"),
                                  ("Table", TABLE)):
                n, pages, dt, nbytes = list_all(api, args.limit, accept, ctx)
                print(f"list {label:18s} {'https' if ctx else 'http'}: {n} pods in {pages} pages of {args.limit}: "
                      f"{dt:.2f} s ({n / dt:,.0f} pods/s, {nbytes / 1e6:.0f} MB)")
            if args.kubectl:
                kc = write_kubeconfig(os.path.join(tmp, "kubeconfig"), api.url, api.ca_file, {"admin": TOKEN})
                t = time.perf_counter()
                p = subprocess.run(["kubectl", "--kubeconfig", kc, "get", "pods", "-A", "--no-headers"],
                                   capture_output=True, text=True, timeout=600)
                lines = p.stdout.count("\n")
                print(f"kubectl get pods -A: {lines} rows in {time.perf_counter() - t:.2f} s (rc {p.returncode})")
            print(f"server peak RSS: {api.rss_now():.0f} MB")
        finally:
            api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
