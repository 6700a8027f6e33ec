"""`rayctl diff`: the upgrade planner's prediction must match what the real KubeRay operator does.

For each classification: apply a baseline, let the operator build its RayCluster, ask `rayctl diff -o json` for the
plan of a change, apply the change, then observe whether the operator really creates a new RayCluster (or updates
the existing one in place, or ignores the change).

No Ray runs on kwok nodes, so the first RayCluster stays the *pending* one (its Serve apps never get RUNNING); the
operator compares changes with that cluster exactly as it would with an active one (shouldPrepareNewCluster /
shouldUpdateCluster take the pending cluster when there is one). The baseline keeps the head pod Pending (a
nodeSelector no node matches, like a cluster waiting for capacity): with a Ready head the operator would call the
Ray dashboard, which does not exist here, and its reconcile would stop with an error before it gets to decide
about a new cluster.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .test_apply_helpers import (
    cluster_pods,
    kubectl,
    load_example,
    namespace,
    rayclusters,
    rayctl,
    wait_cluster_and_pods,
    wait_for,
    write_spec,
)

pytestmark = pytest.mark.e2e

SETTLE_S = 12  # the operator requeues every 2 s; a change it acts on shows up well within this


def _set_message(s: dict[str, Any]) -> None:
    s["serve"]["applications"][0]["message"] = "changed by the diff e2e test"


def _replicas(s: dict[str, Any]) -> None:
    s["workerGroups"][0]["replicas"] = 2


def _cpu(s: dict[str, Any]) -> None:
    s["workerGroups"][0]["cpu"] = 3


EXTRA_GROUP = {"name": "extra", "replicas": 1, "minReplicas": 1, "maxReplicas": 1, "cpu": 1, "memory": "2Gi"}


def _append(s: dict[str, Any]) -> None:
    s["workerGroups"].append(dict(EXTRA_GROUP))


def _prepend(s: dict[str, Any]) -> None:
    s["workerGroups"].insert(0, dict(EXTRA_GROUP))


def _strategy_none(s: dict[str, Any]) -> None:
    s["upgradeStrategy"] = {"type": "None"}


# id, baseline mutation, change, expected rollout, expected action kinds (subset), operator makes a new cluster?
CASES: list[
    tuple[str, Callable[[dict[str, Any]], None] | None, Callable[[dict[str, Any]], None], str, list[str], bool]
] = [
    ("serve-config-only", None, _set_message, "in_place", ["serve_config_in_place"], False),
    ("replicas-only", None, _replicas, "not_rolled_out", ["replicas_not_propagated"], False),
    ("cluster-config", None, _cpu, "new_cluster", ["new_cluster"], True),
    ("cluster-config-strategy-none", _strategy_none, _cpu, "not_rolled_out", ["cluster_change_not_rolled_out"], False),
    ("worker-group-appended", None, _append, "in_place", ["worker_groups_appended"], False),
    ("worker-group-prepended", None, _prepend, "new_cluster", ["new_cluster"], True),
]


@pytest.mark.parametrize(
    ("case", "baseline", "change", "rollout", "kinds", "new_cluster"), CASES, ids=[c[0] for c in CASES]
)
def test_prediction_matches_operator(
    control_plane: Any,
    tmp_path: Path,
    case: str,
    baseline: Callable[[dict[str, Any]], None] | None,
    change: Callable[[dict[str, Any]], None],
    rollout: str,
    kinds: list[str],
    new_cluster: bool,
) -> None:
    cp = control_plane
    with namespace(cp, "diff") as ns:
        base = load_example("hello.yaml")
        base.setdefault("head", {})["nodeSelector"] = {"rayctl.dev/pool": "held"}
        if baseline is not None:
            baseline(base)
        base_path = write_spec(tmp_path, base, name="base.yaml")
        changed_path = write_spec(tmp_path, base, change, name="changed.yaml")

        # nothing there yet: diff says create, exit 1
        proc = rayctl(cp, "diff", str(base_path), "-n", ns, "-o", "json")
        assert proc.returncode == 1, proc.stderr
        assert json.loads(proc.stdout)["plan"]["rollout"] == "create"

        assert rayctl(cp, "apply", str(base_path), "-n", ns).returncode == 0
        original = wait_cluster_and_pods(cp, ns, "hello")
        original_name = original["metadata"]["name"]

        # no change: exit 0
        proc = rayctl(cp, "diff", str(base_path), "-n", ns)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "no changes" in proc.stdout

        # the prediction
        proc = rayctl(cp, "diff", str(changed_path), "-n", ns, "-o", "json")
        assert proc.returncode == 1, proc.stderr
        report = json.loads(proc.stdout)
        plan = report["plan"]
        assert plan["rollout"] == rollout, plan
        assert [a["kind"] for a in plan["actions"] if a["kind"] in kinds] == kinds, plan
        assert plan["new_cluster"] is new_cluster, plan
        assert report["objects"][0]["diff"].startswith("--- live/rayservice/hello")
        human = rayctl(cp, "diff", str(changed_path), "-n", ns)
        assert human.returncode == 1 and f"plan for rayservice {ns}/hello: {rollout}" in human.stdout

        # what the operator really does
        applied = rayctl(cp, "apply", str(changed_path), "-n", ns)
        assert applied.returncode == 0, applied.stderr
        assert "rayservice.ray.io/hello configured" in applied.stdout
        if new_cluster:
            fresh = wait_for(
                lambda: [c for c in rayclusters(cp, ns, "hello") if c["metadata"]["name"] != original_name],
                timeout=60,
                what="a new RayCluster",
            )
            assert len(fresh) == 1
        else:
            time.sleep(SETTLE_S)
            names = sorted(c["metadata"]["name"] for c in rayclusters(cp, ns, "hello"))
            assert names == [original_name], f"{case}: the operator created a new cluster: {names}"
            now = rayclusters(cp, ns, "hello")[0]
            groups = now["spec"]["workerGroupSpecs"]
            if case == "replicas-only":
                assert groups[0]["replicas"] == 1, "the operator propagated replicas after all"

                def group_pods() -> list[dict[str, Any]]:
                    return [
                        p
                        for p in cluster_pods(cp, ns, original_name)
                        if p["metadata"]["labels"].get("ray.io/group") == groups[0]["groupName"]
                    ]

                assert len(group_pods()) == 1
                # the plan's remedy works: patch the running RayCluster with the command it prints
                [remedy] = [d for d in plan["actions"][0]["details"] if d.startswith("to apply it now")]
                command = remedy.split(": ", 1)[1].split(" (the RayService")[0]
                args = shlex.split(command)
                assert args[:4] == ["kubectl", "-n", ns, "patch"] and args[5] == original_name
                kubectl(cp, *args[1:])
                wait_for(lambda: len(group_pods()) == 2, timeout=30, what="the patched group to scale to 2")
                time.sleep(SETTLE_S)  # and the operator leaves the patched cluster alone
                assert rayclusters(cp, ns, "hello")[0]["spec"]["workerGroupSpecs"][0]["replicas"] == 2
                assert len(group_pods()) == 2
            elif case == "worker-group-appended":
                assert [g["groupName"] for g in groups] == ["cpu", "extra"], "not updated in place"
                wait_for(
                    lambda: [
                        p
                        for p in cluster_pods(cp, ns, original_name)
                        if p["metadata"]["labels"].get("ray.io/group") == "extra"
                    ],
                    timeout=30,
                    what="the appended group's pod",
                )
            elif case == "cluster-config-strategy-none":
                cpu = groups[0]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
                assert str(cpu) == "2", "the change was rolled out after all"
            else:
                assert now["spec"] == original["spec"], "the RayCluster changed"
        # and the diff is clean again afterwards
        proc = rayctl(cp, "diff", str(changed_path), "-n", ns)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_diff_errors_exit_ge_2(control_plane: Any, tmp_path: Path) -> None:
    cp = control_plane
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nserve: {applications: [{name: a, type: nope}]}\n")
    proc = rayctl(cp, "diff", str(bad))
    assert proc.returncode >= 2 and "Traceback" not in proc.stderr


def test_blue_green_extra_gpus_match_new_cluster(control_plane: Any, tmp_path: Path) -> None:
    """The extra pods/GPUs the plan announces for a blue/green upgrade are what the new RayCluster asks for."""
    cp = control_plane
    with namespace(cp, "bluegreen") as ns:
        base = load_example("llama-8b.yaml")
        base.setdefault("head", {})["nodeSelector"] = {"rayctl.dev/pool": "held"}  # see the module docstring
        base_path = write_spec(tmp_path, base, name="base.yaml")
        changed_path = write_spec(
            tmp_path, base, lambda s: s["workerGroups"][0].update(gpus=2, replicas=2), name="changed.yaml"
        )
        assert rayctl(cp, "apply", str(base_path), "-n", ns).returncode == 0
        original = wait_cluster_and_pods(cp, ns, "llama-8b")["metadata"]["name"]
        proc = rayctl(cp, "diff", str(changed_path), "-n", ns, "-o", "json")
        assert proc.returncode == 1, proc.stderr
        plan = json.loads(proc.stdout)["plan"]
        assert plan["rollout"] == "new_cluster" and plan["new_cluster"] is True
        extra = plan["extra_resources"]
        assert (extra["pods"], extra["gpus"]) == (3, 4)  # head + 2 workers x 2 GPUs
        human = rayctl(cp, "diff", str(changed_path), "-n", ns).stdout
        assert "the new one needs 3 pods, 4 GPUs" in human

        assert rayctl(cp, "apply", str(changed_path), "-n", ns).returncode == 0
        [fresh] = wait_for(
            lambda: [c for c in rayclusters(cp, ns, "llama-8b") if c["metadata"]["name"] != original],
            timeout=60,
            what="the new RayCluster",
        )

        def new_pods() -> list[dict[str, Any]] | None:
            pods = cluster_pods(cp, ns, fresh["metadata"]["name"])
            return pods if len(pods) >= 3 else None

        pods = wait_for(new_pods, timeout=60, what="the new cluster's pods")
        gpus = sum(
            int(c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu", 0))
            for p in pods
            for c in p["spec"]["containers"]
        )
        assert (len(pods), gpus) == (extra["pods"], extra["gpus"])
        # both clusters exist at the same time (the old one is only deleted after the switch)
        assert {c["metadata"]["name"] for c in rayclusters(cp, ns, "llama-8b")} >= {original}
