"""Helpers for the dashboard tests: the app on the fixed scenario with a frozen clock."""
from __future__ import annotations

import io

import pytest
from rich.console import Console

from kubewatch_ml.app import KubewatchApp
from kubewatch_ml.config import Config

from .scenario import NOW, scenario_feed


def make_app(config: Config | None = None, feed=None) -> KubewatchApp:
    return KubewatchApp(feed or scenario_feed(), config=config, clock=lambda: NOW)


def screen_text(app) -> str:
    """What the terminal shows, as plain text (no colours)."""
    w, h = app.size
    c = Console(width=w, height=h, file=io.StringIO(), color_system=None, record=True, legacy_windows=False)
    c.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return c.export_text()


async def until(pilot, predicate, tries: int = 100) -> None:
    """Let the app run until predicate() holds (workers and messages settle) — no fixed sleeps."""
    for _ in range(tries):
        if predicate():
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


async def loaded(pilot) -> None:
    app = pilot.app
    await until(pilot, lambda: app.main_screen is not None and app.main_screen.latest is not None)


@pytest.fixture
def app() -> KubewatchApp:
    return make_app()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run `async def` tests of this directory on a fresh asyncio loop (no async plugin needed)."""
    import asyncio
    import inspect

    if inspect.iscoroutinefunction(pyfuncitem.obj):
        args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**args))
        return True
    return None
