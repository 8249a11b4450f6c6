"""RowTable: a line-API table for lists of any size (a handful of quotas to 150,000 pods).

It serves cached Strips from a filtered, sorted snapshot of immutable rows (STYLE.md 6), so a
repaint costs only the visible lines. Filtering and sorting run inline for small lists and in a
thread worker above ASYNC_ROWS; the cursor follows its row key across refreshes, sorts and filters.
The header row is clickable (sort; click again to reverse), rows are clickable (cursor).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.events import Click, Resize
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

ASYNC_ROWS = 5000  # above this, filter + sort run off the UI thread
_CACHE_MAX = 4000


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int  # preferred width in cells
    align: str = "left"  # left | right
    flex: bool = False  # takes a share of the spare width
    drop: int = 0  # > 0: may be hidden on narrow terminals, higher numbers first


class Row:
    """One table row. Cells are built only when the row is drawn (`build(item)`), so a 150,000-row
    list costs a key, a sort tuple and a filter string per row, not a dozen rich Text objects."""

    __slots__ = ("key", "sort", "text", "item", "build")

    def __init__(self, key: str, sort: tuple, text: str, item: object = None,
                 build: Callable[[object], Sequence[Text]] | None = None) -> None:
        self.key = key
        self.sort = sort  # one comparable value (or None) per column
        self.text = text  # lower-case haystack for the filter
        self.item = item  # the view model behind the row
        self.build = build

    def __repr__(self) -> str:
        return f"Row({self.key!r})"

    @property
    def cells(self) -> tuple[Text, ...]:
        if self.build is None:
            return tuple(c if isinstance(c, Text) else Text(str(c)) for c in (self.item or ()))
        return tuple(self.build(self.item))

    def same_as(self, other: "Row") -> bool:
        return other is self or (other.item is self.item and other.build is self.build and other.key == self.key)


@dataclass(frozen=True)
class TableState:
    """What a view remembers while another view is shown."""

    filter: str = ""
    sort_key: str | None = None
    reverse: bool = False
    cursor_key: str | None = None


def matches(row: Row, terms: Sequence[str]) -> bool:
    """Every term must occur; a term starting with '!' must not."""
    hay = row.text
    for t in terms:
        if t.startswith("!") and len(t) > 1:
            if t[1:] in hay:
                return False
        elif t not in hay:
            return False
    return True


def compute_view(rows: Sequence[Row], flt: str, sort_index: int | None, reverse: bool) -> list[Row]:
    """Filter then sort (stable; None values always last). Pure, runs in any thread."""
    terms = flt.lower().split()
    out = [r for r in rows if matches(r, terms)] if terms else list(rows)
    if sort_index is not None:
        def value(r: Row):
            return r.sort[sort_index] if sort_index < len(r.sort) else None

        present = [r for r in out if value(r) is not None]
        missing = [r for r in out if value(r) is None]
        try:
            present.sort(key=value, reverse=reverse)
        except TypeError:  # mixed types in one column: compare as text
            present.sort(key=lambda r: str(value(r)), reverse=reverse)
        out = present + missing
    return out


class RowTable(ScrollView, can_focus=True):
    """A sortable, filterable table of `Row`s, rendered through the line API."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown,space", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("home,g", "edge(0)", "First row", show=False, id="table.first"),
        Binding("end,G", "edge(1)", "Last row", show=False, id="table.last"),
        Binding("o", "sort_next", "Sort", id="table.sort_next", tooltip="Sort by the next column"),
        Binding("O", "sort_reverse", "Reverse", show=False, id="table.sort_reverse"),
        Binding("enter", "select", "Detail", show=False, id="table.select"),
    ]

    COMPONENT_CLASSES = {"rowtable--header", "rowtable--cursor", "rowtable--sorted"}

    DEFAULT_CSS = """
    RowTable { height: 1fr; background: $surface; }
    RowTable > .rowtable--header { text-style: bold; background: $panel; color: $text; }
    RowTable > .rowtable--sorted { text-style: bold underline; }
    RowTable > .rowtable--cursor { background: $primary 20%; }
    RowTable:focus > .rowtable--cursor { background: $primary 40%; text-style: bold; }
    """

    class CursorMoved(Message):
        """The highlighted row changed (key is None when the table is empty)."""

        def __init__(self, table: "RowTable", key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> "RowTable":
            return self.table

    class Selected(CursorMoved):
        """Enter (or a double click) on a row."""

    class ViewChanged(Message):
        """Row count, sort or filter changed (for the view's caption)."""

        def __init__(self, table: "RowTable") -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> "RowTable":
            return self.table

    class _Computed(Message):
        def __init__(self, generation: int, rows: list[Row]) -> None:
            super().__init__()
            self.generation = generation
            self.rows = rows

    def __init__(self, columns: Sequence[Column] = (), *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._columns: tuple[Column, ...] = tuple(columns)
        self._rows: Sequence[Row] = ()
        self._view: list[Row] = []
        self._filter = ""
        self._sort_index: int | None = None
        self._reverse = False
        self._cursor = 0
        self._cursor_key: str | None = None
        self._generation = 0
        self._pending = False  # an async recompute is running
        self._loading = False  # the rows themselves are being built
        self._layout: tuple[int, tuple[tuple[int, int, int], ...], int] | None = None
        self._cache: dict[str, tuple[Row, Strip]] = {}
        self._header_cache: tuple[tuple, Strip] | None = None

    # ------------------------------------------------------------------ public API
    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def visible_rows(self) -> list[Row]:
        return self._view

    @property
    def cursor_key(self) -> str | None:
        return self._cursor_key

    @property
    def cursor_row(self) -> Row | None:
        return self._view[self._cursor] if 0 <= self._cursor < len(self._view) else None

    @property
    def filter(self) -> str:
        return self._filter

    @property
    def sort_column(self) -> Column | None:
        return None if self._sort_index is None else self._columns[self._sort_index]

    @property
    def sort_reverse(self) -> bool:
        return self._reverse

    @property
    def busy(self) -> bool:
        return self._pending or self._loading

    def set_columns(self, columns: Sequence[Column]) -> None:
        columns = tuple(columns)
        if columns == self._columns:
            return
        old = self.sort_column
        self._columns = columns
        keys = [c.key for c in columns]
        self._sort_index = keys.index(old.key) if old is not None and old.key in keys else None
        self._invalidate_layout()

    def set_rows(self, rows: Sequence[Row]) -> None:
        self._rows = rows
        self._loading = False
        self._recompute()

    def get_state(self) -> TableState:
        col = self.sort_column
        return TableState(self._filter, col.key if col else None, self._reverse, self._cursor_key)

    def load(self, columns: Sequence[Column], rows: Sequence[Row] | None, state: TableState | None = None) -> None:
        """Switch the table to another view's columns, rows and remembered state, in one recompute.
        rows None: the rows are being built; show a placeholder until set_rows()."""
        self._cache.clear()
        if state is not None:
            self._sort_index, self._columns = None, ()
        self.set_columns(columns)
        if state is not None:
            keys = [c.key for c in self._columns]
            self._filter = state.filter
            self._sort_index = keys.index(state.sort_key) if state.sort_key in keys else None
            self._reverse = state.reverse
            self._cursor_key = state.cursor_key
            self._cursor = 0
            self.scroll_to(0, 0, animate=False, immediate=True)
        self._header_cache = None
        if rows is None:
            self._rows, self._view, self._loading = (), [], True
            self._update_virtual_size()
            self.refresh()
            self.post_message(self.ViewChanged(self))
        else:
            self.set_rows(rows)

    def set_filter(self, text: str) -> None:
        if text != self._filter:
            self._filter = text
            self._recompute()

    def sort_by(self, key: str | None, reverse: bool = False) -> None:
        keys = [c.key for c in self._columns]
        self._sort_index = keys.index(key) if key in keys else None
        self._reverse = reverse
        self._header_cache = None
        self._recompute()

    def set_cursor_key(self, key: str) -> bool:
        """Move the cursor to the row with this key; False when it is not visible."""
        if self._pending or self._loading:  # rows on their way: the cursor lands on it when they arrive
            self._cursor_key = key
            return True
        for i, r in enumerate(self._view):
            if r.key == key:
                self._move_cursor(i)
                return True
        return False

    # ------------------------------------------------------------------ recompute
    def _recompute(self) -> None:
        self._generation += 1
        if len(self._rows) > ASYNC_ROWS:
            self._pending = True
            self._compute(self._generation, self._rows, self._filter, self._sort_index, self._reverse)
        else:
            self._apply(compute_view(self._rows, self._filter, self._sort_index, self._reverse))

    # description given: Textual's default is repr() of the arguments, here up to 150,000 rows
    @work(thread=True, exclusive=True, exit_on_error=False, group="rowtable", description="filter and sort rows")
    def _compute(self, generation: int, rows, flt, sort_index, reverse) -> None:
        self.post_message(self._Computed(generation, compute_view(rows, flt, sort_index, reverse)))

    def on_row_table__computed(self, message: "_Computed") -> None:
        message.stop()
        if message.generation == self._generation:
            self._pending = False
            self._apply(message.rows)

    def _apply(self, view: list[Row]) -> None:
        self._view = view
        self._header_cache = None
        index = None
        if self._cursor_key is not None:
            for i, r in enumerate(view):
                if r.key == self._cursor_key:
                    index = i
                    break
        if index is None:
            index = min(self._cursor, max(0, len(view) - 1))
        if len(self._cache) > _CACHE_MAX:
            self._cache.clear()
        self._update_virtual_size()
        self._move_cursor(index, force_message=True)
        self.refresh()
        self.post_message(self.ViewChanged(self))

    # ------------------------------------------------------------------ layout
    def _invalidate_layout(self) -> None:
        self._layout = None
        self._cache.clear()
        self._header_cache = None
        self._update_virtual_size()
        self.refresh()

    def on_resize(self, event: Resize) -> None:
        self._invalidate_layout()

    def _column_layout(self) -> tuple[tuple[tuple[int, int, int], ...], int]:
        """((column index, x, width), ...), total width — dropping optional columns to fit."""
        avail = max(10, self.scrollable_content_region.width or self.size.width or 80)
        if self._layout is not None and self._layout[0] == avail:
            return self._layout[1], self._layout[2]
        shown = list(range(len(self._columns)))

        def total(idx):
            return sum(self._columns[i].width for i in idx) + max(0, len(idx) - 1)

        for level in sorted({c.drop for c in self._columns if c.drop > 0}, reverse=True):
            if total(shown) <= avail:
                break
            shown = [i for i in shown if self._columns[i].drop != level]
        widths = {i: self._columns[i].width for i in shown}
        spare = avail - total(shown)
        flex = [i for i in shown if self._columns[i].flex]
        if spare > 0 and flex:
            share, extra = divmod(spare, len(flex))
            for n, i in enumerate(flex):
                widths[i] += share + (1 if n < extra else 0)
        cells, x = [], 0
        for i in shown:
            cells.append((i, x, widths[i]))
            x += widths[i] + 1
        width = max(0, x - 1)
        self._layout = (avail, tuple(cells), width)
        return tuple(cells), width

    def _update_virtual_size(self) -> None:
        _, width = self._column_layout() if self.is_mounted else ((), 0)
        self.virtual_size = Size(width, len(self._view) + 1)

    # ------------------------------------------------------------------ rendering
    def _row_strip(self, row: Row) -> Strip:
        cached = self._cache.get(row.key)
        if cached is not None and cached[0].same_as(row):
            return cached[1]
        cells, width = self._column_layout()
        line = Text(no_wrap=True, end="")
        for n, (i, _x, w) in enumerate(cells):
            if n:
                line.append(" ")
            cell = row.cells[i] if i < len(row.cells) else Text("")
            if not isinstance(cell, Text):
                cell = Text(str(cell))
            cell = cell.copy()
            cell.truncate(w, overflow="ellipsis")
            pad = w - cell.cell_len
            if pad > 0:
                if self._columns[i].align == "right":
                    line.append(" " * pad)
                    line.append_text(cell)
                else:
                    line.append_text(cell)
                    line.append(" " * pad)
            else:
                line.append_text(cell)
        strip = Strip(list(line.render(self.app.console)), line.cell_len).adjust_cell_length(width)
        self._cache[row.key] = (row, strip)
        return strip

    def _header_strip(self) -> Strip:
        cells, width = self._column_layout()
        sig = (cells, self._sort_index, self._reverse)
        if self._header_cache is not None and self._header_cache[0] == sig:
            return self._header_cache[1]
        header_style = self.get_component_rich_style("rowtable--header")
        sorted_style = self.get_component_rich_style("rowtable--sorted", partial=True)
        segs: list[Segment] = []
        for n, (i, _x, w) in enumerate(cells):
            if n:
                segs.append(Segment(" ", header_style))
            col = self._columns[i]
            title = col.title
            if i == self._sort_index:
                title += "▼" if self._reverse else "▲"
            title = title[:w]
            title = title.rjust(w) if col.align == "right" else title.ljust(w)
            segs.append(Segment(title, header_style + sorted_style if i == self._sort_index else header_style))
        strip = Strip(segs, width).adjust_cell_length(width, header_style)
        self._header_cache = (sig, strip)
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            return self._header_strip().crop_extend(scroll_x, scroll_x + width, self.get_component_rich_style("rowtable--header"))
        index = scroll_y + y - 1
        if index >= len(self._view):
            if index == 0 and not self._view:
                msg = "(loading…)" if self.busy else ("(no rows match the filter)" if self._filter else "(nothing to show)")
                return Strip([Segment(msg, base + Style(dim=True))]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        if index == self._cursor:  # the cursor's background replaces the base background beneath the cells
            base = base + self.get_component_rich_style("rowtable--cursor")
        return self._row_strip(self._view[index]).crop_extend(scroll_x, scroll_x + width, base).apply_style(base)

    # ------------------------------------------------------------------ cursor
    def _move_cursor(self, index: int, force_message: bool = False) -> None:
        n = len(self._view)
        index = max(0, min(index, n - 1)) if n else 0
        old_index, old_key = self._cursor, self._cursor_key
        self._cursor = index
        self._cursor_key = self._view[index].key if n else None
        visible = max(1, self.scrollable_content_region.height - 1)
        if index < self.scroll_offset.y:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= self.scroll_offset.y + visible:
            self.scroll_to(y=index - visible + 1, animate=False, immediate=True)
        if old_index != index:
            self.refresh_line(old_index)
        self.refresh_line(index)
        if force_message or old_key != self._cursor_key:
            self.post_message(self.CursorMoved(self, self._cursor_key))

    def refresh_line(self, index: int) -> None:
        y = index - self.scroll_offset.y + 1
        if 1 <= y < self.size.height:
            self.refresh_lines(y)

    def action_cursor(self, delta: int) -> None:
        self._move_cursor(self._cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_cursor(self._cursor + direction * max(1, self.scrollable_content_region.height - 2))

    def action_edge(self, end: int) -> None:
        self._move_cursor(len(self._view) - 1 if end else 0)

    def action_sort_next(self) -> None:
        if not self._columns:
            return
        nxt = 0 if self._sort_index is None else self._sort_index + 1
        shown = [i for i, _x, _w in self._column_layout()[0]]
        while nxt < len(self._columns) and nxt not in shown:
            nxt += 1
        if nxt >= len(self._columns):
            self.sort_by(None)
        else:
            self.sort_by(self._columns[nxt].key, self._reverse)

    def action_sort_reverse(self) -> None:
        if self._sort_index is None and self._columns:
            self._sort_index = 0
        self._reverse = not self._reverse
        self._header_cache = None
        self._recompute()

    def action_select(self) -> None:
        if self._cursor_key is not None:
            self.post_message(self.Selected(self, self._cursor_key))

    # ------------------------------------------------------------------ mouse
    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = offset.x + self.scroll_offset.x
            for i, cx, w in self._column_layout()[0]:
                if cx <= x < cx + w + 1:
                    col = self._columns[i]
                    if i == self._sort_index:
                        self.sort_by(col.key, not self._reverse)
                    else:
                        self.sort_by(col.key, False)
                    break
            return
        index = self.scroll_offset.y + offset.y - 1
        if 0 <= index < len(self._view):
            self._move_cursor(index)
            if event.chain >= 2:
                self.action_select()
