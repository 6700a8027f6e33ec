"""Make a RayService reachable from the host through kind's port mappings (pure functions on dicts).

- Serve: KubeRay's `spec.serveService` template turns `<name>-serve-svc` itself into a NodePort Service (KubeRay fills
  in the selector and keeps pointing it at the active cluster across upgrades), on the node port that
  kind-config.yaml maps to the host.
- Dashboard: a separate NodePort Service selecting the head pod by a label this module adds to the head template
  (a per-cluster head Service cannot carry a fixed node port: during an upgrade two clusters would claim it).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from rayctl.devloop.kind import DASHBOARD_NODE_PORT, DASHBOARD_PORT, SERVE_NODE_PORT, SERVE_PORT
from rayctl.errors import InputError

HEAD_LABEL = "rayctl.dev/dev-head"
DEV_FOR_LABEL = "rayctl.dev/dev-for"


def _cluster(rayservice: dict[str, Any]) -> dict[str, Any]:
    cluster = (rayservice.get("spec") or {}).get("rayClusterConfig")
    if rayservice.get("kind") != "RayService" or not isinstance(cluster, dict):
        raise InputError("expected a rendered RayService with spec.rayClusterConfig")
    return cluster


def with_serve_node_port(
    rayservice: dict[str, Any], node_port: int = SERVE_NODE_PORT, port: int = SERVE_PORT
) -> dict[str, Any]:
    """A copy whose `<name>-serve-svc` is a NodePort Service with the Serve port on `node_port`."""
    out = copy.deepcopy(rayservice)
    _cluster(out)
    name = str(out["metadata"]["name"])
    out["spec"]["serveService"] = {
        "metadata": {"name": f"{name}-serve-svc"},
        "spec": {
            "type": "NodePort",
            "ports": [{"name": "serve", "port": port, "targetPort": port, "nodePort": node_port, "protocol": "TCP"}],
        },
    }
    return out


def with_head_label(rayservice: dict[str, Any]) -> dict[str, Any]:
    """A copy whose head pods carry `rayctl.dev/dev-head: <name>` (what dashboard_service selects)."""
    out = copy.deepcopy(rayservice)
    head = _cluster(out).get("headGroupSpec") or {}
    meta = head.setdefault("template", {}).setdefault("metadata", {})
    meta.setdefault("labels", {})[HEAD_LABEL] = str(out["metadata"]["name"])[:63]
    return out


def dashboard_service(
    name: str, namespace: str | None, node_port: int = DASHBOARD_NODE_PORT, port: int = DASHBOARD_PORT
) -> dict[str, Any]:
    """`<name>-dashboard-dev`: NodePort to the Ray dashboard of the RayService's head pod."""
    meta: dict[str, Any] = {
        "name": f"{name[:49]}-dashboard-dev",
        "labels": {"app.kubernetes.io/managed-by": "rayctl", DEV_FOR_LABEL: name[:63]},
    }
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "NodePort",
            "selector": {"ray.io/node-type": "head", HEAD_LABEL: name[:63]},
            "ports": [
                {"name": "dashboard", "port": port, "targetPort": port, "nodePort": node_port, "protocol": "TCP"}
            ],
        },
    }


@dataclass(frozen=True)
class PortHolder:
    namespace: str
    service: str
    node_port: int
    owner: str | None  # "RayService/<name>" when a RayService owns the Service


def port_holders(
    services: list[dict[str, Any]], name: str, namespace: str, node_ports: tuple[int, ...] = (SERVE_NODE_PORT,
                                                                                            DASHBOARD_NODE_PORT)
) -> tuple[list[PortHolder], list[PortHolder]]:
    """Services (a `kubectl get svc -A -o json` item list) holding the dev node ports for something else than the
    RayService `namespace/name`: (ours to delete: other services `dev up` made; blockers: everything else).

    A dev cluster publishes one RayService on the host ports; the next `dev up` of another spec takes the dashboard
    port back from the old one, but the Serve port belongs to the old RayService's `<name>-serve-svc`."""
    mine = {(namespace, f"{name}-serve-svc"), (namespace, dashboard_service(name, namespace)["metadata"]["name"])}
    stale: list[PortHolder] = []
    blockers: list[PortHolder] = []
    for svc in services:
        meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        if key in mine:
            continue
        owner = next((f"{o.get('kind')}/{o.get('name')}" for o in meta.get("ownerReferences") or []
                      if o.get("kind") == "RayService"), None)
        for port in spec.get("ports") or []:
            if port.get("nodePort") in node_ports:
                holder = PortHolder(key[0], key[1], int(port["nodePort"]), owner)
                (stale if DEV_FOR_LABEL in (meta.get("labels") or {}) else blockers).append(holder)
    return stale, blockers
