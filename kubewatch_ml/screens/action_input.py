"""Ask for an action's input (replicas, label changes, taint changes), validated while typing."""
from __future__ import annotations

from typing import Callable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, OptionList, Static

from .action_confirm import modal_css


class ActionInputScreen(ModalScreen["str | None"]):
    """Dismisses with the text (valid per `check`) or None when cancelled.
    `check(text)` returns an error line or None; `choices` are offered first (GPU keys, current labels)."""

    DEFAULT_CSS = modal_css("ActionInputScreen") + """
    ActionInputScreen OptionList { height: auto; max-height: 10; }
    ActionInputScreen #error { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="input.cancel")]

    def __init__(self, title: str, hint: str, check: Callable[[str], str | None],
                 choices: Sequence[str] = (), value: str = "") -> None:
        super().__init__(classes="action-modal")
        self.title_text = title
        self.hint = hint
        self.check = check
        self.choices = list(dict.fromkeys(choices))
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text), classes="title")
            yield Static(Text(self.hint, style="dim"))
            yield Input(value=self.value, id="value",
                        suggester=SuggestFromList(self.choices, case_sensitive=True) if self.choices else None)
            yield Static("", id="error")
            if self.choices:
                yield OptionList(*self.choices, id="choices")

    def on_mount(self) -> None:
        self.query_one("#value", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        err = self.check(event.value) if event.value.strip() else None
        self.query_one("#error", Static).update(err or "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        err = self.check(event.value)
        if err:
            self.query_one("#error", Static).update(err)
            return
        self.dismiss(event.value)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        inp = self.query_one("#value", Input)
        choice = str(event.option.prompt)
        inp.value = (inp.value.rstrip() + " " + choice).strip() if inp.value.strip() else choice
        inp.focus()
        inp.cursor_position = len(inp.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
