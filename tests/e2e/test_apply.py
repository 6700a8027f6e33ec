"""`rayctl apply` against the real control plane + KubeRay operator (kwok nodes).

Each example is applied; the operator must create the RayCluster and the head/worker pods with the GPU requests,
node selectors, tolerations and rayStartParams of the rendered RayService, and the scheduler must put GPU workers
on the GPU pool. Also: apply twice -> unchanged, server dry-run, conflicts with another field manager, --wait
timeout diagnosis.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .test_apply_helpers import (
    EXAMPLES,
    cluster_pods,
    kget,
    kubectl,
    load_example,
    namespace,
    rayctl,
    wait_cluster_and_pods,
    write_spec,
)

pytestmark = pytest.mark.e2e

EXAMPLE_FILES = sorted(p.name for p in EXAMPLES.glob("*.yaml"))


def _gpus(resources: dict[str, Any]) -> str | None:
    for section in ("limits", "requests"):
        value = (resources.get(section) or {}).get("nvidia.com/gpu")
        if value is not None:
            return str(value)
    return None


@pytest.mark.parametrize("example", EXAMPLE_FILES)
def test_apply_example_creates_cluster_and_pods(control_plane: Any, example: str) -> None:
    cp = control_plane
    name = load_example(example)["name"]
    with namespace(cp, "apply") as ns:
        proc = rayctl(cp, "apply", str(EXAMPLES / example), "-n", ns)
        assert proc.returncode == 0, proc.stderr
        assert f"rayservice.ray.io/{name} created" in proc.stdout
        assert "Traceback" not in proc.stderr

        rs = kget(cp, "rayservice", name, "-n", ns)
        cluster = wait_cluster_and_pods(cp, ns, name)
        cname = cluster["metadata"]["name"]
        assert cluster["metadata"]["ownerReferences"][0]["name"] == name
        pods = cluster_pods(cp, ns, cname)

        cfg = rs["spec"]["rayClusterConfig"]
        groups = {"headgroup": cfg["headGroupSpec"]} | {g["groupName"]: g for g in cfg["workerGroupSpecs"]}
        for pod in pods:
            group = groups[pod["metadata"]["labels"]["ray.io/group"]]
            want_spec = group["template"]["spec"]
            want = want_spec["containers"][0]
            got = pod["spec"]["containers"][0]
            # GPU requests / limits, CPU and memory as rendered
            assert _gpus(got.get("resources") or {}) == _gpus(want.get("resources") or {}), pod["metadata"]["name"]
            for section in ("requests", "limits"):
                for key, value in (want.get("resources", {}).get(section) or {}).items():
                    assert str(got["resources"][section][key]) == str(value), (pod["metadata"]["name"], key)
            # node selectors and tolerations as rendered
            assert (pod["spec"].get("nodeSelector") or {}) == (want_spec.get("nodeSelector") or {})
            for tol in want_spec.get("tolerations") or []:
                assert tol in pod["spec"]["tolerations"], (pod["metadata"]["name"], tol)
            # rayStartParams end up on `ray start`
            command = " ".join((got.get("command") or []) + (got.get("args") or []))
            for key, value in (group.get("rayStartParams") or {}).items():
                assert f"--{key}={value}" in command or f"--{key}='{value}'" in command, (key, command)
            gpus = _gpus(want.get("resources") or {})
            if gpus and gpus != "0":
                assert f"--num-gpus={gpus}" in command
            # scheduled by the real scheduler; GPU workers only on the GPU pool
            node = pod["spec"].get("nodeName")
            assert node, f"{pod['metadata']['name']} not scheduled: {pod.get('status')}"
            if gpus and gpus != "0":
                assert node.startswith("kwok-gpu-"), (pod["metadata"]["name"], node)
                labels = kget(cp, "node", node)["metadata"]["labels"]
                assert labels["nvidia.com/gpu.present"] == "true"


def test_apply_twice_is_unchanged(control_plane: Any) -> None:
    cp = control_plane
    with namespace(cp, "twice") as ns:
        spec = str(EXAMPLES / "hello.yaml")
        first = rayctl(cp, "apply", spec, "-n", ns)
        assert first.returncode == 0 and "rayservice.ray.io/hello created" in first.stdout, first.stderr
        before = kget(cp, "rayservice", "hello", "-n", ns)
        # also after the operator has reconciled it (it adds its finalizer with a full update)
        wait_cluster_and_pods(cp, ns, "hello")
        second = rayctl(cp, "apply", spec, "-n", ns)
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == "rayservice.ray.io/hello unchanged"
        after = kget(cp, "rayservice", "hello", "-n", ns)
        assert after["metadata"]["generation"] == before["metadata"]["generation"]
        # -o json gives the object on stdout, the result line on stderr
        third = rayctl(cp, "apply", spec, "-n", ns, "-o", "json")
        assert third.returncode == 0
        assert json.loads(third.stdout)["metadata"]["name"] == "hello"
        assert "rayservice.ray.io/hello unchanged" in third.stderr


def test_dry_run_server_is_not_persisted(control_plane: Any) -> None:
    cp = control_plane
    ns = f"dry-{__import__('uuid').uuid4().hex[:6]}"
    proc = rayctl(cp, "apply", str(EXAMPLES / "hello.yaml"), "-n", ns, "--dry-run=server")
    assert proc.returncode == 7, proc.stderr
    assert "namespace" in proc.stderr and "--create-namespace" in proc.stderr
    proc = rayctl(cp, "apply", str(EXAMPLES / "hello.yaml"), "-n", ns, "--dry-run=server", "--create-namespace")
    assert proc.returncode == 0, proc.stderr
    assert f"namespace/{ns} created (server dry run)" in proc.stdout
    assert kubectl(cp, "get", "namespace", ns, check=False).returncode != 0
    with namespace(cp, "dry") as ns2:
        proc = rayctl(cp, "apply", str(EXAMPLES / "hello.yaml"), "-n", ns2, "--dry-run=server")
        assert proc.returncode == 0, proc.stderr
        assert "rayservice.ray.io/hello created (server dry run)" in proc.stdout
        assert kget(cp, "rayservices", "-n", ns2)["items"] == []


def test_conflict_with_other_field_manager_is_refused(control_plane: Any, tmp_path: Path) -> None:
    cp = control_plane
    with namespace(cp, "conflict") as ns:
        spec = str(EXAMPLES / "hello.yaml")
        assert rayctl(cp, "apply", spec, "-n", ns).returncode == 0
        other = {
            "apiVersion": "ray.io/v1",
            "kind": "RayService",
            "metadata": {"name": "hello", "namespace": ns},
            "spec": {"upgradeStrategy": {"type": "None"}},
        }
        kubectl(
            cp,
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            "-",
            stdin=json.dumps(other),
        )
        proc = rayctl(cp, "apply", spec, "-n", ns)
        assert proc.returncode == 5, proc.stderr
        assert ".spec.upgradeStrategy.type is owned by field manager 'other'" in proc.stderr
        assert "--force-conflicts" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert kget(cp, "rayservice", "hello", "-n", ns)["spec"]["upgradeStrategy"]["type"] == "None"
        forced = rayctl(cp, "apply", spec, "-n", ns, "--force-conflicts")
        assert forced.returncode == 0, forced.stderr
        assert "rayservice.ray.io/hello configured" in forced.stdout
        assert kget(cp, "rayservice", "hello", "-n", ns)["spec"]["upgradeStrategy"]["type"] == "NewCluster"


def test_wait_timeout_prints_diagnosis(control_plane: Any, tmp_path: Path) -> None:
    """No Ray runs on kwok nodes, so the RayService never gets Ready: --wait must time out with exit 6 and a
    diagnosis (here: the GPU worker that cannot be scheduled because it asks for more GPUs than a node has)."""
    cp = control_plane
    with namespace(cp, "wait") as ns:
        spec = write_spec(
            tmp_path, load_example("llama-8b.yaml"), lambda s: s["workerGroups"][0].__setitem__("gpus", 16)
        )
        proc = rayctl(cp, "apply", str(spec), "-n", ns, "--wait", "--timeout", "15s", timeout=120)
        assert proc.returncode == 6, proc.stderr
        assert "was not Ready after 15s" in proc.stderr
        assert "diagnosis:" in proc.stderr and "Ready=False" in proc.stderr
        assert "Insufficient nvidia.com/gpu" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_unreachable_cluster_is_one_line(control_plane: Any, tmp_path: Path) -> None:
    cfg = Path(control_plane.kubeconfig).read_text()
    import re

    bad = tmp_path / "kubeconfig"
    bad.write_text(re.sub(r"server: https://127\.0\.0\.1:\d+", "server: https://127.0.0.1:1", cfg))

    class CP:
        kubeconfig = bad

    proc = rayctl(CP, "apply", str(EXAMPLES / "hello.yaml"))
    assert proc.returncode == 4
    assert "cannot reach the API server at https://127.0.0.1:1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_401_and_403_are_one_line(control_plane: Any, tmp_path: Path) -> None:
    """Expired/invalid credentials (401) and missing RBAC (403) end as one-line errors with the server's reason."""
    import yaml

    cp = control_plane
    with namespace(cp, "rbac") as ns:
        kubectl(cp, "-n", ns, "create", "serviceaccount", "bob")
        token = kubectl(cp, "-n", ns, "create", "token", "bob").stdout.strip()
        cfg = yaml.safe_load(Path(cp.kubeconfig).read_text())
        server = cfg["clusters"][0]["cluster"]["server"]
        users = {"bob": token, "expired": "not-a-valid-token"}
        for user, tok in users.items():
            kc = tmp_path / f"{user}.kubeconfig"
            kc.write_text(
                yaml.safe_dump(
                    {
                        "apiVersion": "v1",
                        "kind": "Config",
                        "current-context": user,
                        "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
                        "users": [{"name": user, "user": {"token": tok}}],
                        "contexts": [{"name": user, "context": {"cluster": "c", "user": user, "namespace": ns}}],
                    }
                )
            )

        class Bob:
            kubeconfig = tmp_path / "bob.kubeconfig"

        class Expired:
            kubeconfig = tmp_path / "expired.kubeconfig"

        proc = rayctl(Bob, "apply", str(EXAMPLES / "hello.yaml"))
        assert proc.returncode == 4, proc.stderr
        assert "forbidden (403)" in proc.stderr and f"system:serviceaccount:{ns}:bob" in proc.stderr
        assert "Traceback" not in proc.stderr
        proc = rayctl(Bob, "status", "hello")
        assert proc.returncode == 4 and "forbidden (403)" in proc.stderr
        proc = rayctl(Expired, "apply", str(EXAMPLES / "hello.yaml"))
        assert proc.returncode == 4, proc.stderr
        assert "401 Unauthorized" in proc.stderr and "credentials" in proc.stderr
        assert "Traceback" not in proc.stderr
