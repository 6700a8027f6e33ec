"""Pure parts of the cluster commands: status view (rayctl.status), --wait completion rule, managedFields
projection, diff."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rayctl.k8s.fields import manager_fields, merge_fieldsets, project, strip_server_fields
from rayctl.status import build_view, diagnose, format_view, pod_problem, progress_line, rollout_done
from rayctl.workflow.cluster import diff_objects

RS: dict[str, Any] = {
    "apiVersion": "ray.io/v1",
    "kind": "RayService",
    "metadata": {"name": "llm", "namespace": "ml", "generation": 2},
    "spec": {},
    "status": {
        "observedGeneration": 2,
        "numServeEndpoints": 1,
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "NonZeroServeEndpoints", "message": "ok"},
            {"type": "UpgradeInProgress", "status": "False", "reason": "NoPendingCluster", "message": ""},
        ],
        "activeServiceStatus": {
            "rayClusterName": "llm-abc",
            "applicationStatuses": {
                "chat": {
                    "status": "RUNNING",
                    "message": "",
                    "serveDeploymentStatuses": {"VLLMDeployment": {"status": "HEALTHY", "message": ""}},
                }
            },
        },
        "pendingServiceStatus": {},
    },
}

CLUSTER = {
    "metadata": {"name": "llm-abc", "annotations": {"ray.io/num-worker-groups": "1"}},
    "spec": {"workerGroupSpecs": [{"groupName": "gpu", "replicas": 2, "minReplicas": 1, "maxReplicas": 4}]},
    "status": {"state": "ready"},
}


def pod(name: str, group: str, *, ready: bool = True, unschedulable: str | None = None) -> dict[str, Any]:
    conds = [{"type": "Ready", "status": "True" if ready else "False"}]
    phase = "Running" if ready else "Pending"
    if unschedulable:
        conds = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": unschedulable}]
    return {
        "metadata": {"name": name, "labels": {"ray.io/cluster": "llm-abc", "ray.io/group": group}},
        "status": {"phase": phase, "conditions": conds},
    }


SVC = {
    "metadata": {"name": "llm-serve-svc"},
    "spec": {
        "clusterIP": "10.0.0.7",
        "ports": [{"name": "serve", "port": 8000}],
        "selector": {"ray.io/cluster": "llm-abc"},
    },
}


def test_view_ready() -> None:
    pods = [pod("h", "headgroup"), pod("w1", "gpu"), pod("w2", "gpu")]
    view = build_view(RS, [CLUSTER], pods, SVC, [])
    assert view["ready"] and not view["upgradeInProgress"]
    assert view["activeCluster"] == "llm-abc" and view["pendingCluster"] is None
    groups = {g["name"]: g for g in view["clusters"][0]["groups"]}
    assert groups["gpu"]["desired"] == 2 and groups["gpu"]["ready"] == 2
    assert view["applications"][0]["deployments"][0]["name"] == "VLLMDeployment"
    assert view["endpoint"]["url"] == "http://llm-serve-svc.ml.svc.cluster.local:8000"
    assert rollout_done(view)
    text = format_view(view)
    assert "Ready=True" in text and "gpu: 2/2 ready" in text and "VLLMDeployment: HEALTHY" in text


def test_view_pending_pods_and_diagnosis() -> None:
    rs = copy.deepcopy(RS)
    rs["status"]["conditions"][0].update(status="False", reason="Initializing")
    rs["status"]["activeServiceStatus"]["applicationStatuses"]["chat"].update(status="DEPLOYING", message="wait")
    msg = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
    pods = [pod("h", "headgroup"), pod("w1", "gpu", ready=False, unschedulable=msg)]
    events = [
        {
            "involvedObject": {"kind": "Pod", "name": "w1"},
            "type": "Warning",
            "reason": "FailedScheduling",
            "message": msg,
            "count": 3,
            "lastTimestamp": "2026-01-01T00:00:00Z",
        }
    ]
    view = build_view(rs, [CLUSTER], pods, None, events)
    assert not rollout_done(view)
    text = diagnose(view)
    assert f"w1 (llm-abc/gpu): Unschedulable: {msg}" in text
    assert "1 pod(s) of llm-abc/gpu not created yet" in text
    assert "[active] chat: DEPLOYING wait" in text
    assert "pod/w1: FailedScheduling" in text
    assert "Ready=False (Initializing)" in progress_line(view)


def test_a_new_cluster_without_room_beside_the_active_one_is_named_with_the_fix() -> None:
    rs = copy.deepcopy(RS)
    rs["status"]["pendingServiceStatus"] = {"rayClusterName": "llm-new"}
    new = copy.deepcopy(CLUSTER)
    new["metadata"]["name"] = "llm-new"
    msg = "0/2 nodes are available: 2 Insufficient cpu."
    starved = pod("n1", "gpu", ready=False, unschedulable=msg)
    starved["metadata"]["labels"]["ray.io/cluster"] = "llm-new"
    text = diagnose(build_view(rs, [CLUSTER, new], [pod("h", "headgroup"), starved], SVC))
    assert "The new RayCluster llm-new does not fit beside the active one" in text
    assert "room for the two" in text and "kind-config.yaml" in text
    # a first install (no active cluster) that does not fit is a plain scheduling problem: no upgrade advice
    first = copy.deepcopy(RS)
    first["status"]["activeServiceStatus"] = {}
    first["status"]["pendingServiceStatus"] = {"rayClusterName": "llm-new"}
    assert "does not fit beside" not in diagnose(build_view(first, [new], [starved], None))


def test_rollout_not_done_while_generation_unobserved_or_upgrading() -> None:
    rs = copy.deepcopy(RS)
    rs["metadata"]["generation"] = 3
    assert not rollout_done(build_view(rs, [CLUSTER], [], SVC))
    rs = copy.deepcopy(RS)
    rs["status"]["pendingServiceStatus"] = {"rayClusterName": "llm-new"}
    view = build_view(rs, [CLUSTER], [], SVC)
    assert view["pendingCluster"] == "llm-new" and not rollout_done(view)
    assert view["clusters"][1]["state"] == "not created yet"


def test_pod_problem_variants() -> None:
    p = {
        "metadata": {},
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "ray-worker",
                    "state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}},
                }
            ],
        },
    }
    assert pod_problem(p) == "ray-worker: ImagePullBackOff: no such image"
    assert pod_problem(pod("x", "g")) is None


@pytest.mark.parametrize(("node_type", "drain", "words"), [
    ("worker", "120", "Terminating: draining (Serve moves its replicas off first); killed at 2026-12-02T13:52:31Z"),
    ("worker", None, "Terminating: draining"),  # Ray 2.60 drains for 30 s by default
    ("worker", "0", "Terminating (killed at 2026-12-02T13:52:31Z at the latest)"),
    ("head", None, "Terminating (killed at 2026-12-02T13:52:31Z at the latest)"),
])
def test_a_deleted_pod_says_whether_it_drains(node_type: str, drain: str | None, words: str) -> None:
    p = pod("w", "cpu")
    p["metadata"]["deletionTimestamp"] = "2026-12-02T13:52:31Z"
    p["metadata"]["labels"]["ray.io/node-type"] = node_type
    env = [] if drain is None else [{"name": "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S", "value": drain}]
    p["spec"] = {"containers": [{"name": "ray-worker", "env": env}]}
    assert words in (pod_problem(p) or "")


def test_fields_projection() -> None:
    obj = {
        "metadata": {
            "name": "a",
            "labels": {"x": "1", "y": "2"},
            "managedFields": [
                {
                    "manager": "rayctl",
                    "operation": "Apply",
                    "fieldsV1": {
                        "f:metadata": {"f:labels": {"f:x": {}}},
                        "f:spec": {"f:list": {'k:{"name":"n1"}': {".": {}, "f:v": {}}}},
                    },
                },
                {
                    "manager": "other",
                    "operation": "Apply",
                    "fieldsV1": {"f:metadata": {"f:labels": {"f:y": {}}}},
                },
            ],
        },
        "spec": {"list": [{"name": "n1", "v": 1, "w": 2}, {"name": "n2", "v": 3}], "z": 1},
    }
    fields = manager_fields(obj, "rayctl")
    assert project(obj, fields) == {"metadata": {"labels": {"x": "1"}}, "spec": {"list": [{"v": 1}]}}
    merged = merge_fieldsets(fields, manager_fields(obj, "other"))
    assert project(obj, merged)["metadata"]["labels"] == {"x": "1", "y": "2"}
    stripped = strip_server_fields(obj)
    assert stripped is not None and "managedFields" not in stripped["metadata"]


class FakeCluster:
    """ClusterAPI fake for diff: the dry-run result is the desired object with rayctl's managedFields."""

    namespace = "ml"
    server = "fake"

    def __init__(self, live: dict[str, Any] | None) -> None:
        self.live = live

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return self.live if kind == "RayService" else None

    def apply(self, objs: Any, field_manager: str = "rayctl", force: bool = False, dry_run: bool = False) -> Any:
        from rayctl.k8s.cluster import ApplyResult

        obj = copy.deepcopy(objs[0])
        obj["metadata"]["managedFields"] = [
            {
                "manager": "rayctl",
                "operation": "Apply",
                "fieldsV1": {"f:spec": {"f:serveConfigV2": {}, "f:rayClusterConfig": {}}},
            }
        ]
        if self.live is not None:  # SSA keeps the fields other managers own
            obj["spec"] = {**copy.deepcopy(self.live["spec"]), **obj["spec"]}
            obj["status"] = self.live.get("status")
        return [
            ApplyResult(
                ref="rayservice.ray.io/llm",
                kind="RayService",
                name="llm",
                namespace="ml",
                action="configured",
                dry_run=True,
                object=obj,
            )
        ]


def test_diff_objects_classifies() -> None:
    from test_plan import base, container, wg  # tests/unit is on sys.path (pytest's prepend import mode)

    live = base()
    live["metadata"]["managedFields"] = [
        {
            "manager": "rayctl",
            "operation": "Apply",
            "fieldsV1": {"f:spec": {"f:serveConfigV2": {}, "f:rayClusterConfig": {}}},
        }
    ]
    live["spec"]["somethingElse"] = "owned by another manager: not shown"
    desired = base()
    desired.pop("status")
    container(wg(desired)).__setitem__("image", "new")
    report = diff_objects(FakeCluster(live), [desired])  # type: ignore[arg-type]
    assert report.changed
    assert report.plan is not None and report.plan.rollout == "new_cluster"
    text = report.objects[0].diff
    minus = [ln for ln in text.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    plus = [ln for ln in text.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    assert [ln.split("image: ")[1] for ln in minus] == ["rayproject/ray:2.60.0-py311-gpu"]
    assert [ln.split("image: ")[1] for ln in plus] == ["new"]
    assert "somethingElse" not in text and "managedFields" not in text
    same = base()
    same.pop("status")
    report = diff_objects(FakeCluster(live), [same])  # type: ignore[arg-type]
    assert not report.changed and report.plan is not None and report.plan.rollout == "none"
    report = diff_objects(FakeCluster(None), [same])  # type: ignore[arg-type]
    assert report.changed and report.plan is not None and report.plan.rollout == "create"
