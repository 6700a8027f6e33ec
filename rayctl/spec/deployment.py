"""Ray Serve options of one deployment (`deployments[]` in Ray's config), shared by every application type."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from rayctl.quantity import parse_quantity
from rayctl.spec.base import SERVE_INT_MAX, Quantity, SpecModel

MAX_BUNDLES = 4096
"""The most placement-group bundles one replica may ask for (as many as an LLM engine's GPUs may be)."""
PlacementStrategy = Literal["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"]
Device = Literal["auto", "gpu", "cpu"]


class ServeAutoscaling(SpecModel):
    """Ray Serve replica autoscaling (`autoscaling_config`): replicas follow ongoing requests."""

    min_replicas: int = Field(1, ge=0, le=SERVE_INT_MAX, description="Fewest replicas (0 allows scale to zero).")
    max_replicas: int = Field(ge=1, le=SERVE_INT_MAX, description="Most replicas.")
    initial_replicas: int | None = Field(
        None, ge=0, le=SERVE_INT_MAX, description="Replicas at deploy time (default: minReplicas)."
    )
    target_ongoing_requests: float | None = Field(
        None, gt=0, description="Ongoing requests per replica the autoscaler aims for (Ray default 2)."
    )
    metrics_interval_s: float | None = Field(None, gt=0, description="How often replicas report metrics.")
    look_back_period_s: float | None = Field(None, gt=0, description="Window over which metrics are averaged.")
    smoothing_factor: float | None = Field(None, gt=0, description="Multiplier on every scaling decision.")
    upscale_smoothing_factor: float | None = Field(None, gt=0, description="Multiplier on upscaling decisions.")
    downscale_smoothing_factor: float | None = Field(None, gt=0, description="Multiplier on downscaling decisions.")
    upscaling_factor: float | None = Field(None, gt=0, description="Alias of upscaleSmoothingFactor in newer Ray.")
    downscaling_factor: float | None = Field(None, gt=0, description="Alias of downscaleSmoothingFactor in newer Ray.")
    upscale_delay_s: float | None = Field(None, ge=0, description="Seconds of sustained load before scaling up.")
    downscale_delay_s: float | None = Field(None, ge=0, description="Seconds of low load before scaling down.")
    downscale_to_zero_delay_s: float | None = Field(
        None, ge=0, description="Seconds at one idle replica before scaling to zero."
    )
    aggregation_function: Literal["mean", "max", "min"] | None = Field(
        None, description="How per-replica metrics are combined."
    )

    @model_validator(mode="after")
    def _bounds(self) -> ServeAutoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) is greater than maxReplicas ({self.max_replicas})")
        if self.initial_replicas is not None and not (
            self.min_replicas <= self.initial_replicas <= self.max_replicas
        ):
            raise ValueError(
                f"initialReplicas ({self.initial_replicas}) must lie within "
                f"minReplicas..maxReplicas ({self.min_replicas}..{self.max_replicas})"
            )
        return self


class RayActorOptions(SpecModel):
    """Resources and runtime environment of each replica actor (`ray_actor_options`)."""

    num_cpus: float | None = Field(None, ge=0, description="CPUs each replica reserves (Ray default 1).")
    num_gpus: float | None = Field(None, ge=0, description="GPUs each replica reserves.")
    memory: Quantity | None = Field(None, description="Memory each replica reserves (e.g. 4Gi).")
    resources: dict[str, float] = Field(default_factory=dict, description="Custom Ray resources each replica needs.")
    accelerator_type: str | None = Field(None, description="Ray accelerator type the replica must run on (e.g. A100).")
    runtime_env: dict[str, Any] | None = Field(None, description="Per-deployment Ray runtime_env.")

    @field_validator("memory")
    @classmethod
    def _whole_bytes(cls, value: str | None) -> str | None:
        if value is None:
            return value
        amount = parse_quantity(value)
        if amount != int(amount) or amount < 1:
            hint = f" (did you mean {value[:-1]}Mi?)" if value.endswith("m") else ""
            raise ValueError(f"{value!r} is {float(amount):g} bytes: Ray reserves an actor's memory in whole bytes, at "
                             f"least 1{hint}")
        return value

    def to_serve(self, *, cpu_only: bool) -> dict[str, Any]:
        """Ray's `ray_actor_options` keys; `cpu_only` drops the GPU and accelerator asks."""
        out: dict[str, Any] = {}
        if self.num_cpus is not None:
            out["num_cpus"] = self.num_cpus
        if self.num_gpus is not None and not cpu_only:
            out["num_gpus"] = self.num_gpus
        if self.memory is not None:
            out["memory"] = int(parse_quantity(self.memory))
        if self.resources:
            out["resources"] = dict(sorted(self.resources.items()))
        if self.accelerator_type is not None and not cpu_only:
            out["accelerator_type"] = self.accelerator_type
        if self.runtime_env is not None:
            out["runtime_env"] = self.runtime_env
        return out


class DeploymentOptions(SpecModel):
    """Ray Serve options of one deployment; rendered into `serveConfigV2` in Ray's snake_case."""

    num_replicas: int | Literal["auto"] | None = Field(
        None, description='Fixed replica count, or "auto" for Ray\'s default autoscaling; excludes `autoscaling` '
        "unless \"auto\"."
    )
    autoscaling: ServeAutoscaling | None = Field(None, description="Replica autoscaling (`autoscaling_config`).")
    max_ongoing_requests: int | None = Field(
        None, ge=1, le=SERVE_INT_MAX,
        description="Requests one replica handles at once (Ray default 5; raise it for batching)."
    )
    max_queued_requests: int | None = Field(
        None, ge=-1, le=SERVE_INT_MAX,
        description="Requests queued per caller before Serve answers 503 (-1: unbounded)."
    )
    ray_actor_options: RayActorOptions | None = Field(None, description="Replica actor resources.")
    placement_group_bundles: list[dict[str, float]] | None = Field(
        None, min_length=1, max_length=MAX_BUNDLES,
        description="Placement group bundles per replica; the replica actor runs in bundle 0."
    )
    placement_group_strategy: PlacementStrategy | None = Field(
        None, description="Placement strategy of the bundles (needs placementGroupBundles)."
    )
    max_replicas_per_node: int | None = Field(
        None, ge=1, le=SERVE_INT_MAX,
        description="Most replicas of this deployment on one node (not with placement bundles)."
    )
    health_check_period_s: float | None = Field(None, gt=0, description="Seconds between health checks.")
    health_check_timeout_s: float | None = Field(None, gt=0, description="Seconds before a health check fails.")
    graceful_shutdown_wait_loop_s: float | None = Field(
        None, gt=0, description="Seconds between checks for drained requests at shutdown."
    )
    graceful_shutdown_timeout_s: float | None = Field(
        None, ge=0, description="Seconds to wait for in-flight requests before a replica is killed."
    )
    user_config: dict[str, Any] | None = Field(
        None, description="Live-updatable config passed to the deployment's `reconfigure` (no restart)."
    )

    @model_validator(mode="after")
    def _serve_rules(self) -> DeploymentOptions:
        if isinstance(self.num_replicas, int) and self.autoscaling is not None:
            raise ValueError(
                "numReplicas and autoscaling are mutually exclusive: drop numReplicas to autoscale, "
                'or set numReplicas: "auto"'
            )
        if isinstance(self.num_replicas, int) and self.num_replicas < 1:
            raise ValueError("numReplicas must be at least 1 (use autoscaling with minReplicas: 0 to scale to zero)")
        if isinstance(self.num_replicas, int) and self.num_replicas > SERVE_INT_MAX:
            raise ValueError(f"numReplicas must be at most {SERVE_INT_MAX} (got {self.num_replicas})")
        if self.placement_group_strategy is not None and not self.placement_group_bundles:
            raise ValueError("placementGroupStrategy requires placementGroupBundles")
        if self.max_replicas_per_node is not None and self.placement_group_bundles:
            raise ValueError("maxReplicasPerNode cannot be combined with placementGroupBundles (Ray rejects it)")
        return self

    def asks_for_gpus(self) -> bool:
        actor = self.ray_actor_options
        if actor is not None and (actor.num_gpus or 0) > 0:
            return True
        return any(b.get("GPU", 0) > 0 for b in self.placement_group_bundles or [])

    def to_serve(self, *, cpu_only: bool) -> dict[str, Any]:
        """These options in Ray's `deployments[]` keys (without `name`). `cpu_only` strips the GPU asks."""
        out: dict[str, Any] = {}
        if self.num_replicas is not None:
            out["num_replicas"] = self.num_replicas
        if self.autoscaling is not None:
            out["autoscaling_config"] = self.autoscaling.model_dump(by_alias=False, exclude_none=True)
        for key in ("max_ongoing_requests", "max_queued_requests"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.ray_actor_options is not None:
            actor = self.ray_actor_options.to_serve(cpu_only=cpu_only)
            if actor:
                out["ray_actor_options"] = actor
        if self.placement_group_bundles is not None:
            bundles = [dict(b) for b in self.placement_group_bundles]
            if cpu_only:
                bundles = [{k: v for k, v in b.items() if k != "GPU"} or {"CPU": 1} for b in bundles]
            out["placement_group_bundles"] = bundles
        if self.placement_group_strategy is not None:
            out["placement_group_strategy"] = self.placement_group_strategy
        for key in (
            "max_replicas_per_node",
            "health_check_period_s",
            "health_check_timeout_s",
            "graceful_shutdown_wait_loop_s",
            "graceful_shutdown_timeout_s",
            "user_config",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out
