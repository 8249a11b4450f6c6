"""Direct-scrape metrics benchmark: ScrapeMetrics.fetch() at 5,000 nodes / 150,000 pods, the code
before and after side by side on one simulator, each run in a fresh subprocess.

    flock /tmp/kubewatch-bench.lock .venv/bin/python bench/metrics_scrape.py [--nodes 5000] [--pods 150000]
                                     [--before 2412475] [--rounds 2] [--timeout 120]

Starts `kubewatch-ml sim --nodes N --pods P` in its own process, then per round, in fresh subprocesses:
  floor:  plain concurrent GETs of the four exporter texts (KSM, dcgm, kubelet probes and cadvisor),
          bodies read and dropped, twice back to back like the two fetches: what the simulator needs
          to serve them, no parsing
  before: the product code of git revision --before (extracted with `git archive`), open_metrics()
          with --no-prometheus and the exporter URLs, fetch() twice
  after:  the same with this checkout's code
Each fetch: wall time, the process's CPU time, RSS after it; per run: RSS before the first fetch and
peak RSS (VmHWM). The order of before/after alternates by round. --timeout is the per-request
timeout (the product's default 10 s is shorter than the simulator needs to render 0.8 GB of text
while the four are asked at once). Not a test: prints a Markdown table for BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
SIM = ROOT / ".venv" / "bin" / "kubewatch-ml"

# Runs in a fresh interpreter with the code under test first on sys.path; prints one JSON line.
CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
def status():
    d = {l.split(':')[0]: l.split()[1] for l in open('/proc/self/status') if len(l.split()) > 1}
    return int(d['VmRSS']) / 1024, int(d['VmHWM']) / 1024
import kubewatch_ml
assert kubewatch_ml.__file__.startswith(sys.argv[1]), kubewatch_ml.__file__
from kubewatch_ml.settings import MetricsOptions
from kubewatch_ml.sources.metrics import open_metrics
urls = json.loads(sys.argv[2])
m = open_metrics(MetricsOptions(no_prometheus=True, kube_state_metrics_url=urls["kube-state-metrics"],
                                dcgm_url=urls["dcgm"], kubelet_urls=(urls["kubelet"],),
                                query_timeout=float(sys.argv[3])), None)
out = {"rss_start": status()[0], "fetches": []}
for i in range(2):
    t, c = time.perf_counter(), time.process_time()
    snap = m.fetch(time.time())
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    rss, hwm = status()
    bad = {a: st.reason[:80] for a, st in snap.areas.items() if not st.ok or st.stale}
    out["fetches"].append({"wall": wall, "cpu": cpu, "rss": rss, "hwm": hwm, "bad": bad,
                           "containers": len(snap.container_memory), "cpu_rows": len(snap.container_cpu),
                           "restarts": len(snap.restarts_1h), "gpus": len(snap.gpus), "hpas": len(snap.hpa_history),
                           "quotas": len(snap.quota_usage), "probe_failures": len(snap.probe_failures_5m)})
    del snap
m.close()
out["peak"] = status()[1]
print(json.dumps(out))
"""

FLOOR = r"""
import json, sys, time, threading, requests
urls = json.loads(sys.argv[1])
paths = {"kube-state-metrics": urls["kube-state-metrics"], "dcgm": urls["dcgm"],
         "probes": urls["kubelet"] + "/metrics/probes", "cadvisor": urls["kubelet"] + "/metrics/cadvisor"}
runs = []
for _ in range(2):  # back to back, like the two fetches
    sizes, done = {}, {}
    t0 = time.perf_counter()
    def get(name, url):
        r = requests.get(url, stream=True, timeout=float(sys.argv[2]))
        sizes[name] = sum(len(c) for c in r.iter_content(1 << 20))
        done[name] = time.perf_counter() - t0
    ts = [threading.Thread(target=get, args=kv) for kv in paths.items()]
    [t.start() for t in ts]
    [t.join() for t in ts]
    runs.append({"wall": time.perf_counter() - t0, "sizes": sizes, "done": done})
print(json.dumps({"wall": runs[0]["wall"], "wall2": runs[1]["wall"], "sizes": runs[1]["sizes"],
                  "done": runs[0]["done"], "done2": runs[1]["done"]}))
"""


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sim_output import read_exporter_urls  # noqa: E402


def start_sim(nodes: int, pods: int, tmp: str) -> tuple[subprocess.Popen, dict[str, str]]:
    proc = subprocess.Popen([str(SIM), "sim", "--nodes", str(nodes), "--pods", str(pods),
                             "--kubeconfig-out", os.path.join(tmp, "kc")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    urls = read_exporter_urls(proc.stdout) or {}
    if set(urls) != {"kube-state-metrics", "dcgm", "kubelet"}:
        proc.kill()
        sys.exit(f"metrics_scrape: the simulator did not print its exporter URLs (got {sorted(urls)})")
    return proc, urls


def extract(rev: str, into: str) -> str:
    """The product package at `rev`, as files (no worktree left behind)."""
    archive = os.path.join(into, "before.tar")
    r = subprocess.run(["git", "-C", str(ROOT), "archive", "-o", archive, rev, "kubewatch_ml"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"metrics_scrape: cannot extract revision {rev!r}: {r.stderr.strip().splitlines()[-1:]}")
    root = os.path.join(into, "before")
    with tarfile.open(archive) as t:
        t.extractall(root, filter="data")
    return root


def run(script: str, *args: str) -> dict:
    r = subprocess.run([str(PY), "-c", script, *args], capture_output=True, text=True, cwd="/")
    if r.returncode != 0:
        sys.exit(f"metrics_scrape: a run failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def machine() -> str:
    model = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    mem = next((int(ln.split()[1]) // 1024 for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), 0)
    return f"{os.cpu_count()} cores ({model}), {mem / 1024:.0f} GiB, Linux {platform.release()}, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150000)
    ap.add_argument("--before", default="2412475", help="git revision of the code before (default: before the streaming parser)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0, help="per-request timeout, seconds")
    a = ap.parse_args()
    if a.rounds < 1 or a.nodes < 1 or a.pods < 1:
        sys.exit("metrics_scrape: --rounds, --nodes and --pods must be positive")
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="kw-metrics-bench-") as tmp:
        before_root = extract(a.before, tmp)
        t = time.perf_counter()
        proc, urls = start_sim(a.nodes, a.pods, tmp)
        print(f"sim up in {time.perf_counter() - t:.0f} s: {urls}", file=sys.stderr)
        results: dict[str, list[dict]] = {"floor": [], "before": [], "after": []}
        try:
            run(FLOOR, json.dumps(urls), str(a.timeout))  # the first KSM text of a big cluster renders slowly
            for i in range(a.rounds):
                order = ("before", "after") if i % 2 == 0 else ("after", "before")
                results["floor"].append(run(FLOOR, json.dumps(urls), str(a.timeout)))
                for which in order:
                    res = run(CHILD, before_root if which == "before" else str(ROOT), json.dumps(urls), str(a.timeout))
                    results[which].append(res)
                    f1, f2 = res["fetches"]
                    print(f"round {i + 1} {which}: fetch 1 {f1['wall']:.1f} s, fetch 2 {f2['wall']:.1f} s, "
                          f"peak {res['peak']:.0f} MiB, {f1['bad'] or f2['bad'] or 'all areas ok'}", file=sys.stderr)
        finally:
            proc.terminate()
            proc.wait(30)
    load1 = os.getloadavg()
    report(a, results, started, load0, load1)


def report(a, results: dict[str, list[dict]], started: str, load0, load1) -> None:
    def med(which: str, f) -> float:
        return statistics.median(f(r) for r in results[which])

    fl = results["floor"]
    print(f"Machine: {machine()}")
    print(f"Command: `flock /tmp/kubewatch-bench.lock .venv/bin/python bench/metrics_scrape.py --nodes {a.nodes} "
          f"--pods {a.pods} --before {a.before} --rounds {a.rounds} --timeout {a.timeout:g}`")
    print(f"Started {started}; load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
          f"after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    sizes = fl[-1]["sizes"]
    print("Exporter texts (last floor run): " + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in sizes.items()))
    print()
    print("| run | round | fetch 1 wall | fetch 1 CPU | fetch 2 wall | fetch 2 CPU | RSS before | RSS after 1 | RSS after 2 | peak RSS | growth (peak - before) | areas |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for i, f in enumerate(fl):
        print(f"| floor (plain GETs) | {i + 1} | {f['wall']:.1f} s | | {f['wall2']:.1f} s | | | | | | | |")
    for which in ("before", "after"):
        for i, r in enumerate(results[which]):
            f1, f2 = r["fetches"]
            bad = f1["bad"] or f2["bad"]
            print(f"| {which} | {i + 1} | {f1['wall']:.1f} s | {f1['cpu']:.1f} s | {f2['wall']:.1f} s | {f2['cpu']:.1f} s | "
                  f"{r['rss_start']:.0f} MiB | {f1['rss']:.0f} MiB | {f2['rss']:.0f} MiB | {r['peak']:.0f} MiB | "
                  f"{r['peak'] - r['rss_start']:.0f} MiB | {'ok' if not bad else bad} |")
    print()
    for key, name in ((0, "fetch 1"), (1, "fetch 2")):
        bw, aw = med("before", lambda r: r["fetches"][key]["wall"]), med("after", lambda r: r["fetches"][key]["wall"])
        bc, ac = med("before", lambda r: r["fetches"][key]["cpu"]), med("after", lambda r: r["fetches"][key]["cpu"])
        print(f"- {name}: wall {bw:.1f} -> {aw:.1f} s ({bw / aw:.1f}x), CPU {bc:.1f} -> {ac:.1f} s ({bc / ac:.1f}x) (medians)")
    bg = med("before", lambda r: r["peak"] - r["rss_start"])
    ag = med("after", lambda r: r["peak"] - r["rss_start"])
    print(f"- RSS growth over the two fetches (peak - before): {bg:.0f} -> {ag:.0f} MiB ({bg / ag:.1f}x smaller)")
    print(f"- floor (the simulator serving the four texts at once, twice back to back): median "
          f"{statistics.median(f['wall'] for f in fl):.1f} s, then {statistics.median(f['wall2'] for f in fl):.1f} s; "
          "each text done at (s, last floor run): " + ", ".join(f"{k} {v:.1f}/{fl[-1]['done2'][k]:.1f}" for k, v in fl[-1]["done"].items()))
    same = [(r["fetches"][1]["containers"], r["fetches"][1]["restarts"], r["fetches"][1]["gpus"], r["fetches"][1]["hpas"],
             r["fetches"][1]["quotas"]) for w in ("before", "after") for r in results[w]]
    print(f"- second-fetch sizes (containers, restarts, GPUs, HPAs, quotas) per run: {same}")


if __name__ == "__main__":
    main()
