"""How Prometheus finds the RayService's pods: a PodMonitor (prometheus-operator) or a plain scrape config.

Both select the pods by the labels KubeRay's own vocabulary uses for "belongs to RayService <name>",
`ray.io/originated-from-crd: RayService` and `ray.io/originated-from-cr-name: <name>`. KubeRay (v1.6.2, v1.7) puts
them on the RayCluster and its Services but NOT on pods (`labelPod` in ray-operator/controllers/ray/common/pod.go
sets `ray.io/cluster`, `ray.io/node-type`, `ray.io/group`, ...), so rayctl writes them into the head and worker pod
templates (`pod_selector_labels`); KubeRay keeps template labels on the pods.

Every series gets, besides Prometheus' `namespace`/`pod`/`container`:
- `ray_io_cluster`: the RayCluster name (pod label `ray.io/cluster`), the label Ray's Grafana dashboards filter on;
  it changes with every blue/green cluster KubeRay builds (`<name>-<suffix>`);
- `rayservice`: the RayService name, stable across those clusters (what rayctl's rules and overview filter on);
- `ray_io_node_type` (head/worker) and `ray_io_group` (the worker group).
"""

from __future__ import annotations

from typing import Any

from rayctl.monitoring.common import dump_yaml, metadata
from rayctl.spec.monitoring import PodMonitorSettings, ScrapeConfigSettings

CLUSTER_LABEL = "ray_io_cluster"
RAYSERVICE_LABEL = "rayservice"

ORIGIN_CRD_LABEL = "ray.io/originated-from-crd"
ORIGIN_NAME_LABEL = "ray.io/originated-from-cr-name"

_TARGET_LABELS_FROM_POD_LABELS: dict[str, str] = {
    # target label -> Kubernetes pod label
    CLUSTER_LABEL: "ray.io/cluster",
    RAYSERVICE_LABEL: ORIGIN_NAME_LABEL,
    "ray_io_node_type": "ray.io/node-type",
    "ray_io_group": "ray.io/group",
}


def pod_selector_labels(name: str) -> dict[str, str]:
    """Labels for the head and worker pod templates, so the PodMonitor / scrape config find the pods."""
    return {ORIGIN_CRD_LABEL: "RayService", ORIGIN_NAME_LABEL: name}


def meta_label(pod_label: str) -> str:
    """Prometheus' Kubernetes discovery meta label of a pod label (`ray.io/cluster` ->
    `__meta_kubernetes_pod_label_ray_io_cluster`)."""
    return "__meta_kubernetes_pod_label_" + "".join(c if c.isalnum() else "_" for c in pod_label)


def target_relabelings() -> list[dict[str, Any]]:
    """The relabelling shared by the PodMonitor (camelCase keys) and the scrape config (after `_snake`)."""
    return [
        {"action": "replace", "sourceLabels": [meta_label(pod_label)], "targetLabel": target}
        for target, pod_label in _TARGET_LABELS_FROM_POD_LABELS.items()
    ]


def pod_monitor(
    name: str, namespace: str | None, labels: dict[str, str], settings: PodMonitorSettings
) -> dict[str, Any]:
    """A `monitoring.coreos.com/v1` PodMonitor in the RayService's namespace, one endpoint per scraped port."""
    endpoints = []
    for port in settings.ports:
        endpoint: dict[str, Any] = {"port": port, "path": "/metrics", "interval": settings.interval}
        if settings.scrape_timeout:
            endpoint["scrapeTimeout"] = settings.scrape_timeout
        endpoint["relabelings"] = target_relabelings()
        endpoints.append(endpoint)
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": metadata(f"{name}-ray", namespace, {**labels, **settings.labels}),
        "spec": {
            "selector": {"matchLabels": pod_selector_labels(name)},
            "podMetricsEndpoints": endpoints,
        },
    }


def default_job_name(name: str, namespace: str | None) -> str:
    return f"rayctl/{namespace or 'default'}/{name}"


def scrape_config(name: str, namespace: str | None, settings: ScrapeConfigSettings) -> dict[str, Any]:
    """One Prometheus `scrape_configs` entry: Kubernetes pod discovery in the namespace, kept to this RayService's
    pods and metrics ports, labelled like the PodMonitor (plus the `namespace`/`pod`/`container` the operator adds).
    `namespace` None means the `default` namespace (what kubectl would apply an unqualified object to)."""
    ns = namespace or "default"
    ports = "|".join(settings.ports)
    relabel: list[dict[str, Any]] = [
        {
            "action": "keep",
            "source_labels": [meta_label(ORIGIN_CRD_LABEL), meta_label(ORIGIN_NAME_LABEL)],
            "regex": f"RayService;{name}",
        },
        {"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_name"], "regex": ports},
        # Finished or not yet running pods have no metrics (the operator's PodMonitor drops them the same way).
        {"action": "drop", "source_labels": ["__meta_kubernetes_pod_phase"], "regex": "(Failed|Succeeded)"},
        *({"action": "replace", "source_labels": [source], "target_label": target} for source, target in (
            ("__meta_kubernetes_namespace", "namespace"),
            ("__meta_kubernetes_pod_name", "pod"),
            ("__meta_kubernetes_pod_container_name", "container"),
            ("__meta_kubernetes_pod_container_port_name", "endpoint"),
        )),
        *(_snake(rule) for rule in target_relabelings()),
    ]
    config: dict[str, Any] = {
        "job_name": settings.job_name or default_job_name(name, namespace),
        "scrape_interval": settings.interval,
        "metrics_path": "/metrics",
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [ns]}}],
        "relabel_configs": relabel,
    }
    if settings.scrape_timeout:
        config["scrape_timeout"] = settings.scrape_timeout
    return config


def scrape_config_map(
    name: str, namespace: str | None, labels: dict[str, str], settings: ScrapeConfigSettings
) -> dict[str, Any]:
    """The scrape config as a ConfigMap (`<name>-prometheus-scrape`, key `<name>.yaml`): a file Prometheus can
    load through `scrape_config_files`, or whose entry can be pasted into `scrape_configs`."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(f"{name}-prometheus-scrape", namespace, labels),
        "data": {f"{name}.yaml": dump_yaml({"scrape_configs": [scrape_config(name, namespace, settings)]})},
    }


def _snake(rule: dict[str, Any]) -> dict[str, Any]:
    """PodMonitor relabelling keys (camelCase) -> Prometheus config keys (snake_case)."""
    keys = {"sourceLabels": "source_labels", "targetLabel": "target_label"}
    return {keys.get(k, k): v for k, v in rule.items()}
