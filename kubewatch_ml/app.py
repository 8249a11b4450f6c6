"""KubewatchApp: the terminal dashboard. Data arrives as frames from a Feed (feed.py); the main
screen renders the visible view. Every key is a Binding with an id (remappable in config.toml).

Hook for actions (scale, cordon, drain, labels, taints, undo): `kubewatch_ml/screens/action_keys.py`
may define `ACTION_BINDINGS` (list of Binding) and a mixin class `ActionKeys` with the `action_*`
methods and `check_action`; the app picks them up. They act on `app.current_selection()`.
"""
from __future__ import annotations

import asyncio
import gc
import signal
import sys
import time
from typing import Callable

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.message import Message

from .config import Config
from .errors import UserError
from .feed import Feed, ObjectRef
from .screens.help import HelpScreen
from .screens.main import MainScreen, VIEW_IDS
from .screens.palette import PROVIDERS
from .settings import Settings, config_path
from .widgets.render import Palette

try:  # the actions engineer's keys and modals (optional until they land)
    from .screens.action_keys import ACTION_BINDINGS, ActionKeys
except ModuleNotFoundError as _missing:  # pragma: no cover - only before the actions land
    if _missing.name != f"{__package__}.screens.action_keys":
        raise
    ACTION_BINDINGS: list = []

    class ActionKeys:  # type: ignore[no-redef]
        pass


class ContextOpened(Message):
    def __init__(self, feed: Feed, settings: Settings) -> None:
        super().__init__()
        self.feed = feed
        self.settings = settings


class ContextFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


VIEW_BINDINGS = [
    Binding(str(n), f"show_view('{vid}')", title, id=f"view.{vid}", show=False)
    for n, (vid, title) in enumerate(
        zip(VIEW_IDS, ["Overview", "Quotas", "GPU nodes", "HPAs", "Probes", "Zones", "Findings", "Pending"]), start=1)
]


class KubewatchApp(ActionKeys, App[int]):
    CSS_PATH = "kubewatch.tcss"
    TITLE = "kubewatch-ml"
    HORIZONTAL_BREAKPOINTS = [(0, "-xnarrow"), (80, "-narrow"), (140, "-medium"), (170, "-wide")]
    COMMANDS = App.COMMANDS | set(PROVIDERS)
    COMMAND_PALETTE_BINDING = "ctrl+p"

    BINDINGS = [
        *VIEW_BINDINGS,
        Binding("slash", "filter", "Filter", id="filter", tooltip="Filter the rows of this view"),
        Binding("colon", "command_palette", "Jump", id="jump", tooltip="Jump to a namespace, node, workload or view"),
        Binding("escape", "cancel", "Clear filter", show=False, id="cancel"),
        Binding("right_square_bracket", "next_view", "Next view", show=False, id="view.next"),
        Binding("left_square_bracket", "previous_view", "Previous view", show=False, id="view.previous"),
        Binding("z", "toggle_detail", "Detail", id="detail.toggle", tooltip="Enlarge or shrink the detail pane"),
        Binding("ctrl+t", "toggle_theme", "Theme", show=False, id="theme.toggle"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
        *ACTION_BINDINGS,
    ]

    def __init__(self, feed: Feed, settings: Settings | None = None, config: Config | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.feed = feed
        self.settings = settings or Settings()
        self.config = config or Config()
        self.clock = clock
        self.keymap: dict[str, str] = dict(self.config.keys)
        self.config_path = self.config.path or str(config_path())
        self.palette = Palette()
        self.status_extra = ""  # a short note for the status line (e.g. "demo: direct scrape")
        super().__init__()
        self.main_screen: MainScreen | None = None

    @classmethod
    def binding_ids(cls) -> set[str]:
        from .widgets.table import RowTable

        return {b.id for b in [*cls.BINDINGS, *RowTable.BINDINGS] if isinstance(b, Binding) and b.id}

    def get_default_screen(self) -> MainScreen:
        self.main_screen = MainScreen(self.feed, clock=self.clock, refresh_seconds=self.settings.refresh_seconds)
        return self.main_screen

    def on_mount(self) -> None:
        # Fewer, cheaper collections: analysis allocates a lot of short-lived objects per frame and
        # the default gen0 threshold (700) promotes them into costly full collections.
        self._exit_on_signals()
        gc.set_threshold(50_000, 20, 100)
        # The UI thread gives up the GIL at every select(); taking it back from a busy feed thread
        # costs up to one switch interval each time (default 5 ms, many times per key press).
        sys.setswitchinterval(0.001)
        try:
            self.theme = self.config.textual_theme
        except Exception:
            self.notify(f"unknown theme {self.config.theme!r}; using dark", severity="warning", markup=False)
            self.theme = "textual-dark"
        self.palette = Palette.from_theme(self.current_theme)
        if self.keymap:
            self.set_keymap(self.keymap)

    def watch_theme(self, theme: str) -> None:
        self.palette = Palette.from_theme(self.current_theme)
        if self.main_screen is not None and self.main_screen.latest is not None:
            self.main_screen.reprepare(self.palette)

    def _exit_on_signals(self) -> None:
        """SIGTERM, or SIGHUP when the terminal goes away: leave through the normal exit path, so the
        feed closes and `demo` stops its simulator and Prometheus (a killed tmux pane used to leave a
        Prometheus running)."""
        try:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, self.exit)
            self._signals_set = True
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no such signals
            self._signals_set = False

    def on_unmount(self) -> None:
        if getattr(self, "_signals_set", False):
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)
        self.feed.close()

    async def _on_key(self, event: events.Key) -> None:
        # A key that bubbled up from the table after "/" (same burst) gave the filter bar focus
        # belongs in the filter, not to a binding ("1" would leave the view).
        # (Textual calls every class's _on_key along the MRO; prevent_default skips App's bindings.)
        if (self.main_screen is not None and self.screen is self.main_screen and event.is_printable
                and event.character and self.main_screen.typed_while_filtering(event.character)):
            event.prevent_default()

    # ------------------------------------------------------------------ what actions use
    def current_selection(self) -> ObjectRef | None:
        """The object behind the selected row of the visible view (None on the overview)."""
        return None if self.main_screen is None else self.main_screen.current_selection()

    @property
    def view_settled(self) -> bool:
        """The visible view shows the latest frame with its rows in place (big views build their rows,
        and filter/sort them, in a worker): wait for this before a screenshot."""
        main = self.main_screen
        if main is None or main.latest is None:
            return False
        panel = main.active_panel()
        return panel is None or (panel.shown_frame is main.latest and not panel.table.busy)

    @property
    def active_view(self) -> str:
        return "overview" if self.main_screen is None else self.main_screen.active

    # ------------------------------------------------------------------ actions
    def action_show_view(self, view_id: str) -> None:
        if self.main_screen is not None:
            if self.screen is not self.main_screen:
                return
            self.main_screen.show_view(view_id)

    def _step_view(self, delta: int) -> None:
        i = VIEW_IDS.index(self.active_view)
        self.action_show_view(VIEW_IDS[(i + delta) % len(VIEW_IDS)])

    def action_next_view(self) -> None:
        self._step_view(1)

    def action_previous_view(self) -> None:
        self._step_view(-1)

    def action_filter(self) -> None:
        if self.main_screen is not None:
            self.main_screen.open_filter()

    def action_cancel(self) -> None:
        if self.main_screen is not None:
            panel = self.main_screen.active_panel()
            if not self.main_screen.cancel_filter() and panel is not None and panel.has_class("-detail-max"):
                panel.remove_class("-detail-max")

    def action_toggle_detail(self) -> None:
        panel = self.main_screen.active_panel() if self.main_screen else None
        if panel is not None:
            panel.toggle_class("-detail-max")

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # ------------------------------------------------------------------ other contexts
    @property
    def can_switch_context(self) -> bool:
        """Only a live feed (a kubeconfig connection) can move to another context."""
        return getattr(self.feed, "conn", None) is not None

    def switch_context(self, context: str) -> None:
        self.notify(f"connecting to {context}…", timeout=3, markup=False)
        self._open_context(context)

    @work(thread=True, exclusive=True, exit_on_error=False, group="context", description="connect to another context")
    def _open_context(self, context: str) -> None:
        from dataclasses import replace

        from . import feed as feed_mod

        settings = replace(self.settings, kube=replace(self.settings.kube, context=context, readonly=self.settings.kube.readonly))
        try:
            new = feed_mod.open_feed(settings, readonly_contexts=self.config.readonly_for)
        except UserError as e:  # one line, the current context stays
            self.post_message(ContextFailed(str(e)))
            return
        self.post_message(ContextOpened(new, settings))

    def on_context_opened(self, message: "ContextOpened") -> None:
        if self.main_screen is None:
            message.feed.close()
            return
        self.settings = message.settings
        self.feed = message.feed
        old = self.main_screen.switch_feed(message.feed)
        self._close_feed(old)

    def on_context_failed(self, message: "ContextFailed") -> None:
        self.notify(message.error, severity="error", timeout=8, markup=False)

    @work(thread=True, exit_on_error=False, group="close", description="close the previous feed")
    def _close_feed(self, feed: Feed) -> None:
        feed.close()

    def jump(self, view_id: str, key: str | None = None, filter: str | None = None) -> None:
        if self.main_screen is not None:
            if not self.main_screen.jump(view_id, key, filter) and key:
                self.notify(f"{key} is not in this view", severity="warning", markup=False)
