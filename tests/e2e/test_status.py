"""`rayctl status` reports what the cluster says (RayService conditions, RayClusters, pods, endpoint)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .test_apply_helpers import (
    EXAMPLES,
    cluster_pods,
    kget,
    load_example,
    namespace,
    rayctl,
    wait_cluster_and_pods,
    wait_for,
    write_spec,
)

pytestmark = pytest.mark.e2e


def test_status_matches_cluster(control_plane: Any, tmp_path: Path) -> None:
    cp = control_plane
    with namespace(cp, "status") as ns:
        # 3 GPU workers of 8 GPUs on 2 GPU nodes with 8 GPUs each: at most 2 run, at least 1 stays Pending
        spec = write_spec(
            tmp_path,
            load_example("llama-8b.yaml"),
            lambda s: s["workerGroups"][0].update(replicas=3, minReplicas=3, maxReplicas=3, gpus=8),
        )
        assert rayctl(cp, "apply", str(spec), "-n", ns).returncode == 0
        cluster = wait_cluster_and_pods(cp, ns, "llama-8b")
        cname = cluster["metadata"]["name"]
        group = cluster["spec"]["workerGroupSpecs"][0]["groupName"]

        def is_ready(p: dict[str, Any]) -> bool:
            return any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))

        def is_unschedulable(p: dict[str, Any]) -> bool:
            return any(
                c["type"] == "PodScheduled" and c["status"] == "False" for c in p["status"].get("conditions", [])
            )

        def settled() -> Any:
            """Every pod either Ready or marked unschedulable by the scheduler, and the operator has reported."""
            pods = cluster_pods(cp, ns, cname)
            rs = kget(cp, "rayservice", "llama-8b", "-n", ns)
            if not rs.get("status", {}).get("conditions") or len(pods) < 4:
                return None
            if not all(is_ready(p) or is_unschedulable(p) for p in pods):
                return None
            view = json.loads(rayctl(cp, "status", "llama-8b", "-n", ns, "-o", "json").stdout)
            return (view, pods, rs)

        view, pods, rs = wait_for(settled, timeout=90, what="pods Ready or unschedulable")
        # conditions are the RayService's own
        assert {c["type"]: c["status"] for c in view["conditions"]} == {
            c["type"]: c["status"] for c in rs["status"]["conditions"]
        }
        assert view["pendingCluster"] == rs["status"]["pendingServiceStatus"].get("rayClusterName") == cname
        assert view["activeCluster"] == (rs["status"].get("activeServiceStatus", {}).get("rayClusterName") or None)
        groups = {g["name"]: g for c in view["clusters"] for g in c["groups"]}
        workers = [p for p in pods if p["metadata"]["labels"]["ray.io/group"] == group]
        ready = [p for p in workers if is_ready(p)]
        unschedulable = sorted(p["metadata"]["name"] for p in workers if is_unschedulable(p))
        assert groups[group]["desired"] == 3 and groups[group]["pods"] == 3
        assert groups[group]["ready"] == len(ready) <= 2
        assert groups["headgroup"]["pods"] == 1
        assert len(unschedulable) >= 1
        assert sorted(p["pod"] for p in groups[group]["notReady"]) == unschedulable
        assert all("Insufficient nvidia.com/gpu" in p["reason"] for p in groups[group]["notReady"])
        # the human view says the same things
        text = rayctl(cp, "status", "llama-8b", "-n", ns).stdout
        assert f"pending {cname}" in text and f"{group}: {len(ready)}/3 ready, 3 pods" in text
        assert "Insufficient nvidia.com/gpu" in text
        assert "Ready=False" in text
        # yaml output parses to the same data
        as_yaml = yaml.safe_load(rayctl(cp, "status", "llama-8b", "-n", ns, "-o", "yaml").stdout)
        assert as_yaml["name"] == "llama-8b" and as_yaml["namespace"] == ns


def test_status_not_found_and_bad_output(control_plane: Any) -> None:
    cp = control_plane
    proc = rayctl(cp, "status", "does-not-exist", "-n", "default")
    assert proc.returncode == 7
    assert proc.stderr.strip() == "error: rayservice.ray.io/does-not-exist not found in namespace default"
    proc = rayctl(cp, "status", "x", "-o", "xml")
    assert proc.returncode == 2


def test_status_default_namespace_from_context(control_plane: Any, tmp_path: Path) -> None:
    """Without -n, status uses the kubeconfig context's namespace (kubectl convention)."""
    cp = control_plane
    with namespace(cp, "ctxns") as ns:
        assert rayctl(cp, "apply", str(EXAMPLES / "hello.yaml"), "-n", ns).returncode == 0
        cfg = yaml.safe_load(Path(cp.kubeconfig).read_text())
        for ctx in cfg["contexts"]:
            ctx["context"]["namespace"] = ns
        kc = tmp_path / "kubeconfig"
        kc.write_text(yaml.safe_dump(cfg))

        class CP:
            kubeconfig = kc

        proc = rayctl(CP, "status", "hello", "-o", "json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["namespace"] == ns
