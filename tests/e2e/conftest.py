"""Fixtures for e2e tests: a real local control plane with the KubeRay operator (tests/e2e/controlplane.py).

`control_plane` (session scope) yields a `ControlPlane` with `.kubeconfig` (Path) and `.state_dir` (Path).
- Binaries missing: `pytest.fail` when CI=true, else `pytest.skip` with the command that builds them.
- RAYCTL_E2E_STATE_DIR=DIR reuses a control plane started with `python -m tests.e2e.controlplane up DIR`
  (left running afterwards); otherwise a fresh one is started under pytest's tmp dir and always stopped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

from .controlplane import ControlPlane, build_command, missing_binaries


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    reuse = os.environ.get("RAYCTL_E2E_STATE_DIR")
    if reuse:
        if not (Path(reuse) / "state.json").exists():
            pytest.fail(f"RAYCTL_E2E_STATE_DIR={reuse} holds no running control plane (no state.json)")
        cp = ControlPlane.load(reuse)
        dead = [line for line in cp.status().values() if "NOT RUNNING" in line]
        if dead:
            pytest.fail(f"control plane in {reuse} is not fully running: {dead}")
        yield cp
        return

    missing = missing_binaries()
    if missing:
        msg = f"e2e control-plane binaries missing ({'; '.join(missing)}); build them with: {build_command()}"
        skip_or_fail(msg)

    cp = ControlPlane(state_dir=tmp_path_factory.mktemp("controlplane"))
    try:
        cp.up(owned=True)  # stops whatever it started if it fails
        yield cp
    finally:
        cp.down()  # keeps state_dir/logs for post-mortems
