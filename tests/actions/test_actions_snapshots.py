"""SVG snapshots of the action modals on hand-built plans (no cluster, deterministic).
Update after an intended change: pytest tests/actions/test_actions_snapshots.py --snapshot-update"""
from __future__ import annotations

import pytest
from textual.app import App

from kubewatch_ml.actions.plan import MERGE_PATCH, STRATEGIC_MERGE_PATCH, ActionPlan, ObjectRef, Write
from kubewatch_ml.screens.action_confirm import ConfirmActionScreen, ScaleChoiceScreen

NODE = ObjectRef("Node", "ip-10-0-0-14.ec2.internal")
DEP = ObjectRef("Deployment", "llm-api", "llm-prod")
HPA = ObjectRef("HorizontalPodAutoscaler", "llm-api", "llm-prod")


def label_plan() -> ActionPlan:
    w = Write(NODE, "PATCH", f"/api/v1/nodes/{NODE.name}", MERGE_PATCH,
              {"metadata": {"resourceVersion": "48213", "labels": {"pool": "h100", "team": None}}}, "48213")
    return ActionPlan("label", (NODE,), (w,), (f"node {NODE.name}: label pool: 'a100' -> 'h100'",
                                                f"node {NODE.name}: - label team (was 'search')"))


def scale_plan() -> ActionPlan:
    w = Write(DEP, "PATCH", "/apis/apps/v1/namespaces/llm-prod/deployments/llm-api/scale", MERGE_PATCH,
              {"metadata": {"resourceVersion": "9120"}, "spec": {"replicas": 12}}, "9120")
    hw = Write(HPA, "PATCH", "/apis/autoscaling/v2/namespaces/llm-prod/horizontalpodautoscalers/llm-api", MERGE_PATCH,
               {"metadata": {"resourceVersion": "9133"}, "spec": {"minReplicas": 12, "maxReplicas": 18}}, "9133")
    alt = ActionPlan("hpa-bounds", (HPA,), (hw,), (f"{HPA}: minReplicas 2 -> 12",))
    return ActionPlan("scale", (DEP,), (w,), (f"{DEP}: replicas 6 -> 12",),
                      warnings=("HorizontalPodAutoscaler llm-api (min 2, max 18) manages these replicas: "
                                "it would undo a direct scale within 15 s",
                                "each replica holds 1 GPU(s): +6 GPU(s) in total"), alternative=alt)


class ModalApp(App):
    def __init__(self, screen_factory):
        super().__init__()
        self.screen_factory = screen_factory

    def on_mount(self) -> None:
        self.push_screen(self.screen_factory())


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_confirm_label(snap_compare, size):
    assert snap_compare(ModalApp(lambda: ConfirmActionScreen(label_plan())), terminal_size=size)


def test_scale_under_hpa_choice(snap_compare):
    assert snap_compare(ModalApp(lambda: ScaleChoiceScreen(scale_plan())), terminal_size=(120, 36))


def test_confirm_after_conflict(snap_compare):
    note = ("node/ip-10-0-0-14.ec2.internal was changed by someone else since the plan (409): "
            "re-read, check the new diff and confirm again")
    assert snap_compare(ModalApp(lambda: ConfirmActionScreen(label_plan(), note)), terminal_size=(100, 30))
