"""The upgrade planner: given the live RayService and the desired one, predict what KubeRay v1.7.0 will do.

Pure: dicts in, a Plan out, no network and no Kubernetes client.

The rules mirror ray-operator/controllers/ray/rayservice_controller.go (KubeRay v1.7.0):

* `generateHashWithoutReplicasAndWorkersToDelete` hashes `spec.rayClusterConfig` with every worker group's
  `replicas`, `minReplicas`, `maxReplicas` and `scaleStrategy.workersToDelete` muted. The hash is stored on
  the
  RayCluster (annotation `ray.io/hash-without-replicas-and-workers-to-delete`) together with
  `ray.io/num-worker-groups`.
* `shouldPrepareNewCluster`: if the goal hash equals the cluster's hash -> nothing; if it equals when the
goal's
  worker groups are truncated to the cluster's `num-worker-groups` (groups appended at the end, existing ones
  only
  changed in replicas) -> the RayCluster is updated in place (`shouldUpdateCluster` / `modifyRayCluster`,
  which copies
  the whole spec, replicas included); otherwise a new (pending) RayCluster is created only if zero-downtime
  upgrade is
  enabled (`isZeroDowntimeUpgradeEnabled`: `upgradeStrategy.type` NewCluster, or
  NewClusterWithIncrementalUpgrade
  with the RayServiceIncrementalUpgrade feature gate, or unset and the operator's ENABLE_ZERO_DOWNTIME !=
  "false").
  With `upgradeStrategy.type: None` the change is never rolled out.
* Consequently an edit of only replicas/minReplicas/maxReplicas is silently not propagated to the RayCluster.
* `serveConfigV2` is compared as a string with the config cached per cluster
(`checkIfNeedSubmitServeApplications`)
  and re-submitted to the Ray dashboard in place: to the active cluster, or to the pending one during an
  upgrade.
* The Serve/head Services are only re-pointed when the cluster switches (`reconcileServices`), so
`serveService`
  edits wait for the next cluster switch.
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import yaml

Obj = dict[str, Any]

NUM_WORKER_GROUPS_ANNOTATION = "ray.io/num-worker-groups"
REPLICA_FIELDS = ("replicas", "minReplicas", "maxReplicas")

# Plan.rollout values
ROLLOUT_NONE = "none"  # no change at all
ROLLOUT_CREATE = "create"  # the RayService does not exist yet
ROLLOUT_IN_PLACE = "in_place"  # applied to the running cluster, no new RayCluster
ROLLOUT_NEW_CLUSTER = "new_cluster"  # blue/green: a new RayCluster, traffic switches when it is ready
ROLLOUT_INCREMENTAL = "new_cluster_incremental"  # new RayCluster with gradual traffic migration (Gateway API)
ROLLOUT_NOT_ROLLED_OUT = "not_rolled_out"  # stored, but the operator will not act on it
ROLLOUT_NO_EFFECT = "no_effect"  # metadata-only changes, stored, nothing rolls out


@dataclass
class Action:
    """One consequence of the change, in the operator's terms."""

    # create | serve_config_in_place | new_cluster | new_cluster_incremental | cluster_change_not_rolled_out
    # | replicas_not_propagated | worker_groups_appended | rayservice_settings | metadata_only
    kind: str
    summary: str
    details: list[str] = field(default_factory=list)


@dataclass
class Resources:
    pods: int = 0
    gpus: float = 0
    cpu: float = 0
    memory_bytes: float = 0
    groups: list[dict[str, Any]] = field(default_factory=list)

    def line(self) -> str:
        mem_gib = self.memory_bytes / 2**30
        return f"{self.pods} pods, {_num(self.gpus)} GPUs, {_num(self.cpu)} CPUs, {mem_gib:.1f} GiB memory (requests)"


@dataclass
class Plan:
    name: str
    namespace: str | None
    exists: bool
    changed: bool
    rollout: str
    new_cluster: bool  # the prediction: will the operator create a new RayCluster?
    actions: list[Action] = field(default_factory=list)
    changed_paths: list[str] = field(default_factory=list)
    extra_resources: Resources | None = None  # what the new cluster needs while both exist
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = asdict(self)
        return data


# ------------------------------------------------------------------------------------------------------------
# helpers


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def prune(value: Any) -> Any:
    """Drop None, empty maps and empty lists recursively (Go's omitempty: what the operator's JSON hash
    sees)."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def hash_view(cluster_config: Obj | None, *, num_groups: int | None = None) -> Any:
    """What KubeRay's generateHashWithoutReplicasAndWorkersToDelete hashes, optionally truncated to
    num_groups."""
    spec = copy.deepcopy(cluster_config or {})
    groups = list(spec.get("workerGroupSpecs") or [])
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


def _quantity(value: Any) -> float:
    """Parse a Kubernetes quantity (`500m`, `2`, `16Gi`, `1e3`) into a float in base units."""
    if value is None:
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    suffixes = {
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "Pi": 2**50,
        "Ei": 2**60,
        "n": 1e-9,
        "u": 1e-6,
        "m": 1e-3,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
        "T": 1e12,
        "P": 1e15,
        "E": 1e18,
    }
    for suffix in sorted(suffixes, key=len, reverse=True):
        if text.endswith(suffix) and text[: -len(suffix)]:
            try:
                return float(text[: -len(suffix)]) * suffixes[suffix]
            except ValueError:
                return 0.0
    try:
        return float(text)
    except ValueError:
        return 0.0


def pod_template_resources(template: Obj | None) -> tuple[float, float, float]:
    """(gpus, cpu, memory bytes) one pod of this template asks for (limits for GPUs, requests else limits)."""
    spec = (template or {}).get("spec") or {}
    gpus = cpu = mem = 0.0
    for c in spec.get("containers") or []:
        res = c.get("resources") or {}
        limits = res.get("limits") or {}
        requests = res.get("requests") or {}
        for key in set(limits) | set(requests):
            if key.endswith("/gpu"):
                gpus += _quantity(limits.get(key, requests.get(key)))
        cpu += _quantity(requests.get("cpu", limits.get("cpu")))
        mem += _quantity(requests.get("memory", limits.get("memory")))
    return gpus, cpu, mem


def desired_worker_pods(group: Obj, *, ignore_replicas: bool = False) -> int:
    """Pods the RayCluster controller will create for a worker group (replicas clamped to [min, max] x
    hosts)."""
    if group.get("suspend"):
        return 0
    min_r = int(group.get("minReplicas") or 0)
    max_r = group.get("maxReplicas")
    replicas = group.get("replicas")
    n = min_r if replicas is None or ignore_replicas else int(replicas)
    n = max(n, min_r)
    if max_r is not None:
        n = min(n, int(max_r))
    hosts = int(group.get("numOfHosts") or 1)
    return max(n, 0) * max(hosts, 1)


def cluster_resources(cluster_config: Obj | None, *, ignore_replicas: bool = False) -> Resources:
    """What a RayCluster built from `cluster_config` asks the scheduler for."""
    cfg = cluster_config or {}
    res = Resources()
    head = cfg.get("headGroupSpec") or {}
    g, c, m = pod_template_resources(head.get("template"))
    res.pods += 1
    res.gpus += g
    res.cpu += c
    res.memory_bytes += m
    res.groups.append({"group": "head", "pods": 1, "gpus_per_pod": g})
    for group in cfg.get("workerGroupSpecs") or []:
        n = desired_worker_pods(group, ignore_replicas=ignore_replicas)
        g, c, m = pod_template_resources(group.get("template"))
        res.pods += n
        res.gpus += n * g
        res.cpu += n * c
        res.memory_bytes += n * m
        res.groups.append({"group": group.get("groupName", "?"), "pods": n, "gpus_per_pod": g})
    return res


def _serve_equal(a: Any, b: Any) -> bool:
    return (a or "") == (b or "")


def _serve_semantic_equal(a: Any, b: Any) -> bool:
    try:
        return bool(yaml.safe_load(a or "") == yaml.safe_load(b or ""))
    except yaml.YAMLError:
        return False


def _serve_app_names(serve_config: Any) -> list[str]:
    try:
        data = yaml.safe_load(serve_config or "") or {}
    except yaml.YAMLError:
        return []
    apps = data.get("applications") if isinstance(data, dict) else None
    return [str(a.get("name", "?")) for a in apps or [] if isinstance(a, dict)]


def _condition(obj: Obj | None, cond_type: str) -> Obj | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == cond_type:
            return dict(c)
    return None


# ------------------------------------------------------------------------------------------------------------
# the planner


def plan_rayservice(live: Obj | None, desired: Obj, *, active_cluster: Obj | None = None) -> Plan:
    """Classify the change from `live` (the RayService as stored, or None) to `desired` (what apply will
    store:
    ideally the server's dry-run result, so defaults match) by what KubeRay v1.7.0 will do with it.
    `active_cluster` (the active RayCluster, optional) refines the worker-group count and replica drift
    checks."""
    meta = desired.get("metadata") or {}
    name = str(meta.get("name", "?"))
    namespace = meta.get("namespace")
    d_spec = desired.get("spec") or {}
    d_cfg = d_spec.get("rayClusterConfig") or {}
    strategy = (d_spec.get("upgradeStrategy") or {}).get("type")

    if live is None:
        res = cluster_resources(d_cfg)
        apps = _serve_app_names(d_spec.get("serveConfigV2"))
        return Plan(
            name=name,
            namespace=namespace,
            exists=False,
            changed=True,
            rollout=ROLLOUT_CREATE,
            new_cluster=True,
            actions=[
                Action(
                    "create",
                    f"RayService {name} will be created: the operator creates its first RayCluster "
                    f"({res.line()}) and "
                    f"deploys the Serve applications {', '.join(apps) or '(none)'} once the head is ready",
                    [f"{g['group']}: {g['pods']} pods x {_num(g['gpus_per_pod'])} GPUs" for g in res.groups],
                )
            ],
            changed_paths=["(new object)"],
            extra_resources=res,
        )

    l_spec = live.get("spec") or {}
    l_cfg = l_spec.get("rayClusterConfig") or {}
    paths = changed_paths(
        {"metadata": _meta_view(live), "spec": l_spec}, {"metadata": _meta_view(desired), "spec": d_spec}
    )
    plan = Plan(
        name=name,
        namespace=namespace,
        exists=True,
        changed=bool(paths),
        rollout=ROLLOUT_NONE,
        new_cluster=False,
        changed_paths=paths,
    )
    if not paths:
        return plan

    status = live.get("status") or {}
    active_name = (status.get("activeServiceStatus") or {}).get("rayClusterName") or ""
    pending_name = (status.get("pendingServiceStatus") or {}).get("rayClusterName") or ""
    upgrading = bool(pending_name) or (_condition(live, "UpgradeInProgress") or {}).get("status") == "True"
    if upgrading and not active_name:
        plan.warnings.append(
            f"the RayService is still initializing: its first RayCluster {pending_name or '?'} is pending (not "
            "serving yet); the operator compares the change with that cluster"
        )
    elif upgrading:
        plan.warnings.append(
            f"an upgrade is in progress (pending RayCluster {pending_name or '?'}): the operator compares the new "
            "rayClusterConfig with the pending cluster, not the active one, and a further rayClusterConfig change "
            "replaces the pending cluster with a new one"
        )

    rollouts: list[str] = []

    # ---- rayClusterConfig
    # --------------------------------------------------------------------------------------
    l_groups = list(l_cfg.get("workerGroupSpecs") or [])
    d_groups = list(d_cfg.get("workerGroupSpecs") or [])
    num_groups = len(l_groups)
    ann = ((active_cluster or {}).get("metadata") or {}).get("annotations") or {}
    if ann.get(NUM_WORKER_GROUPS_ANNOTATION, "").isdigit():
        num_groups = int(ann[NUM_WORKER_GROUPS_ANNOTATION])

    cluster_equal = hash_view(l_cfg) == hash_view(d_cfg)
    appended = (
        not cluster_equal
        and len(d_groups) > num_groups
        and hash_view(d_cfg, num_groups=num_groups) == hash_view(l_cfg, num_groups=num_groups)
    )
    replica_edits = _replica_edits(l_groups, d_groups)

    if cluster_equal:
        if replica_edits:
            plan.actions.append(
                _replicas_action(
                    replica_edits,
                    active_name or pending_name,
                    namespace,
                    autoscaling=bool(d_cfg.get("enableInTreeAutoscaling")),
                )
            )
            rollouts.append(ROLLOUT_NOT_ROLLED_OUT)
    elif appended:
        new_groups = d_groups[num_groups:]
        details = [
            f"new worker group {g.get('groupName', '?')}: {desired_worker_pods(g)} pods x "
            f"{_num(pod_template_resources(g.get('template'))[0])} GPUs"
            for g in new_groups
        ]
        if replica_edits:
            details.append(
                "the replica edits of existing groups are propagated too, because the operator copies "
                "the whole rayClusterConfig when it updates the cluster: " + "; ".join(e["text"] for e in replica_edits)
            )
        target = "pending" if upgrading else "active"
        plan.actions.append(
            Action(
                "worker_groups_appended",
                f"worker group(s) {', '.join(str(g.get('groupName', '?')) for g in new_groups)} appended at "
                "the end: "
                f"the operator updates the {target} RayCluster {pending_name if upgrading else active_name} "
                "in place "
                "(no new cluster)",
                details,
            )
        )
        add = cluster_resources({"workerGroupSpecs": new_groups})
        add.pods -= 1  # cluster_resources counts a head pod
        add.groups = add.groups[1:]
        plan.extra_resources = add
        rollouts.append(ROLLOUT_IN_PLACE)
    else:
        cfg_paths = changed_paths(hash_view(l_cfg), hash_view(d_cfg), "spec.rayClusterConfig")
        why = ", ".join(cfg_paths[:8]) + (f" (+{len(cfg_paths) - 8} more)" if len(cfg_paths) > 8 else "")
        if len(d_groups) < num_groups:
            why = f"worker groups removed ({num_groups} -> {len(d_groups)}); " + why
        if strategy == "None":
            plan.actions.append(
                Action(
                    "cluster_change_not_rolled_out",
                    "rayClusterConfig changed but upgradeStrategy.type is None: the operator never rolls "
                    "this change "
                    "out; the running RayCluster keeps the old configuration",
                    [
                        f"changed: {why}",
                        "to roll it out: set upgradeStrategy.type: NewCluster (blue/green, needs room for "
                        "both clusters), "
                        "or delete and re-create the RayService (downtime)",
                    ],
                )
            )
            rollouts.append(ROLLOUT_NOT_ROLLED_OUT)
        else:
            res = cluster_resources(d_cfg, ignore_replicas=strategy == "NewClusterWithIncrementalUpgrade")
            plan.extra_resources = res
            plan.new_cluster = True
            both = f"while both clusters exist the new one needs {res.line()} on top of the running cluster" + (
                f" {active_name}" if active_name else ""
            )
            details = [f"changed: {why}", both]
            details += [f"  {g['group']}: {g['pods']} pods x {_num(g['gpus_per_pod'])} GPUs" for g in res.groups]
            delay = d_spec.get("rayClusterDeletionDelaySeconds", 60)
            details.append(f"the old cluster is deleted {delay}s after the switch (rayClusterDeletionDelaySeconds)")
            if strategy == "NewClusterWithIncrementalUpgrade":
                plan.actions.append(
                    Action(
                        "new_cluster_incremental",
                        "rayClusterConfig changed: the operator creates a new RayCluster and migrates "
                        "traffic gradually "
                        "(NewClusterWithIncrementalUpgrade; needs the RayServiceIncrementalUpgrade feature "
                        "gate and "
                        "Gateway API, otherwise the change is not rolled out)",
                        details,
                    )
                )
                rollouts.append(ROLLOUT_INCREMENTAL)
            else:
                if strategy is None:
                    details.append(
                        "upgradeStrategy.type is unset: this holds unless the operator runs with "
                        "ENABLE_ZERO_DOWNTIME=false (then the change is not rolled out)"
                    )
                plan.actions.append(
                    Action(
                        "new_cluster",
                        "rayClusterConfig changed: the operator builds a new RayCluster (blue/green) and "
                        "switches the "
                        "Serve traffic to it once its Serve applications are RUNNING",
                        details,
                    )
                )
                rollouts.append(ROLLOUT_NEW_CLUSTER)
            if replica_edits:
                plan.warnings.append(
                    "replica edits ride along: the new cluster is built with the new replicas/minReplicas/maxReplicas"
                )

    # ---- serveConfigV2
    # -----------------------------------------------------------------------------------------
    if not _serve_equal(l_spec.get("serveConfigV2"), d_spec.get("serveConfigV2")):
        semantic = _serve_semantic_equal(l_spec.get("serveConfigV2"), d_spec.get("serveConfigV2"))
        if plan.new_cluster:
            plan.actions.append(
                Action(
                    "serve_config_in_place",
                    "serveConfigV2 changed: deployed to the new RayCluster (the active cluster keeps "
                    "serving the old "
                    "config until the switch)",
                )
            )
        else:
            where = f"pending RayCluster {pending_name}" if upgrading else f"active RayCluster {active_name or '?'}"
            plan.actions.append(
                Action(
                    "serve_config_in_place",
                    f"serveConfigV2 changed: applied in place to the {where} through the Ray dashboard (no "
                    "new cluster)",
                    ["only the text formatting changed: the operator still re-submits the config (it compares strings)"]
                    if semantic
                    else [],
                )
            )
            rollouts.append(ROLLOUT_IN_PLACE)

    # ---- other RayService fields
    # ----------------------------------------------------------------------------------
    other = [
        p
        for p in paths
        if p.startswith("spec.")
        and not p.startswith("spec.rayClusterConfig")
        and not p.startswith("spec.serveConfigV2")
    ]
    if other:
        details = []
        if any(p.startswith("spec.serveService") for p in other):
            details.append(
                "serveService: the operator only updates the Serve Service when traffic switches to a "
                "new cluster, so this takes effect at the next cluster switch"
            )
        if any(p.startswith("spec.upgradeStrategy") for p in other):
            details.append(
                f"upgradeStrategy.type is now {strategy or 'unset (NewCluster)'}: governs future "
                "rayClusterConfig changes"
            )
        plan.actions.append(
            Action(
                "rayservice_settings",
                "RayService settings changed ("
                + ", ".join(sorted({p.split(".")[1].split("[")[0] for p in other}))
                + "): read by the operator on its next reconcile; no new cluster",
                details,
            )
        )
        rollouts.append(ROLLOUT_IN_PLACE)

    meta_paths = [p for p in paths if p.startswith("metadata")]
    if meta_paths and len(meta_paths) == len(paths):
        plan.actions.append(
            Action(
                "metadata_only",
                "only labels/annotations changed: stored on the RayService; the operator copies them to a "
                "RayCluster "
                "only when it creates or updates one",
                meta_paths,
            )
        )
        rollouts.append(ROLLOUT_NO_EFFECT)

    plan.rollout = _overall(rollouts)
    return plan


def _overall(rollouts: list[str]) -> str:
    for r in (
        ROLLOUT_NEW_CLUSTER,
        ROLLOUT_INCREMENTAL,
        ROLLOUT_IN_PLACE,
        ROLLOUT_NOT_ROLLED_OUT,
        ROLLOUT_NO_EFFECT,
    ):
        if r in rollouts:
            return r
    return ROLLOUT_NONE


def _meta_view(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    view: Obj = prune({"labels": meta.get("labels") or {}, "annotations": meta.get("annotations") or {}})
    return view


def _replica_edits(l_groups: list[Obj], d_groups: list[Obj]) -> list[dict[str, Any]]:
    edits = []
    for i, (lg, dg) in enumerate(zip(l_groups, d_groups, strict=False)):
        changed = {f: (lg.get(f), dg.get(f)) for f in REPLICA_FIELDS if lg.get(f) != dg.get(f)}
        if changed:
            text = f"{dg.get('groupName', i)}: " + ", ".join(f"{f} {a} -> {b}" for f, (a, b) in changed.items())
            edits.append({"index": i, "group": dg.get("groupName", str(i)), "changes": changed, "text": text})
    return edits


def _replicas_action(
    edits: list[dict[str, Any]], cluster_name: str, namespace: str | None, *, autoscaling: bool = False
) -> Action:
    cluster = cluster_name or "<active RayCluster>"
    ns = f" -n {namespace}" if namespace else ""
    ops = []
    for e in edits:
        for f, (_old, new) in e["changes"].items():
            if autoscaling and f == "replicas":
                continue  # the autoscaler owns replicas
            if new is None:
                ops.append({"op": "remove", "path": f"/spec/workerGroupSpecs/{e['index']}/{f}"})
            else:
                ops.append({"op": "replace", "path": f"/spec/workerGroupSpecs/{e['index']}/{f}", "value": new})
    patch = json.dumps(ops, separators=(",", ":"))
    details = [e["text"] for e in edits]
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
    return Action(
        "replicas_not_propagated",
        "only worker replicas/minReplicas/maxReplicas changed: KubeRay does NOT propagate these edits to the "
        "running RayCluster (they are excluded from its cluster hash); the RayService is updated but nothing "
        "scales",
        details,
    )


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

    lines = difflib.unified_diff(dump(live), dump(desired), fromfile=f"live/{name}", tofile=f"desired/{name}", n=3)
    return "".join(lines)


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
