"""Ray's generated dashboards filter on the RayService (whether the files are current: tests/unit/test_generated.py),
and every metric name rayctl's own rules and overview use is one that Ray 2.60, vLLM and KubeRay really define (read
from their installed / downloaded source; tests/monitoring/test_live.py then sees them exported)."""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path

import pytest

from rayctl.monitoring.alerts import alert_catalogue
from rayctl.monitoring.dashboards import DASHBOARD_DIR
from rayctl.monitoring.generate import RAY_DASHBOARDS
from rayctl.spec.monitoring import AlertSettings
from tests.conftest import skip_or_fail
from tests.monitoring.tools import dashboard_panels, pinned_tools


@pytest.mark.parametrize("stem", sorted(RAY_DASHBOARDS))
def test_ray_dashboards_filter_on_the_rayservice(stem: str) -> None:
    generated = json.loads((DASHBOARD_DIR / f"{stem}.json").read_text())
    unfiltered = [e for e in _exprs(generated) if 'rayservice=~"$rayservice"' not in e]
    assert not unfiltered, f"{stem}: queries without rayctl's rayservice filter: {unfiltered[:3]}"


def _exprs(dashboard: dict[str, object]) -> list[str]:
    return [t["expr"] for p in dashboard_panels(dashboard) for t in p.get("targets", [])]


def _used_metrics() -> set[str]:
    """Metric names in rayctl's alert rules and overview dashboard."""
    texts = [a.expr for a in alert_catalogue("x", "ns", AlertSettings(), ["app"], True)]
    texts += _exprs(json.loads((DASHBOARD_DIR / "overview.json").read_text()))
    names: set[str] = set()
    for text in texts:
        names.update(re.findall(r'__name__=~"(\w+?)\(_total\)\?"', text))
        names.update(re.findall(r"\b((?:ray|autoscaler|kuberay)_\w+)\{", text))
    return names


def _candidates(name: str) -> list[tuple[str, bool]]:
    """(definition name, must be a counter) a series name can come from: a histogram's series lose their suffix; a
    `_total` series is a counter's, or a gauge that ends in `_total` itself (`ray_node_mem_total`)."""
    base = re.sub(r"_(bucket|count|sum)$", "", name)
    return [(base, False), (base.removesuffix("_total"), True)] if base.endswith("_total") else [(base, False)]


@cache
def _source(package: str, *parts: str) -> str:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        skip_or_fail(f"{package} is not installed: cannot read its metric definitions")
        return ""
    root = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    text = "\n".join(p.read_text(errors="replace") for p in root.rglob("*.py") if "tests" not in p.parts)
    # Serve names its HTTP and gRPC ingress metrics f"serve_num_{protocol_name}_requests" and the like.
    return "\n".join(text.replace("{protocol_name}", protocol) for protocol in ("http", "grpc"))


def _kuberay_source() -> str:
    metrics_dir = pinned_tools().kuberay_source / "controllers" / "ray" / "metrics"
    if not metrics_dir.is_dir():
        skip_or_fail(f"KubeRay operator source missing: {metrics_dir} (run hack/install-prometheus.sh)")
        return ""
    return "\n".join(p.read_text() for p in metrics_dir.glob("*.go"))


def _defined_in(text: str, quoted: str, counter: bool) -> bool:
    if not counter:
        return quoted in text
    return re.search(r"(?:Counter|_counter_cls)\(\s*(?:name\s*=\s*)?f?" + re.escape(quoted), text) is not None


def _defined(name: str) -> bool:
    for base, counter in _candidates(name):
        if base.startswith("ray_vllm_"):
            found = _defined_in(_source("vllm", "v1", "metrics"), f'"vllm:{base.removeprefix("ray_vllm_")}"', counter)
        elif base.startswith("ray_serve_"):
            found = _defined_in(_source("ray", "serve"), f'"{base.removeprefix("ray_")}"', counter)
        elif base.startswith("ray_node_"):
            found = _defined_in(_source("ray", "dashboard", "modules", "reporter"), f'"{base.removeprefix("ray_")}"',
                                counter)
        elif base.startswith("autoscaler_"):
            found = _defined_in(_source("ray", "autoscaler"), f'"{base.removeprefix("autoscaler_")}"', counter)
        elif base.startswith("kuberay_"):
            found = _defined_in(_kuberay_source(), f'"{base}"', counter)
        else:
            found = False
        if found:
            return True
    return False


def test_every_metric_rayctl_uses_is_defined_upstream() -> None:
    used = _used_metrics()
    assert len(used) > 35, sorted(used)
    undefined = sorted(n for n in used if not _defined(n))
    assert not undefined, f"not defined by Ray/vLLM/KubeRay: {undefined}"


@pytest.mark.parametrize("name", ["ray_serve_deployment_replica_healthy_total", "ray_serve_num_ongoing_requests",
                                  "ray_gcs_update_resource_usage_time_bucket", "ray_vllm_gpu_cache_usage_perc"])
def test_names_that_do_not_exist_are_caught(name: str) -> None:
    """The seed's and KubeRay's example names that Ray 2.60 / vLLM 0.32 do not export: the check rejects them."""
    assert not _defined(name)
