"""Confirmations that show exactly what will be sent; the safe choice has the focus (STYLE.md 9)."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ..actions.plan import ActionPlan

def modal_css(name: str) -> str:
    """Shared look of the action modals (DEFAULT_CSS is scoped to each screen type)."""
    return f"""
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 100; max-width: 100%; height: auto; max-height: 90%;
                     border: thick $warning; background: $surface; padding: 0 1; }}
{name} .title {{ text-style: bold; padding: 0 0 1 0; }}
{name} VerticalScroll {{ height: auto; max-height: 50vh; }}
{name} .buttons {{ height: auto; align-horizontal: right; padding-top: 1; }}
{name} Button {{ margin-left: 2; }}
"""


def plan_text(plan: ActionPlan, note: str = "") -> Text:
    t = Text()
    if note:
        t.append(note + "\n\n", style="bold yellow")
    for line in plan.diff or ("(no change: the object already looks like this)",):
        style = "green" if " + " in line or "-> " in line else ("red" if " - " in line else "")
        t.append(line + "\n", style=style)
    for w in plan.warnings:
        t.append(f"\n! {w}", style="bold yellow")
    if plan.writes:
        t.append("\n\nwill send:\n", style="dim")
        for w in plan.writes:
            t.append(w.describe() + "\n", style="dim")
    return t


class ConfirmActionScreen(ModalScreen[bool]):
    """Apply this plan? Enter on the focused Cancel is the safe default; y applies, n / Esc cancel."""

    DEFAULT_CSS = modal_css("ConfirmActionScreen")
    BINDINGS = [Binding("escape,n", "answer(False)", "Cancel", id="confirm.no"),
                Binding("y", "answer(True)", "Apply", id="confirm.yes")]

    def __init__(self, plan: ActionPlan, note: str = "", confirm_label: str = "") -> None:
        super().__init__(classes="action-modal")
        self.plan = plan
        self.note = note
        self.confirm_label = confirm_label or plan.action.replace("-", " ").capitalize()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.plan.title.capitalize() + "?"), classes="title")
            with VerticalScroll():
                yield Static(plan_text(self.plan, self.note), id="plan-text")
            with Horizontal(classes="buttons"):
                yield Button("Cancel (n)", id="no", variant="primary")
                yield Button(f"{self.confirm_label} (y)", id="yes", variant="error", disabled=self.plan.no_op)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(bool(yes) and not self.plan.no_op)


class ScaleChoiceScreen(ModalScreen[str]):
    """A workload under an HPA: scale directly (undone within 15 s), change the HPA bounds, or cancel.
    Dismisses with "scale", "hpa" or "cancel"."""

    DEFAULT_CSS = modal_css("ScaleChoiceScreen")
    BINDINGS = [Binding("escape,n", "choose('cancel')", "Cancel", id="scale.cancel"),
                Binding("h", "choose('hpa')", "Change HPA", id="scale.hpa"),
                Binding("s", "choose('scale')", "Scale anyway", id="scale.direct")]

    def __init__(self, plan: ActionPlan) -> None:
        super().__init__(classes="action-modal")
        self.plan = plan

    def compose(self) -> ComposeResult:
        t = plan_text(self.plan)
        if self.plan.alternative is not None:
            t.append("\ninstead, change the HPA:\n", style="bold")
            t.append_text(plan_text(self.plan.alternative))
        with Vertical():
            yield Static(Text(self.plan.title.capitalize() + "?"), classes="title")
            with VerticalScroll():
                yield Static(t, id="plan-text")
            with Horizontal(classes="buttons"):
                yield Button("Cancel (n)", id="cancel", variant="primary")
                yield Button("Change HPA (h)", id="hpa", variant="warning", disabled=self.plan.alternative is None)
                yield Button("Scale anyway (s)", id="scale", variant="error", disabled=self.plan.no_op)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(str(event.button.id))

    def action_choose(self, choice: str) -> None:
        if choice == "hpa" and self.plan.alternative is None:
            return
        self.dismiss(choice)
