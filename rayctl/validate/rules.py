"""Semantic rules over a RayService manifest: what the CRD schema and Ray's schema cannot see.

Each message names the field and the fix. The rules read the manifest (not the spec), so they hold equally for
rendered and hand-written RayServices.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from rayctl.spec.model import MAX_NAME_LENGTH
from rayctl.spec.quantity import format_bytes, parse_quantity
from rayctl.spec.serve import HIGH_THROUGHPUT_ENV, HIGH_THROUGHPUT_MIN_RAY, switch_on
from rayctl.spec.suggest import did_you_mean
from rayctl.validate.cluster_view import GroupView, fits, group_views, max_pods
from rayctl.validate.findings import Collector
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


def check_metadata(rs: dict[str, Any], out: Collector) -> None:
    name = str((rs.get("metadata") or {}).get("name", ""))
    if len(name) > MAX_NAME_LENGTH:
        out.error("metadata.name", f"{name!r} is {len(name)} characters; KubeRay allows at most {MAX_NAME_LENGTH} "
                                   "(it derives RayCluster and Service names from it): shorten it")
    elif name and not _DNS_1035.match(name):
        out.error("metadata.name", f"{name!r} is not a DNS-1035 label: lowercase letters, digits and '-', "
                                   "starting with a letter")
    spec = rs.get("spec") or {}
    for field in ("serviceUnhealthySecondThreshold", "deploymentUnhealthySecondThreshold"):
        if field in spec:
            out.warning(f"spec.{field}", "deprecated and a no-op in KubeRay v1.7: remove it")
    if str(rs.get("apiVersion", "")).endswith("/v1alpha1"):
        out.warning("apiVersion", "ray.io/v1alpha1 is deprecated (removed in KubeRay 1.9): use ray.io/v1")
    strategy = (spec.get("upgradeStrategy") or {}).get("type")
    if strategy is not None and strategy not in ("NewCluster", "NewClusterWithIncrementalUpgrade", "None"):
        out.error("spec.upgradeStrategy.type", f"{strategy!r} is not accepted by the KubeRay operator: use "
                                               "NewCluster, NewClusterWithIncrementalUpgrade or None")


def check_groups(groups: list[GroupView], out: Collector) -> None:
    for g in groups:
        if g.min_replicas > g.max_replicas:
            out.error(f"{g.path}.minReplicas", f"group {g.name!r}: minReplicas ({g.min_replicas}) > maxReplicas "
                                               f"({g.max_replicas})")
        elif not g.min_replicas <= g.replicas <= g.max_replicas:
            out.error(f"{g.path}.replicas", f"group {g.name!r}: replicas ({g.replicas}) must lie within "
                                            f"minReplicas..maxReplicas ({g.min_replicas}..{g.max_replicas})")


def _containers(rs: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(field path, index, container) of every container of the head and worker pod templates."""
    cluster = (rs.get("spec") or {}).get("rayClusterConfig") or {}
    pods = [("spec.rayClusterConfig.headGroupSpec", cluster.get("headGroupSpec") or {})]
    pods += [(f"spec.rayClusterConfig.workerGroupSpecs[{i}]", g)
             for i, g in enumerate(cluster.get("workerGroupSpecs") or []) if isinstance(g, dict)]
    for path, group in pods:
        containers = (((group.get("template") or {}).get("spec") or {}).get("containers")) or []
        for index, container in enumerate(containers):
            if isinstance(container, dict):
                yield f"{path}.template.spec.containers[{index}]", index, container


def _container_images(rs: dict[str, Any]) -> Iterator[tuple[str, int, str]]:
    """(field path, container index, image) of every container of the head and worker pod templates."""
    for path, index, container in _containers(rs):
        yield f"{path}.image", index, str(container.get("image", ""))


def _ray_version(rs: dict[str, Any]) -> str:
    return str(((rs.get("spec") or {}).get("rayClusterConfig") or {}).get("rayVersion", ""))


def check_images(rs: dict[str, Any], out: Collector) -> None:
    version = _ray_version(rs)
    if not version:
        return
    for path, _, image in _container_images(rs):
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        if tag and not (tag == version or tag.startswith(version + "-")):
            out.warning(path, f"image tag {tag!r} does not match rayVersion {version!r}: Ray versions must match "
                              "across the cluster and KubeRay uses rayVersion for compatibility")


def _version_tuple(version: str) -> tuple[int, ...] | None:
    match = re.match(r"^(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def check_serve_mode(rs: dict[str, Any], serve_config: Any, out: Collector) -> None:
    """Ray Serve's high-throughput switches need a Ray that honours them, the same value on every Ray pod, and
    (LLM direct streaming) HAProxy plus LLM apps of one model without a custom ingress."""
    enabled: dict[str, list[str]] = {}  # pod template path -> switches on
    for path, index, container in _containers(rs):
        if index != 0:  # the Ray container; sidecars do not run Serve
            continue
        env = {str(e.get("name")): str(e.get("value", "")) for e in container.get("env") or []
               if isinstance(e, dict) and e.get("name") in HIGH_THROUGHPUT_ENV}
        enabled[path] = sorted(k for k, v in env.items() if switch_on(v))
    switches = sorted({k for keys in enabled.values() for k in keys})
    if not switches:
        return
    version = _ray_version(rs)
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
    apps = serve_config.get("applications") if isinstance(serve_config, dict) else None
    for i, app in enumerate(apps or []):
        if not isinstance(app, dict) or app.get("import_path") not in LLM_IMPORT_PATHS:
            continue
        raw_args = app.get("args")
        args: dict[str, Any] = raw_args if isinstance(raw_args, dict) else {}
        path = f"{SERVE}.applications[{i}].args"
        configs = args.get("llm_configs")
        if isinstance(configs, list) and len(configs) != 1:
            out.error(f"{path}.llm_configs", f"application {app.get('name')!r} serves {len(configs)} models; LLM "
                                             "direct streaming (serve.highThroughput) supports exactly one per app: "
                                             "split it into one app per model, or set "
                                             "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING to '0' in ray.env")
        for key in ("ingress_deployment_config", "ingress_cls_config"):
            if args.get(key):
                out.error(f"{path}.{key}", f"application {app.get('name')!r}: LLM direct streaming "
                                           "(serve.highThroughput) makes the model server the ingress, so "
                                           f"{key} cannot apply: remove it, or set "
                                           "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING to '0' in ray.env")


def _actor_needs(actor: dict[str, Any], default_cpus: float) -> dict[str, float]:
    need: dict[str, float] = {"CPU": float(actor.get("num_cpus", default_cpus) or 0),
                              "GPU": float(actor.get("num_gpus", 0) or 0)}
    if actor.get("memory") is not None:
        need["memory"] = parse_quantity(actor["memory"])
    for key, value in (actor.get("resources") or {}).items():
        need[str(key)] = float(value)
    if actor.get("accelerator_type"):
        need[f"accelerator_type:{actor['accelerator_type']}"] = 0.001
    return need


def _describe(need: dict[str, float]) -> str:
    parts = []
    for key, value in need.items():
        if value <= 0:
            continue
        parts.append(f"{key}={format_bytes(value)}" if key == "memory" else f"{key}={value:g}")
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


class _Placement:
    """Shared checks for one replica's placement: bundles fit, actor ⊆ bundle 0, GPU capacity."""

    def __init__(self, groups: list[GroupView], autoscaling: bool, out: Collector) -> None:
        self.groups = groups
        self.autoscaling = autoscaling
        self.out = out
        self.gpu_capacity = sum(g.gpus * max_pods(g, autoscaling) for g in groups)

    def _fit_anywhere(self, need: dict[str, float]) -> list[str]:
        if not self.groups:
            return ["no worker groups"]
        misses = [fits(need, g.offers()) for g in self.groups]
        return [] if any(not m for m in misses) else min(misses, key=len)

    def bundles(self, path: str, bundles: list[dict[str, float]], strategy: str, who: str) -> None:
        clean = [{k: float(v) for k, v in b.items()} for b in bundles]
        for index, bundle in enumerate(clean):
            missing = self._fit_anywhere(bundle)
            if missing:
                self.out.error(f"{path}[{index}]", f"{who}: bundle {_describe(bundle)} fits no worker group "
                               f"(short of {', '.join(missing)}); add a worker group that offers it or shrink "
                               "the bundle")
        if strategy == "STRICT_PACK" and len(clean) > 1:
            total = _sum(clean)
            missing = self._fit_anywhere(total)
            if missing:
                best = max(self.groups, key=lambda g: g.gpus, default=None)
                detail = f"; the largest GPU pod ({best.name!r}) has {best.gpus:g} GPUs" if best and total.get(
                    "GPU") else ""
                self.out.error(path, f"{who}: STRICT_PACK puts all bundles {_describe(total)} on one node, and no "
                               f"worker pod offers that (short of {', '.join(missing)}){detail}; use bigger pods "
                               "(workerGroups[].gpus/cpu) or a PACK/SPREAD strategy")

    def capacity(self, path: str, gpus_per_replica: float, replicas: int, who: str) -> None:
        if gpus_per_replica <= 0:
            return
        needed = gpus_per_replica * replicas
        if needed > self.gpu_capacity + 1e-9:
            source = "maxReplicas" if self.autoscaling else "replicas (the Ray autoscaler is off)"
            self.out.error(path, f"{who}: up to {replicas} replicas x {gpus_per_replica:g} GPUs = {needed:g} GPUs, "
                           f"but the worker groups can provide at most {self.gpu_capacity:g} (GPUs per pod x "
                           f"{source}); lower the Serve max replicas or raise the GPU group's maxReplicas")

    def cpu_only_on_gpu(self, path: str, need: dict[str, float], who: str) -> None:
        if need.get("GPU", 0) > 0 or not any(g.gpus > 0 for g in self.groups):
            return
        landing = [g for g in self.groups if g.gpus > 0 and g.cpus > 0 and not fits(need, g.offers())]
        if landing:
            self.out.warning(path, f"{who} asks for no GPU but can be placed on GPU worker group "
                             f"{landing[0].name!r}, which then keeps a GPU pod alive: pin it to a CPU group with a "
                             "custom resource (rayResources on the CPU group, rayActorOptions.resources here)")


def _check_deployment(app_path: str, index: int, options: dict[str, Any], placement: _Placement,
                      app_name: str) -> None:
    out = placement.out
    path = f"{app_path}.deployments[{index}]"
    name = str(options.get("name", f"#{index}"))
    who = f"deployment {app_name}/{name}"
    _unknown_keys(options, DEPLOYMENT_KEYS, path, out, "deployment")
    _unknown_keys(options.get("ray_actor_options"), RAY_ACTOR_OPTION_KEYS, f"{path}.ray_actor_options", out,
                  "ray_actor_options")
    _unknown_keys(options.get("autoscaling_config"), AUTOSCALING_KEYS, f"{path}.autoscaling_config", out,
                  "autoscaling_config")
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
    replicas = _max_replicas(options)
    if bundles:
        placement.bundles(f"{path}.placement_group_bundles", bundles, str(strategy or "PACK"), who)
        bundle0 = {k: float(v) for k, v in bundles[0].items()}
        need = _actor_needs(actor, 0.0)
        over = [k for k, v in need.items() if v > 0 and not k.startswith("accelerator_type:")
                and bundle0.get(k, 0.0) + 1e-9 < v]
        if over:
            out.error(f"{path}.ray_actor_options", f"{who}: the replica runs in placement bundle 0 "
                      f"{_describe(bundle0)}, but ray_actor_options ask for {_describe(need)} (more {', '.join(over)}"
                      "); raise bundle 0 or lower ray_actor_options")
        placement.capacity(path, _sum(bundles).get("GPU", 0.0), replicas, who)
        placement.cpu_only_on_gpu(path, _sum(bundles), who)
    else:
        need = _actor_needs(actor, 1.0)
        missing = placement._fit_anywhere(need)
        if missing:
            out.error(f"{path}.ray_actor_options", f"{who}: a replica needs {_describe(need)}, which no worker "
                      f"group offers (short of {', '.join(missing)})")
        placement.capacity(path, need.get("GPU", 0.0), replicas, who)
        placement.cpu_only_on_gpu(path, need, who)


def _check_llm(app_path: str, app: dict[str, Any], placement: _Placement, groups: list[GroupView]) -> None:
    out = placement.out
    configs = (app.get("args") or {}).get("llm_configs")
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
        pg = config.get("placement_group_config") or {}
        if pg.get("bundles"):
            bundles = [dict(b) for b in pg["bundles"]]
        else:
            per_worker = pg.get("bundle_per_worker") or {"CPU": 1, "GPU": 1}
            bundles = [dict(per_worker) for _ in range(tp * pp)]
        strategy = str(pg.get("strategy", "PACK"))
        gpus = _sum(bundles).get("GPU", 0.0)
        if strategy == "STRICT_PACK" and gpus > 0:
            largest = max((g.gpus for g in groups), default=0.0)
            if gpus > largest + 1e-9:
                out.error(f"{path}.engine_kwargs", f"{who}: tensor_parallel_size x pipeline_parallel_size = {tp}x{pp}"
                          f" needs {gpus:g} GPUs on one node under STRICT_PACK, but the largest GPU worker pod has "
                          f"{largest:g}; raise workerGroups[].gpus to {gpus:g} or lower the parallelism")
                continue
        placement.bundles(f"{path}.placement_group_config", bundles, strategy, who)
        accelerator = config.get("accelerator_type")
        if accelerator and not any(accelerator in g.accelerator_types() for g in groups):
            out.error(f"{path}.accelerator_type", f"{who}: accelerator_type {accelerator!r} is offered by no worker "
                      "group; set acceleratorType on the GPU worker group")
        placement.capacity(f"{path}.deployment_config", gpus, _max_replicas(deployment), who)


def check_serve_config(config: Any, groups: list[GroupView], autoscaling: bool, out: Collector) -> None:
    if not isinstance(config, dict):
        out.error(SERVE, "serveConfigV2 must be a YAML mapping with `applications`")
        return
    _unknown_keys(config, SERVE_CONFIG_KEYS, SERVE, out, "Serve config")
    _unknown_keys(config.get("http_options"), HTTP_OPTION_KEYS, f"{SERVE}.http_options", out, "http_options")
    apps = config.get("applications")
    if not isinstance(apps, list) or not apps:
        out.error(f"{SERVE}.applications", "needs at least one application")
        return
    placement = _Placement(groups, autoscaling, out)
    routes: dict[str, str] = {}
    for index, app in enumerate(apps):
        path = f"{SERVE}.applications[{index}]"
        if not isinstance(app, dict):
            out.error(path, "each application is a mapping")
            continue
        _unknown_keys(app, APPLICATION_KEYS, path, out, "application")
        app_name = str(app.get("name", f"#{index}"))
        route = app.get("route_prefix")
        if isinstance(route, str):
            if route in routes:
                out.error(f"{path}.route_prefix", f"route {route!r} is already used by application {routes[route]!r}")
            routes[route] = app_name
        import_path = str(app.get("import_path", ""))
        known_args = BUNDLED_APP_ARGS.get(import_path)
        if known_args is not None:
            _unknown_keys(app.get("args"), known_args, f"{path}.args", out, f"{import_path} args")
        try:
            if import_path in LLM_IMPORT_PATHS:
                _check_llm(path, app, placement, groups)
            for d_index, options in enumerate(app.get("deployments") or []):
                if isinstance(options, dict):
                    _check_deployment(path, d_index, options, placement, app_name)
            if import_path == "serve_apps.classifier:app_builder":
                _check_batching(path, app, out)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            # Wrong types in a hand-written config: Ray's schema check names the field; say why we stopped here.
            out.error(path, f"application {app_name!r} has a value of the wrong type, so its placement could not "
                            f"be checked ({type(exc).__name__}: {exc})")


def _check_batching(path: str, app: dict[str, Any], out: Collector) -> None:
    batch = int((app.get("args") or {}).get("max_batch_size", 32))
    for index, options in enumerate(app.get("deployments") or []):
        if isinstance(options, dict) and options.get("name") == "BatchClassifier":
            ongoing = options.get("max_ongoing_requests", 5)
            if isinstance(ongoing, int) and ongoing < batch:
                out.warning(f"{path}.deployments[{index}].max_ongoing_requests",
                            f"max_ongoing_requests ({ongoing}) is below max_batch_size ({batch}): batches can never "
                            "fill; raise it to at least 2 x max_batch_size")


def check_apps_image(rs: dict[str, Any], serve_config: Any, out: Collector) -> None:
    """The bundled apps import `serve_apps`, which the stock rayproject images do not contain."""
    apps = serve_config.get("applications") if isinstance(serve_config, dict) else None
    bundled = [a.get("name") for a in apps or [] if isinstance(a, dict)
               and str(a.get("import_path", "")).startswith("serve_apps.")]
    if not bundled:
        return
    for path, index, image in _container_images(rs):
        if index == 0 and image.startswith(("rayproject/", "docker.io/rayproject/")):  # the Ray container
            out.warning(path,
                        f"{image} has no serve_apps, which applications {', '.join(map(str, bundled))} import: build "
                        "docker/Dockerfile (make image) and set ray.image / ray.gpuImage to it")
            return


def check_rayservice(rs: dict[str, Any], serve_config: Any, out: Collector) -> None:
    check_metadata(rs, out)
    groups = group_views(rs)
    check_groups(groups, out)
    check_images(rs, out)
    check_serve_mode(rs, serve_config, out)
    cluster = (rs.get("spec") or {}).get("rayClusterConfig") or {}
    autoscaling = bool(cluster.get("enableInTreeAutoscaling"))
    if serve_config is not None:
        check_serve_config(serve_config, groups, autoscaling, out)
        check_apps_image(rs, serve_config, out)
