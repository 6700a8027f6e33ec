"""The `monitoring:` section of the spec: Prometheus scraping, Grafana dashboards and alerts for the RayService.

Every part is optional and off until written: `monitoring: {podMonitor: {}}` renders a PodMonitor with the defaults
below; `enabled: false` keeps a part's settings but renders nothing. The objects are built by `rayctl.monitoring`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, WithJsonSchema, model_validator

from rayctl.spec.base import SpecModel, StringMap

_PROM_DURATION = re.compile(r"^(?:[0-9]+(?:ms|s|m|h|d|w|y))+$")


def _check_duration(value: str) -> str:
    if not _PROM_DURATION.match(value):
        raise ValueError(f"{value!r} is not a Prometheus duration (examples: 30s, 5m, 1h30m)")
    return value


PromDuration = Annotated[
    str, AfterValidator(_check_duration), WithJsonSchema({"type": "string", "pattern": _PROM_DURATION.pattern})
]
"""A Prometheus duration: `30s`, `5m`, `1h30m`."""

MetricsPortName = Literal["metrics", "as-metrics", "dash-metrics", "haproxy-metrics"]
"""Container ports Prometheus can scrape on Ray pods (numbers in `rayctl.monitoring.ports.METRICS_PORTS`)."""

HAPROXY_ONLY_PORTS: frozenset[str] = frozenset({"haproxy-metrics"})
"""Ports served only in Serve's HAProxy mode (`serve.highThroughput`)."""

DEFAULT_SCRAPED_PORTS: list[MetricsPortName] = ["metrics", "as-metrics", "dash-metrics"]

DashboardName = Literal["overview", "serve", "serve-deployment", "serve-llm"]

AlertName = Literal[
    "RayServeApplicationDeployFailed",
    "RayServeApplicationNotRunning",
    "RayServeDeploymentUnhealthy",
    "RayServeHighErrorRatio",
    "RayServeHighP99Latency",
    "RayServeReplicasBelowTarget",
    "RayServeAutoscalerAtMax",
    "RayServeQueueBacklog",
    "RayServeProxyUnhealthy",
    "RayServeLLMKVCacheNearFull",
    "RayServeLLMHighTTFT",
    "RayServeLLMPreemptions",
    "RayServeMetricsAbsent",
    "RayMetricsTargetDown",
    "RayServiceNotReady",
    "RayServiceUpgradeTooLong",
]


class _Scrape(SpecModel):
    enabled: bool = Field(True, description="Render this part (false keeps the settings and renders nothing).")
    interval: PromDuration = Field("15s", description="How often Prometheus scrapes each Ray pod.")
    scrape_timeout: PromDuration | None = Field(
        None, description="Scrape timeout (default: Prometheus' own, 10s, capped at the interval)."
    )
    ports: list[MetricsPortName] = Field(
        default_factory=lambda: list(DEFAULT_SCRAPED_PORTS),
        min_length=1,
        description="Named container ports scraped on every Ray pod: `metrics` (8080, Ray's metrics agent, every "
        "pod), `as-metrics` (44217, the autoscaler, head), `dash-metrics` (44227, the dashboard, head), "
        "`haproxy-metrics` (9101, HAProxy's own exporter, every pod in `serve.highThroughput` mode). rayctl "
        "declares these ports on the Ray containers.",
    )

    @model_validator(mode="after")
    def _unique_ports(self) -> _Scrape:
        if len(set(self.ports)) != len(self.ports):
            raise ValueError(f"ports are repeated: {self.ports}")
        return self


class PodMonitorSettings(_Scrape):
    """A prometheus-operator PodMonitor (`monitoring.coreos.com/v1`) for the RayService's pods, in its namespace."""

    labels: StringMap = Field(
        default_factory=dict,
        description="Extra labels on the PodMonitor: what your Prometheus' `podMonitorSelector` matches (e.g. "
        "`release: kube-prometheus-stack`).",
    )


class ScrapeConfigSettings(_Scrape):
    """A plain Prometheus `scrape_configs` entry (Kubernetes pod discovery) for Prometheus without the operator,
    rendered as a ConfigMap to mount and list in `scrape_config_files` (Prometheus >= 2.43) or to paste."""

    job_name: str | None = Field(None, description="Scrape job name (default `rayctl/<namespace>/<name>`).")


class DashboardSettings(SpecModel):
    """Grafana dashboards as ConfigMaps that Grafana's dashboard sidecar loads (one ConfigMap per dashboard)."""

    enabled: bool = Field(True, description="Render the dashboards.")
    include: list[DashboardName] | None = Field(
        None,
        description="Which dashboards: `overview` (rayctl's own), and Ray's `serve`, `serve-deployment` and "
        "`serve-llm` (generated from the Ray wheel). Default: all, `serve-llm` only when the spec has an `llm` app.",
    )
    labels: StringMap = Field(
        default_factory=lambda: {"grafana_dashboard": "1"},
        description="Labels on each dashboard ConfigMap: what Grafana's sidecar looks for "
        "(kube-prometheus-stack: `grafana_dashboard: \"1\"`).",
    )
    folder: str | None = Field("Ray", description="Grafana folder, set through the folder annotation; null: none.")
    folder_annotation: str = Field(
        "grafana_folder", description="Annotation key the sidecar reads the folder from (its `folderAnnotation`)."
    )


class AlertDurations(SpecModel):
    """How long each condition must hold before its alert fires (the rule's `for:`)."""

    deploy_failed: PromDuration = Field("1m", description="RayServeApplicationDeployFailed.")
    app_not_running: PromDuration = Field("15m", description="RayServeApplicationNotRunning.")
    deployment_unhealthy: PromDuration = Field("5m", description="RayServeDeploymentUnhealthy.")
    error_ratio: PromDuration = Field("5m", description="RayServeHighErrorRatio.")
    p99_latency: PromDuration = Field("10m", description="RayServeHighP99Latency.")
    replicas_below_target: PromDuration = Field("10m", description="RayServeReplicasBelowTarget.")
    autoscaler_at_max: PromDuration = Field("15m", description="RayServeAutoscalerAtMax.")
    queue_backlog: PromDuration = Field("5m", description="RayServeQueueBacklog.")
    proxy_unhealthy: PromDuration = Field("5m", description="RayServeProxyUnhealthy.")
    kv_cache: PromDuration = Field("10m", description="RayServeLLMKVCacheNearFull.")
    ttft: PromDuration = Field("10m", description="RayServeLLMHighTTFT.")
    preemptions: PromDuration = Field("10m", description="RayServeLLMPreemptions.")
    metrics_absent: PromDuration = Field("10m", description="RayServeMetricsAbsent.")
    target_down: PromDuration = Field("5m", description="RayMetricsTargetDown.")
    ray_service_not_ready: PromDuration = Field("10m", description="RayServiceNotReady.")
    upgrade_in_progress: PromDuration = Field("30m", description="RayServiceUpgradeTooLong.")


class AlertSettings(SpecModel):
    """Alerting rules as a prometheus-operator PrometheusRule, scoped to this RayService; thresholds below."""

    enabled: bool = Field(True, description="Render the PrometheusRule.")
    p99_latency_ms: float = Field(2000.0, gt=0, description="Latency SLO: HTTP p99 per application, in ms.")
    error_ratio: float = Field(
        0.05, gt=0, le=1, description="Share of HTTP requests answered 5xx, per application, that alerts."
    )
    queue_backlog: int = Field(
        100, ge=1, description="Requests queued for a replica (all callers of one deployment) that alert."
    )
    kv_cache_usage: float = Field(0.95, gt=0, le=1, description="vLLM KV-cache usage (0-1) per replica that alerts.")
    ttft_p95_ms: float = Field(2000.0, gt=0, description="LLM time to first token, p95 per model, in ms.")
    preemptions_per_second: float = Field(
        0.1, gt=0, description="vLLM preemptions per second per model (KV cache exhausted) that alert."
    )
    rate_window: PromDuration = Field("5m", description="Window of the rates and quantiles in the rules.")
    for_: AlertDurations = Field(
        default_factory=AlertDurations, alias="for", description="`for:` duration of each alert."
    )
    labels: StringMap = Field(
        default_factory=dict, description="Extra labels on every alert (e.g. `team: ml`); they win over defaults."
    )
    severity: dict[AlertName, str] = Field(
        default_factory=dict,
        description="Severity label per alert name (defaults: `critical` for deploy failures, missing metrics and "
        "a RayService not Ready; `warning` otherwise).",
    )
    disabled: list[AlertName] = Field(default_factory=list, description="Alert names to leave out.")
    prometheus_rule_labels: StringMap = Field(
        default_factory=dict,
        description="Extra labels on the PrometheusRule object: what your Prometheus' `ruleSelector` matches.",
    )


class MonitoringSettings(SpecModel):
    """Monitoring of the RayService (every part optional; nothing is rendered for a part that is not written)."""

    pod_monitor: PodMonitorSettings | None = Field(
        None, description="A PodMonitor for Prometheus managed by the prometheus-operator."
    )
    scrape_config: ScrapeConfigSettings | None = Field(
        None, description="A plain Prometheus scrape config (Kubernetes pod discovery), for Prometheus without "
        "the operator."
    )
    dashboards: DashboardSettings | None = Field(None, description="Grafana dashboards as ConfigMaps.")
    alerts: AlertSettings | None = Field(None, description="A PrometheusRule with the RayService's alerts.")
