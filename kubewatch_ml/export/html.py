"""One self-contained HTML file: inline CSS, inline SVG gauges and sparklines, no scripts, no
fetches. Opens from an incident ticket attachment or a CronJob volume with nothing else around.
Every piece of cluster text goes through html.escape (names come from whoever can create pods)."""
from __future__ import annotations

import html

from ..recording import parse_rfc3339
from ._format import VIEW_TITLES, obj, printable, view_tables


def escape(text: str, quote: bool = True) -> str:
    """html.escape without control characters (ESC/BEL from cluster text)."""
    return html.escape(printable(text), quote)

_CSS = """
:root{--bg:#0f1419;--fg:#e6e1cf;--dim:#8a9199;--line:#2a323c;--ok:#7fd962;--warn:#ffb454;--crit:#f07178;--info:#59c2ff}
*{box-sizing:border-box}body{margin:0;padding:24px;background:var(--bg);color:var(--fg);
font:14px/1.45 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px;color:var(--dim)}.meta{color:var(--dim);margin:0 0 12px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}.card{border:1px solid var(--line);border-radius:6px;
padding:8px 12px;min-width:150px;text-align:center}.card .v{font-size:20px;font-weight:600}.card .l{color:var(--dim);font-size:12px}
table{border-collapse:collapse;width:100%;margin:4px 0 8px;font-size:13px}th,td{border-bottom:1px solid var(--line);
padding:4px 8px;text-align:left;vertical-align:middle;overflow-wrap:break-word}th{color:var(--dim);font-weight:600;
position:sticky;top:0;background:var(--bg)}tr:hover td{background:#151b22}
.sev{display:inline-block;white-space:nowrap;border-radius:3px;padding:0 6px;font-size:12px;font-weight:700;color:#0f1419}
.sev-critical{background:var(--crit)}.sev-warning{background:var(--warn)}.sev-info{background:var(--info)}
.note{color:var(--warn);font-style:italic}.more{color:var(--dim);font-style:italic}svg{vertical-align:middle}
.toc{margin:8px 0 0}.toc a{color:var(--info);text-decoration:none}.toc a:hover{text-decoration:underline}
.findings td:nth-child(3){white-space:nowrap}code{font-family:"DejaVu Sans Mono",monospace;font-size:12px}
@media print{body{background:#fff;color:#000}th{background:#fff}}
"""


def gauge(ratio: float | None, width: int = 90, high_is_good: bool = False) -> str:
    """A horizontal bar for a fill ratio: green under 75 %, amber to 90 %, red beyond (reversed
    when a high ratio is the healthy state, e.g. nodes ready); a dash when unknown."""
    if ratio is None:
        return "–"
    r = max(0.0, ratio)
    if high_is_good:
        colour = "#7fd962" if r >= 0.99 else "#ffb454" if r >= 0.9 else "#f07178"
    else:
        colour = "#7fd962" if r < 0.75 else "#ffb454" if r <= 0.9 else "#f07178"
    filled = min(r, 1.0) * (width - 2)
    return (f'<svg class="gauge" width="{width + 44}" height="14" viewBox="0 0 {width + 44} 14" role="img" '
            f'aria-label="{r * 100:.0f}%"><rect x="0.5" y="1.5" width="{width - 1}" height="11" rx="2" fill="none" '
            f'stroke="#8a9199"/><rect x="1" y="2" width="{filled:.1f}" height="10" rx="2" fill="{colour}"/>'
            f'<text x="{width + 4}" y="11.5" font-size="11" fill="#e6e1cf">{r * 100:.0f}%</text></svg>')


def sparkline(values: list[float] | None, width: int = 100, height: int = 18) -> str:
    vals = [float(v) for v in (values or []) if v is not None]
    if len(vals) < 2:
        return "–"
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    step = (width - 2) / (len(vals) - 1)
    pts = " ".join(f"{1 + i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}" for i, v in enumerate(vals))
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="min {lo:g} max {hi:g} last {vals[-1]:g}"><polyline fill="none" stroke="#59c2ff" '
            f'stroke-width="1.5" points="{pts}"/></svg>')


def _table(headers: list[str], rows: list[list[str]], extras: dict, max_rows: int) -> str:
    has_gauge = any(e.get("gauge") is not None or "gauge" in e for e in extras.values())
    has_spark = any("spark" in e for e in extras.values())
    head = [escape(h) for h in headers] + (["Gauge"] if has_gauge else []) + (["Trend"] if has_spark else [])
    out = ["<table><thead><tr>", *(f"<th>{h}</th>" for h in head), "</tr></thead><tbody>"]
    shown = rows if not max_rows else rows[:max_rows]
    for i, r in enumerate(shown):
        cells = [f"<td>{escape(str(c))}</td>" for c in r]
        e = extras.get(i, {})
        if has_gauge:
            cells.append(f"<td>{gauge(e.get('gauge'))}</td>")
        if has_spark:
            cells.append(f"<td>{sparkline(e.get('spark'))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    if len(rows) > len(shown):
        out.append(f'<p class="more">{len(rows) - len(shown)} more rows not shown (the JSON export has them all).</p>')
    return "".join(out)


def _card(value: str, label: str, ratio: float | None = None, high_is_good: bool = False) -> str:
    g = f"<div>{gauge(ratio, 70, high_is_good)}</div>" if ratio is not None else ""
    return f'<div class="card"><div class="v">{escape(value)}</div><div class="l">{escape(label)}</div>{g}</div>'


def render_html(doc: dict, max_rows: int = 200) -> str:
    c, s = doc["cluster"], doc["summary"]
    ov = s.get("overview", {})
    taken = parse_rfc3339(doc["taken_at"])
    title = f"kubewatch-ml snapshot: {c['context'] or c['server'] or 'cluster'} at {doc['taken_at']}"
    gpu_alloc = c.get("gpu_allocatable") or 0
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        # no network, no scripts: the page must render from an attachment on an air-gapped laptop
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(c['context'] or 'cluster')}</h1>",
        f'<p class="meta">{escape(doc["taken_at"])} · {escape(c["server"])} · Kubernetes {escape(c["version"] or "?")}'
        f' · source {escape(doc["source"])} · metrics {escape(doc["metrics"]["source"])} · {escape(doc["generator"])}</p>',
        '<div class="cards">',
        _card(f"{s['critical']} / {s['warning']} / {s['info']}", "critical / warning / info findings"),
        _card(f"{c.get('ready_nodes', '?')}/{c['nodes']}", "nodes ready",
              (c.get("ready_nodes", 0) / c["nodes"]) if c["nodes"] else None, high_is_good=True),
        _card(str(c["pods"]), f"pods ({ov.get('pending_pods', 0)} pending)"),
        _card(f"{c.get('gpu_requested', 0)}/{gpu_alloc}", "GPUs requested",
              (c.get("gpu_requested", 0) / gpu_alloc) if gpu_alloc else None),
        _card("–" if ov.get("gpu_util_avg") is None else f"{ov['gpu_util_avg']:.0f}%", "GPU utilisation (avg)"),
        "</div>",
    ]
    degraded = [(a, st) for a, st in doc["metrics"]["areas"].items() if st != "ok"]
    if degraded:
        parts.append('<p class="note">' + escape(" · ".join(f"{a}: {st}" for a, st in degraded)) + "</p>")
    nav = [("findings", f"Findings ({len(doc['findings'])})")] + [(v, VIEW_TITLES[v]) for v in doc["views"]]
    parts.append('<nav class="toc">' + " · ".join(f'<a href="#{v}">{escape(t)}</a>' for v, t in nav) + "</nav>")
    parts.append('<h2 id="findings">Findings</h2>')
    if doc["findings"]:
        parts.append("<table class='findings'><thead><tr><th>#</th><th>Severity</th><th>ID</th><th>Object</th><th>Summary</th>"
                     "<th>Action</th><th>Alert</th></tr></thead><tbody>")
        for i, f in enumerate(doc["findings"][: max_rows or None], 1):
            sev = f["severity"] if f["severity"] in ("critical", "warning", "info") else "info"
            parts.append(f'<tr><td>{i}</td><td><span class="sev sev-{sev}">{escape(f["severity"].upper())}</span></td>'
                         f"<td>{escape(f['id'])}</td><td>{escape(obj(f))}</td><td>{escape(f['summary'])}</td>"
                         f"<td><code>{escape(f['action'])}</code></td><td>{escape(f.get('alert') or '–')}</td></tr>")
        parts.append("</tbody></table>")
        if max_rows and len(doc["findings"]) > max_rows:
            parts.append(f'<p class="more">{len(doc["findings"]) - max_rows} more findings in the JSON export.</p>')
    else:
        parts.append("<p>No findings.</p>")
    for view, data in doc["views"].items():
        parts.append(f'<h2 id="{escape(view)}">{escape(VIEW_TITLES[view])}</h2>')
        if data.get("note"):
            parts.append(f'<p class="note">{escape(data["note"])}</p>')
        for t, headers, rows, extras in view_tables(view, data, taken):
            parts.append(f"<h3>{escape(t)}</h3>")
            parts.append(_table(headers, rows, extras, max_rows) if rows else "<p>None.</p>")
    parts.append("</body></html>\n")
    return "".join(parts)
