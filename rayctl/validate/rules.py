"""Semantic rules over a RayService manifest: what the CRD schema and Ray's schema cannot see.

Each message names the field and the fix. The rules read the manifest (not the spec), so they hold equally for
rendered and hand-written RayServices. They read it through the typed read-model (rayctl.model): groups, containers,
what each pod offers Ray and the parsed serveConfigV2 come from there, so the rules, the planner and `rayctl status`
count the same GPUs, and a field of the wrong type is the model's finding, never a crash here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rayctl.apps.llm import MAX_ENGINE_GPUS
from rayctl.model import UPGRADE_STRATEGIES, Container, RayResources, RayServiceModel, ServeApp, WorkerGroup
from rayctl.quantity import format_bytes, parse_quantity
from rayctl.spec.base import RAY_VERSION
from rayctl.spec.cluster import DRAIN_ENV, DRAIN_GRACE_MARGIN_SECONDS
from rayctl.spec.model import MAX_NAME_LENGTH
from rayctl.spec.serve import HIGH_THROUGHPUT_ENV, HIGH_THROUGHPUT_MIN_RAY, RAY_PORTS, switch_on
from rayctl.spec.suggest import did_you_mean
from rayctl.validate.accelerators import ACCELERATOR_RESOURCE, KNOWN_ACCELERATORS, detected_on, is_tpu_head_resource
from rayctl.validate.accelerators import known as known_accelerator
from rayctl.validate.findings import Collector
from rayctl.validate.kuberay import check_kuberay
from rayctl.validate.serve_keys import (
    APPLICATION_KEYS,
    AUTOSCALING_KEYS,
    BUNDLED_APP_ARGS,
    DEPLOYMENT_KEYS,
    HTTP_OPTION_KEYS,
    LLM_CONFIG_KEYS,
    LLM_DEPLOYMENT_CONFIG_KEYS,
    LLM_IMPORT_PATHS,
    RAY_ACTOR_OPTION_KEYS,
    RETIRED_KEYS,
    SERVE_CONFIG_KEYS,
)

_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
SERVE = "spec.serveConfigV2"


def _unknown_keys(data: Any, allowed: frozenset[str], path: str, out: Collector, what: str) -> None:
    if not isinstance(data, dict):
        return
    for key in data:
        if key not in allowed:
            out.error(f"{path}.{key}", f"unknown {what} key {key!r}{did_you_mean(str(key), allowed)}: "
                                      "Ray would silently ignore it")


def check_metadata(rs: RayServiceModel, out: Collector) -> None:
    name = rs.metadata.name
    if len(name) > MAX_NAME_LENGTH:
        out.error("metadata.name", f"{name!r} is {len(name)} characters; KubeRay allows at most {MAX_NAME_LENGTH} "
                                   "(it derives RayCluster and Service names from it): shorten it")
    elif name and not _DNS_1035.match(name):
        out.error("metadata.name", f"{name!r} is not a DNS-1035 label: lowercase letters, digits and '-', "
                                   "starting with a letter")
    for field in rs.spec.deprecated_fields:
        out.warning(f"spec.{field}", "deprecated and a no-op in KubeRay v1.7: remove it")
    if rs.api_version.endswith("/v1alpha1"):
        out.warning("apiVersion", "ray.io/v1alpha1 is deprecated (removed in KubeRay 1.9): use ray.io/v1")
    strategy = rs.spec.upgrade_strategy
    if strategy is not None and strategy not in UPGRADE_STRATEGIES:
        out.error("spec.upgradeStrategy.type", f"{strategy!r} is not accepted by the KubeRay operator: use "
                                               "NewCluster, NewClusterWithIncrementalUpgrade or None")


def check_groups(groups: Sequence[WorkerGroup], out: Collector) -> None:
    for g in groups:
        if g.min_replicas > g.max_replicas:
            out.error(f"{g.path}.minReplicas", f"group {g.name!r}: minReplicas ({g.min_replicas}) > maxReplicas "
                                               f"({g.max_replicas})")
        elif not g.min_replicas <= g.replicas <= g.max_replicas:
            out.error(f"{g.path}.replicas", f"group {g.name!r}: replicas ({g.replicas}) must lie within "
                                            f"minReplicas..maxReplicas ({g.min_replicas}..{g.max_replicas})")


KUBERNETES_DEFAULT_GRACE_SECONDS = 30
RAY_DEFAULT_DRAIN_SECONDS = 30.0  # ray_constants.RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S


def check_drain_fits_grace(groups: Sequence[WorkerGroup], out: Collector) -> None:
    """Ray drains a worker's node on SIGTERM for up to RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S; Kubernetes SIGKILLs the
    pod terminationGracePeriodSeconds after the SIGTERM. A drain longer than the grace period is cut short, and the
    replicas still on the node die mid-request, as if no drain had been asked for. Silent when neither is set."""
    for g in groups:
        ray = g.template.ray_container
        text = ray.env_value(DRAIN_ENV) if ray else None
        grace = g.template.termination_grace_period_seconds
        if ray is None or (text is None and grace is None):
            continue
        try:
            drain = float(text) if text is not None else RAY_DEFAULT_DRAIN_SECONDS
        except ValueError:
            out.error(f"{ray.path}.env", f"{DRAIN_ENV}={text!r} is not a number of seconds: Ray would fail to start")
            continue
        limit = KUBERNETES_DEFAULT_GRACE_SECONDS if grace is None else grace
        if drain > 0 and limit < drain:  # equal (Ray's 30 s in Kubernetes' 30 s) is the stock pair: not flagged
            out.warning(f"{g.template.path}.spec.terminationGracePeriodSeconds",
                        f"group {g.name!r}: Kubernetes kills the pod {limit}s after SIGTERM"
                        f"{' (its default)' if grace is None else ''}, but Ray drains the node for up to "
                        f"{drain:g}s ({DRAIN_ENV}): replicas still on it then die mid-request; set "
                        f"terminationGracePeriodSeconds to at least {drain + DRAIN_GRACE_MARGIN_SECONDS:g} or lower "
                        f"the drain (a rayctl spec sets both from workerGroups[].drainSeconds)")


def _containers(rs: RayServiceModel) -> Iterator[tuple[int, Container]]:
    """(index, container) of every container of the head and worker pod templates; index 0 is the Ray container."""
    templates = [rs.cluster.head.template, *(g.template for g in rs.cluster.workers)]
    for template in templates:
        yield from enumerate(template.containers)


_VERSION_IN_TAG = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?:\.(\d+))?")


def image_ray_version(image: str) -> str | None:
    """The Ray version an image tag names ("2.46.0" of `rayproject/ray-ml:2.46.0.0e19ea-py39-cpu`, of
    `ray-llm:ray-2.48.0-py311-cu128`, of `ray:2.52.0-py311@sha256:...`); None for a digest alone, `latest`,
    `nightly` and other tags without a version."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    match = _VERSION_IN_TAG.search(last.rsplit(":", 1)[1])
    return f"{match.group(1)}.{match.group(2)}.{match.group(3) or 0}" if match else None


def _normal_version(version: str) -> str | None:
    match = _VERSION_IN_TAG.match(version.strip().lstrip("v"))
    return f"{match.group(1)}.{match.group(2)}.{match.group(3) or 0}" if match else None


def check_images(rs: RayServiceModel, out: Collector) -> None:
    version = _normal_version(rs.cluster.ray_version)
    if not version:
        return
    for index, container in _containers(rs):
        if index != 0:  # sidecars (log shippers, proxies) run whatever they run
            continue
        tagged = image_ray_version(container.image)
        if tagged and tagged != version:
            out.warning(f"{container.path}.image",
                        f"image {container.image!r} carries Ray {tagged}, which does not match rayVersion "
                        f"{rs.cluster.ray_version!r}: Ray versions must match across the cluster and KubeRay uses "
                        "rayVersion for compatibility")


def _version_tuple(version: str) -> tuple[int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)", version.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def check_serve_mode(rs: RayServiceModel, out: Collector) -> None:
    """Ray Serve's high-throughput switches need a Ray that honours them, the same value on every Ray pod, and
    (LLM direct streaming) HAProxy plus LLM apps of one model without a custom ingress."""
    enabled: dict[str, list[str]] = {}  # Ray container path -> switches on
    for index, container in _containers(rs):
        if index != 0:  # the Ray container; sidecars do not run Serve
            continue
        env = {var.name: var.value or "" for var in container.env if var.name in HIGH_THROUGHPUT_ENV}
        enabled[container.path] = sorted(k for k, v in env.items() if switch_on(v))
    switches = sorted({k for keys in enabled.values() for k in keys})
    if not switches:
        return
    version = rs.cluster.ray_version
    parsed = _version_tuple(version)
    too_new = [k for k in switches if parsed is not None and parsed < HIGH_THROUGHPUT_MIN_RAY[k]]
    if too_new:
        minimum = ".".join(map(str, max(HIGH_THROUGHPUT_MIN_RAY[k] for k in too_new)))
        out.error("spec.rayClusterConfig.rayVersion",
                  f"{', '.join(too_new)} need Ray >= {minimum} (rayVersion is {version}): older Ray ignores them, so "
                  "Serve would run its Python proxy after all; upgrade Ray or turn them off (serve.highThroughput in "
                  "a rayctl spec)")
    differing = sorted(path for path, keys in enabled.items() if keys != switches)
    if differing:
        out.error(f"{differing[0]}.env",
                  f"{', '.join(switches)} must be set on the Ray container of every pod (missing on "
                  f"{len(differing)} of {len(enabled)}): a node without them runs the Python proxy while the others "
                  "expect HAProxy and direct ingress")
    if "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING" not in switches:
        return
    if "RAY_SERVE_ENABLE_HA_PROXY" not in switches:
        out.error(f"{next(iter(enabled))}.env", "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING=1 needs "
                                                "RAY_SERVE_ENABLE_HA_PROXY=1: its request router lives in the HAProxy "
                                                "ingress")
    for app in rs.spec.serve_config.applications:
        if app.import_path not in LLM_IMPORT_PATHS:
            continue
        args = app.args
        path = f"{app.path}.args"
        configs = args.get("llm_configs")
        if isinstance(configs, list) and len(configs) != 1:
            out.error(f"{path}.llm_configs", f"application {app.name!r} serves {len(configs)} models; LLM "
                                             "direct streaming (serve.highThroughput) supports exactly one per app: "
                                             "split it into one app per model, or set "
                                             "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING to '0' in ray.env")
        for key in ("ingress_deployment_config", "ingress_cls_config"):
            if args.get(key):
                out.error(f"{path}.{key}", f"application {app.name!r}: LLM direct streaming "
                                           "(serve.highThroughput) makes the model server the ingress, so "
                                           f"{key} cannot apply: remove it, or set "
                                           "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING to '0' in ray.env")


def _actor_needs(actor: dict[str, Any], default_cpus: float) -> dict[str, float]:
    need: dict[str, float] = {"CPU": float(actor.get("num_cpus", default_cpus) or 0),
                              "GPU": float(actor.get("num_gpus", 0) or 0)}
    if actor.get("memory") is not None:  # bytes; a quantity string is read too (Ray's schema names the type)
        memory = actor["memory"]
        need["memory"] = float(memory) if isinstance(memory, int | float) else float(parse_quantity(memory))
    for key, value in (actor.get("resources") or {}).items():
        need[str(key)] = float(value)
    if actor.get("accelerator_type"):
        need[f"{ACCELERATOR_RESOURCE}{actor['accelerator_type']}"] = 0.001
    return need


def _describe(need: dict[str, float]) -> str:
    parts = []
    for key, value in need.items():
        if value <= 0 or (key.startswith(ACCELERATOR_RESOURCE) and value < 0.01):
            continue
        parts.append(f"{key}={format_bytes(value)}" if key == "memory" else f"{key}={value:g}")
    accelerators = [k[len(ACCELERATOR_RESOURCE):] for k, v in need.items()
                    if k.startswith(ACCELERATOR_RESOURCE) and 0 < v < 0.01]
    if accelerators:
        parts.append(f"on {'/'.join(accelerators)}")
    return "{" + ", ".join(parts) + "}"


def _max_replicas(options: dict[str, Any]) -> int:
    autoscaling = options.get("autoscaling_config")
    if isinstance(autoscaling, dict):
        return int(autoscaling.get("max_replicas", 1) or 1)
    replicas = options.get("num_replicas", 1)
    return replicas if isinstance(replicas, int) else 100  # "auto": Ray's default max is 100


def _sum(bundles: list[dict[str, float]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for bundle in bundles:
        for key, value in bundle.items():
            total[key] = total.get(key, 0.0) + float(value)
    return total


@dataclass(frozen=True)
class Node:
    """One kind of Ray node the cluster can run replicas on: the head, or a worker group's pods."""

    name: str
    ray: RayResources
    max_pods: int
    head: bool = False

    @property
    def gpus(self) -> float:
        return float(self.ray.gpu)

    def misses(self, need: dict[str, float]) -> list[str]:
        """Resources of `need` one such node cannot give. A CPU or memory amount nothing sets is Ray's to
        measure (counts as enough); `accelerator_type:X` is what Ray detects on the node's devices unless the
        group declares its types; `TPU-<type>-head` is what Ray adds on a TPU slice's first host."""
        offers = self.ray.offers()
        missing = []
        for key, amount in need.items():
            if amount <= 0:
                continue
            if (key == "CPU" and self.ray.cpu is None) or (key == "memory" and self.ray.memory is None):
                continue
            if key.startswith(ACCELERATOR_RESOURCE):
                wanted = key[len(ACCELERATOR_RESOURCE):]
                declared = self.ray.accelerator_types()
                if wanted in declared or (not declared and detected_on(
                        wanted, gpus=self.gpus, tpus=offers.get("TPU", 0.0),
                        neuron_cores=offers.get("neuron_cores", 0.0))):
                    continue
                missing.append(key)
                continue
            if is_tpu_head_resource(key) and offers.get("TPU", 0.0) > 0 and amount <= 1:
                continue
            if offers.get(key, 0.0) + 1e-9 < amount:
                missing.append(key)
        return missing


def placement_nodes(rs: RayServiceModel) -> list[Node]:
    """The head (when it offers Ray anything: KubeRay does not zero it unless rayStartParams say so) and every
    worker group."""
    cluster = rs.cluster
    autoscaling = cluster.enable_in_tree_autoscaling
    nodes = [Node(g.name, g.ray, g.max_pods(autoscaling)) for g in cluster.workers]
    return [Node(cluster.head.name, cluster.head.ray, 1, head=True), *nodes]


class _Placement:
    """Shared checks for one replica's placement: bundles fit, actor ⊆ bundle 0, GPU and CPU capacity."""

    def __init__(self, nodes: Sequence[Node], autoscaling: bool, out: Collector) -> None:
        self.nodes = nodes
        self.workers = [n for n in nodes if not n.head]
        self.autoscaling = autoscaling
        self.out = out
        self.gpu_capacity = sum(n.gpus * n.max_pods for n in nodes)
        self.cpu_capacity: float | None = (None if any(n.ray.cpu is None for n in nodes if n.max_pods)
                                           else sum(float(n.ray.cpu or 0) * n.max_pods for n in nodes))
        self.cpu_demand: list[tuple[str, float]] = []  # (who, CPUs at max replicas)

    def _fit_anywhere(self, need: dict[str, float]) -> list[str]:
        candidates = [n for n in self.nodes if n.max_pods > 0 or n.head]
        misses = [n.misses(need) for n in candidates]
        if any(not m for m in misses):
            return []
        if not self.workers:
            return [*min(misses, key=len), "no worker groups"]
        return min(misses, key=len)

    def bundles(self, path: str, bundles: list[dict[str, float]], strategy: str, who: str) -> None:
        clean = [{k: float(v) for k, v in b.items()} for b in bundles]
        for index, bundle in enumerate(clean):
            missing = self._fit_anywhere(bundle)
            if missing:
                self.out.error(f"{path}[{index}]", f"{who}: bundle {_describe(bundle)} fits no Ray node "
                               f"(short of {', '.join(missing)}); add a worker group that offers it or shrink "
                               "the bundle")
        if strategy == "STRICT_PACK" and len(clean) > 1:
            total = _sum(clean)
            missing = self._fit_anywhere(total)
            if missing:
                best = max(self.workers, key=lambda n: n.gpus, default=None)
                detail = (f"; the largest GPU pod ({best.name!r}) has {best.gpus:g} GPUs"
                          f"{'' if best.ray.cpu is None else f' and {float(best.ray.cpu):g} CPUs'}"
                          if best and total.get("GPU") else "")
                self.out.error(path, f"{who}: STRICT_PACK puts all bundles {_describe(total)} on one node, and no "
                               f"worker pod offers that (short of {', '.join(missing)}){detail}; use bigger pods "
                               "(workerGroups[].gpus/cpu) or a PACK/SPREAD strategy")

    def capacity(self, path: str, need: dict[str, float], replicas: int, who: str) -> None:
        gpus_per_replica = need.get("GPU", 0.0)
        self.cpu_demand.append((who, need.get("CPU", 0.0) * replicas))
        if gpus_per_replica <= 0:
            return
        needed = gpus_per_replica * replicas
        if needed > self.gpu_capacity + 1e-9:
            source = "maxReplicas" if self.autoscaling else "replicas (the Ray autoscaler is off)"
            self.out.error(path, f"{who}: up to {replicas} replicas x {gpus_per_replica:g} GPUs = {needed:g} GPUs, "
                           f"but the worker groups can provide at most {self.gpu_capacity:g} (GPUs per pod x "
                           f"{source}); lower the Serve max replicas or raise the GPU group's maxReplicas")

    def total_cpu(self, path: str) -> None:
        """All replicas at their max, on all the CPUs the cluster can ever offer Ray."""
        if self.cpu_capacity is None:
            return
        needed = sum(cpus for _, cpus in self.cpu_demand)
        if needed > self.cpu_capacity + 1e-9:
            top = sorted(self.cpu_demand, key=lambda d: -d[1])[:3]
            source = "maxReplicas" if self.autoscaling else "replicas (the Ray autoscaler is off)"
            self.out.error(path, f"Serve needs up to {needed:g} CPUs at max replicas ("
                           + ", ".join(f"{who}: {cpus:g}" for who, cpus in top)
                           + f"), but the Ray nodes offer at most {self.cpu_capacity:g} (CPUs per pod x {source}, "
                           "the head's num-cpus included); lower the replicas' num_cpus or max replicas, or add CPU "
                           "capacity (workerGroups[].cpu / maxReplicas)")

    def cpu_only_on_gpu(self, path: str, need: dict[str, float], who: str, *, known_code: bool) -> None:
        """A replica asking for no GPU that may land on a GPU pod. Without a CPU group to go to, only for code
        rayctl knows (the bundled apps): user code often sets num_gpus itself (`.options()` from an env var)."""
        if need.get("GPU", 0) > 0:
            return
        cpu_groups = [n for n in self.workers if n.gpus <= 0 and n.max_pods > 0 and not n.misses(need)]
        if not cpu_groups and not known_code:
            return
        landing = [n for n in self.workers if n.gpus > 0 and (n.ray.cpu is None or n.ray.cpu > 0)
                   and not n.misses(need)]
        if landing:
            self.out.warning(path, f"{who} asks for no GPU but can be placed on GPU worker group "
                             f"{landing[0].name!r}, which then keeps a GPU pod alive: pin it to a CPU group with a "
                             "custom resource (rayResources on the CPU group, rayActorOptions.resources here)")


def _check_keys(options: dict[str, Any], path: str, who: str, version: tuple[int, int] | None,
                out: Collector) -> None:
    _versioned_keys(options, DEPLOYMENT_KEYS, "deployment", path, version, out)
    _unknown_keys(options.get("ray_actor_options"), RAY_ACTOR_OPTION_KEYS, f"{path}.ray_actor_options", out,
                  "ray_actor_options")
    _versioned_keys(options.get("autoscaling_config"), AUTOSCALING_KEYS, "autoscaling_config",
                    f"{path}.autoscaling_config", version, out)


def _versioned_keys(data: Any, allowed: frozenset[str], level: str, path: str, version: tuple[int, int] | None,
                    out: Collector) -> None:
    """Unknown keys are errors, except those an older Ray knew (RETIRED_KEYS), judged by the manifest's
    rayVersion (no rayVersion: the Ray rayctl targets)."""
    if not isinstance(data, dict):
        return
    current = version or _version_tuple(RAY_VERSION) or (99, 0)
    rest = {}
    for key, value in data.items():
        retired = RETIRED_KEYS.get((level, str(key)))
        if retired is None:
            rest[key] = value
            continue
        deprecated, removed, replacement = retired
        if current >= removed:
            out.error(f"{path}.{key}", f"{key!r} was removed in Ray {removed[0]}.{removed[1]} (rayVersion is "
                                       f"{current[0]}.{current[1]}): Ray ignores it; use {replacement!r}")
        elif current >= deprecated:
            out.warning(f"{path}.{key}", f"{key!r} is deprecated since Ray {deprecated[0]}.{deprecated[1]} and gone "
                                         f"in {removed[0]}.{removed[1]}: use {replacement!r}")
    _unknown_keys(rest, allowed, path, out, level)


def _check_deployment(app_path: str, index: int, options: dict[str, Any], placement: _Placement,
                      app: ServeApp, version: tuple[int, int] | None) -> None:
    app_name = app.name
    known_code = app.import_path in BUNDLED_APP_ARGS or app.import_path in LLM_IMPORT_PATHS
    out = placement.out
    path = f"{app_path}.deployments[{index}]"
    name = str(options.get("name", f"#{index}"))
    who = f"deployment {app_name}/{name}"
    _check_keys(options, path, who, version, out)
    if isinstance(options.get("num_replicas"), int) and options.get("autoscaling_config"):
        out.error(f"{path}.num_replicas", f"{who}: num_replicas and autoscaling_config are mutually exclusive")
    bundles = options.get("placement_group_bundles")
    strategy = options.get("placement_group_strategy")
    if strategy and not bundles:
        out.error(f"{path}.placement_group_strategy", f"{who}: placement_group_strategy requires "
                                                      "placement_group_bundles")
    if bundles and options.get("max_replicas_per_node") is not None:
        out.error(f"{path}.max_replicas_per_node", f"{who}: max_replicas_per_node cannot be combined with "
                                                   "placement_group_bundles")
    actor = options.get("ray_actor_options") or {}
    _check_accelerator_name(actor.get("accelerator_type"), f"{path}.ray_actor_options.accelerator_type", who,
                            placement, out)
    replicas = _max_replicas(options)
    if bundles:
        placement.bundles(f"{path}.placement_group_bundles", bundles, str(strategy or "PACK"), who)
        bundle0 = {k: float(v) for k, v in bundles[0].items()}
        need = _actor_needs(actor, 0.0)
        over = [k for k, v in need.items() if v > 0 and not k.startswith(ACCELERATOR_RESOURCE)
                and bundle0.get(k, 0.0) + 1e-9 < v]
        if over:
            out.error(f"{path}.ray_actor_options", f"{who}: the replica runs in placement bundle 0 "
                      f"{_describe(bundle0)}, but ray_actor_options ask for {_describe(need)} (more {', '.join(over)}"
                      "); raise bundle 0 or lower ray_actor_options")
        placement.capacity(path, _sum(bundles), replicas, who)
        placement.cpu_only_on_gpu(path, _sum(bundles), who, known_code=known_code)
    else:
        need = _actor_needs(actor, 1.0)
        missing = placement._fit_anywhere(need)
        if missing:
            out.error(f"{path}.ray_actor_options", f"{who}: a replica needs {_describe(need)}, which no Ray node "
                      f"offers (short of {', '.join(missing)})")
        placement.capacity(path, need, replicas, who)
        placement.cpu_only_on_gpu(path, need, who, known_code=known_code)


def _check_accelerator_name(name: object, path: str, who: str, placement: _Placement, out: Collector) -> None:
    if not isinstance(name, str) or not name or known_accelerator(name):
        return
    if any(name in n.ray.accelerator_types() for n in placement.nodes):
        return  # a custom name the cluster declares itself (accelerator_type:<name> in a group's resources)
    out.error(path, f"{who}: accelerator_type {name!r} is not an accelerator Ray knows"
                    f"{did_you_mean(name, KNOWN_ACCELERATORS)}, so nothing offers it and the replica never "
                    "schedules; use Ray's name (ray.util.accelerators, e.g. A100, H100, L4) or drop it")


LLM_REPLICA_CPUS = 1.0  # the LLM server actor's num_cpus unless deployment_config.ray_actor_options says otherwise


def _check_llm(app_path: str, app: ServeApp, placement: _Placement) -> None:
    out = placement.out
    configs = app.args.get("llm_configs")
    if not isinstance(configs, list) or not configs:
        out.error(f"{app_path}.args.llm_configs", "an LLM app needs a non-empty list of llm_configs")
        return
    for index, config in enumerate(configs):
        path = f"{app_path}.args.llm_configs[{index}]"
        if not isinstance(config, dict):
            out.error(path, "each llm_config is a mapping")
            continue
        _unknown_keys(config, LLM_CONFIG_KEYS, path, out, "llm_config")
        deployment = config.get("deployment_config") or {}
        _unknown_keys(deployment, LLM_DEPLOYMENT_CONFIG_KEYS, f"{path}.deployment_config", out, "deployment_config")
        model = str((config.get("model_loading_config") or {}).get("model_id", f"#{index}"))
        who = f"LLM {model!r}"
        engine = config.get("engine_kwargs") or {}
        tp = int(engine.get("tensor_parallel_size", 1) or 1)
        pp = int(engine.get("pipeline_parallel_size", 1) or 1)
        if tp < 1 or pp < 1 or tp * pp > MAX_ENGINE_GPUS:
            # Bounded before any bundle is built: 1e9 bundles would exhaust memory instead of answering.
            out.error(f"{path}.engine_kwargs", f"{who}: tensor_parallel_size x pipeline_parallel_size = {tp}x{pp}; "
                                               f"each must be >= 1 and their product at most {MAX_ENGINE_GPUS} "
                                               "(one GPU per rank): use the model's real parallelism")
            continue
        accelerator = config.get("accelerator_type")
        if isinstance(accelerator, str) and accelerator and not known_accelerator(accelerator):
            out.error(f"{path}.accelerator_type",
                      f"{who}: accelerator_type {accelerator!r} is not one Ray Serve LLM accepts (LLMConfig "
                      f"rejects it){did_you_mean(accelerator, KNOWN_ACCELERATORS)}: use Ray's name (e.g. A100, "
                      "H100, L4) or drop it")
            accelerator = None
        if accelerator and all(n.misses({f"{ACCELERATOR_RESOURCE}{accelerator}": 0.001}) for n in placement.nodes):
            declared = sorted({t for n in placement.nodes for t in n.ray.accelerator_types()})
            gpu_groups = [n.name for n in placement.workers if n.gpus > 0]
            why = (f"the GPU groups declare {', '.join(declared)}" if declared and gpu_groups
                   else "there is no GPU worker group")
            out.error(f"{path}.accelerator_type", f"{who}: accelerator_type {accelerator!r} is offered by no worker "
                      f"group ({why}); set acceleratorType on the GPU worker group to the model its nodes have, or "
                      "change the app's")
            continue
        # Ray Serve LLM (2.60): one bundle per tensor x pipeline rank ({GPU: 1} unless placement_group_config
        # says otherwise), each carrying accelerator_type:<X> 0.001; the server actor's own resources are added
        # to bundle 0 (_merge_replica_actor_and_child_actor_bundles); PACK unless the config names a strategy.
        pg = config.get("placement_group_config") or {}
        if pg.get("bundle_per_worker"):
            bundles = [{str(k): float(v) for k, v in dict(pg["bundle_per_worker"]).items()} for _ in range(tp * pp)]
        elif pg.get("bundles"):
            bundles = [{str(k): float(v) for k, v in dict(b).items()} for b in pg["bundles"]]
        else:
            bundles = [{"GPU": 1.0} for _ in range(tp * pp)]
        if accelerator:
            for bundle in bundles:
                bundle.setdefault(f"{ACCELERATOR_RESOURCE}{accelerator}", 0.001)
        actor = _actor_needs(dict(deployment.get("ray_actor_options") or {}), LLM_REPLICA_CPUS)
        bundles[0] = {k: bundles[0].get(k, 0.0) + actor.get(k, 0.0) for k in {*bundles[0], *actor}
                      if not k.startswith(ACCELERATOR_RESOURCE) or k in bundles[0]}
        strategy = str(pg.get("strategy", "PACK"))
        total = _sum(bundles)
        gpus = total.get("GPU", 0.0)
        if strategy == "STRICT_PACK" and gpus > 0:
            largest = max((n.gpus for n in placement.workers), default=0.0)
            if gpus > largest + 1e-9:
                out.error(f"{path}.engine_kwargs", f"{who}: tensor_parallel_size x pipeline_parallel_size = {tp}x{pp}"
                          f" needs {gpus:g} GPUs on one node under STRICT_PACK, but the largest GPU worker pod has "
                          f"{largest:g}; raise workerGroups[].gpus to {gpus:g} or lower the parallelism")
                continue
            cpus = total.get("CPU", 0.0)
            fitting = [n for n in placement.workers if n.gpus + 1e-9 >= gpus]
            if cpus > 0 and fitting and all(n.ray.cpu is not None and float(n.ray.cpu) + 1e-9 < cpus
                                            for n in fitting):
                most = max(float(n.ray.cpu or 0) for n in fitting)
                out.error(f"{path}.placement_group_config",
                          f"{who}: {tp}x{pp} ranks under STRICT_PACK need {cpus:g} CPUs on one node (one bundle per "
                          f"rank {_describe(bundles[-1])}, and the server replica's own {actor.get('CPU', 0):g} CPU "
                          f"joins bundle 0), but the GPU pods with {gpus:g} GPUs offer Ray {most:g}; raise "
                          f"workerGroups[].cpu to {cpus:g} or more, or lower the bundle CPUs (bundleCpus)")
                continue
        placement.bundles(f"{path}.placement_group_config", bundles, strategy, who)
        placement.capacity(f"{path}.deployment_config", total, _max_replicas(deployment), who)


def check_serve_config(rs: RayServiceModel, out: Collector) -> None:
    serve = rs.spec.serve_config
    config = serve.value
    if not isinstance(config, dict):
        return  # absent, not YAML or not a mapping: the read-model reported it
    _unknown_keys(config, SERVE_CONFIG_KEYS, SERVE, out, "Serve config")
    _unknown_keys(config.get("http_options"), HTTP_OPTION_KEYS, f"{SERVE}.http_options", out, "http_options")
    _check_serve_port(rs, config, out)
    if config.get("applications") in (None, []):
        out.error(f"{SERVE}.applications", "needs at least one application")
        return
    version = _version_tuple(rs.cluster.ray_version)
    placement = _Placement(placement_nodes(rs), rs.cluster.enable_in_tree_autoscaling, out)
    routes: dict[str, str] = {}
    for app in serve.applications:
        path = app.path
        _unknown_keys(app.raw, APPLICATION_KEYS, path, out, "application")
        route = app.route_prefix
        if route is not None:
            if route in routes:
                out.error(f"{path}.route_prefix", f"route {route!r} is already used by application {routes[route]!r}")
            routes[route] = app.name
        known_args = BUNDLED_APP_ARGS.get(app.import_path)
        if known_args is not None:
            _unknown_keys(app.args, known_args, f"{path}.args", out, f"{app.import_path} args")
        try:
            if app.import_path in LLM_IMPORT_PATHS:
                _check_llm(path, app, placement)
            elif not app.deployments:
                _check_implicit_replica(path, app, placement)
            for d_index, options in app.deployments:
                _check_deployment(path, d_index, dict(options), placement, app, version)
            if app.import_path == "serve_apps.classifier:app_builder":
                _check_batching(path, app, out)
        except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as exc:
            # Wrong types in a hand-written config: Ray's schema check names the field; say why we stopped here.
            out.error(path, f"application {app.name!r} has a value of the wrong type, so its placement could not "
                            f"be checked ({type(exc).__name__}: {exc})")
    placement.total_cpu(f"{SERVE}.applications")


def _check_implicit_replica(path: str, app: ServeApp, placement: _Placement) -> None:
    """An app that leaves its deployments to the code still runs at least one replica: when no Ray node offers
    any CPU or GPU at all, nothing of it can start."""
    nodes = [n for n in placement.nodes if n.max_pods > 0]
    if all(n.ray.cpu is not None and n.ray.cpu <= 0 and n.gpus <= 0 and not n.ray.custom for n in nodes):
        placement.out.error(f"{path}.deployments", f"application {app.name!r} names no deployments, so its code "
                            "decides their resources, but no Ray node offers any CPU or GPU (the head has num-cpus "
                            "0 and there are no worker pods): add a worker group")


def _check_serve_port(rs: RayServiceModel, config: dict[str, Any], out: Collector) -> None:
    """Serve's HTTP proxy binds http_options.port on every node that runs a proxy; Ray's own servers hold theirs."""
    options = config.get("http_options")
    port = options.get("port", 8000) if isinstance(options, dict) else 8000
    if not isinstance(port, int) or isinstance(port, bool):
        return
    taken = dict(RAY_PORTS)
    params = rs.cluster.head.ray_start_params
    for param, default in (("port", 6379), ("dashboard-port", 8265), ("ray-client-server-port", 10001),
                           ("metrics-export-port", 8080), ("dashboard-agent-listen-port", 52365)):
        value = params.get(param)
        if value is not None and value.strip().isdigit() and int(value) != default:
            taken[int(value)] = taken.pop(default)
    if port in taken:
        out.error(f"{SERVE}.http_options.port", f"port {port} is the port of {taken[port]} on the Ray pods: Serve's "
                                               "proxy could not bind it; pick another port (8000 is Serve's default)")


def _check_batching(path: str, app: ServeApp, out: Collector) -> None:
    batch = int(app.args.get("max_batch_size", 32))
    for index, options in app.deployments:
        if options.get("name") == "BatchClassifier":
            ongoing = options.get("max_ongoing_requests", 5)
            if isinstance(ongoing, int) and ongoing < batch:
                out.warning(f"{path}.deployments[{index}].max_ongoing_requests",
                            f"max_ongoing_requests ({ongoing}) is below max_batch_size ({batch}): batches can never "
                            "fill; raise it to at least 2 x max_batch_size")


def check_apps_image(rs: RayServiceModel, out: Collector) -> None:
    """The bundled apps import `serve_apps`, which the stock rayproject images do not contain."""
    bundled = [a.name for a in rs.spec.serve_config.applications if a.import_path.startswith("serve_apps.")]
    if not bundled:
        return
    for index, container in _containers(rs):
        if index == 0 and container.image.startswith(("rayproject/", "docker.io/rayproject/")):  # the Ray container
            out.warning(f"{container.path}.image",
                        f"{container.image} has no serve_apps, which applications {', '.join(bundled)} import: build "
                        "docker/Dockerfile (make image) and set ray.image / ray.gpuImage to it")
            return


def check_rayservice(rs: RayServiceModel, out: Collector) -> None:
    check_metadata(rs, out)
    check_kuberay(rs, out)
    check_groups(rs.cluster.workers, out)
    check_drain_fits_grace(rs.cluster.workers, out)
    check_images(rs, out)
    check_serve_mode(rs, out)
    serve = rs.spec.serve_config
    if not serve.present:
        out.warning(SERVE, "no serveConfigV2: the RayService runs no Serve applications")
        return
    check_serve_config(rs, out)
    check_apps_image(rs, out)
