"""One duration formatter for the TUI and the text exports (durations.human_duration)."""
import math

from kubewatch_ml.durations import human_duration
from kubewatch_ml.export._format import duration
from kubewatch_ml.widgets.render import fmt_age


def test_tui_and_exports_agree_on_the_largest_unit():
    for seconds in (0, 45, 119, 120, 600, 7199, 7200, 3 * 3600 + 240, 172799, 172800, 5 * 86400 + 3 * 3600):
        tui, doc = fmt_age(seconds), duration(seconds)
        assert doc.startswith(tui), (seconds, tui, doc)
    assert [fmt_age(s) for s in (45, 600, 3 * 3600 + 240, 5 * 86400 + 3 * 3600)] == ["45s", "10m", "3h", "5d"]
    assert [duration(s) for s in (45, 600, 3 * 3600 + 240, 5 * 86400 + 3 * 3600)] == ["45s", "10m", "3h04m", "5d3h"]


def test_unknown_or_future_is_the_missing_marker_in_both():
    """A timestamp ahead of our clock (clock skew) is no duration: the export used to print '-5s'."""
    for bad in (None, -5, -0.5, math.nan, math.inf):
        assert fmt_age(bad) == "-"
        assert duration(bad) == "–"
    assert human_duration(-1, missing="n/a") == "n/a"
