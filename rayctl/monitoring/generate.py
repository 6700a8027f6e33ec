"""Build-time generation of the dashboard JSON files in `rayctl/monitoring/dashboards/` (`make goldens`).

Ray's own Serve, Serve-deployment and Serve-LLM dashboards come from the installed Ray wheel's dashboard factory
(`ray.dashboard.modules.metrics.grafana_dashboard_factory`, the code behind the dashboards Ray writes to
`/tmp/ray/session_latest/metrics/grafana`). Its documented override `RAY_GRAFANA_<NAME>_DASHBOARD_GLOBAL_FILTERS`
adds rayctl's `namespace` and `rayservice` filters to every panel and variable query, next to Ray's own
`ray_io_cluster=~"$Cluster"`; the matching template variables are added here. With "All" selected they match any
series, so the dashboards still work on metrics scraped without rayctl's labels.

Needs `ray` (imported only here); rayctl itself reads the committed files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rayctl.monitoring.overview import overview_dashboard

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"

RAY_DASHBOARDS: dict[str, tuple[str, str]] = {
    # file stem -> (factory function in grafana_dashboard_factory, the factory's dashboard NAME for env overrides)
    "serve": ("generate_serve_grafana_dashboard", "SERVE"),
    "serve-deployment": ("generate_serve_deployment_grafana_dashboard", "SERVE_DEPLOYMENT"),
    "serve-llm": ("generate_serve_llm_grafana_dashboard", "SERVE_LLM"),
}

EXTRA_FILTERS = ['namespace=~"$namespace"', 'rayservice=~"$rayservice"']
"""Added to every query of Ray's dashboards (through the factory's global-filter override)."""


def _variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "datasource": "${datasource}",
        "definition": query,
        "description": "Added by rayctl: the RayService's namespace / name, stable across its blue/green clusters.",
        "hide": 0,
        "includeAll": True,
        "label": label,
        "multi": True,
        "name": name,
        "options": [],
        "query": {"query": query, "refId": "StandardVariableQuery"},
        "refresh": 1,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }


RAYCTL_VARIABLES = [
    _variable("namespace", "Namespace", "label_values(ray_serve_application_status, namespace)"),
    _variable("rayservice", "RayService",
              'label_values(ray_serve_application_status{namespace=~"$namespace"}, rayservice)'),
]


@contextmanager
def _env(overrides: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def ray_dashboard(stem: str) -> dict[str, Any]:
    """One of Ray's dashboards from the installed wheel, with rayctl's filters and variables."""
    from ray.dashboard.modules.metrics import grafana_dashboard_factory as factory

    function_name, env_name = RAY_DASHBOARDS[stem]
    generate: Callable[[], tuple[str, str]] = getattr(factory, function_name)
    env = {f"RAY_GRAFANA_{env_name}_DASHBOARD_{key}": "" for key in ("UID", "LOG_LINK_URL")}
    env[f"RAY_GRAFANA_{env_name}_DASHBOARD_GLOBAL_FILTERS"] = ",".join(EXTRA_FILTERS)
    with _env(env):
        content, _uid = generate()
    dashboard: dict[str, Any] = json.loads(content)
    variables = dashboard.setdefault("templating", {}).setdefault("list", [])
    after_datasource = next((i + 1 for i, v in enumerate(variables) if v.get("type") == "datasource"), 0)
    variables[after_datasource:after_datasource] = json.loads(json.dumps(RAYCTL_VARIABLES))
    dashboard["tags"] = [*dashboard.get("tags", []), "rayctl"]
    return dashboard


def all_dashboards() -> dict[str, dict[str, Any]]:
    """file stem -> dashboard, for every file in DASHBOARD_DIR."""
    return {"overview": overview_dashboard(), **{stem: ray_dashboard(stem) for stem in RAY_DASHBOARDS}}


def dashboard_text(dashboard: dict[str, Any]) -> str:
    """The committed form: indented JSON (diffs stay readable), newline at the end."""
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def write(directory: Path = DASHBOARD_DIR) -> list[Path]:
    """(Re)write every dashboard file whose content changed; returns those written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, dashboard in all_dashboards().items():
        path = directory / f"{stem}.json"
        text = dashboard_text(dashboard)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
