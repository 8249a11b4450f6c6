import re

from kubewatch_ml.export.html import gauge, render_html, sparkline
from kubewatch_ml.export.json_export import build_document
from kubewatch_ml.export.markdown import md_escape, render_markdown

from .chromium import external_refs, png_size, render
from .conftest import HOSTILE, sample_analysis, sample_cluster


def _doc(**kw):
    return build_document(sample_analysis(), sample_cluster(), **kw)


def _cells(line: str) -> list[str]:
    # split a Markdown table row on pipes that are not backslash-escaped
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_findings_come_first_and_tables_stay_rectangular():
    md = render_markdown(_doc())
    assert md.index("## Findings") < md.index("## Namespaces & quotas") < md.index("## GPU nodes")
    lines = md.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|---"):
            width = len(_cells(lines[i - 1]))
            j = i + 1
            while j < len(lines) and lines[j].startswith("| "):
                assert len(_cells(lines[j])) == width, lines[j]
                j += 1
    assert "<script>" not in md
    assert md_escape(HOSTILE) in md
    assert "| 1 | CRITICAL | KW-P001 | Pod team-nlp/flaky-0 |" in md


def test_markdown_escape():
    assert md_escape("a|b") == r"a\|b"
    assert md_escape("<b>*x*</b>") == r"&lt;b&gt;\*x\*&lt;/b&gt;"
    assert md_escape("two\nlines") == "two lines"
    assert md_escape("[link](http://x)") == r"\[link\](http://x)"


def test_markdown_caps_rows_but_says_so():
    md = render_markdown(_doc(), max_rows=1)
    assert "more rows not shown" in md


def test_html_is_self_contained_and_escapes_hostile_names():
    page = render_html(_doc())
    assert "<script" not in page.lower()
    assert external_refs(page) == []
    assert external_refs('<a href="https://x">') and external_refs("<img src=x>")  # the check itself works
    assert '<a href="#gpu_nodes">GPU nodes</a>' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|*x*" in page
    assert page.count("<svg") >= 10  # gauges and sparklines are inline SVG


def test_gauge_and_sparkline_shapes():
    assert gauge(None) == "–" and sparkline([1.0]) == "–"
    assert 'fill="#f07178"' in gauge(0.95) and 'fill="#7fd962"' in gauge(0.2)
    assert 'fill="#7fd962"' in gauge(1.0, high_is_good=True)
    pts = re.search(r'points="([^"]+)"', sparkline([0, 10, 5])).group(1).split()
    ys = [float(p.split(",")[1]) for p in pts]
    assert ys[1] < ys[2] < ys[0]  # higher values are drawn higher up


def test_html_renders_in_headless_chromium_without_console_errors(tmp_path):
    page = tmp_path / "snapshot.html"
    page.write_text(render_html(_doc()))
    shot = tmp_path / "snapshot.png"
    dom, consoles = render(page, shot)
    assert consoles == []
    w, h = png_size(shot)
    assert (w, h) == (1400, 1800) and shot.stat().st_size > 20_000  # a blank page compresses to a few KB
    assert "<script>alert(1)" not in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "KW-P001" in dom and "gpu-b" in dom


def test_the_console_check_catches_a_bad_page(tmp_path):
    # the same page with a fetch the CSP refuses: proves the console check above can fail
    bad = render_html(_doc()).replace("</body>", '<img src="http://198.51.100.7/x.png"></body>')
    page = tmp_path / "bad.html"
    page.write_text(bad)
    _, consoles = render(page, tmp_path / "bad.png")
    assert any("Content Security Policy" in c or "Refused" in c for c in consoles), consoles


def test_every_format_handles_an_empty_cluster(tmp_path):
    import json

    import jsonschema

    from kubewatch_ml.export.json_export import load_schema, render_json
    from kubewatch_ml.feed import build_frame
    from kubewatch_ml.snapshot import ClusterSnapshot

    from .conftest import T0

    empty = ClusterSnapshot.build(T0)
    doc = build_document(build_frame(empty, None, T0).analysis, empty, None)
    jsonschema.validate(json.loads(render_json(doc)), load_schema())
    md = render_markdown(doc)
    assert "No findings." in md or "## Findings" in md
    page = render_html(doc)
    assert "Findings</h2>" in page and "nodes ready" in page
