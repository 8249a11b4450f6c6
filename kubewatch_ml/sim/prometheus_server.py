"""A real Prometheus (the Debian binary) on loopback, scraping the simulator's exporters, with the
kubernetes-mixin recording rules the views use (../shared/reference/metrics.md §4).

    prom = PrometheusServer({"kube-state-metrics": url, "dcgm": url, "kubelet": base}, workdir, scrape_interval=5)
    prom.start(); prom.url; prom.stop()
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

# The mixin's rules as of kubernetes-mixin@aa38e2b (rules/apps.libsonnet), the ones queries/ reads.
MIXIN_RULES = """\
groups:
- name: k8s.rules.container_cpu_usage_seconds_total
  rules:
  - record: node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m
    expr: |
      sum by (cluster, namespace, pod, container) (
        rate(container_cpu_usage_seconds_total{job="cadvisor", image!=""}[5m])
      ) * on (cluster, namespace, pod) group_left(node) topk by (cluster, namespace, pod) (
        1, max by(cluster, namespace, pod, node) (kube_pod_info{node!=""})
      )
- name: k8s.rules.container_memory_working_set_bytes
  rules:
  - record: node_namespace_pod_container:container_memory_working_set_bytes
    expr: |
      container_memory_working_set_bytes{job="cadvisor", image!=""}
      * on (cluster, namespace, pod) group_left(node) topk by(cluster, namespace, pod) (1,
        max by(cluster, namespace, pod, node) (kube_pod_info{node!=""})
      )
- name: k8s.rules.container_resource
  rules:
  - record: namespace_cpu:kube_pod_container_resource_requests:sum
    expr: |
      sum by (namespace, cluster) (
          sum by (namespace, pod, cluster) (
              max by (namespace, pod, container, cluster) (
                kube_pod_container_resource_requests{resource="cpu",job="kube-state-metrics"}
              ) * on(namespace, pod, cluster)
                group_left() max by (namespace, pod, cluster) (
                  kube_pod_status_phase{phase=~"Pending|Running"} == 1
                )
          )
      )
  - record: namespace_memory:kube_pod_container_resource_requests:sum
    expr: |
      sum by (namespace, cluster) (
          sum by (namespace, pod, cluster) (
              max by (namespace, pod, container, cluster) (
                kube_pod_container_resource_requests{resource="memory",job="kube-state-metrics"}
              ) * on(namespace, pod, cluster)
                group_left() max by (namespace, pod, cluster) (
                  kube_pod_status_phase{phase=~"Pending|Running"} == 1
                )
          )
      )
"""

# target key (as ExporterServer.urls names them) -> [(job, metrics_path)]
JOBS = {
    "kube-state-metrics": [("kube-state-metrics", None)],
    "dcgm": [("dcgm-exporter", None)],
    "dcgm-exporter": [("dcgm-exporter", None)],
    "kubelet": [("kubelet", "/metrics/probes"), ("cadvisor", "/metrics/cadvisor")],
}


def find_prometheus_binary() -> str | None:
    for cand in (os.environ.get("PROMETHEUS_BIN"), shutil.which("prometheus"), "/usr/bin/prometheus"):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def scrape_configs(targets: dict[str, str]) -> list[dict]:
    out = []
    for key, url in targets.items():
        u = urllib.parse.urlsplit(url)
        for job, path in JOBS.get(key, [(key, None)]):
            out.append({"job_name": job, "metrics_path": path or u.path or "/metrics", "scheme": u.scheme or "http",
                        "honor_labels": True, "static_configs": [{"targets": [u.netloc]}]})
    return out


def write_config(targets: dict[str, str], workdir: Path, scrape_interval: float, with_rules: bool = True) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    interval = f"{max(1, int(round(scrape_interval)))}s"
    cfg: dict = {"global": {"scrape_interval": interval, "evaluation_interval": interval,
                            "scrape_timeout": interval},
                 "scrape_configs": scrape_configs(targets)}
    if with_rules:
        rules = workdir / "kubernetes-mixin-rules.yml"
        rules.write_text(MIXIN_RULES)
        cfg["rule_files"] = [str(rules)]
    path = workdir / "prometheus.yml"
    path.write_text(json.dumps(cfg, indent=2))  # JSON is YAML
    return path


class PrometheusServer:
    def __init__(self, targets: dict[str, str], workdir: str | os.PathLike | None = None, scrape_interval: float = 5,
                 host: str = "127.0.0.1", binary: str | None = None, with_rules: bool = True, port: int = 0,
                 backfill_seconds: float = 0.0, backfill_step: float = 60.0,
                 advance: Callable[[float], None] | None = None):
        self.targets = dict(targets)
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="kubewatch-prom-"))
        self.scrape_interval = scrape_interval
        self.host = host
        self.binary = binary or find_prometheus_binary()
        self.with_rules = with_rules
        self.port = port  # 0: a free one is chosen at start; a restart keeps the one it got
        self._fixed_port = port
        self.proc: subprocess.Popen | None = None
        # demo: seed this much history so 30-minute views work at once; `advance(seconds)` moves the
        # targets on (the simulator's clock) between the backfill's scrapes, else their state is repeated
        self.backfill_seconds = backfill_seconds
        self.backfill_step = backfill_step
        self.advance = advance
        self.backfill_note = ""  # what the backfill did, or why it did not

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> "PrometheusServer":
        if not self.binary:
            raise RuntimeError("prometheus binary not found (apt-get install prometheus)")
        cfg = write_config(self.targets, self.workdir, self.scrape_interval, self.with_rules)
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        if self.backfill_seconds > 0 and self.proc is None and not any(data.iterdir()):
            self.backfill_note = self._backfill(data)
        last = ""
        for _attempt in range(3):  # the chosen port may be taken between bind and exec
            self.port = self._fixed_port or _free_port(self.host)
            log = open(self.workdir / "prometheus.log", "wb")
            self.proc = subprocess.Popen(
                [self.binary, f"--config.file={cfg}", f"--storage.tsdb.path={data}",
                 f"--web.listen-address={self.host}:{self.port}", "--storage.tsdb.retention.time=1d",
                 "--log.level=warn", "--web.enable-lifecycle"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            log.close()
            if self._wait_ready(timeout):
                self._fixed_port = self.port
                return self
            last = (self.workdir / "prometheus.log").read_text(errors="replace")[-500:]
            self.stop(remove=False)
        raise RuntimeError(f"prometheus did not become ready: {last.strip()}")

    def _backfill(self, data: Path) -> str:
        """Write the last `backfill_seconds` of history as TSDB blocks (promtool tsdb create-blocks-from
        openmetrics), one scrape of every target each `backfill_step` seconds, stamped so the last one
        is just before now. With `advance` (the simulator's clock), the targets are moved on by a step
        between scrapes, so the history is what they really exported over the window; without it the
        targets' current state is repeated (flat: "how things were when it started"). The series carry
        the job/instance labels the live scrapes will, so history and live data join."""
        promtool = shutil.which("promtool") or str(Path(self.binary or "").with_name("promtool"))
        if not os.access(promtool, os.X_OK):
            return "no backfill: promtool not found"
        steps = int(self.backfill_seconds // self.backfill_step)
        end = time.time() - max(1.0, self.scrape_interval)
        om = self.workdir / "backfill.om"
        n = 0
        try:
            with open(om, "w") as out:
                rows: list[str] = []
                for i in range(steps, -1, -1):
                    if self.advance is not None and i < steps:
                        self.advance(self.backfill_step)
                    if self.advance is not None or not rows:
                        rows = self._scrape_rows()
                    ts = f" {end - i * self.backfill_step:.3f}\n"
                    if rows:
                        out.write(ts.join(rows) + ts)
                    n += len(rows)
                out.write("# EOF\n")
            r = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(om), str(data)],
                               capture_output=True, text=True, timeout=600)
        except OSError as e:  # a target that does not answer: the live scrapes still work
            return f"no backfill: {e}"
        finally:
            om.unlink(missing_ok=True)
        if r.returncode != 0:
            return f"no backfill: promtool: {(r.stderr or r.stdout).strip()[-200:]}"
        how = "simulated" if self.advance is not None else "repeated from the start"
        return f"backfilled {n:,} samples over {self.backfill_seconds:g}s ({how})"

    def _scrape_rows(self) -> list[str]:
        """Every sample of every target as an OpenMetrics line without its timestamp, with the target's
        job and instance labels. The exposition lines are kept as they are (the text format escapes
        label values as OpenMetrics does; the simulator's exporters stamp no times): parsing them was
        nine tenths of a 30-minute backfill."""
        rows: list[str] = []
        for key, url in self.targets.items():
            u = urllib.parse.urlsplit(url)
            for job, path in JOBS.get(key, [(key, None)]):
                target = f"{u.scheme}://{u.netloc}{path or u.path or '/metrics'}"
                try:
                    with urllib.request.urlopen(target, timeout=30) as r:
                        text = r.read().decode("utf-8")
                except Exception as e:
                    raise OSError(f"{target}: {e}") from None
                extra = f'instance="{u.netloc}",job="{job}"'
                for line in text.splitlines():
                    if not line or line[0] == "#":
                        continue
                    brace, space = line.find("{"), line.find(" ")
                    if brace == -1 or space < brace:  # name value
                        rows.append(f"{line[:space]}{{{extra}}}{line[space:]}")
                    else:
                        sep = "" if line[brace + 1] == "}" else ","
                        rows.append(f"{line[:brace + 1]}{extra}{sep}{line[brace + 1:]}")
        return rows

    def _wait_ready(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def query(self, promql: str) -> list[dict]:
        """An instant query, for tests and readiness checks (the product uses sources/prometheus.py)."""
        q = urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{q}", timeout=10) as r:
            return json.loads(r.read())["data"]["result"]

    def wait_for_targets(self, timeout: float = 30.0) -> bool:
        """True once every job's `up` is 1."""
        jobs = {job for key in self.targets for job, _ in JOBS.get(key, [(key, None)])}
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                up = {r["metric"].get("job"): r["value"][1] for r in self.query("up")}
                if jobs <= set(up) and all(up[j] == "1" for j in jobs):
                    return True
            except OSError:
                pass
            time.sleep(0.25)
        return False

    def stop(self, remove: bool = True) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
            self.proc = None
        if remove and self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "PrometheusServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
