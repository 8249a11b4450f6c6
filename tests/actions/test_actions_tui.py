"""The action keys in the real app (Pilot), against the simulated cluster over HTTP.

The app shows a snapshot loaded from the cluster; its feed carries the live connection the
actions use. Results are checked with a GET (the view itself updates from the watch in live use)."""
import asyncio
import json
import time

import pytest

from kubewatch_ml.app import KubewatchApp
from kubewatch_ml.feed import StaticFeed
from kubewatch_ml.screens.action_confirm import ConfirmActionScreen, ScaleChoiceScreen
from kubewatch_ml.screens.action_input import ActionInputScreen
from kubewatch_ml.store import load_snapshot

NS = "kw-actions"


def run(coro):
    return asyncio.run(coro)


def _app(conn, audit_dir, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(audit_dir))
    snap = load_snapshot(conn)
    feed = StaticFeed.from_snapshot(snap, None, time.time())
    feed.conn = conn
    return KubewatchApp(feed)


async def _until(pilot, pred, tries=1500):  # generous: the machine is shared
    for _ in range(tries):
        if pred():
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


def _node(conn, name):
    return json.loads(conn.request("GET", f"/api/v1/nodes/{name}").body)


async def _select_node(pilot, app, name):
    await _until(pilot, lambda: app.main_screen is not None and app.main_screen.latest is not None)
    await pilot.press("3")
    await pilot.pause()
    app.main_screen.active_panel().table.set_cursor_key(name)
    await pilot.pause()
    assert app.current_selection().name == name


def test_cordon_then_undo_by_keys(admin_conn, tmp_path, monkeypatch):
    app = _app(admin_conn, tmp_path, monkeypatch)

    async def go():
        async with app.run_test(size=(140, 40)) as pilot:
            await _select_node(pilot, app, "kw-gpu-b")
            await pilot.press("c")
            await _until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen))
            assert "schedulable -> cordoned" in str(app.screen.query_one("#plan-text").render())
            assert app.screen.focused.id == "no"  # the safe choice has the focus
            await pilot.press("enter")  # Enter on Cancel: nothing sent
            await _until(pilot, lambda: not isinstance(app.screen, ConfirmActionScreen))
            assert not _node(admin_conn, "kw-gpu-b")["spec"].get("unschedulable")
            await pilot.press("c")
            await _until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen))
            await pilot.press("y")
            await _until(pilot, lambda: _node(admin_conn, "kw-gpu-b")["spec"].get("unschedulable") is True)
            await pilot.press("U")
            await _until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen))
            await pilot.press("y")
            await _until(pilot, lambda: not _node(admin_conn, "kw-gpu-b")["spec"].get("unschedulable"))
    run(go())
    rows = [json.loads(x) for x in (tmp_path / "kubewatch-ml" / "audit.jsonl").read_text().splitlines()]
    assert [(r["action"], r["result"]) for r in rows] == [("cordon", "cancelled"), ("cordon", "ok"), ("undo", "ok")]


def test_label_by_keys_with_validation(admin_conn, tmp_path, monkeypatch):
    app = _app(admin_conn, tmp_path, monkeypatch)

    async def go():
        async with app.run_test(size=(140, 40)) as pilot:
            await _select_node(pilot, app, "kw-gpu-a")
            await pilot.press("l")
            await _until(pilot, lambda: isinstance(app.screen, ActionInputScreen))
            await pilot.press(*"kubernetes.io/arch=arm", "enter")
            await pilot.pause()
            assert "reserved" in str(app.screen.query_one("#error").render())  # refused while typing, nothing sent
            app.screen.query_one("#value").value = ""
            await pilot.press(*"pool=h100 team-", "enter")
            await _until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen))
            await pilot.press("y")
            await _until(pilot, lambda: _node(admin_conn, "kw-gpu-a")["metadata"]["labels"].get("pool") == "h100")
    run(go())
    labels = _node(admin_conn, "kw-gpu-a")["metadata"]["labels"]
    assert "team" not in labels and labels.get("kubernetes.io/arch") is None


def test_scale_under_hpa_offers_hpa_bounds(admin_conn, tmp_path, monkeypatch):
    app = _app(admin_conn, tmp_path, monkeypatch)

    async def go():
        async with app.run_test(size=(140, 40)) as pilot:
            await _until(pilot, lambda: app.main_screen is not None and app.main_screen.latest is not None)
            await pilot.press("4")
            await pilot.pause()
            table = app.main_screen.active_panel().table
            key = next(r.key for r in table.visible_rows if "llm" in str(r.key))
            table.set_cursor_key(key)
            await pilot.pause()
            await pilot.press("s")
            await _until(pilot, lambda: isinstance(app.screen, ActionInputScreen))
            app.screen.query_one("#value").value = ""
            await pilot.press(*"-3")
            await pilot.pause()
            assert "negative" in str(app.screen.query_one("#error").render())
            app.screen.query_one("#value").value = "4"
            await pilot.press("enter")
            await _until(pilot, lambda: isinstance(app.screen, ScaleChoiceScreen))
            assert "within 15 s" in str(app.screen.query_one("#plan-text").render())
            await pilot.press("h")
            await _until(pilot, lambda: json.loads(admin_conn.request(
                "GET", f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/llm").body)["spec"]["minReplicas"] == 4)
    run(go())


def _press_every_action_key(app, pilot):
    async def go():
        for view, key in (("3", None), ("4", None)):
            await pilot.press(view)
            await pilot.pause()
            table = app.main_screen.active_panel().table
            if table.visible_rows:
                table.set_cursor_key(table.visible_rows[0].key)
            for k in ("c", "u", "d", "l", "t", "s", "U"):
                await pilot.press(k)
                await pilot.pause(0.05)
                # whatever opened (nothing should), answer yes to it
                for _ in range(3):
                    if app.screen is app.main_screen:
                        break
                    await pilot.press("y")
                    await pilot.pause(0.05)
    return go()


def test_readonly_no_write_leaves_while_every_action_key_is_pressed(counting_proxy, tmp_path, monkeypatch):
    from kubewatch_ml.settings import KubeOptions
    from kubewatch_ml.sources.kube import connect
    kubeconfig, counts = counting_proxy
    conn = connect(KubeOptions(kubeconfig=kubeconfig, context="sim-admin", readonly=True))
    app = _app(conn, tmp_path, monkeypatch)

    async def go():
        async with app.run_test(size=(140, 40)) as pilot:
            await _until(pilot, lambda: app.main_screen is not None and app.main_screen.latest is not None)
            await pilot.press("3")
            await pilot.pause()
            assert app.check_action("act_cordon", ()) is None and app.disabled_reason("act_cordon") == "read-only mode"
            await _press_every_action_key(app, pilot)
            assert app.screen is app.main_screen
            assert any("read-only mode" in n.message for n in app._notifications)
    run(go())
    conn.close()
    assert counts["GET"] > 0
    assert {k: n for k, n in counts.items() if k != "GET"} == {}


def test_viewer_keys_greyed_with_reason_and_nothing_written(cluster, counting_proxy, tmp_path, monkeypatch):
    from kubewatch_ml.settings import KubeOptions
    from kubewatch_ml.sources.kube import connect
    kubeconfig, counts = counting_proxy
    conn = connect(KubeOptions(kubeconfig=kubeconfig, context="sim-viewer"))
    app = _app(conn, tmp_path, monkeypatch)

    async def go():
        async with app.run_test(size=(140, 40)) as pilot:
            await _select_node(pilot, app, "kw-gpu-a")
            app.check_action("act_cordon", ())  # first look: asks the API server in a worker
            await _until(pilot, lambda: app.check_action("act_cordon", ()) is None)
            assert "may not patch nodes" in app.disabled_reason("act_label")
            await _press_every_action_key(app, pilot)
            assert app.screen is app.main_screen
            assert any("may not patch nodes" in n.message for n in app._notifications)
    run(go())
    conn.close()
    # only SelfSubjectAccessReviews were posted; no PATCH, no eviction
    assert counts.writes and {w for w in counts.writes} == {
        ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")}


def test_mark_two_nodes_and_cordon_both(admin_conn, tmp_path, monkeypatch):
    app = _app(admin_conn, tmp_path, monkeypatch)

    async def go():
        async with app.run_test(size=(140, 40)) as pilot:
            await _select_node(pilot, app, "kw-gpu-a")
            await pilot.press("m")
            app.main_screen.active_panel().table.set_cursor_key("kw-gpu-b")
            await pilot.pause()
            await pilot.press("m")
            assert [r.name for r in app.marked_selection()] == ["kw-gpu-a", "kw-gpu-b"]
            await pilot.press("c")
            await _until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen))
            text = str(app.screen.query_one("#plan-text").render())
            assert "node kw-gpu-a: schedulable -> cordoned" in text and "node kw-gpu-b: schedulable -> cordoned" in text
            await pilot.press("y")
            await _until(pilot, lambda: all(_node(admin_conn, n)["spec"].get("unschedulable") for n in ("kw-gpu-a", "kw-gpu-b")))
            await _until(pilot, lambda: app.marked_selection() == [])
    run(go())


def test_conflict_reasks_with_the_new_diff(admin_conn, tmp_path, monkeypatch):
    app = _app(admin_conn, tmp_path, monkeypatch)

    async def go():
        async with app.run_test(size=(140, 40)) as pilot:
            await _select_node(pilot, app, "kw-gpu-b")
            await pilot.press("l")
            await _until(pilot, lambda: isinstance(app.screen, ActionInputScreen))
            await pilot.press(*"pool=h100", "enter")
            await _until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen))
            first = app.screen
            # someone else relabels the node while the confirmation is open
            r = admin_conn.request("PATCH", "/api/v1/nodes/kw-gpu-b", body={"metadata": {"labels": {"pool": "l4"}}},
                                   content_type="application/merge-patch+json")
            assert r.status == 200
            await pilot.press("y")
            await _until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen) and app.screen is not first)
            text = str(app.screen.query_one("#plan-text").render())
            assert "409" in text and "pool: 'l4' -> 'h100'" in text
            assert _node(admin_conn, "kw-gpu-b")["metadata"]["labels"]["pool"] == "l4"  # nothing overwritten
            await pilot.press("y")
            await _until(pilot, lambda: _node(admin_conn, "kw-gpu-b")["metadata"]["labels"]["pool"] == "h100")
    run(go())


def test_drain_by_keys_shows_progress_and_cancel_keeps_node_cordoned(admin_conn, tmp_path, monkeypatch):
    from kubewatch_ml.screens.action_drain import DrainScreen
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "llm", "namespace": NS},
           "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "llm"}}},
           "status": {"disruptionsAllowed": 0, "currentHealthy": 2, "desiredHealthy": 2, "expectedPods": 2}}
    assert admin_conn.request("POST", f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets", body=pdb,
                              content_type="application/json").status == 201
    app = _app(admin_conn, tmp_path, monkeypatch)

    async def go():
        async with app.run_test(size=(100, 30)) as pilot:
            await _select_node(pilot, app, "kw-gpu-a")
            await pilot.press("d")
            await _until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen))
            text = str(app.screen.query_one("#plan-text").render())
            assert "evict kw-actions/llm-0" in text and "skip  kw-actions/dcgm-x" in text and "allows 0 disruption" in text
            await pilot.press("y")
            await _until(pilot, lambda: isinstance(app.screen, DrainScreen))
            await _until(pilot, lambda: "blocked" in str(app.screen.query_one("#phase").render()))
            await pilot.press("escape")
            await _until(pilot, lambda: app.screen is app.main_screen)
            assert any("cancelled" in n.message and "stays cordoned" in n.message for n in app._notifications)
    run(go())
    assert _node(admin_conn, "kw-gpu-a")["spec"]["unschedulable"] is True
    pods = json.loads(admin_conn.request("GET", f"/api/v1/namespaces/{NS}/pods").body)["items"]
    assert {p["metadata"]["name"] for p in pods} >= {"llm-0", "llm-1"}


def test_taint_by_keys(admin_conn, tmp_path, monkeypatch):
    app = _app(admin_conn, tmp_path, monkeypatch)

    async def go():
        async with app.run_test(size=(140, 40)) as pilot:
            await _select_node(pilot, app, "kw-gpu-b")
            await pilot.press("t")
            await _until(pilot, lambda: isinstance(app.screen, ActionInputScreen))
            await pilot.press(*"nvidia.com/gpu=present:NoShedule")
            await pilot.pause()
            assert "not one of NoSchedule" in str(app.screen.query_one("#error").render())
            app.screen.query_one("#value").value = "nvidia.com/gpu=present:NoSchedule"
            await pilot.press("enter")
            await _until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen))
            assert "+ taint nvidia.com/gpu=present:NoSchedule" in str(app.screen.query_one("#plan-text").render())
            await pilot.press("y")
            await _until(pilot, lambda: _node(admin_conn, "kw-gpu-b")["spec"].get("taints"))
    run(go())
    assert _node(admin_conn, "kw-gpu-b")["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
