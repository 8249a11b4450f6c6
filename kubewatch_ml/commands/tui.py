"""`kubewatch-ml` (the default command): the dashboard on the current kubeconfig context."""
from __future__ import annotations

import argparse
from dataclasses import replace

from ..errors import UserError
from ..settings import add_connection_args, add_metrics_args, settings_from_args


def add_ui_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("dashboard")
    g.add_argument("--refresh", type=float, default=2.0, metavar="SECONDS",
                   help="how often metrics are fetched (cluster changes arrive as they happen)")
    g.add_argument("--theme", help="dark | light | a Textual theme name (default: the config file's, else dark)")
    g.add_argument("--config", metavar="PATH", help="config file (default: ~/.config/kubewatch-ml/config.toml)")
    from ..replay_feed import add_record_args  # --record FILE (headless issue 8)

    add_record_args(g)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_connection_args(p)
    add_metrics_args(p)
    add_ui_args(p)


def load_ui_config(args: argparse.Namespace):
    """The config file, with --theme applied and key remaps checked against the real binding ids."""
    from ..app import KubewatchApp
    from ..config import load_config

    config = load_config(getattr(args, "config", None))
    if getattr(args, "theme", None):
        config = replace(config, theme=args.theme)
    unknown = sorted(set(config.keys) - KubewatchApp.binding_ids())
    if unknown:
        raise UserError(f"{config.path or 'config'}: unknown binding id(s) in [keys]: {', '.join(unknown)} "
                        f"(press ? in the dashboard to see the ids)")
    return config


def run_app(feed, settings, config, status_extra: str = "") -> int:
    from ..app import KubewatchApp

    app = KubewatchApp(feed, settings, config)
    app.status_extra = status_extra
    try:
        app.run()
    finally:
        feed.close()
    return int(app.return_code or 0)


def run(args: argparse.Namespace) -> int:
    from ..feed import open_feed

    settings = settings_from_args(args)
    settings = replace(settings, refresh_seconds=max(0.5, float(getattr(args, "refresh", 2.0) or 2.0)))
    config = load_ui_config(args)
    # ConnectError: one line, exit 3. A recording needs the snapshots, so --record keeps the feed in-process
    feed = open_feed(settings, readonly_contexts=config.readonly_for, in_process=bool(getattr(args, "record", None)))
    from ..replay_feed import record_if_asked

    feed = record_if_asked(feed, args)
    return run_app(feed, settings, config)
