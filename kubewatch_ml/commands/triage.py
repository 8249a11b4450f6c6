"""`kubewatch-ml triage`: ranked findings; the exit code says the worst severity found at or above
--fail-on, so cron, CI or an alert webhook can branch on it (table in docs/SNAPSHOT.md)."""
from __future__ import annotations

from types import SimpleNamespace

import orjson

from ..errors import UserError
from ._headless import Progress, add_source_args, check_output, gather, write_output

SEVERITIES = ("info", "warning", "critical")
EXIT_BY_SEVERITY = {"info": 10, "warning": 11, "critical": 12}  # 0: nothing at or above --fail-on
TRIAGE_SCHEMA = "kubewatch-ml/triage/v1"


def add_arguments(p) -> None:
    p.add_argument("-f", "--format", default="text", metavar="FORMAT", help="text (default) or json")
    p.add_argument("--fail-on", default="warning", metavar="SEVERITY",
                   help="lowest severity that makes the exit code non-zero: info, warning (default) or critical")
    p.add_argument("--min-severity", default="info", metavar="SEVERITY",
                   help="list only findings at or above this severity (default info: all)")
    p.add_argument("--limit", type=int, default=0, metavar="N", help="list at most N findings (0: all)")
    p.add_argument("-o", "--output", metavar="PATH", help="write here instead of stdout")
    p.add_argument("--view", action="append", default=[], metavar="NAME",
                   help="only findings of these views: quotas, gpu_nodes, hpas, probes, zones, pending (repeatable)")
    add_source_args(p)


def _severity(text: str, flag: str) -> str:
    s = text.lower()
    if s not in SEVERITIES:
        raise UserError(f"bad {flag} '{text}': choose info, warning or critical")
    return s


def exit_code(findings, fail_on: str) -> int:
    floor = SEVERITIES.index(fail_on)
    found = [SEVERITIES.index(f.severity) for f in findings if f.severity in SEVERITIES]
    worst = max(found, default=-1)
    return EXIT_BY_SEVERITY[SEVERITIES[worst]] if worst >= floor else 0


# finding.view values (analysis) that belong to each snapshot view name
_VIEW_OF = {"quotas": {"quotas"}, "gpu_nodes": {"gpus", "gpu_nodes", "nodes"}, "hpas": {"hpas"},
            "probes": {"probes"}, "zones": {"zones"}, "pending": {"pending"}}


def run(args) -> int:
    from ..export.json_export import resolve_views, rfc3339

    fmt = args.format.lower()
    if fmt not in ("text", "json"):
        raise UserError(f"unknown format '{args.format}': choose text or json")
    fail_on = _severity(args.fail_on, "--fail-on")
    floor = SEVERITIES.index(_severity(args.min_severity, "--min-severity"))
    views = resolve_views(args.view) if args.view else None
    if args.limit < 0:
        raise UserError("--limit must be 0 (all) or more")
    check_output(args.output)

    progress = Progress(args.quiet)
    m = gather(args, progress)
    if m.document is not None:  # a snapshot JSON file: its findings, as analysed then
        d = m.document
        findings = [SimpleNamespace(**{"view": "", "alert": "", **f}) for f in d["findings"]]
        c = d["cluster"]
        where, taken = c["context"] or c["server"], d["taken_at"]
        cluster = {k: c[k] for k in ("context", "server", "version", "nodes", "pods")}
    else:
        findings = list(m.analysis.findings)  # ranked by analysis: severity, impact, object
        info = m.cluster.cluster
        where, taken = info.context or info.server, rfc3339(m.cluster.taken_at)
        cluster = {"context": info.context, "server": info.server, "version": info.version,
                   "nodes": len(m.cluster.nodes), "pods": len(m.cluster.pods)}
    if views:
        wanted = set().union(*(_VIEW_OF[v] for v in views))
        findings = [f for f in findings if f.view in wanted]
    code = exit_code(findings, fail_on)  # the exit code ignores --min-severity/--limit: they only trim the list
    shown = [f for f in findings if SEVERITIES.index(f.severity) >= floor]
    if args.limit:
        shown = shown[: args.limit]
    counts = {s: sum(1 for f in findings if f.severity == s) for s in reversed(SEVERITIES)}
    if fmt == "json":
        doc = {
            "schema": TRIAGE_SCHEMA,
            "taken_at": taken,
            "source": m.source,
            "cluster": cluster,
            "fail_on": fail_on,
            "exit_code": code,
            "counts": counts,
            "findings": [_finding(i, f) for i, f in enumerate(shown, 1)],
        }
        out: bytes | str = orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
    else:
        out = render_text(shown, counts, where, taken, fail_on, code, len(findings) - len(shown))
    write_output(out, args.output)
    progress.done()
    return code


def _finding(rank: int, f) -> dict:
    return {"rank": rank, "id": f.id, "severity": f.severity, "kind": f.kind, "namespace": f.namespace,
            "name": f.name, "summary": f.summary, "action": f.action, "alert": f.alert, "view": f.view}


def render_text(findings, counts: dict, where: str, taken: str, fail_on: str, code: int, hidden: int) -> str:
    lines = [f"triage of {where} at {taken}: "
             + ", ".join(f"{n} {s}" for s, n in counts.items())]
    for i, f in enumerate(findings, 1):
        obj = f"{f.namespace}/{f.name}" if f.namespace else f.name
        lines.append(f"{i:>3}. {f.severity.upper():<8} {f.id:<8} {f.kind} {obj}: {_one_line(f.summary)}")
        if f.action:
            lines.append(f"{'':<14}-> {_one_line(f.action)}")
    if hidden:
        lines.append(f"({hidden} more not listed: --min-severity/--limit)")
    lines.append(f"exit {code} (fail-on {fail_on})")
    return "\n".join(lines) + "\n"


def _one_line(s: str) -> str:
    # names are user-controlled: keep control characters from rewriting the terminal
    return "".join(ch if ch.isprintable() else " " for ch in " ".join(s.split()))
