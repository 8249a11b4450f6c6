"""`kubewatch-ml diff A B`: what changed between two snapshots. Each side is a snapshot JSON file
(`snapshot --format json`) or a moment of a recording: FILE@TIME (FILE alone: its last frame).
Exit 0: no changes, 1: changes listed (as diff(1)), 2/4: bad input / unwritable output."""
from __future__ import annotations

from pathlib import Path

import orjson

from ..errors import UserError
from ._headless import Progress, check_output, write_output

EXIT_CHANGED = 1


def add_arguments(p) -> None:
    p.add_argument("a", metavar="A", help="older snapshot: FILE.json, RECORDING or RECORDING@TIME")
    p.add_argument("b", metavar="B", help="newer snapshot: FILE.json, RECORDING or RECORDING@TIME")
    p.add_argument("-f", "--format", default="text", metavar="FORMAT", help="text (default) or json")
    p.add_argument("-o", "--output", metavar="PATH", help="write here instead of stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def load_side(spec: str, progress=None) -> dict:
    """A snapshot document from a JSON file or a recording moment."""
    from ..export.json_export import build_document, load_document

    path, at = spec, None
    if not Path(spec).exists() and "@" in spec:
        path, at = spec.rsplit("@", 1)
    p = Path(path)
    if not p.exists():
        raise UserError(f"no such file: {path}")
    with open(p, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"SQLite format 3"):
        from ..feed import build_frame
        from ..recording import Recording

        if progress is not None:
            progress(f"reading {spec}…")
        with Recording.open(p) as rec:
            cluster, metrics = rec.load_at(at or "last")
        frame = build_frame(cluster, metrics, cluster.taken_at)
        return build_document(frame.analysis, cluster, metrics, source=f"recording {p.name}")
    if at is not None:
        raise UserError(f"{path} is not a recording: @TIME applies to recordings only")
    return load_document(str(p))


def run(args) -> int:
    from ..diffing import diff_documents, render_text

    fmt = args.format.lower()
    if fmt not in ("text", "json"):
        raise UserError(f"unknown format '{args.format}': choose text or json")
    check_output(args.output)
    progress = Progress(args.quiet)
    a = load_side(args.a, progress)
    b = load_side(args.b, progress)
    d = diff_documents(a, b)
    if fmt == "json":
        out: bytes | str = orjson.dumps(d.to_dict(), option=orjson.OPT_INDENT_2) + b"\n"
    else:
        out = render_text(d)
    write_output(out, args.output)
    progress.done()
    return EXIT_CHANGED if d.changes else 0
