"""`kubewatch-ml snapshot`: export the views as JSON, Markdown, HTML or SVG (docs/SNAPSHOT.md)."""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ._headless import Progress, add_source_args, check_output, gather, write_output

FORMATS = ("json", "markdown", "html", "svg")
_FORMAT_ALIASES = {"md": "markdown", "htm": "html"}
_BY_SUFFIX = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".svg": "svg"}


def add_arguments(p) -> None:
    p.add_argument("-f", "--format", default=None, metavar="FORMAT",
                   help="json (default), markdown, html or svg; guessed from --output's suffix when omitted")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="write here instead of stdout (svg with several views: a directory, one file per view)")
    p.add_argument("--view", action="append", default=[], metavar="NAME",
                   help="only these views (repeatable or comma-separated): quotas, gpu_nodes, hpas, probes, zones, "
                        "pending; svg also overview and findings (default: all)")
    p.add_argument("--max-rows", type=int, default=200, metavar="N",
                   help="rows per table in markdown/html (0: all; json always has all)")
    p.add_argument("--size", default="160x50", metavar="COLSxROWS", help="terminal size for svg (default 160x50)")
    add_source_args(p)


def resolve_format(fmt: str | None, output: str | None) -> str:
    if fmt is None:
        return _BY_SUFFIX.get(Path(output).suffix.lower(), "json") if output and output != "-" else "json"
    f = _FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
    if f not in FORMATS:
        raise UserError(f"unknown format '{fmt}': choose json, markdown, html or svg")
    return f


def run(args) -> int:
    from ..export.json_export import build_document, resolve_views

    fmt = resolve_format(args.format, args.output)
    if fmt == "svg":
        from ..export.svg import resolve_svg_views

        views = resolve_svg_views(args.view)  # bad names fail before any connection
    else:
        views = resolve_views(args.view)
    if args.max_rows < 0:
        raise UserError("--max-rows must be 0 (all) or more")
    svg_dir = fmt == "svg" and len(views) > 1
    if svg_dir and (not args.output or args.output == "-"):
        raise UserError("svg of several views needs --output DIR (one file per view), or pick one --view")
    check_output(args.output, directory=svg_dir)
    size = _parse_size(args.size) if fmt == "svg" else None

    progress = Progress(args.quiet)
    moment = gather(args, progress)
    progress("rendering…", force=True)
    if moment.document is not None:  # re-render a snapshot JSON file in another format
        if fmt == "svg":
            raise UserError("svg needs a live cluster, --demo or a recording (a JSON snapshot has no records)")
        doc = dict(moment.document)
        doc["views"] = {v: d for v, d in doc["views"].items() if v in views}
        write_output(_render(doc, fmt, args.max_rows), args.output)
        progress.done(f"{moment.source} -> {args.output or 'stdout'} ({fmt})")
        return 0
    if fmt == "svg":
        from ..export.svg import export_svgs

        svgs = export_svgs(moment, views, size=size)
        if svg_dir:
            out = Path(args.output)
            out.mkdir(exist_ok=True)
            for view, svg in svgs.items():
                write_output(svg, str(out / f"{view}.svg"))
        else:
            write_output(next(iter(svgs.values())), args.output)
    else:
        doc = build_document(moment.analysis, moment.cluster, moment.metrics, views, source=moment.source)
        write_output(_render(doc, fmt, args.max_rows), args.output)
    s = moment.analysis.overview
    progress.done(f"snapshot of {moment.cluster.cluster.context or 'cluster'}: {len(moment.cluster.nodes):,} nodes, "
                  f"{len(moment.cluster.pods):,} pods, {s.findings_critical} critical / {s.findings_warning} warning "
                  f"findings -> {args.output or 'stdout'} ({fmt})")
    return 0


def _render(doc: dict, fmt: str, max_rows: int) -> bytes | str:
    if fmt == "json":
        from ..export.json_export import render_json

        return render_json(doc)
    if fmt == "markdown":
        from ..export.markdown import render_markdown

        return render_markdown(doc, max_rows)
    from ..export.html import render_html

    return render_html(doc, max_rows)


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise UserError(f"bad --size '{text}': use COLSxROWS, e.g. 160x50") from None
    if not (40 <= w <= 500 and 10 <= h <= 300):
        raise UserError(f"--size {text} out of range (40..500 x 10..300)")
    return w, h
