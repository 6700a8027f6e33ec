"""The hostile suite runs every case in its own process (tests/hostile/runner.py); one fork server per worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import kuberay_crd_dir, skip_or_fail
from tests.hostile.runner import ForkServer

WORKERS = int(os.environ.get("RAYCTL_HOSTILE_WORKERS", str(min(4, os.cpu_count() or 1))))
"""Fork servers running cases at once (default: the cores, at most 4)."""


@pytest.fixture(scope="session")
def hostile_crds() -> Path:
    path = kuberay_crd_dir()
    if not (path / "ray.io_rayservices.yaml").exists():
        skip_or_fail(f"KubeRay CRDs not found in {path} (set RAYCTL_KUBERAY_CRDS)")
    os.environ["RAYCTL_KUBERAY_CRDS"] = str(path)
    return path


@pytest.fixture(scope="session")
def fork_server(hostile_crds: Path) -> Iterator[ForkServer]:
    server = ForkServer()
    yield server
    server.close()
