"""The CronJob controller (batch/v1): at each scheduled minute (in spec.timeZone) a Job from the jobTemplate,
owned by the CronJob and named <cronjob>-<scheduled minutes since the epoch>; concurrencyPolicy, suspend,
startingDeadlineSeconds and the history limits as the real controller; status.active / lastScheduleTime /
lastSuccessfulTime. Jobs it creates run their pod for a short while and succeed (the pod Succeeded with its
containers Completed, the Job Complete). A mixin of Dynamics (dynamics.py)."""
from __future__ import annotations

import calendar
import copy
import datetime as dt
import time
from typing import Any

from . import manifests as mf
from .dynamics_state import Obj, owner_of
from .manifests import rfc3339
from .objects import ApiError

_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
           "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_LOOKBACK_MIN = 2 * 24 * 60  # minutes searched back for the last missed schedule


def _field(expr: str, lo: int, hi: int) -> set[int]:
    out: set[int] = set()
    for part in expr.split(","):
        rng, _, step_s = part.partition("/")
        step = int(step_s) if step_s else 1
        if step < 1:
            raise ValueError(part)
        if rng == "*":
            a, b = lo, hi
        elif "-" in rng:
            a, b = (int(x) for x in rng.split("-", 1))
        else:
            a = int(rng)
            b = hi if step_s else a
        if not (lo <= a <= b <= hi):
            raise ValueError(part)
        out.update(range(a, b + 1, step))
    return out


def parse_schedule(schedule: str) -> tuple[list[set[int]], bool, bool] | None:
    """(minute, hour, day-of-month, month, day-of-week sets; dom restricted; dow restricted), None if invalid."""
    s = _MACROS.get(schedule.strip(), schedule.strip()) if isinstance(schedule, str) else ""
    parts = s.split()
    if len(parts) != 5:
        return None
    try:
        sets = [_field(p, lo, hi) for p, (lo, hi) in zip(parts, _RANGES)]
    except ValueError:
        return None
    if 7 in sets[4]:
        sets[4].add(0)
    return sets, parts[2] != "*", parts[4] != "*"


def _matches(parsed: tuple[list[set[int]], bool, bool], t: dt.datetime) -> bool:
    sets, dom_r, dow_r = parsed
    if t.minute not in sets[0] or t.hour not in sets[1] or t.month not in sets[3]:
        return False
    dom_ok, dow_ok = t.day in sets[2], (t.weekday() + 1) % 7 in sets[4]
    return (dom_ok or dow_ok) if (dom_r and dow_r) else (dom_ok and dow_ok)


def last_due(parsed: Any, after: float, now: float, tz: Any) -> float | None:
    """The latest scheduled minute in (after, now], searched back at most two days."""
    m = int(now // 60) * 60
    for _ in range(_LOOKBACK_MIN):
        if m <= after:
            return None
        if _matches(parsed, dt.datetime.fromtimestamp(m, tz)):
            return float(m)
        m -= 60
    return None


def _ts(s: str | None) -> float | None:
    if not s:
        return None
    return float(calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")))


def _zone(name: str | None) -> Any:
    if name:
        try:
            from zoneinfo import ZoneInfo
            return ZoneInfo(name)
        except Exception:
            pass
    return dt.timezone.utc


def owned_by_cronjob(job: Obj | None) -> bool:
    o = owner_of(job) if job else None
    return bool(o and o[1] == "CronJob")


class CronJobController:
    CRONJOB_RUN_S = (20.0, 90.0)  # how long a CronJob's pod runs before it succeeds

    def _cronjobs(self) -> None:
        for cj in self.store.list("cronjobs")[0]:
            try:
                self._sync_cronjob(cj)
            except ApiError:
                pass  # a concurrent write: next step

    def _job_finished(self, job: Obj) -> str:
        for c in (job.get("status") or {}).get("conditions") or []:
            if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
                return c["type"]
        return ""

    def _sync_cronjob(self, cj: Obj) -> None:
        md, spec = cj["metadata"], cj.get("spec") or {}
        ns, name = md["namespace"], md["name"]
        st = dict(cj.get("status") or {})
        jobs = [j for j in self.store.list("jobs", ns)[0]
                if any(r.get("uid") == md.get("uid") for r in j["metadata"].get("ownerReferences") or [])]
        active = [j for j in jobs if not self._job_finished(j)]
        done = sorted((j for j in jobs if self._job_finished(j)),
                      key=lambda j: (j.get("status") or {}).get("completionTime") or "")
        for kind, limit in (("Complete", spec.get("successfulJobsHistoryLimit", 3)),
                            ("Failed", spec.get("failedJobsHistoryLimit", 1))):
            finished = [j for j in done if self._job_finished(j) == kind]
            for j in finished[: max(0, len(finished) - int(limit))]:
                self.store.delete("jobs", ns, j["metadata"]["name"])  # its pods go with it (garbage collector)
        succeeded = [(j.get("status") or {}).get("completionTime") for j in done if self._job_finished(j) == "Complete"]
        if succeeded and max(succeeded) != st.get("lastSuccessfulTime"):
            st["lastSuccessfulTime"] = max(succeeded)
        parsed = parse_schedule(spec.get("schedule", ""))
        if parsed is not None and not spec.get("suspend"):
            after = _ts(st.get("lastScheduleTime")) or _ts(md.get("creationTimestamp")) or self.now
            due = last_due(parsed, after, self.now, _zone(spec.get("timeZone")))
            deadline = spec.get("startingDeadlineSeconds")
            if due is not None and not (deadline is not None and self.now - due > deadline):
                policy = spec.get("concurrencyPolicy", "Allow")
                if policy == "Forbid" and active:
                    pass  # the real controller waits (and schedules again if still within the deadline)
                else:
                    if policy == "Replace":
                        for j in active:
                            self.store.delete("jobs", ns, j["metadata"]["name"])
                            self._event(cj, "SuccessfulDelete", f"Deleted job {j['metadata']['name']}",
                                        component="cronjob-controller")
                        active = []
                    job = self._job_from_template(cj, due)
                    if self.store.get("jobs", ns, job["metadata"]["name"]) is None:
                        active.append(self.store.create("jobs", job))
                        self._event(cj, "SuccessfulCreate", f"Created job {job['metadata']['name']}",
                                    component="cronjob-controller")
                    st["lastScheduleTime"] = rfc3339(due)
        refs = [{"apiVersion": "batch/v1", "kind": "Job", "name": j["metadata"]["name"], "namespace": ns,
                 "uid": j["metadata"]["uid"], "resourceVersion": j["metadata"]["resourceVersion"]} for j in active]
        if refs:
            st["active"] = refs
        else:
            st.pop("active", None)
        if st != (cj.get("status") or {}):
            cur = self.store.get("cronjobs", ns, name)
            if cur is not None:
                self.store.replace("cronjobs", dict(cur, status=st, metadata=dict(cur["metadata"])),
                                   expect_rv=cur["metadata"]["resourceVersion"])

    def _job_from_template(self, cj: Obj, due: float) -> Obj:
        md = cj["metadata"]
        tmpl = copy.deepcopy((cj.get("spec") or {}).get("jobTemplate") or {})
        name = f"{md['name']}-{int(due // 60)}"
        uid = mf.new_uid(self.rng)
        jspec = dict(tmpl.get("spec") or {})
        for k, v in (("parallelism", 1), ("completions", 1), ("backoffLimit", 6), ("completionMode", "NonIndexed"),
                     ("suspend", False), ("podReplacementPolicy", "TerminatingOrFailed"), ("manualSelector", False)):
            jspec.setdefault(k, v)
        jspec.pop("manualSelector", None)
        ptmpl = dict(jspec.get("template") or {})
        pmd = dict(ptmpl.get("metadata") or {})
        pmd["labels"] = {**(pmd.get("labels") or {}), "batch.kubernetes.io/controller-uid": uid,
                         "batch.kubernetes.io/job-name": name, "controller-uid": uid, "job-name": name}
        ptmpl["metadata"] = pmd
        jspec["template"] = ptmpl
        jspec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
        return {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": name, "namespace": md["namespace"], "uid": uid, "generation": 1,
                             **({"labels": labels} if labels else {}),
                             "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": rfc3339(due)},
                             "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": md["name"],
                                                  "uid": md.get("uid", ""), "controller": True,
                                                  "blockOwnerDeletion": True}]},
                "spec": jspec, "status": {"startTime": rfc3339(self.now)}}

    # --- the kubelet side: a CronJob's pod runs a while and succeeds -----------------------------------
    def _cronjob_pod_started(self, ns: str, name: str, info: Any) -> None:
        if info.owner and info.owner[1] == "Job" and owned_by_cronjob(self.store.get("jobs", ns, info.owner[2])):
            self._push(self.now + self.rng.uniform(*self.CRONJOB_RUN_S), ns, name, "succeed")

    def _succeed_pod(self, ns: str, name: str, pod: Obj) -> None:
        statuses = []
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            started = _ts(((cs.get("state") or {}).get("running") or {}).get("startedAt")) or self.now
            statuses.append(dict(cs, ready=False, started=False, state={"terminated": mf.terminated_state(
                "Completed", 0, started, self.now, cs.get("containerID", ""))}))
        conds = []
        for c in (pod.get("status") or {}).get("conditions") or []:
            c = dict(c)
            if c["type"] in ("Ready", "ContainersReady"):
                c.update(status="False", reason="PodCompleted", lastTransitionTime=rfc3339(self.now))
            elif c["type"] == "PodReadyToStartContainers":
                c.update(status="False", lastTransitionTime=rfc3339(self.now))
            conds.append(c)
        new = dict(pod, status=dict(pod.get("status") or {}, phase="Succeeded", containerStatuses=statuses,
                                    conditions=conds))
        if not self._replace_pod(pod, new):
            self._push(self.now + 15.0, ns, name, "succeed")
            return
        info = self._forget_pod(ns, name)  # releases the node, quota usage and telemetry
        self._add_pod(self.store.get("pods", ns, name) or new)  # tracked again, as done
        if info is not None and info.owner:
            self.dirty_status.add(info.owner)

    def _job_completion(self, wl: Obj, owner: Any, st: Obj) -> Obj:
        """Job status for a CronJob's Job: Complete once its pods succeeded."""
        if not owned_by_cronjob(wl):
            return st
        ns = owner[0]
        done = sum(1 for n in self.by_owner.get(owner, ()) if self.pods.get((ns, n)) and self.pods[(ns, n)].state == "done")
        want = int(wl["spec"].get("completions", 1) or 1)
        st.setdefault("startTime", rfc3339(self.now))
        if done:
            st["succeeded"] = done
        if done >= want:
            now = rfc3339(self.now)
            st.pop("active", None)
            st["ready"] = 0
            st["completionTime"] = now
            st["conditions"] = [{"type": t, "status": "True", "lastProbeTime": now, "lastTransitionTime": now,
                                 "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}
                                for t in ("SuccessCriteriaMet", "Complete")]
            st["terminating"] = 0
            st["uncountedTerminatedPods"] = {}
        return st
