"""`rayctl status`: one view of a RayService, its RayClusters, their pods, Serve apps and the serve endpoint.

Pure: raw objects in (as rayctl.k8s.status.read_status_objects fetches them), a dict out (what `-o json` prints),
plus the text renderings and the `--wait` completion rule. The RayService and its RayClusters are read through the
typed read-model (rayctl.model), the same reading the validation rules and the upgrade planner use: a group's
desired pods and what each pod offers Ray are the model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from rayctl.findings import Collector
from rayctl.model import (
    HEAD_GROUP,
    Condition,
    RayClusterModel,
    RayResources,
    Reader,
    ServiceStatus,
    find_condition,
    parse_conditions,
    parse_container,
    parse_raycluster,
    parse_rayservice,
)
from rayctl.quantity import format_bytes
from rayctl.spec.cluster import DRAIN_ENV

Obj = dict[str, Any]


class StatusObjects(Protocol):
    """What `build_view_from` reads (rayctl.k8s.status.StatusObjects has these fields)."""

    rayservice: Obj
    clusters: list[Obj]
    pods: list[Obj]
    serve_service: Obj | None
    events: list[Obj]


def _mapping(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _pod_conditions(pod: Obj) -> tuple[Condition, ...]:
    return parse_conditions(_mapping(pod.get("status")).get("conditions"), "status.conditions", Reader(Collector()))


def pod_ready(pod: Obj) -> bool:
    ready = find_condition(_pod_conditions(pod), "Ready")
    return ready is not None and ready.true


def _terminating(pod: Obj, deadline: str) -> str:
    """A deleted pod: Ray drains a worker's node on SIGTERM (unless its drain timeout is 0), so the pod may stay
    Ready for a while; deletionTimestamp is when Kubernetes kills it at the latest."""
    containers = _list(_mapping(pod.get("spec")).get("containers"))
    ray = parse_container(_mapping(containers[0]), "spec.containers[0]", Reader(Collector())) if containers else None
    drain = ray.env_value(DRAIN_ENV) if ray else None  # the last entry of a name wins, as in Kubernetes
    worker = _label(pod, "ray.io/node-type") == "worker"
    if worker and drain != "0":
        return f"Terminating: draining (Serve moves its replicas off first); killed at {deadline} at the latest"
    return f"Terminating (killed at {deadline} at the latest)"


def pod_problem(pod: Obj) -> str | None:
    """Why a pod is not running/ready (scheduling, image pull, crash), or None."""
    status = _mapping(pod.get("status"))
    phase = status.get("phase", "Unknown")
    deadline = _mapping(pod.get("metadata")).get("deletionTimestamp")
    if deadline:
        return _terminating(pod, str(deadline))
    sched = find_condition(_pod_conditions(pod), "PodScheduled")
    if sched is not None and sched.status == "False":
        return f"{sched.reason or 'Unschedulable'}: {' '.join(sched.message.split())}"
    for cs in _list(status.get("initContainerStatuses")) + _list(status.get("containerStatuses")):
        cs = _mapping(cs)
        state = _mapping(cs.get("state"))
        waiting = _mapping(state.get("waiting"))
        if waiting and waiting.get("reason") not in (None, "PodInitializing"):
            msg = " ".join(str(waiting.get("message", "")).split())
            return f"{cs.get('name')}: {waiting.get('reason')}" + (f": {msg}" if msg else "")
        term = _mapping(state.get("terminated"))
        if term and term.get("exitCode", 0) != 0:
            return f"{cs.get('name')}: terminated ({term.get('reason', '')}, exit {term.get('exitCode')})"
    if phase == "Pending":
        return "Pending"
    if phase in ("Failed", "Unknown"):
        return f"{phase}: {status.get('reason', '')} {status.get('message', '')}".strip()
    if phase == "Running" and not pod_ready(pod):
        return "Running but not Ready"
    return None


def _label(pod: Obj, key: str) -> Any:
    return _mapping(_mapping(pod.get("metadata")).get("labels")).get(key)


def ray_resources_view(ray: RayResources) -> Obj:
    """What one pod offers Ray, for the view (`None`: Ray measures the node itself)."""
    return {
        "CPU": None if ray.cpu is None else float(ray.cpu),
        "GPU": float(ray.gpu),
        "memory": None if ray.memory is None else float(ray.memory),
        **{k: v for k, v in ray.custom.items()},
    }


def _group_view(name: str, desired: int, pods: list[Obj], ray: RayResources, min_max: tuple[int, int] | None) -> Obj:
    problems = []
    for p in pods:
        why = pod_problem(p)
        if why:
            problems.append({"pod": _mapping(p.get("metadata")).get("name"), "reason": why})
    view: Obj = {
        "name": name,
        "desired": desired,
        "pods": len(pods),
        "ready": sum(1 for p in pods if pod_ready(p)),
        "notReady": problems,
        "rayResourcesPerPod": ray_resources_view(ray),
    }
    if min_max is not None:
        view["minReplicas"], view["maxReplicas"] = min_max
    return view


def _cluster_view(cluster: RayClusterModel, role: str, pods: list[Obj]) -> Obj:
    name = cluster.metadata.name or "?"
    mine = [p for p in pods if _label(p, "ray.io/cluster") == name]

    def in_group(group: str) -> list[Obj]:
        return [p for p in mine if _label(p, "ray.io/group") == group]

    head = cluster.cluster.head
    groups = [_group_view(HEAD_GROUP, 1, in_group(HEAD_GROUP), head.ray, None)]
    for g in cluster.cluster.workers:
        groups.append(_group_view(g.name, g.desired_pods(), in_group(g.name), g.ray, (g.min_replicas, g.max_replicas)))
    return {
        "name": name,
        "role": role,
        "state": cluster.state,
        "conditions": [{"type": c.type, "status": c.status, "reason": c.reason, "message": c.message}
                       for c in cluster.conditions],
        "groups": groups,
    }


def _applications(role: str, service: ServiceStatus) -> list[Obj]:
    return [
        {
            "name": app.name,
            "cluster": role,
            "status": app.status,
            "message": app.message,
            "deployments": [{"name": d.name, "status": d.status, "message": d.message} for d in app.deployments],
        }
        for app in service.applications
    ]


def _endpoint(serve_svc: Obj, namespace: str | None) -> Obj:
    sspec = _mapping(serve_svc.get("spec"))
    ports = [_mapping(p) for p in _list(sspec.get("ports"))]
    port = next((p for p in ports if p.get("name") == "serve"), ports[0] if ports else {})
    svc_name = _mapping(serve_svc.get("metadata")).get("name")
    endpoint: Obj = {
        "service": svc_name,
        "type": sspec.get("type", "ClusterIP"),
        "clusterIP": sspec.get("clusterIP"),
        "port": port.get("port"),
        "url": f"http://{svc_name}.{namespace}.svc.cluster.local:{port.get('port')}" if port else None,
        "selectsCluster": _mapping(sspec.get("selector")).get("ray.io/cluster"),
    }
    ingress = _list(_mapping(_mapping(serve_svc.get("status")).get("loadBalancer")).get("ingress"))
    if ingress:
        endpoint["external"] = [_mapping(i).get("ip") or _mapping(i).get("hostname") for i in ingress]
    return endpoint


def _warning_events(events: Sequence[Obj], names: set[Any]) -> list[Obj]:
    recent = []
    for ev in events:
        inv = _mapping(ev.get("involvedObject") or ev.get("regarding"))
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
    return recent[-10:]


def build_view(
    rs: Obj, clusters: list[Obj], pods: list[Obj], serve_svc: Obj | None, events: list[Obj] | None = None
) -> Obj:
    """The status view as data (what `-o json` prints)."""
    model = parse_rayservice(rs)[0]
    meta, status = model.metadata, model.status
    name = meta.name or "?"
    active_name, pending_name = status.active.cluster_name, status.pending.cluster_name

    by_name: dict[str, RayClusterModel] = {}
    for raw in clusters:
        cluster = parse_raycluster(raw)[0]
        by_name[cluster.metadata.name] = cluster
    cluster_views = []
    for cname, role in ((active_name, "active"), (pending_name, "pending")):
        if cname and cname in by_name:
            cluster_views.append(_cluster_view(by_name[cname], role, pods))
        elif cname:
            cluster_views.append({"name": cname, "role": role, "state": "not created yet", "conditions": [],
                                  "groups": []})
    for cname, cluster in by_name.items():
        if cname not in (active_name, pending_name):
            role = "old (being deleted)" if cluster.metadata.deletion_timestamp else "old"
            cluster_views.append(_cluster_view(cluster, role, pods))

    names = {name, active_name, pending_name} | {_mapping(p.get("metadata")).get("name") for p in pods}
    return {
        "name": name,
        "namespace": meta.namespace,
        "generation": meta.generation,
        "observedGeneration": status.observed_generation,
        "ready": status.is_true("Ready"),
        "upgradeInProgress": status.is_true("UpgradeInProgress"),
        "numServeEndpoints": status.num_serve_endpoints,
        "conditions": [
            {"type": c.type, "status": c.status, "reason": c.reason, "message": c.message,
             "lastTransitionTime": c.last_transition_time}
            for c in status.conditions
        ],
        "activeCluster": active_name or None,
        "pendingCluster": pending_name or None,
        "clusters": cluster_views,
        "applications": _applications("active", status.active) + _applications("pending", status.pending),
        "endpoint": _endpoint(serve_svc, meta.namespace) if serve_svc is not None else None,
        "warnings": _warning_events(events or [], names),
    }


def build_view_from(objects: StatusObjects) -> Obj:
    """build_view over what rayctl.k8s.status.read_status_objects fetched."""
    return build_view(objects.rayservice, objects.clusters, objects.pods, objects.serve_service, objects.events)


def rollout_done(view: Obj) -> bool:
    """The RayService has converged: Ready, the current generation observed, no pending cluster, apps RUNNING."""
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


def _per_pod(resources: Obj | None) -> str:
    """`8 CPU, 1 GPU, 32Gi` for one pod (CPU/memory Ray measures itself are left out)."""
    if not resources:
        return ""
    parts = []
    if resources.get("CPU") is not None:
        parts.append(f"{resources['CPU']:g} CPU")
    if resources.get("GPU"):
        parts.append(f"{resources['GPU']:g} GPU")
    if resources.get("memory") is not None:
        parts.append(format_bytes(resources["memory"]))
    return f"; Ray per pod: {', '.join(parts)}" if parts else ""


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
            per_pod = _per_pod(g.get("rayResourcesPerPod"))
            out.append(f"    {g['name']}: {g['ready']}/{g['desired']} ready, {g['pods']} pods{rng}{per_pod}")
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


def _no_room_for_the_new_cluster(view: Obj) -> list[str]:
    """A blue/green upgrade whose pending cluster cannot be scheduled beside the active one: the usual cause on a
    small cluster (kind on a laptop), and not visible from the pods alone."""
    roles = {c["role"] for c in view["clusters"]}
    starved = [c["name"] for c in view["clusters"] if c["role"] == "pending"
               and any("Insufficient" in p["reason"] for g in c["groups"] for p in g["notReady"])]
    if "active" not in roles or not starved:
        return []
    return [f"The new RayCluster {starved[0]} does not fit beside the active one: a rayClusterConfig change runs "
            "both side by side until traffic switches, so the nodes need room for the two (add nodes or let a "
            "cluster autoscaler add them; on kind, another worker node in kind-config.yaml or a smaller "
            "cpuProfile.budget)."]


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
    lines += _no_room_for_the_new_cluster(view)
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
