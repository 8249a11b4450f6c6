"""Shared wording for the text exports: units as an SRE reads them, durations, table rows."""
from __future__ import annotations

import re

from ..durations import human_duration

VIEW_TITLES = {
    "quotas": "Namespaces & quotas",
    "gpu_nodes": "GPU nodes",
    "hpas": "HPA behaviour",
    "probes": "Probe failures",
    "zones": "Zones",
    "pending": "Why pending",
}
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """Cluster text without control characters: an ESC or BEL from an annotation or event message
    must not reach a terminal that cats the file (window title, screen clear)."""
    return _CONTROL.sub("", str(text))


def cores(millicores: float | None) -> str:
    if millicores is None:
        return "–"
    return f"{millicores / 1000:.1f}" if millicores % 1000 else str(int(millicores // 1000))


def size(n: float | None) -> str:
    if n is None:
        return "–"
    for unit, s in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if abs(n) >= s:
            return f"{n / s:.1f}{unit}"
    return f"{int(n)}"


def quota_amount(value: int, unit: str) -> str:
    return cores(value) if unit == "millicores" else size(value) if unit == "bytes" else str(value)


def pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0f}%"


def num(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "–"
    return str(int(x)) if float(x).is_integer() else f"{x:.{digits}f}"


def duration(seconds: float | None) -> str:
    """The TUI's durations with the next unit from 2 h up (3h04m, 5d3h): a document is read later."""
    return human_duration(seconds, units=2, missing="–")


def obj(f: dict) -> str:
    """'Kind ns/name' for a finding or row."""
    where = f"{f['namespace']}/{f['name']}" if f.get("namespace") else f.get("name", "")
    return f"{f.get('kind', '')} {where}".strip()


def view_tables(view: str, data: dict, taken: float) -> list[tuple[str, list[str], list[list[str]], dict]]:
    """The tables of one view as (title, headers, rows, extras); shared by Markdown and HTML so
    both say the same thing. extras carries raw numbers for gauges and sparklines, per row index."""
    out = []
    if view == "quotas":
        rows, extra = [], {}
        for r in data.get("quota_rows", []):
            extra[len(rows)] = {"gauge": r.get("ratio")}
            rows.append([r["namespace"], r["quota"], r["resource"], quota_amount(r["used"], r["unit"]),
                         quota_amount(r["hard"], r["unit"]), pct(r.get("percent")), r["level"].replace("_", " ")])
        out.append(("Quota usage", ["Namespace", "Quota", "Resource", "Used", "Hard", "Used %", "Level"], rows, extra))
        rows = []
        for n in data.get("rows", []):
            rows.append([n["namespace"], cores(n["cpu_requested_m"]), num(n.get("cpu_used_cores")),
                         size(n["memory_requested"]), size(n.get("memory_used")), str(n["gpu_requested"]),
                         num(n.get("gpus_idle")), n["level"].replace("_", " ")])
        out.append(("Requested vs used", ["Namespace", "CPU req", "CPU used", "Mem req", "Mem used", "GPU req",
                                          "GPUs idle", "Worst quota"], rows, {}))
        if data.get("without_quota"):
            out.append(("Namespaces without a ResourceQuota", ["Namespace"], [[n] for n in data["without_quota"]], {}))
    elif view == "gpu_nodes":
        rows, extra = [], {}
        for r in data.get("rows", []):
            hist = _mean_history([d.get("util_history") or [] for d in r.get("devices", [])])
            extra[len(rows)] = {"gauge": (r["requested"] / r["allocatable"]) if r["allocatable"] else None,
                                "spark": hist}
            rows.append([r["node"], r["product"], r["zone"], f"{r['requested']}/{r['allocatable']}", str(r["free"]),
                         pct(r.get("util_avg")), num(r.get("idle_gpus")), num(r.get("xid_gpus")), r["status"],
                         ", ".join(r.get("taints", []))])
        out.append(("GPU nodes", ["Node", "Product", "Zone", "Requested/alloc", "Free", "Util avg", "Idle GPUs",
                                  "XID GPUs", "Status", "Taints"], rows, extra))
        rows = [[t["group"] or "(unlabelled)", str(t["nodes"]), f"{t['requested']}/{t['allocatable']}", str(t["free"]),
                 str(t["unavailable_nodes"]), num(t.get("idle_gpus"))] for t in data.get("by_zone", [])]
        out.append(("GPUs by zone", ["Zone", "Nodes", "Requested/alloc", "Free", "Unavailable nodes", "Idle GPUs"], rows, {}))
    elif view == "hpas":
        rows, extra = [], {}
        for r in data.get("rows", []):
            extra[len(rows)] = {"spark": list(r.get("history_current") or []),
                                "gauge": (r["current"] / r["max_replicas"]) if r["max_replicas"] else None}
            rows.append([f"{r['namespace']}/{r['name']}", r["target"], str(r["min_replicas"]), str(r["max_replicas"]),
                         str(r["current"]), str(r["desired"]), num(r.get("computed_desired")),
                         r["state"].replace("_", " "), "; ".join(m["text"] for m in r.get("metrics", [])), r["why"]])
        out.append(("Autoscalers", ["HPA", "Target", "Min", "Max", "Current", "Desired", "Computed", "State",
                                    "Metrics", "Why"], rows, extra))
    elif view == "probes":
        rows = []
        for r in data.get("containers", []):
            since = duration(taken - r["since"]) if r.get("since") else "–"
            rows.append([f"{r['namespace']}/{r['pod']}/{r['container']}", r["workload"], ", ".join(r["failing"]) or "–",
                         num(r.get("failures_5m")), str(r["restarts"]), r["reason"] or r["state"],
                         r.get("last_term_reason") or "–", since,
                         (f"{r['last_event_reason']}: {r['last_event_message']}" if r.get("last_event_reason") else "–")])
        out.append(("Troubled containers", ["Container", "Workload", "Failing probes", "Failures 5m", "Restarts",
                                            "State", "Last exit", "Since", "Last event"], rows, {}))
    elif view == "zones":
        rows, extra = [], {}
        for z in data.get("rows", []):
            extra[len(rows)] = {"gauge": (1 - z["gpu_free"] / z["gpu_allocatable"]) if z["gpu_allocatable"] else None}
            rows.append([z["zone"] or "(unlabelled)", str(z["nodes"]), str(z["ready_nodes"]), str(z["schedulable_nodes"]),
                         f"{z['gpu_free']}/{z['gpu_allocatable']}", f"{cores(z['cpu_free_m'])}/{cores(z['cpu_allocatable_m'])}",
                         f"{size(z['memory_free'])}/{size(z['memory_allocatable'])}", str(z["pods"])])
        out.append(("Zones", ["Zone", "Nodes", "Ready", "Schedulable", "GPUs free/alloc", "CPU free/alloc",
                              "Mem free/alloc", "Pods"], rows, extra))
        rows = [[l["zone"] or "(unlabelled)", str(l["pods_displaced"]), str(l["gpu_displaced"]), "yes" if l["fits"] else "NO",
                 ", ".join(l.get("workloads_down", [])) or "–", l["summary"]] for l in data.get("losses", [])]
        out.append(("If a zone is lost", ["Zone", "Pods displaced", "GPUs displaced", "Fits elsewhere",
                                          "Workloads down", "Summary"], rows, {}))
        rows = [[w["key"], str(w["ready"]), ", ".join(f"{c['zone']}={c['ready']}" for c in w["by_zone"]),
                 "yes" if w["single_zone"] else "no", str(w["skew"])]
                for w in data.get("workloads", []) if w["single_zone"] or w["skew"] > 1]
        out.append(("Poorly spread workloads", ["Workload", "Ready", "By zone", "Single zone", "Skew"], rows, {}))
    elif view == "pending":
        rows = []
        for p in data.get("rows", []):
            wants = f"{cores(p['cpu_m'])} CPU, {size(p['memory'])}" + (f", {p['gpu']} GPU" if p["gpu"] else "")
            rows.append([f"{p['namespace']}/{p['name']}", p["workload"], wants, duration(p["pending_for_s"]),
                         str(p["fit_count"]), p["summary"]])
        out.append(("Pending pods", ["Pod", "Workload", "Wants", "Pending for", "Nodes that fit", "Why"], rows, {}))
    return out


def _mean_history(histories: list[list[float]]) -> list[float]:
    histories = [h for h in histories if h]
    if not histories:
        return []
    n = min(len(h) for h in histories)
    return [sum(h[-n + i] for h in histories) / len(histories) for i in range(n)]
