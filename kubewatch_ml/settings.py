"""Typed settings: connection options shared by every command, and the config file.

Connection flags mirror kubectl's; metrics flags choose Prometheus or direct exporter scraping.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class KubeOptions:
    kubeconfig: str | None = None  # --kubeconfig, else $KUBECONFIG, else ~/.kube/config, else in-cluster
    context: str | None = None
    namespace: str | None = None  # restricts the namespaced kinds
    insecure_skip_tls_verify: bool = False
    request_timeout: float = 30.0
    readonly: bool = False


@dataclass(frozen=True)
class MetricsOptions:
    prometheus_url: str | None = None
    prometheus_token: str | None = None
    prometheus_basic_auth: str | None = None  # "user:password"
    prometheus_ca_file: str | None = None
    prometheus_headers: tuple[str, ...] = ()  # "Name: value"
    no_prometheus: bool = False
    kube_state_metrics_url: str | None = None
    dcgm_url: str | None = None
    kubelet_urls: tuple[str, ...] = ()  # direct scrape of kubelet /metrics/probes and /metrics/cadvisor
    query_timeout: float = 10.0
    # read timeout for exporters scraped directly: kube-state-metrics renders ~500 MB at 150,000 pods
    scrape_timeout: float = 60.0
    # label matchers added to every PromQL selector, e.g. 'cluster="prod-eu"' (Thanos/Mimir with many clusters)
    prometheus_selector: str | None = None


@dataclass(frozen=True)
class Settings:
    kube: KubeOptions = field(default_factory=KubeOptions)
    metrics: MetricsOptions = field(default_factory=MetricsOptions)
    refresh_seconds: float = 2.0


def state_dir() -> Path:
    """XDG state directory (audit log, recordings)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "kubewatch-ml"


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "kubewatch-ml" / "config.toml"


def add_connection_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cluster connection (as kubectl)")
    g.add_argument("--kubeconfig", help="path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    g.add_argument("--context", help="the kubeconfig context to use")
    g.add_argument("-n", "--namespace", help="only this namespace for namespaced kinds")
    g.add_argument("--insecure-skip-tls-verify", action="store_true",
                   help="do not verify the API server's certificate (shown in the status line)")
    g.add_argument("--request-timeout", type=float, default=30.0, metavar="SECONDS")
    g.add_argument("--readonly", action="store_true", help="no write request leaves the process")


def add_metrics_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("metrics")
    g.add_argument("--prometheus-url", help="Prometheus-compatible API (Prometheus, Thanos, Mimir, VictoriaMetrics)")
    g.add_argument("--prometheus-token", help="bearer token for Prometheus (or $KUBEWATCH_PROMETHEUS_TOKEN)")
    g.add_argument("--prometheus-basic-auth", metavar="USER:PASSWORD")
    g.add_argument("--prometheus-ca-file")
    g.add_argument("--prometheus-header", action="append", default=[], metavar="'NAME: VALUE'")
    g.add_argument("--no-prometheus", action="store_true",
                   help="do not use Prometheus; scrape exporters directly")
    g.add_argument("--kube-state-metrics-url")
    g.add_argument("--dcgm-url")
    g.add_argument("--kubelet-url", action="append", default=[],
                   help="kubelet base URL to scrape /metrics/probes and /metrics/cadvisor (repeatable)")
    g.add_argument("--query-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="timeout of one Prometheus query (default 10)")
    g.add_argument("--scrape-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="read timeout of an exporter scraped directly (default 60: a big cluster's "
                        "kube-state-metrics takes a while to answer)")
    g.add_argument("--prometheus-selector", metavar="MATCHERS",
                   help="label matchers added to every query, e.g. 'cluster=\"prod-eu\"' (one Thanos/Mimir, many clusters)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    kube = KubeOptions(
        kubeconfig=getattr(args, "kubeconfig", None),
        context=getattr(args, "context", None),
        namespace=getattr(args, "namespace", None),
        insecure_skip_tls_verify=bool(getattr(args, "insecure_skip_tls_verify", False)),
        request_timeout=float(getattr(args, "request_timeout", 30.0) or 30.0),
        readonly=bool(getattr(args, "readonly", False)),
    )
    metrics = MetricsOptions(
        prometheus_url=getattr(args, "prometheus_url", None),
        prometheus_token=getattr(args, "prometheus_token", None) or os.environ.get("KUBEWATCH_PROMETHEUS_TOKEN"),
        prometheus_basic_auth=getattr(args, "prometheus_basic_auth", None),
        prometheus_ca_file=getattr(args, "prometheus_ca_file", None),
        prometheus_headers=tuple(getattr(args, "prometheus_header", ()) or ()),
        no_prometheus=bool(getattr(args, "no_prometheus", False)),
        kube_state_metrics_url=getattr(args, "kube_state_metrics_url", None),
        dcgm_url=getattr(args, "dcgm_url", None),
        kubelet_urls=tuple(getattr(args, "kubelet_url", ()) or ()),
        query_timeout=float(getattr(args, "query_timeout", 10.0)),
        scrape_timeout=float(getattr(args, "scrape_timeout", 60.0)),
        prometheus_selector=getattr(args, "prometheus_selector", None),
    )
    return Settings(kube=kube, metrics=metrics)
