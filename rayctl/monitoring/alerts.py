"""The RayService's alerting rules, as a prometheus-operator PrometheusRule.

Every expression is scoped to the RayService (`rayservice`, and `namespace` when the spec names one: the labels the
PodMonitor / scrape config attach) and aggregated per Ray cluster, so the old and the new cluster of a blue/green
upgrade are judged apart. Metric names are the ones Ray 2.60, vLLM 0.32 and KubeRay v1.6/v1.7 export (checked
against a live Ray by tests/monitoring); Serve's numeric statuses come from their gauges' own descriptions:
- `ray_serve_application_status`: 0 UNKNOWN, 1 DEPLOY_FAILED, 2 UNHEALTHY, 3 NOT_STARTED, 4 DELETING, 5 DEPLOYING,
  6 RUNNING;
- `ray_serve_deployment_status`: 0 UNKNOWN, 1 DEPLOY_FAILED, 2 UNHEALTHY, 3 UPDATING, 4 UPSCALING, 5 DOWNSCALING,
  6 HEALTHY;
- `ray_serve_proxy_status`: 1 STARTING, 2 HEALTHY, 3 UNHEALTHY, 4 DRAINING, 5 DRAINED.
KubeRay's own `kuberay_service_condition_*` gauges exist only when the operator runs with `--enable-metrics`
(Helm: `metrics.enabled`) and Prometheus scrapes it with `honorLabels: true` (else `namespace` is the operator's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rayctl.monitoring.common import metadata
from rayctl.monitoring.promql import GROUP, counter, scope, series
from rayctl.spec.monitoring import AlertSettings

CRITICAL = "critical"
WARNING = "warning"


@dataclass(frozen=True)
class Alert:
    """One alerting rule before the spec's labels, severities and `disabled` list are applied."""

    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    group: str = "serve"  # serve | llm | kuberay


def alert_catalogue(
    name: str, namespace: str | None, settings: AlertSettings, app_names: list[str], has_llm: bool
) -> list[Alert]:
    """Every alert rayctl knows for this RayService, in a stable order (LLM alerts only when `has_llm`)."""
    sel = scope(name, namespace)
    by = GROUP
    w = settings.rate_window
    d = settings.for_
    app = [*sel, 'application!=""']
    status = series("ray_serve_application_status", sel)
    requests = counter("ray_serve_num_http_requests", app)
    errors_5xx = counter("ray_serve_num_http_error_requests", [*app, 'error_code=~"5.."'])
    alerts = [
        Alert(
            "RayServeApplicationDeployFailed",
            f"max by ({by}, application) ({status}) == 1",
            d.deploy_failed, CRITICAL,
            "Serve application {{ $labels.application }} failed to deploy",
            "Application {{ $labels.application }} of RayService {{ $labels.rayservice }} (cluster "
            "{{ $labels.ray_io_cluster }}) is DEPLOY_FAILED: see `rayctl status` or the Serve controller log.",
        ),
        Alert(
            "RayServeApplicationNotRunning",
            # Not RUNNING (6), and not DELETING (4): an app being removed is not a fault.
            f"max by ({by}, application) ({status}) != 6 != 4",
            d.app_not_running, WARNING,
            "Serve application {{ $labels.application }} is not RUNNING",
            "Application {{ $labels.application }} has status code {{ $value }} (0 UNKNOWN, 1 DEPLOY_FAILED, "
            "2 UNHEALTHY, 3 NOT_STARTED, 5 DEPLOYING) instead of RUNNING.",
        ),
        Alert(
            "RayServeDeploymentUnhealthy",
            f"max by ({by}, application, deployment) ({series('ray_serve_deployment_status', sel)}) <= 2 > 0",
            d.deployment_unhealthy, CRITICAL,
            "Serve deployment {{ $labels.application }}/{{ $labels.deployment }} is unhealthy",
            "Deployment {{ $labels.deployment }} has status code {{ $value }} (1 DEPLOY_FAILED, 2 UNHEALTHY).",
        ),
        Alert(
            "RayServeHighErrorRatio",
            f"sum by ({by}, application) (rate({errors_5xx}[{w}])) "
            f"/ sum by ({by}, application) (rate({requests}[{w}])) "
            f"> {settings.error_ratio:g}",
            d.error_ratio, WARNING,
            "Serve application {{ $labels.application }} answers too many 5xx",
            f"{{{{ $value | humanizePercentage }}}} of HTTP requests to {{{{ $labels.application }}}} end in 5xx "
            f"(threshold {settings.error_ratio:.0%}).",
        ),
        Alert(
            "RayServeHighP99Latency",
            f"histogram_quantile(0.99, sum by ({by}, application, le) "
            f"(rate({series('ray_serve_http_request_latency_ms_bucket', app)}[{w}]))) "
            f"> {settings.p99_latency_ms:g}",
            d.p99_latency, WARNING,
            "Serve application {{ $labels.application }} is over its p99 latency SLO",
            f"HTTP p99 latency of {{{{ $labels.application }}}} is {{{{ $value | humanize }}}} ms "
            f"(SLO {settings.p99_latency_ms:g} ms).",
        ),
        Alert(
            "RayServeReplicasBelowTarget",
            f"sum by ({by}, application, deployment) ({series('ray_serve_deployment_replica_healthy', sel)}) "
            f"< max by ({by}, application, deployment) ({series('ray_serve_autoscaling_target_replicas', sel)})",
            d.replicas_below_target, WARNING,
            "Serve deployment {{ $labels.application }}/{{ $labels.deployment }} has fewer healthy replicas than "
            "its target",
            "Only {{ $value }} replicas of {{ $labels.deployment }} are healthy, below the target the controller "
            "aims for (replicas dying, or waiting for resources the cluster cannot provide).",
        ),
        Alert(
            "RayServeAutoscalerAtMax",
            f"max by ({by}, application, deployment) ({series('ray_serve_autoscaling_desired_replicas', sel)}) "
            f"> max by ({by}, application, deployment) ({series('ray_serve_autoscaling_target_replicas', sel)})",
            d.autoscaler_at_max, WARNING,
            "Serve autoscaler of {{ $labels.application }}/{{ $labels.deployment }} is capped",
            "The autoscaling policy wants {{ $value }} replicas of {{ $labels.deployment }}, more than it may run "
            "(maxReplicas): raise maxReplicas or add capacity.",
        ),
        Alert(
            "RayServeQueueBacklog",
            f"sum by ({by}, application, deployment) ({series('ray_serve_deployment_queued_queries', sel)}) "
            f"> {settings.queue_backlog}",
            d.queue_backlog, WARNING,
            "Requests pile up in front of {{ $labels.application }}/{{ $labels.deployment }}",
            "{{ $value }} requests wait for a replica of {{ $labels.deployment }} "
            f"(threshold {settings.queue_backlog}).",
        ),
        Alert(
            "RayServeProxyUnhealthy",
            f"max by ({by}, node_ip_address) ({series('ray_serve_proxy_status', sel)}) == 3",
            d.proxy_unhealthy, WARNING,
            "Serve proxy on {{ $labels.node_ip_address }} is unhealthy",
            "The Serve HTTP proxy on node {{ $labels.node_ip_address }} is UNHEALTHY: that pod gets no traffic.",
        ),
    ]
    if has_llm:
        alerts += [
            Alert(
                "RayServeLLMKVCacheNearFull",
                f"max by ({by}, model_name, ReplicaId) ({series('ray_vllm_kv_cache_usage_perc', sel)}) "
                f"> {settings.kv_cache_usage:g}",
                d.kv_cache, WARNING,
                "vLLM KV cache of {{ $labels.model_name }} is nearly full",
                f"KV-cache usage is {{{{ $value | humanizePercentage }}}} (threshold {settings.kv_cache_usage:.0%}): "
                "requests queue and get preempted; add replicas or lower max_num_seqs / max_model_len.",
                "llm",
            ),
            Alert(
                "RayServeLLMHighTTFT",
                f"histogram_quantile(0.95, sum by ({by}, model_name, le) "
                f"(rate({series('ray_vllm_time_to_first_token_seconds_bucket', sel)}[{w}]))) * 1000"
                f"> {settings.ttft_p95_ms:g}",
                d.ttft, WARNING,
                "Time to first token of {{ $labels.model_name }} is high",
                f"p95 time to first token is {{{{ $value | humanize }}}} ms (threshold {settings.ttft_p95_ms:g} ms).",
                "llm",
            ),
            Alert(
                "RayServeLLMPreemptions",
                f"sum by ({by}, model_name) (rate({counter('ray_vllm_num_preemptions', sel)}[{w}])) "
                f"> {settings.preemptions_per_second:g}",
                d.preemptions, WARNING,
                "vLLM preempts requests of {{ $labels.model_name }}",
                "{{ $value | humanize }} preemptions per second: the KV cache cannot hold the running requests "
                f"(threshold {settings.preemptions_per_second:g}/s).",
                "llm",
            ),
        ]
    absent_scopes = [[*sel, f'application="{a}"'] for a in app_names] or [sel]
    alerts += [
        Alert(
            "RayServeMetricsAbsent",
            " or ".join(f"absent({series('ray_serve_application_status', m)})" for m in absent_scopes),
            d.metrics_absent, CRITICAL,
            "No Serve metrics from RayService {{ $labels.rayservice }}"
            + (" for application {{ $labels.application }}" if app_names else ""),
            "Prometheus has no ray_serve_application_status series for it: the PodMonitor selects no pods, "
            "the metrics port is not scraped, or the application does not exist.",
        ),
        Alert(
            "RayMetricsTargetDown",
            f"{series('up', sel)} == 0",
            d.target_down, WARNING,
            "Prometheus cannot scrape {{ $labels.pod }}:{{ $labels.endpoint }}",
            "The metrics endpoint {{ $labels.endpoint }} of pod {{ $labels.pod }} does not answer.",
        ),
    ]
    operator_sel = [f'name="{name}"', *([f'namespace="{namespace}"'] if namespace else [])]
    not_ready = series("kuberay_service_condition_ready", [*operator_sel, 'condition="false"'])
    upgrading = series("kuberay_service_condition_upgrade_in_progress", [*operator_sel, 'condition="true"'])
    alerts += [
        Alert(
            "RayServiceNotReady",
            f"max by (namespace, name) ({not_ready}) == 1",
            d.ray_service_not_ready, CRITICAL,
            "RayService {{ $labels.name }} is not Ready",
            "KubeRay reports RayService {{ $labels.namespace }}/{{ $labels.name }} not Ready (no serving "
            "endpoints): see `rayctl status`.",
            "kuberay",
        ),
        Alert(
            "RayServiceUpgradeTooLong",
            f"max by (namespace, name) ({upgrading}) == 1",
            d.upgrade_in_progress, WARNING,
            "RayService {{ $labels.name }} has been upgrading too long",
            "The zero-downtime upgrade of {{ $labels.namespace }}/{{ $labels.name }} does not finish: the new "
            "cluster's pods or Serve apps do not become ready (see `rayctl status` and `rayctl diff`).",
            "kuberay",
        ),
    ]
    return alerts


def alert_rules(
    name: str, namespace: str | None, settings: AlertSettings, app_names: list[str], has_llm: bool
) -> list[dict[str, Any]]:
    """`groups` of a Prometheus rules file: the catalogue minus `disabled`, with severities and extra labels."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for alert in alert_catalogue(name, namespace, settings, app_names, has_llm):
        if alert.name in settings.disabled:
            continue
        severity = next((v for k, v in settings.severity.items() if k == alert.name), alert.severity)
        labels = {"severity": severity, **settings.labels}
        groups.setdefault(alert.group, []).append(
            {
                "alert": alert.name,
                "expr": alert.expr,
                "for": alert.for_,
                "labels": labels,
                "annotations": {"summary": alert.summary, "description": alert.description},
            }
        )
    return [{"name": f"rayctl.{name}.{group}", "rules": rules} for group, rules in groups.items()]


def prometheus_rule(
    name: str,
    namespace: str | None,
    labels: dict[str, str],
    settings: AlertSettings,
    app_names: list[str],
    llm_app_names: list[str],
) -> dict[str, Any]:
    """The `monitoring.coreos.com/v1` PrometheusRule `<name>-ray` with this RayService's alerts."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata(f"{name}-ray", namespace, {**labels, **settings.prometheus_rule_labels}),
        "spec": {"groups": alert_rules(name, namespace, settings, app_names, bool(llm_app_names))},
    }
