"""The cluster verbs' workflow: the file road of `workflow.files` plus the cluster (through the k8s adapter): its
CRD schemas for validation, server-side dry runs for `diff`, and the upgrade planner's reading of the change."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rayctl.apps.base import Profile
from rayctl.errors import ConflictError, NotFoundError
from rayctl.k8s.cluster import RAY_API_VERSION, Cluster, ClusterAPI, Target, connect, ref
from rayctl.k8s.fields import manager_fields, merge_fieldsets, project, strip_server_fields
from rayctl.k8s.ops import FIELD_MANAGER, set_namespace
from rayctl.plan import Plan, plan_rayservice, unified_diff
from rayctl.workflow.crds import ClusterCrds, CrdSource, FirstOf, local_source
from rayctl.workflow.files import InvalidError, Prepared, check, prepare

Obj = dict[str, Any]


@dataclass
class ForCluster:
    """A spec rendered, connected and checked against the cluster's own CRDs: ready to apply or diff."""

    prepared: Prepared
    cluster: Cluster
    objects: list[Obj]  # namespaced for the target cluster
    warnings: list[str]

    @property
    def name(self) -> str:
        """The RayService's name (a transform may put other objects first)."""
        service = next((o for o in self.objects if o.get("kind") == "RayService"), self.objects[0])
        return str(service["metadata"]["name"])


Transform = Callable[[list[Obj], str], list[Obj]]
"""An edit of the namespaced objects before the cluster check: (objects, namespace) -> objects."""


def prepare_for_cluster(path: str | Path, *, overrides: Sequence[str], profile: Profile, target: Target,
                        crd_dir: Path | None = None, transform: Transform | None = None) -> ForCluster:
    """Render and check the rules first (an invalid spec fails before any network), then connect and check the
    objects against the CRDs the cluster serves (falling back to local CRDs when they cannot be read).

    `transform` lets a front door add or edit objects for its target (`rayctl dev up`: the code ConfigMap and its
    mount, NodePort Services); what it returns is what gets checked and applied."""
    prepared = prepare(path, overrides=overrides, profile=profile, spec_only=True)
    assert prepared.spec is not None
    cluster = connect(target, default_namespace=prepared.spec.namespace)
    objects = set_namespace(prepared.objects, cluster.namespace)
    if transform is not None:
        objects = transform(objects, cluster.namespace)
    local = local_source(crd_dir)
    remote = ClusterCrds(cluster.get_crd, label=f"the cluster at {cluster.server}")
    crds: CrdSource = FirstOf([remote, local]) if local is not None else remote
    report = check(objects, source=prepared.source, crds=crds, ray_schema=True, doc=prepared.doc)
    if not report.ok:
        raise InvalidError(report)
    return ForCluster(prepared, cluster, objects, [str(w) for w in report.warnings] + report.notes)


# ------------------------------------------------------------------------------------------------------------- diff


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
    plan: Plan | None  # for the RayService
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


def managed_view(obj: Obj | None, fields: dict[str, Any], identity: Obj | None = None) -> Obj | None:
    """`obj` reduced to identity + the fields in the fieldsV1 set `fields`, without server bookkeeping. The
    identity comes from `identity` when given (reads of built-in kinds may come back without apiVersion/kind)."""
    if obj is None:
        return None
    stripped = strip_server_fields(obj) or {}
    view: Obj = project(stripped, fields)
    ident = _identity(identity or obj)
    view.setdefault("metadata", {}).update(ident["metadata"])
    view["apiVersion"] = ident["apiVersion"]
    view["kind"] = ident["kind"]
    return view


def _fields_of(obj: Any) -> dict[str, Any]:
    """A fieldsV1-like set covering every field of `obj` (lists as whole values)."""
    if isinstance(obj, dict):
        return {f"f:{k}": _fields_of(v) for k, v in obj.items()}
    return {".": {}}


def diff_objects(cluster: ClusterAPI, objects: Sequence[Obj]) -> DiffReport:
    """Compare the live objects with what applying `objects` would store (server-side dry run), restricted to the
    fields rayctl manages, and plan the RayService change."""
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
        live_view = managed_view(live, fields, identity=obj)
        desired_view = managed_view(merged, fields, identity=obj)
        text = unified_diff(live_view, desired_view, name=f"{kind.lower()}/{name}") if live_view != desired_view else ""
        diffs.append(ObjectDiff(ref=ref(obj), kind=kind, name=name, live=live_view, desired=desired_view,
                                diff=text, conflicts=conflicts))
        if kind == "RayService" and desired_rs is None:
            live_rs, merged_rs, desired_rs = live, merged, obj
    plan = None
    if desired_rs is not None:
        active = None
        if live_rs is not None:
            active_name = ((live_rs.get("status") or {}).get("activeServiceStatus") or {}).get("rayClusterName")
            if active_name:
                active = cluster.get(RAY_API_VERSION, "RayCluster", active_name,
                                     (live_rs.get("metadata") or {}).get("namespace"))
        # the planner reads spec, labels/annotations and (for an upgrade in progress) the live status
        plan = plan_rayservice(live_rs, merged_rs or desired_rs, active_cluster=active)
    return DiffReport(objects=diffs, plan=plan, live_rayservice=live_rs, merged_rayservice=merged_rs)
