"""The container ports Prometheus scrapes on Ray pods, and which Ray containers declare them.

Numbers as Ray 2.60 and KubeRay v1.6/v1.7 use them:
- `metrics` 8080: Ray's metrics agent (every node; KubeRay passes `--metrics-export-port=8080` and appends this port
  to a Ray container that lacks it, head and workers alike). Ray, Serve and vLLM (`ray_vllm_*`) metrics.
- `as-metrics` 44217: the autoscaler monitor (`AUTOSCALER_METRIC_PORT`), on the head: in the `autoscaler` sidecar
  with KubeRay's in-tree autoscaling, else in the head's own `ray start`. `autoscaler_*` metrics.
- `dash-metrics` 44227: the dashboard head (`DASHBOARD_METRIC_PORT`), on the head. `ray_dashboard_*` metrics.
- `haproxy-metrics` 9101: HAProxy's own Prometheus exporter (`RAY_SERVE_HAPROXY_METRICS_PORT`), on every Ray pod in
  Serve's HAProxy mode (`serve.highThroughput`). Serve's HTTP metrics stay on `metrics` in that mode too.
Container ports are pod-wide, so a port served by a sidecar (the autoscaler) can be declared on the Ray container.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from rayctl.spec.monitoring import HAPROXY_ONLY_PORTS

NodeType = Literal["head", "worker"]

METRICS_PORTS: dict[str, int] = {
    "metrics": 8080,
    "as-metrics": 44217,
    "dash-metrics": 44227,
    "haproxy-metrics": 9101,
}
"""Port name -> number of every metrics endpoint on Ray pods."""

_NODE_TYPES: dict[str, frozenset[str]] = {
    "metrics": frozenset({"head", "worker"}),
    "as-metrics": frozenset({"head"}),
    "dash-metrics": frozenset({"head"}),
    "haproxy-metrics": frozenset({"head", "worker"}),
}


def declared_port_names(node_type: NodeType, high_throughput: bool) -> list[str]:
    """The metrics ports a Ray container of `node_type` serves: HAProxy's only in Serve's HAProxy mode."""
    return [
        port for port, nodes in _NODE_TYPES.items()
        if node_type in nodes and (port not in HAPROXY_ONLY_PORTS or high_throughput)
    ]


def container_metrics_ports(node_type: NodeType, high_throughput: bool = False) -> list[dict[str, Any]]:
    """The `ports` entries for the metrics endpoints a Ray container of `node_type` serves, e.g.
    `[{"containerPort": 8080, "name": "metrics"}]` for a worker without HAProxy.

    Independent of the `monitoring:` settings on purpose: ports are part of the pod template, so a change to them
    makes KubeRay build a new Ray cluster. Declaring them always lets monitoring be turned on and off in place."""
    return [{"containerPort": METRICS_PORTS[p], "name": p} for p in declared_port_names(node_type, high_throughput)]


def undeclared_scraped_ports(port_names: Iterable[str], high_throughput: bool) -> list[str]:
    """Scraped port names no Ray container declares (`haproxy-metrics` without `serve.highThroughput`)."""
    declared = set(declared_port_names("head", high_throughput)) | set(declared_port_names("worker", high_throughput))
    return [p for p in port_names if p not in declared]
