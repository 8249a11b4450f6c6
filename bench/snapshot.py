"""Time the headless snapshot at 5,000 nodes / 150,000 pods.

    .venv/bin/python bench/snapshot.py [--nodes 5000] [--pods 150000] [--sim]

Part 1 (always): the synthetic cluster of bench/analysis.py, in memory: analyze, build the
snapshot document, render JSON / Markdown / HTML, and a recording frame (encode + decode).
Part 2 (--sim [--metrics none|direct]): `kubewatch-ml snapshot -f json` end to end against
`kubewatch-ml sim` (own process) over HTTPS, split into the data layer's one-shot load and
everything after it; then the CLI itself in a new process. Budget: everything after the
load (metrics, analysis, rendering, writing) within 1 s (BENCHMARKS.md).
"""
from __future__ import annotations

import argparse
import gc
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


def timed(label: str, fn, results: dict):
    """Wall and CPU time of fn(); on a shared machine CPU time is the fairer figure."""
    gc.collect()
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    results[label] = time.perf_counter() - t
    results[label + " cpu"] = time.process_time() - c
    print(f"  {label:<32} {results[label]:7.3f} s wall {results[label + ' cpu']:7.3f} s cpu", flush=True)
    return out


def synthetic_part(n_nodes: int, n_pods: int) -> dict:
    from analysis import synthetic  # bench/analysis.py

    from kubewatch_ml.analysis import analyze
    from kubewatch_ml.export.html import render_html
    from kubewatch_ml.export.json_export import build_document, render_json
    from kubewatch_ml.export.markdown import render_markdown
    from kubewatch_ml.recording import decode_cluster, decode_metrics, encode_cluster, encode_metrics

    r: dict = {}
    print(f"synthetic cluster: {n_nodes:,} nodes, {n_pods:,} pods (in memory)")
    cluster, metrics = synthetic(n_nodes, n_pods)
    a = timed("analyze", lambda: analyze(cluster, metrics, cluster.taken_at), r)
    doc = timed("build_document", lambda: build_document(a, cluster, metrics), r)
    js = timed("render_json", lambda: render_json(doc), r)
    md = timed("render_markdown (200 rows/table)", lambda: render_markdown(doc, 200), r)
    ht = timed("render_html (200 rows/table)", lambda: render_html(doc, 200), r)
    cb = timed("recording: encode cluster", lambda: encode_cluster(cluster), r)
    mb = timed("recording: encode metrics", lambda: encode_metrics(metrics), r)
    timed("recording: decode cluster", lambda: decode_cluster(cb), r)
    timed("recording: decode metrics", lambda: decode_metrics(mb), r)
    print(f"  sizes: json {len(js) / 1e6:.1f} MB, markdown {len(md) / 1e3:.0f} kB, html {len(ht) / 1e3:.0f} kB, "
          f"recording frame {(len(cb) + len(mb)) / 1e6:.1f} MB compressed")
    r["after_analysis"] = r["build_document"] + r["render_json"]
    return r


def start_sim(n_nodes: int, n_pods: int, workdir: str):
    """`kubewatch-ml sim` in its own process (its server threads must not share our GIL)."""
    import subprocess

    kc = os.path.join(workdir, "kubeconfig")
    proc = subprocess.Popen([sys.executable, "-m", "kubewatch_ml", "sim", "--nodes", str(n_nodes), "--pods", str(n_pods),
                             "--kubeconfig-out", kc], stdout=subprocess.PIPE, text=True)
    urls = {}
    for line in proc.stdout:
        print("  sim| " + line.rstrip())
        name, _, rest = line.partition(":")
        if name in ("kube-state-metrics", "dcgm", "kubelet"):
            urls[name] = rest.strip()
        if line.startswith("kubeconfig:"):
            break
    if proc.poll() is not None:
        raise SystemExit("the simulator did not start")
    return proc, kc, urls


def sim_part(n_nodes: int, n_pods: int, metrics_mode: str = "none", kubeconfig: str | None = None) -> dict:
    import subprocess

    from kubewatch_ml.export.json_export import build_document, render_json
    from kubewatch_ml.feed import build_frame
    from kubewatch_ml.settings import KubeOptions, MetricsOptions
    from kubewatch_ml.sources.kube import connect
    from kubewatch_ml.sources.metrics import open_metrics
    from kubewatch_ml.store import load_snapshot

    r: dict = {}
    print(f"simulator over HTTPS: {n_nodes:,} nodes, {n_pods:,} pods")
    with tempfile.TemporaryDirectory() as wd:
        proc, kc, urls = start_sim(n_nodes, n_pods, wd) if kubeconfig is None else (None, kubeconfig, {})
        try:
            kube = KubeOptions(kubeconfig=kc, readonly=True)
            mopts = MetricsOptions(no_prometheus=True, kube_state_metrics_url=urls.get("kube-state-metrics"),
                                   dcgm_url=urls.get("dcgm"), kubelet_urls=(urls["kubelet"],) if urls.get("kubelet") else ())
            t0 = time.perf_counter()
            conn = timed("connect", lambda: connect(kube), r)
            cluster = timed("load_snapshot (data layer)", lambda: load_snapshot(conn), r)
            if metrics_mode == "direct":
                src = open_metrics(mopts, conn)
            else:  # direct KSM scraping does not scale to 150k pods (a ~490 MB exposition); see BENCHMARKS.md
                from kubewatch_ml.sources.metrics import NoMetrics

                src = NoMetrics("bench --metrics none")
            metrics = timed(f"metrics fetch ({metrics_mode})", lambda: src.fetch(time.time()), r)
            frame = timed("analyze", lambda: build_frame(cluster, metrics, cluster.taken_at), r)
            doc = timed("build_document", lambda: build_document(frame.analysis, cluster, metrics), r)
            out = os.path.join(wd, "snap.json")
            timed("render + write json", lambda: pathlib.Path(out).write_bytes(render_json(doc)), r)
            r["total"] = time.perf_counter() - t0
            r["after_load"] = r["total"] - r["connect"] - r["load_snapshot (data layer)"]
            after_cpu = sum(r[k + " cpu"] for k in (f"metrics fetch ({metrics_mode})", "analyze", "build_document",
                                                   "render + write json"))
            print(f"  in-process total {r['total']:.2f} s; after the load {r['after_load']:.2f} s wall, "
                  f"{after_cpu:.2f} s cpu (budget 1 s)")
            src.close()
            conn.close()
            args = [sys.executable, "-m", "kubewatch_ml", "snapshot", "-q", "--kubeconfig", kc, "--no-prometheus",
                    "-o", out]
            for flag, key in (("--kube-state-metrics-url", "kube-state-metrics"), ("--dcgm-url", "dcgm"),
                              ("--kubelet-url", "kubelet")):
                if urls.get(key) and metrics_mode == "direct":
                    args += [flag, urls[key]]
            if metrics_mode == "none":
                args.append("--no-metrics")
            t = time.perf_counter()
            subprocess.run(args, check=True)
            r["cli_wall"] = time.perf_counter() - t
            print(f"  `kubewatch-ml snapshot -f json` wall (new process): {r['cli_wall']:.2f} s, "
                  f"{os.path.getsize(out) / 1e6:.1f} MB")
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=60)
    return r


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150_000)
    ap.add_argument("--sim", action="store_true", help="also run end to end against the simulator")
    ap.add_argument("--metrics", choices=("none", "direct"), default="none",
                    help="with --sim: no metrics source, or the exporters scraped directly (small clusters only)")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--kubeconfig", help="with --sim: use this already running `kubewatch-ml sim` (--metrics none)")
    args = ap.parse_args()
    if not args.skip_synthetic:
        synthetic_part(args.nodes, args.pods)
    if args.sim:
        sim_part(args.nodes, args.pods, args.metrics, args.kubeconfig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
