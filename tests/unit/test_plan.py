"""Table-driven tests of the pure upgrade planner (rayctl.plan) against KubeRay v1.7.0's rules."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from rayctl.plan import (
    ROLLOUT_CREATE,
    ROLLOUT_IN_PLACE,
    ROLLOUT_INCREMENTAL,
    ROLLOUT_NEW_CLUSTER,
    ROLLOUT_NO_EFFECT,
    ROLLOUT_NONE,
    ROLLOUT_NOT_ROLLED_OUT,
    cluster_resources,
    format_plan,
    hash_view,
    plan_rayservice,
    unified_diff,
)

SERVE = "applications:\n- name: hello\n  import_path: serve_apps.hello:app_builder\n  route_prefix: /hello\n"


def gpu_group(name: str = "gpu", replicas: int = 2, gpus: int = 1) -> dict[str, Any]:
    return {
        "groupName": name,
        "replicas": replicas,
        "minReplicas": replicas,
        "maxReplicas": replicas + 2,
        "numOfHosts": 1,
        "rayStartParams": {},
        "template": {
            "spec": {
                "nodeSelector": {"nvidia.com/gpu.present": "true"},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                "containers": [
                    {
                        "name": "ray-worker",
                        "image": "rayproject/ray:2.60.0-py311-gpu",
                        "resources": {
                            "requests": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": str(gpus)},
                            "limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": str(gpus)},
                        },
                    }
                ],
            }
        },
    }


def base(strategy: str | None = "NewCluster") -> dict[str, Any]:
    rs: dict[str, Any] = {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": "llm", "namespace": "ml", "labels": {"app.kubernetes.io/managed-by": "rayctl"}},
        "spec": {
            "serveConfigV2": SERVE,
            "rayClusterConfig": {
                "rayVersion": "2.60.0",
                "headGroupSpec": {
                    "rayStartParams": {"num-cpus": "0"},
                    "template": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "ray-head",
                                    "image": "rayproject/ray:2.60.0-py311",
                                    "resources": {"requests": {"cpu": "4", "memory": "16Gi"}},
                                }
                            ]
                        }
                    },
                },
                "workerGroupSpecs": [gpu_group()],
            },
        },
        "status": {
            "activeServiceStatus": {"rayClusterName": "llm-abcde"},
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "UpgradeInProgress", "status": "False"},
            ],
        },
    }
    if strategy is not None:
        rs["spec"]["upgradeStrategy"] = {"type": strategy}
    return rs


def edit(fn: Callable[[dict[str, Any]], object], strategy: str | None = "NewCluster") -> dict[str, Any]:
    rs = base(strategy)
    rs.pop("status")
    fn(rs)
    return rs


def wg(rs: dict[str, Any], i: int = 0) -> dict[str, Any]:
    group: dict[str, Any] = rs["spec"]["rayClusterConfig"]["workerGroupSpecs"][i]
    return group


def container(group: dict[str, Any]) -> dict[str, Any]:
    c: dict[str, Any] = group["template"]["spec"]["containers"][0]
    return c


CASES: list[tuple[str, Callable[[dict[str, Any]], object], str | None, str, list[str], bool]] = [
    # id, edit, strategy, rollout, action kinds, new cluster?
    ("no-change", lambda rs: None, "NewCluster", ROLLOUT_NONE, [], False),
    (
        "serve-only",
        lambda rs: rs["spec"].__setitem__("serveConfigV2", SERVE.replace("/hello", "/hi")),
        "NewCluster",
        ROLLOUT_IN_PLACE,
        ["serve_config_in_place"],
        False,
    ),
    (
        "serve-only-strategy-none",
        lambda rs: rs["spec"].__setitem__("serveConfigV2", SERVE.replace("/hello", "/hi")),
        "None",
        ROLLOUT_IN_PLACE,
        ["serve_config_in_place"],
        False,
    ),
    (
        "image-change",
        lambda rs: container(wg(rs)).__setitem__("image", "rayproject/ray:2.61.0-py311-gpu"),
        "NewCluster",
        ROLLOUT_NEW_CLUSTER,
        ["new_cluster"],
        True,
    ),
    (
        "image-change-unset-strategy",
        lambda rs: container(wg(rs)).__setitem__("image", "rayproject/ray:2.61.0-py311-gpu"),
        None,
        ROLLOUT_NEW_CLUSTER,
        ["new_cluster"],
        True,
    ),
    (
        "image-change-strategy-none",
        lambda rs: container(wg(rs)).__setitem__("image", "rayproject/ray:2.61.0-py311-gpu"),
        "None",
        ROLLOUT_NOT_ROLLED_OUT,
        ["cluster_change_not_rolled_out"],
        False,
    ),
    (
        "image-change-incremental",
        lambda rs: container(wg(rs)).__setitem__("image", "rayproject/ray:2.61.0-py311-gpu"),
        "NewClusterWithIncrementalUpgrade",
        ROLLOUT_INCREMENTAL,
        ["new_cluster_incremental"],
        True,
    ),
    (
        "rayStartParams-change",
        lambda rs: wg(rs).__setitem__("rayStartParams", {"num-gpus": "1"}),
        "NewCluster",
        ROLLOUT_NEW_CLUSTER,
        ["new_cluster"],
        True,
    ),
    (
        "head-resources-change",
        lambda rs: rs["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"][
            "requests"
        ].__setitem__("cpu", "8"),
        "NewCluster",
        ROLLOUT_NEW_CLUSTER,
        ["new_cluster"],
        True,
    ),
    (
        "replicas-only",
        lambda rs: wg(rs).__setitem__("replicas", 3),
        "NewCluster",
        ROLLOUT_NOT_ROLLED_OUT,
        ["replicas_not_propagated"],
        False,
    ),
    (
        "min-max-only",
        lambda rs: (wg(rs).__setitem__("minReplicas", 1), wg(rs).__setitem__("maxReplicas", 8)),
        "NewCluster",
        ROLLOUT_NOT_ROLLED_OUT,
        ["replicas_not_propagated"],
        False,
    ),
    (
        "replicas-and-serve",
        lambda rs: (
            wg(rs).__setitem__("replicas", 3),
            rs["spec"].__setitem__("serveConfigV2", SERVE + "proxy_location: EveryNode\n"),
        ),
        "NewCluster",
        ROLLOUT_IN_PLACE,
        ["replicas_not_propagated", "serve_config_in_place"],
        False,
    ),
    (
        "group-appended",
        lambda rs: rs["spec"]["rayClusterConfig"]["workerGroupSpecs"].append(gpu_group("gpu2", 1)),
        "NewCluster",
        ROLLOUT_IN_PLACE,
        ["worker_groups_appended"],
        False,
    ),
    (
        "group-appended-strategy-none",
        lambda rs: rs["spec"]["rayClusterConfig"]["workerGroupSpecs"].append(gpu_group("gpu2", 1)),
        "None",
        ROLLOUT_IN_PLACE,
        ["worker_groups_appended"],
        False,
    ),
    (
        "group-appended-and-replicas",
        lambda rs: (
            rs["spec"]["rayClusterConfig"]["workerGroupSpecs"].append(gpu_group("gpu2", 1)),
            wg(rs).__setitem__("replicas", 3),
        ),
        "NewCluster",
        ROLLOUT_IN_PLACE,
        ["worker_groups_appended"],
        False,
    ),
    (
        "group-prepended",
        lambda rs: rs["spec"]["rayClusterConfig"]["workerGroupSpecs"].insert(0, gpu_group("gpu0", 1)),
        "NewCluster",
        ROLLOUT_NEW_CLUSTER,
        ["new_cluster"],
        True,
    ),
    (
        "group-appended-and-image",
        lambda rs: (
            rs["spec"]["rayClusterConfig"]["workerGroupSpecs"].append(gpu_group("gpu2", 1)),
            container(wg(rs)).__setitem__("image", "x"),
        ),
        "NewCluster",
        ROLLOUT_NEW_CLUSTER,
        ["new_cluster"],
        True,
    ),
    (
        "group-removed",
        lambda rs: rs["spec"]["rayClusterConfig"].__setitem__("workerGroupSpecs", []),
        "NewCluster",
        ROLLOUT_NEW_CLUSTER,
        ["new_cluster"],
        True,
    ),
    (
        "labels-only",
        lambda rs: rs["metadata"]["labels"].__setitem__("rayctl.dev/spec-hash", "abc"),
        "NewCluster",
        ROLLOUT_NO_EFFECT,
        ["metadata_only"],
        False,
    ),
    (
        "deletion-delay",
        lambda rs: rs["spec"].__setitem__("rayClusterDeletionDelaySeconds", 5),
        "NewCluster",
        ROLLOUT_IN_PLACE,
        ["rayservice_settings"],
        False,
    ),
    (
        "strategy-change-only",
        lambda rs: rs["spec"].__setitem__("upgradeStrategy", {"type": "None"}),
        "NewCluster",
        ROLLOUT_IN_PLACE,
        ["rayservice_settings"],
        False,
    ),
    (
        "image-and-serve",
        lambda rs: (
            container(wg(rs)).__setitem__("image", "y"),
            rs["spec"].__setitem__("serveConfigV2", SERVE.replace("/hello", "/x")),
        ),
        "NewCluster",
        ROLLOUT_NEW_CLUSTER,
        ["new_cluster", "serve_config_in_place"],
        True,
    ),
    (
        "workersToDelete-only",
        lambda rs: wg(rs).__setitem__("scaleStrategy", {"workersToDelete": ["pod-1"]}),
        "NewCluster",
        ROLLOUT_NONE,
        [],
        False,
    ),
]


@pytest.mark.parametrize(
    ("case", "fn", "strategy", "rollout", "kinds", "new_cluster"), CASES, ids=[c[0] for c in CASES]
)
def test_classification(
    case: str,
    fn: Callable[[dict[str, Any]], object],
    strategy: str | None,
    rollout: str,
    kinds: list[str],
    new_cluster: bool,
) -> None:
    live = base(strategy)
    desired = edit(fn, strategy)
    plan = plan_rayservice(live, desired)
    assert plan.rollout == rollout, format_plan(plan)
    assert [a.kind for a in plan.actions] == kinds, format_plan(plan)
    assert plan.new_cluster is new_cluster
    assert plan.exists
    assert format_plan(plan)  # renders
    assert plan.to_dict()["rollout"] == rollout


def test_create() -> None:
    desired = edit(lambda rs: None)
    plan = plan_rayservice(None, desired)
    assert plan.rollout == ROLLOUT_CREATE and plan.new_cluster and not plan.exists
    assert plan.extra_resources is not None
    assert plan.extra_resources.pods == 3 and plan.extra_resources.gpus == 2


def test_blue_green_extra_resources() -> None:
    desired = edit(lambda rs: (container(wg(rs)).__setitem__("image", "z"), wg(rs).__setitem__("replicas", 4)))
    plan = plan_rayservice(base(), desired)
    assert plan.extra_resources is not None
    # head (0 GPUs) + 4 workers x 1 GPU: the new cluster is built with the new replicas
    assert plan.extra_resources.pods == 5
    assert plan.extra_resources.gpus == 4
    text = format_plan(plan)
    assert "5 pods, 4 GPUs" in text
    assert any("replica edits ride along" in w for w in plan.warnings)


def test_incremental_starts_from_min_replicas() -> None:
    def fn(rs: dict[str, Any]) -> None:
        container(wg(rs)).__setitem__("image", "z")
        wg(rs)["minReplicas"] = 1

    plan = plan_rayservice(base("NewClusterWithIncrementalUpgrade"), edit(fn, "NewClusterWithIncrementalUpgrade"))
    assert plan.extra_resources is not None and plan.extra_resources.pods == 2


def test_replicas_action_gives_patch_command() -> None:
    plan = plan_rayservice(base(), edit(lambda rs: wg(rs).__setitem__("replicas", 3)))
    details = " ".join(plan.actions[0].details)
    assert "kubectl -n ml patch raycluster llm-abcde" in details
    assert '"path":"/spec/workerGroupSpecs/0/replicas","value":3' in details


def test_appended_group_uses_cluster_annotation() -> None:
    # The live RayService already lists 2 groups but the active cluster was built with 1 (never rolled out):
    live = base()
    live["spec"]["rayClusterConfig"]["workerGroupSpecs"].append(gpu_group("gpu2", 1))
    desired = copy.deepcopy(live)
    desired.pop("status")
    desired["spec"]["rayClusterConfig"]["workerGroupSpecs"].append(gpu_group("gpu3", 1))
    active = {"metadata": {"name": "llm-abcde", "annotations": {"ray.io/num-worker-groups": "2"}}}
    plan = plan_rayservice(live, desired, active_cluster=active)
    assert [a.kind for a in plan.actions] == ["worker_groups_appended"]
    assert plan.extra_resources is not None and plan.extra_resources.pods == 1


def test_upgrade_in_progress_warns() -> None:
    live = base()
    live["status"]["pendingServiceStatus"] = {"rayClusterName": "llm-fghij"}
    plan = plan_rayservice(live, edit(lambda rs: rs["spec"].__setitem__("serveConfigV2", SERVE + "x: 1\n")))
    assert any("upgrade is in progress" in w for w in plan.warnings)
    assert "pending RayCluster llm-fghij" in plan.actions[0].summary


def test_serve_reformat_is_still_resubmitted() -> None:
    plan = plan_rayservice(base(), edit(lambda rs: rs["spec"].__setitem__("serveConfigV2", SERVE + "\n")))
    assert [a.kind for a in plan.actions] == ["serve_config_in_place"]
    assert "compares strings" in plan.actions[0].details[0]


def test_hash_view_ignores_replicas_and_empty() -> None:
    a = base()["spec"]["rayClusterConfig"]
    b = copy.deepcopy(a)
    b["workerGroupSpecs"][0].update(replicas=9, minReplicas=0, maxReplicas=10)
    b["headGroupSpec"]["serviceType"] = None
    b["workerGroupSpecs"][0]["template"]["metadata"] = {}
    assert hash_view(a) == hash_view(b)


def test_cluster_resources_numofhosts_and_clamp() -> None:
    g = gpu_group(replicas=5, gpus=4)
    g["maxReplicas"] = 3
    g["numOfHosts"] = 2
    res = cluster_resources({"headGroupSpec": {}, "workerGroupSpecs": [g]})
    assert res.pods == 1 + 6
    assert res.gpus == 24


def test_unified_diff() -> None:
    a = {"spec": {"x": 1}}
    assert unified_diff(a, a, name="o") == ""
    text = unified_diff(a, {"spec": {"x": 2}}, name="o")
    assert "-  x: 1" in text and "+  x: 2" in text and "live/o" in text


def test_replicas_with_autoscaling_and_pending_only_cluster() -> None:
    live = base()
    live["status"] = {"pendingServiceStatus": {"rayClusterName": "llm-first"}, "activeServiceStatus": {}}
    live["spec"]["rayClusterConfig"]["enableInTreeAutoscaling"] = True

    def fn(rs: dict[str, Any]) -> None:
        rs["spec"]["rayClusterConfig"]["enableInTreeAutoscaling"] = True
        wg(rs).update(replicas=3, maxReplicas=6)

    plan = plan_rayservice(live, edit(fn))
    [action] = plan.actions
    assert action.kind == "replicas_not_propagated"
    details = " ".join(action.details)
    assert "patch raycluster llm-first" in details  # the pending (first) cluster when none is active yet
    assert '"path":"/spec/workerGroupSpecs/0/maxReplicas","value":6' in details
    assert "/replicas" not in details.split("-p '")[1].split("'")[0]  # the autoscaler owns replicas
    assert "autoscaling is enabled" in details
    assert any("still initializing" in w for w in plan.warnings)


def test_toggling_high_throughput_is_predicted_as_a_new_cluster() -> None:
    """serve.highThroughput changes every Ray container's env: the operator builds a new cluster, and diff says so."""
    from rayctl.workflow import render_file
    from tests.conftest import EXAMPLES

    live = render_file(EXAMPLES / "hello.yaml").rendered.rayservice
    desired = render_file(EXAMPLES / "hello.yaml", overrides=["serve.highThroughput=true"]).rendered.rayservice
    plan = plan_rayservice(copy.deepcopy(live), desired)
    assert plan.new_cluster, format_plan(plan)
    assert plan.rollout in (ROLLOUT_NEW_CLUSTER, ROLLOUT_INCREMENTAL), format_plan(plan)
