"""SVG export = the dashboard's own screen per view, from a headless Textual run."""
import re
import xml.etree.ElementTree as ET

from kubewatch_ml.cli import main
from kubewatch_ml.commands._headless import Moment
from kubewatch_ml.export.svg import export_svgs, resolve_svg_views
from kubewatch_ml.feed import build_frame
from kubewatch_ml.recording import Recording

from .conftest import T0, sample_cluster, sample_metrics


def _text(svg: str) -> str:
    # Textual writes each run of text as <text> elements with &#160; for spaces
    root = ET.fromstring(svg)
    return " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")).replace("\xa0", " ")


def test_each_view_is_its_own_screen():
    c, m = sample_cluster(), sample_metrics()
    moment = Moment(c, m, build_frame(c, m, T0).analysis, "live")
    svgs = export_svgs(moment, ["gpu_nodes", "probes"], (150, 45))
    assert list(svgs) == ["gpu_nodes", "probes"]
    gpu, probes = _text(svgs["gpu_nodes"]), _text(svgs["probes"])
    assert "gpu-a" in gpu and "us-east-1b" in gpu
    assert "flaky-0" in probes and "CrashLoopBackOff" in probes
    assert "flaky-0" not in gpu  # a different screen, not the same one twice
    assert 'class="terminal' in svgs["gpu_nodes"] or "<svg" in svgs["gpu_nodes"][:200]


def test_svg_views_names():
    assert resolve_svg_views(None)[0] == "overview" and len(resolve_svg_views(None)) == 8
    assert resolve_svg_views(["findings,gpus"]) == ("gpu_nodes", "findings")


def test_snapshot_svg_command_writes_one_file_per_view(tmp_path, capsys):
    rec = tmp_path / "r.db"
    with Recording.create(rec) as r:
        r.append(sample_cluster(), sample_metrics())
    out = tmp_path / "svgs"
    assert main(["snapshot", "--from", str(rec), "-q", "-f", "svg", "--view", "overview,hpas", "-o", str(out),
                 "--size", "140x40"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["hpas.svg", "overview.svg"]
    hpas = (out / "hpas.svg").read_text()
    ET.fromstring(hpas)  # well-formed
    assert "serve" in _text(hpas)
    assert main(["snapshot", "--from", str(rec), "-q", "-f", "svg", "--view", "zones"]) == 0
    assert re.match(r"\s*<svg", capsys.readouterr().out)
