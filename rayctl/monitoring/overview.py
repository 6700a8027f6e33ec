"""rayctl's own Grafana dashboard: one page per RayService, across its blue/green Ray clusters.

Built in Grafana's current dashboard schema (schemaVersion 41: `timeseries` / `state-timeline` panels, datasource
objects, `$__rate_interval`), from the metric names Ray 2.60, vLLM 0.32 and KubeRay export. `make goldens`
writes it to `rayctl/monitoring/dashboards/overview.json` next to Ray's own dashboards; tests/monitoring checks every
query with promtool and against a live Ray.

Ratios that would be empty without errors (`errors / requests`) are written `(errors or requests * 0) / requests`,
so a healthy app shows 0 instead of "No data".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rayctl.monitoring.promql import counter, series

UID = "rayctlOverview"
TITLE = "Ray Serve overview (rayctl)"
SCHEMA_VERSION = 41
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

SCOPE = ['namespace=~"$namespace"', 'rayservice=~"$rayservice"', 'ray_io_cluster=~"$cluster"']
APP = [*SCOPE, 'application=~"$application"', 'application!=""']
RATE = "[$__rate_interval]"

APP_STATUS = {0: ("UNKNOWN", "text"), 1: ("DEPLOY_FAILED", "red"), 2: ("UNHEALTHY", "orange"),
              3: ("NOT_STARTED", "blue"), 4: ("DELETING", "purple"), 5: ("DEPLOYING", "yellow"),
              6: ("RUNNING", "green")}
DEPLOYMENT_STATUS = {0: ("UNKNOWN", "text"), 1: ("DEPLOY_FAILED", "red"), 2: ("UNHEALTHY", "orange"),
                     3: ("UPDATING", "yellow"), 4: ("UPSCALING", "blue"), 5: ("DOWNSCALING", "blue"),
                     6: ("HEALTHY", "green")}
PROXY_STATUS = {1: ("STARTING", "yellow"), 2: ("HEALTHY", "green"), 3: ("UNHEALTHY", "red"),
                4: ("DRAINING", "blue"), 5: ("DRAINED", "text")}
READY = {0: ("NOT READY", "red"), 1: ("READY", "green")}
UPGRADING = {0: ("no upgrade", "green"), 1: ("UPGRADING", "yellow")}


@dataclass
class Target:
    expr: str
    legend: str


@dataclass
class Panel:
    title: str
    description: str
    targets: list[Target]
    unit: str = "short"
    kind: str = "timeseries"  # timeseries | state-timeline
    mappings: dict[int, tuple[str, str]] = field(default_factory=dict)
    width: int = 12


def _quantiles(bucket: str, matchers: list[str], by: str, legend: str, scale: str = "") -> list[Target]:
    return [
        Target(f"histogram_quantile({q}, sum by ({by}, le) (rate({series(bucket, matchers)}{RATE}))){scale}",
               f"p{int(q * 100)} {legend}")
        for q in (0.5, 0.99)
    ]


def _ratio(numerator: str, denominator: str, by: str) -> str:
    num = f"sum by ({by}) (rate({numerator}{RATE}))"
    den = f"sum by ({by}) (rate({denominator}{RATE}))"
    return f"({num} or {den} * 0) / {den}"


def rows() -> list[tuple[str, list[Panel]]]:
    """The dashboard's rows and panels, top to bottom."""
    requests = counter("ray_serve_num_http_requests", APP)
    dep = [*SCOPE, 'application=~"$application"']
    return [
        ("Applications", [
            Panel("Application status", "Serve's status of each application, per Ray cluster.",
                  [Target(f"max by (ray_io_cluster, application) "
                          f"({series('ray_serve_application_status', dep)})",
                          "{{application}} ({{ray_io_cluster}})")],
                  kind="state-timeline", mappings=APP_STATUS),
            Panel("Deployment status", "Serve's status of each deployment.",
                  [Target(f"max by (application, deployment) ({series('ray_serve_deployment_status', dep)})",
                          "{{application}}/{{deployment}}")],
                  kind="state-timeline", mappings=DEPLOYMENT_STATUS),
            Panel("Requests per second", "HTTP requests per second per application (at the ingress).",
                  [Target(f"sum by (application) (rate({requests}{RATE}))", "{{application}}")], unit="reqps"),
            Panel("Error ratio", "Share of HTTP requests answered 5xx and 4xx, per application.",
                  [Target(_ratio(counter("ray_serve_num_http_error_requests", [*APP, 'error_code=~"5.."']),
                                 requests, "application"), "5xx {{application}}"),
                   Target(_ratio(counter("ray_serve_num_http_error_requests", [*APP, 'error_code=~"4.."']),
                                 requests, "application"), "4xx {{application}}")],
                  unit="percentunit"),
            Panel("HTTP latency per application", "End-to-end HTTP latency at the ingress, p50 and p99.",
                  _quantiles("ray_serve_http_request_latency_ms_bucket", APP, "application", "{{application}}"),
                  unit="ms"),
            Panel("Processing latency per deployment", "Time each deployment's replicas spend on a request.",
                  _quantiles("ray_serve_deployment_processing_latency_ms_bucket", dep, "application, deployment",
                             "{{application}}/{{deployment}}"),
                  unit="ms"),
            Panel("Requests and errors per deployment", "Requests the replicas processed, and those that raised.",
                  [Target(f"sum by (application, deployment) "
                          f"(rate({counter('ray_serve_deployment_request_counter', dep)}{RATE}))",
                          "requests {{application}}/{{deployment}}"),
                   Target(_ratio(counter("ray_serve_deployment_error_counter", dep),
                                 counter("ray_serve_deployment_request_counter", dep), "application, deployment"),
                          "error ratio {{application}}/{{deployment}}")],
                  unit="short", width=24),
        ]),
        ("Replicas and autoscaling", [
            Panel("Healthy vs target replicas", "Healthy replicas per deployment against the controller's target.",
                  [Target(f"sum by (application, deployment) "
                          f"({series('ray_serve_deployment_replica_healthy', dep)})",
                          "healthy {{application}}/{{deployment}}"),
                   Target(f"max by (application, deployment) "
                          f"({series('ray_serve_autoscaling_target_replicas', dep)})",
                          "target {{application}}/{{deployment}}")]),
            Panel("Autoscaler", "What Serve's autoscaling policy wants (before min/max) and the requests it sees.",
                  [Target(f"max by (application, deployment) "
                          f"({series('ray_serve_autoscaling_desired_replicas', dep)})",
                          "wanted {{application}}/{{deployment}}"),
                   Target(f"max by (application, deployment) "
                          f"({series('ray_serve_autoscaling_total_requests', dep)})",
                          "requests {{application}}/{{deployment}}")]),
            Panel("Queued and ongoing requests", "Requests waiting for a replica, and those running on replicas.",
                  [Target(f"sum by (application, deployment) "
                          f"({series('ray_serve_deployment_queued_queries', dep)})",
                          "queued {{application}}/{{deployment}}"),
                   Target(f"sum by (application, deployment) "
                          f"({series('ray_serve_num_ongoing_requests_at_replicas', dep)})",
                          "ongoing {{application}}/{{deployment}}"),
                   Target(f"sum by (application, deployment) "
                          f"({series('ray_serve_replica_processing_queries', dep)})",
                          "processing {{application}}/{{deployment}}")]),
            Panel("Batch sizes", "Requests per @serve.batch call (p50, p99) and requests waiting for a batch.",
                  [*_quantiles("ray_serve_actual_batch_size_bucket", dep, "application, deployment",
                               "{{application}}/{{deployment}}"),
                   Target(f"sum by (application, deployment) ({series('ray_serve_batch_queue_length', dep)})",
                          "waiting {{application}}/{{deployment}}")]),
        ]),
        ("LLM (vLLM engines)", [
            Panel("Time to first token", "vLLM time to first token per model, p50 and p99.",
                  _quantiles("ray_vllm_time_to_first_token_seconds_bucket", SCOPE, "model_name", "{{model_name}}"),
                  unit="s"),
            Panel("Inter-token latency", "vLLM time between output tokens per model, p50 and p99.",
                  _quantiles("ray_vllm_inter_token_latency_seconds_bucket", SCOPE, "model_name", "{{model_name}}"),
                  unit="s"),
            Panel("Tokens per second", "Generated and prompt tokens per second per model.",
                  [Target(f"sum by (model_name) (rate({counter('ray_vllm_generation_tokens', SCOPE)}{RATE}))",
                          "generated {{model_name}}"),
                   Target(f"sum by (model_name) (rate({counter('ray_vllm_prompt_tokens', SCOPE)}{RATE}))",
                          "prompt {{model_name}}")]),
            Panel("KV-cache usage", "Share of each engine's KV cache in use.",
                  [Target(f"max by (model_name, ReplicaId) ({series('ray_vllm_kv_cache_usage_perc', SCOPE)})",
                          "{{model_name}} {{ReplicaId}}")],
                  unit="percentunit"),
            Panel("Running and waiting requests", "Requests each model's engines run, and those waiting for room.",
                  [Target(f"sum by (model_name) ({series('ray_vllm_num_requests_running', SCOPE)})",
                          "running {{model_name}}"),
                   Target(f"sum by (model_name) ({series('ray_vllm_num_requests_waiting', SCOPE)})",
                          "waiting {{model_name}}")]),
            Panel("Preemptions", "Requests preempted per second (the KV cache could not hold them).",
                  [Target(f"sum by (model_name) (rate({counter('ray_vllm_num_preemptions', SCOPE)}{RATE}))",
                          "{{model_name}}")]),
        ]),
        ("Cluster", [
            Panel("Node CPU and memory", "CPU and memory utilisation of each Ray pod.",
                  [Target(f"avg by (pod) ({series('ray_node_cpu_utilization', SCOPE)})", "CPU {{pod}}"),
                   Target(f"sum by (pod) ({series('ray_node_mem_used', SCOPE)}) / sum by (pod) "
                          f"({series('ray_node_mem_total', SCOPE)}) * 100", "memory {{pod}}")],
                  unit="percent"),
            Panel("GPU utilisation", "GPU and GPU-memory utilisation of each Ray pod.",
                  [Target(f"avg by (pod, GpuIndex) ({series('ray_node_gpus_utilization', SCOPE)})",
                          "GPU {{pod}} #{{GpuIndex}}"),
                   Target(f"sum by (pod) ({series('ray_node_gram_used', SCOPE)}) / (sum by (pod) "
                          f"({series('ray_node_gram_used', SCOPE)}) + sum by (pod) "
                          f"({series('ray_node_gram_available', SCOPE)})) * 100", "GPU memory {{pod}}")],
                  unit="percent"),
            Panel("Ray nodes", "Nodes the Ray autoscaler counts, per node type.",
                  [Target(f"sum by (NodeType) ({series('autoscaler_active_nodes', SCOPE)})", "active {{NodeType}}"),
                   Target(f"sum by (NodeType) ({series('autoscaler_pending_nodes', SCOPE)})",
                          "pending {{NodeType}}")]),
            Panel("Serve proxies", "Status of the HTTP proxy on each node.",
                  [Target(f"max by (node_ip_address) ({series('ray_serve_proxy_status', SCOPE)})",
                          "{{node_ip_address}}")],
                  kind="state-timeline", mappings=PROXY_STATUS),
            Panel("Scrape targets", "1 when Prometheus reaches a pod's metrics endpoint, 0 when it does not.",
                  [Target(f"max by (pod, endpoint) ({series('up', SCOPE)})", "{{pod}} {{endpoint}}")],
                  kind="state-timeline", mappings={0: ("DOWN", "red"), 1: ("UP", "green")}),
            Panel("RayService conditions (KubeRay)", "KubeRay's Ready and UpgradeInProgress conditions (needs the "
                  "operator's metrics: `--enable-metrics`, scraped with honorLabels).",
                  [Target(_condition("kuberay_service_condition_ready"), "Ready {{name}}"),
                   Target(_condition("kuberay_service_condition_upgrade_in_progress"), "UpgradeInProgress {{name}}")],
                  kind="state-timeline", mappings={0: ("false", "text"), 1: ("true", "green")}),
        ]),
    ]


def _condition(metric: str) -> str:
    """1 when the KubeRay condition is true, 0 when false (the gauge is 1 on a `condition="true|false"` series)."""
    base = ['namespace=~"$namespace"', 'name=~"$rayservice"']
    true = series(metric, [*base, 'condition="true"'])
    false = series(metric, [*base, 'condition="false"'])
    return f"max by (name) ({true}) or max by (name) ({false}) * 0"


def _variable(name: str, label: str, query: str, include_all: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "definition": query,
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "regex": "",
        "sort": 1,
        "multi": True,
        "includeAll": include_all,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "hide": 0,
    }


def _mappings(values: dict[int, tuple[str, str]]) -> list[dict[str, Any]]:
    if not values:
        return []
    return [{"type": "value", "options": {str(v): {"text": text, "color": color, "index": i}
                                          for i, (v, (text, color)) in enumerate(sorted(values.items()))}}]


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    custom: dict[str, Any] = (
        {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never", "spanNulls": False}
        if panel.kind == "timeseries" else {"fillOpacity": 80, "lineWidth": 0}
    )
    options: dict[str, Any] = {
        "legend": {"displayMode": "table", "placement": "bottom", "showLegend": True,
                   "calcs": ["lastNotNull", "max"] if panel.kind == "timeseries" else []},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    if panel.kind == "state-timeline":
        options.update({"showValue": "auto", "mergeValues": True, "rowHeight": 0.9, "alignValue": "left"})
    defaults: dict[str, Any] = {"unit": panel.unit, "custom": custom, "mappings": _mappings(panel.mappings)}
    if panel.kind == "state-timeline":
        defaults["color"] = {"mode": "thresholds"}
        defaults["thresholds"] = {"mode": "absolute", "steps": [{"color": "text", "value": None}]}
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": panel.width, "x": x, "y": y},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "editorMode": "code", "range": True,
             "expr": t.expr, "legendFormat": t.legend}
            for i, t in enumerate(panel.targets)
        ],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
    }


def overview_dashboard() -> dict[str, Any]:
    """The dashboard JSON (a dict), with `rayservice`, `cluster` and `application` variables."""
    panels: list[dict[str, Any]] = []
    y = 0
    next_id = 1
    for title, row_panels in rows():
        panels.append({"id": next_id, "type": "row", "title": title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        next_id += 1
        y += 1
        x = 0
        for panel in row_panels:
            if x + panel.width > 24:
                x, y = 0, y + 8
            panels.append(_panel(panel, next_id, x, y))
            next_id += 1
            x += panel.width
        y += 8
    status = "ray_serve_application_status"
    return {
        "uid": UID,
        "title": TITLE,
        "description": "Traffic, latency, replicas, autoscaling, LLM engines and cluster of one RayService "
                       "(generated by rayctl: make goldens).",
        "tags": ["ray", "serve", "rayctl"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "links": [],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}]},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
             "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []},
            _variable("namespace", "Namespace", f"label_values({status}, namespace)"),
            _variable("rayservice", "RayService", f'label_values({status}{{namespace=~"$namespace"}}, rayservice)'),
            _variable("cluster", "Ray cluster",
                      f'label_values({status}{{namespace=~"$namespace",rayservice=~"$rayservice"}}, ray_io_cluster)'),
            _variable("application", "Application", f'label_values({status}{{namespace=~"$namespace",'
                                                    f'rayservice=~"$rayservice",ray_io_cluster=~"$cluster"}}, '
                                                    "application)"),
        ]},
        "panels": panels,
    }
