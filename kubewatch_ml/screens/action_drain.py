"""A drain in progress: pods evicted so far, PDB waits, and a Cancel that stops between requests
(the node stays cordoned). Dismisses with the ActionResult."""
from __future__ import annotations

import threading

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Log, ProgressBar, Static

from ..actions.drain import DrainProgress
from ..actions.plan import ActionPlan, ActionResult
from .action_confirm import modal_css


class DrainScreen(ModalScreen[ActionResult]):
    DEFAULT_CSS = modal_css("DrainScreen") + "DrainScreen Log { height: auto; min-height: 3; max-height: 40vh; }"
    BINDINGS = [Binding("escape,c", "cancel_drain", "Cancel drain", id="drain.cancel")]

    class Progressed(Message):
        def __init__(self, progress: DrainProgress) -> None:
            super().__init__()
            self.progress = progress

    class Finished(Message):
        def __init__(self, result: ActionResult) -> None:
            super().__init__()
            self.result = result

    def __init__(self, session, plan: ActionPlan, timeout: float = 600.0) -> None:
        super().__init__(classes="action-modal")
        self.session = session
        self.plan = plan
        self.timeout = timeout
        self.cancel = threading.Event()
        self._last_phase = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Draining node {self.plan.extra['node']}", style="bold"), classes="title")
            yield ProgressBar(total=max(1, len(self.plan.extra["evict"])), show_eta=False, id="bar")
            yield Static("", id="phase")
            yield Log(id="log", auto_scroll=True)
            with Horizontal(classes="buttons"):
                yield Button("Cancel drain", id="cancel", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()
        self.run_drain()

    @work(thread=True, exclusive=True, exit_on_error=False, group="drain")
    def run_drain(self) -> None:
        result = self.session.drain(self.plan, progress=lambda p: self.post_message(self.Progressed(p)),
                                    cancel=self.cancel, timeout=self.timeout)
        self.post_message(self.Finished(result))

    @on(Progressed)
    def show_progress(self, message: Progressed) -> None:
        p = message.progress
        self.query_one("#bar", ProgressBar).update(progress=p.done)
        self.query_one("#phase", Static).update(Text(f"{p.phase}: {p.done}/{p.total}  {p.message}"))
        if p.phase != "blocked" or self._last_phase != "blocked":  # one log line per PDB wait, not per retry
            self.query_one("#log", Log).write_line(p.message)
        self._last_phase = p.phase

    @on(Finished)
    def finished(self, message: Finished) -> None:
        self.dismiss(message.result)

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel_drain()

    def action_cancel_drain(self) -> None:
        self.cancel.set()
        self.query_one("#phase", Static).update(Text("cancelling: the node stays cordoned", style="bold yellow"))
