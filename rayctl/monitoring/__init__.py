"""Monitoring objects of a RayService (the spec's `monitoring:` section), as plain Kubernetes object dicts.

Pure functions of primitive inputs, for the renderer (and the Helm chart) to emit next to the RayService:
- `monitoring_objects(...)`: everything the settings ask for, in a stable order;
- `pod_selector_labels(name)`: labels for the head and worker pod templates (what the scrapers select);
- `container_metrics_ports(node_type, high_throughput)`: the metrics ports each Ray container declares.
Nothing here imports Ray, Kubernetes clients or reads the network; the dashboards are read from generated files.
"""

from __future__ import annotations

from typing import Any

from rayctl.monitoring.alerts import prometheus_rule
from rayctl.monitoring.dashboards import dashboard_config_maps
from rayctl.monitoring.ports import METRICS_PORTS, container_metrics_ports, undeclared_scraped_ports
from rayctl.monitoring.scrape import pod_monitor, pod_selector_labels, scrape_config, scrape_config_map
from rayctl.spec.monitoring import MonitoringSettings

__all__ = [
    "METRICS_PORTS",
    "container_metrics_ports",
    "monitoring_objects",
    "pod_monitor",
    "pod_selector_labels",
    "port_problems",
    "prometheus_rule",
    "scrape_config",
]


def monitoring_objects(
    name: str,
    namespace: str | None,
    labels: dict[str, str],
    settings: MonitoringSettings,
    app_names: list[str],
    llm_app_names: list[str],
) -> list[dict[str, Any]]:
    """PodMonitor, scrape-config ConfigMap, PrometheusRule and dashboard ConfigMaps, as enabled in `settings`.

    `labels`: the labels rayctl puts on every object; `app_names`: the Serve application names (one "metrics
    absent" alert each); `llm_app_names`: those of type `llm` (Ray Serve LLM: vLLM alerts and the LLM dashboard)."""
    objects: list[dict[str, Any]] = []
    if settings.pod_monitor is not None and settings.pod_monitor.enabled:
        objects.append(pod_monitor(name, namespace, labels, settings.pod_monitor))
    if settings.scrape_config is not None and settings.scrape_config.enabled:
        objects.append(scrape_config_map(name, namespace, labels, settings.scrape_config))
    if settings.alerts is not None and settings.alerts.enabled:
        objects.append(prometheus_rule(name, namespace, labels, settings.alerts, app_names, llm_app_names))
    if settings.dashboards is not None and settings.dashboards.enabled:
        objects.extend(dashboard_config_maps(name, namespace, labels, settings.dashboards, bool(llm_app_names)))
    return objects


def port_problems(settings: MonitoringSettings, high_throughput: bool) -> list[tuple[str, str]]:
    """(field path, message) for scraped ports no Ray container serves, for the semantic rules."""
    problems = []
    for field, part in (("podMonitor", settings.pod_monitor), ("scrapeConfig", settings.scrape_config)):
        if part is None or not part.enabled:
            continue
        for port in undeclared_scraped_ports(part.ports, high_throughput):
            problems.append((
                f"monitoring.{field}.ports",
                f"{port!r} is served only in Serve's HAProxy mode: set serve.highThroughput: true or drop it",
            ))
    return problems
