"""The `kubewatch-ml` command. Each subcommand lives in its own module under kubewatch_ml/commands/
with `add_arguments(parser)` and `run(args) -> int`; this file only wires them up and turns user
mistakes into one clear line (UserError) instead of a traceback."""
from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import UserError

# name -> (module, one-line help). The module is imported only when its command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "tui": ("kubewatch_ml.commands.tui", "open the dashboard on the current kubeconfig context (the default)"),
    "demo": ("kubewatch_ml.sim.demo", "open the dashboard on a simulated ML cluster"),
    "sim": ("kubewatch_ml.sim.command", "run the simulated ML cluster (Kubernetes API + exporters) on loopback"),
    "snapshot": ("kubewatch_ml.commands.snapshot", "export the views as JSON, Markdown, HTML or SVG"),
    "triage": ("kubewatch_ml.commands.triage", "print ranked findings; the exit code says the worst severity"),
    "record": ("kubewatch_ml.commands.record", "record snapshots at each refresh into one file"),
    "replay": ("kubewatch_ml.commands.replay", "open the dashboard on a recording"),
    "diff": ("kubewatch_ml.commands.diff", "list what changed between two snapshots"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubewatch-ml",
        description="A terminal dashboard for ML workloads on Kubernetes: quotas, GPU nodes, HPAs, probes, zones.",
    )
    parser.add_argument("--version", action="version", version=f"kubewatch-ml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(_module=module)
        try:
            importlib.import_module(module).add_arguments(p)
        except ModuleNotFoundError as e:  # a command not built yet
            if e.name != module:
                raise
            p.set_defaults(_missing=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["tui", *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_missing", False):
        print(f"kubewatch-ml: the '{args.command}' command is not available in this build", file=sys.stderr)
        return 2
    if getattr(args, "demo", False):
        # `--demo` on the headless commands: the simulated cluster is started here, at the entry point,
        # and the command reaches it only through the kubeconfig and exporter URLs it hands over
        from .sim.demo_cluster import demo_cluster

        args.demo_cluster = demo_cluster
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except UserError as e:
        print(f"kubewatch-ml: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
