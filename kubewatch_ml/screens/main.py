"""The main screen: tab bar, the views (only the visible one renders), filter bar, status line.

A thread worker pulls frames from the feed, builds every view's rows off the UI thread and posts
FrameReady (a newer frame replaces a queued older one); the handler applies it to the visible view.
"""
from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Input, Static
from textual.worker import get_current_worker

from ..feed import Feed, FeedStatus, ObjectRef
from ..widgets.render import Palette, clean
from ..widgets.status import StatusLine, status_text
from ..widgets.tabs import ViewTabs
from .loading import LoadingPanel, loading_text
from .overview import OverviewPanel
from .view_panel import ViewPanel
from .views import INLINE_ROWS, VIEW_BY_ID, VIEWS, PreparedFrame, prepare

TABS = [("overview", "1", "Overview")] + [(v.id, v.key, v.title) for v in VIEWS]
VIEW_IDS = [t[0] for t in TABS]


class FrameReady(Message):
    """A new frame with every view's rows built (past tense: it is ready)."""

    def __init__(self, prepared: PreparedFrame) -> None:
        super().__init__()
        self.prepared = prepared

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FrameReady)


class FeedFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FeedFailed)


class RowsReady(Message):
    """A big view's rows were built off the UI thread."""

    def __init__(self, prepared: PreparedFrame, view_id: str) -> None:
        super().__init__()
        self.prepared = prepared
        self.view_id = view_id


class MainScreen(Screen):
    """Holds the latest frame; renders the visible view only."""

    def __init__(self, feed: Feed, *, clock=time.time, refresh_seconds: float = 2.0) -> None:
        super().__init__(id="main")
        self.feed = feed
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self.latest: PreparedFrame | None = None
        self.active = "overview"
        self.feed_error = ""
        self._dirty = False
        self._progress_timer = None

    def compose(self) -> ComposeResult:
        yield ViewTabs(TABS, id="tabs")
        with ContentSwitcher(initial="loading", id="views"):
            yield LoadingPanel(Text("connecting…", style="dim"), id="loading")
            yield OverviewPanel(id="overview")
            yield ViewPanel()
        yield Input(placeholder="filter: words must all match, !word excludes; Enter keeps, Esc clears", id="filter-bar")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter-bar", Input).display = False
        self._progress_timer = self.set_interval(0.25, self._poll_progress)
        self.set_interval(1.0, self.update_status)
        self._poll_progress()
        self.pull_frames()

    # ------------------------------------------------------------------ the feed
    @work(thread=True, exclusive=True, exit_on_error=False, group="feed", description="pull frames from the feed")
    def pull_frames(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled:
            try:
                frame = self.feed.next_frame(0.5)
                if frame is None or worker.is_cancelled:
                    continue
                self.post_message(FrameReady(prepare(frame, self.app.palette, [self.active])))
            except Exception as e:  # keep pulling; the status line shows what failed
                self.post_message(FeedFailed(f"{type(e).__name__}: {e}"))
                if self.feed_wait(1.0, worker):
                    return

    @staticmethod
    def feed_wait(seconds: float, worker) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if worker.is_cancelled:
                return True
            time.sleep(0.05)
        return False

    # description given: by default Textual builds it from repr() of the arguments (a whole frame)
    @work(thread=True, exclusive=True, exit_on_error=False, group="reprepare", description="rebuild rows in new colours")
    def reprepare(self, palette: Palette) -> None:
        """Rebuild rows in new colours after a theme change."""
        if self.latest is not None:
            self.post_message(FrameReady(prepare(self.latest.frame, palette, [self.active])))

    @work(thread=True, exclusive=True, exit_on_error=False, group="rows", description="build a big view's rows")
    def build_rows(self, prepared: PreparedFrame, view_id: str) -> None:
        prepared.rows_for(view_id)
        self.post_message(RowsReady(prepared, view_id))

    def on_rows_ready(self, message: RowsReady) -> None:
        if message.prepared is self.latest and message.view_id == self.active:
            self.render_active()

    def switch_feed(self, feed: Feed) -> Feed:
        """Show another feed (another context): back to the loading screen until its first frame.
        Returns the old feed, for the caller to close off the UI thread."""
        old, self.feed = self.feed, feed
        self.latest = None
        self.feed_error = ""
        self.query_one(ContentSwitcher).current = "loading"
        if self._progress_timer is not None:
            self._progress_timer.stop()
        self._progress_timer = self.set_interval(0.25, self._poll_progress)
        self._poll_progress()
        self.pull_frames()  # exclusive: replaces the loop on the old feed
        return old

    def on_frame_ready(self, message: FrameReady) -> None:
        first = self.latest is None
        self.latest = message.prepared
        self.feed_error = ""
        if first:
            if self._progress_timer is not None:
                self._progress_timer.stop()
            self.query_one(ContentSwitcher).current = "overview" if self.active == "overview" else "view"
        self._update_tab_counts()
        self.render_active()
        self.update_status()

    def on_feed_failed(self, message: FeedFailed) -> None:
        self.feed_error = clean(message.error)[:120]
        self.update_status()

    def _poll_progress(self) -> None:
        if self.latest is not None:
            return
        status = self.feed.progress()
        spin = int(self.clock() * 4) % 10  # from the (injectable) clock: a frozen clock gives a still picture
        self.query_one("#loading", LoadingPanel).update(loading_text(status, self.app.palette, "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"[spin]))
        self.update_status(status)

    # ------------------------------------------------------------------ rendering
    def render_active(self) -> None:
        if self.latest is None:
            return
        if self.app.screen is not self:  # behind a modal: render when we are back
            self._dirty = True
            return
        self._dirty = False
        if self.active == "overview":
            self.query_one(OverviewPanel).show(self.latest.frame, self.latest.palette)
            return
        latest = self.latest
        if not latest.has_rows(self.active):
            if len(latest.items.get(self.active, ())) <= INLINE_ROWS:
                latest.rows_for(self.active)
            else:  # a big view: build its rows off the UI thread, show a placeholder meanwhile
                self.build_rows(latest, self.active)
        self.query_one(ViewPanel).show(VIEW_BY_ID[self.active], latest)

    def on_screen_resume(self) -> None:
        if self._dirty:
            self.render_active()

    def _update_tab_counts(self) -> None:
        if self.latest is None:
            return
        counts = {}
        a = self.latest.frame.analysis
        crit = getattr(a.overview, "findings_critical", 0)
        for spec in VIEWS:
            n = len(self.latest.items.get(spec.id, ()))
            counts[spec.id] = f"({n})" if n else ""
        if crit:
            counts["findings"] = f"({len(a.findings)}, {crit}!)"
        self.query_one(ViewTabs).set_counts(counts)

    def update_status(self, status: FeedStatus | None = None) -> None:
        if status is None:
            status = self.latest.frame.status if self.latest is not None else self.feed.progress()
            if self.latest is not None and status.api_state not in ("static", "replay"):
                live = self.feed.progress()  # connection state moves between frames
                status = FeedStatus(**{**status.__dict__, "api_state": live.api_state, "api_error": live.api_error,
                                       "metrics_source": live.metrics_source or status.metrics_source})
        taken = self.latest.frame.taken_at if self.latest is not None else None
        extra = f"feed error: {self.feed_error}" if self.feed_error else getattr(self.app, "status_extra", "")
        self.query_one(StatusLine).update(status_text(status, taken, self.clock(), self.app.palette,
                                                      refresh_seconds=self.refresh_seconds, extra=extra))

    # ------------------------------------------------------------------ navigation
    def show_view(self, view_id: str) -> None:
        if view_id not in VIEW_IDS:
            return
        self.active = view_id
        self.query_one(ViewTabs).set_active(view_id)
        if self.latest is not None:
            self.query_one(ContentSwitcher).current = "overview" if view_id == "overview" else "view"
        filter_bar = self.query_one("#filter-bar", Input)
        filter_bar.display = False
        self.render_active()
        panel = self.active_panel()
        if panel is not None:
            panel.table.focus()

    def active_panel(self) -> ViewPanel | None:
        if self.active == "overview":
            return None
        return self.query_one(ViewPanel)

    def current_selection(self) -> ObjectRef | None:
        panel = self.active_panel()
        return None if panel is None else panel.current_selection()

    def on_view_tabs_clicked(self, message: ViewTabs.Clicked) -> None:
        self.show_view(message.view_id)

    # ------------------------------------------------------------------ filter
    def open_filter(self) -> None:
        panel = self.active_panel()
        if panel is None:
            self.show_view("findings")
            panel = self.active_panel()
        bar = self.query_one("#filter-bar", Input)
        bar.value = panel.table.filter
        bar.display = True
        # focus now, not via call_later: keys typed right after "/" must land in the filter
        self.set_focus(bar)

    def set_filter(self, text: str) -> None:
        panel = self.active_panel()
        if panel is not None:
            panel.table.set_filter(text)
            bar = self.query_one("#filter-bar", Input)
            if bar.value != text:
                bar.value = text

    def typed_while_filtering(self, character: str) -> bool:
        """Keys typed right after "/" may already be queued for the table (the app hands each key to
        whatever had focus when it arrived): once the filter bar has focus, they belong to it."""
        bar = self.query_one("#filter-bar", Input)
        if not bar.display or self.focused is not bar:
            return False
        bar.insert_text_at_cursor(character)
        return True

    @on(Input.Changed, "#filter-bar")
    def _filter_changed(self, event: Input.Changed) -> None:
        panel = self.active_panel()
        if panel is not None:
            panel.table.set_filter(event.value)

    @on(Input.Submitted, "#filter-bar")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#filter-bar", Input).display = False
        panel = self.active_panel()
        if panel is not None:
            panel.table.focus()

    def cancel_filter(self) -> bool:
        """Esc: close the filter bar and clear the filter. False when there was nothing to cancel."""
        bar = self.query_one("#filter-bar", Input)
        panel = self.active_panel()
        had = bar.display or (panel is not None and bool(panel.table.filter))
        bar.display = False
        if panel is not None:
            panel.table.set_filter("")
            panel.table.focus()
        return had

    def jump(self, view_id: str, key: str | None = None, filter: str | None = None) -> bool:
        """Switch to a view with the cursor on a row (palette jumps). False if the row is not there."""
        if view_id != "overview" and (key is not None or filter is not None):
            self.query_one(ViewPanel).set_view_state(view_id, cursor_key=key, filter=filter)
        self.show_view(view_id)
        panel = self.active_panel()
        if panel is None or key is None or panel.table.busy:
            return True
        return panel.table.cursor_key == key
