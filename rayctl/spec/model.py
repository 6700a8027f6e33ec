"""The root of the spec: one YAML file that describes a whole RayService."""

from __future__ import annotations

import re
from collections import Counter
from typing import Literal

from pydantic import Field, field_validator, model_validator

from rayctl.errors import shorten
from rayctl.spec.base import SpecModel, StringMap
from rayctl.spec.cluster import (
    Autoscaling,
    GcsFaultTolerance,
    HeadGroup,
    RaySettings,
    UpgradeStrategy,
    WorkerGroup,
)
from rayctl.spec.expose import ExposeSettings
from rayctl.spec.inline_secrets import InlineSecretsError, find_inline_secrets, unused_allowances
from rayctl.spec.monitoring import HAPROXY_ONLY_PORTS, MonitoringSettings
from rayctl.spec.profile import CpuProfileSettings
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
    labels: StringMap = Field(
        default_factory=dict,
        description="Labels on every object rayctl renders (top-level metadata only; pod labels: `head.labels`, "
        "`workerGroups[].labels`, since KubeRay rebuilds the cluster when a pod label changes).",
    )
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
    expose: ExposeSettings = Field(
        default_factory=ExposeSettings, description="Objects that expose the Serve endpoint outside the cluster."
    )
    monitoring: MonitoringSettings = Field(
        default_factory=MonitoringSettings,
        description="Prometheus scraping (PodMonitor or a plain scrape config), Grafana dashboards and alerts for the "
        "RayService; every part is off until written.",
    )
    profile: Literal["cpu", "gpu"] | None = Field(
        None,
        description="cpu: the whole spec shrunk to a laptop or kind cluster (see `cpuProfile`); gpu: every bundled "
        "app on its GPU path; unset: as written. `--profile` on the command line overrides it.",
    )
    cpu_profile: CpuProfileSettings = Field(
        default_factory=CpuProfileSettings, description="How the CPU profile shrinks this spec."
    )
    allow_inline_secrets: list[str] = Field(
        default_factory=list,
        description="Fields whose literal value rayctl writes into the manifest although its name (HF_TOKEN, "
        "REDIS_PASSWORD, AWS_*, *_KEY, redis-password, ...) or its text (a password in a URL, an access token) looks "
        "like a secret, each named as rayctl's error names it (e.g. `ray.env.TEST_TOKEN`); without it such a value is "
        "an error whose fix is a Secret reference (`ray.secretEnv`, `gcsFaultTolerance.redisPasswordSecret`). For "
        "test fixtures and values that only look like secrets: the value is readable by anyone who can read the "
        "RayService.",
    )

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
    def _no_inline_secrets(self) -> DeploymentSpec:
        found = find_inline_secrets(self, self.allow_inline_secrets)
        if found:
            raise InlineSecretsError(found)
        unused = unused_allowances(self, self.allow_inline_secrets)
        if unused:
            raise ValueError(f"allowInlineSecrets: {', '.join(repr(u) for u in unused)} names no secret-looking value "
                             "in this spec; list fields exactly as rayctl's errors name them, or drop the entry")
        return self

    @model_validator(mode="after")
    def _unique_groups(self) -> DeploymentSpec:
        names = [g.name for g in self.worker_groups]
        dupes = sorted(n for n, count in Counter(names).items() if count > 1)  # linear: 200 000 groups stay fast
        if dupes:
            raise ValueError(f"worker group names must be unique; repeated: {shorten(', '.join(dupes))}")
        return self

    @model_validator(mode="after")
    def _scraped_ports_served(self) -> DeploymentSpec:
        scrapers = (("podMonitor", self.monitoring.pod_monitor), ("scrapeConfig", self.monitoring.scrape_config))
        for field, part in scrapers:
            if part is None or not part.enabled:
                continue
            for port in [] if self.serve.high_throughput else sorted(set(part.ports) & HAPROXY_ONLY_PORTS):
                raise ValueError(
                    f"monitoring.{field}.ports: {port!r} is served only in Serve's HAProxy mode: set "
                    "serve.highThroughput: true or drop the port"
                )
        return self
