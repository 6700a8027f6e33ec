"""The typed read-model of a KubeRay RayService (`ray.io/v1`): one reading of a manifest for the validation rules,
the upgrade planner and `rayctl status`, so they agree by construction.

    model, findings = parse_rayservice(obj)   # never raises: wrong types become findings with field paths
    for group in model.cluster.workers:
        group.ray.gpu          # GPUs Ray sees in one pod (KubeRay's ray start rules, rayctl.model.resources)
        group.pod.gpu          # GPUs one pod reserves on a node (the scheduler's view)
        group.desired_pods()   # pods the operator creates

Layering: this package reads only rayctl.findings, rayctl.quantity, rayctl.helm_json (stdlib-only: copy_tree) and
PyYAML; it never imports validate, render, plan, k8s or cli.
"""

from rayctl.model import types
from rayctl.model.defaults import WORKER_GROUP_DEFAULTS, apply_schema_defaults
from rayctl.model.parse import parse_conditions, parse_container, parse_raycluster, parse_rayservice
from rayctl.model.read import Reader
from rayctl.model.resources import PodRequests, RayResources, is_gpu_resource
from rayctl.model.types import *  # noqa: F403  (the typed model's names, listed once: types.__all__)

__all__ = [
    *types.__all__,
    "WORKER_GROUP_DEFAULTS",
    "PodRequests",
    "RayResources",
    "Reader",
    "apply_schema_defaults",
    "is_gpu_resource",
    "parse_conditions",
    "parse_container",
    "parse_raycluster",
    "parse_rayservice",
]
