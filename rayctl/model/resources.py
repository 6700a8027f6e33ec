"""What a Ray pod offers Ray and what it asks the Kubernetes scheduler for: the derived views, in one place.

Two different questions, answered from the same parsed containers:

* **Ray's view** (`RayResources`, read by the validation rules and `rayctl status`): the resources `ray start` is
  told about, computed the way the KubeRay operator builds the command (ray-operator/controllers/ray/common/pod.go,
  v1.7: `updateRayStartParamsResources`, `generateRayStartCommand`, `addWellKnownAcceleratorResources`):

  1. the group's `rayStartParams` (strings) as written;
  2. the group's top-level `resources` map overrides them: `cpu` -> num-cpus, `memory` -> memory, a GPU key ->
     num-gpus (each rounded up to an integer), every other key replaces the `resources` JSON;
  3. only for what is still unset, **the Ray container** (`RayContainerIndex = 0` in utils/constant.go: "the Ray
     container must be the first application container"; KubeRay never looks at names) gives: num-cpus = CPU limit,
     else CPU request; memory = memory limit (a request alone does not count); num-gpus = the first GPU key (sorted;
     `*gpu` or `nvidia.com/mig-*`) among the limits; TPU / Neuron cores from `google.com/tpu` /
     `aws.amazon.com/neuroncore` limits into `resources` (all rounded up to integers, as Quantity.Value() does).

  Sidecar containers never count for Ray. A CPU or memory amount that nothing sets is `None`: Ray then measures
  the node itself, which the manifest cannot tell.

* **The scheduler's view** (`PodRequests`, read by the upgrade planner): what one pod reserves on a node: every
  container's requests (a request defaults to its limit, as the API server defaults it), sidecars included, and at
  least the largest init container; plus the containers the operator injects (the autoscaler sidecar on the head
  with in-tree autoscaling, 500m/512Mi unless `autoscalerOptions.resources` says otherwise, and the
  `wait-gcs-ready` init container on workers, 200m/256Mi).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from rayctl.findings import Collector
from rayctl.quantity import QuantityError, ceil_int, parse_quantity

_MIG = re.compile(r"nvidia\.com/mig-\d+g\.\d+gb$")
CUSTOM_ACCELERATORS = {"aws.amazon.com/neuroncore": "neuron_cores", "google.com/tpu": "TPU"}
ACCELERATOR_TYPE_PREFIX = "accelerator_type:"
ZERO = Decimal(0)

# What the operator adds to the pods it builds (ray-operator/controllers/ray/common/pod.go, v1.7).
AUTOSCALER_SIDECAR = {"cpu": Decimal("0.5"), "memory": Decimal(512 * 2**20)}  # BuildAutoscalerContainer
WAIT_GCS_READY_INIT = {"cpu": Decimal("0.2"), "memory": Decimal(256 * 2**20)}  # DefaultWorkerPodTemplate


def is_gpu_resource(name: str) -> bool:
    """KubeRay's utils.IsGPUResourceKey: `nvidia.com/gpu`, `amd.com/gpu`, ... or an NVIDIA MIG slice."""
    return name.endswith("gpu") or bool(_MIG.search(name))


@dataclass(frozen=True)
class RayResources:
    """What `ray start` is told one pod of a group has."""

    cpu: Decimal | None  # None: nothing sets it, Ray counts the node's CPUs itself
    gpu: Decimal
    memory: Decimal | None  # bytes; None: Ray measures the node
    custom: Mapping[str, float] = field(default_factory=dict)  # custom resources, accelerator_type:X included

    def offers(self) -> dict[str, float]:
        """Resource name -> amount as Ray's scheduler sees it (an amount nothing sets counts as 0)."""
        return {"CPU": float(self.cpu or 0), "GPU": float(self.gpu), "memory": float(self.memory or 0),
                **self.custom}

    def accelerator_types(self) -> set[str]:
        return {k[len(ACCELERATOR_TYPE_PREFIX):] for k in self.custom if k.startswith(ACCELERATOR_TYPE_PREFIX)}


@dataclass(frozen=True)
class PodRequests:
    """What one pod reserves on a node (the scheduler's view)."""

    amounts: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def cpu(self) -> Decimal:
        return self.amounts.get("cpu", ZERO)

    @property
    def memory(self) -> Decimal:
        return self.amounts.get("memory", ZERO)

    @property
    def gpu(self) -> Decimal:
        return sum((v for k, v in self.amounts.items() if is_gpu_resource(k)), ZERO)


def container_requests(requests: Mapping[str, Decimal], limits: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """A container's effective requests: a resource with only a limit requests its limit (API server default)."""
    return {**limits, **requests}


def pod_requests(containers: Iterable[Mapping[str, Decimal]], init_containers: Iterable[Mapping[str, Decimal]] = (),
                 ) -> PodRequests:
    """Kubernetes' effective pod request: the sum over containers, at least the largest init container."""
    total: dict[str, Decimal] = {}
    for amounts in containers:
        for name, value in amounts.items():
            total[name] = total.get(name, ZERO) + value
    for amounts in init_containers:
        for name, value in amounts.items():
            total[name] = max(total.get(name, ZERO), value)
    return PodRequests(total)


def _start_param_int(params: Mapping[str, str], key: str, path: str, out: Collector) -> Decimal | None:
    """`ray start` takes num-cpus, num-gpus and memory as whole numbers; anything else makes the pod crash."""
    text = params.get(key)
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value != value.to_integral_value() or value < 0:
        out.error(f"{path}.rayStartParams.{key}", f"{text!r} is not a whole number: `ray start --{key}` takes one "
                                                  "(e.g. '4'; quantities like 500m or 16Gi are not understood)")
        return None
    return value


def start_param_resources(text: str | None, path: str, out: Collector) -> dict[str, float]:
    """The `resources` rayStartParam: JSON of custom resources, usually quoted (`'"{\\"A\\": 1}"'` or `'{"A": 1}'`)."""
    if text is None:
        return {}
    raw = text.strip().strip("'\"` ")
    for candidate in (raw, raw.replace('\\"', '"')):  # `ray start` gets it through a shell, which unescapes \"
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict) and all(isinstance(v, int | float) and not isinstance(v, bool)
                                          for v in data.values()):
            return {str(k): float(v) for k, v in data.items()}
        break
    out.error(f"{path}.rayStartParams.resources", f"{text!r} is not a JSON map of resource amounts, e.g. "
                                                  "'{\"my_resource\": 1}': `ray start --resources` would fail")
    return {}


def ray_resources(
    params: Mapping[str, str],
    group_resources: Mapping[str, str],
    ray_limits: Mapping[str, Decimal],
    ray_requests: Mapping[str, Decimal],
    path: str,
    out: Collector,
) -> RayResources:
    """What KubeRay tells `ray start` about one pod of a group (see the module docstring for the rules)."""
    cpu = _start_param_int(params, "num-cpus", path, out)
    gpu = _start_param_int(params, "num-gpus", path, out)
    memory = _start_param_int(params, "memory", path, out)
    custom = start_param_resources(params.get("resources"), path, out)
    overridden: dict[str, float] = {}
    for name, text in group_resources.items():
        try:
            amount = parse_quantity(text)
        except QuantityError as exc:
            out.error(f"{path}.resources.{name}", f"{exc}: the operator skips it, so Ray does not get this resource")
            continue
        lower = name.lower()
        if lower == "cpu":
            cpu = Decimal(ceil_int(amount))
        elif lower == "memory":
            memory = Decimal(ceil_int(amount))
        elif is_gpu_resource(lower):
            gpu = Decimal(ceil_int(amount))
        else:
            overridden[name] = float(amount)
    if overridden:
        custom = overridden  # the top-level map replaces the resources rayStartParam as a whole
    if cpu is None:
        limit = ray_limits.get("cpu") or ray_requests.get("cpu")
        cpu = Decimal(ceil_int(limit)) if limit else None
    if memory is None and ray_limits.get("memory"):
        memory = Decimal(ceil_int(ray_limits["memory"]))
    if gpu is None:
        gpu_keys = sorted(k for k, v in ray_limits.items() if is_gpu_resource(k) and v)
        gpu = Decimal(ceil_int(ray_limits[gpu_keys[0]])) if gpu_keys else ZERO
    if not any(name in custom for name in CUSTOM_ACCELERATORS.values()):
        for key in sorted(ray_limits):
            if key in CUSTOM_ACCELERATORS and ray_limits[key]:
                custom = {**custom, CUSTOM_ACCELERATORS[key]: float(ray_limits[key])}
                break
    return RayResources(cpu=cpu, gpu=gpu, memory=memory, custom=custom)
