"""The chart against the real control plane and KubeRay operator (kwok nodes): `helm install` builds the same
RayCluster as `rayctl apply`, a Serve-config-only `helm upgrade` keeps the cluster, `rayctl status` and `rayctl diff`
work on a Helm release, and the README's commands move a RayService between rayctl and Helm without a new cluster.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import skip_or_fail
from tests.helm.chart import CHART, Helm, go_yaml, parse_documents
from tests.helm.conftest import tool_paths

from .test_apply_helpers import (
    EXAMPLES,
    kget,
    kubectl,
    load_example,
    namespace,
    rayclusters,
    rayctl,
    wait_for,
    write_spec,
)

pytestmark = pytest.mark.e2e

HASH = "ray.io/hash-without-replicas-and-workers-to-delete"
SPEC_HASH = "rayctl.dev/spec-hash"
SETTLE_S = 12  # the operator requeues every 2 s; a change it acts on shows up well within this
EXAMPLE_FILES = sorted(p.name for p in EXAMPLES.glob("*.yaml"))


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    paths = tool_paths()
    if not paths["helm"].exists():
        skip_or_fail(f"helm not built ({paths['helm']}). Run: make helm-tools")
    home = tmp_path_factory.mktemp("helm-home")
    env = dict(os.environ)
    env.pop("KUBECONFIG", None)
    for var in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"):
        env[var] = str(home / var.lower())
    env["PATH"] = os.pathsep.join([str(paths["helm"].parent), str(Path(sys.executable).parent), env.get("PATH", "")])
    return Helm(paths["helm"], env)


def _helm(helm: Helm, cp: Any, *args: str) -> str:
    proc = helm.run(*args, "--kubeconfig", str(cp.kubeconfig), timeout=180)
    assert proc.returncode == 0, f"helm {' '.join(args)}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _spec(tmp_path: Path, example: str, name: str, **changes: Any) -> tuple[dict[str, Any], Path]:
    """The example without its namespace (the test's namespace holds it) and without `monitoring:` (the test control
    plane has no prometheus-operator CRDs for a PodMonitor or PrometheusRule; the pod templates keep their metrics
    ports and selector labels either way), as a spec file."""
    spec = load_example(example)
    spec.pop("namespace", None)
    spec.pop("monitoring", None)
    spec.update(changes)
    return spec, write_spec(tmp_path, spec, name=name)


def _cluster(cp: Any, ns: str, name: str) -> dict[str, Any]:
    [cluster] = wait_for(lambda: rayclusters(cp, ns, name) or None, timeout=90, what=f"the RayCluster of {ns}/{name}")
    return cluster


@pytest.mark.parametrize("example", EXAMPLE_FILES)
def test_helm_install_builds_the_same_raycluster_as_rayctl_apply(control_plane: Any, helm: Helm, tmp_path: Path,
                                                                 example: str) -> None:
    cp = control_plane
    spec, path = _spec(tmp_path, example, "spec.yaml")
    name = spec["name"]
    with namespace(cp, "apply") as by_rayctl, namespace(cp, "helm") as by_helm:
        assert rayctl(cp, "apply", str(path), "-n", by_rayctl).returncode == 0
        _helm(helm, cp, "install", name, str(CHART), "-f", str(path), "-n", by_helm)
        ours, theirs = _cluster(cp, by_rayctl, name), _cluster(cp, by_helm, name)
        assert theirs["metadata"]["annotations"][HASH] == ours["metadata"]["annotations"][HASH]
        assert theirs["spec"] == ours["spec"]
        service = kget(cp, "rayservice", name, "-n", by_helm)
        assert service["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert service["metadata"]["annotations"]["meta.helm.sh/release-name"] == name
        applied = kget(cp, "rayservice", name, "-n", by_rayctl)
        assert service["spec"]["rayClusterConfig"] == applied["spec"]["rayClusterConfig"]
        label = "rayctl.dev/spec-hash"
        assert service["metadata"]["labels"][label] == applied["metadata"]["labels"][label]


def _held_hello(tmp_path: Path, name: str, message: str) -> Path:
    """hello with its head pod kept Pending (no node matches): with a Ready head the operator would call the Ray
    dashboard, which does not exist on kwok nodes (see tests/e2e/test_diff.py)."""
    spec = load_example("hello.yaml")
    spec["head"] = {"nodeSelector": {"rayctl.dev/pool": "held"}}
    spec["serve"]["applications"][0]["message"] = message
    return write_spec(tmp_path, spec, name=name)


def test_helm_upgrade_of_serve_config_keeps_the_cluster(control_plane: Any, helm: Helm, tmp_path: Path) -> None:
    cp = control_plane
    with namespace(cp, "helmup") as ns:
        base = _held_hello(tmp_path, "base.yaml", "first")
        changed = _held_hello(tmp_path, "changed.yaml", "changed by helm upgrade")
        _helm(helm, cp, "install", "hello", str(CHART), "-f", str(base), "-n", ns)
        original = _cluster(cp, ns, "hello")
        plan = json.loads(rayctl(cp, "diff", str(changed), "-n", ns, "-o", "json").stdout)["plan"]
        assert plan["rollout"] == "in_place", plan
        _helm(helm, cp, "upgrade", "hello", str(CHART), "-f", str(changed), "-n", ns)
        service = kget(cp, "rayservice", "hello", "-n", ns)
        assert "changed by helm upgrade" in service["spec"]["serveConfigV2"]
        time.sleep(SETTLE_S)
        clusters = rayclusters(cp, ns, "hello")
        assert [c["metadata"]["name"] for c in clusters] == [original["metadata"]["name"]]
        assert clusters[0]["spec"] == original["spec"]
        assert clusters[0]["metadata"]["annotations"][HASH] == original["metadata"]["annotations"][HASH]


def test_rayctl_status_and_diff_on_a_helm_release(control_plane: Any, helm: Helm, tmp_path: Path) -> None:
    cp = control_plane
    with namespace(cp, "helmrd") as ns:
        spec = _held_hello(tmp_path, "spec.yaml", "hello")
        _helm(helm, cp, "install", "hello", str(CHART), "-f", str(spec), "-n", ns)
        cluster = _cluster(cp, ns, "hello")
        status = rayctl(cp, "status", "hello", "-n", ns, "-o", "json")
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert cluster["metadata"]["name"] in json.dumps(report)
        # rayctl sees who manages it (Helm set its label at install) and serveConfigV2's text: Helm's toYaml sorts
        # keys and does not indent lists, rayctl writes Serve's order. The data is the same (the spec-hash label,
        # computed over the parsed config, is equal); KubeRay compares the text, so a `rayctl apply` would resubmit
        # the identical Serve config, and the plan says no new cluster.
        diff = rayctl(cp, "diff", str(spec), "-n", ns, "-o", "json")
        assert diff.returncode == 1, diff.stdout + diff.stderr
        result = json.loads(diff.stdout)
        assert result["plan"]["new_cluster"] is False, result["plan"]
        text = result["objects"][0]["diff"]
        changed = [line for line in text.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        expected = ["+    app.kubernetes.io/managed-by: rayctl", "-    app.kubernetes.io/managed-by: Helm"]
        assert sorted(line for line in changed if "managed-by" in line) == expected, text
        assert not [line for line in changed if "spec-hash" in line], text
        live = kget(cp, "rayservice", "hello", "-n", ns)
        from rayctl.workflow import render_file

        rendered = render_file(spec).require_rendered().text
        [desired] = [d for d in parse_documents(rendered) if d["kind"] == "RayService"]
        assert go_yaml(live["spec"]["serveConfigV2"]) == go_yaml(desired["spec"]["serveConfigV2"])
        assert live["metadata"]["labels"][SPEC_HASH] == desired["metadata"]["labels"][SPEC_HASH]


def test_move_between_rayctl_and_helm_keeps_the_cluster(control_plane: Any, helm: Helm, tmp_path: Path) -> None:
    """The README's commands: `rayctl apply` -> `helm install --take-ownership --force-conflicts` -> drop the release
    record -> `rayctl apply --force-conflicts`; the RayCluster is never rebuilt."""
    cp = control_plane
    with namespace(cp, "helmmv") as ns:
        spec = _held_hello(tmp_path, "spec.yaml", "hello")
        assert rayctl(cp, "apply", str(spec), "-n", ns).returncode == 0
        original = _cluster(cp, ns, "hello")["metadata"]["name"]
        refused = helm.run("install", "hello", str(CHART), "-f", str(spec), "-n", ns, "--kubeconfig",
                           str(cp.kubeconfig))
        assert refused.returncode != 0 and "invalid ownership metadata" in refused.stderr, refused.stderr
        _helm(helm, cp, "install", "hello", str(CHART), "-f", str(spec), "-n", ns, "--take-ownership",
              "--force-conflicts")
        assert kget(cp, "rayservice", "hello", "-n", ns)["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        # and back: forget the release without deleting its objects, then rayctl takes the fields over
        kubectl(cp, "delete", "secret", "-n", ns, "-l", "owner=helm,name=hello")
        back = rayctl(cp, "apply", str(spec), "-n", ns, "--force-conflicts")
        assert back.returncode == 0, back.stderr
        kubectl(cp, "annotate", "rayservice", "hello", "-n", ns, "meta.helm.sh/release-name-",
                "meta.helm.sh/release-namespace-")
        service = kget(cp, "rayservice", "hello", "-n", ns)
        assert service["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "rayctl"
        assert not any(k.startswith("meta.helm.sh/") for k in service["metadata"].get("annotations") or {})
        assert rayctl(cp, "diff", str(spec), "-n", ns).returncode == 0
        time.sleep(SETTLE_S)
        assert [c["metadata"]["name"] for c in rayclusters(cp, ns, "hello")] == [original]
