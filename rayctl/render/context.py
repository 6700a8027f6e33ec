"""Spec -> the Jinja context for the RayService template. All decisions live here; the template only lays out."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rayctl.render.serve_config import Profile, serve_config
from rayctl.spec.base import Toleration
from rayctl.spec.model import DeploymentSpec

HEAD_DEFAULT_START_PARAMS = {"num-cpus": "0", "num-gpus": "0", "dashboard-host": "0.0.0.0"}
"""The head advertises no CPUs/GPUs to Ray, so Serve replicas (and their GPUs) never land on it."""


def spec_hash(spec: DeploymentSpec) -> str:
    """Hash of what the user wrote (defaults left out, so a rayctl release adding a field keeps every hash)."""
    canonical = json.dumps(spec.dump(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def common_labels(spec: DeploymentSpec) -> dict[str, str]:
    return {**spec.labels, "app.kubernetes.io/name": spec.name, "app.kubernetes.io/managed-by": "rayctl"}


def _tolerations(items: list[Toleration]) -> list[dict[str, Any]]:
    return [t.model_dump(by_alias=True, exclude_none=True) for t in items]


def _env(spec: DeploymentSpec) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in spec.ray_env().items()]
    for item in spec.ray.secret_env:
        ref: dict[str, Any] = {"name": item.secret_name, "key": item.key}
        if item.optional:
            ref["optional"] = True
        env.append({"name": item.name, "valueFrom": {"secretKeyRef": ref}})
    return env


def _resources(cpu: str, memory: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    # request == limit: Guaranteed QoS, and GPUs must have request == limit anyway.
    amounts = {"cpu": cpu, "memory": memory, **(extra or {})}
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _pod_spec(
    spec: DeploymentSpec,
    *,
    container: dict[str, Any],
    node_selector: dict[str, str],
    tolerations: list[Toleration],
    volumes: list[dict[str, Any]],
) -> dict[str, Any]:
    pod: dict[str, Any] = {}
    if spec.ray.service_account_name:
        pod["serviceAccountName"] = spec.ray.service_account_name
    if spec.ray.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": n} for n in spec.ray.image_pull_secrets]
    if node_selector:
        pod["nodeSelector"] = dict(sorted(node_selector.items()))
    if tolerations:
        pod["tolerations"] = _tolerations(tolerations)
    pod["containers"] = [container]
    if volumes:
        pod["volumes"] = volumes
    return pod


def _metadata(labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"labels": dict(sorted(labels.items()))}
    if annotations:
        meta["annotations"] = dict(sorted(annotations.items()))
    return meta


def head_group(spec: DeploymentSpec) -> dict[str, Any]:
    head = spec.head
    container: dict[str, Any] = {
        "name": "ray-head",
        "image": head.image or spec.ray.cpu_image(),
        "imagePullPolicy": spec.ray.image_pull_policy,
        "ports": [
            {"containerPort": 6379, "name": "gcs-server"},
            {"containerPort": 8265, "name": "dashboard"},
            {"containerPort": 10001, "name": "client"},
            {"containerPort": spec.serve.http_port, "name": "serve"},
            {"containerPort": 8080, "name": "metrics"},
        ],
        "resources": _resources(head.cpu, head.memory),
    }
    env = _env(spec)
    if env:
        container["env"] = env
    group: dict[str, Any] = {}
    if head.service_type:
        group["serviceType"] = head.service_type
    group["rayStartParams"] = {**HEAD_DEFAULT_START_PARAMS, **head.ray_start_params}
    group["template"] = {
        "metadata": _metadata({**common_labels(spec), **head.labels}, head.annotations),
        "spec": _pod_spec(spec, container=container, node_selector=head.node_selector,
                          tolerations=head.tolerations, volumes=[]),
    }
    return group


def worker_groups(spec: DeploymentSpec) -> list[dict[str, Any]]:
    groups = []
    for group in spec.worker_groups:
        extra: dict[str, str] = {}
        if group.gpus:
            extra[group.gpu_resource_name] = str(group.gpus)
        if group.ephemeral_storage:
            extra["ephemeral-storage"] = group.ephemeral_storage
        container: dict[str, Any] = {
            "name": "ray-worker",
            "image": group.image or (spec.ray.accelerator_image() if group.gpus else spec.ray.cpu_image()),
            "imagePullPolicy": spec.ray.image_pull_policy,
            "resources": _resources(group.cpu, group.memory, extra),
        }
        env = _env(spec)
        if env:
            container["env"] = env
        volumes: list[dict[str, Any]] = []
        if group.gpus:
            # vLLM/NCCL exchange tensors through /dev/shm; the container default (64Mi) is far too small.
            container["volumeMounts"] = [{"name": "dshm", "mountPath": "/dev/shm"}]
            volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory"}})
        ray_resources = {k: f"{v:g}" for k, v in sorted(group.ray_resources.items())}
        if group.accelerator_type:
            ray_resources[f"accelerator_type:{group.accelerator_type}"] = "1"
        labels = {**common_labels(spec), **group.labels}
        if group.accelerator_type:
            labels["ray.io/accelerator-type"] = group.accelerator_type
        out: dict[str, Any] = {
            "groupName": group.name,
            "replicas": group.replicas,
            "minReplicas": group.min_replicas,
            "maxReplicas": group.effective_max_replicas,
            "numOfHosts": group.num_of_hosts,
        }
        if group.idle_timeout_seconds is not None:
            out["idleTimeoutSeconds"] = group.idle_timeout_seconds
        out["rayStartParams"] = dict(group.ray_start_params)
        # The operator writes `scaleStrategy: {}` into every group (a plain update) and so co-owns the atomic
        # workerGroupSpecs list; rendering the same value keeps a repeated server-side apply conflict-free.
        out["scaleStrategy"] = {}
        if ray_resources:
            out["resources"] = dict(sorted(ray_resources.items()))
        out["template"] = {
            "metadata": _metadata(labels, group.annotations),
            "spec": _pod_spec(spec, container=container, node_selector=group.node_selector,
                              tolerations=group.tolerations, volumes=volumes),
        }
        groups.append(out)
    return groups


def autoscaler_options(spec: DeploymentSpec) -> dict[str, Any] | None:
    auto = spec.autoscaling
    if not auto.enabled:
        return None
    options: dict[str, Any] = {"upscalingMode": auto.upscaling_mode, "idleTimeoutSeconds": auto.idle_timeout_seconds}
    if auto.version:
        options["version"] = auto.version
    options["resources"] = _resources(auto.cpu, auto.memory)
    return options


def gcs_options(spec: DeploymentSpec) -> dict[str, Any] | None:
    gcs = spec.gcs_fault_tolerance
    if gcs is None:
        return None
    options: dict[str, Any] = {"redisAddress": gcs.redis_address}
    if gcs.redis_password_secret is not None:
        ref = gcs.redis_password_secret
        options["redisPassword"] = {"valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}
    if gcs.external_storage_namespace is not None:
        options["externalStorageNamespace"] = gcs.external_storage_namespace
    return options


def upgrade_strategy(spec: DeploymentSpec) -> dict[str, Any]:
    strategy = spec.upgrade_strategy
    out: dict[str, Any] = {"type": strategy.type}
    if strategy.cluster_upgrade_options is not None:
        out["clusterUpgradeOptions"] = strategy.cluster_upgrade_options.model_dump(by_alias=True)
    return out


def build_context(spec: DeploymentSpec, profile: Profile = None) -> dict[str, Any]:
    annotations = dict(sorted(spec.annotations.items()))
    labels = {**common_labels(spec), "rayctl.dev/spec-hash": spec_hash(spec)}
    return {
        "name": spec.name,
        "namespace": spec.namespace,
        "labels": dict(sorted(labels.items())),
        "annotations": annotations,
        "upgrade_strategy": upgrade_strategy(spec),
        "exclude_head_from_serve_service": spec.serve.exclude_head_from_serve_service,
        "serve_config": serve_config(spec, profile),
        "ray_version": spec.ray.version,
        "autoscaler_options": autoscaler_options(spec),
        "gcs_options": gcs_options(spec),
        "head_group": head_group(spec),
        "worker_groups": worker_groups(spec),
    }
