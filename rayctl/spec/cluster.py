"""The Ray cluster half of the spec: images, head, worker groups, autoscaler, upgrades, GCS fault tolerance."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from rayctl.spec.base import (
    INT32_MAX,
    PYTHON_TAG,
    RAY_VERSION,
    DnsLabel,
    Quantity,
    SecretEnv,
    SecretKeyRef,
    SpecModel,
    StringMap,
    Toleration,
)

DRAIN_ENV = "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S"
"""Ray (2.60) drains its node on SIGTERM for up to this many seconds: Serve starts replacements for the node's
replicas elsewhere and lets its proxy and replicas finish in-flight requests before the processes stop."""

DRAIN_GRACE_MARGIN_SECONDS = 15
"""terminationGracePeriodSeconds = drainSeconds + this: room for `ray start` to stop its processes after the drain."""


class RaySettings(SpecModel):
    """Ray version, container images and environment shared by every Ray container."""

    version: str = Field(
        RAY_VERSION,
        pattern=r"^\d+\.\d+\.\d+$",
        description="Ray version running in the cluster (RayCluster `rayVersion`); images default to this tag.",
    )
    image: str | None = Field(
        None, description="Image for pods without GPUs. Default: `rayproject/ray:<version>-py311`."
    )
    gpu_image: str | None = Field(
        None,
        description="Image for pods with GPUs (vLLM needs it). Default: `rayproject/ray-llm:<version>-py311-cu128`.",
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="Kubernetes imagePullPolicy for every Ray container."
    )
    image_pull_secrets: list[DnsLabel] = Field(
        default_factory=list, description="Names of Secrets used to pull the images."
    )
    env: StringMap = Field(default_factory=dict, description="Plain environment variables for every Ray container.")
    secret_env: list[SecretEnv] = Field(
        default_factory=list,
        description="Environment variables read from Secrets (e.g. HF_TOKEN for gated models); never inline secrets.",
    )
    service_account_name: DnsLabel | None = Field(None, description="ServiceAccount the Ray pods run as.")

    @model_validator(mode="after")
    def _one_source_per_env_name(self) -> RaySettings:
        names = [item.name for item in self.secret_env]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"secretEnv defines {', '.join(twice)} more than once: keep one entry per name")
        both = sorted(set(self.env) & set(names))
        if both:
            raise ValueError(f"{', '.join(both)} is set in both env and secretEnv: the container would get two "
                             "entries and the later one silently wins; keep it in secretEnv only")
        if DRAIN_ENV in self.env or DRAIN_ENV in names:
            raise ValueError(f"{DRAIN_ENV} is set from workerGroups[].drainSeconds (which also sizes the worker "
                             "pods' terminationGracePeriodSeconds): set drainSeconds on the groups instead")
        return self

    def cpu_image(self) -> str:
        return self.image or f"rayproject/ray:{self.version}-{PYTHON_TAG}"

    def accelerator_image(self) -> str:
        return self.gpu_image or f"rayproject/ray-llm:{self.version}-{PYTHON_TAG}-cu128"


class HeadGroup(SpecModel):
    """The Ray head pod. By default it advertises no CPUs/GPUs to Ray so Serve replicas stay off it."""

    cpu: Quantity = Field("4", description="CPU request and limit of the head container.")
    memory: Quantity = Field("16Gi", description="Memory request and limit of the head container.")
    image: str | None = Field(None, description="Override the head image (default: `ray.image`).")
    ray_start_params: StringMap = Field(
        default_factory=dict,
        description='Extra `ray start` parameters, merged over the defaults {num-cpus: "0", num-gpus: "0", '
        'dashboard-host: "0.0.0.0"}.',
    )
    node_selector: StringMap = Field(default_factory=dict, description="Kubernetes nodeSelector for the head pod.")
    tolerations: list[Toleration] = Field(default_factory=list, description="Tolerations for the head pod.")
    labels: StringMap = Field(default_factory=dict, description="Extra labels on the head pod.")
    annotations: StringMap = Field(default_factory=dict, description="Extra annotations on the head pod.")
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] | None = Field(
        None, description="Type of the head Service KubeRay creates (default ClusterIP)."
    )


class WorkerGroup(SpecModel):
    """A group of identical Ray worker pods (KubeRay `workerGroupSpecs[]`)."""

    name: DnsLabel = Field(description="Group name (KubeRay `groupName`), unique in the spec.")
    replicas: int = Field(
        1, ge=0, le=INT32_MAX, description="Desired number of worker pods (each is `numOfHosts` pods)."
    )
    min_replicas: int = Field(0, ge=0, le=INT32_MAX, description="Lower bound the Ray autoscaler keeps.")
    max_replicas: int | None = Field(
        None, ge=0, le=INT32_MAX, description="Upper bound the Ray autoscaler may scale to (default: `replicas`)."
    )
    num_of_hosts: int = Field(
        1, ge=1, le=INT32_MAX,
        description="Pods per replica (multi-host groups, e.g. a model spread over several nodes)."
    )
    cpu: Quantity = Field("4", description="CPU request and limit of each worker container.")
    memory: Quantity = Field("16Gi", description="Memory request and limit of each worker container.")
    ephemeral_storage: Quantity | None = Field(None, description="Ephemeral-storage request of each worker.")
    gpus: int = Field(0, ge=0, le=INT32_MAX, description="GPUs per worker pod, requested with request == limit.")
    gpu_resource_name: str = Field(
        "nvidia.com/gpu", description="Extended resource name for the GPUs (e.g. `amd.com/gpu`)."
    )
    accelerator_type: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Ray accelerator type of these GPUs (e.g. A100, L4, H100): advertised to Ray as the "
        "`accelerator_type:<T>` resource, so LLM apps with `acceleratorType` land here and the autoscaler knows it.",
    )
    image: str | None = Field(
        None, description="Override the image (default: `ray.gpuImage` with GPUs, else `ray.image`)."
    )
    ray_start_params: StringMap = Field(default_factory=dict, description="Extra `ray start` parameters.")
    ray_resources: dict[str, float] = Field(
        default_factory=dict,
        description="Custom Ray resources each worker advertises (e.g. {cpu_pool: 1}) to steer replicas.",
    )
    node_selector: StringMap = Field(default_factory=dict, description="Kubernetes nodeSelector for the workers.")
    tolerations: list[Toleration] = Field(default_factory=list, description="Tolerations for the workers.")
    labels: StringMap = Field(default_factory=dict, description="Extra labels on the worker pods.")
    annotations: StringMap = Field(default_factory=dict, description="Extra annotations on the worker pods.")
    idle_timeout_seconds: int | None = Field(
        None, ge=0, le=INT32_MAX,
        description="Per-group autoscaler idle timeout (overrides `autoscaling.idleTimeoutSeconds`)."
    )
    drain_seconds: int = Field(
        120, ge=0, le=3600,
        description="How long a worker pod being deleted (kubectl delete, node drain, eviction) keeps serving "
        f"while Ray Serve starts its replicas elsewhere: Ray drains the node on SIGTERM for up to this long "
        f"(`{DRAIN_ENV}`) and the pod gets `terminationGracePeriodSeconds` = this + {DRAIN_GRACE_MARGIN_SECONDS}. "
        "A drained node stops as soon as it is idle. Raise it when a replacement replica takes longer to start "
        "(a new GPU node, a large model); 0 turns the drain off (Kubernetes' default 30 s grace, then SIGKILL). "
        "It is part of the pod template: changing it builds a new RayCluster, like any rayClusterConfig change.",
    )

    @property
    def termination_grace_period_seconds(self) -> int | None:
        return self.drain_seconds + DRAIN_GRACE_MARGIN_SECONDS if self.drain_seconds else None

    @property
    def effective_max_replicas(self) -> int:
        return self.replicas if self.max_replicas is None else self.max_replicas

    @model_validator(mode="after")
    def _replicas_within_bounds(self) -> WorkerGroup:
        upper = self.effective_max_replicas
        if self.min_replicas > upper:
            raise ValueError(
                f"minReplicas ({self.min_replicas}) is greater than maxReplicas ({upper}); "
                "raise maxReplicas or lower minReplicas"
            )
        if not self.min_replicas <= self.replicas <= upper:
            raise ValueError(
                f"replicas ({self.replicas}) must lie within minReplicas..maxReplicas "
                f"({self.min_replicas}..{upper}); adjust replicas or the bounds"
            )
        return self


class Autoscaling(SpecModel):
    """KubeRay's in-tree Ray autoscaler (adds and removes worker pods for pending Ray tasks/actors)."""

    enabled: bool = Field(False, description="Run the Ray autoscaler sidecar (`enableInTreeAutoscaling`).")
    upscaling_mode: Literal["Default", "Conservative", "Aggressive"] = Field(
        "Default", description="How fast the autoscaler adds pods."
    )
    idle_timeout_seconds: int = Field(
        60, ge=0, le=INT32_MAX, description="Seconds a worker must be idle before it is removed."
    )
    version: Literal["v1", "v2"] | None = Field(None, description="Autoscaler version (KubeRay default if unset).")
    cpu: Quantity = Field("500m", description="CPU request and limit of the autoscaler container.")
    memory: Quantity = Field("512Mi", description="Memory request and limit of the autoscaler container.")


class ClusterUpgradeOptions(SpecModel):
    """Options for `NewClusterWithIncrementalUpgrade` (needs the Gateway API in the cluster)."""

    gateway_class_name: str = Field(description="GatewayClass used to shift traffic between clusters.")
    max_surge_percent: int = Field(
        100, ge=0, le=100, description="Extra capacity (%) the new cluster may add per step."
    )
    step_size_percent: int = Field(10, ge=1, le=100, description="Traffic (%) moved to the new cluster per step.")
    interval_seconds: int = Field(30, ge=1, le=INT32_MAX, description="Seconds between traffic steps.")


class UpgradeStrategy(SpecModel):
    """How KubeRay rolls out a change to the Ray cluster config (never needed for Serve-config-only changes)."""

    type: Literal["NewCluster", "NewClusterWithIncrementalUpgrade", "None"] = Field(
        "NewCluster",
        description="NewCluster: build a whole new cluster, switch traffic, delete the old one (needs double "
        "capacity while both exist). NewClusterWithIncrementalUpgrade: shift traffic gradually. None: cluster "
        "changes are never rolled out.",
    )
    cluster_upgrade_options: ClusterUpgradeOptions | None = Field(
        None, description="Required for NewClusterWithIncrementalUpgrade."
    )

    @model_validator(mode="after")
    def _options_match_type(self) -> UpgradeStrategy:
        incremental = self.type == "NewClusterWithIncrementalUpgrade"
        if incremental and self.cluster_upgrade_options is None:
            raise ValueError("type NewClusterWithIncrementalUpgrade needs clusterUpgradeOptions.gatewayClassName")
        if not incremental and self.cluster_upgrade_options is not None:
            raise ValueError(f"clusterUpgradeOptions only applies to NewClusterWithIncrementalUpgrade, not {self.type}")
        return self


class GcsFaultTolerance(SpecModel):
    """GCS fault tolerance backed by an external Redis, so Serve survives a head pod restart."""

    redis_address: str = Field(description="host:port of the Redis server.")
    redis_password_secret: SecretKeyRef | None = Field(
        None, description="Secret key holding the Redis password (inline passwords are not accepted)."
    )
    external_storage_namespace: str | None = Field(
        None, description="Namespace inside Redis (default: the RayCluster's UID); keep it stable across upgrades."
    )
