"""How `rayctl dev up` applies a spec: the workflow every cluster verb takes (`rayctl.workflow.cluster`: load ->
spec -> render with the CPU profile -> the dev loop's edits -> validate against the cluster's CRDs), then the same
server-side apply as `rayctl apply` (field manager rayctl) and the same wait for Ready.

No second render path and no second CPU fallback: the CPU profile is `rayctl.profiles` (through `profile="cpu"`),
and the dev loop's own objects (code ConfigMap, NodePort Services) enter through the workflow's `transform` hook,
so they are checked like everything else before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Obj = dict[str, Any]
Wait = Callable[[Any, str, float], None]
"""(cluster, RayService name, timeout_s) -> None; raises when the RayService is not Ready in time."""


@dataclass(frozen=True)
class Applied:
    name: str  # the RayService
    namespace: str
    routes: list[str]  # route prefixes of the Serve applications
    lines: list[str]  # one line per applied object ("rayservice.ray.io/x configured")


def apply_cpu_profile(
    spec_path: Path,
    overrides: Sequence[str],
    *,
    transform: Callable[[list[Obj], str], list[Obj]],
    before_apply: Callable[[list[Obj], str], None] | None = None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    crd_dir: Path | None = None,
    wait: Wait | None = None,
    timeout_s: float,
    on_line: Callable[[str], None],
) -> Applied:
    """SPEC on the CPU profile through the workflow (`transform(objects, namespace)` adds the dev loop's objects
    before the cluster check), `before_apply(objects, namespace)` once it is valid, server-side apply, then
    `wait(cluster, name, timeout_s)` for Ready."""
    from rayctl.k8s.cluster import Target
    from rayctl.k8s.ops import apply_objects
    from rayctl.workflow.cluster import prepare_for_cluster

    ready = prepare_for_cluster(spec_path, overrides=overrides, profile="cpu",
                                target=Target(kubeconfig, context, namespace), crd_dir=crd_dir, transform=transform)
    for warning in ready.warnings:
        on_line(f"warning: {warning}")
    if before_apply is not None:
        before_apply(ready.objects, ready.cluster.namespace)
    results = apply_objects(ready.cluster, ready.objects, create_namespace=True)
    lines = [r.line() for r in results]
    for line in lines:
        on_line(line)
    if wait is not None:
        wait(ready.cluster, ready.name, timeout_s)
    serve_config = ready.prepared.require_rendered().serve_config
    routes = [str(a.get("route_prefix", "/")) for a in serve_config.get("applications", [])]
    return Applied(name=ready.name, namespace=ready.cluster.namespace, routes=routes, lines=lines)


def diff_cpu_profile(
    spec_path: Path,
    overrides: Sequence[str],
    *,
    transform: Callable[[list[Obj], str], list[Obj]],
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    crd_dir: Path | None = None,
) -> Any:
    """What `apply_cpu_profile` with the same arguments would change (the same objects: CPU profile + the dev
    loop's edits), and the planner's reading of it (in place or a new RayCluster): a `workflow.cluster.DiffReport`.
    Nothing is stored (server-side dry runs)."""
    from rayctl.k8s.cluster import Target
    from rayctl.workflow.cluster import diff_objects, prepare_for_cluster

    ready = prepare_for_cluster(spec_path, overrides=overrides, profile="cpu",
                                target=Target(kubeconfig, context, namespace), crd_dir=crd_dir, transform=transform)
    return diff_objects(ready.cluster, ready.objects)
