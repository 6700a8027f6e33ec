"""Spec -> Ray Serve multi-application config (the YAML embedded as `serveConfigV2`), in Ray's snake_case.

Generic over application types: each type (`rayctl/apps/<type>.py`) builds its own `args` and implicit deployment
options; this module only assembles them.
"""

from __future__ import annotations

from typing import Any

from rayctl.apps.base import AppBase, Profile
from rayctl.spec.model import DeploymentSpec

__all__ = ["Profile", "application_config", "serve_config"]


def _deployments(app: AppBase, device: str) -> list[dict[str, Any]]:
    """Per-deployment options: rayctl's implicit ones, overridden key by key by what the user wrote."""
    cpu_only = device == "cpu"
    explicit = {name: o.to_serve(cpu_only=cpu_only) for name, o in app.explicit_deployments().items()}
    implicit = app.implicit_deployments(device)
    result = []
    for name in sorted(set(implicit) | set(explicit)):
        options = {**implicit.get(name, {}), **explicit.get(name, {})}
        result.append({"name": name, **options})
    return result


def application_config(app: AppBase, profile: Profile) -> dict[str, Any]:
    device = app.resolve_device(profile)
    entry: dict[str, Any] = {"name": app.name, "route_prefix": app.effective_route(), "import_path": app.import_path()}
    args = app.serve_args(device)
    if args is not None:
        entry["args"] = args
    if app.runtime_env is not None:
        entry["runtime_env"] = app.runtime_env
    deployments = _deployments(app, device)
    if deployments:
        entry["deployments"] = deployments
    return entry


def _tidy_numbers(value: Any) -> Any:
    """Write whole floats as ints (1.0 -> 1): the spec types them as float, Ray accepts both, people read ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _tidy_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy_numbers(v) for v in value]
    return value


def serve_config(spec: DeploymentSpec, profile: Profile = None) -> dict[str, Any]:
    """The Ray Serve config (ServeDeploySchema) for the spec's applications."""
    serve = spec.serve
    http: dict[str, Any] = {"host": "0.0.0.0", "port": serve.http_port}
    if serve.request_timeout_s is not None:
        http["request_timeout_s"] = serve.request_timeout_s
    if serve.keep_alive_timeout_s is not None:
        http["keep_alive_timeout_s"] = serve.keep_alive_timeout_s
    config = {
        "proxy_location": serve.proxy_location,
        "http_options": http,
        "applications": [application_config(app, profile) for app in serve.applications],
    }
    return _tidy_numbers(config)  # type: ignore[no-any-return]
