"""The PrometheusRule and every dashboard query, checked by the real promtool (Debian's Prometheus 2.42).

- `promtool check rules` on the rules of several spec variants;
- every panel target and variable query of every generated dashboard, with Grafana's variables substituted, parsed
  by promtool (as recording rules);
- `promtool test rules`: each alert fires on the series that should fire it (labels and rendered annotations
  checked) and stays silent on near misses, including another RayService's series and a condition shorter than
  its `for:`. A test fails when an alert has no firing or no silent case here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from rayctl.monitoring.alerts import alert_catalogue, alert_rules
from rayctl.monitoring.dashboards import DASHBOARD_DIR
from rayctl.spec.monitoring import AlertSettings
from tests.monitoring.tools import PromTools, dashboard_panels

NAME, NS, CLUSTER = "chat", "llm", "chat-raycluster-abcde"
APPS = ["chat", "pipeline"]
SCOPE = f'rayservice="{NAME}",namespace="{NS}",ray_io_cluster="{CLUSTER}"'
BASE = {"rayservice": NAME, "namespace": NS, "ray_io_cluster": CLUSTER}


def _settings(**overrides: Any) -> AlertSettings:
    return AlertSettings.model_validate({"labels": {"team": "ml"}, **overrides})


def _write_rules(path: Path, settings: AlertSettings, *, namespace: str | None = NS, llm: bool = True) -> None:
    path.write_text(yaml.safe_dump({"groups": alert_rules(NAME, namespace, settings, APPS, llm)}, sort_keys=False))


@pytest.mark.parametrize(
    ("variant", "settings", "namespace", "llm", "count"),
    [
        ("defaults", {}, NS, True, 16),
        ("no namespace, no LLM", {}, None, False, 13),
        ("tuned", {"p99LatencyMs": 150, "errorRatio": 0.01, "rateWindow": "2m", "for": {"p99Latency": "30s"},
                   "severity": {"RayServeQueueBacklog": "page"}, "disabled": ["RayServeProxyUnhealthy"]}, NS, True, 15),
    ],
)
def test_rules_pass_promtool_check(prom_tools: PromTools, tmp_path: Path, variant: str, settings: dict[str, Any],
                                   namespace: str | None, llm: bool, count: int) -> None:
    rules = tmp_path / "rules.yaml"
    _write_rules(rules, _settings(**settings), namespace=namespace, llm=llm)
    proc = prom_tools.promtool_run("check", "rules", str(rules))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {count} rules found" in proc.stdout, proc.stdout


# ------------------------------------------------------------------------------------------- dashboard queries

GRAFANA_VARIABLES = {
    "__rate_interval": "1m", "__interval": "30s", "__range": "1h", "interval": "1m",
}
"""Grafana's built-in duration variables (and the LLM dashboard's `$interval`); every other variable is a label
value used inside a regex matcher, substituted by `.*`."""


def substitute(expr: str) -> str:
    def repl(match: re.Match[str]) -> str:
        return GRAFANA_VARIABLES.get(match.group(1) or match.group(2), ".*")

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and variable query of every generated dashboard."""
    out = []
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard_panels(dashboard):
            for target in panel.get("targets", []):
                out.append((f"{path.stem} / {panel['title']} / {target['refId']}", target["expr"]))
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable.get("query")
            query = query.get("query") if isinstance(query, dict) else query
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", str(query or ""))
            if match:  # Grafana's label_values(selector, label): the selector is PromQL
                out.append((f"{path.stem} / variable {variable['name']}", match.group(1)))
    return out


def test_every_dashboard_query_passes_promtool(prom_tools: PromTools, tmp_path: Path) -> None:
    queries = dashboard_queries()
    assert len(queries) > 150, len(queries)  # 4 dashboards: overview ~50 targets, Ray's ~130 more
    rules = [{"record": f"dashboard:query_{i}", "expr": substitute(expr)} for i, (_, expr) in enumerate(queries)]
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    proc = prom_tools.promtool_run("check", "rules", str(path))
    if proc.returncode != 0:  # name the panel behind each failing record
        where = {f"dashboard:query_{i}": w for i, (w, _) in enumerate(queries)}
        detail = re.sub(r"dashboard:query_\d+", lambda m: where.get(m.group(0), m.group(0)), proc.stdout + proc.stderr)
        pytest.fail(detail)
    assert f"SUCCESS: {len(rules)} rules found" in proc.stdout
    leftovers = [w for w, e in queries if "$" in substitute(e)]
    assert not leftovers, leftovers


# ------------------------------------------------------------------------------------------- alert unit tests


@dataclass
class Case:
    alert: str
    series: list[tuple[str, str]]  # (series, promtool values notation), sampled every minute
    eval_time: str
    fires: list[dict[str, str]] = field(default_factory=list)  # labels of each expected alert (besides BASE)
    value: str = ""  # how the annotation renders $value for the firing alerts
    why: str = ""


def s(metric: str, labels: str = "") -> str:
    return f"{metric}{{{SCOPE}{',' + labels if labels else ''}}}"


def buckets(metric: str, labels: str, counts: dict[str, int]) -> list[tuple[str, str]]:
    """Cumulative histogram buckets growing by `counts[le]` per minute."""
    return [(s(metric, f'{labels},le="{le}"' if labels else f'le="{le}"'), f"0+{n}x30") for le, n in counts.items()]


REQ = 'application="chat",route="/",method="POST"'
DEP = 'application="chat",deployment="LLMServer"'
DEP_FIRES = [{"application": "chat", "deployment": "LLMServer"}]  # one alert, for the LLMServer deployment
CASES = [
    Case("RayServeApplicationDeployFailed", [(s("ray_serve_application_status", 'application="chat"'), "1x10")],
         "5m", [{"application": "chat"}]),
    Case("RayServeApplicationDeployFailed", [(s("ray_serve_application_status", 'application="chat"'), "6x10"),
                                             ('ray_serve_application_status{rayservice="other",namespace="llm",'
                                              'ray_io_cluster="other-x",application="chat"}', "1x10")],
         "5m", why="RUNNING here; the DEPLOY_FAILED app belongs to another RayService"),
    Case("RayServeApplicationNotRunning",
         [(s("ray_serve_application_status", 'application="chat"'), "5x30"),
          ('ray_serve_application_status{rayservice="chat",namespace="llm",ray_io_cluster="chat-old",'
           'application="chat"}', "6x30")],
         "20m", [{"application": "chat"}], value="5", why="blue/green: only the new cluster's app is DEPLOYING"),
    Case("RayServeApplicationNotRunning", [(s("ray_serve_application_status", 'application="chat"'), "5x30")],
         "10m", why="DEPLOYING for less than its 15m `for:`"),
    Case("RayServeApplicationNotRunning", [(s("ray_serve_application_status", 'application="chat"'), "4x30")],
         "20m", why="DELETING is not a fault"),
    Case("RayServeDeploymentUnhealthy",
         [(s("ray_serve_deployment_status", DEP), "2x10")],
         "8m", DEP_FIRES, value="2"),
    Case("RayServeDeploymentUnhealthy",
         [(s("ray_serve_deployment_status", DEP), "3x10"),
          (s("ray_serve_deployment_status", 'application="chat",deployment="Ingress"'), "0x10")],
         "8m", why="UPDATING and UNKNOWN are not unhealthy"),
    Case("RayServeHighErrorRatio",
         [(s("ray_serve_num_http_requests_total", f'{REQ},status_code="200"'), "0+54x30"),
          (s("ray_serve_num_http_requests_total", f'{REQ},status_code="500"'), "0+6x30"),
          (s("ray_serve_num_http_error_requests_total", f'{REQ},error_code="500"'), "0+6x30")],
         "15m", [{"application": "chat"}], value="10%"),
    Case("RayServeHighErrorRatio",
         [(s("ray_serve_num_http_requests", f'{REQ},status_code="200"'), "0+50x30"),
          (s("ray_serve_num_http_error_requests", f'{REQ},error_code="503"'), "0+10x30")],
         "15m", [{"application": "chat"}], value="20%", why="counter names without _total (older Ray)"),
    Case("RayServeHighErrorRatio",
         [(s("ray_serve_num_http_requests_total", f'{REQ},status_code="404"'), "0+60x30"),
          (s("ray_serve_num_http_error_requests_total", f'{REQ},error_code="404"'), "0+60x30")],
         "15m", why="4xx are the client's errors"),
    Case("RayServeHighP99Latency",
         buckets("ray_serve_http_request_latency_ms_bucket", REQ, {"100": 0, "1000": 0, "5000": 60, "+Inf": 60}),
         "20m", [{"application": "chat"}], value="4.96k"),
    Case("RayServeHighP99Latency",
         buckets("ray_serve_http_request_latency_ms_bucket", REQ, {"100": 60, "1000": 60, "5000": 60, "+Inf": 60}),
         "20m", why="p99 under 100 ms"),
    Case("RayServeReplicasBelowTarget",
         [(s("ray_serve_deployment_replica_healthy", f'{DEP},replica="a"'), "1x20"),
          (s("ray_serve_deployment_replica_healthy", f'{DEP},replica="b"'), "0x20"),
          (s("ray_serve_autoscaling_target_replicas", DEP), "2x20")],
         "15m", DEP_FIRES, value="1"),
    Case("RayServeReplicasBelowTarget",
         [(s("ray_serve_deployment_replica_healthy", f'{DEP},replica="a"'), "1x20"),
          (s("ray_serve_deployment_replica_healthy", f'{DEP},replica="b"'), "1x20"),
          (s("ray_serve_deployment_replica_healthy", f'{DEP},replica="old"'), "0x20"),
          (s("ray_serve_autoscaling_target_replicas", DEP), "2x20")],
         "15m", why="two healthy of two (a replaced replica's series reads 0)"),
    Case("RayServeAutoscalerAtMax",
         [(s("ray_serve_autoscaling_desired_replicas", DEP), "4x30"),
          (s("ray_serve_autoscaling_target_replicas", DEP), "2x30")],
         "20m", DEP_FIRES, value="4"),
    Case("RayServeAutoscalerAtMax",
         [(s("ray_serve_autoscaling_desired_replicas", DEP), "2x30"),
          (s("ray_serve_autoscaling_target_replicas", DEP), "2x30")],
         "20m", why="the policy gets what it wants"),
    Case("RayServeQueueBacklog",
         [(s("ray_serve_deployment_queued_queries", f'{DEP},handle="h1"'), "60x10"),
          (s("ray_serve_deployment_queued_queries", f'{DEP},handle="h2"'), "50x10")],
         "8m", DEP_FIRES, value="110"),
    Case("RayServeQueueBacklog",
         [(s("ray_serve_deployment_queued_queries", f'{DEP},handle="h1"'), "60x10")],
         "8m", why="60 queued, threshold 100"),
    Case("RayServeProxyUnhealthy",
         [(s("ray_serve_proxy_status", 'node_ip_address="10.0.0.7",node_id="n7"'), "3x10")],
         "8m", [{"node_ip_address": "10.0.0.7"}]),
    Case("RayServeProxyUnhealthy",
         [(s("ray_serve_proxy_status", 'node_ip_address="10.0.0.7",node_id="n7"'), "2x10")], "8m"),
    Case("RayServeLLMKVCacheNearFull",
         [(s("ray_vllm_kv_cache_usage_perc", 'model_name="tiny",ReplicaId="r1",engine="0"'), "0.97x20")],
         "15m", [{"model_name": "tiny", "ReplicaId": "r1"}], value="97%"),
    Case("RayServeLLMKVCacheNearFull",
         [(s("ray_vllm_kv_cache_usage_perc", 'model_name="tiny",ReplicaId="r1",engine="0"'), "0.5x20")], "15m"),
    Case("RayServeLLMHighTTFT",
         buckets("ray_vllm_time_to_first_token_seconds_bucket", 'model_name="tiny"',
                 {"0.1": 0, "2.5": 0, "5.0": 60, "+Inf": 60}),
         "20m", [{"model_name": "tiny"}], value="4.875k"),
    Case("RayServeLLMHighTTFT",
         buckets("ray_vllm_time_to_first_token_seconds_bucket", 'model_name="tiny"',
                 {"0.1": 60, "2.5": 60, "5.0": 60, "+Inf": 60}),
         "20m"),
    Case("RayServeLLMPreemptions",
         [(s("ray_vllm_num_preemptions_total", 'model_name="tiny",engine="0"'), "0+60x30")],
         "20m", [{"model_name": "tiny"}], value="1"),
    Case("RayServeLLMPreemptions",
         [(s("ray_vllm_num_preemptions_total", 'model_name="tiny",engine="0"'), "0+3x30")], "20m",
         why="0.05/s, threshold 0.1/s"),
    Case("RayServeMetricsAbsent", [(s("ray_serve_application_status", 'application="pipeline"'), "6x20")],
         "15m", [{"application": "chat", "ray_io_cluster": ""}], value="1",
         why="pipeline reports, chat does not"),
    Case("RayServeMetricsAbsent", [(s("ray_serve_application_status", 'application="pipeline"'), "6x20"),
                                   (s("ray_serve_application_status", 'application="chat"'), "6x20")], "15m"),
    Case("RayMetricsTargetDown", [(s("up", 'pod="chat-head",endpoint="metrics",job="llm/chat-ray"'), "0x10")],
         "8m", [{"pod": "chat-head", "endpoint": "metrics", "job": "llm/chat-ray"}]),
    Case("RayMetricsTargetDown", [(s("up", 'pod="chat-head",endpoint="metrics",job="llm/chat-ray"'), "1x10")], "8m"),
    Case("RayServiceNotReady",
         [('kuberay_service_condition_ready{name="chat",namespace="llm",uid="u1",condition="false"}', "1x20")],
         "15m", [{"name": "chat", "namespace": "llm", "rayservice": "", "ray_io_cluster": ""}]),
    Case("RayServiceNotReady",
         [('kuberay_service_condition_ready{name="chat",namespace="llm",uid="u1",condition="true"}', "1x20"),
          ('kuberay_service_condition_ready{name="chat",namespace="other",uid="u2",condition="false"}', "1x20")],
         "15m", why="Ready here; the unready one is in another namespace"),
    Case("RayServiceUpgradeTooLong",
         [('kuberay_service_condition_upgrade_in_progress{name="chat",namespace="llm",uid="u1",condition="true"}',
           "1x40")],
         "35m", [{"name": "chat", "namespace": "llm", "rayservice": "", "ray_io_cluster": ""}]),
    Case("RayServiceUpgradeTooLong",
         [('kuberay_service_condition_upgrade_in_progress{name="chat",namespace="llm",uid="u1",condition="true"}',
           "1x40")],
         "20m", why="upgrading for 20m, under its 30m `for:`"),
]


def _render(template: str, labels: dict[str, str], value: str) -> str:
    """Prometheus' expansion of the few template forms our annotations use."""
    out = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), template)
    return re.sub(r"\{\{ \$value(?: \| \w+)? \}\}", value, out)


def _unit_tests(rules_file: str) -> dict[str, Any]:
    settings = _settings()
    catalogue = {a.name: a for a in alert_catalogue(NAME, NS, settings, APPS, True)}
    tests = []
    for case in CASES:
        alert = catalogue[case.alert]
        expected = []
        for extra in case.fires:
            labels = {k: v for k, v in {**BASE, **extra}.items() if v}
            shown = {**labels, "severity": alert.severity, "team": "ml"}
            expected.append({"exp_labels": shown, "exp_annotations": {
                "summary": _render(alert.summary, labels, case.value),
                "description": _render(alert.description, labels, case.value),
            }})
        tests.append({
            "name": f"{case.alert}: {'fires' if case.fires else 'silent'} {case.why}".strip(),
            "interval": "1m",
            "input_series": [{"series": series, "values": values} for series, values in case.series],
            "alert_rule_test": [{"eval_time": case.eval_time, "alertname": case.alert, "exp_alerts": expected}],
        })
    return {"rule_files": [rules_file], "evaluation_interval": "1m", "tests": tests}


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    names = [a.name for a in alert_catalogue(NAME, NS, _settings(), APPS, True)]
    firing = {c.alert for c in CASES if c.fires}
    silent = {c.alert for c in CASES if not c.fires}
    assert set(names) == firing == silent, (set(names) - firing, set(names) - silent)


def test_promtool_unit_tests_of_every_alert(prom_tools: PromTools, tmp_path: Path) -> None:
    _write_rules(tmp_path / "rules.yaml", _settings())
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(_unit_tests("rules.yaml"), sort_keys=False, width=400))
    proc = prom_tools.promtool_run("test", "rules", "tests.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
    assert "SUCCESS" in proc.stdout


def test_promtool_unit_tests_can_fail(prom_tools: PromTools, tmp_path: Path) -> None:
    """The harness is not vacuous: a firing case against a rule that cannot fire is reported as a failure."""
    _write_rules(tmp_path / "rules.yaml", _settings(p99LatencyMs=1e9))
    tests = _unit_tests("rules.yaml")
    tests["tests"] = [t for t in tests["tests"] if t["name"].startswith("RayServeHighP99Latency: fires")]
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False, width=400))
    proc = prom_tools.promtool_run("test", "rules", "tests.yaml", cwd=tmp_path)
    assert proc.returncode != 0 and "RayServeHighP99Latency" in proc.stdout + proc.stderr, proc.stdout


@pytest.mark.parametrize("namespace", [NS, None])
def test_scrape_config_passes_promtool_check_config(prom_tools: PromTools, tmp_path: Path,
                                                    namespace: str | None) -> None:
    """The scrape-config ConfigMap's job in a Prometheus config. Debian builds Prometheus without Kubernetes service
    discovery (its 2.42 rejects `kubernetes_sd_configs` as an unknown field), so the discovery block is checked
    against Prometheus' documented shape here and swapped for `static_configs` before promtool checks the rest
    (relabelling included); tests/monitoring/test_live.py runs that relabelling in a real Prometheus."""
    from rayctl.monitoring.scrape import scrape_config_map
    from rayctl.spec.monitoring import ScrapeConfigSettings

    config_map = scrape_config_map(NAME, namespace, {}, ScrapeConfigSettings.model_validate({"scrapeTimeout": "10s"}))
    (text,) = config_map["data"].values()
    document = yaml.safe_load(text)
    (job,) = document["scrape_configs"]
    assert job.pop("kubernetes_sd_configs") == [{"role": "pod", "namespaces": {"names": [namespace or "default"]}}]
    job["static_configs"] = [{"targets": ["127.0.0.1:8080"]}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump({"global": {"scrape_interval": "30s"}, **document}))
    proc = prom_tools.promtool_run("check", "config", "--syntax-only", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
