"""Shared fixtures for tests/serve: a local Ray (+ Serve on a free 127.0.0.1 port) per session, tiny model.

Fixtures:
- `serve_deps`  (session): skips (fails when CI=true) if ray[serve] or vllm cannot be imported.
- `ray_cluster` (session): `ray.init` of a private local cluster (limited CPUs, no dashboard, token auth off).
- `serve_env`   (session): Serve started on 127.0.0.1:<free port>; a `ServeEnv` with `.url`, `.port`,
  `.deploy(app_config)` (the same dicts as serveConfigV2 `applications[i]`: name, route_prefix, import_path,
  args, deployments; deployed declaratively, like KubeRay does) and `.delete(name)`.
- `tiny_model`  (session): path of the tiny random Llama (rayctl/tiny_model.py), built once and cached.

Env knobs: RAYCTL_TEST_RAY_CPUS (logical CPUs for the test cluster, default 8),
RAYCTL_TINY_MODEL_CACHE (where the tiny model is cached), RAYCTL_SERVE_DEPLOY_TIMEOUT_S (default 600),
RAYCTL_TEST_RAY_LOG_TO_DRIVER=1 (stream replica logs into the pytest output).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rayctl.localrun import free_port
from tests.conftest import skip_or_fail

REPO_ROOT = Path(__file__).resolve().parents[2]

# Must be set before Ray starts: every worker/replica inherits them.
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # Ray 2.60 enables token auth for new local clusters
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no Hugging Face access at all
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; vLLM's CPU default (4) is large for CI
os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def serve_deps() -> None:
    for mod in ("ray", "ray.serve", "vllm"):
        try:
            importlib.import_module(mod)
        except Exception as exc:  # ImportError, or a broken install raising something else
            skip_or_fail(f"serve test dependencies missing: cannot import {mod}: {type(exc).__name__}: {exc} "
                         "(run hack/install-serve-deps.sh)")


@pytest.fixture(scope="session")
def tiny_model(serve_deps: None) -> Path:
    sys.path.insert(0, str(REPO_ROOT))
    from rayctl.tiny_model import ensure_tiny_model

    return ensure_tiny_model()


@pytest.fixture(scope="session")
def ray_cluster(serve_deps: None) -> Iterator[Any]:
    import ray

    if ray.is_initialized():
        ray.shutdown()
    pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    os.environ["PYTHONPATH"] = pythonpath  # replicas (and Serve's app-builder task) import serve_apps
    temp_dir = tempfile.mkdtemp(prefix="rayctl-serve-test-")
    ctx = ray.init(
        num_cpus=int(os.environ.get("RAYCTL_TEST_RAY_CPUS", "8")),
        num_gpus=0,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",  # keep Ray on loopback
        _temp_dir=temp_dir,
        _metrics_export_port=free_port(),
        runtime_env={"env_vars": {"PYTHONPATH": pythonpath}},
        logging_level="WARNING",
        log_to_driver=os.environ.get("RAYCTL_TEST_RAY_LOG_TO_DRIVER", "0") == "1",  # replica logs: noisy
    )
    try:
        yield ctx
    finally:
        ray.shutdown()


@dataclass
class ServeEnv:
    host: str
    port: int
    apps: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _deploy_all(self) -> None:
        from ray.serve.context import _get_global_client  # what `serve deploy` / KubeRay use
        from ray.serve.schema import ServeDeploySchema

        config = ServeDeploySchema.model_validate({"applications": list(self.apps.values())})
        _get_global_client().deploy_apps(config)

    def deploy(self, app: dict[str, Any], timeout_s: float | None = None) -> str:
        """Deploy one serveConfigV2 application (declaratively, with the others already deployed); wait."""
        from ray import serve

        name = app["name"]
        self.apps[name] = app
        self._deploy_all()
        timeout_s = timeout_s or float(os.environ.get("RAYCTL_SERVE_DEPLOY_TIMEOUT_S", "600"))
        deadline = time.monotonic() + timeout_s
        status = None
        while time.monotonic() < deadline:
            status = serve.status().applications.get(name)
            if status is not None and status.status == "RUNNING":
                return f"{self.url}{app.get('route_prefix', '/')}".rstrip("/")
            if status is not None and status.status in ("DEPLOY_FAILED", "UNHEALTHY"):
                break
            time.sleep(1.0)
        self.apps.pop(name, None)
        with contextlib.suppress(Exception):
            self._deploy_all()
        raise RuntimeError(f"app {name!r} did not become RUNNING: {status}")

    def delete(self, name: str) -> None:
        if self.apps.pop(name, None) is not None:
            self._deploy_all()
            from ray import serve

            deadline = time.monotonic() + 120
            while name in serve.status().applications and time.monotonic() < deadline:
                time.sleep(0.5)


@pytest.fixture(scope="session")
def serve_env(ray_cluster: Any) -> Iterator[ServeEnv]:
    from ray import serve

    env = ServeEnv(host="127.0.0.1", port=free_port())
    serve.start(http_options={"host": env.host, "port": env.port}, proxy_location="HeadOnly")
    try:
        yield env
    finally:
        with contextlib.suppress(Exception):
            serve.shutdown()
