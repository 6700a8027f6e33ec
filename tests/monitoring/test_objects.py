"""The `monitoring:` spec section and the objects built from it (hermetic; CRD checks need the pinned
prometheus-operator CRDs from hack/install-prometheus.sh)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from rayctl.monitoring import (
    container_metrics_ports,
    monitoring_objects,
    pod_selector_labels,
    port_problems,
)
from rayctl.monitoring.dashboards import CONFIGMAP_LIMIT_BYTES
from rayctl.monitoring.scrape import meta_label, target_relabelings
from rayctl.spec.monitoring import MonitoringSettings
from tests.conftest import ROOT
from tests.monitoring.tools import PromTools

EVERYTHING = {"podMonitor": {"labels": {"release": "kube-prometheus-stack"}}, "scrapeConfig": {},
              "alerts": {"prometheusRuleLabels": {"release": "kube-prometheus-stack"}}, "dashboards": {}}
LABELS = {"app.kubernetes.io/managed-by": "rayctl", "app.kubernetes.io/name": "chat"}


def objects(settings: dict[str, Any], llm: bool = True, namespace: str | None = "llm") -> list[dict[str, Any]]:
    return monitoring_objects("chat", namespace, LABELS, MonitoringSettings.model_validate(settings),
                              ["chat"], ["chat"] if llm else [])


@pytest.mark.parametrize(
    ("settings", "llm", "expected"),
    [
        ({}, True, []),
        ({"podMonitor": {}}, True, [("PodMonitor", "chat-ray")]),
        ({"podMonitor": {"enabled": False}, "alerts": {}}, True, [("PrometheusRule", "chat-ray")]),
        ({"scrapeConfig": {}}, True, [("ConfigMap", "chat-prometheus-scrape")]),
        ({"dashboards": {}}, False, [("ConfigMap", "chat-dashboard-overview"), ("ConfigMap", "chat-dashboard-serve"),
                                     ("ConfigMap", "chat-dashboard-serve-deployment")]),
        ({"dashboards": {"include": ["serve-llm"]}}, False, [("ConfigMap", "chat-dashboard-serve-llm")]),
        (EVERYTHING, True, [("PodMonitor", "chat-ray"), ("ConfigMap", "chat-prometheus-scrape"),
                            ("PrometheusRule", "chat-ray"), ("ConfigMap", "chat-dashboard-overview"),
                            ("ConfigMap", "chat-dashboard-serve"), ("ConfigMap", "chat-dashboard-serve-deployment"),
                            ("ConfigMap", "chat-dashboard-serve-llm")]),
    ],
)
def test_objects_follow_the_settings(settings: dict[str, Any], llm: bool, expected: list[tuple[str, str]]) -> None:
    out = objects(settings, llm)
    assert [(o["kind"], o["metadata"]["name"]) for o in out] == expected
    for obj in out:
        assert obj["metadata"]["namespace"] == "llm"
        assert LABELS.items() <= obj["metadata"]["labels"].items()


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"podMonitor": {"interval": "15"}}, "not a Prometheus duration"),
        ({"podMonitor": {"ports": ["metrics", "metrics"]}}, "repeated"),
        ({"podMonitor": {"ports": ["gcs"]}}, "ports.0"),
        ({"podMonitor": {"ports": []}}, "at least 1"),
        ({"alerts": {"errorRatio": 2}}, "less than or equal to 1"),
        ({"alerts": {"for": {"p99Latency": "soon"}}}, "not a Prometheus duration"),
        ({"alerts": {"disabled": ["NoSuchAlert"]}}, "disabled.0"),
        ({"alerts": {"severity": {"NoSuchAlert": "page"}}}, "NoSuchAlert"),
        ({"alerts": {"p99_latency_ms": 5}}, "p99_latency_ms"),  # snake_case is an unknown key
        ({"dashboards": {"include": ["grafana"]}}, "include.0"),
    ],
)
def test_bad_settings_name_the_field(settings: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError) as info:
        MonitoringSettings.model_validate(settings)
    assert error in str(info.value)


def test_thresholds_and_durations_reach_the_rules() -> None:
    (rule,) = objects({"alerts": {"p99LatencyMs": 250, "for": {"p99Latency": "2m"}, "labels": {"team": "ml"},
                                  "severity": {"RayServeHighP99Latency": "page"},
                                  "disabled": ["RayServeQueueBacklog"]}})
    rules = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    latency = rules["RayServeHighP99Latency"]
    assert latency["expr"].endswith("> 250") and latency["for"] == "2m"
    assert latency["labels"] == {"severity": "page", "team": "ml"}
    assert "RayServeQueueBacklog" not in rules
    assert all('rayservice="chat"' in r["expr"] or 'name="chat"' in r["expr"] for r in rules.values())
    assert all('namespace="llm"' in r["expr"] for r in rules.values())


def test_llm_alerts_only_with_llm_apps() -> None:
    def names(llm: bool) -> set[str]:
        (rule,) = objects({"alerts": {}}, llm)
        return {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}

    assert names(True) - names(False) == {"RayServeLLMKVCacheNearFull", "RayServeLLMHighTTFT",
                                          "RayServeLLMPreemptions"}


def test_pod_monitor_selects_the_labels_rayctl_puts_on_pods() -> None:
    (monitor,) = objects({"podMonitor": {"interval": "30s", "scrapeTimeout": "10s"}})
    assert monitor["spec"]["selector"] == {"matchLabels": pod_selector_labels("chat")}
    assert pod_selector_labels("chat") == {"ray.io/originated-from-crd": "RayService",
                                           "ray.io/originated-from-cr-name": "chat"}
    endpoints = monitor["spec"]["podMetricsEndpoints"]
    assert [e["port"] for e in endpoints] == ["metrics", "as-metrics", "dash-metrics"]
    assert all(e["interval"] == "30s" and e["scrapeTimeout"] == "10s" for e in endpoints)
    targets = {r["targetLabel"]: r["sourceLabels"] for r in endpoints[0]["relabelings"]}
    assert targets == {
        "ray_io_cluster": ["__meta_kubernetes_pod_label_ray_io_cluster"],
        "rayservice": ["__meta_kubernetes_pod_label_ray_io_originated_from_cr_name"],
        "ray_io_node_type": ["__meta_kubernetes_pod_label_ray_io_node_type"],
        "ray_io_group": ["__meta_kubernetes_pod_label_ray_io_group"],
    }
    assert meta_label("ray.io/originated-from-cr-name") == "__meta_kubernetes_pod_label_ray_io_originated_from_cr_name"
    assert target_relabelings() == endpoints[0]["relabelings"]


@pytest.mark.parametrize(
    ("node_type", "high_throughput", "ports"),
    [
        ("head", False, {"metrics": 8080, "as-metrics": 44217, "dash-metrics": 44227}),
        ("worker", False, {"metrics": 8080}),
        ("head", True, {"metrics": 8080, "as-metrics": 44217, "dash-metrics": 44227, "haproxy-metrics": 9101}),
        ("worker", True, {"metrics": 8080, "haproxy-metrics": 9101}),
    ],
)
def test_container_metrics_ports(node_type: Any, high_throughput: bool, ports: dict[str, int]) -> None:
    assert {p["name"]: p["containerPort"] for p in container_metrics_ports(node_type, high_throughput)} == ports


def test_haproxy_port_needs_the_high_throughput_mode() -> None:
    settings = MonitoringSettings.model_validate({"podMonitor": {"ports": ["metrics", "haproxy-metrics"]}})
    assert port_problems(settings, high_throughput=True) == []
    ((path, message),) = port_problems(settings, high_throughput=False)
    assert path == "monitoring.podMonitor.ports" and "serve.highThroughput" in message


def test_scrape_config_map_carries_one_scrape_job() -> None:
    (config_map,) = objects({"scrapeConfig": {"jobName": "ray-chat"}}, namespace=None)
    (text,) = config_map["data"].values()
    (job,) = yaml.safe_load(text)["scrape_configs"]
    assert job["job_name"] == "ray-chat"
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["default"]}}]
    keep = job["relabel_configs"][0]
    assert keep == {"action": "keep", "regex": "RayService;chat", "source_labels": [
        "__meta_kubernetes_pod_label_ray_io_originated_from_crd",
        "__meta_kubernetes_pod_label_ray_io_originated_from_cr_name"]}


def test_dashboard_config_maps_fit_and_belong_to_their_rayservice() -> None:
    maps = objects({"dashboards": {"folder": "ML"}})
    uids = set()
    for config_map in maps:
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert config_map["metadata"]["annotations"] == {"grafana_folder": "ML"}
        ((key, text),) = config_map["data"].items()
        assert key.startswith("llm-chat-") and key.endswith(".json")
        assert len(text.encode()) < CONFIGMAP_LIMIT_BYTES // 4, (key, len(text))  # room to grow
        dashboard = json.loads(text)
        assert len(dashboard["uid"]) <= 40 and dashboard["title"].endswith("· llm/chat")
        uids.add(dashboard["uid"])
        current = {v["name"]: v["current"]["value"] for v in dashboard["templating"]["list"]
                   if v["name"] in ("namespace", "rayservice")}
        assert current == {"namespace": ["llm"], "rayservice": ["chat"]}
    assert len(uids) == len(maps) == 4
    other = monitoring_objects("chat", "prod", LABELS, MonitoringSettings.model_validate({"dashboards": {}}), [], [])
    assert not uids & {json.loads(next(iter(m["data"].values())))["uid"] for m in other}


def test_no_folder_annotation_when_folder_is_null() -> None:
    maps = objects({"dashboards": {"folder": None, "labels": {"dashboards": "ray"}}}, llm=False)
    assert all("annotations" not in m["metadata"] and m["metadata"]["labels"]["dashboards"] == "ray" for m in maps)


@pytest.mark.parametrize(("kind", "crd"), [("PodMonitor", "monitoring.coreos.com_podmonitors.yaml"),
                                           ("PrometheusRule", "monitoring.coreos.com_prometheusrules.yaml")])
def test_objects_match_the_prometheus_operator_crds(prom_tools: PromTools, kind: str, crd: str) -> None:
    from jsonschema import Draft202012Validator

    from rayctl.validate.crd import crd_schema, to_json_schema

    document = yaml.safe_load((prom_tools.operator_crds / crd).read_text())
    schema = crd_schema(document, "v1")
    assert schema is not None
    validator = Draft202012Validator(to_json_schema(schema))
    for namespace in ("llm", None):
        (obj,) = [o for o in objects(EVERYTHING, namespace=namespace) if o["kind"] == kind]
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]
        assert not errors, errors


def test_import_is_light() -> None:
    code = ("import sys, rayctl.monitoring;"
            "bad=[m for m in ('ray','kubernetes','kr8s','jinja2') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)})


def test_generated_dashboards_are_package_data() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"monitoring/dashboards/*.json"' in pyproject
    assert sorted(p.name for p in (ROOT / "rayctl" / "monitoring" / "dashboards").glob("*.json")) == [
        "overview.json", "serve-deployment.json", "serve-llm.json", "serve.json"]

