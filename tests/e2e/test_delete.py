"""`rayctl delete`: the RayService goes, its RayCluster and pods are garbage-collected."""

from __future__ import annotations

from typing import Any

import pytest

from .test_apply_helpers import (
    EXAMPLES,
    kget,
    namespace,
    rayclusters,
    rayctl,
    wait_cluster_and_pods,
)

pytestmark = pytest.mark.e2e


def test_delete_removes_everything(control_plane: Any) -> None:
    cp = control_plane
    with namespace(cp, "delete") as ns:
        assert rayctl(cp, "apply", str(EXAMPLES / "hello.yaml"), "-n", ns).returncode == 0
        cluster = wait_cluster_and_pods(cp, ns, "hello")
        # stdin is not a TTY: refuse without -y
        proc = rayctl(cp, "delete", "hello", "-n", ns)
        assert proc.returncode == 2 and "pass -y" in proc.stderr
        assert kget(cp, "rayservices", "-n", ns)["items"]

        proc = rayctl(cp, "delete", "hello", "-n", ns, "-y", "--timeout", "90s", timeout=150)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "rayservice.ray.io/hello deleted"
        # --wait (the default) returned only once the RayService and its RayCluster were gone
        assert kget(cp, "rayservices", "-n", ns)["items"] == []
        assert rayclusters(cp, ns, "hello") == []
        names = [c["metadata"]["name"] for c in kget(cp, "rayclusters", "-n", ns)["items"]]
        assert cluster["metadata"]["name"] not in names

        proc = rayctl(cp, "delete", "hello", "-n", ns, "-y")
        assert proc.returncode == 7
        assert "not found" in proc.stderr
        proc = rayctl(cp, "delete", "hello", "-n", ns, "-y", "--ignore-not-found")
        assert proc.returncode == 0


def test_delete_no_wait(control_plane: Any) -> None:
    cp = control_plane
    with namespace(cp, "delnw") as ns:
        assert rayctl(cp, "apply", str(EXAMPLES / "hello.yaml"), "-n", ns).returncode == 0
        proc = rayctl(cp, "delete", "hello", "-n", ns, "-y", "--no-wait")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "rayservice.ray.io/hello deleted"
