"""RowTable on its own: 20,000 rows (over ASYNC_ROWS, so filter and sort run in a thread worker),
only the visible lines drawn, the cursor following its row key."""
from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from kubewatch_ml.widgets.table import ASYNC_ROWS, Column, Row, RowTable, TableState

from .conftest import screen_text, until

N = 20_000


class TableApp(App):
    def __init__(self):
        super().__init__()
        self.built = 0

    def compose(self) -> ComposeResult:
        yield RowTable([Column("name", "NAME", 12, flex=True), Column("n", "N", 8, align="right"),
                        Column("zone", "ZONE", 6)], id="t")

    def cells(self, item):
        self.built += 1
        name, n, zone = item
        return (Text(name), Text(str(n)), Text(zone))

    def rows(self):
        return [Row(f"pod-{i:05d}", (f"pod-{i:05d}", (i * 7919) % N, "abc"[i % 3]), f"pod-{i:05d} zone-{'abc'[i % 3]}",
                    (f"pod-{i:05d}", (i * 7919) % N, "abc"[i % 3]), self.cells) for i in range(N)]


async def test_big_table_sorts_and_filters_off_the_ui_thread_and_draws_only_what_is_visible():
    assert N > ASYNC_ROWS
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        t = app.query_one(RowTable)
        t.set_rows(app.rows())
        assert t.busy  # big: computed in a worker
        await until(pilot, lambda: not t.busy)
        assert t.row_count == N and len(t.visible_rows) == N
        assert app.built < 400  # cells built for the ~18 lines on screen (a few relayouts), not for 20,000 rows
        assert "pod-00000" in screen_text(app)
        t.focus()
        await pilot.press("down", "down")
        assert t.cursor_key == "pod-00002"
        t.sort_by("n", reverse=True)
        await until(pilot, lambda: not t.busy)
        values = [r.sort[1] for r in t.visible_rows]
        assert values == sorted(values, reverse=True)
        assert t.cursor_key == "pod-00002"  # the cursor stayed on its row
        t.set_filter("zone-b")
        await until(pilot, lambda: not t.busy)
        assert len(t.visible_rows) == len([i for i in range(N) if i % 3 == 1])
        assert all(r.text.endswith("zone-b") for r in t.visible_rows)
        await pilot.press("end")
        assert t.cursor_key == t.visible_rows[-1].key
        assert t.cursor_key in screen_text(app)  # scrolled to the last row
        state = t.get_state()
        assert state == TableState("zone-b", "n", True, t.cursor_key)


async def test_empty_and_no_match_placeholders():
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        t = app.query_one(RowTable)
        t.set_rows([])
        await pilot.pause()
        assert "(nothing to show)" in screen_text(app)
        t.set_rows(app.rows()[:10])
        t.set_filter("nomatch")
        await pilot.pause()
        assert "(no rows match the filter)" in screen_text(app)
        t.load(t.columns, None)
        await pilot.pause()
        assert "(loading…)" in screen_text(app) and t.busy
