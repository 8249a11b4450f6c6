"""The dashboard driven through the Pilot on the fixed scenario (frozen clock, no cluster)."""
from __future__ import annotations

import threading

from kubewatch_ml.config import Config
from kubewatch_ml.feed import FeedStatus, ObjectRef
from kubewatch_ml.screens.help import HelpScreen
from kubewatch_ml.screens.main import ViewPanel
from kubewatch_ml.snapshot import KindState
from kubewatch_ml.widgets.table import RowTable

from .conftest import loaded, make_app, screen_text, until
from .scenario import EVIL_POD, NOW


def panel(app, view_id) -> ViewPanel:
    p = app.main_screen.query_one(ViewPanel)
    assert p.spec.id == view_id and app.active_view == view_id
    return p


async def test_number_keys_switch_views_and_tabs_are_clickable():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        text = screen_text(app)
        assert "Cluster" in text and "GPUs" in text and "Top findings" in text  # the overview
        assert "5/6 ready" in text and "23/28" in text  # node counts, GPUs requested/allocatable
        for key, view, marker in (("2", "quotas", "NAMESPACE"), ("3", "gpus", "GPUS REQ/ALLOC"), ("4", "hpas", "CALC"),
                                  ("5", "probes", "RESTARTS"), ("6", "zones", "SKEW"), ("7", "findings", "SEVERITY"),
                                  ("8", "pending", "WHY"), ("1", "overview", "Quota hot spots")):
            await pilot.press(key)
            await pilot.pause()
            assert app.active_view == view
            assert marker in screen_text(app), view
        await pilot.press("right_square_bracket")
        assert app.active_view == "quotas"
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert app.active_view == "pending"
        # click the "GPU" tab label on the tab bar (row 0)
        tabs_text = screen_text(app).splitlines()[0]
        await pilot.click("#tabs", offset=(tabs_text.index("GPU") + 1, 0))
        await pilot.pause()
        assert app.active_view == "gpus"


async def test_gpu_view_rows_detail_and_selection():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("3")
        await pilot.pause()
        table = panel(app, "gpus").table
        assert [r.key for r in table.visible_rows][:2] == ["gpu-a100-1", "gpu-a100-2"] or table.row_count == 4
        assert table.row_count == 4
        table.set_cursor_key("gpu-h100-1")
        await pilot.pause()
        text = screen_text(app)
        assert "pods on node (2)" in text and "research/notebook-0" in text  # pods on the node
        assert "(idle)" in text  # allocated-but-idle GPUs are called out
        assert app.current_selection() == ObjectRef("Node", "", "gpu-h100-1")
        await pilot.press("down")
        assert app.current_selection() == ObjectRef("Node", "", table.visible_rows[3].key)
        await pilot.press("home")
        assert table.cursor_key == table.visible_rows[0].key


async def test_hpa_detail_shows_computed_vs_reported_and_conditions():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("4")
        table = panel(app, "hpas").table
        table.set_cursor_key("serving-prod/inference-api")
        await pilot.pause()
        text = screen_text(app)
        assert "computed desired" in text and "desired (reported) 3" in text
        assert "ScalingLimited" in text and "TooManyReplicas" in text
        assert "maxed out" in text
        assert app.current_selection() == ObjectRef("HorizontalPodAutoscaler", "serving-prod", "inference-api")


async def test_filter_with_slash_then_escape_clears():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("7")
        table = panel(app, "findings").table
        total = table.row_count
        await pilot.press("slash")
        await pilot.press(*"crash")
        await pilot.pause()
        assert 0 < len(table.visible_rows) < total
        assert all("crash" in r.text for r in table.visible_rows)
        assert "filter: crash" in screen_text(app)
        await pilot.press("enter")  # keeps the filter, back to the table
        assert app.focused is table and table.filter == "crash"
        await pilot.press("escape")
        await pilot.pause()
        assert table.filter == "" and len(table.visible_rows) == total
        # a filter that matches nothing says so
        await pilot.press("slash", *"zzzz-no-such", "enter")
        await pilot.pause()
        assert "(no rows match the filter)" in screen_text(app)


async def test_sort_by_key_and_by_clicking_the_header():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("3")
        await pilot.pause()
        table = panel(app, "gpus").table
        await pilot.press("o")  # first column: NODE ascending
        assert table.sort_column.key == "node" and not table.sort_reverse
        keys = [r.key for r in table.visible_rows]
        assert keys == sorted(keys)
        await pilot.press("O")
        assert [r.key for r in table.visible_rows] == sorted(keys, reverse=True)
        # click the FREE header
        header = screen_text(app).splitlines()[2]
        x = header.index("FREE")
        await pilot.click("#table", offset=(x + 1, 0))
        await pilot.pause()
        assert table.sort_column.key == "free" and not table.sort_reverse
        frees = [r.sort[4] for r in table.visible_rows]
        assert frees == sorted(frees)
        await pilot.click("#table", offset=(x + 1, 0))  # again: reversed
        assert table.sort_reverse
        assert "sorted by FREE ▼" in screen_text(app)
        # clicking a row moves the cursor
        await pilot.click("#table", offset=(2, 3))
        assert table.cursor_key == table.visible_rows[2].key


async def test_cursor_follows_its_row_across_a_new_frame():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("7")
        table = panel(app, "findings").table
        key = table.visible_rows[5].key
        table.set_cursor_key(key)
        await pilot.press("o", "o")  # resort: the cursor stays on the same finding
        assert table.cursor_key == key


async def test_probe_view_renders_cluster_text_inert():
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("5")
        table = panel(app, "probes").table
        table.set_cursor_key(f"ml-dev/{EVIL_POD}/main")
        await pilot.pause()
        text = screen_text(app)
        assert EVIL_POD in text  # "[red]" shown literally, not turned into colour
        assert "[bold magenta]boom[/]" in text and "\x1b" not in text
        assert app.current_selection() == ObjectRef("Pod", "ml-dev", EVIL_POD)


async def test_detail_of_pending_pod_and_zone_spread():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("8")
        await pilot.pause()
        text = screen_text(app)
        assert "ml-dev/finetune-big" in text and "Insufficient nvidia.com/gpu" in text and "would fit now" in text
        await pilot.press("6")
        panel(app, "zones").table.set_cursor_key("Deployment/ml-prod/trainer")
        await pilot.pause()
        text = screen_text(app)
        assert "SINGLE ZONE" in text and "us-east-1a is lost: DOWN" in text
        assert app.current_selection() == ObjectRef("Deployment", "ml-prod", "trainer")


async def test_command_palette_jumps_to_a_namespace_and_a_workload():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("colon")
        await pilot.pause()
        await pilot.press(*"namespace research")
        await until(pilot, lambda: "namespace research" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: app.active_view == "quotas")
        assert panel(app, "quotas").table.cursor_key == "research"
        await pilot.press("colon")
        await pilot.press(*"hpa serving")
        await until(pilot, lambda: "hpa serving-prod/inference-api" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: app.active_view == "hpas")
        assert panel(app, "hpas").table.cursor_key == "serving-prod/inference-api"


async def test_help_lists_every_binding_with_its_id():
    app = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for bid in sorted(app.binding_ids()):
            assert bid in text, bid
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_keys_are_remappable_from_the_config():
    app = make_app(config=Config(keys={"view.gpus": "g", "filter": "f"}))
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("g")
        assert app.active_view == "gpus"
        await pilot.press("f")
        await pilot.pause()
        assert app.focused is app.main_screen.query_one("#filter-bar")


async def test_theme_toggle_and_light_config():
    app = make_app(config=Config(theme="light"))
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        assert app.theme == "textual-light"
        dark_ok = app.palette.ok
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.theme == "textual-dark" and app.palette.ok != dark_ok or app.theme == "textual-dark"


async def test_legible_at_80x24():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        text = screen_text(app)
        lines = text.splitlines()
        assert "8 Pending" in lines[0]  # every tab fits
        assert "ctx ml-staging" in text and "API" in text  # the status line is there
        await pilot.press("3")
        await pilot.pause()
        text = screen_text(app)
        assert "gpu-a100-1" in text and "GPUS REQ/ALLOC" in text and "STATUS" in text


class SlowFeed:
    """Never produces a frame: the loading screen must show progress, not a blank screen."""

    def __init__(self):
        self.closed = threading.Event()

    def next_frame(self, timeout):
        self.closed.wait(timeout)
        return None

    def progress(self):
        return FeedStatus(context="big-cluster", api_state="loading", readonly=True, insecure=True,
                          kinds={"pods": KindState("pods", listed=42000, pages=84, total=150000),
                                 "nodes": KindState("nodes", listed=5000, complete=True),
                                 "secrets": KindState("events", forbidden=True)},
                          metrics_source="prometheus http://prom:9090 (ready)")

    def close(self):
        self.closed.set()


async def test_cold_load_shows_progress_and_badges():
    app = make_app(feed=SlowFeed())
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "42,000" in screen_text(app))
        text = screen_text(app)
        assert "loading big-cluster" in text and "2 of 3 kinds listed" in text
        assert "page 84" in text and "forbidden" in text and "42,000 of 150,000" in text and "28%" in text
        assert "READ-ONLY" in text and "INSECURE TLS" in text and "loading 2/3 kinds" in text
        await pilot.press("3")  # keys still answer while loading
        assert app.active_view == "gpus"


async def test_digits_typed_in_the_filter_stay_in_the_filter():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("3")
        await pilot.press("slash", "a", "1", "0", "0")  # "1" must not switch to the overview
        await pilot.pause()
        assert app.active_view == "gpus"
        assert panel(app, "gpus").table.filter == "a100"
        assert {r.key for r in panel(app, "gpus").table.visible_rows} == {"gpu-a100-1", "gpu-a100-2"}


async def test_switching_context_reconnects_and_closes_the_old_feed(monkeypatch):
    """The palette's context provider calls app.switch_context; here the new connection is a static
    feed of the same scenario under another context name."""
    import kubewatch_ml.feed as feed_mod
    from kubewatch_ml.feed import StaticFeed, build_frame
    from kubewatch_ml.snapshot import ClusterInfo, ClusterSnapshot

    from .scenario import build_cluster, build_metrics

    c = build_cluster()
    other = ClusterSnapshot.build(NOW, cluster=ClusterInfo(context="prod-eu", server="https://prod"),
                                  nodes=c.nodes.values(), pods=c.pods.values(), namespaces=c.namespaces.values())
    opened = []

    def fake_open(settings, readonly_contexts=None, in_process=False):
        if settings.kube.context == "nope":
            from kubewatch_ml.errors import ConnectError
            raise ConnectError("context 'nope' not found in the kubeconfig")
        opened.append(settings.kube.context)
        return StaticFeed([build_frame(other, build_metrics(), NOW)])

    monkeypatch.setattr(feed_mod, "open_feed", fake_open)
    app = make_app()
    first_feed = app.feed
    notes = []
    notify = app.notify
    app.notify = lambda message, **kw: (notes.append((message, kw.get("severity"))), notify(message, **kw))
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        assert "ctx ml-staging" in screen_text(app)
        app.switch_context("nope")
        await until(pilot, lambda: ("context 'nope' not found in the kubeconfig", "error") in notes)
        assert "ctx ml-staging" in screen_text(app)  # a failed switch keeps the current context
        app.switch_context("prod-eu")
        await until(pilot, lambda: "ctx prod-eu" in screen_text(app) and app.main_screen.latest is not None)
        assert opened == ["prod-eu"] and app.feed is not first_feed
        await until(pilot, lambda: first_feed._closed.is_set())  # the old feed was closed


async def test_a_burst_of_keys_after_slash_all_land_in_the_filter():
    """A fast typist's "/a100" arrives in one read: the app hands every key to the table (which had
    focus) before "/" has opened the filter bar. None of them may trigger a binding ("1" = overview)."""
    from textual import events

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("3")
        table = panel(app, "gpus").table
        for ch, key in (("/", "slash"), ("a", "a"), ("1", "1"), ("0", "0"), ("0", "0")):
            app.post_message(events.Key(key, ch))  # no waiting in between, like a burst from the terminal
        await until(pilot, lambda: table.filter == "a100")
        assert app.active_view == "gpus"
        assert {r.key for r in table.visible_rows} == {"gpu-a100-1", "gpu-a100-2"}


async def test_a_burst_after_slash_with_the_tables_own_keys_lands_in_the_filter():
    """"/go" in one read: "g" (first row) and "o" (sort) are the table's bindings, and the table had
    focus when they were queued; they are filter text and the sort stays."""
    from textual import events

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("7", "down", "down")
        table = panel(app, "findings").table
        sort = (table.sort_column, table.sort_reverse)
        for ch, key in (("/", "slash"), ("g", "g"), ("o", "o"), ("G", "G")):
            app.post_message(events.Key(key, ch))
        await until(pilot, lambda: table.filter == "goG")
        assert (table.sort_column, table.sort_reverse) == sort and app.active_view == "findings"


async def test_view_settled_waits_for_rows_built_off_the_ui_thread(monkeypatch):
    """Views over INLINE_ROWS build their rows in a worker; view_settled says when they are in place
    (the SVG export waits on it)."""
    import kubewatch_ml.screens.main as main_mod

    monkeypatch.setattr(main_mod, "INLINE_ROWS", 0)  # every view counts as big here
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("7")
        await until(pilot, lambda: app.view_settled)
        assert panel(app, "findings").table.row_count == len(app.main_screen.latest.items["findings"]) > 0
        assert "SEVERITY" in screen_text(app) and "building" not in screen_text(app)
