"""The upgrade planner: given the live RayService and the desired one, predict what KubeRay v1.7.0 will do.

Pure: dicts in, a Plan out, no network and no Kubernetes client. Groups, pods, GPUs and the RayService's status are
read through the typed read-model (rayctl.model), the same reading the validation rules and `rayctl status` use;
the cluster hash and the changed paths are computed on the raw objects, as the operator hashes the raw spec.

The rules mirror ray-operator/controllers/ray/rayservice_controller.go (KubeRay v1.7.0):

* `generateHashWithoutReplicasAndWorkersToDelete` hashes `spec.rayClusterConfig` with every worker group's
  `replicas`, `minReplicas`, `maxReplicas` and `scaleStrategy.workersToDelete` muted. The hash is stored on the
  RayCluster (annotation `ray.io/hash-without-replicas-and-workers-to-delete`) together with
  `ray.io/num-worker-groups`.
* `shouldPrepareNewCluster`: if the goal hash equals the cluster's hash -> nothing; if it equals when the goal's
  worker groups are truncated to the cluster's `num-worker-groups` (groups appended at the end, existing ones only
  changed in replicas) -> the RayCluster is updated in place (`shouldUpdateCluster` / `modifyRayCluster`, which copies
  the whole spec, replicas included); otherwise a new (pending) RayCluster is created only if zero-downtime upgrade is
  enabled (`isZeroDowntimeUpgradeEnabled`: `upgradeStrategy.type` NewCluster, or NewClusterWithIncrementalUpgrade
  with the RayServiceIncrementalUpgrade feature gate, or unset and the operator's ENABLE_ZERO_DOWNTIME != "false").
  With `upgradeStrategy.type: None` the change is never rolled out.
* Consequently an edit of only replicas/minReplicas/maxReplicas is silently not propagated to the RayCluster.
* `serveConfigV2` is compared as a string with the config cached per cluster (`checkIfNeedSubmitServeApplications`)
  and re-submitted to the Ray dashboard in place: to the active cluster, or to the pending one during an upgrade.
* The Serve/head Services are only re-pointed when the cluster switches (`reconcileServices`), so `serveService`
  edits wait for the next cluster switch.

One function per change class: `_plan_create`, `classify_cluster_change` (-> `_replica_edits_outcome`,
`_appended_groups_outcome`, `_rebuild_outcome`), `_serve_config_outcome`, `_settings_outcome`, `_metadata_outcome`;
`plan_rayservice` runs them and `_overall` picks the rollout.
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

import yaml

from rayctl.findings import Collector
from rayctl.model import (
    ClusterConfig,
    PodRequests,
    RayClusterModel,
    RayServiceModel,
    Reader,
    WorkerGroup,
    parse_raycluster,
    parse_rayservice,
)
from rayctl.model.parse import parse_cluster_config
from rayctl.secrets import redact, redact_pair

Obj = dict[str, Any]

NUM_WORKER_GROUPS_ANNOTATION = "ray.io/num-worker-groups"
REPLICA_FIELDS = ("replicas", "minReplicas", "maxReplicas")

Rollout = Literal[
    "none", "create", "in_place", "new_cluster", "new_cluster_incremental", "not_rolled_out", "no_effect"
]
ROLLOUT_NONE: Final[Rollout] = "none"  # no change at all
ROLLOUT_CREATE: Final[Rollout] = "create"  # the RayService does not exist yet
ROLLOUT_IN_PLACE: Final[Rollout] = "in_place"  # applied to the running cluster, no new RayCluster
ROLLOUT_NEW_CLUSTER: Final[Rollout] = "new_cluster"  # blue/green: a new RayCluster, traffic switches when ready
ROLLOUT_INCREMENTAL: Final[Rollout] = "new_cluster_incremental"  # new RayCluster, gradual traffic migration
ROLLOUT_NOT_ROLLED_OUT: Final[Rollout] = "not_rolled_out"  # stored, but the operator will not act on it
ROLLOUT_NO_EFFECT: Final[Rollout] = "no_effect"  # metadata-only changes, stored, nothing rolls out
# The overall rollout of a plan is its most consequential step, in this order.
ROLLOUT_PRECEDENCE: Final[tuple[Rollout, ...]] = (
    ROLLOUT_NEW_CLUSTER, ROLLOUT_INCREMENTAL, ROLLOUT_IN_PLACE, ROLLOUT_NOT_ROLLED_OUT, ROLLOUT_NO_EFFECT
)

ActionKind = Literal[
    "create",
    "serve_config_in_place",
    "new_cluster",
    "new_cluster_incremental",
    "cluster_change_not_rolled_out",
    "replicas_not_propagated",
    "worker_groups_appended",
    "rayservice_settings",
    "metadata_only",
]
ClusterChange = Literal["equal", "appended", "rebuilt"]


@dataclass
class Action:
    """One consequence of the change, in the operator's terms."""

    kind: ActionKind
    summary: str
    details: list[str] = field(default_factory=list)


@dataclass
class GroupResources:
    group: str
    pods: int
    gpus_per_pod: float
    cpu_per_pod: float = 0


@dataclass
class Resources:
    """What a set of pods reserves on the nodes (the scheduler's view, rayctl.model.PodRequests)."""

    pods: int = 0
    gpus: float = 0
    cpu: float = 0
    memory_bytes: float = 0
    groups: list[GroupResources] = field(default_factory=list)

    def line(self) -> str:
        mem_gib = self.memory_bytes / 2**30
        return f"{self.pods} pods, {_num(self.gpus)} GPUs, {_num(self.cpu)} CPUs, {mem_gib:.1f} GiB memory (requests)"

    def add(self, group: str, pods: int, pod: PodRequests) -> None:
        """Count `pods` pods of one group, each reserving `pod`."""
        self.pods += pods
        self.gpus += pods * float(pod.gpu)
        self.cpu += pods * float(pod.cpu)
        self.memory_bytes += pods * float(pod.memory)
        self.groups.append(GroupResources(group=group, pods=pods, gpus_per_pod=float(pod.gpu),
                                          cpu_per_pod=float(pod.cpu)))


@dataclass
class Plan:
    name: str
    namespace: str | None
    exists: bool
    changed: bool
    rollout: Rollout
    new_cluster: bool  # the prediction: will the operator create a new RayCluster?
    actions: list[Action] = field(default_factory=list)
    changed_paths: list[str] = field(default_factory=list)
    extra_resources: Resources | None = None  # what the new cluster needs while both exist
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = asdict(self)
        return data


@dataclass
class Outcome:
    """What one change class contributes to the plan."""

    actions: list[Action] = field(default_factory=list)
    rollouts: list[Rollout] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    new_cluster: bool = False
    extra_resources: Resources | None = None


@dataclass(frozen=True)
class ReplicaEdit:
    index: int
    group: str
    changes: dict[str, tuple[Any, Any]]  # field -> (live, desired), raw values (None: absent)

    @property
    def text(self) -> str:
        return f"{self.group}: " + ", ".join(f"{f} {a} -> {b}" for f, (a, b) in self.changes.items())


# ------------------------------------------------------------------------------------------------------------
# helpers


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _mapping(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def prune(value: Any) -> Any:
    """Drop None, empty maps and empty lists recursively (Go's omitempty: what the operator's JSON hash sees)."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def hash_view(cluster_config: Obj | None, *, num_groups: int | None = None) -> Any:
    """What KubeRay's generateHashWithoutReplicasAndWorkersToDelete hashes, optionally truncated to num_groups."""
    spec = copy.deepcopy(_mapping(cluster_config))
    raw_groups = spec.get("workerGroupSpecs")
    groups = list(raw_groups) if isinstance(raw_groups, list) else []
    if num_groups is not None:
        groups = groups[:num_groups]
    for g in groups:
        if not isinstance(g, dict):
            continue
        for f in REPLICA_FIELDS:
            g.pop(f, None)
        strategy = g.get("scaleStrategy")
        if isinstance(strategy, dict):
            strategy.pop("workersToDelete", None)
    spec["workerGroupSpecs"] = groups
    return prune(spec)


def changed_paths(before: Any, after: Any, prefix: str = "") -> list[str]:
    """Leaf paths (dotted, [i] for list items) whose values differ."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{prefix}.{key}" if prefix else str(key)
            if key not in before or key not in after:
                if prune(before.get(key)) != prune(after.get(key)):
                    out.append(sub)
                continue
            out.extend(changed_paths(before[key], after[key], sub))
        return out
    if isinstance(before, list) and isinstance(after, list):
        out = []
        for i in range(max(len(before), len(after))):
            sub = f"{prefix}[{i}]"
            if i >= len(before) or i >= len(after):
                out.append(sub)
            else:
                out.extend(changed_paths(before[i], after[i], sub))
        return out
    return [] if prune(before) == prune(after) else [prefix or "."]


def _read_cluster_config(cluster_config: Obj | None) -> ClusterConfig:
    """The read-model of a rayClusterConfig; the planner's input is the API server's, so findings are moot here."""
    return parse_cluster_config(cluster_config, "spec.rayClusterConfig", Reader(Collector()))


def _parse(obj: Obj) -> RayServiceModel:
    """The read-model of a RayService; its findings are the validator's business, not the planner's."""
    return parse_rayservice(obj)[0]


def group_resources(groups: tuple[WorkerGroup, ...] | list[WorkerGroup], *, ignore_replicas: bool = False
                    ) -> Resources:
    """What these worker groups' pods reserve on the nodes."""
    res = Resources()
    for group in groups:
        res.add(group.name, group.desired_pods(ignore_replicas=ignore_replicas), group.pod)
    return res


def cluster_resources(cluster_config: Obj | ClusterConfig | None, *, ignore_replicas: bool = False) -> Resources:
    """What a RayCluster built from `cluster_config` asks the scheduler for (head pod included)."""
    cluster = cluster_config if isinstance(cluster_config, ClusterConfig) else _read_cluster_config(cluster_config)
    res = Resources()
    res.add("head", 1, cluster.head.pod)
    workers = group_resources(cluster.workers, ignore_replicas=ignore_replicas)
    res.pods += workers.pods
    res.gpus += workers.gpus
    res.cpu += workers.cpu
    res.memory_bytes += workers.memory_bytes
    res.groups.extend(workers.groups)
    return res


def _group_lines(res: Resources, indent: str = "") -> list[str]:
    return [f"{indent}{g.group}: {g.pods} pods x {_num(g.gpus_per_pod)} GPUs" for g in res.groups]


# ------------------------------------------------------------------------------------------------------------
# the planner


@dataclass(frozen=True)
class _Change:
    """Everything the change classes read: both objects raw and as read-models, and the live status."""

    live_raw: Obj
    desired_raw: Obj
    live: RayServiceModel
    desired: RayServiceModel
    num_groups: int  # worker groups the running cluster was built with
    paths: list[str]

    @property
    def strategy(self) -> str | None:
        return self.desired.spec.upgrade_strategy

    @property
    def active_name(self) -> str:
        return self.live.status.active.cluster_name

    @property
    def pending_name(self) -> str:
        return self.live.status.pending.cluster_name

    @property
    def upgrading(self) -> bool:
        return bool(self.pending_name) or self.live.status.is_true("UpgradeInProgress")

    def cluster_config(self, which: Literal["live", "desired"]) -> Obj:
        spec = _mapping((self.live_raw if which == "live" else self.desired_raw).get("spec"))
        return _mapping(spec.get("rayClusterConfig"))


def plan_rayservice(live: Obj | None, desired: Obj, *, active_cluster: Obj | None = None) -> Plan:
    """Classify the change from `live` (the RayService as stored, or None) to `desired` (what apply will store:
    ideally the server's dry-run result, so defaults match) by what KubeRay v1.7.0 will do with it.
    `active_cluster` (the active RayCluster, optional) refines the worker-group count and replica drift checks."""
    desired_model = _parse(desired)
    if live is None:
        return _plan_create(desired_model)
    live_model = _parse(live)
    paths = changed_paths(
        {"metadata": _meta_view(live), "spec": _mapping(live.get("spec"))},
        {"metadata": _meta_view(desired), "spec": _mapping(desired.get("spec"))},
    )
    plan = Plan(name=desired_model.metadata.name or "?", namespace=desired_model.metadata.namespace, exists=True,
                changed=bool(paths), rollout=ROLLOUT_NONE, new_cluster=False, changed_paths=paths)
    if not paths:
        return plan
    cluster = parse_raycluster(active_cluster)[0] if active_cluster is not None else None
    change = _Change(live_raw=live, desired_raw=desired, live=live_model, desired=desired_model,
                     num_groups=_num_groups(live_model, cluster), paths=paths)
    plan.warnings.extend(_upgrade_warnings(change))
    cluster_outcome = _cluster_outcome(change)
    outcomes = [cluster_outcome, _serve_config_outcome(change, new_cluster=cluster_outcome.new_cluster),
                _settings_outcome(change), _metadata_outcome(change)]
    rollouts: list[Rollout] = []
    for outcome in outcomes:
        plan.actions.extend(outcome.actions)
        plan.warnings.extend(outcome.warnings)
        rollouts.extend(outcome.rollouts)
        plan.new_cluster = plan.new_cluster or outcome.new_cluster
        plan.extra_resources = outcome.extra_resources or plan.extra_resources
    plan.rollout = _overall(rollouts)
    return plan


def _plan_create(desired: RayServiceModel) -> Plan:
    name = desired.metadata.name or "?"
    res = cluster_resources(desired.cluster)
    apps = [a.name for a in desired.spec.serve_config.applications]
    return Plan(
        name=name,
        namespace=desired.metadata.namespace,
        exists=False,
        changed=True,
        rollout=ROLLOUT_CREATE,
        new_cluster=True,
        actions=[
            Action(
                "create",
                f"RayService {name} will be created: the operator creates its first RayCluster ({res.line()}) and "
                f"deploys the Serve applications {', '.join(apps) or '(none)'} once the head is ready",
                _group_lines(res),
            )
        ],
        changed_paths=["(new object)"],
        extra_resources=res,
    )


def _num_groups(live: RayServiceModel, active_cluster: RayClusterModel | None) -> int:
    """How many worker groups the running cluster was built with: its annotation, else the live spec's count."""
    annotated = active_cluster.num_worker_groups if active_cluster is not None else None
    return annotated if annotated is not None else len(live.cluster.workers)


def _upgrade_warnings(change: _Change) -> list[str]:
    if change.upgrading and not change.active_name:
        return [
            f"the RayService is still initializing: its first RayCluster {change.pending_name or '?'} is pending (not "
            "serving yet); the operator compares the change with that cluster"
        ]
    if change.upgrading:
        return [
            f"an upgrade is in progress (pending RayCluster {change.pending_name or '?'}): the operator compares the "
            "new rayClusterConfig with the pending cluster, not the active one, and a further rayClusterConfig change "
            "replaces the pending cluster with a new one"
        ]
    return []


def classify_cluster_change(live_config: Obj, desired_config: Obj, num_groups: int) -> ClusterChange:
    """`equal`: the cluster hash is unchanged; `appended`: only worker groups appended after the cluster's
    `num-worker-groups` (plus replica edits); `rebuilt`: anything else (a new cluster, or nothing, per strategy)."""
    if hash_view(live_config) == hash_view(desired_config):
        return "equal"
    desired_groups = _raw_groups(desired_config)
    if len(desired_groups) > num_groups and hash_view(desired_config, num_groups=num_groups) == hash_view(
        live_config, num_groups=num_groups
    ):
        return "appended"
    return "rebuilt"


def _raw_groups(cluster_config: Obj) -> list[Obj]:
    groups = cluster_config.get("workerGroupSpecs")
    return [_mapping(g) for g in groups] if isinstance(groups, list) else []


def _cluster_outcome(change: _Change) -> Outcome:
    live_config, desired_config = change.cluster_config("live"), change.cluster_config("desired")
    kind = classify_cluster_change(live_config, desired_config, change.num_groups)
    edits = replica_edits(_raw_groups(live_config), _raw_groups(desired_config), change.desired.cluster.workers)
    if kind == "equal":
        return _replica_edits_outcome(change, edits) if edits else Outcome()
    if kind == "appended":
        return _appended_groups_outcome(change, edits)
    return _rebuild_outcome(change, live_config, desired_config, edits)


def replica_edits(live_groups: list[Obj], desired_groups: list[Obj], desired_models: tuple[WorkerGroup, ...]
                  ) -> list[ReplicaEdit]:
    """replicas/minReplicas/maxReplicas edits of the groups both lists have (raw values, None when absent)."""
    edits = []
    for i, (lg, dg) in enumerate(zip(live_groups, desired_groups, strict=False)):
        changed = {f: (lg.get(f), dg.get(f)) for f in REPLICA_FIELDS if lg.get(f) != dg.get(f)}
        if changed:
            group = desired_models[i].name if i < len(desired_models) else str(i)
            edits.append(ReplicaEdit(index=i, group=group, changes=changed))
    return edits


def _replica_edits_outcome(change: _Change, edits: list[ReplicaEdit]) -> Outcome:
    cluster = change.active_name or change.pending_name or "<active RayCluster>"
    namespace = change.desired.metadata.namespace
    ns = f" -n {namespace}" if namespace else ""
    autoscaling = change.desired.cluster.enable_in_tree_autoscaling
    ops = []
    for e in edits:
        for f, (_old, new) in e.changes.items():
            if autoscaling and f == "replicas":
                continue  # the autoscaler owns replicas
            if new is None:
                ops.append({"op": "remove", "path": f"/spec/workerGroupSpecs/{e.index}/{f}"})
            else:
                ops.append({"op": "replace", "path": f"/spec/workerGroupSpecs/{e.index}/{f}", "value": new})
    patch = json.dumps(ops, separators=(",", ":"))
    details = [e.text for e in edits]
    if ops:
        details.append(
            f"to apply it now, patch the running RayCluster directly: kubectl{ns} patch raycluster {cluster} "
            f"--type=json -p '{patch}' (the RayService already holds the new values, so the operator leaves the "
            "patched cluster alone)"
        )
    if autoscaling:
        details.append(
            "autoscaling is enabled: the Ray autoscaler sets replicas itself (between minReplicas and "
            "maxReplicas), so a replicas edit has no lasting effect anyway"
        )
    else:
        details.append(
            "or enable autoscaling (rayClusterConfig.enableInTreeAutoscaling) so Ray scales between min and max, "
            "or make a rayClusterConfig change that triggers a new cluster (it is built with the new values)"
        )
    action = Action(
        "replicas_not_propagated",
        "only worker replicas/minReplicas/maxReplicas changed: KubeRay does NOT propagate these edits to the "
        "running RayCluster (they are excluded from its cluster hash); the RayService is updated but nothing "
        "scales",
        details,
    )
    return Outcome(actions=[action], rollouts=[ROLLOUT_NOT_ROLLED_OUT])


def _appended_groups_outcome(change: _Change, edits: list[ReplicaEdit]) -> Outcome:
    new_groups = change.desired.cluster.workers[change.num_groups:]
    extra = group_resources(new_groups)
    details = [f"new worker group {g.group}: {g.pods} pods x {_num(g.gpus_per_pod)} GPUs" for g in extra.groups]
    if edits:
        details.append(
            "the replica edits of existing groups are propagated too, because the operator copies "
            "the whole rayClusterConfig when it updates the cluster: " + "; ".join(e.text for e in edits)
        )
    target = "pending" if change.upgrading else "active"
    cluster = change.pending_name if change.upgrading else change.active_name
    action = Action(
        "worker_groups_appended",
        f"worker group(s) {', '.join(g.name for g in new_groups)} appended at the end: the operator updates the "
        f"{target} RayCluster {cluster} in place (no new cluster)",
        details,
    )
    return Outcome(actions=[action], rollouts=[ROLLOUT_IN_PLACE], extra_resources=extra)


def _rebuild_outcome(change: _Change, live_config: Obj, desired_config: Obj, edits: list[ReplicaEdit]) -> Outcome:
    cfg_paths = changed_paths(hash_view(live_config), hash_view(desired_config), "spec.rayClusterConfig")
    why = ", ".join(cfg_paths[:8]) + (f" (+{len(cfg_paths) - 8} more)" if len(cfg_paths) > 8 else "")
    desired_groups = len(change.desired.cluster.workers)
    if desired_groups < change.num_groups:
        why = f"worker groups removed ({change.num_groups} -> {desired_groups}); " + why
    strategy = change.strategy
    if strategy == "None":
        action = Action(
            "cluster_change_not_rolled_out",
            "rayClusterConfig changed but upgradeStrategy.type is None: the operator never rolls this change out; "
            "the running RayCluster keeps the old configuration",
            [
                f"changed: {why}",
                "to roll it out: set upgradeStrategy.type: NewCluster (blue/green, needs room for both clusters), "
                "or delete and re-create the RayService (downtime)",
            ],
        )
        return Outcome(actions=[action], rollouts=[ROLLOUT_NOT_ROLLED_OUT])
    incremental = strategy == "NewClusterWithIncrementalUpgrade"
    res = cluster_resources(change.desired.cluster, ignore_replicas=incremental)
    both = f"while both clusters exist the new one needs {res.line()} on top of the running cluster" + (
        f" {change.active_name}" if change.active_name else ""
    )
    details = [f"changed: {why}", both, *_group_lines(res, "  ")]
    delay = change.desired.spec.ray_cluster_deletion_delay_seconds
    details.append(f"the old cluster is deleted {60 if delay is None else delay}s after the switch "
                   "(rayClusterDeletionDelaySeconds)")
    outcome = Outcome(new_cluster=True, extra_resources=res)
    if incremental:
        outcome.actions.append(Action(
            "new_cluster_incremental",
            "rayClusterConfig changed: the operator creates a new RayCluster and migrates traffic gradually "
            "(NewClusterWithIncrementalUpgrade; needs the RayServiceIncrementalUpgrade feature gate and "
            "Gateway API, otherwise the change is not rolled out)",
            details,
        ))
        outcome.rollouts.append(ROLLOUT_INCREMENTAL)
    else:
        if strategy is None:
            details.append(
                "upgradeStrategy.type is unset: this holds unless the operator runs with "
                "ENABLE_ZERO_DOWNTIME=false (then the change is not rolled out)"
            )
        outcome.actions.append(Action(
            "new_cluster",
            "rayClusterConfig changed: the operator builds a new RayCluster (blue/green) and switches the "
            "Serve traffic to it once its Serve applications are RUNNING",
            details,
        ))
        outcome.rollouts.append(ROLLOUT_NEW_CLUSTER)
    if edits:
        outcome.warnings.append(
            "replica edits ride along: the new cluster is built with the new replicas/minReplicas/maxReplicas"
        )
    return outcome


def _serve_config_outcome(change: _Change, *, new_cluster: bool) -> Outcome:
    live, desired = change.live.spec.serve_config, change.desired.spec.serve_config
    if (live.text or "") == (desired.text or ""):
        return Outcome()
    if new_cluster:
        return Outcome(actions=[Action(
            "serve_config_in_place",
            "serveConfigV2 changed: deployed to the new RayCluster (the active cluster keeps serving the old "
            "config until the switch)",
        )])
    semantic = live.error is None and desired.error is None and live.value == desired.value
    where = (f"pending RayCluster {change.pending_name}" if change.upgrading
             else f"active RayCluster {change.active_name or '?'}")
    action = Action(
        "serve_config_in_place",
        f"serveConfigV2 changed: applied in place to the {where} through the Ray dashboard (no new cluster)",
        ["only the text formatting changed: the operator still re-submits the config (it compares strings)"]
        if semantic else [],
    )
    return Outcome(actions=[action], rollouts=[ROLLOUT_IN_PLACE])


def _settings_outcome(change: _Change) -> Outcome:
    other = [p for p in change.paths
             if p.startswith("spec.") and not p.startswith(("spec.rayClusterConfig", "spec.serveConfigV2"))]
    if not other:
        return Outcome()
    details = []
    if any(p.startswith("spec.serveService") for p in other):
        details.append(
            "serveService: the operator only updates the Serve Service when traffic switches to a "
            "new cluster, so this takes effect at the next cluster switch"
        )
    if any(p.startswith("spec.upgradeStrategy") for p in other):
        details.append(
            f"upgradeStrategy.type is now {change.strategy or 'unset (NewCluster)'}: governs future "
            "rayClusterConfig changes"
        )
    action = Action(
        "rayservice_settings",
        "RayService settings changed ("
        + ", ".join(sorted({p.split(".")[1].split("[")[0] for p in other}))
        + "): read by the operator on its next reconcile; no new cluster",
        details,
    )
    return Outcome(actions=[action], rollouts=[ROLLOUT_IN_PLACE])


def _metadata_outcome(change: _Change) -> Outcome:
    meta_paths = [p for p in change.paths if p.startswith("metadata")]
    if not meta_paths or len(meta_paths) != len(change.paths):
        return Outcome()
    action = Action(
        "metadata_only",
        "only labels/annotations changed: stored on the RayService; the operator copies them to a RayCluster "
        "only when it creates or updates one",
        meta_paths,
    )
    return Outcome(actions=[action], rollouts=[ROLLOUT_NO_EFFECT])


def _overall(rollouts: list[Rollout]) -> Rollout:
    return next((r for r in ROLLOUT_PRECEDENCE if r in rollouts), ROLLOUT_NONE)


def _meta_view(obj: Obj) -> Obj:
    meta = _mapping(obj.get("metadata"))
    view: Obj = prune({"labels": meta.get("labels") or {}, "annotations": meta.get("annotations") or {}})
    return view


# ------------------------------------------------------------------------------------------------------------
# rendering


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (serveConfigV2) as `|` blocks, so their diff is line by line."""


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_BlockDumper.add_representer(str, _str_representer)


def unified_diff(live: Obj | None, desired: Obj | None, *, name: str) -> str:
    """A unified diff of two objects rendered as YAML (empty when equal)."""

    def dump(o: Obj | None) -> list[str]:
        if o is None:
            return []
        text = yaml.dump(o, Dumper=_BlockDumper, sort_keys=True, default_flow_style=False, width=1000)
        return text.splitlines(keepends=True)

    live, desired = _redacted(live, desired)
    lines = difflib.unified_diff(dump(live), dump(desired), fromfile=f"live/{name}", tofile=f"desired/{name}", n=3)
    return "".join(lines)


def _serve_config_data(obj: Obj | None) -> Any:
    text = _mapping(_mapping(obj).get("spec")).get("serveConfigV2")
    if not isinstance(text, str):
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _redacted(live: Obj | None, desired: Obj | None) -> tuple[Obj | None, Obj | None]:
    """Both sides with secret values masked (a changed secret still shows as changed, never its value); the
    serveConfigV2 string is masked inside (its env_vars, args), then written back as YAML."""
    live_config, desired_config = _serve_config_data(live), _serve_config_data(desired)
    live, desired = redact_pair(live or {}, desired or {}) if live is not None and desired is not None else (
        redact(live) if live is not None else None, redact(desired) if desired is not None else None)
    if live_config is not None or desired_config is not None:
        masked_live, masked_desired = redact_pair(live_config, desired_config)
        for side, masked, original in ((live, masked_live, live_config), (desired, masked_desired, desired_config)):
            if isinstance(side, dict) and original is not None and masked != original:
                side["spec"]["serveConfigV2"] = yaml.safe_dump(masked, sort_keys=False, width=1000)
    return live, desired


def format_plan(plan: Plan) -> str:
    """The human-readable plan."""
    out = [
        f"plan for rayservice {plan.namespace + '/' if plan.namespace else ''}{plan.name}: {plan.rollout}"
        + (" (the operator will create a new RayCluster)" if plan.new_cluster and plan.exists else "")
    ]
    if not plan.changed:
        out.append("  no changes")
    for a in plan.actions:
        out.append(f"  * [{a.kind}] {a.summary}")
        out.extend(f"      - {d}" for d in a.details)
    for w in plan.warnings:
        out.append(f"  ! {w}")
    return "\n".join(out)
