"""The typed read-model of a KubeRay RayService (`ray.io/v1`) and of the RayClusters it owns.

Frozen dataclasses built by `rayctl.model.parse`: every field has the type it says, whatever the input held (a
wrong type became a finding and the field its default). Maps are plain dicts and sequences tuples; treat them as
read-only. Each part keeps `path`, its field path in the object, so rules can point at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from rayctl.model.resources import PodRequests, RayResources

__all__ = [  # what `rayctl.model` re-exports
    "HEAD_GROUP", "UPGRADE_STRATEGIES", "AppStatus", "ClusterConfig", "Condition", "Container", "DeploymentStatus",
    "EnvVar", "HeadGroup", "Metadata", "PodTemplate", "RayClusterModel", "RayServiceModel", "RayServiceSpec",
    "RayServiceStatus", "ServeApp", "ServeConfig", "ServeStatus", "ServiceStatus", "UpgradeStrategy", "WorkerGroup",
    "find_condition",
]

UpgradeStrategy = Literal["NewCluster", "NewClusterWithIncrementalUpgrade", "None"]
UPGRADE_STRATEGIES: tuple[UpgradeStrategy, ...] = ("NewCluster", "NewClusterWithIncrementalUpgrade", "None")
HEAD_GROUP = "headgroup"  # the ray.io/group label of the head pod


@dataclass(frozen=True)
class Metadata:
    name: str = ""
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    generation: int | None = None
    deletion_timestamp: str | None = None


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None = None  # None with value_from set, or when the entry has neither
    value_from: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ContainerPort:
    container_port: int | None
    name: str | None = None
    protocol: str = "TCP"


@dataclass(frozen=True)
class Container:
    path: str
    name: str = ""
    image: str = ""
    env: tuple[EnvVar, ...] = ()
    ports: tuple[ContainerPort, ...] = ()
    requests: Mapping[str, Decimal] = field(default_factory=dict)
    limits: Mapping[str, Decimal] = field(default_factory=dict)

    def env_value(self, name: str) -> str | None:
        """The literal value of env var `name` (the last entry wins, as in Kubernetes), or None."""
        found = None
        for var in self.env:
            if var.name == name:
                found = var.value
        return found


@dataclass(frozen=True)
class PodTemplate:
    path: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    containers: tuple[Container, ...] = ()
    init_containers: tuple[Container, ...] = ()
    restart_policy: str | None = None
    termination_grace_period_seconds: int | None = None  # None: Kubernetes' default, 30

    @property
    def ray_container(self) -> Container | None:
        """The container KubeRay runs Ray in: always the first one (utils.RayContainerIndex = 0)."""
        return self.containers[0] if self.containers else None


@dataclass(frozen=True)
class HeadGroup:
    path: str
    template: PodTemplate
    ray_start_params: Mapping[str, str] = field(default_factory=dict)
    resources: Mapping[str, str] = field(default_factory=dict)  # the group's top-level Ray resources
    ray: RayResources = field(default_factory=lambda: RayResources(None, Decimal(0), None))
    pod: PodRequests = field(default_factory=PodRequests)  # one head pod, as the operator builds it
    name: str = HEAD_GROUP
    labels: Mapping[str, str] = field(default_factory=dict)  # the group's top-level Ray node labels
    service_name: str | None = None  # headService.metadata.name (a RayService must not set it)


@dataclass(frozen=True)
class WorkerGroup:
    path: str
    index: int
    group_name: str
    template: PodTemplate
    replicas: int = 0  # the CRD defaults (rayctl.model.defaults) are applied
    min_replicas: int = 0
    max_replicas: int = 2147483647
    num_of_hosts: int = 1
    suspend: bool = False
    idle_timeout_seconds: int | None = None
    ray_start_params: Mapping[str, str] = field(default_factory=dict)
    resources: Mapping[str, str] = field(default_factory=dict)
    ray: RayResources = field(default_factory=lambda: RayResources(None, Decimal(0), None))
    pod: PodRequests = field(default_factory=PodRequests)  # one worker pod, as the operator builds it
    labels: Mapping[str, str] = field(default_factory=dict)  # the group's top-level Ray node labels

    @property
    def name(self) -> str:
        return self.group_name

    def desired_pods(self, *, ignore_replicas: bool = False) -> int:
        """Pods the RayCluster controller creates (utils.GetWorkerGroupDesiredReplicas): replicas clamped to
        minReplicas..maxReplicas, times numOfHosts; 0 when suspended. `ignore_replicas`: start from minReplicas
        (what an incremental upgrade's new cluster does)."""
        if self.suspend:
            return 0
        wanted = self.min_replicas if ignore_replicas else self.replicas  # an omitted replicas is 0 (CRD default)
        wanted = min(max(wanted, self.min_replicas), self.max_replicas)
        return max(wanted, 0) * max(self.num_of_hosts, 1)

    def max_pods(self, autoscaling: bool) -> int:
        """Most pods the group can ever run: maxReplicas with the Ray autoscaler, else the pods it is given."""
        if self.suspend:
            return 0
        return max(self.max_replicas, 0) * max(self.num_of_hosts, 1) if autoscaling else self.desired_pods()


@dataclass(frozen=True)
class ClusterConfig:
    """A RayCluster spec: `spec.rayClusterConfig` of a RayService, or a RayCluster's `spec`."""

    path: str
    head: HeadGroup
    workers: tuple[WorkerGroup, ...] = ()
    ray_version: str = ""
    enable_in_tree_autoscaling: bool = False
    autoscaler_options: Mapping[str, Any] | None = None
    gcs_fault_tolerance: Mapping[str, Any] | None = None  # gcsFaultToleranceOptions, when present
    suspend: bool = False
    auth_mode: str | None = None  # authOptions.mode, when set

    @property
    def autoscaler_version(self) -> str | None:
        version = (self.autoscaler_options or {}).get("version")
        return version if isinstance(version, str) else None

    def gpu_capacity(self, autoscaling: bool | None = None) -> Decimal:
        """The most GPUs the worker groups can ever give Ray at once."""
        scaling = self.enable_in_tree_autoscaling if autoscaling is None else autoscaling
        return sum((g.ray.gpu * g.max_pods(scaling) for g in self.workers), Decimal(0))


@dataclass(frozen=True)
class ServeApp:
    path: str
    index: int
    raw: Mapping[str, Any]  # the application as written (rules check its keys against Ray's schema)
    name: str
    import_path: str = ""
    route_prefix: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    deployments: tuple[tuple[int, Mapping[str, Any]], ...] = ()  # (index, options) of each deployment mapping


@dataclass(frozen=True)
class ServeConfig:
    """`spec.serveConfigV2`: the YAML text, what it parses to, and its applications."""

    text: str | None = None  # None: the field is absent
    value: Any = None  # the parsed YAML (any type); None when absent, unparsable or not a string
    error: str | None = None  # why it could not be parsed
    applications: tuple[ServeApp, ...] = ()

    @property
    def present(self) -> bool:
        return self.text is not None or self.error is not None


@dataclass(frozen=True)
class RayServiceSpec:
    cluster: ClusterConfig
    serve_config: ServeConfig = field(default_factory=ServeConfig)
    upgrade_strategy: str | None = None  # upgradeStrategy.type as written (rules check it is an UpgradeStrategy)
    upgrade_options: Mapping[str, Any] | None = None  # upgradeStrategy.clusterUpgradeOptions, when present
    exclude_head_pod_from_serve_svc: bool = False
    ray_cluster_deletion_delay_seconds: int | None = None
    serve_service: Mapping[str, Any] | None = None
    deprecated_fields: tuple[str, ...] = ()  # present fields KubeRay v1.7 ignores


@dataclass(frozen=True)
class Condition:
    type: str
    status: str = ""
    reason: str = ""
    message: str = ""
    last_transition_time: str | None = None

    @property
    def true(self) -> bool:
        return self.status == "True"


def find_condition(conditions: tuple[Condition, ...], cond_type: str) -> Condition | None:
    return next((c for c in conditions if c.type == cond_type), None)


@dataclass(frozen=True)
class ServeStatus:
    """What KubeRay reports for one Serve application or deployment: its status (RUNNING, DEPLOYING, UNHEALTHY,
    ...) and Serve's message."""

    name: str
    status: str = ""
    message: str = ""


@dataclass(frozen=True)
class DeploymentStatus(ServeStatus):
    """One deployment of a Serve application (`serveDeploymentStatuses`)."""


@dataclass(frozen=True)
class AppStatus(ServeStatus):
    """One Serve application (`applicationStatuses`) and its deployments."""

    deployments: tuple[DeploymentStatus, ...] = ()


@dataclass(frozen=True)
class ServiceStatus:
    """activeServiceStatus / pendingServiceStatus: the cluster and its Serve applications."""

    cluster_name: str = ""
    applications: tuple[AppStatus, ...] = ()


@dataclass(frozen=True)
class RayServiceStatus:
    conditions: tuple[Condition, ...] = ()
    observed_generation: int | None = None
    num_serve_endpoints: int = 0
    active: ServiceStatus = field(default_factory=ServiceStatus)
    pending: ServiceStatus = field(default_factory=ServiceStatus)

    def condition(self, cond_type: str) -> Condition | None:
        return find_condition(self.conditions, cond_type)

    def is_true(self, cond_type: str) -> bool:
        found = self.condition(cond_type)
        return found is not None and found.true


@dataclass(frozen=True)
class RayServiceModel:
    api_version: str
    kind: str
    metadata: Metadata
    spec: RayServiceSpec
    status: RayServiceStatus = field(default_factory=RayServiceStatus)

    @property
    def cluster(self) -> ClusterConfig:
        return self.spec.cluster


@dataclass(frozen=True)
class RayClusterModel:
    metadata: Metadata
    cluster: ClusterConfig
    state: str = ""
    conditions: tuple[Condition, ...] = ()

    @property
    def num_worker_groups(self) -> int | None:
        """The `ray.io/num-worker-groups` annotation the RayService controller stamps on clusters it built."""
        value = self.metadata.annotations.get("ray.io/num-worker-groups", "")
        return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None
