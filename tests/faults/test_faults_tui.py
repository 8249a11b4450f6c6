"""Faults seen through the dashboard (KubewatchApp + LiveFeed over the simulator, driven by the Pilot):
the app keeps running, the status line names the fault in one line, stale data is marked with its
age, and the app recovers by itself when the fault ends."""
from __future__ import annotations

import time

import pytest

from faults_support import admin, faults, live_feed, status_line, until
from kubewatch_ml.app import KubewatchApp


class Clock:
    """Real time plus an offset a test can move (the STALE marker's threshold without sleeping)."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def _pods(conn) -> set[str]:
    return {p["metadata"]["name"] for p in conn.request("GET", "/api/v1/pods").json()["items"]}


def _store_pods(feed) -> set[str]:
    return {p.name for p in feed.store.snapshot().pods.values()}


async def _run(sim, body, *, size=(160, 30), **feed_kw):
    feed = live_feed(sim, **feed_kw)
    clock = Clock()
    app = KubewatchApp(feed, clock=clock)
    try:
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: app.main_screen is not None and app.main_screen.latest is not None,
                        what="the first frame")
            await body(pilot, app, feed, clock)
    finally:
        feed.conn.close()


def test_api_500_on_pods_is_named_marked_stale_and_recovers(sim, fast):
    async def body(pilot, app, feed, clock):
        conn = admin(sim)
        await until(pilot, lambda: "API ● connected" in status_line(app), what="connected")
        faults(sim, "api-500=pods")
        line = await until(pilot, lambda: "500" in status_line(app) and status_line(app),
                           what="the 500 in the status line")
        assert "degraded" in line and "pods" in line
        # something changes while the pods cannot be read: the dashboard must not claim to be current
        victim = sorted(_store_pods(feed))[0]
        ns = next(p.namespace for p in feed.store.snapshot().pods.values() if p.name == victim)
        sim.store.delete("pods", ns, victim)  # as a controller would (the API refuses our admin too now)
        clock.offset = 120  # two minutes later, still no good read of the pods
        line = await until(pilot, lambda: "STALE pods 2m" in status_line(app) and status_line(app),
                           what="pods marked STALE with their age")
        assert victim in _store_pods(feed)  # still the last known state, and said to be stale
        assert "nodes" not in line.split("STALE")[1].split("(")[0]  # only the failing kind is stale
        faults(sim, clear=True)
        clock.offset = 0
        await until(pilot, lambda: victim not in _store_pods(feed), what="the deletion to arrive after recovery")
        await until(pilot, lambda: "API ● connected" in status_line(app) and "STALE" not in status_line(app),
                    what="recovered status line")
        assert "500" not in status_line(app)
        conn.close()
    import asyncio
    asyncio.run(_run(sim, body))


def test_api_restart_is_named_then_resynced_with_a_new_history(sim, fast):
    async def body(pilot, app, feed, clock):
        conn = admin(sim)
        await until(pilot, lambda: "API ● connected" in status_line(app), what="connected")
        before = app.screen.app.main_screen.latest
        faults(sim, "api-restart=4")
        sim.advance(120)  # the cluster moves on while the API is down (pods come and go)
        line = await until(pilot, lambda: "degraded" in status_line(app) and "STALE" in status_line(app)
                           and status_line(app), what="the outage named and the data marked STALE")
        assert "cannot reach https://127.0.0.1:" in line and "refused" in line, line
        assert sim.faults.wait_restarted(20)
        await until(pilot, lambda: _store_pods(feed) == _pods(conn), what="the store to match the cluster again")
        await until(pilot, lambda: "API ● connected" in status_line(app), what="connected again")
        assert app.main_screen.latest is not before  # new frames flow without restarting the app
        conn.close()
    import asyncio
    asyncio.run(_run(sim, body))


def test_403_on_a_kind_shows_forbidden_and_clears(sim, fast):
    async def body(pilot, app, feed, clock):
        await until(pilot, lambda: "API ● connected" in status_line(app), what="connected")
        faults(sim, "api-forbid=events")
        await until(pilot, lambda: "forbidden: events" in status_line(app), what="forbidden: events")
        faults(sim, clear=True)
        await until(pilot, lambda: "forbidden" not in status_line(app) and "API ● connected" in status_line(app),
                    what="forbidden cleared")
    import asyncio
    asyncio.run(_run(sim, body))


def test_429_and_slow_responses_keep_the_app_responsive(sim, fast):
    async def body(pilot, app, feed, clock):
        await until(pilot, lambda: "API ● connected" in status_line(app), what="connected")
        faults(sim, "api-429=nodes,api-slow=0.5")
        await until(pilot, lambda: "429" in status_line(app) or "Too Many" in status_line(app), what="429 named")
        await pilot.press("2")  # keys still work while every request is slow
        await until(pilot, lambda: app.active_view != "overview", what="the view to switch")
        faults(sim, clear=True)
        await until(pilot, lambda: "API ● connected" in status_line(app) and "429" not in status_line(app),
                    what="recovered")
    import asyncio
    asyncio.run(_run(sim, body))


def test_dropped_watches_and_410_still_deliver_every_change(sim, fast):
    async def body(pilot, app, feed, clock):
        conn = admin(sim)
        await until(pilot, lambda: "API ● connected" in status_line(app), what="connected")
        faults(sim, "api-drop-watches")
        sim.advance(60)
        await until(pilot, lambda: _store_pods(feed) == _pods(conn), timeout=30, what="changes despite dropped watches")
        faults(sim, "none,api-gone")
        sim.advance(60)
        await until(pilot, lambda: _store_pods(feed) == _pods(conn), timeout=30, what="relist after 410")
        assert "API ● connected" in status_line(app)
        conn.close()
    import asyncio
    asyncio.run(_run(sim, body))


def test_tui_that_cannot_start_says_why_in_one_line(sim, capsys):
    from kubewatch_ml.cli import main
    faults(sim, "api-503")
    code = main(["tui", "--kubeconfig", sim.kubeconfig_path, "--context", "sim-viewer"])
    out, err = capsys.readouterr()
    assert code == 3 and out == "" and "Traceback" not in err
    assert err == f"kubewatch-ml: {sim.api_url} is failing (HTTP 503): the API server is unhealthy; retry later\n"
    faults(sim, clear=True)


def test_a_kind_failing_from_the_start_is_marked_missing_not_shown_as_empty(sim, fast):
    faults(sim, "api-500=pods")

    async def body(pilot, app, feed, clock):
        line = await until(pilot, lambda: "MISSING pods" in status_line(app) and status_line(app),
                           what="pods marked MISSING")
        assert "STALE" not in line.split("(")[0]  # nothing was read, so nothing is stale: it is missing
        faults(sim, clear=True)
        await until(pilot, lambda: "MISSING" not in status_line(app) and "API ● connected" in status_line(app),
                    what="pods loaded after the fault")
        assert _store_pods(feed)
    import asyncio
    asyncio.run(_run(sim, body))
