"""`kubectl logs` for simulated pods: a few deterministic lines shaped by the container's state, so an
SRE chasing a crash loop or a failing probe in the demo sees what such a container usually prints."""
from __future__ import annotations

import hashlib
from typing import Any

from .objects import ApiError, ObjectStore, not_found, rfc3339

Obj = dict[str, Any]


def _bad(msg: str) -> ApiError:
    return ApiError(400, "BadRequest", msg)


def _lines_for(pod: Obj, container: Obj, status: Obj, previous: bool, now: float) -> list[str]:
    name, image = container.get("name", ""), container.get("image", "")
    state, last = status.get("state") or {}, status.get("lastState") or {}
    seed = int(hashlib.sha1(f'{pod["metadata"]["name"]}/{name}'.encode()).hexdigest()[:6], 16)
    gpu = any("nvidia.com/gpu" in (container.get("resources") or {}).get(k, {}) for k in ("requests", "limits"))
    t = now - 300

    def at(offset: float) -> str:
        return rfc3339(t + offset)

    out = [f"{at(0)} INFO  starting {name} ({image})",
           f"{at(1)} INFO  loading model weights from /models/{name}",
           f"{at(3)} INFO  {'CUDA devices: ' + str(seed % 8 + 1) if gpu else 'running on CPU'}"]
    term = (last.get("terminated") if previous else state.get("terminated") or
            (last.get("terminated") if state.get("waiting") else None)) or {}
    if term:
        code = term.get("exitCode", 1)
        reason = term.get("reason", "Error")
        if reason == "OOMKilled" or code == 137:
            out.append(f"{at(40)} WARN  memory usage at 97% of limit")
            out.append(f"{at(41)} ERROR killed: out of memory (exit code {code})")
        elif gpu:
            out.append(f"{at(40)} ERROR torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate "
                       f"{2 + seed % 14} GiB")
            out.append(f"{at(41)} ERROR fatal: exiting with code {code}")
        else:
            out.append(f"{at(40)} ERROR failed to connect to feature store: connection refused")
            out.append(f"{at(41)} ERROR fatal: exiting with code {code} ({reason})")
        return out
    if previous:
        raise _bad(f'previous terminated container "{name}" in pod "{pod["metadata"]["name"]}" not found')
    if state.get("waiting"):
        raise _bad(f'container "{name}" in pod "{pod["metadata"]["name"]}" is waiting to start: '
                   f'{state["waiting"].get("reason", "ContainerCreating")}')
    out.append(f"{at(10)} INFO  serving on :8080")
    if not status.get("ready", True):
        out += [f"{at(60 + 10 * i)} WARN  /ready: model warm-up not finished ({40 + 10 * i}%)" for i in range(3)]
    else:
        out += [f"{at(60 + 30 * i)} INFO  {100 + (seed + i) % 900} requests in the last 30s, "
                f"p99 {20 + (seed * (i + 1)) % 180} ms" for i in range(3)]
    return out


def pod_log(store: ObjectStore, namespace: str, name: str, params: dict) -> bytes:
    pod = store.get("pods", namespace, name)
    if pod is None:
        raise not_found("pods", name)
    containers = (pod.get("spec") or {}).get("containers") or []
    wanted = params.get("container", "")
    if not wanted:
        if len(containers) != 1:
            names = " ".join(c.get("name", "") for c in containers)
            raise _bad(f"a container name must be specified for pod {name}, choose one of: [{names}]")
        wanted = containers[0].get("name", "")
    container = next((c for c in containers if c.get("name") == wanted), None)
    if container is None:
        raise _bad(f"container {wanted} is not valid for pod {name}")
    if (pod.get("status") or {}).get("phase") == "Pending" and not (pod.get("spec") or {}).get("nodeName"):
        raise _bad(f'container "{wanted}" in pod "{name}" is waiting to start: ContainerCreating')
    status = next((s for s in (pod.get("status") or {}).get("containerStatuses") or [] if s.get("name") == wanted), {})
    lines = _lines_for(pod, container, status, params.get("previous") in ("true", "1"), store.now())
    try:
        tail = int(params.get("tailLines") or 0)
    except ValueError:
        raise _bad(f'invalid tailLines: "{params.get("tailLines")}"') from None
    if tail > 0:
        lines = lines[-tail:]
    if params.get("timestamps") not in ("true", "1"):
        lines = [ln.split(" ", 1)[1] for ln in lines]
    return ("\n".join(lines) + "\n").encode()
