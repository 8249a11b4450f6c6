"""A one-line tab bar (the number keys' targets); clicking a label switches the view."""
from __future__ import annotations

from rich.text import Text
from textual.events import Click
from textual.message import Message
from textual.widget import Widget


class ViewTabs(Widget):
    DEFAULT_CSS = """
    ViewTabs { height: 1; background: $panel; }
    """

    class Clicked(Message):
        def __init__(self, view_id: str) -> None:
            super().__init__()
            self.view_id = view_id

    def __init__(self, tabs: list[tuple[str, str, str]], *, id: str | None = None) -> None:
        """tabs: (view id, key label, title)."""
        super().__init__(id=id)
        self._tabs = tabs
        self._active = tabs[0][0] if tabs else ""
        self._counts: dict[str, str] = {}
        self._spans: list[tuple[int, int, str]] = []

    @property
    def active(self) -> str:
        return self._active

    def set_active(self, view_id: str) -> None:
        self._active = view_id
        self.refresh()

    def set_counts(self, counts: dict[str, str]) -> None:
        if counts != self._counts:
            self._counts = counts
            self.refresh()

    def set_keys(self, keys: dict[str, str]) -> None:
        """Show remapped keys in the labels."""
        self._tabs = [(v, keys.get(v, k), title) for v, k, title in self._tabs]
        self.refresh()

    def render(self) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis", end="")
        self._spans = []
        compact = self.size.width and self.size.width < 100
        for view_id, key, title in self._tabs:
            start = t.cell_len
            active = view_id == self._active
            label = title.split()[0] if compact else title
            count = "" if compact else self._counts.get(view_id, "")
            t.append(f" {key}", style="bold reverse" if active else "bold")
            t.append(f" {label}" + (f" {count}" if count else "") + " ", style="reverse" if active else "")
            self._spans.append((start, t.cell_len, view_id))
        return t

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        for start, end, view_id in self._spans:
            if start <= offset.x < end:
                self.post_message(self.Clicked(view_id))
                break
