"""Helpers shared by the rayctl cluster-command e2e tests (apply/status/diff/delete). No tests here."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml

from rayctl.render.yamlout import dump_yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "manifests" / "examples"
T = TypeVar("T")


def rayctl(cp: Any, *args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `python -m rayctl ARGS --kubeconfig CP` (stdin is not a TTY)."""
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "rayctl", *args, "--kubeconfig", str(cp.kubeconfig)],
        capture_output=True,
        text=True,
        input=stdin if stdin is not None else "",
        timeout=timeout,
        cwd=REPO,
        env=env,
    )


def kubectl(cp: Any, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    kubectl_bin = os.environ.get("KUBECTL", "kubectl")
    proc = subprocess.run(
        [kubectl_bin, "--kubeconfig", str(cp.kubeconfig), *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr}")
    return proc


def kget(cp: Any, *args: str) -> Any:
    return json.loads(kubectl(cp, "get", *args, "-o", "json").stdout)


@contextlib.contextmanager
def namespace(cp: Any, prefix: str) -> Iterator[str]:
    """A new namespace `<prefix>-<random>` for one test, deleted afterwards (pass or fail) with a wait, so the next
    test finds the (small) kwok node pools free again."""
    ns = f"{prefix}-{uuid.uuid4().hex[:6]}"
    kubectl(cp, "create", "namespace", ns)
    try:
        yield ns
    finally:
        kubectl(cp, "delete", "namespace", ns, "--wait=true", "--timeout=90s", check=False)


def load_example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return data


def write_spec(
    tmp_path: Path,
    spec: dict[str, Any],
    mutate: Callable[[dict[str, Any]], object] | None = None,
    name: str = "spec.yaml",
) -> Path:
    data = copy.deepcopy(spec)
    if mutate is not None:
        mutate(data)
    path = tmp_path / name
    path.write_text(dump_yaml(data))  # quotes what go-yaml (Helm) would read as another type
    return path


def wait_for(fn: Callable[[], T | None], *, timeout: float = 60, interval: float = 0.5, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or fn}: last={last!r}")


def rayclusters(cp: Any, ns: str, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kget(cp, "rayclusters", "-n", ns, "-l", f"ray.io/originated-from-cr-name={name}")[
        "items"
    ]
    return [c for c in items if not c["metadata"].get("deletionTimestamp")]


def cluster_pods(cp: Any, ns: str, cluster: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kget(cp, "pods", "-n", ns, "-l", f"ray.io/cluster={cluster}")["items"]
    return items


def expected_pods(cluster: dict[str, Any]) -> int:
    return 1 + sum(
        int(g.get("replicas", g.get("minReplicas", 0)) or 0) * int(g.get("numOfHosts", 1) or 1)
        for g in cluster["spec"].get("workerGroupSpecs") or []
    )


def wait_cluster_and_pods(cp: Any, ns: str, name: str, timeout: float = 90) -> dict[str, Any]:
    """Wait until the operator created the RayCluster and all its pods; returns the RayCluster."""

    def ready() -> dict[str, Any] | None:
        found = rayclusters(cp, ns, name)
        if len(found) != 1:
            return None
        pods = cluster_pods(cp, ns, found[0]["metadata"]["name"])
        return found[0] if len(pods) >= expected_pods(found[0]) else None

    return wait_for(ready, timeout=timeout, what=f"RayCluster and pods of {ns}/{name}")
