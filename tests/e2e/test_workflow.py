"""The one workflow against a real API server: `validate --from-cluster` reads the CRDs the cluster serves,
`apply`/`diff` take `--profile` and report findings at the spec's own lines, and the CPU profile of a GPU example
schedules on the CPU pool (no GPU requests, selectors or tolerations)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rayctl.workflow import render_file

from .test_apply_helpers import EXAMPLES, cluster_pods, kget, kubectl, namespace, rayctl, wait_cluster_and_pods

pytestmark = pytest.mark.e2e


def test_validate_from_cluster_uses_the_served_crds(control_plane: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "rs.yaml"
    text = render_file(EXAMPLES / "hello.yaml").require_rendered().text
    manifest.write_text(text)
    # no CRD folder, no cache: a manifest cannot be valid unchecked ...
    offline = rayctl(control_plane, "validate", str(manifest), "--no-ray-schema", "--from-cluster")
    assert offline.returncode == 0, offline.stderr
    assert "CRD schema from the cluster at https://127.0.0.1:" in offline.stderr
    # ... and the served schema really is the one checked: an unknown field is an error from the cluster's CRD
    broken = tmp_path / "broken.yaml"
    rs = next(yaml.safe_load_all(text))
    rs["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["replica"] = 1
    broken.write_text(yaml.safe_dump(rs))
    rejected = rayctl(control_plane, "validate", str(broken), "--no-ray-schema", "--from-cluster")
    assert rejected.returncode == 3 and "did you mean 'replicas'" in rejected.stderr, rejected.stderr


def test_apply_findings_name_the_spec_line(control_plane: Any, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text((EXAMPLES / "llama-70b-tp4.yaml").read_text().replace("gpus: 4", "gpus: 2"))
    proc = rayctl(control_plane, "apply", str(spec), "-n", "default", "--dry-run=server")
    assert proc.returncode == 3, proc.stderr
    assert f"{spec}:" in proc.stderr and "STRICT_PACK" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cpu_profile_of_a_gpu_example_lands_on_the_cpu_pool(control_plane: Any) -> None:
    cp = control_plane
    with namespace(cp, "cpuprofile") as ns:
        try:
            diff = rayctl(cp, "diff", str(EXAMPLES / "llama-8b.yaml"), "-n", ns, "--profile", "cpu")
            assert diff.returncode == 1 and "create" in diff.stdout, diff.stderr
            proc = rayctl(cp, "apply", str(EXAMPLES / "llama-8b.yaml"), "-n", ns, "--profile", "cpu")
            assert proc.returncode == 0, proc.stderr
            cluster = wait_cluster_and_pods(cp, ns, "llama-8b")
            pods = cluster_pods(cp, ns, cluster["metadata"]["name"])
            for pod in pods:
                spec = pod["spec"]
                assert "nvidia.com/gpu" not in str(spec["containers"][0]["resources"])
                assert not any("gpu" in k for k in (spec.get("nodeSelector") or {}))
                node = kget(cp, "node", spec["nodeName"])
                assert node["metadata"]["labels"].get("rayctl.dev/pool") == "cpu", spec["nodeName"]
            again = rayctl(cp, "diff", str(EXAMPLES / "llama-8b.yaml"), "-n", ns, "--profile", "cpu")
            assert again.returncode == 0, again.stdout + again.stderr
            # the GPU rendering of the same spec is a change the planner classifies as a new cluster
            gpu = rayctl(cp, "diff", str(EXAMPLES / "llama-8b.yaml"), "-n", ns)
            assert gpu.returncode == 1 and "new_cluster" in gpu.stdout, gpu.stdout
        finally:
            kubectl(cp, "delete", "rayservice", "llama-8b", "-n", ns, "--wait=false", check=False)
