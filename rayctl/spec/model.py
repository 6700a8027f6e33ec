"""The root of the spec: one YAML file that describes a whole RayService."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from rayctl.spec.base import SpecModel, StringMap
from rayctl.spec.cluster import (
    Autoscaling,
    GcsFaultTolerance,
    HeadGroup,
    RaySettings,
    UpgradeStrategy,
    WorkerGroup,
)
from rayctl.spec.serve import HIGH_THROUGHPUT_ENV, SERVE_ENV_PREFIX, ServeSettings

MAX_NAME_LENGTH = 47
"""KubeRay derives longer object names (RayCluster `<name>-raycluster-xxxxx`, services) from the RayService name."""

_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


class DeploymentSpec(SpecModel):
    """A Ray Serve deployment on Kubernetes: the Ray cluster and the Serve applications it runs."""

    name: str = Field(description="RayService name (DNS-1035 label, at most 47 characters).")
    namespace: str | None = Field(
        None, description="Namespace of the RayService (default: the kubectl context's namespace)."
    )
    labels: StringMap = Field(default_factory=dict, description="Labels added to every object rayctl renders.")
    annotations: StringMap = Field(default_factory=dict, description="Annotations on the RayService.")
    ray: RaySettings = Field(default_factory=RaySettings, description="Ray version, images and shared environment.")
    head: HeadGroup = Field(default_factory=HeadGroup, description="The Ray head pod.")
    worker_groups: list[WorkerGroup] = Field(
        default_factory=list, description="Worker groups; Serve replicas run here (the head advertises no CPUs)."
    )
    autoscaling: Autoscaling = Field(default_factory=Autoscaling, description="KubeRay's in-tree Ray autoscaler.")
    upgrade_strategy: UpgradeStrategy = Field(
        default_factory=UpgradeStrategy, description="How Ray cluster changes are rolled out."
    )
    gcs_fault_tolerance: GcsFaultTolerance | None = Field(
        None, description="External Redis for GCS fault tolerance (optional)."
    )
    serve: ServeSettings = Field(description="Ray Serve settings and applications.")

    def ray_env(self) -> dict[str, str]:
        """Plain env of every Ray container: `serve.highThroughput`'s switches, then `ray.env` (which wins)."""
        env = dict(HIGH_THROUGHPUT_ENV) if self.serve.high_throughput else {}
        env.update(self.ray.env)
        return dict(sorted(env.items()))

    def serve_env(self) -> dict[str, str]:
        """The part of `ray_env()` that tunes Ray Serve itself (`RAY_SERVE_*`): what `rayctl run` applies locally."""
        return {k: v for k, v in self.ray_env().items() if k.startswith(SERVE_ENV_PREFIX)}

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if len(value) > MAX_NAME_LENGTH:
            raise ValueError(
                f"{value!r} is {len(value)} characters; KubeRay allows at most {MAX_NAME_LENGTH} for a RayService "
                "name (it appends suffixes to build RayCluster and Service names): shorten it"
            )
        if not _DNS_1035.match(value):
            raise ValueError(
                f"{value!r} is not a DNS-1035 label: use lowercase letters, digits and '-', "
                "start with a letter and end with a letter or digit"
            )
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 63 or not re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", value)):
            raise ValueError(f"{value!r} is not a valid namespace name (DNS-1123 label)")
        return value

    @model_validator(mode="after")
    def _unique_groups(self) -> DeploymentSpec:
        names = [g.name for g in self.worker_groups]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"worker group names must be unique; repeated: {', '.join(dupes)}")
        return self
