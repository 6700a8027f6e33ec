"""`rayctl status`: one view of a RayService, its RayClusters, their pods, Serve apps and the serve endpoint.

`build_view` is pure (objects in, a dict out) so it is unit-tested with hand-written objects; `collect_view`
does the
reads through a ClusterAPI.
"""

from __future__ import annotations

from typing import Any

from rayctl.k8s.cluster import RAY_API_VERSION, ClusterAPI

Obj = dict[str, Any]

HEAD_GROUP = "headgroup"


def _conds(obj: Obj | None) -> list[Obj]:
    return list(((obj or {}).get("status") or {}).get("conditions") or [])


def condition(obj: Obj | None, cond_type: str) -> Obj | None:
    for c in _conds(obj):
        if c.get("type") == cond_type:
            return c
    return None


def is_true(obj: Obj | None, cond_type: str) -> bool:
    return (condition(obj, cond_type) or {}).get("status") == "True"


def pod_ready(pod: Obj) -> bool:
    return is_true(pod, "Ready")


def pod_problem(pod: Obj) -> str | None:
    """Why a pod is not running/ready (scheduling, image pull, crash), or None."""
    status = pod.get("status") or {}
    phase = status.get("phase", "Unknown")
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    sched = condition(pod, "PodScheduled")
    if sched is not None and sched.get("status") == "False":
        return f"{sched.get('reason') or 'Unschedulable'}: {' '.join(str(sched.get('message', '')).split())}"
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        waiting = state.get("waiting")
        if waiting and waiting.get("reason") not in (None, "PodInitializing"):
            msg = " ".join(str(waiting.get("message", "")).split())
            return f"{cs.get('name')}: {waiting.get('reason')}" + (f": {msg}" if msg else "")
        term = state.get("terminated")
        if term and term.get("exitCode", 0) != 0:
            return f"{cs.get('name')}: terminated ({term.get('reason', '')}, exit {term.get('exitCode')})"
    if phase == "Pending":
        return "Pending"
    if phase in ("Failed", "Unknown"):
        return f"{phase}: {status.get('reason', '')} {status.get('message', '')}".strip()
    if phase == "Running" and not pod_ready(pod):
        return "Running but not Ready"
    return None


def _cluster_view(cluster: Obj, role: str, pods: list[Obj]) -> Obj:
    spec = cluster.get("spec") or {}
    meta = cluster.get("metadata") or {}
    status = cluster.get("status") or {}
    name = meta.get("name", "?")
    mine = [p for p in pods if ((p.get("metadata") or {}).get("labels") or {}).get("ray.io/cluster") == name]

    def group_view(group: str, desired: int, min_r: Any = None, max_r: Any = None) -> Obj:
        gp = [p for p in mine if ((p.get("metadata") or {}).get("labels") or {}).get("ray.io/group") == group]
        problems = []
        for p in gp:
            why = pod_problem(p)
            if why:
                problems.append({"pod": (p.get("metadata") or {}).get("name"), "reason": why})
        view: Obj = {
            "name": group,
            "desired": desired,
            "pods": len(gp),
            "ready": sum(1 for p in gp if pod_ready(p)),
            "notReady": problems,
        }
        if min_r is not None or max_r is not None:
            view["minReplicas"] = min_r
            view["maxReplicas"] = max_r
        return view

    groups = [group_view(HEAD_GROUP, 1)]
    for g in spec.get("workerGroupSpecs") or []:
        replicas = g.get("replicas")
        desired = int(replicas if replicas is not None else g.get("minReplicas") or 0) * int(g.get("numOfHosts") or 1)
        if g.get("suspend"):
            desired = 0
        groups.append(group_view(str(g.get("groupName", "?")), desired, g.get("minReplicas"), g.get("maxReplicas")))
    return {
        "name": name,
        "role": role,
        "state": status.get("state") or "",
        "conditions": [{k: c.get(k) for k in ("type", "status", "reason", "message")} for c in _conds(cluster)],
        "groups": groups,
    }


def build_view(
    rs: Obj, clusters: list[Obj], pods: list[Obj], serve_svc: Obj | None, events: list[Obj] | None = None
) -> Obj:
    """The status view as data (what `-o json` prints)."""
    meta = rs.get("metadata") or {}
    status = rs.get("status") or {}
    name = meta.get("name", "?")
    ns = meta.get("namespace")
    active = status.get("activeServiceStatus") or {}
    pending = status.get("pendingServiceStatus") or {}
    active_name = active.get("rayClusterName") or ""
    pending_name = pending.get("rayClusterName") or ""

    by_name = {(c.get("metadata") or {}).get("name"): c for c in clusters}
    cluster_views = []
    for cname, role in ((active_name, "active"), (pending_name, "pending")):
        if cname and cname in by_name:
            cluster_views.append(_cluster_view(by_name[cname], role, pods))
        elif cname:
            cluster_views.append(
                {"name": cname, "role": role, "state": "not created yet", "conditions": [], "groups": []}
            )
    for cname, c in by_name.items():
        if cname not in (active_name, pending_name):
            cluster_views.append(
                _cluster_view(
                    c,
                    "old (being deleted)" if (c.get("metadata") or {}).get("deletionTimestamp") else "old",
                    pods,
                )
            )

    apps = []
    for role, svc_status in (("active", active), ("pending", pending)):
        for app_name, app in sorted((svc_status.get("applicationStatuses") or {}).items()):
            deps = [
                {"name": d, "status": (ds or {}).get("status", ""), "message": (ds or {}).get("message", "")}
                for d, ds in sorted(((app or {}).get("serveDeploymentStatuses") or {}).items())
            ]
            apps.append(
                {
                    "name": app_name,
                    "cluster": role,
                    "status": (app or {}).get("status", ""),
                    "message": (app or {}).get("message", ""),
                    "deployments": deps,
                }
            )

    endpoint = None
    if serve_svc is not None:
        sspec = serve_svc.get("spec") or {}
        ports = sspec.get("ports") or []
        port = next((p for p in ports if p.get("name") == "serve"), ports[0] if ports else {})
        svc_name = (serve_svc.get("metadata") or {}).get("name")
        endpoint = {
            "service": svc_name,
            "type": sspec.get("type", "ClusterIP"),
            "clusterIP": sspec.get("clusterIP"),
            "port": port.get("port"),
            "url": f"http://{svc_name}.{ns}.svc.cluster.local:{port.get('port')}" if port else None,
            "selectsCluster": (sspec.get("selector") or {}).get("ray.io/cluster"),
        }
        ingress = ((serve_svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if ingress:
            endpoint["external"] = [i.get("ip") or i.get("hostname") for i in ingress]

    names = {name, active_name, pending_name} | {(p.get("metadata") or {}).get("name") for p in pods}
    recent = []
    for ev in events or []:
        inv = ev.get("involvedObject") or ev.get("regarding") or {}
        if inv.get("name") in names and ev.get("type") == "Warning":
            recent.append(
                {
                    "object": f"{str(inv.get('kind', '')).lower()}/{inv.get('name')}",
                    "reason": ev.get("reason"),
                    "message": " ".join(str(ev.get("message", "")).split()),
                    "count": ev.get("count") or 1,
                    "last": ev.get("lastTimestamp") or ev.get("eventTime") or "",
                }
            )
    recent.sort(key=lambda e: str(e["last"]))

    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    upgrading = next((c for c in status.get("conditions") or [] if c.get("type") == "UpgradeInProgress"), None)
    return {
        "name": name,
        "namespace": ns,
        "generation": meta.get("generation"),
        "observedGeneration": status.get("observedGeneration"),
        "ready": (ready or {}).get("status") == "True",
        "upgradeInProgress": (upgrading or {}).get("status") == "True",
        "numServeEndpoints": status.get("numServeEndpoints", 0),
        "conditions": [
            {k: c.get(k) for k in ("type", "status", "reason", "message", "lastTransitionTime")}
            for c in status.get("conditions") or []
        ],
        "activeCluster": active_name or None,
        "pendingCluster": pending_name or None,
        "clusters": cluster_views,
        "applications": apps,
        "endpoint": endpoint,
        "warnings": recent[-10:],
    }


def collect_view(
    cluster: ClusterAPI, name: str, namespace: str | None = None, *, with_events: bool = True
) -> Obj | None:
    """Read everything the view needs; None when the RayService does not exist."""
    ns = namespace or cluster.namespace
    rs = cluster.get_rayservice(name, ns)
    if rs is None:
        return None
    clusters = cluster.list_rayclusters(ns, label_selector=f"ray.io/originated-from-cr-name={name}")
    names = {(c.get("metadata") or {}).get("name") for c in clusters}
    status = rs.get("status") or {}
    for role in ("activeServiceStatus", "pendingServiceStatus"):
        cname = (status.get(role) or {}).get("rayClusterName")
        if cname and cname not in names:
            got = cluster.get(RAY_API_VERSION, "RayCluster", cname, ns)
            if got is not None:
                clusters.append(got)
    pods: list[Obj] = []
    for c in clusters:
        cname = (c.get("metadata") or {}).get("name")
        pods.extend(cluster.list_pods(ns, label_selector=f"ray.io/cluster={cname}"))
    svc = cluster.get("v1", "Service", f"{name}-serve-svc", ns)
    events = cluster.list_events(ns) if with_events else []
    return build_view(rs, clusters, pods, svc, events)


def rollout_done(view: Obj) -> bool:
    """The RayService has converged: Ready, the current generation observed, no pending cluster, apps
    RUNNING."""
    if not view.get("ready"):
        return False
    gen, observed = view.get("generation"), view.get("observedGeneration")
    if gen is not None and (observed is None or observed < gen):
        return False
    if view.get("upgradeInProgress") or view.get("pendingCluster"):
        return False
    apps = [a for a in view.get("applications", []) if a["cluster"] == "active"]
    return all(a["status"] == "RUNNING" for a in apps)


def progress_line(view: Obj) -> str:
    """A one-line summary for the --wait progress display."""
    ready = next((c for c in view["conditions"] if c.get("type") == "Ready"), None)
    parts = [f"Ready={ready.get('status')} ({ready.get('reason')})" if ready else "Ready=? (no status yet)"]
    for c in view["clusters"]:
        if c["role"] not in ("active", "pending"):
            continue
        pods = sum(g["pods"] for g in c["groups"])
        ready_pods = sum(g["ready"] for g in c["groups"])
        desired = sum(g["desired"] for g in c["groups"])
        parts.append(f"{c['role']} {c['name']}: {ready_pods}/{desired} pods ready ({pods} exist)")
    apps = view.get("applications", [])
    if apps:
        parts.append("apps: " + ", ".join(f"{a['name']}={a['status']}" for a in apps))
    return "; ".join(parts)


def progress_details(view: Obj, *, width: int = 160) -> list[str]:
    """The messages behind the progress line: Serve apps/deployments that are not RUNNING/HEALTHY, and why pods
    are not ready (shown under the progress line while --wait follows the rollout)."""
    out = []
    for a in view.get("applications", []):
        if a["status"] != "RUNNING":
            out.append(f"  app {a['name']} [{a['cluster']}]: {a['status']} {a.get('message') or ''}".rstrip())
        for d in a["deployments"]:
            if d["status"] != "HEALTHY":
                out.append(f"    deployment {d['name']}: {d['status']} {d.get('message') or ''}".rstrip())
    for c in view.get("clusters", []):
        for g in c["groups"]:
            for p in g["notReady"]:
                out.append(f"  pod {p['pod']}: {p['reason']}")
    return [line if len(line) <= width else line[: width - 3] + "..." for line in out]


def format_view(view: Obj, *, diagnosis: bool = False) -> str:
    """Human-readable status (also the --wait timeout diagnosis when `diagnosis`)."""
    out = [
        f"RayService {view['namespace']}/{view['name']}  (generation {view['generation']}, observed "
        f"{view['observedGeneration']}, serve endpoints {view['numServeEndpoints']})"
    ]
    out.append("Conditions:")
    if not view["conditions"]:
        out.append("  (none yet: the operator has not reconciled this RayService; is the KubeRay operator running?)")
    for c in view["conditions"]:
        out.append(f"  {c['type']}={c['status']}  {c.get('reason') or ''}: {c.get('message') or ''}")
    out.append(f"Clusters: active={view['activeCluster'] or '-'}  pending={view['pendingCluster'] or '-'}")
    for c in view["clusters"]:
        out.append(f"  {c['role']} {c['name']}  state={c['state'] or '-'}")
        for g in c["groups"]:
            rng = ""
            if "minReplicas" in g:
                rng = f" (min {g.get('minReplicas')}, max {g.get('maxReplicas')})"
            out.append(f"    {g['name']}: {g['ready']}/{g['desired']} ready, {g['pods']} pods{rng}")
            for p in g["notReady"]:
                out.append(f"      {p['pod']}: {p['reason']}")
            if g["pods"] < g["desired"]:
                out.append(f"      {g['desired'] - g['pods']} pod(s) not created yet")
    out.append("Serve applications:")
    if not view["applications"]:
        out.append("  (none reported yet: the operator reports them once the head pod's dashboard answers)")
    for a in view["applications"]:
        msg = f"  {a['message']}" if a.get("message") else ""
        out.append(f"  [{a['cluster']}] {a['name']}: {a['status']}{msg}")
        for d in a["deployments"]:
            dmsg = f"  {d['message']}" if d.get("message") else ""
            out.append(f"      {d['name']}: {d['status']}{dmsg}")
    ep = view.get("endpoint")
    if ep:
        ext = f"  external: {', '.join(str(x) for x in ep['external'])}" if ep.get("external") else ""
        out.append(
            f"Endpoint: {ep['url']}  (service {ep['service']}, {ep['type']} {ep.get('clusterIP')}, "
            f"-> cluster {ep.get('selectsCluster') or '-'}){ext}"
        )
    else:
        out.append(f"Endpoint: service {view['name']}-serve-svc does not exist yet (created when a cluster is ready)")
    if view.get("warnings"):
        out.append("Recent warning events:" if not diagnosis else "Warning events:")
        for e in view["warnings"]:
            out.append(f"  {e['object']}: {e['reason']}: {e['message']} (x{e['count']})")
    return "\n".join(out)


def diagnose(view: Obj) -> str:
    """What is holding the RayService back, most likely cause first."""
    lines = []
    pending = [(c["name"], g["name"], p) for c in view["clusters"] for g in c["groups"] for p in g["notReady"]]
    if pending:
        lines.append("Pods not ready:")
        for cname, gname, p in pending:
            lines.append(f"  {p['pod']} ({cname}/{gname}): {p['reason']}")
    missing = [
        (c["name"], g["name"], g["desired"] - g["pods"])
        for c in view["clusters"]
        for g in c["groups"]
        if g["pods"] < g["desired"]
    ]
    for cname, gname, n in missing:
        lines.append(f"  {n} pod(s) of {cname}/{gname} not created yet")
    not_running = [a for a in view["applications"] if a["status"] != "RUNNING"]
    if not_running:
        lines.append("Serve applications not RUNNING:")
        for a in not_running:
            lines.append(f"  [{a['cluster']}] {a['name']}: {a['status']} {a.get('message') or ''}".rstrip())
            for d in a["deployments"]:
                if d["status"] not in ("HEALTHY",):
                    lines.append(f"      {d['name']}: {d['status']} {d.get('message') or ''}".rstrip())
    if not lines:
        lines.append("No pod or application problem found; see the conditions below.")
    return "\n".join(lines) + "\n" + format_view(view, diagnosis=True)
