"""Spec -> the values the RayService templates lay out. Every decision lives here; templates only place fields.

The structure mirrors the templates (and the Helm chart's `_helpers.tpl`) one to one: `head_group()` feeds the
`headGroupSpec` macro, `worker_group()` the `workerGroupSpec` macro, `pod_template()` the `podTemplate` macro,
`ray_container()` the `rayContainer` macro. Keys are the Kubernetes field names, values are final (quantities as
strings, maps sorted), and a key whose value is None or empty is left out by the template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rayctl.apps.base import Profile
from rayctl.helm_json import helm_sha256
from rayctl.monitoring import container_metrics_ports, monitoring_objects, pod_selector_labels
from rayctl.render.serve_config import serve_config
from rayctl.spec.base import Toleration
from rayctl.spec.cluster import DRAIN_ENV, WorkerGroup
from rayctl.spec.model import DeploymentSpec

HEAD_DEFAULT_START_PARAMS = {"num-cpus": "0", "num-gpus": "0", "dashboard-host": "0.0.0.0"}
"""The head advertises no CPUs/GPUs to Ray, so Serve replicas (and their GPUs) never land on it."""
SPEC_HASH_LABEL = "rayctl.dev/spec-hash"
HEAD_PORTS = (("gcs-server", 6379), ("dashboard", 8265), ("client", 10001))


EXACT_INTEGER_MAX = 2**53
"""Integral amounts below this are written as integers (memory in bytes stays exact), others as `%g`."""


def ray_resource_text(value: float) -> str:
    """A Ray resource amount in a group's `resources` map, as KubeRay's quantity parser reads it (the chart's
    `rayservice.resourceText` writes the same)."""
    if float(value).is_integer() and abs(value) < EXACT_INTEGER_MAX:
        return str(int(value))
    return f"{value:g}"


def spec_hash(rayservice_spec: dict[str, Any]) -> str:
    """The first 12 hex digits of sha256 over the rendered RayService `spec` (its serveConfigV2 parsed into data),
    encoded as Helm's `toJson` writes it (so the chart computes the same label): it changes exactly when what the
    operator sees changes (spelling out a default, or a release adding a spec field, keeps it)."""
    return helm_sha256(rayservice_spec)[:12]


def top_labels(spec: DeploymentSpec) -> dict[str, str]:
    """Labels of every top-level object rayctl renders. Pod templates get none of these: KubeRay hashes the whole
    cluster spec, so a label that differed between tools (rayctl, Helm) would roll a new cluster."""
    return dict(sorted({**spec.labels, "app.kubernetes.io/name": spec.name,
                        "app.kubernetes.io/managed-by": "rayctl"}.items()))


def _sorted(values: dict[str, str]) -> dict[str, str]:
    return dict(sorted(values.items()))


def _tolerations(items: list[Toleration]) -> list[dict[str, Any]]:
    return [t.model_dump(by_alias=True, exclude_none=True) for t in items]


def ray_env(spec: DeploymentSpec) -> list[dict[str, Any]]:
    """The env of every Ray container: plain values first (sorted), then the Secret references."""
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in spec.ray_env().items()]
    for item in spec.ray.secret_env:
        ref: dict[str, Any] = {"name": item.secret_name, "key": item.key}
        if item.optional:
            ref["optional"] = True
        env.append({"name": item.name, "valueFrom": {"secretKeyRef": ref}})
    return env


def resources(cpu: str, memory: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    # request == limit: Guaranteed QoS, and GPUs must have request == limit anyway.
    amounts = {"cpu": cpu, "memory": memory, **(extra or {})}
    return {"requests": dict(amounts), "limits": dict(amounts)}


def ray_container(spec: DeploymentSpec, *, name: str, image: str, ports: list[dict[str, Any]],
                  resources: dict[str, Any], volume_mounts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": spec.ray.image_pull_policy,
        "ports": ports,
        "env": ray_env(spec),
        "resources": resources,
        "volumeMounts": volume_mounts,
    }


def pod_template(spec: DeploymentSpec, *, labels: dict[str, str], annotations: dict[str, str],
                 node_selector: dict[str, str], tolerations: list[Toleration], container: dict[str, Any],
                 volumes: list[dict[str, Any]], termination_grace_period_seconds: int | None = None) -> dict[str, Any]:
    return {
        "labels": _sorted(labels),
        "annotations": _sorted(annotations),
        "serviceAccountName": spec.ray.service_account_name,
        "imagePullSecrets": [{"name": n} for n in spec.ray.image_pull_secrets],
        "nodeSelector": _sorted(node_selector),
        "tolerations": _tolerations(tolerations),
        "terminationGracePeriodSeconds": termination_grace_period_seconds,
        "container": container,
        "volumes": volumes,
    }


def head_group(spec: DeploymentSpec) -> dict[str, Any]:
    head = spec.head
    ports = [{"containerPort": port, "name": name} for name, port in HEAD_PORTS]
    ports += [{"containerPort": spec.serve.http_port, "name": "serve"}]
    ports += container_metrics_ports("head", spec.serve.high_throughput)
    container = ray_container(spec, name="ray-head", image=head.image or spec.ray.cpu_image(), ports=ports,
                              resources=resources(head.cpu, head.memory), volume_mounts=[])
    return {
        "serviceType": head.service_type,
        "rayStartParams": {**HEAD_DEFAULT_START_PARAMS, **head.ray_start_params},
        "template": pod_template(spec, labels={**head.labels, **pod_selector_labels(spec.name)},
                                 annotations=head.annotations,
                                 node_selector=head.node_selector, tolerations=head.tolerations,
                                 container=container, volumes=[]),
    }


def worker_group(spec: DeploymentSpec, group: WorkerGroup) -> dict[str, Any]:
    extra: dict[str, str] = {}
    if group.gpus:
        extra[group.gpu_resource_name] = str(group.gpus)
    if group.ephemeral_storage:
        extra["ephemeral-storage"] = group.ephemeral_storage
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    if group.gpus:
        # vLLM/NCCL exchange tensors through /dev/shm; the container default (64Mi) is far too small.
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
        volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory"}})
    image = group.image or (spec.ray.accelerator_image() if group.gpus else spec.ray.cpu_image())
    container = ray_container(spec, name="ray-worker", image=image,
                              ports=container_metrics_ports("worker", spec.serve.high_throughput),
                              resources=resources(group.cpu, group.memory, extra), volume_mounts=mounts)
    # after the shared env: RaySettings rejects this name in ray.env, so it is never there twice
    container["env"] = [*container["env"], {"name": DRAIN_ENV, "value": str(group.drain_seconds)}]
    ray_resources = {k: ray_resource_text(v) for k, v in group.ray_resources.items()}
    labels = {**group.labels, **pod_selector_labels(spec.name)}
    if group.accelerator_type:
        ray_resources[f"accelerator_type:{group.accelerator_type}"] = "1"
        labels["ray.io/accelerator-type"] = group.accelerator_type
    return {
        "groupName": group.name,
        "replicas": group.replicas,
        "minReplicas": group.min_replicas,
        "maxReplicas": group.effective_max_replicas,
        "numOfHosts": group.num_of_hosts,
        "idleTimeoutSeconds": group.idle_timeout_seconds,
        "rayStartParams": dict(group.ray_start_params),
        "resources": _sorted(ray_resources),
        "template": pod_template(spec, labels=labels, annotations=group.annotations,
                                 node_selector=group.node_selector, tolerations=group.tolerations,
                                 container=container, volumes=volumes,
                                 termination_grace_period_seconds=group.termination_grace_period_seconds),
    }


def autoscaler_options(spec: DeploymentSpec) -> dict[str, Any] | None:
    auto = spec.autoscaling
    if not auto.enabled:
        return None
    options: dict[str, Any] = {"upscalingMode": auto.upscaling_mode, "idleTimeoutSeconds": auto.idle_timeout_seconds}
    if auto.version:
        options["version"] = auto.version
    options["resources"] = resources(auto.cpu, auto.memory)
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


@dataclass(frozen=True)
class RenderContext:
    """What every component's context function reads: the validated spec, the profile and the Serve config
    (computed once; the RayService embeds it and `rayctl run` deploys it)."""

    spec: DeploymentSpec
    profile: Profile
    serve_config: dict[str, Any]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def serve_service(self) -> str:
        """The Service KubeRay creates for the Serve endpoint (once every application is RUNNING)."""
        return f"{self.spec.name}-serve-svc"


def make_context(spec: DeploymentSpec, profile: Profile = None) -> RenderContext:
    return RenderContext(spec=spec, profile=profile, serve_config=serve_config(spec, profile))


def rayservice(ctx: RenderContext) -> dict[str, Any]:
    """The values of templates/rayservice.yaml.j2."""
    spec = ctx.spec
    return {
        "name": spec.name,
        "namespace": spec.namespace,
        "labels": top_labels(spec),
        "annotations": _sorted(spec.annotations),
        "upgradeStrategy": upgrade_strategy(spec),
        "excludeHeadPodFromServeSvc": spec.serve.exclude_head_from_serve_service,
        "serveConfigV2": ctx.serve_config,
        "rayVersion": spec.ray.version,
        "autoscalerOptions": autoscaler_options(spec),
        "gcsFaultToleranceOptions": gcs_options(spec),
        "headGroupSpec": head_group(spec),
        "workerGroupSpecs": [worker_group(spec, g) for g in spec.worker_groups],
    }


def ingresses(ctx: RenderContext) -> list[dict[str, Any]]:
    """The values of templates/ingress.yaml.j2 (none without `expose.ingress`)."""
    ingress = ctx.spec.expose.ingress
    if ingress is None:
        return []
    return [{
        "name": f"{ctx.name}-serve",
        "namespace": ctx.spec.namespace,
        "labels": top_labels(ctx.spec),
        "annotations": _sorted(ingress.annotations),
        "className": ingress.class_name,
        "host": ingress.host,
        "tlsSecretName": ingress.tls_secret_name,
        "path": ingress.path,
        "pathType": ingress.path_type,
        "service": ctx.serve_service,
    }]


def monitoring(ctx: RenderContext) -> list[dict[str, Any]]:
    """The objects of the spec's `monitoring:` section (PodMonitor, scrape-config ConfigMap, PrometheusRule,
    dashboard ConfigMaps), built whole by rayctl.monitoring; templates/object.yaml.j2 writes each as it is."""
    spec = ctx.spec
    return monitoring_objects(
        spec.name, spec.namespace, top_labels(spec), spec.monitoring,
        app_names=[app.name for app in spec.serve.applications],
        llm_app_names=[app.name for app in spec.serve.applications if app.TYPE == "llm"],
    )
