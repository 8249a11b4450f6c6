"""The dashboard on a recording: KubewatchApp plus pause / step / seek keys that drive a
ReplayFeed, and the replay position in the status line."""
from __future__ import annotations

from pathlib import Path

from textual.binding import Binding

from .. import app as _app
from ..app import KubewatchApp

REPLAY_BINDINGS = [
    Binding("p", "replay_toggle", "Pause/play", id="replay.toggle", tooltip="Pause or resume the replay"),
    Binding("full_stop", "replay_step(1)", "Step", id="replay.step", tooltip="Pause and show the next frame"),
    Binding("comma", "replay_step(-1)", "Back", id="replay.back", tooltip="Pause and show the previous frame"),
    # < > for ten frames: [ ] stay previous/next view, as on the live dashboard
    Binding("greater_than_sign", "replay_step(10)", "+10", show=False, id="replay.forward10"),
    Binding("less_than_sign", "replay_step(-10)", "-10", show=False, id="replay.back10"),
    Binding("left_curly_bracket", "replay_seek('first')", "First frame", show=False, id="replay.first"),
    Binding("right_curly_bracket", "replay_seek('last')", "Last frame", show=False, id="replay.last"),
    Binding("at", "replay_goto", "Seek", id="replay.seek", tooltip="Jump to a time: RFC3339, -15m, +15m, first, last"),
]


class ReplayApp(KubewatchApp):
    """`replay`'s app; `feed` is a replay_feed.ReplayFeed."""

    BINDINGS = REPLAY_BINDINGS
    CSS_PATH = str(Path(_app.__file__).with_name(KubewatchApp.CSS_PATH))  # relative paths resolve per module

    def on_mount(self) -> None:
        super().on_mount()
        self._show_position()
        self.set_interval(0.5, self._show_position)

    def _show_position(self) -> None:
        self.status_extra = self.feed.describe()
        if self.main_screen is not None and self.main_screen.is_mounted:
            try:
                self.main_screen.update_status()
            except Exception:  # the status line is not mounted yet (loading screen)
                pass

    def action_replay_toggle(self) -> None:
        self.feed.toggle()
        self._show_position()

    def action_replay_step(self, n: int) -> None:
        self.feed.step(n)
        self._show_position()

    def action_replay_seek(self, where: str) -> None:
        self.feed.seek_text(where)
        self._show_position()

    def action_replay_goto(self) -> None:
        from ..errors import UserError
        from ..recording import parse_at
        from .action_input import ActionInputScreen

        def check(text: str) -> str | None:  # syntax only; the feed clamps the time to its frames
            try:
                parse_at(text, 0.0, 0.0)
            except UserError as e:
                return str(e)
            return None

        def done(text: str | None) -> None:
            if text:
                self.feed.seek_text(text)
                self._show_position()

        self.push_screen(ActionInputScreen("Seek in the recording", "RFC3339 time, POSIX seconds, first, last, "
                                           "-15m (before the end) or +15m (after the start)", check,
                                           choices=["first", "last", "-5m", "-15m", "-1h"]), done)

    @classmethod
    def binding_ids(cls) -> set[str]:
        return super().binding_ids() | {b.id for b in REPLAY_BINDINGS if b.id}
