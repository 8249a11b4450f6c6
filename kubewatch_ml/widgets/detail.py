"""The detail pane under (or beside) a view's table: the selected row, in full."""
from __future__ import annotations

from rich.console import RenderableType
from textual.containers import VerticalScroll
from textual.widgets import Static


class DetailPane(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
    DetailPane { border-top: solid $primary 50%; padding: 0 1; }
    DetailPane > Static { width: 1fr; }
    """

    def compose(self):
        yield Static("", classes="detail-body")

    def show(self, renderable: RenderableType) -> None:
        self.query_one(".detail-body", Static).update(renderable)
