"""The CPU profile's settings: how `profile: cpu` shrinks any spec to a laptop or kind cluster."""

from __future__ import annotations

from pydantic import Field

from rayctl.spec.base import Quantity, SpecModel

TINY_MODEL_PATH = "/opt/rayctl/models/tiny-llama"
"""Where rayctl's CPU image (docker/Dockerfile.cpu) ships a tiny random Llama for LLM apps under the CPU profile."""


class CpuBudget(SpecModel):
    """What all of the RayService's pods may request together under the CPU profile."""

    cpu: Quantity = Field("2", description="CPU for every Ray pod together (head, workers at `replicas`, autoscaler).")
    memory: Quantity = Field("8Gi", description="Memory for every Ray pod together.")


class CpuProfileSettings(SpecModel):
    """How `profile: cpu` (or `--profile cpu`) turns a GPU spec into one a laptop runs with the same topology: the
    same worker groups, replica bounds, routes and placement-group shapes (GPU bundles become CPU bundles, Ray still
    sees each group's CPU count through `num-cpus`), no accelerator requests, selectors or tolerations, the CPU image,
    every bundled app on its CPU fallback, small models, and pod resources scaled into `budget`."""

    budget: CpuBudget = Field(default_factory=CpuBudget, description="Resources every pod together may request.")
    image: str | None = Field(
        None, description="Image of every Ray pod under the CPU profile (default: `ray.image`, the CPU image)."
    )
    min_pod_cpu: Quantity = Field("200m", description="The least CPU a Ray pod gets when the budget is shared.")
    min_pod_memory: Quantity = Field(
        "1536Mi", description="The least memory a Ray pod gets (Ray's own processes need about 1 GiB)."
    )
    max_pod_cpu: Quantity = Field(
        "1",
        description="The most CPU one Ray pod requests, so that each pod fits on one node next to Kubernetes' own "
        "pods (a 2-core kind node keeps about 1 CPU for them) and a new cluster fits beside the old one.",
    )
    max_pod_memory: Quantity = Field(
        "4Gi", description="The most memory one Ray pod requests (half the default budget, so two pods share a node)."
    )
    max_model_len: int = Field(
        512, ge=16, description="Context length LLM apps are capped to under the CPU profile (small models)."
    )
