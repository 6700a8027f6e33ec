"""Profiles: one spec -> the spec that runs somewhere else. `cpu` shrinks any (GPU) spec to a laptop or kind
cluster while keeping its production topology; it is the only CPU fallback (render, apply, `rayctl run`, `dev up`
and the Helm chart all go through it). `gpu` changes no cluster shape (the renderer puts every app on its GPU path).
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from rayctl.errors import InputError
from rayctl.quantity import parse_quantity
from rayctl.spec.cluster import WorkerGroup
from rayctl.spec.model import DeploymentSpec
from rayctl.spec.profile import CpuProfileSettings

Profile = Literal["cpu", "gpu"] | None

ACCELERATOR_KEY_PATTERN = r"gpu|accelerator|nvidia\.com|amd\.com|habana|neuron|tpu"
"""Node-selector and toleration keys that pin a pod to accelerator nodes (none on a laptop); case-insensitive."""
_ACCELERATOR_KEY = re.compile(ACCELERATOR_KEY_PATTERN, re.IGNORECASE)


def effective_profile(spec: DeploymentSpec, override: Profile) -> Profile:
    """`--profile` wins over the spec's own `profile`."""
    return override if override is not None else spec.profile


def apply_profile(spec: DeploymentSpec, profile: Profile) -> DeploymentSpec:
    return cpu_profile(spec) if profile == "cpu" else spec


def _millis(quantity: str) -> int:
    """CPU in millicores, rounded up. All profile arithmetic is on exact integers small enough for int64 (the Helm
    chart's port computes with Sprig's int64 `mul`/`div`: millibytes overflowed it, 16Gi x 8Gi x 10^6 > 2^63)."""
    return math.ceil(parse_quantity(quantity) * 1000)


def _mebibytes(quantity: str) -> int:
    """Memory in whole MiB, rounded up (what the profile writes is whole MiB anyway)."""
    return math.ceil(parse_quantity(quantity) / 2**20)


def _cpu_text(millis: int) -> str:
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def _memory_text(mebibytes: int) -> str:
    return f"{mebibytes // 1024}Gi" if mebibytes % 1024 == 0 else f"{mebibytes}Mi"


def _shares(sizes: list[tuple[int, int]], budget: int, floor: int) -> list[int]:
    """Scale every size (integers) by one factor so that sum(count x size) fits `budget`, no size below `floor`
    (all sizes are kept when they already fit). Pods counted 0 times (groups at zero replicas) get the same factor.
    Integer arithmetic only: size x (budget - pinned) // free."""
    total = sum(count * size for count, size in sizes)
    if total <= budget:
        return [size for _, size in sizes]
    pinned: set[int] = set()
    while True:
        room = budget - sum(sizes[i][0] * floor for i in pinned)
        free = sum(count * size for i, (count, size) in enumerate(sizes) if i not in pinned)
        if free == 0 or room <= 0:
            return [floor for _ in sizes]
        newly = {i for i, (_, size) in enumerate(sizes) if i not in pinned and size * room // free < floor}
        if not newly:
            return [floor if i in pinned else max(floor, size * room // free) for i, (_, size) in enumerate(sizes)]
        pinned |= newly


def _scaled_resources(spec: DeploymentSpec, settings: CpuProfileSettings) -> tuple[list[str], list[str]]:
    """(cpu, memory) of the head, the autoscaler and each worker group, scaled into the budget."""
    pods: list[tuple[int, str, str]] = [(1, spec.head.cpu, spec.head.memory)]
    if spec.autoscaling.enabled:
        pods.append((1, spec.autoscaling.cpu, spec.autoscaling.memory))
    pods += [(g.replicas * g.num_of_hosts, g.cpu, g.memory) for g in spec.worker_groups]
    counts = [count for count, _, _ in pods]
    counted = sum(counts)
    shared: dict[str, list[int]] = {}
    for what, sizes, floor, cap, budget, units in (
        ("cpu", [cpu for _, cpu, _ in pods], settings.min_pod_cpu, settings.max_pod_cpu, settings.budget.cpu,
         _millis),
        ("memory", [mem for _, _, mem in pods], settings.min_pod_memory, settings.max_pod_memory,
         settings.budget.memory, _mebibytes),
    ):
        field = what.capitalize()
        if units(cap) < units(floor):
            raise InputError(
                f"cpuProfile.maxPod{field}: {cap} is below cpuProfile.minPod{field} ({floor}): raise "
                f"cpuProfile.maxPod{field} or lower cpuProfile.minPod{field}"
            )
        if counted * units(floor) > units(budget):
            raise InputError(
                f"cpuProfile.budget.{what}: {counted} Ray pods need at least {counted} x {floor}, but the budget is "
                f"{budget}: raise cpuProfile.budget.{what}, lower cpuProfile.minPod{field}, or lower "
                "workerGroups[].replicas"
            )
        shares = _shares([(n, units(size)) for n, size in zip(counts, sizes, strict=True)], units(budget),
                         units(floor))
        # Each share is then capped, so that no pod is too large for one node (a budget shared by few pods is not).
        shared[what] = [min(share, units(cap)) for share in shares]
    # CPU in whole millicores, memory in whole MiB (rounded down, so the sums stay within the budget).
    return [_cpu_text(c) for c in shared["cpu"]], [_memory_text(m) for m in shared["memory"]]


def _off_accelerators(selector: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in selector.items() if not _ACCELERATOR_KEY.search(k)}


def _cpu_group(group: WorkerGroup, cpu: str, memory: str) -> WorkerGroup:
    """The group on CPUs: no accelerators, scaled resources, and the same logical CPUs and memory for Ray (so
    Serve replicas and placement groups land exactly as in production)."""
    params = dict(group.ray_start_params)
    ray_resources = dict(group.ray_resources)
    logical_cpus, logical_memory = math.ceil(parse_quantity(group.cpu)), int(parse_quantity(group.memory))
    if ray_resources:
        # KubeRay refuses num-cpus/memory in rayStartParams next to a group's `resources` (and reads CPU and memory
        # from there, whatever their case): say them in `resources` too
        named = {key.lower() for key in ray_resources}
        if "cpu" not in named:
            ray_resources["CPU"] = logical_cpus
        if "memory" not in named:
            ray_resources["memory"] = logical_memory
    else:
        params.setdefault("num-cpus", str(logical_cpus))
        params.setdefault("memory", str(logical_memory))
    return group.model_copy(update={
        "ray_resources": ray_resources,
        "gpus": 0,
        "accelerator_type": None,
        "image": None,
        "cpu": cpu,
        "memory": memory,
        "ephemeral_storage": None,
        "ray_start_params": params,
        "node_selector": _off_accelerators(group.node_selector),
        "tolerations": [t for t in group.tolerations if not (t.key and _ACCELERATOR_KEY.search(t.key))],
    })


def cpu_profile(spec: DeploymentSpec) -> DeploymentSpec:
    """`spec` for a laptop / kind cluster (see CpuProfileSettings for what changes and what stays)."""
    settings = spec.cpu_profile
    cpus, memories = _scaled_resources(spec, settings)
    head_cpu, head_memory = cpus.pop(0), memories.pop(0)
    update: dict[str, Any] = {}
    if spec.autoscaling.enabled:
        update["autoscaling"] = spec.autoscaling.model_copy(update={"cpu": cpus.pop(0), "memory": memories.pop(0)})
    ray = spec.ray.model_copy(update={
        "image": settings.image or spec.ray.image,
        # A laptop has no Hugging Face Secret and needs none (small local models): start the pods without it.
        "secret_env": [e.model_copy(update={"optional": True}) for e in spec.ray.secret_env],
    })
    head = spec.head.model_copy(update={
        "cpu": head_cpu, "memory": head_memory, "image": None,
        "node_selector": _off_accelerators(spec.head.node_selector),
        "tolerations": [t for t in spec.head.tolerations if not (t.key and _ACCELERATOR_KEY.search(t.key))],
    })
    groups = [_cpu_group(g, cpu, mem) for g, cpu, mem in zip(spec.worker_groups, cpus, memories, strict=True)]
    serve = spec.serve.model_copy(update={"applications": [a.for_cpu(settings) for a in spec.serve.applications]})
    update.update(ray=ray, head=head, worker_groups=groups, serve=serve, profile="cpu",
                  gcs_fault_tolerance=None)  # no external Redis on a laptop
    return spec.model_copy(update=update)
