"""Markdown for incident documents: findings first, then one table per view.

Every cell is escaped: a pod named `a|b` must not split a column and `<script>` must stay text.
"""
from __future__ import annotations

import re

from ..recording import parse_rfc3339
from ._format import VIEW_TITLES, obj, printable, view_tables

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_escape(text: object) -> str:
    s = " ".join(printable(text).split())  # newlines would end the table row
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", s)


def _table(headers: list[str], rows: list[list[str]], max_rows: int) -> list[str]:
    lines = ["| " + " | ".join(md_escape(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    shown = rows if not max_rows else rows[:max_rows]
    lines += ["| " + " | ".join(md_escape(c) for c in r) + " |" for r in shown]
    if len(rows) > len(shown):
        lines.append(f"\n_{len(rows) - len(shown)} more rows not shown (the JSON export has them all)._")
    return lines


def render_markdown(doc: dict, max_rows: int = 100) -> str:
    c = doc["cluster"]
    s = doc["summary"]
    taken = parse_rfc3339(doc["taken_at"])
    out = [
        f"# kubewatch-ml snapshot: {md_escape(c['context'] or c['server'] or 'cluster')}",
        "",
        f"- **Taken:** {md_escape(doc['taken_at'])} ({md_escape(doc['source'])})",
        f"- **Cluster:** {md_escape(c['server'])} · Kubernetes {md_escape(c['version'] or '?')} · "
        f"{c['nodes']} nodes ({c.get('ready_nodes', '?')} ready, {c.get('cordoned_nodes', 0)} cordoned) · "
        f"{c['pods']} pods · {c.get('gpu_requested', 0)}/{c.get('gpu_allocatable', 0)} GPUs requested",
        f"- **Metrics:** {md_escape(doc['metrics']['source'])}"
        + "".join(f" · {md_escape(a)}: {md_escape(st)}" for a, st in doc["metrics"]["areas"].items() if st != "ok"),
        f"- **Findings:** {s['critical']} critical · {s['warning']} warning · {s['info']} info",
        "",
        "## Findings",
        "",
    ]
    if doc["findings"]:
        rows = [[str(i), f["severity"].upper(), f["id"], obj(f), f["summary"], f["action"], f.get("alert") or "–"]
                for i, f in enumerate(doc["findings"], 1)]
        out += _table(["#", "Severity", "ID", "Object", "Summary", "Action", "Alert"], rows, max_rows)
    else:
        out.append("No findings.")
    for view, data in doc["views"].items():
        out += ["", f"## {VIEW_TITLES[view]}"]
        if data.get("note"):
            out += ["", f"_{md_escape(data['note'])}_"]
        for title, headers, rows, _ in view_tables(view, data, taken):
            out += ["", f"### {md_escape(title)}", ""]
            out += _table(headers, rows, max_rows) if rows else ["None."]
    out.append("")
    return "\n".join(out)
