"""The reads behind `rayctl status` and `--wait`: the RayService, its RayClusters, their pods, the serve Service and
events, as the API server returns them (raw dicts). The view built from them is rayctl.status (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rayctl.k8s.cluster import RAY_API_VERSION, ClusterAPI

Obj = dict[str, Any]


@dataclass
class StatusObjects:
    rayservice: Obj
    clusters: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)
    serve_service: Obj | None = None
    events: list[Obj] = field(default_factory=list)


def _name(obj: Any) -> Any:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return meta.get("name") if isinstance(meta, dict) else None


def read_status_objects(
    cluster: ClusterAPI, name: str, namespace: str | None = None, *, with_events: bool = True
) -> StatusObjects | None:
    """Read everything the status view needs; None when the RayService does not exist."""
    ns = namespace or cluster.namespace
    rs = cluster.get_rayservice(name, ns)
    if rs is None:
        return None
    clusters = cluster.list_rayclusters(ns, label_selector=f"ray.io/originated-from-cr-name={name}")
    names = {_name(c) for c in clusters}
    status = rs.get("status")
    for role in ("activeServiceStatus", "pendingServiceStatus"):
        role_status = status.get(role) if isinstance(status, dict) else None
        cname = role_status.get("rayClusterName") if isinstance(role_status, dict) else None
        if cname and cname not in names:
            got = cluster.get(RAY_API_VERSION, "RayCluster", cname, ns)
            if got is not None:
                clusters.append(got)
    pods: list[Obj] = []
    for c in clusters:
        pods.extend(cluster.list_pods(ns, label_selector=f"ray.io/cluster={_name(c)}"))
    svc = cluster.get("v1", "Service", f"{name}-serve-svc", ns)
    events = cluster.list_events(ns) if with_events else []
    return StatusObjects(rayservice=rs, clusters=clusters, pods=pods, serve_service=svc, events=events)
