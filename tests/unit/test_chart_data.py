"""The chart's generated data agrees with the Python side (no helm needed): every application type has its chart
templates, values.yaml holds exactly the models' defaults, Chart.yaml's appVersion is rayctl's Ray version, and the
value kinds the templates rely on are the ones the models declare."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from rayctl.apps import app_types
from rayctl.chartdata import defaults_document, type_node
from rayctl.spec.base import RAY_VERSION
from rayctl.spec.model import DeploymentSpec
from tests.conftest import ROOT

CHART = ROOT / "charts" / "rayservice"
HOOKS = ("kind", "importPath", "wantsGpu", "args", "implicitDeployments", "forCpu")


def _implemented() -> list[str]:
    text = (CHART / "templates" / "_apps.tpl").read_text()
    match = re.search(r'define "rayservice\.app\.implemented" -}}\n(.*)\n', text)
    assert match, "rayservice.app.implemented not found"
    return match.group(1).split()


def test_every_registered_type_has_chart_templates() -> None:
    assert sorted(_implemented()) == sorted(app_types())


@pytest.mark.parametrize("type_name", sorted(app_types()))
def test_type_template_defines_every_hook(type_name: str) -> None:
    path = CHART / "templates" / f"_app_{type_name}.tpl"
    text = path.read_text()
    for hook in HOOKS:
        assert f'define "rayservice.app.{type_name}.{hook}"' in text, (path.name, hook)
    bundled = app_types()[type_name].model_fields.keys() >= {"device", "deployments"}
    kind = re.search(rf'define "rayservice\.app\.{type_name}\.kind" -}}}}(\w+)', text)
    assert kind and kind.group(1) == ("bundled" if bundled else "base")


def test_chart_app_version_is_the_ray_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == RAY_VERSION


def _subset(documented: Any, actual: Any, path: str = "") -> list[str]:
    if isinstance(documented, dict):
        return [p for key, value in documented.items() for p in _subset(value, actual.get(key), f"{path}.{key}")]
    return [] if documented == actual else [f"{path}: values.yaml {documented!r} vs model {actual!r}"]


def test_values_yaml_holds_the_model_defaults() -> None:
    documented = yaml.safe_load((CHART / "values.yaml").read_text())
    spec = DeploymentSpec.model_validate({"name": "x", "serve": {"applications": [{"name": "a", "type": "hello"}]}})
    actual = spec.model_dump(by_alias=True, mode="json")
    assert _subset(documented, actual) == []
    assert "name" not in documented and "applications" not in documented["serve"]


def test_values_yaml_comments_every_key() -> None:
    lines = (CHART / "values.yaml").read_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^\s*[A-Za-z]+:", line):
            assert lines[index - 1].strip().startswith("# --"), line


@pytest.mark.parametrize(("model", "key", "kind"), [
    ("WorkerGroup", "cpu", "qty"), ("WorkerGroup", "name", "dns"), ("WorkerGroup", "labels", "smap"),
    ("WorkerGroup", "tolerations", "list"), ("ServeSettings", "applications", "list"),
    ("HelloApp", "deployments", "dict"), ("RayActorOptions", "memory", "qty"),
    ("DeploymentSpec", "gcsFaultTolerance", "model"), ("CustomApp", "args", "val"),
])
def test_value_kinds(model: str, key: str, kind: str) -> None:
    fields = {f["key"]: f for f in defaults_document()["models"][model]["fields"]}
    assert fields[key]["t"]["k"] == kind


def test_applications_are_the_type_union() -> None:
    doc = defaults_document()
    field = next(f for f in doc["models"]["ServeSettings"]["fields"] if f["key"] == "applications")
    assert field["t"] == {"k": "list", "of": {"k": "union", "u": "apps"}}
    assert doc["unions"]["apps"]["types"] == {n: c.__name__ for n, c in app_types().items()}


def test_defaults_json_is_json_helm_can_read(tmp_path: Path) -> None:
    text = (CHART / "files" / "defaults.json").read_text()
    assert json.loads(text) == json.loads(json.dumps(defaults_document(), sort_keys=True))
    assert type_node(str) == {"k": "str"}


def test_chart_readme_keeps_the_prose_and_regenerates_the_table() -> None:
    from rayctl.chartdata import TABLE_BEGIN, TABLE_END, chart_readme, values_table

    prose = "# chart\n\nhand-written\n\n## Values\n\n"
    stale = f"{prose}{TABLE_BEGIN}\n\n| old | table |\n\n{TABLE_END}\n\n## After\n\nmore prose\n"
    fresh = chart_readme(stale)
    assert fresh.startswith(prose) and fresh.endswith("\n## After\n\nmore prose\n")
    assert "| old | table |" not in fresh and values_table() in fresh
    assert chart_readme(fresh) == fresh  # a fixed point: the staleness check passes once regenerated
    assert values_table() in chart_readme("# chart\n")  # no markers yet: the table is appended


def _fill_like_the_chart(text: str, swaps: dict[str, str]) -> str:
    for old, new in swaps.items():
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize("namespace", ["llm", None])
@pytest.mark.parametrize("settings", [
    {},
    {"errorRatio": 0.125, "p99LatencyMs": 150.5, "queueBacklog": 2500, "kvCacheUsage": 0.999, "ttftP95Ms": 1e5,
     "preemptionsPerSecond": 1234567.0, "rateWindow": "30s", "for": {"ttft": "1h30m", "deployFailed": "90s"}},
])
def test_alert_skeletons_filled_as_the_chart_fills_them_give_rayctls_rules(namespace: str | None,
                                                                           settings: dict[str, Any]) -> None:
    """The data half of templates/monitoring.yaml (the Helm parity tests check the template half): rayctl's alert
    catalogue run with sentinels, filled with the real values, is rayctl's catalogue."""
    from rayctl.chartdata import monitoring_document
    from rayctl.monitoring.alerts import alert_catalogue
    from rayctl.spec.monitoring import AlertSettings

    alerts = AlertSettings.model_validate(settings)
    doc = monitoring_document()
    s = doc["sentinels"]
    dumped = alerts.model_dump(by_alias=True)
    swaps = {"rayctlxwindowx": alerts.rate_window}
    for key, value in dumped.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            # what the template's printf "%.6g", "%.0f%%" (mulf v 100) and "%d" write
            swaps[f"rayctlxslotx{key}xgx"] = f"{float(value):.6g}"
            swaps[f"rayctlxslotx{key}xpctx"] = f"{value * 100:.0f}%"
            swaps[f"rayctlxslotx{key}xplainx"] = f"{int(value)}"
    swaps |= {f"rayctlxforx{key}x": value for key, value in dumped["for"].items()}
    swaps |= {s["namespace"]: str(namespace), s["name"]: "chat"}
    apps = ["a", "b"]
    want = alert_catalogue("chat", namespace, alerts, apps, True)
    got = doc["alerts"]["namespaced" if namespace else "plain"]
    assert [a["alert"] for a in got] == [a.name for a in want]
    for mine, theirs in zip(got, want, strict=True):
        expr = mine["expr"]
        if s["app"] in expr:
            expr = " or ".join(expr.replace(s["app"], app) for app in apps)
        assert _fill_like_the_chart(expr, swaps) == theirs.expr
        assert _fill_like_the_chart(mine["for"], swaps) == theirs.for_
        assert _fill_like_the_chart(mine["summary"], swaps) == theirs.summary
        assert _fill_like_the_chart(mine["description"], swaps) == theirs.description


@pytest.mark.parametrize("namespace", ["llm", None])
def test_dashboard_and_scrape_skeletons_filled_give_rayctls_payloads(namespace: str | None) -> None:
    import hashlib

    from rayctl.chartdata import dashboard_files, monitoring_document
    from rayctl.monitoring.dashboards import dashboard_config_maps
    from rayctl.monitoring.scrape import scrape_config_map
    from rayctl.spec.monitoring import DashboardSettings, ScrapeConfigSettings

    s = monitoring_document()["sentinels"]
    uid = hashlib.sha256(f"{namespace or ''}/chat".encode()).hexdigest()[:10]
    files = dashboard_files()
    for config_map in dashboard_config_maps("chat", namespace, {}, DashboardSettings(), True):
        stem = config_map["metadata"]["name"].removeprefix("chat-dashboard-")
        [(_, want)] = config_map["data"].items()
        text = files[f"{stem}{'' if namespace else '.nons'}.json"]
        assert _fill_like_the_chart(text, {s["uid"]: uid, s["namespace"]: str(namespace), s["name"]: "chat"}) == want
    settings = ScrapeConfigSettings.model_validate({"interval": "30s", "ports": ["metrics", "as-metrics"]})
    [(_, want)] = scrape_config_map("chat", namespace, {}, settings)["data"].items()
    ns = namespace or "default"
    text = monitoring_document()["scrapeConfig"]["plain"]
    assert _fill_like_the_chart(text, {
        f"job_name: {s['job']}\n": f"job_name: rayctl/{ns}/chat\n", f"- {s['namespace']}\n": f"- {ns}\n",
        f"scrape_interval: {s['interval']}\n": "scrape_interval: 30s\n",
        f"regex: {s['ports']}\n": "regex: metrics|as-metrics\n", f";{s['name']}\n": ";chat\n"}) == want
