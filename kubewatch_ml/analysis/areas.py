"""What a view says about the metrics behind its columns: nothing when fresh, else why not."""
from __future__ import annotations

from ..metrics_snapshot import MetricsSnapshot


def area_ok(metrics: MetricsSnapshot | None, area: str) -> bool:
    return metrics is not None and metrics.area(area).ok


def area_note(metrics: MetricsSnapshot | None, area: str, what: str = "") -> str:
    """"" | "<what> unavailable: <reason>" | "<what> stale: <reason>" (the numbers are still used)."""
    prefix = f"{what} " if what else ""
    if metrics is None:
        return f"{prefix}unavailable: no metrics source"
    st = metrics.area(area)
    if not st.ok:
        return f"{prefix}unavailable: {st.reason or 'no data'}"
    if st.stale:
        return f"{prefix}stale: {st.reason or 'numbers from an earlier fetch'}"
    return ""


def join_notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def kind_unreadable(cluster, kind: str) -> str:
    """Why the snapshot cannot vouch for the absence of `kind` objects ("" when it can): listing was
    forbidden, failed or is still incomplete. Snapshots built without load states count as complete."""
    st = cluster.kinds.get(kind) if cluster.kinds else None
    if st is None:
        return ""
    if st.forbidden:
        return f"{kind}: forbidden"
    if not st.complete:
        return f"{kind}: {st.error or 'still loading'}"
    return ""
