"""`kubewatch-ml replay FILE`: the dashboard on a recording, through the same render path as a
live cluster, with pause / step / seek keys (see the footer)."""
from __future__ import annotations

from ..errors import UserError


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE", help="a recording (kubewatch-ml record, or --record on the dashboard)")
    p.add_argument("--at", metavar="TIME", default="first",
                   help="start here: RFC3339, POSIX seconds, first (default), last, -15m or +15m")
    p.add_argument("--speed", type=float, default=1.0, metavar="X", help="playback speed (default 1: recorded pace)")
    p.add_argument("--paused", action="store_true", help="start paused")


def run(args) -> int:
    from ..recording import Recording, parse_at
    from ..replay_feed import ReplayFeed
    from ..settings import Settings

    if args.speed <= 0:
        raise UserError("--speed must be positive")
    rec = Recording.open(args.file)
    infos = rec.frames()
    if not infos:
        rec.close()
        raise UserError(f"{args.file} holds no frames yet")
    t = parse_at(args.at, infos[0].taken_at, infos[-1].taken_at)
    start = max([i for i, fi in enumerate(infos) if fi.taken_at <= t] or [0])
    feed = ReplayFeed(rec, start=start, speed=args.speed, playing=not args.paused)
    try:
        from ..screens.replay_keys import ReplayApp

        # ages read as they did at the frame's moment, as the analysis saw them (now = taken_at)
        app = ReplayApp(feed, Settings(), clock=lambda: feed.position()[2])
        app.run()
    finally:
        feed.close()
    return int(app.return_code or 0)
