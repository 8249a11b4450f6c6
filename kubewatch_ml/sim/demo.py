"""`kubewatch-ml demo`: a simulated ML cluster on loopback (with a real Prometheus scraping it when
the binary is installed, else the exporters scraped directly) and the dashboard on it, over HTTP
through the simulator's kubeconfig like any cluster. Everything stops when the dashboard exits."""
from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace

from ..errors import UserError
from ..settings import KubeOptions, MetricsOptions, Settings
from ..commands.tui import add_ui_args, load_ui_config, run_app
from .backfill import parse_backfill, sim_start, start_prometheus


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("simulated cluster")
    g.add_argument("--seed", type=int, default=7, help="scenario seed (same seed, same cluster)")
    g.add_argument("--nodes", type=int, default=40)
    g.add_argument("--pods", type=int, default=600)
    g.add_argument("--speed", type=float, default=10.0, help="simulated seconds per real second (default 10, so things move)")
    g.add_argument("--no-prometheus", action="store_true", help="scrape the exporters directly even if Prometheus is installed")
    g.add_argument("--backfill", metavar="DURATION", default="30m",
                   help="with Prometheus: simulate this much of the cluster's past into its history at start, so the "
                        "30-minute views (idle held GPUs) have data at once (default 30m; 0 for none)")
    g.add_argument("--readonly", action="store_true", help="no write request leaves the process")
    g.add_argument("--faults", metavar="SPEC", default="",
                   help="start with faults injected (as `sim --faults`, plus prometheus-down|slow=S|error[=CODE] "
                        "when Prometheus runs), e.g. api-500=pods,exporter-malformed=dcgm; see docs/FAULTS.md")
    add_ui_args(p)


def _check(args: argparse.Namespace) -> None:
    if args.nodes < 1 or args.pods < 0:
        raise UserError("--nodes must be at least 1 and --pods at least 0")
    if args.speed <= 0:
        raise UserError("--speed must be positive")
    parse_backfill(args.backfill)
    if getattr(args, "faults", ""):
        from .faults import FaultSpecError, parse_spec
        try:
            parse_spec(args.faults)
        except FaultSpecError as e:
            raise UserError(f"--faults: {e}") from None


def run(args: argparse.Namespace) -> int:
    from ..feed import open_feed
    from .cluster import SimCluster
    from .prometheus_server import find_prometheus_binary

    _check(args)
    config = load_ui_config(args)
    say = lambda msg: print(f"kubewatch-ml demo: {msg}", file=sys.stderr, flush=True)  # noqa: E731
    say(f"starting a simulated ML cluster ({args.nodes} nodes, ~{args.pods} pods, seed {args.seed}, "
        f"{args.speed:g}x speed) on 127.0.0.1…")
    binary = None if args.no_prometheus else find_prometheus_binary()
    backfill = parse_backfill(args.backfill) if binary else 0.0
    with tempfile.TemporaryDirectory(prefix="kubewatch-demo-") as workdir:
        with SimCluster(seed=args.seed, nodes=args.nodes, pods=args.pods, speed=args.speed, workdir=workdir,
                        start=sim_start(args.speed, backfill), start_clock=binary is None) as sim:
            urls = dict(sim.exporter_urls)
            prom = None
            why = "prometheus: --no-prometheus" if args.no_prometheus else "prometheus not installed"
            if binary:
                say(f"starting Prometheus ({binary}) to scrape it…")
                try:
                    prom = start_prometheus(sim, f"{workdir}/prometheus", backfill, 5, binary, say)
                except Exception as e:  # the demo still works on direct scraping; say why
                    why = f"prometheus failed to start ({type(e).__name__})"
                    prom = None
            proxy = None
            try:
                prom_url = prom.url if prom else None
                spec = getattr(args, "faults", "")
                if spec:  # faults on from the start; Prometheus behind the fault proxy so its faults work too
                    from .faults import FaultSpecError, PrometheusFaultProxy
                    if prom is not None:
                        proxy = PrometheusFaultProxy(prom.url).start()
                        sim.faults.prometheus = proxy
                        prom_url = proxy.url
                    try:
                        sim.faults.apply(spec)
                    except FaultSpecError as e:
                        raise UserError(f"--faults: {e}") from None
                kubelet = urls.get("kubelet")
                metrics = MetricsOptions(
                    prometheus_url=prom_url, no_prometheus=prom is None,
                    kube_state_metrics_url=urls.get("kube-state-metrics"), dcgm_url=urls.get("dcgm"),
                    kubelet_urls=(kubelet,) if kubelet else ())
                settings = Settings(kube=KubeOptions(kubeconfig=str(sim.kubeconfig_path), readonly=args.readonly),
                                    metrics=metrics)
                settings = replace(settings, refresh_seconds=max(0.5, float(args.refresh or 2.0)))
                feed = open_feed(settings, readonly_contexts=config.readonly_for, in_process=bool(getattr(args, "record", None)))
                from ..replay_feed import record_if_asked  # --record FILE (headless issue 8)

                feed = record_if_asked(feed, args)
                extra = (f"demo seed {args.seed} ×{args.speed:g}: "
                         + ("real Prometheus" if prom else f"direct scrape ({why})")
                         + (f"; faults {','.join(sim.faults.active)}" if spec and sim.faults.active else ""))
                return run_app(feed, settings, config, status_extra=extra)
            finally:
                if proxy is not None:
                    proxy.stop()
                if prom is not None:
                    prom.stop()
