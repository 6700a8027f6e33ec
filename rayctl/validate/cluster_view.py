"""What each worker group offers to Ray, read from a RayService manifest (as KubeRay computes it)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rayctl.spec.quantity import parse_quantity


@dataclass
class GroupView:
    name: str
    path: str
    replicas: int
    min_replicas: int
    max_replicas: int
    num_of_hosts: int
    cpus: float
    gpus: float
    memory: float  # bytes
    resources: dict[str, float] = field(default_factory=dict)  # custom Ray resources, accelerator_type:X included

    def offers(self) -> dict[str, float]:
        return {"CPU": self.cpus, "GPU": self.gpus, "memory": self.memory, **self.resources}

    def accelerator_types(self) -> set[str]:
        return {k.split(":", 1)[1] for k in self.resources if k.startswith("accelerator_type:")}


def _limit(container: dict[str, Any], name: str) -> Any:
    resources = container.get("resources") or {}
    for section in ("limits", "requests"):
        value = (resources.get(section) or {}).get(name)
        if value is not None:
            return value
    return None


def _gpu_limit(container: dict[str, Any]) -> float:
    resources = container.get("resources") or {}
    total = 0.0
    for section in ("limits", "requests"):
        for key, value in (resources.get(section) or {}).items():
            if key.endswith("/gpu"):
                total = max(total, parse_quantity(value))
    return total


def _quantity(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return parse_quantity(value if isinstance(value, int | float) else str(value))
    except ValueError:
        return None


def _start_param_resources(params: dict[str, Any]) -> dict[str, float]:
    raw = params.get("resources")
    if not raw:
        return {}
    text = str(raw).strip()
    # KubeRay's documented form is '"{\"A\": 1}"' (quoted JSON); accept plain JSON too.
    if text.startswith('"') and text.endswith('"'):
        text = text[1:-1].replace('\\"', '"')
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _int(value: Any, default: int) -> int:
    """Ints from hand-written manifests; a wrong type is the CRD check's to report, not a crash here."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def group_views(rayservice: dict[str, Any], *, autoscaling_aware: bool = True) -> list[GroupView]:
    cluster = ((rayservice.get("spec") or {}).get("rayClusterConfig")) or {}
    views = []
    for index, group in enumerate(cluster.get("workerGroupSpecs") or []):
        if not isinstance(group, dict):
            continue
        containers = (((group.get("template") or {}).get("spec") or {}).get("containers")) or [{}]
        container = containers[0] if isinstance(containers[0], dict) else {}
        params = {str(k): v for k, v in (group.get("rayStartParams") or {}).items()}
        cpus = _quantity(params.get("num-cpus")) if "num-cpus" in params else _quantity(_limit(container, "cpu"))
        gpus = _quantity(params.get("num-gpus")) if "num-gpus" in params else _gpu_limit(container)
        memory = _quantity(params.get("memory")) if "memory" in params else _quantity(_limit(container, "memory"))
        resources = _start_param_resources(params)
        for key, value in (group.get("resources") or {}).items():
            amount = _quantity(value)
            if amount is not None:
                resources[str(key)] = amount
        views.append(GroupView(
            name=str(group.get("groupName", f"#{index}")),
            path=f"spec.rayClusterConfig.workerGroupSpecs[{index}]",
            replicas=_int(group.get("replicas"), 0),
            min_replicas=_int(group.get("minReplicas"), 0),
            max_replicas=_int(group.get("maxReplicas"), 2147483647),
            num_of_hosts=max(_int(group.get("numOfHosts"), 1), 1),
            cpus=cpus or 0.0,
            gpus=gpus or 0.0,
            memory=memory or 0.0,
            resources=resources,
        ))
    return views


def max_pods(group: GroupView, autoscaling: bool) -> int:
    """Most pods the group can ever run: maxReplicas with the Ray autoscaler, else the fixed replicas."""
    return (group.max_replicas if autoscaling else group.replicas) * group.num_of_hosts


def fits(need: dict[str, float], offer: dict[str, float]) -> list[str]:
    """Names of the resources in `need` that `offer` cannot cover."""
    return [k for k, v in need.items() if v > 0 and offer.get(k, 0.0) + 1e-9 < v]
