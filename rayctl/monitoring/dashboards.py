"""Grafana dashboards as ConfigMaps for Grafana's dashboard sidecar (one ConfigMap per dashboard).

The dashboards are the generated files in `dashboards/` (`make goldens`). Each RayService gets its own copy: a uid
and title of its own (so two RayServices never fight over one dashboard), its namespace and name preselected in the
`namespace` / `rayservice` variables (still switchable), and a data key unique across namespaces (the sidecar writes
every key of every namespace into one folder). The JSON is stored compact; a ConfigMap holds at most 1 MiB.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from rayctl.monitoring.common import metadata
from rayctl.spec.monitoring import DashboardName, DashboardSettings

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"
CONFIGMAP_LIMIT_BYTES = 1024 * 1024
"""The API server's limit on a ConfigMap's data (`MaxSecretSize`, 1 MiB)."""

ALL_DASHBOARDS: list[DashboardName] = ["overview", "serve", "serve-deployment", "serve-llm"]


def selected(settings: DashboardSettings, has_llm: bool) -> list[DashboardName]:
    """The dashboards to render: `include`, else all of them (`serve-llm` only with an LLM app)."""
    if settings.include is not None:
        return list(dict.fromkeys(settings.include))
    return [d for d in ALL_DASHBOARDS if d != "serve-llm" or has_llm]


@lru_cache(maxsize=8)
def _dashboard_text(stem: str) -> str:
    path = DASHBOARD_DIR / f"{stem}.json"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuntimeError(f"the generated dashboard {path} is missing from this rayctl installation") from exc


def load_dashboard(stem: str) -> dict[str, Any]:
    """A fresh copy of the generated dashboard `stem`."""
    data: dict[str, Any] = json.loads(_dashboard_text(stem))
    return data


def for_rayservice(dashboard: dict[str, Any], stem: str, name: str, namespace: str | None) -> dict[str, Any]:
    """`dashboard` made this RayService's own: uid, title and preselected variables."""
    key = f"{namespace or ''}/{name}"
    out = dict(dashboard)
    out["uid"] = f"rayctl-{stem}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"  # Grafana: at most 40 characters
    out["title"] = f"{dashboard.get('title', stem)} · {key.lstrip('/')}"
    variables = []
    for variable in (dashboard.get("templating") or {}).get("list", []):
        value = {"rayservice": name, "namespace": namespace}.get(variable.get("name"))
        if value:
            variable = {**variable, "current": {"selected": True, "text": [value], "value": [value]}}
        variables.append(variable)
    out["templating"] = {**(dashboard.get("templating") or {}), "list": variables}
    return out


def dashboard_config_maps(
    name: str, namespace: str | None, labels: dict[str, str], settings: DashboardSettings, has_llm: bool
) -> list[dict[str, Any]]:
    """One ConfigMap `<name>-dashboard-<dashboard>` per selected dashboard, labelled for the sidecar."""
    annotations = {settings.folder_annotation: settings.folder} if settings.folder else {}
    objects = []
    for stem in selected(settings, has_llm):
        dashboard = for_rayservice(load_dashboard(stem), stem, name, namespace)
        text = json.dumps(dashboard, separators=(",", ":"), ensure_ascii=False)  # ~13 ms for all four
        size = len(text.encode())
        if size > CONFIGMAP_LIMIT_BYTES:
            raise ValueError(f"dashboard {stem!r} is {size} bytes, over a ConfigMap's {CONFIGMAP_LIMIT_BYTES}")
        data_key = "-".join(p for p in (namespace, name, stem) if p) + ".json"
        objects.append({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata(f"{name}-dashboard-{stem}", namespace, {**labels, **settings.labels}, annotations),
            "data": {data_key: text},
        })
    return objects
