"""Smoke test: the e2e control plane is real Kubernetes machinery with the real KubeRay operator."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from .controlplane import ControlPlane

pytestmark = pytest.mark.e2e

T = TypeVar("T")
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
RAY_IMAGE = "rayproject/ray:2.60.0"


def wait_for(what: str, fn: Callable[[], T | None], timeout: float = 90, interval: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except ApiException as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


@pytest.fixture(scope="module")
def api(control_plane: ControlPlane) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(control_plane.kubeconfig))


@pytest.fixture(scope="module")
def namespace(api: client.ApiClient) -> Iterator[str]:
    name = f"e2e-smoke-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": name}})
    # pods can only be created once the service-account controller made the namespace's `default` SA
    wait_for("default ServiceAccount", lambda: core.read_namespaced_service_account("default", name), 30)
    yield name
    core.delete_namespace(name)


def test_rayservice_crd_is_served(api: client.ApiClient, namespace: str) -> None:
    crd = client.ApiextensionsV1Api(api).read_custom_resource_definition("rayservices.ray.io")
    conditions = {c.type: c.status for c in crd.status.conditions}
    assert conditions.get("Established") == "True"
    assert "v1" in [v.name for v in crd.spec.versions if v.served]
    for plural in ("rayservices", "rayclusters", "rayjobs"):
        listed = client.CustomObjectsApi(api).list_namespaced_custom_object("ray.io", "v1", namespace, plural)
        assert listed["items"] == []


def test_node_pools(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    gpu = core.list_node(label_selector="rayctl.dev/pool=gpu").items
    cpu = core.list_node(label_selector="rayctl.dev/pool=cpu").items
    assert len(gpu) == 2 and len(cpu) == 2
    for node in gpu:
        assert node.status.allocatable["nvidia.com/gpu"] == "8"
        assert node.status.allocatable["cpu"] == "96"
        assert node.metadata.labels["nvidia.com/gpu.present"] == "true"
        assert node.metadata.labels["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"
        taints = [(t.key, t.value, t.effect) for t in node.spec.taints or []]
        assert ("nvidia.com/gpu", "present", "NoSchedule") in taints
    for node in cpu:
        assert node.status.allocatable["cpu"] == "16"
        assert "nvidia.com/gpu" not in node.status.allocatable
        assert not [t for t in node.spec.taints or [] if t.key == "nvidia.com/gpu"]
    for node in gpu + cpu:
        ready = [c for c in node.status.conditions if c.type == "Ready"]
        assert ready and ready[0].status == "True", node.metadata.name


def _pod(name: str, *, tolerate: bool) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "nodeSelector": {"nvidia.com/gpu.present": "true"},
            "tolerations": [GPU_TOLERATION] if tolerate else [],
            "containers": [
                {
                    "name": "main",
                    "image": "busybox:1.36",
                    "resources": {"limits": {"nvidia.com/gpu": "1", "cpu": "1", "memory": "1Gi"}},
                }
            ],
        },
    }


def test_gpu_pod_is_scheduled_and_runs(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(namespace, _pod("gpu-ok", tolerate=True))
    core.create_namespaced_pod(namespace, _pod("gpu-no-toleration", tolerate=False))

    def running() -> Any:
        pod = core.read_namespaced_pod("gpu-ok", namespace)
        ready = [c for c in pod.status.conditions or [] if c.type == "Ready" and c.status == "True"]
        return pod if pod.status.phase == "Running" and ready else None

    pod = wait_for("GPU pod Running and Ready", running)
    assert pod.spec.node_name.startswith("kwok-gpu-")
    node = core.read_node(pod.spec.node_name)
    assert node.metadata.labels["rayctl.dev/pool"] == "gpu"

    def unschedulable() -> Any:
        pod = core.read_namespaced_pod("gpu-no-toleration", namespace)
        cond = [c for c in pod.status.conditions or [] if c.type == "PodScheduled"]
        return cond and cond[0].status == "False" and cond[0].reason == "Unschedulable" and cond[0]

    cond = wait_for("the scheduler to reject the pod without toleration", unschedulable, 30)
    assert "taint" in (cond.message or "")
    assert core.read_namespaced_pod("gpu-no-toleration", namespace).spec.node_name is None


def _ray_container(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": RAY_IMAGE,
        "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}},
    }


def test_raycluster_pods_are_created_by_the_operator(api: client.ApiClient, namespace: str) -> None:
    custom = client.CustomObjectsApi(api)
    core = client.CoreV1Api(api)
    name = "smoke"
    raycluster = {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": name},
        "spec": {
            "headGroupSpec": {
                "rayStartParams": {},
                "template": {"spec": {"containers": [_ray_container("ray-head")]}},
            },
            "workerGroupSpecs": [
                {
                    "groupName": "workers",
                    "replicas": 1,
                    "minReplicas": 1,
                    "maxReplicas": 1,
                    "rayStartParams": {},
                    "template": {"spec": {"containers": [_ray_container("ray-worker")]}},
                }
            ],
        },
    }
    created = custom.create_namespaced_custom_object("ray.io", "v1", namespace, "rayclusters", raycluster)
    uid = created["metadata"]["uid"]

    def pods_running() -> Any:
        pods = core.list_namespaced_pod(namespace, label_selector=f"ray.io/cluster={name}").items
        kinds = {p.metadata.labels.get("ray.io/node-type"): p for p in pods if p.status.phase == "Running"}
        return kinds if {"head", "worker"} <= kinds.keys() else None

    pods = wait_for("head and worker pods Running", pods_running, 120)
    for pod in pods.values():
        assert pod.spec.containers[0].image == RAY_IMAGE
        owners = [(o.kind, o.uid) for o in pod.metadata.owner_references or []]
        assert ("RayCluster", uid) in owners
        assert pod.spec.node_name  # placed by the real scheduler
    assert core.read_namespaced_service(f"{name}-head-svc", namespace)

    def state_ready() -> Any:
        obj = custom.get_namespaced_custom_object("ray.io", "v1", namespace, "rayclusters", name)
        return (obj.get("status") or {}).get("state") == "ready" and obj

    wait_for("RayCluster status.state == ready", state_ready, 120)

    # ownerReferences cascade: the garbage collector of kube-controller-manager deletes the pods and kwok's
    # pod-delete stage finalizes them (there is no kubelet).
    custom.delete_namespaced_custom_object("ray.io", "v1", namespace, "rayclusters", name)
    wait_for(
        "RayCluster pods to be garbage-collected",
        lambda: not core.list_namespaced_pod(namespace, label_selector=f"ray.io/cluster={name}").items,
        120,
    )
