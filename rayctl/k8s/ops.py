"""Cluster operations of the adapter: server-side apply (taking back fields the operator co-owns by accident),
delete, and polling waits. Everything here works against the ClusterAPI interface, so unit tests can pass a fake.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

from rayctl.errors import ConflictError, NotFoundError
from rayctl.k8s.cluster import RAY_API_VERSION, ApplyResult, ClusterAPI, ref, resource_info
from rayctl.k8s.status import StatusObjects, read_status_objects

Obj = dict[str, Any]
FIELD_MANAGER = "rayctl"


# Field managers whose spec ownership is an artefact, not intent: the KubeRay operator PUTs the whole RayService
# once (to add its finalizer), which makes it co-own `workerGroupSpecs` (an atomic list) whenever its Go
# round-trip changed the list (e.g. it adds `scaleStrategy: {}`). rayctl takes such fields back automatically.
ARTEFACT_MANAGERS = frozenset({"kuberay-operator"})


def set_namespace(objects: Sequence[Obj], namespace: str) -> list[Obj]:
    """Copies of `objects` with metadata.namespace set on every namespaced object, normalised so that the
    operator's Go round-trip does not change them (see normalize_for_operator)."""
    out = []
    for obj in objects:
        o = copy.deepcopy(obj)
        _, namespaced = resource_info(str(o.get("kind", "")))
        if namespaced:
            o.setdefault("metadata", {})["namespace"] = namespace
        out.append(normalize_for_operator(o))
    return out


def normalize_for_operator(obj: Obj) -> Obj:
    """Add the zero values KubeRay's Go types always serialise in a worker group (`scaleStrategy: {}`), so the
    operator's one-time Update of the RayService leaves `workerGroupSpecs` unchanged and rayctl keeps sole
    ownership of it (otherwise the next apply conflicts with field manager kuberay-operator)."""
    spec = obj.get("spec") or {}
    cluster = spec.get("rayClusterConfig") if obj.get("kind") == "RayService" else spec
    if obj.get("kind") not in ("RayService", "RayCluster") or not isinstance(cluster, dict):
        return obj
    for group in cluster.get("workerGroupSpecs") or []:
        if isinstance(group, dict):
            group.setdefault("scaleStrategy", {})
    return obj


def apply_objects(
    cluster: ClusterAPI,
    objects: Sequence[Obj],
    *,
    force: bool = False,
    dry_run: bool = False,
    create_namespace: bool = False,
) -> list[ApplyResult]:
    """Server-side apply `objects` (RayService first) with field manager rayctl."""
    results: list[ApplyResult] = []
    checked: set[tuple[str, str]] = set()
    for obj in objects:
        key = (str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        if key not in checked:
            check = getattr(cluster, "check_api", None)
            if check is not None:
                check(*key)
            checked.add(key)
    namespaces = sorted(
        {str((o.get("metadata") or {}).get("namespace")) for o in objects if (o.get("metadata") or {}).get("namespace")}
    )
    missing_ns: set[str] = set()
    if create_namespace:
        for ns in namespaces:
            created = cluster.ensure_namespace(ns, dry_run=dry_run)
            if created is not None:
                results.append(created)
                if dry_run:
                    missing_ns.add(ns)
    for obj in objects:
        obj_ns = (obj.get("metadata") or {}).get("namespace")
        if obj_ns in missing_ns:
            # A dry-run cannot apply into a namespace that was only dry-run created.
            results.append(
                ApplyResult(
                    ref=ref(obj),
                    kind=str(obj.get("kind")),
                    name=str(obj["metadata"]["name"]),
                    namespace=obj_ns,
                    action="created",
                    dry_run=True,
                    object=obj,
                    note=f"not sent: namespace {obj_ns} does not exist yet",
                )
            )
            continue
        try:
            results.extend(cluster.apply([obj], field_manager=FIELD_MANAGER, force=force, dry_run=dry_run))
        except ConflictError as exc:
            conflicts: list[tuple[str, str]] = getattr(exc, "conflicts", [])
            if force or not conflicts or any(owner not in ARTEFACT_MANAGERS for _, owner in conflicts):
                raise
            [result] = cluster.apply([obj], field_manager=FIELD_MANAGER, force=True, dry_run=dry_run)
            result.note = "took back " + ", ".join(f for f, _ in conflicts) + " from kuberay-operator"
            results.append(result)
    return results


# ------------------------------------------------------------------------------------------------------------
# wait / delete


def wait_ready(
    cluster: ClusterAPI,
    name: str,
    namespace: str | None,
    *,
    timeout: float,
    view: Callable[[StatusObjects], Obj],
    done: Callable[[Obj], bool],
    on_update: Callable[[Obj], None] | None = None,
    interval: float = 2.0,
) -> tuple[bool, Obj | None]:
    """Poll until `done(view(objects))` (rayctl.status.build_view_from / rollout_done). Returns (done, last view)."""
    deadline = time.monotonic() + timeout
    last: Obj | None = None
    while True:
        objects = read_status_objects(cluster, name, namespace, with_events=False)
        if objects is None:
            raise NotFoundError(f"rayservice.ray.io/{name} not found in namespace {namespace or cluster.namespace}")
        last = view(objects)
        if on_update is not None:
            on_update(last)
        if done(last):
            return True, last
        if time.monotonic() >= deadline:
            final = read_status_objects(cluster, name, namespace, with_events=True)
            return False, view(final) if final is not None else last
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def delete_rayservice(
    cluster: ClusterAPI,
    name: str,
    namespace: str | None,
    *,
    wait: bool,
    timeout: float,
    on_tick: Callable[[list[str]], None] | None = None,
) -> tuple[bool, list[str]]:
    """Delete the RayService. Returns (existed, leftovers): leftovers are objects still present after the
    wait."""
    ns = namespace or cluster.namespace
    clusters = [
        (c.get("metadata") or {}).get("name")
        for c in cluster.list_rayclusters(ns, label_selector=f"ray.io/originated-from-cr-name={name}")
    ]
    existed = cluster.delete(RAY_API_VERSION, "RayService", name, ns, propagation="Background")
    if not existed or not wait:
        return existed, []
    deadline = time.monotonic() + timeout
    left: list[str] = []
    while True:
        left = []
        if cluster.get_rayservice(name, ns) is not None:
            left.append(f"rayservice.ray.io/{name}")
        for c in clusters:
            if c and cluster.get(RAY_API_VERSION, "RayCluster", c, ns) is not None:
                left.append(f"raycluster.ray.io/{c}")
        if on_tick is not None:
            on_tick(left)
        if not left or time.monotonic() >= deadline:
            return True, left
        time.sleep(1.0)
