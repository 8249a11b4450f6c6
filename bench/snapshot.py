"""Time the headless snapshot at 5,000 nodes / 150,000 pods.

    .venv/bin/python bench/snapshot.py [--nodes 5000] [--pods 150000] [--sim]

Part 1 (always): the synthetic cluster of bench/analysis.py, in memory: analyze, build the
snapshot document, render JSON / Markdown / HTML, and a recording frame (encode + decode).
Part 2 (--sim): `kubewatch-ml snapshot -f json` end to end against the simulator over HTTP,
split into the data layer's one-shot load and everything after it. Budget: everything after the
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
    gc.collect()
    t = time.perf_counter()
    out = fn()
    results[label] = time.perf_counter() - t
    print(f"  {label:<32} {results[label]:7.3f} s", flush=True)
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


def sim_part(n_nodes: int, n_pods: int) -> dict:
    from kubewatch_ml.commands._headless import Progress, demo_settings
    from kubewatch_ml.export.json_export import build_document, render_json
    from kubewatch_ml.feed import build_frame
    from kubewatch_ml.sim.cluster import SimCluster
    from kubewatch_ml.sources.kube import connect
    from kubewatch_ml.sources.metrics import open_metrics
    from kubewatch_ml.store import load_snapshot

    r: dict = {}
    print(f"simulator over HTTP: {n_nodes:,} nodes, {n_pods:,} pods")
    with tempfile.TemporaryDirectory() as wd:
        t = time.perf_counter()
        with SimCluster(seed=7, nodes=n_nodes, pods=n_pods, speed=1.0, workdir=wd, start_clock=False) as sim:
            print(f"  (simulator up in {time.perf_counter() - t:.1f} s, not measured)")
            settings = demo_settings(sim)
            t0 = time.perf_counter()
            conn = timed("connect", lambda: connect(settings.kube), r)
            cluster = timed("load_snapshot (data layer)", lambda: load_snapshot(conn), r)
            src = open_metrics(settings.metrics, conn)
            metrics = timed("metrics fetch (direct scrape)", lambda: src.fetch(time.time()), r)
            frame = timed("analyze", lambda: build_frame(cluster, metrics, cluster.taken_at), r)
            doc = timed("build_document", lambda: build_document(frame.analysis, cluster, metrics), r)
            out = os.path.join(wd, "snap.json")
            timed("render + write json", lambda: pathlib.Path(out).write_bytes(render_json(doc)), r)
            r["total"] = time.perf_counter() - t0
            src.close()
            conn.close()
    r["after_load"] = r["total"] - r["connect"] - r["load_snapshot (data layer)"]
    print(f"  total {r['total']:.2f} s; after the load {r['after_load']:.2f} s (budget 1 s)")
    return r


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150_000)
    ap.add_argument("--sim", action="store_true", help="also run end to end against the simulator")
    args = ap.parse_args()
    synthetic_part(args.nodes, args.pods)
    if args.sim:
        sim_part(args.nodes, args.pods)
    return 0


if __name__ == "__main__":
    sys.exit(main())
