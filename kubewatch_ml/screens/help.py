"""`?`: every binding with its key (after the config file's remaps), description and id."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def binding_rows(app) -> list[tuple[str, str, str, str]]:
    """(scope, keys, description, id) for every binding the app defines, keymap applied."""
    from ..widgets.table import RowTable

    keymap = getattr(app, "keymap", {}) or {}
    rows = []
    seen: set[str] = set()
    # every class's own BINDINGS (a subclass such as the replay app adds its keys to ours)
    scopes = [("global", c) for c in reversed(type(app).__mro__) if "BINDINGS" in c.__dict__] + [("table", RowTable)]
    for scope, cls in scopes:
        for b in cls.__dict__.get("BINDINGS", []):
            if not isinstance(b, Binding) or (b.id and b.id in seen):
                continue
            if b.id:
                seen.add(b.id)
            keys = keymap.get(b.id, b.key) if b.id else b.key
            shown = ", ".join(app.get_key_display(Binding(k.strip(), b.action)) for k in keys.split(","))
            rows.append((scope, shown, b.description or b.tooltip or b.action, b.id or ""))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 100%; height: 90%; border: thick $primary; background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        t = Table(box=None, padding=(0, 2), expand=True, title="kubewatch-ml keys", title_style="bold")
        t.add_column("KEY", no_wrap=True, style="bold")
        t.add_column("WHAT")
        t.add_column(Text("ID (config.toml [keys])"), style="dim", no_wrap=True)  # Text: "[keys]" is not markup
        for scope, keys, desc, bid in binding_rows(self.app):
            t.add_row(Text(keys), Text(desc), Text(bid))
        tips = Text("\nClick a tab to switch views, a column header to sort (again to reverse), a row to select it.\n"
                    "Filter: words must all match (any column), !word excludes. Remap keys in "
                    f"{getattr(self.app, 'config_path', '~/.config/kubewatch-ml/config.toml')}.", style="dim")
        with VerticalScroll():
            yield Static(t)
            yield Static(tips)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).scroll_home(animate=False)

    def action_dismiss(self) -> None:
        self.dismiss(None)
