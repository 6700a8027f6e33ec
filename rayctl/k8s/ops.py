"""The operations behind the cluster commands (apply, diff, status, delete, wait). The CLI calls one of these.

Everything here works against the ClusterAPI interface, so unit tests can pass a fake.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rayctl.errors import ClusterError, ConflictError, InputError, NotFoundError
from rayctl.k8s.cluster import RAY_API_VERSION, ApplyResult, ClusterAPI, ref, resource_info
from rayctl.k8s.fields import manager_fields, merge_fieldsets, project, strip_server_fields
from rayctl.k8s.status import collect_view, rollout_done

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


def load_and_render(spec_path: Any, overrides: Sequence[str] = ()) -> tuple[Any, Any]:
    """Load the spec and render it: (DeploymentSpec, Rendered)."""
    from rayctl.render import render
    from rayctl.spec import load_spec

    spec = load_spec(spec_path, list(overrides))
    return spec, render(spec)


def validate_for_cluster(cluster: ClusterAPI, objects: Sequence[Obj]) -> list[str]:
    """Validate the rendered objects against the CRD schemas the cluster serves (falling back to
    $RAYCTL_CRD_DIR when the CRDs cannot be read, e.g. no RBAC on CRDs). Raises InputError on errors; returns
    the warnings."""
    from rayctl.validate import default_crd_dir, validate_objects
    from rayctl.validate.crd import crd_schema

    schemas: dict[str, dict[str, Any]] = {}
    for kind, plural in (("RayService", "rayservices"), ("RayCluster", "rayclusters")):
        if not any(o.get("kind") == kind for o in objects):
            continue
        try:
            crd = cluster.get_crd(f"{plural}.ray.io")
        except ClusterError:
            crd = None
        version = next(
            (str(o.get("apiVersion", "")).rpartition("/")[2] for o in objects if o.get("kind") == kind), "v1"
        )
        schema = crd_schema(crd, version) if crd else None
        if schema is not None:
            schemas[kind] = schema
    report = validate_objects(list(objects), crd_dir=default_crd_dir(), crd_schemas=schemas or None)
    return check_report(report)


def check_report(report: Any) -> list[str]:
    """Raise InputError for a validation report with errors; return its warnings as strings."""
    errors = list(getattr(report, "errors", []) or [])
    if errors:
        shown = "; ".join(str(e) for e in errors[:5]) + (f" (+{len(errors) - 5} more)" if len(errors) > 5 else "")
        raise InputError(f"the rendered objects are invalid: {shown}", hint="run `rayctl validate` for details")
    return [str(w) for w in getattr(report, "warnings", []) or []]


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
                    note=f"not sent: namespace {ns} does not exist yet",
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
# diff


@dataclass
class ObjectDiff:
    ref: str
    kind: str
    name: str
    live: Obj | None  # projected onto the fields rayctl manages (plus identity)
    desired: Obj | None
    diff: str
    conflicts: list[str] = field(default_factory=list)


@dataclass
class DiffReport:
    objects: list[ObjectDiff]
    plan: Any  # rayctl.plan.Plan for the RayService
    live_rayservice: Obj | None = None
    merged_rayservice: Obj | None = None

    @property
    def changed(self) -> bool:
        return any(o.diff for o in self.objects)


def _identity(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    ident: Obj = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {"name": meta.get("name")},
    }
    if meta.get("namespace"):
        ident["metadata"]["namespace"] = meta["namespace"]
    return ident


def managed_view(obj: Obj | None, fields: dict[str, Any]) -> Obj | None:
    """`obj` reduced to identity + the fields in the fieldsV1 set `fields`, without server bookkeeping."""
    if obj is None:
        return None
    stripped = strip_server_fields(obj) or {}
    view: Obj = project(stripped, fields)
    ident = _identity(obj)
    view.setdefault("metadata", {}).update(ident["metadata"])
    view["apiVersion"] = ident["apiVersion"]
    view["kind"] = ident["kind"]
    return view


def diff_objects(cluster: ClusterAPI, objects: Sequence[Obj]) -> DiffReport:
    """Compare the live objects with what applying `objects` would store (server-side dry-run), restricted to
    the
    fields rayctl manages, and plan the RayService change."""
    from rayctl.plan import plan_rayservice, unified_diff

    diffs: list[ObjectDiff] = []
    live_rs: Obj | None = None
    merged_rs: Obj | None = None
    desired_rs: Obj | None = None
    for obj in objects:
        kind = str(obj.get("kind"))
        meta = obj.get("metadata") or {}
        name = str(meta.get("name"))
        ns = meta.get("namespace")
        live = cluster.get(str(obj.get("apiVersion")), kind, name, ns)
        conflicts: list[str] = []
        try:
            merged = cluster.apply([obj], field_manager=FIELD_MANAGER, force=False, dry_run=True)[0].object
        except ConflictError as exc:
            conflicts.append(exc.message)
            merged = cluster.apply([obj], field_manager=FIELD_MANAGER, force=True, dry_run=True)[0].object
        except NotFoundError:
            # e.g. the namespace does not exist yet: everything is new
            merged = copy.deepcopy(obj)
        fields = merge_fieldsets(manager_fields(live, FIELD_MANAGER), manager_fields(merged, FIELD_MANAGER))
        if not fields:
            fields = _fields_of(obj)
        live_view = managed_view(live, fields)
        desired_view = managed_view(merged, fields)
        text = unified_diff(live_view, desired_view, name=f"{kind.lower()}/{name}") if live_view != desired_view else ""
        diffs.append(
            ObjectDiff(
                ref=ref(obj),
                kind=kind,
                name=name,
                live=live_view,
                desired=desired_view,
                diff=text,
                conflicts=conflicts,
            )
        )
        if kind == "RayService" and desired_rs is None:
            live_rs, merged_rs, desired_rs = live, merged, obj
    plan = None
    if desired_rs is not None:
        active = None
        if live_rs is not None:
            active_name = ((live_rs.get("status") or {}).get("activeServiceStatus") or {}).get("rayClusterName")
            if active_name:
                active = cluster.get(
                    RAY_API_VERSION,
                    "RayCluster",
                    active_name,
                    (live_rs.get("metadata") or {}).get("namespace"),
                )
        # the planner reads spec, labels/annotations and (for an upgrade in progress) the live status
        plan = plan_rayservice(live_rs, merged_rs or desired_rs, active_cluster=active)
    return DiffReport(objects=diffs, plan=plan, live_rayservice=live_rs, merged_rayservice=merged_rs)


def _fields_of(obj: Any) -> dict[str, Any]:
    """A fieldsV1-like set covering every field of `obj` (lists as whole values)."""
    if isinstance(obj, dict):
        return {f"f:{k}": _fields_of(v) for k, v in obj.items()}
    return {".": {}}


# ------------------------------------------------------------------------------------------------------------
# wait / delete


def wait_ready(
    cluster: ClusterAPI,
    name: str,
    namespace: str | None,
    *,
    timeout: float,
    on_update: Callable[[Obj], None] | None = None,
    interval: float = 2.0,
) -> tuple[bool, Obj | None]:
    """Poll until the RayService has rolled out (see status.rollout_done). Returns (done, last view)."""
    deadline = time.monotonic() + timeout
    view: Obj | None = None
    while True:
        view = collect_view(cluster, name, namespace, with_events=False)
        if view is None:
            raise NotFoundError(f"rayservice.ray.io/{name} not found in namespace {namespace or cluster.namespace}")
        if on_update is not None:
            on_update(view)
        if rollout_done(view):
            return True, view
        if time.monotonic() >= deadline:
            final = collect_view(cluster, name, namespace, with_events=True)
            return False, final or view
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
