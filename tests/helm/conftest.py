"""Fixtures for the chart tests: the pinned chart tools from hack/helm/build.sh, run with an isolated Helm home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, skip_or_fail
from tests.helm.chart import Helm

BUILD_SH = ROOT / "hack" / "helm" / "build.sh"


def tool_paths() -> dict[str, Path]:
    """NAME -> path of every pinned artefact (`build.sh --print-paths`: helm, helm-unittest, ct, helm-plugins,
    ct-etc), built or not."""
    out = subprocess.run([str(BUILD_SH), "--print-paths"], capture_output=True, text=True, check=True, timeout=30)
    paths = {}
    for line in out.stdout.splitlines():
        name, _version, path = line.split(maxsplit=2)
        paths[name] = Path(path)
    return paths


@pytest.fixture(scope="session")
def tools() -> dict[str, Path]:
    paths = tool_paths()
    missing = [f"{name} ({path})" for name, path in paths.items() if not path.exists()]
    if missing:
        skip_or_fail(f"chart tools not built: {', '.join(missing)}. Run: make helm-tools")
    return paths


@pytest.fixture()
def helm_env(tmp_path: Path, tools: dict[str, Path]) -> dict[str, str]:
    """Helm with its own empty config/cache/data dirs (nothing from ~/.config/helm), the plugin dir from the cache,
    and PATH led by the pinned helm (ct runs `helm`) and the venv (ct runs `yamllint` and `yamale`)."""
    env = dict(os.environ)
    for var in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"):
        env[var] = str(tmp_path / "helm-home" / var.lower())
    env["HELM_PLUGINS"] = str(tools["helm-plugins"])
    env["PATH"] = os.pathsep.join([str(tools["helm"].parent), str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory, tools: dict[str, Path]) -> Helm:
    """The pinned helm with an isolated home, shared by the chart tests of a session."""
    home = tmp_path_factory.mktemp("helm-home")
    env = dict(os.environ)
    for var in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"):
        env[var] = str(home / var.lower())
    env["HELM_PLUGINS"] = str(tools["helm-plugins"])
    env["PATH"] = os.pathsep.join([str(tools["helm"].parent), str(Path(sys.executable).parent), env.get("PATH", "")])
    return Helm(tools["helm"], env)
