"""Actions in place, safely: scale, cordon / uncordon / drain, node labels and taints, undo.

    session = ActionSession(conn)                   # conn: sources.kube.KubeConnection (the one HTTP path)
    ok, why = session.guard.allowed("cordon", ObjectRef("Node", "gpu-3"))   # read-only / RBAC (SSAR, cached 60 s)
    plan = session.plan_labels("gpu-3", {"pool": "h100", "team": None})     # GET + dry run; raises UserError
    print(plan.describe())                          # the diff and exactly what will be sent
    result = session.apply(plan)                    # audited; 409 -> result.outcome == "conflict":
    plan = session.replan(plan)                     #   re-read, show the new diff, ask again
    session.plan_undo()                             # inverse of the newest label / taint / cordon change

Modules: validation (Kubernetes syntax rules), plan (ActionPlan, execute), nodes, scale, drain,
guard (SelfSubjectAccessReview), audit (JSON lines in the XDG state dir), undo, session.
"""
