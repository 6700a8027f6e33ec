"""Untyped RayService / RayCluster trees -> the typed read-model, with findings instead of exceptions.

`parse_rayservice(obj)` accepts anything (a hand-written manifest, the API server's copy, a fuzzer's tree) and
returns a complete model plus the findings: a field of the wrong type is reported with its path and what was
expected, and reads as its default. The CRD's defaults for worker groups are applied and nulls read as absent (the
API server prunes them), so what the rules see is what the operator would see.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import yaml

from rayctl.findings import Collector, Finding
from rayctl.model.defaults import WORKER_GROUP_DEFAULTS
from rayctl.model.read import INT64_MAX, INT64_MIN, Reader, child
from rayctl.model.resources import (
    AUTOSCALER_SIDECAR,
    WAIT_GCS_READY_INIT,
    RayResources,
    container_requests,
    is_gpu_resource,
    pod_requests,
    ray_resources,
)
from rayctl.model.types import (
    AppStatus,
    ClusterConfig,
    Condition,
    Container,
    ContainerPort,
    DeploymentStatus,
    EnvVar,
    HeadGroup,
    Metadata,
    PodTemplate,
    RayClusterModel,
    RayServiceModel,
    RayServiceSpec,
    RayServiceStatus,
    ServeApp,
    ServeConfig,
    ServiceStatus,
    WorkerGroup,
)

ROOT = "<root>"
SERVE_CONFIG = "spec.serveConfigV2"
DEPRECATED_SPEC_FIELDS = ("serviceUnhealthySecondThreshold", "deploymentUnhealthySecondThreshold")


def _object_reader(obj: object, source: str) -> tuple[Collector, Reader, dict[str, Any]]:
    """The findings, the reader and the top-level mapping of one Kubernetes object (anything else is a finding)."""
    out = Collector(source)
    r = Reader(out)
    if obj is not None and not isinstance(obj, dict):
        r.wrong(ROOT, "a mapping (a Kubernetes object)", obj)
    return out, r, r.mapping(obj if isinstance(obj, dict) else None, ROOT)


def parse_rayservice(obj: object, *, source: str = "") -> tuple[RayServiceModel, list[Finding]]:
    """The typed model of a RayService and the findings (wrong types, unusable values) met on the way."""
    out, r, top = _object_reader(obj, source)
    spec = r.mapping(top.get("spec"), "spec")
    upgrade = r.mapping(spec.get("upgradeStrategy"), "spec.upgradeStrategy")
    model = RayServiceModel(
        api_version=r.string(top.get("apiVersion"), "apiVersion"),
        kind=r.string(top.get("kind"), "kind"),
        metadata=parse_metadata(top.get("metadata"), "metadata", r),
        spec=RayServiceSpec(
            cluster=parse_cluster_config(spec.get("rayClusterConfig"), "spec.rayClusterConfig", r),
            serve_config=parse_serve_config(spec.get("serveConfigV2"), SERVE_CONFIG, r),
            upgrade_strategy=r.optional_string(upgrade.get("type"), "spec.upgradeStrategy.type"),
            upgrade_options=(r.mapping(upgrade.get("clusterUpgradeOptions"),
                                       "spec.upgradeStrategy.clusterUpgradeOptions")
                             if upgrade.get("clusterUpgradeOptions") is not None else None),
            exclude_head_pod_from_serve_svc=r.boolean(spec.get("excludeHeadPodFromServeSvc"),
                                                      "spec.excludeHeadPodFromServeSvc"),
            ray_cluster_deletion_delay_seconds=r.optional_integer(spec.get("rayClusterDeletionDelaySeconds"),
                                                                  "spec.rayClusterDeletionDelaySeconds", low=0),
            serve_service=r.mapping(spec.get("serveService"), "spec.serveService") or None,
            deprecated_fields=tuple(f for f in DEPRECATED_SPEC_FIELDS if spec.get(f) is not None),
        ),
        status=parse_rayservice_status(top.get("status"), "status", r),
    )
    return model, out.findings


def parse_raycluster(obj: object, *, source: str = "") -> tuple[RayClusterModel, list[Finding]]:
    """The typed model of a RayCluster (what the planner and `rayctl status` read of the operator's clusters)."""
    out, r, top = _object_reader(obj, source)
    status = r.mapping(top.get("status"), "status")
    model = RayClusterModel(
        metadata=parse_metadata(top.get("metadata"), "metadata", r),
        cluster=parse_cluster_config(top.get("spec"), "spec", r),
        state=r.string(status.get("state"), "status.state"),
        conditions=parse_conditions(status.get("conditions"), "status.conditions", r),
    )
    return model, out.findings


def parse_metadata(raw: object, path: str, r: Reader) -> Metadata:
    meta = r.mapping(raw, path)
    return Metadata(
        name=r.string(meta.get("name"), f"{path}.name"),
        namespace=r.optional_string(meta.get("namespace"), f"{path}.namespace"),
        labels=r.string_map(meta.get("labels"), f"{path}.labels"),
        annotations=r.string_map(meta.get("annotations"), f"{path}.annotations"),
        generation=r.optional_integer(meta.get("generation"), f"{path}.generation", low=INT64_MIN, high=INT64_MAX),
        deletion_timestamp=r.optional_string(meta.get("deletionTimestamp"), f"{path}.deletionTimestamp"),
    )


def parse_conditions(raw: object, path: str, r: Reader) -> tuple[Condition, ...]:
    """Kubernetes status conditions (RayService, RayCluster, Pod)."""
    conditions = []
    for index, item in r.mappings(raw, path, "condition"):
        at = child(path, index)
        conditions.append(Condition(
            type=r.string(item.get("type"), f"{at}.type"),
            status=r.string(item.get("status"), f"{at}.status"),
            reason=r.string(item.get("reason"), f"{at}.reason"),
            message=r.string(item.get("message"), f"{at}.message"),
            last_transition_time=r.optional_string(item.get("lastTransitionTime"), f"{at}.lastTransitionTime"),
        ))
    return tuple(conditions)


# ------------------------------------------------------------------------------------------------------------
# pod templates


def _env(raw: object, path: str, r: Reader) -> tuple[EnvVar, ...]:
    env = []
    for index, item in r.mappings(raw, path, "env entry"):
        at = child(path, index)
        value = item.get("value")
        if isinstance(value, bool | int | float):
            r.out.error(f"{at}.value", f"must be a string (got {value!r}): quote it")
            value = str(value).lower() if isinstance(value, bool) else str(value)
        else:
            value = r.optional_string(value, f"{at}.value")
        value_from = item.get("valueFrom")
        env.append(EnvVar(
            name=r.string(item.get("name"), f"{at}.name"),
            value=value,
            value_from=r.mapping(value_from, f"{at}.valueFrom") if value_from is not None else None,
        ))
    return tuple(env)


def _ports(raw: object, path: str, r: Reader) -> tuple[ContainerPort, ...]:
    return tuple(
        ContainerPort(
            container_port=r.optional_integer(item.get("containerPort"), f"{child(path, i)}.containerPort",
                                              low=1, high=65535),
            name=r.optional_string(item.get("name"), f"{child(path, i)}.name"),
            protocol=r.string(item.get("protocol"), f"{child(path, i)}.protocol", "TCP"),
        )
        for i, item in r.mappings(raw, path, "port")
    )


def _check_requests_within_limits(path: str, requests: Mapping[str, Decimal], limits: Mapping[str, Decimal],
                                  out: Collector) -> None:
    """What the API server rejects in a pod's resources (so the operator's pod creation would fail)."""
    for name, amount in requests.items():
        if name in limits and amount > limits[name]:
            out.error(f"{path}.requests.{name}", f"request {amount} exceeds the limit {limits[name]}: the API server "
                                                 "rejects the pod; raise the limit or lower the request")
        elif is_gpu_resource(name) and name not in limits:
            out.error(f"{path}.limits", f"{name} is requested without a limit: the API server rejects the pod "
                                        f"(extended resources need a limit, and KubeRay reads GPUs from limits); "
                                        f"set limits.{name}")
        elif is_gpu_resource(name) and amount != limits[name]:
            out.error(f"{path}.requests.{name}", f"must equal the limit ({limits[name]}): extended resources cannot "
                                                 "be overcommitted")


def parse_container(raw: Mapping[str, Any], path: str, r: Reader) -> Container:
    resources = r.mapping(raw.get("resources"), f"{path}.resources")
    requests = r.quantity_map(resources.get("requests"), f"{path}.resources.requests")
    limits = r.quantity_map(resources.get("limits"), f"{path}.resources.limits")
    _check_requests_within_limits(f"{path}.resources", requests, limits, r.out)
    return Container(
        path=path,
        name=r.string(raw.get("name"), f"{path}.name"),
        image=r.string(raw.get("image"), f"{path}.image"),
        env=_env(raw.get("env"), f"{path}.env", r),
        ports=_ports(raw.get("ports"), f"{path}.ports", r),
        requests=requests,
        limits=limits,
    )


def parse_pod_template(raw: object, path: str, r: Reader, *, needs_container: bool = True) -> PodTemplate:
    template = r.mapping(raw, path)
    meta = r.mapping(template.get("metadata"), f"{path}.metadata")
    spec = r.mapping(template.get("spec"), f"{path}.spec")
    containers = tuple(parse_container(c, child(f"{path}.spec.containers", i), r)
                       for i, c in r.mappings(spec.get("containers"), f"{path}.spec.containers", "container"))
    init = tuple(parse_container(c, child(f"{path}.spec.initContainers", i), r)
                 for i, c in r.mappings(spec.get("initContainers"), f"{path}.spec.initContainers", "container"))
    if needs_container and not containers and isinstance(spec.get("containers"), list):
        r.out.error(f"{path}.spec.containers", "needs at least one container: KubeRay runs Ray in the first one")
    return PodTemplate(
        path=path,
        labels=r.string_map(meta.get("labels"), f"{path}.metadata.labels"),
        annotations=r.string_map(meta.get("annotations"), f"{path}.metadata.annotations"),
        node_selector=r.string_map(spec.get("nodeSelector"), f"{path}.spec.nodeSelector"),
        tolerations=tuple(t for _, t in r.mappings(spec.get("tolerations"), f"{path}.spec.tolerations",
                                                   "toleration")),
        containers=containers,
        init_containers=init,
        restart_policy=r.optional_string(spec.get("restartPolicy"), f"{path}.spec.restartPolicy"),
        termination_grace_period_seconds=r.optional_integer(
            spec.get("terminationGracePeriodSeconds"), f"{path}.spec.terminationGracePeriodSeconds", low=0,
            high=INT64_MAX),
    )


# ------------------------------------------------------------------------------------------------------------
# groups and the cluster


def _ray_view(template: PodTemplate, params: Mapping[str, str], resources: Mapping[str, str], path: str,
              r: Reader) -> RayResources:
    ray = template.ray_container
    return ray_resources(params, resources, ray.limits if ray else {}, ray.requests if ray else {}, path, r.out)


def parse_head_group(raw: object, path: str, r: Reader, *, autoscaler: Mapping[str, Decimal] | None) -> HeadGroup:
    group = r.mapping(raw, path)
    template = parse_pod_template(group.get("template"), f"{path}.template", r)
    params = r.string_map(group.get("rayStartParams"), f"{path}.rayStartParams")
    resources = r.string_map(group.get("resources"), f"{path}.resources")
    sidecars = [autoscaler] if autoscaler is not None else []
    return HeadGroup(
        path=path,
        template=template,
        ray_start_params=params,
        resources=resources,
        ray=_ray_view(template, params, resources, path, r),
        pod=pod_requests([container_requests(c.requests, c.limits) for c in template.containers] + sidecars,
                         [container_requests(c.requests, c.limits) for c in template.init_containers]),
        labels=r.string_map(group.get("labels"), f"{path}.labels"),
        service_name=r.optional_string(
            r.mapping(r.mapping(group.get("headService"), f"{path}.headService").get("metadata"),
                      f"{path}.headService.metadata").get("name"), f"{path}.headService.metadata.name"),
    )


def parse_worker_group(raw: Mapping[str, Any], index: int, path: str, r: Reader) -> WorkerGroup:
    counts = {key: r.integer(raw.get(key), f"{path}.{key}", default, low=0)
              for key, default in WORKER_GROUP_DEFAULTS.items()}
    template = parse_pod_template(raw.get("template"), f"{path}.template", r)
    params = r.string_map(raw.get("rayStartParams"), f"{path}.rayStartParams")
    resources = r.string_map(raw.get("resources"), f"{path}.resources")
    return WorkerGroup(
        path=path,
        index=index,
        group_name=r.string(raw.get("groupName"), f"{path}.groupName", f"#{index}"),
        template=template,
        replicas=counts["replicas"],
        min_replicas=counts["minReplicas"],
        max_replicas=counts["maxReplicas"],
        num_of_hosts=counts["numOfHosts"],
        suspend=r.boolean(raw.get("suspend"), f"{path}.suspend"),
        idle_timeout_seconds=r.optional_integer(raw.get("idleTimeoutSeconds"), f"{path}.idleTimeoutSeconds"),
        ray_start_params=params,
        resources=resources,
        ray=_ray_view(template, params, resources, path, r),
        pod=pod_requests([container_requests(c.requests, c.limits) for c in template.containers],
                         [container_requests(c.requests, c.limits) for c in template.init_containers]
                         + [WAIT_GCS_READY_INIT]),
        labels=r.string_map(raw.get("labels"), f"{path}.labels"),
    )


def _autoscaler_requests(options: Mapping[str, Any], path: str, r: Reader) -> dict[str, Decimal]:
    """The autoscaler sidecar's requests: autoscalerOptions.resources replaces the operator's default as a whole."""
    if options.get("resources") is None:
        return dict(AUTOSCALER_SIDECAR)
    resources = r.mapping(options.get("resources"), f"{path}.resources")
    return container_requests(r.quantity_map(resources.get("requests"), f"{path}.resources.requests"),
                              r.quantity_map(resources.get("limits"), f"{path}.resources.limits"))


def parse_cluster_config(raw: object, path: str, r: Reader) -> ClusterConfig:
    cluster = r.mapping(raw, path)
    autoscaling = r.boolean(cluster.get("enableInTreeAutoscaling"), f"{path}.enableInTreeAutoscaling")
    options_raw = cluster.get("autoscalerOptions")
    options = r.mapping(options_raw, f"{path}.autoscalerOptions")
    gcs_raw = cluster.get("gcsFaultToleranceOptions")
    gcs = r.mapping(gcs_raw, f"{path}.gcsFaultToleranceOptions")
    autoscaler = _autoscaler_requests(options, f"{path}.autoscalerOptions", r) if autoscaling else None
    workers_path = f"{path}.workerGroupSpecs"
    return ClusterConfig(
        path=path,
        head=parse_head_group(cluster.get("headGroupSpec"), f"{path}.headGroupSpec", r, autoscaler=autoscaler),
        workers=tuple(parse_worker_group(g, i, child(workers_path, i), r)
                      for i, g in r.mappings(cluster.get("workerGroupSpecs"), workers_path, "worker group")),
        ray_version=r.string(cluster.get("rayVersion"), f"{path}.rayVersion"),
        enable_in_tree_autoscaling=autoscaling,
        autoscaler_options=options if isinstance(options_raw, dict) else None,
        gcs_fault_tolerance=gcs if isinstance(gcs_raw, dict) else None,
        suspend=r.boolean(cluster.get("suspend"), f"{path}.suspend"),
        auth_mode=r.optional_string(r.mapping(cluster.get("authOptions"), f"{path}.authOptions").get("mode"),
                                    f"{path}.authOptions.mode"),
    )


# ------------------------------------------------------------------------------------------------------------
# serveConfigV2


def _load_yaml(text: str) -> Any:
    return yaml.safe_load(text)


def parse_serve_config(raw: object, path: str, r: Reader) -> ServeConfig:
    """serveConfigV2 (a string holding YAML) -> its parsed value and applications."""
    if raw is None:
        return ServeConfig()
    if not isinstance(raw, str):
        r.out.error(path, "must be a string holding YAML (use `serveConfigV2: |`)")
        return ServeConfig(error="not a string")
    try:
        value = _load_yaml(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1} of the block)" if mark is not None else ""
        message = f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}"
        r.out.error(path, message)
        return ServeConfig(text=raw, error=message)
    except RecursionError:
        message = "not usable YAML: nested too deeply"
        r.out.error(path, message)
        return ServeConfig(text=raw, error=message)
    if not isinstance(value, dict):
        r.out.error(path, "serveConfigV2 must be a YAML mapping with `applications`")
        return ServeConfig(text=raw, value=value)
    apps_path = f"{path}.applications"
    apps = []
    for index, app in r.mappings(value.get("applications"), apps_path, "application"):
        at = child(apps_path, index)
        apps.append(ServeApp(
            path=at,
            index=index,
            raw=app,
            name=r.string(app.get("name"), f"{at}.name", f"#{index}"),
            import_path=r.string(app.get("import_path"), f"{at}.import_path"),
            route_prefix=r.optional_string(app.get("route_prefix"), f"{at}.route_prefix"),
            args=r.mapping(app.get("args"), f"{at}.args"),
            deployments=tuple(r.mappings(app.get("deployments"), f"{at}.deployments", "deployment")),
        ))
    return ServeConfig(text=raw, value=value, applications=tuple(apps))


# ------------------------------------------------------------------------------------------------------------
# status


def _service_status(raw: object, path: str, r: Reader) -> ServiceStatus:
    status = r.mapping(raw, path)
    apps_path = f"{path}.applicationStatuses"
    apps = []
    for name, app_raw in sorted(r.mapping(status.get("applicationStatuses"), apps_path).items()):
        at = f"{apps_path}.{name}"
        app = r.mapping(app_raw, at)
        deps_path = f"{at}.serveDeploymentStatuses"
        deployments = []
        for dep_name, dep_raw in sorted(r.mapping(app.get("serveDeploymentStatuses"), deps_path).items()):
            dep = r.mapping(dep_raw, f"{deps_path}.{dep_name}")
            deployments.append(DeploymentStatus(
                name=dep_name,
                status=r.string(dep.get("status"), f"{deps_path}.{dep_name}.status"),
                message=r.string(dep.get("message"), f"{deps_path}.{dep_name}.message"),
            ))
        apps.append(AppStatus(
            name=name,
            status=r.string(app.get("status"), f"{at}.status"),
            message=r.string(app.get("message"), f"{at}.message"),
            deployments=tuple(deployments),
        ))
    return ServiceStatus(cluster_name=r.string(status.get("rayClusterName"), f"{path}.rayClusterName"),
                         applications=tuple(apps))


def parse_rayservice_status(raw: object, path: str, r: Reader) -> RayServiceStatus:
    status = r.mapping(raw, path)
    return RayServiceStatus(
        conditions=parse_conditions(status.get("conditions"), f"{path}.conditions", r),
        observed_generation=r.optional_integer(status.get("observedGeneration"), f"{path}.observedGeneration",
                                               low=INT64_MIN, high=INT64_MAX),
        num_serve_endpoints=r.integer(status.get("numServeEndpoints"), f"{path}.numServeEndpoints", 0),
        active=_service_status(status.get("activeServiceStatus"), f"{path}.activeServiceStatus", r),
        pending=_service_status(status.get("pendingServiceStatus"), f"{path}.pendingServiceStatus", r),
    )
