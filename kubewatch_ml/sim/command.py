"""`kubewatch-ml sim`: run the simulated ML cluster in the foreground (Kubernetes API + exporters on
loopback) until Ctrl-C or SIGTERM. Writes a kubeconfig with an admin and a viewer context — into a
temporary directory unless --kubeconfig-out says where; it never touches ~/.kube/config."""
from __future__ import annotations

import argparse
import gc
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

from ..errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="API server port (default 0: a free port)")
    parser.add_argument("--seed", type=int, default=7, help="scenario seed: same seed, same cluster (default 7)")
    parser.add_argument("--nodes", type=int, default=40, help="number of nodes (default 40)")
    parser.add_argument("--pods", type=int, default=600, help="about how many pods (default 600, at most 110 per node)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated time runs N times faster (default 1)")
    parser.add_argument("--tls", action=argparse.BooleanOptionalAction, default=True,
                        help="serve the API over HTTPS with a throw-away CA (default; kubectl sends tokens only over TLS)")
    parser.add_argument("--faults", metavar="SPEC", default="",
                        help="inject faults from the start, e.g. api-500=pods,exporter-malformed=dcgm "
                             "(api-restart[=S], api-gone, api-drop-watches, api-slow=S, api-slow-writes=S, api-500|503|504|429[=RES+RES], "
                             "api-forbid=RES+RES, exporter-malformed|down|500[=E+E], exporter-slow=S); "
                             "switch at run time with PUT /_sim/faults?spec=SPEC, clear with DELETE (admin token)")
    parser.add_argument("--prometheus", action="store_true",
                        help="also run a real Prometheus (the installed binary) scraping the exporters, "
                             "for --prometheus-url; with --backfill of simulated history")
    parser.add_argument("--backfill", metavar="DURATION", default="30m",
                        help="with --prometheus: simulate this much of the cluster's past into Prometheus's history "
                             "at start, so 30-minute views (idle held GPUs) have data at once (default 30m; 0 for none)")
    parser.add_argument("--kubeconfig-out", metavar="PATH", default=None,
                        help="where to write the kubeconfig (default: a new file in a temporary directory)")


def _check(args: argparse.Namespace) -> None:
    from .scenario import validate_size
    why = validate_size(args.nodes, args.pods)
    if why:
        raise UserError(why)
    if not (args.speed > 0) or args.speed > 100_000:
        raise UserError(f"--speed must be above 0 and at most 100000 (got {args.speed:g})")
    if getattr(args, "faults", ""):
        from .faults import FaultSpecError, parse_spec
        try:
            kinds = {name.split("-", 1)[0] for name, _ in parse_spec(args.faults)}
        except FaultSpecError as e:
            raise UserError(f"--faults: {e}") from None
        if "prometheus" in kinds:
            raise UserError("--faults: prometheus-* faults need a Prometheus behind the fault proxy (tests only)")
    if getattr(args, "prometheus", False):
        from .backfill import parse_backfill
        from .prometheus_server import find_prometheus_binary
        parse_backfill(args.backfill)
        if find_prometheus_binary() is None:
            raise UserError("--prometheus: no prometheus binary found (apt-get install prometheus, or set PROMETHEUS_BIN)")
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be between 0 and 65535 (got {args.port})")
    if args.kubeconfig_out:
        out = os.path.abspath(os.path.expanduser(args.kubeconfig_out))
        default = os.path.abspath(os.path.expanduser("~/.kube/config"))
        env = [os.path.abspath(os.path.expanduser(p)) for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
        if out == default or out in env:
            raise UserError(f"refusing to overwrite your kubeconfig {out}; pass another --kubeconfig-out path")
        parent = os.path.dirname(out) or "."
        if not os.path.isdir(parent):
            raise UserError(f"--kubeconfig-out: directory {parent} does not exist")
        if not os.access(parent, os.W_OK):
            raise UserError(f"--kubeconfig-out: directory {parent} is not writable")
        if os.path.isdir(out):
            raise UserError(f"--kubeconfig-out: {out} is a directory")
        if os.path.exists(out):
            try:
                with open(out, encoding="utf-8", errors="replace") as f:
                    ours = "kubewatch-sim" in f.read(65536)
            except OSError as e:
                raise UserError(f"--kubeconfig-out: cannot read {out}: {e.strerror}") from None
            if not ours:  # only ever replace a kubeconfig an earlier `sim` wrote
                raise UserError(f"refusing to overwrite {out}: it is not a kubeconfig written by kubewatch-ml sim")


def run(args: argparse.Namespace) -> int:
    _check(args)
    from .backfill import parse_backfill, sim_start, start_prometheus
    from .cluster import SimCluster

    workdir = tempfile.mkdtemp(prefix="kubewatch-sim-")
    stop = threading.Event()

    def on_signal(signum, frame):  # noqa: ARG001
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    sim = prom = None
    with_prometheus = getattr(args, "prometheus", False)
    backfill = parse_backfill(args.backfill) if with_prometheus else 0.0
    try:
        t0 = time.monotonic()
        try:
            sim = SimCluster(seed=args.seed, nodes=args.nodes, pods=args.pods, speed=args.speed, tls=args.tls,
                             workdir=workdir, port=args.port, host=args.host, faults=getattr(args, "faults", ""),
                             kubeconfig_path=os.path.abspath(os.path.expanduser(args.kubeconfig_out)) if args.kubeconfig_out else None,
                             start=sim_start(args.speed, backfill), start_clock=not with_prometheus)
            sim.start()
            # The built cluster is ~1.5 million tracked containers at 150,000 pods: a full collection walks them
            # all (~1 s, measured), and the short-lived dicts of every served page push one through every few
            # full lists, stalling whichever client is listing. Freeze them out of the collector's walks (they
            # are freed by reference counting as ever; only a cycle among them would stay).
            gc.freeze()
        except OSError as e:
            raise UserError(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}") from None
        except ValueError as e:
            raise UserError(str(e)) from None
        if with_prometheus:
            say = lambda msg: print(f"kubewatch-ml sim: {msg}", file=sys.stderr, flush=True)  # noqa: E731
            try:
                prom = start_prometheus(sim, os.path.join(workdir, "prometheus"), backfill, 5.0, say=say)
            except Exception as e:  # noqa: BLE001 (the binary's own failure, said in one line)
                raise UserError(f"--prometheus: Prometheus did not start: {e}") from None
        took = time.monotonic() - t0
        out = sys.stdout
        out.write(f"kubewatch-ml sim: {sim.store.count('nodes')} nodes, {sim.store.count('pods')} pods, seed {args.seed}, "
                  f"speed {args.speed:g}x (started in {took:.1f} s)\n")
        out.write(f"clock:               {sim.clock_summary()}\n")
        out.write(f"API server:          {sim.api_url}\n")
        for name, url in sim.exporter_urls.items():
            out.write(f"{name + ':':<21}{url}\n")
        if prom is not None:
            out.write(f"prometheus:          {prom.url}  ({prom.backfill_note or 'no backfill'})\n")
        out.write(f"kubeconfig:          {sim.kubeconfig_path}  (contexts sim-admin, sim-viewer)\n")
        if sim.faults is not None and sim.faults.active:
            out.write(f"faults:              {', '.join(sim.faults.active)}\n")
        out.write(f"\n  export KUBECONFIG={sim.kubeconfig_path}\n  kubectl get nodes\n")
        out.write(f"  kubewatch-ml --prometheus-url {prom.url}\n\n" if prom is not None else "\n")
        out.write("Ctrl-C or SIGTERM stops the cluster.\n")
        out.flush()
        while not stop.wait(0.5):
            pass
        out.write("kubewatch-ml sim: stopping\n")
        out.flush()
        return 0
    finally:
        if prom is not None:
            prom.stop()
        if sim is not None:
            sim.stop()
        for s, h in old.items():
            signal.signal(s, h)
        shutil.rmtree(workdir, ignore_errors=True)
