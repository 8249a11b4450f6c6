"""Export the dashboard's screens as SVG into docs/screens/ (the README shows them).

    .venv/bin/python scripts/export_screens.py [--out docs/screens] [--size 140x40]

Uses the fixed test scenario (tests/tui/scenario.py) through a StaticFeed on a frozen clock, so the
pictures are the same on every run and need no cluster; the same headless path as the SVG snapshots.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kubewatch_ml.app import KubewatchApp  # noqa: E402
from kubewatch_ml.config import Config  # noqa: E402
from tests.tui.scenario import EVIL_POD, NOW, scenario_feed  # noqa: E402

SHOTS = [  # file, keys, cursor row key, theme
    ("overview", [], None, "dark"),
    ("quotas", ["2"], "ml-prod", "dark"),
    ("gpu-nodes", ["3"], "gpu-h100-1", "dark"),
    ("hpas", ["4"], "serving-prod/inference-api", "dark"),
    ("probes", ["5"], "serving-prod/inference-api-5c-x3/main", "dark"),
    ("zones", ["6"], "Deployment/ml-prod/trainer", "dark"),
    ("findings", ["7"], None, "dark"),
    ("pending", ["8"], "ml-dev/finetune-big", "dark"),
    ("quotas-light", ["2"], "ml-dev", "light"),
]


async def shoot(name, keys, cursor, theme, size, out: Path) -> Path:
    app = KubewatchApp(scenario_feed(), config=Config(theme=theme), clock=lambda: NOW)
    async with app.run_test(size=size) as pilot:
        for _ in range(200):
            if app.main_screen is not None and app.main_screen.latest is not None:
                break
            await pilot.pause(0.02)
        for k in keys:
            await pilot.press(k)
        if cursor is not None:
            app.main_screen.query_one("#table").set_cursor_key(cursor)
        await pilot.pause()
        path = out / f"{name}.svg"
        path.write_text(app.export_screenshot(title=f"kubewatch-ml — {name}"), encoding="utf-8")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "screens"))
    ap.add_argument("--size", default="140x40", help="WIDTHxHEIGHT")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.lower().split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, keys, cursor, theme in SHOTS:
        print(asyncio.run(shoot(name, keys, cursor, theme, (w, h), out)))
    print(asyncio.run(shoot("overview-80x24", [], None, "dark", (80, 24), out)))


if __name__ == "__main__":
    main()
