"""SVG snapshots of every screen on the fixed scenario with a frozen clock (pytest-textual-snapshot).
Update after an intended change with: pytest tests/tui/test_snapshots.py --snapshot-update"""
from __future__ import annotations

import pytest

from .conftest import loaded, make_app, screen_text, until
from .scenario import EVIL_POD
from .test_pilot import SlowFeed


def _at(keys=(), cursor=None):
    async def run_before(pilot):
        await loaded(pilot)
        for k in keys:
            await pilot.press(k)
        if cursor is not None:
            pilot.app.main_screen.query_one("#table").set_cursor_key(cursor)
        await pilot.pause()
    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 40)], ids=["80x24", "160x40"])
def test_overview(snap_compare, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=_at())


@pytest.mark.parametrize("key, cursor", [
    ("2", "ml-dev"),
    ("3", "gpu-h100-1"),
    ("4", "serving-prod/inference-api"),
    ("5", f"ml-dev/{EVIL_POD}/main"),
    ("6", "Deployment/serving-prod/inference-api"),
    ("7", None),
    ("8", "ml-dev/finetune-big"),
], ids=["quotas", "gpus", "hpas", "probes", "zones", "findings", "pending"])
def test_view(snap_compare, key, cursor):
    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=_at([key], cursor))


def test_gpus_wide(snap_compare):
    assert snap_compare(make_app(), terminal_size=(200, 50), run_before=_at(["3"], "gpu-a100-1"))


def test_filtered_and_sorted(snap_compare):
    assert snap_compare(make_app(), terminal_size=(100, 30),
                        run_before=_at(["7", "slash", *"prod", "enter", "o", "o"]))


def test_help(snap_compare):
    assert snap_compare(make_app(), terminal_size=(100, 40), run_before=_at(["question_mark"]))


def test_loading(snap_compare):
    async def run_before(pilot):
        await until(pilot, lambda: "42,000" in screen_text(pilot.app))
    assert snap_compare(make_app(feed=SlowFeed()), terminal_size=(100, 30), run_before=run_before)


def test_light_theme(snap_compare):
    from kubewatch_ml.config import Config
    assert snap_compare(make_app(config=Config(theme="light")), terminal_size=(120, 36), run_before=_at(["2"], "ml-prod"))
