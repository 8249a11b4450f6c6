"""The panel every table view shares: caption, table, detail pane of the selected row."""
from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.widgets import Static

from ..feed import ObjectRef
from ..widgets.detail import DetailPane
from ..widgets.render import clean
from ..widgets.table import RowTable, TableState
from .views import PreparedFrame, ViewSpec, zone_summary


class ViewPanel(Vertical):
    """The table views share one panel (one table, one detail pane): switching views swaps columns,
    rows and the view's remembered filter/sort/cursor, without relayout or a focus change."""

    def __init__(self) -> None:
        super().__init__(id="view", classes="view")
        self.spec: ViewSpec | None = None  # None until a view is first shown
        self.shown_frame: PreparedFrame | None = None
        self.states: dict[str, TableState] = {}

    def compose(self) -> ComposeResult:
        yield Static("", classes="caption")
        yield Static("", classes="zone-summary")
        with Container(classes="body"):
            yield RowTable(id="table")
            yield DetailPane(classes="detail")

    def on_mount(self) -> None:
        self.query_one(".zone-summary", Static).display = False

    @property
    def table(self) -> RowTable:
        return self.query_one(RowTable)

    def show(self, spec: ViewSpec, prepared: PreparedFrame) -> None:
        """Apply a frame to a view (only called for the visible view). Rows may still be building."""
        switching = self.spec is None or spec.id != self.spec.id
        if not switching and prepared is self.shown_frame and prepared.has_rows(spec.id) and not self.table.busy:
            return
        if switching:
            if self.spec is not None:
                self.states[self.spec.id] = self.table.get_state()
            self.spec = spec
        self.shown_frame = prepared
        analysis = prepared.frame.analysis
        rows = prepared.rows.get(spec.id)
        self.table.load(spec.columns(analysis), rows,
                        self.states.pop(spec.id, TableState()) if switching else None)
        summary = self.query_one(".zone-summary", Static)
        if spec.id == "zones":
            summary.update(zone_summary(analysis, prepared.palette))
        if summary.display != (spec.id == "zones"):
            summary.display = spec.id == "zones"
        self.update_caption()
        self.update_detail()

    def set_view_state(self, view_id: str, *, cursor_key: str | None = None, filter: str | None = None) -> None:
        """For jumps: where the cursor and filter of a view should be (now, or when it is next shown)."""
        if self.spec is not None and view_id == self.spec.id:
            if filter is not None:
                self.table.set_filter(filter)
            if cursor_key is not None and not self.table.set_cursor_key(cursor_key):
                self.table.set_filter("")
                self.table.set_cursor_key(cursor_key)
            return
        st = self.states.get(view_id, TableState())
        self.states[view_id] = TableState(filter if filter is not None else ("" if cursor_key else st.filter),
                                          st.sort_key, st.reverse, cursor_key if cursor_key is not None else st.cursor_key)

    def update_caption(self) -> None:
        if self.shown_frame is None:
            return
        t = self.table
        pal = self.shown_frame.palette
        cap = Text.assemble((self.spec.title, "bold"), "  ")
        shown, total = len(t.visible_rows), t.row_count
        if t.busy and not total:
            total = len(self.shown_frame.items.get(self.spec.id, ()))
            cap.append(f"building {total:,} rows…", style=pal.dim)
        else:
            cap.append(f"{shown:,} of {total:,}" if t.filter else f"{total:,} row{'' if total == 1 else 's'}")
        if t.sort_column is not None:
            cap.append(f" · sorted by {t.sort_column.title} {'▼' if t.sort_reverse else '▲'}", style=pal.dim)
        if t.filter:
            cap.append(" · filter: ", style=pal.dim)
            cap.append(clean(t.filter), style=pal.accent)
        try:
            note = self.spec.note(self.shown_frame.frame.analysis)
        except Exception:
            note = ""
        if note:
            cap.append("  ")
            cap.append(clean(note), style=pal.warning)
        if total == 0 and not t.busy:
            cap.append(f"  ({self.spec.empty})", style=pal.dim)
        self.query_one(".caption", Static).update(cap)

    def current_item(self):
        if self.spec is None or self.shown_frame is None or self.table.cursor_key is None:
            return None
        return self.shown_frame.items.get(self.spec.id, {}).get(self.table.cursor_key)

    def current_selection(self) -> ObjectRef | None:
        item = self.current_item()
        return None if item is None else self.spec.ref(item)

    def update_detail(self) -> None:
        item = self.current_item()
        pane = self.query_one(DetailPane)
        if item is None or self.shown_frame is None:
            pane.show(Text("select a row to see its details", style="dim"))
            return
        try:
            pane.show(self.spec.detail(item, self.shown_frame.frame, self.shown_frame.palette))
        except Exception as e:  # a detail renderer bug shows as text, never a crash
            pane.show(Text(f"cannot render detail: {type(e).__name__}: {clean(e)}", style="red"))

    @on(RowTable.CursorMoved)
    def _cursor_moved(self, event: RowTable.CursorMoved) -> None:
        if self.shown_frame is not None:
            self.update_detail()

    @on(RowTable.ViewChanged)
    def _view_changed(self, event: RowTable.ViewChanged) -> None:
        self.update_caption()

    @on(RowTable.Selected)
    def _selected(self, event: RowTable.Selected) -> None:
        self.toggle_class("-detail-max")
