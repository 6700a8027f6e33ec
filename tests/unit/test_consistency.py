"""The validation rules, the upgrade planner and `rayctl status` count the same CPUs and GPUs for one manifest.

Each reads the RayService through rayctl.model, so they agree by construction; this test reads each one's own
output (a rule's message, the plan, the status view) for manifests shaped the ways that used to split them:
several containers per pod, limits only, requests only, rayStartParams overrides. Two numbers per pod, by design:
what Ray is told (rules, status: the Ray container only, KubeRay's `ray start` rules) and what the scheduler
reserves (planner: every container); the table says where they differ and why.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from rayctl.plan import plan_rayservice
from rayctl.status import build_view
from rayctl.validate import validate_objects
from tests.conftest import RENDERED

Obj = dict[str, Any]
LLAMA: Obj = yaml.safe_load((RENDERED / "llama-70b-tp4.yaml").read_text())
PODS = 2  # fixed worker replicas, Ray autoscaler off: capacity = per pod x 2
SIDECAR = {"name": "exporter", "image": "x", "resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                                           "limits": {"cpu": "1", "memory": "1Gi"}}}
GPU_SIDECAR = {"name": "profiler", "image": "x", "resources": {"limits": {"nvidia.com/gpu": "1"}}}


def manifest(container: Obj, *, params: Obj | None = None, sidecars: tuple[Obj, ...] = ()) -> Obj:
    rs = copy.deepcopy(LLAMA)
    cluster = rs["spec"]["rayClusterConfig"]
    cluster["enableInTreeAutoscaling"] = False
    group = cluster["workerGroupSpecs"][0]
    group.update(replicas=PODS, minReplicas=PODS, maxReplicas=PODS, rayStartParams=params or {})
    group["template"]["spec"]["containers"][0]["resources"] = container
    group["template"]["spec"]["containers"].extend(copy.deepcopy(list(sidecars)))
    return rs


CASES: list[tuple[str, Obj, tuple[float, float], tuple[float, float]]] = [
    # id, manifest, Ray (CPU, GPU) per pod, scheduler (CPU, GPU) per pod
    ("requests-and-limits", manifest({"requests": {"cpu": "16", "nvidia.com/gpu": "4"},
                                      "limits": {"cpu": "16", "nvidia.com/gpu": "4"}}), (16, 4), (16, 4)),
    ("limits-only", manifest({"limits": {"cpu": "16", "nvidia.com/gpu": "4"}}), (16, 4), (16, 4)),
    ("requests-only-cpu", manifest({"requests": {"cpu": "16"}}), (16, 0), (16, 0)),
    ("cpu-limit-above-request", manifest({"requests": {"cpu": "8"}, "limits": {"cpu": "16", "nvidia.com/gpu": "2"}}),
     (16, 2), (8, 2)),  # Ray is told the limit; the scheduler reserves the request
    ("multi-container", manifest({"limits": {"cpu": "16", "nvidia.com/gpu": "4"}}, sidecars=(SIDECAR, GPU_SIDECAR)),
     (16, 4), (17, 5)),  # sidecars run no Ray, but take node room
    ("fractional-cpu", manifest({"limits": {"cpu": "1500m"}}), (2, 0), (1.5, 0)),  # ray start gets whole CPUs
    ("ray-start-params-override", manifest({"limits": {"cpu": "16", "nvidia.com/gpu": "4"}},
                                           params={"num-cpus": "6", "num-gpus": "2"}), (6, 2), (16, 4)),
]

PROBE = """applications:
- name: probe
  import_path: my.module:app
  route_prefix: /probe
  deployments:
  - name: Gpu
    num_replicas: 1000
    ray_actor_options: {{num_cpus: 0, num_gpus: 1}}
  - name: Cpu
    num_replicas: 1
    ray_actor_options: {{num_cpus: {cpus}}}
"""


def rules_gpu_capacity(rs: Obj) -> float:
    """The GPUs the rules say the worker groups can ever provide (from the capacity error's message)."""
    probe = copy.deepcopy(rs)
    probe["spec"]["serveConfigV2"] = PROBE.format(cpus=0)
    messages = [e.message for e in validate_objects([probe], ray_schema=False).errors]
    [found] = [m for m in messages if "can provide at most" in m]
    return float(re.search(r"can provide at most ([0-9.]+)", found).group(1))  # type: ignore[union-attr]


def rules_cpu_fits(rs: Obj, cpus: float) -> bool:
    probe = copy.deepcopy(rs)
    probe["spec"]["serveConfigV2"] = PROBE.format(cpus=cpus)
    errors = validate_objects([probe], ray_schema=False).errors
    return not any("deployments[1]" in e.path and "short of CPU" in e.message for e in errors)


def status_group(rs: Obj) -> Obj:
    live = copy.deepcopy(rs)
    live["status"] = {"activeServiceStatus": {"rayClusterName": "c1"}}
    cluster = {"metadata": {"name": "c1"}, "spec": copy.deepcopy(rs["spec"]["rayClusterConfig"])}
    view = build_view(live, [cluster], [], None)
    [group] = [g for g in view["clusters"][0]["groups"] if g["name"] != "headgroup"]
    return group


@pytest.mark.parametrize(("rs", "ray", "scheduler"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rules_planner_and_status_agree(rs: Obj, ray: tuple[float, float], scheduler: tuple[float, float]) -> None:
    ray_cpu, ray_gpu = ray
    # rayctl status: what one pod offers Ray, and how many pods
    group = status_group(rs)
    assert (group["rayResourcesPerPod"]["CPU"], group["rayResourcesPerPod"]["GPU"]) == (ray_cpu, ray_gpu)
    assert group["desired"] == PODS
    # the rules: GPU capacity (per pod x pods) and the largest replica CPU ask that fits
    if ray_gpu:
        assert rules_gpu_capacity(rs) == ray_gpu * PODS
    assert rules_cpu_fits(rs, ray_cpu) and not rules_cpu_fits(rs, ray_cpu + 1)
    # the planner: what the new cluster reserves on the nodes
    plan = plan_rayservice(None, rs)
    assert plan.extra_resources is not None
    [worker] = [g for g in plan.extra_resources.groups if g.group != "head"]
    assert (worker.cpu_per_pod, worker.gpus_per_pod, worker.pods) == (*scheduler, PODS)
    assert plan.extra_resources.gpus == scheduler[1] * PODS  # the head has no GPU
