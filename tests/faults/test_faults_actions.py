"""No lost action: a write during a fault is applied exactly once or reported failed, and the audit
log says which. ActionSession is what the dashboard's action keys call (tests/actions drive the keys)."""
from __future__ import annotations

import socket
import time

from faults_support import admin, faults
from kubewatch_ml.actions.audit import AuditLog
from kubewatch_ml.actions.session import ActionSession
from kubewatch_ml.settings import KubeOptions
from kubewatch_ml.sources.kube import connect


def _node(sim) -> str:
    return sorted(n for n in [sim.scenario.cordoned_node, sim.scenario.not_ready_node] if n)[0]


def _labels(sim, node) -> dict:
    conn = admin(sim)
    try:
        return conn.request("GET", f"/api/v1/nodes/{node}").json()["metadata"].get("labels", {})
    finally:
        conn.close()


def _patches(sim, node) -> int:
    """PATCHes of that node that reached the API server (its request log), dry runs included."""
    return sum(n for (m, p), n in sim.api.requests.items() if m == "PATCH" and p == f"/api/v1/nodes/{node}")


def _session(sim, tmp_path, timeout=30.0):
    conn = connect(KubeOptions(kubeconfig=sim.kubeconfig_path, context="sim-admin", request_timeout=timeout))
    return conn, ActionSession(conn, audit=AuditLog(tmp_path / "audit.jsonl", context="sim-admin"))


def test_label_during_500s_is_reported_failed_then_applied_once(sim, tmp_path):
    node = _node(sim)
    conn, s = _session(sim, tmp_path)
    try:
        plan = s.plan_labels(node, {"team": "ml-infra"})
        faults(sim, "api-500=nodes")
        res = s.apply(plan)
        assert not res.ok and res.outcome == "error" and "500" in res.message and "\n" not in res.message
        faults(sim, clear=True)
        assert "team" not in _labels(sim, node)  # nothing half-applied
        plan = s.plan_labels(node, {"team": "ml-infra"})
        before = _patches(sim, node)
        res = s.apply(plan)
        assert res.ok, res.message
        assert _labels(sim, node)["team"] == "ml-infra"
        assert _patches(sim, node) - before == 1
        lines = [ln for ln in s.audit.read() if ln["action"] == "label"]
        assert [ln["result"] for ln in lines] == ["error", "ok"]
        assert "500" in lines[0]["message"]
    finally:
        conn.close()


def test_label_during_a_restart_is_reported_failed_and_not_applied(sim, tmp_path):
    node = _node(sim)
    conn, s = _session(sim, tmp_path, timeout=5)
    try:
        plan = s.plan_labels(node, {"team": "restart-test"})
        faults(sim, "api-restart=3")
        end = time.monotonic() + 5
        while time.monotonic() < end:  # the port is closed
            try:
                socket.create_connection((sim.host, sim.api.port), timeout=0.2).close()
                time.sleep(0.05)
            except OSError:
                break
        res = s.apply(plan)
        assert res.outcome == "error" and "cannot reach" in res.message
        assert sim.faults.wait_restarted(20)
        assert "team" not in _labels(sim, node)
        res = s.apply(s.plan_labels(node, {"team": "restart-test"}))  # the same session works again
        assert res.ok and _labels(sim, node)["team"] == "restart-test"
        assert [ln["result"] for ln in s.audit.read() if ln["action"] == "label"] == ["error", "ok"]
    finally:
        conn.close()


def test_write_answered_too_late_says_it_may_have_landed_and_is_not_doubled(sim, tmp_path):
    node = _node(sim)
    conn, s = _session(sim, tmp_path, timeout=1)
    try:
        plan = s.plan_labels(node, {"team": "slow"})
        faults(sim, "api-slow-writes=2.5")
        before = _patches(sim, node)
        res = s.apply(plan)
        assert res.outcome == "error"
        assert "may have been applied" in res.message and "check the object" in res.message
        assert _patches(sim, node) - before == 1  # sent once, never retried behind the user's back
        faults(sim, clear=True)
        assert _labels(sim, node)["team"] == "slow"  # it did land, exactly once
        again = s.plan_labels(node, {"team": "slow"})  # re-planning shows there is nothing left to do
        assert again.no_op
        line = [ln for ln in s.audit.read() if ln["action"] == "label"][-1]
        assert line["result"] == "error" and "may have been applied" in line["message"]
    finally:
        conn.close()


def test_label_by_keys_during_500s_in_the_dashboard(sim, tmp_path, monkeypatch, fast):
    """The same through the keys: the failure is shown, the audit says error, a second try lands once."""
    import asyncio
    import json as _json

    from faults_support import live_feed, screen_text, until
    from kubewatch_ml.app import KubewatchApp
    from kubewatch_ml.screens.action_confirm import ConfirmActionScreen
    from kubewatch_ml.screens.action_input import ActionInputScreen
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    node = sim.scenario.cordoned_node  # a GPU node: listed in the GPU nodes view

    def notes(app) -> list[str]:
        return [str(n.message) for n in app._notifications]

    async def label_by_keys(pilot, app, text):
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, ActionInputScreen), what="the label input")
        await pilot.press(*text, "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen), what="the confirmation")

    async def body():
        feed = live_feed(sim, context="sim-admin")
        app = KubewatchApp(feed)
        try:
            async with app.run_test(size=(160, 40)) as pilot:
                await until(pilot, lambda: app.main_screen.latest is not None, what="first frame")
                await pilot.press("3")
                await until(pilot, lambda: node in screen_text(app), what="the node in the GPU view")
                app.main_screen.active_panel().table.set_cursor_key(node)
                await pilot.pause()
                assert app.current_selection().name == node
                await label_by_keys(pilot, app, "team=oncall")
                faults(sim, "api-500=nodes")  # the server breaks between confirmation and sending
                await pilot.press("y")
                await until(pilot, lambda: any("500" in n for n in notes(app)), what="the failure shown")
                faults(sim, clear=True)
                assert "team" not in _labels(sim, node)
                await label_by_keys(pilot, app, "team=oncall")
                await pilot.press("y")
                await until(pilot, lambda: _labels(sim, node).get("team") == "oncall", what="the label applied")
        finally:
            feed.conn.close()
    asyncio.run(body())
    rows = [_json.loads(x) for x in (tmp_path / "state" / "kubewatch-ml" / "audit.jsonl").read_text().splitlines()]
    assert [(r["action"], r["result"]) for r in rows] == [("label", "error"), ("label", "ok")]
    assert "500" in rows[0]["message"]
