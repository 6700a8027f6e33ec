"""What the KubeRay operator and the API server reject in a RayService that its CRD schema lets through.

The operator runs `ValidateRayServiceMetadata` and `ValidateRayServiceSpec` (ray-operator/controllers/ray/utils/
validation.go, v1.6/v1.7) on every reconcile; a failure is an `InvalidRayServiceSpec` event and nothing is built.
The API server validates the object's own metadata (label and annotation syntax) on create, and the pods the
operator builds from the templates (labels, nodeSelector) when it creates them. Each check here mirrors one of
those, names the field and says the fix; the operator's own words are quoted where it has them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rayctl.model import Container, RayServiceModel
from rayctl.model.read import INT32_MAX, INT32_MIN
from rayctl.validate.findings import Collector

FT_ENABLED_ANNOTATION = "ray.io/ft-enabled"
EXTERNAL_STORAGE_NS_ANNOTATION = "ray.io/external-storage-namespace"
INITIALIZING_TIMEOUT_ANNOTATION = "ray.io/initializing-timeout"
RAY_REDIS_ADDRESS = "RAY_REDIS_ADDRESS"
REDIS_PASSWORD = "REDIS_PASSWORD"
REDIS_USERNAME = "REDIS_USERNAME"
AUTOSCALER_V2_ENV = "RAY_enable_autoscaler_v2"
AUTH_MIN_RAY = (2, 52)
GROUP_RESOURCE_PARAMS = ("num-cpus", "num-gpus", "memory", "resources")

# apimachinery's validation.IsQualifiedName / IsValidLabelValue
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_QUALIFIED_NAME = re.compile(f"^{_NAME}$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(f"^({_NAME})?$")


def label_key_problem(key: str) -> str | None:
    """Why `key` is not a valid label/annotation key (apimachinery IsQualifiedName), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return "the prefix before '/' is empty"
    if slash and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return f"the prefix {prefix!r} must be a DNS subdomain (lowercase letters, digits, '-' and '.')"
    if not name:
        return "the name part is empty"
    if len(name) > 63:
        return f"the name part is {len(name)} characters (at most 63)"
    if not _QUALIFIED_NAME.match(name):
        return ("the name part must consist of letters, digits, '-', '_' or '.', and start and end with a letter "
                "or digit")
    return None


def label_value_problem(value: str) -> str | None:
    if len(value) > 63:
        return f"it is {len(value)} characters (at most 63)"
    if not _LABEL_VALUE.match(value):
        return "it must be empty or letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
    return None


def check_label_map(labels: Mapping[str, str], path: str, what: str, out: Collector, *, values: bool = True) -> None:
    for key, value in labels.items():
        problem = label_key_problem(key)
        if problem:
            out.error(f"{path}.{key}", f"{key!r} is not a valid {what} key: {problem}")
        if values:
            problem = label_value_problem(value)
            if problem:
                out.error(f"{path}.{key}", f"{value!r} is not a valid {what} value: {problem}")


def _env(container: Container | None, name: str) -> bool:
    return container is not None and any(var.name == name for var in container.env)


def _ray_version(version: str) -> tuple[int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)", version.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def autoscaler_v2(rs: RayServiceModel) -> bool:
    """KubeRay's IsAutoscalingV2Enabled: autoscalerOptions.version decides; without it, the head's env var."""
    cluster = rs.cluster
    if cluster.autoscaler_version is not None:
        return cluster.autoscaler_version == "v2"
    return _env(cluster.head.template.ray_container, AUTOSCALER_V2_ENV)


def check_groups(rs: RayServiceModel, out: Collector) -> None:
    cluster = rs.cluster
    groups: list[tuple[str, str, Mapping[str, str], Mapping[str, str], Mapping[str, str]]] = [
        ("Head", cluster.head.path, cluster.head.ray_start_params, cluster.head.resources, cluster.head.labels)]
    groups += [(g.name, g.path, g.ray_start_params, g.resources, g.labels) for g in cluster.workers]
    for name, path, params, resources, labels in groups:
        set_params = [p for p in GROUP_RESOURCE_PARAMS if params.get(p)]
        if set_params and resources:
            out.error(f"{path}.resources",
                      f"KubeRay: resource fields should not be set in both rayStartParams and Resources for {name} "
                      f"group (rayStartParams sets {', '.join(set_params)}): keep one; in a rayctl spec "
                      "acceleratorType and rayResources use `resources`, so drop num-cpus/num-gpus/memory/resources "
                      "from rayStartParams and let the container's limits say them")
        if "labels" in params:
            out.error(f"{path}.rayStartParams.labels",
                      f"KubeRay: rayStartParams['labels'] is not supported for {name} group: use the top-level "
                      "`labels` field of the group instead")
        check_label_map(labels, f"{path}.labels", "Ray node label", out)


def check_templates(rs: RayServiceModel, out: Collector) -> None:
    """What the API server rejects when the operator creates the pods, and conflicts inside one container."""
    cluster = rs.cluster
    for template in [cluster.head.template, *(g.template for g in cluster.workers)]:
        check_label_map(template.labels, f"{template.path}.metadata.labels", "label", out)
        check_label_map(template.annotations, f"{template.path}.metadata.annotations", "annotation", out,
                        values=False)
        check_label_map(template.node_selector, f"{template.path}.spec.nodeSelector", "nodeSelector", out)
        for container in template.containers:
            _check_container(container, out)


def _check_container(container: Container, out: Collector) -> None:
    seen_env: dict[str, int] = {}
    for index, var in enumerate(container.env):
        if var.name in seen_env:
            out.warning(f"{container.path}.env[{index}]",
                        f"env var {var.name!r} is defined twice (entries {seen_env[var.name]} and {index}): the "
                        "later one silently wins; keep one (in a rayctl spec, a name in both ray.env and "
                        "ray.secretEnv)")
        else:
            seen_env[var.name] = index
    seen_ports: dict[tuple[int, str], int] = {}
    seen_names: dict[str, int] = {}
    for index, port in enumerate(container.ports):
        if port.container_port is not None:
            key = (port.container_port, port.protocol)
            if key in seen_ports:
                out.error(f"{container.path}.ports[{index}].containerPort",
                          f"port {port.container_port}/{port.protocol} is already used by ports[{seen_ports[key]}]: "
                          "two servers cannot listen on one port; pick another (serve.httpPort in a rayctl spec)")
            seen_ports.setdefault(key, index)
        if port.name:
            if port.name in seen_names:
                out.error(f"{container.path}.ports[{index}].name",
                          f"port name {port.name!r} is already used by ports[{seen_names[port.name]}]: the API "
                          "server rejects the pod; rename one")
            seen_names.setdefault(port.name, index)


def check_metadata(rs: RayServiceModel, out: Collector) -> None:
    check_label_map(rs.metadata.labels, "metadata.labels", "label", out)
    check_label_map(rs.metadata.annotations, "metadata.annotations", "annotation", out, values=False)
    timeout = rs.metadata.annotations.get(INITIALIZING_TIMEOUT_ANNOTATION)
    if timeout:
        if re.fullmatch(r"-?\d+", timeout):
            if int(timeout) <= 0:
                out.error(f"metadata.annotations.{INITIALIZING_TIMEOUT_ANNOTATION}",
                          f"must be a positive integer (seconds), got {timeout!r}")
        elif not re.fullmatch(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+", timeout):
            out.error(f"metadata.annotations.{INITIALIZING_TIMEOUT_ANNOTATION}",
                      f"{timeout!r} has an invalid format: expected a Go duration (e.g. '5m', '1h') or positive "
                      "integer seconds")


def check_gcs_fault_tolerance(rs: RayServiceModel, out: Collector) -> None:
    cluster = rs.cluster
    head = cluster.head
    ray = head.template.ray_container
    env_path = f"{ray.path}.env" if ray else f"{head.path}.template"
    annotations = rs.metadata.annotations
    options = cluster.gcs_fault_tolerance
    options_path = f"{cluster.path}.gcsFaultToleranceOptions"
    if annotations.get(FT_ENABLED_ANNOTATION) and options is not None:
        out.error(f"metadata.annotations.{FT_ENABLED_ANNOTATION}",
                  f"KubeRay: {FT_ENABLED_ANNOTATION} annotation and GcsFaultToleranceOptions are both set: remove the "
                  "annotation; use only gcsFaultToleranceOptions to configure GCS fault tolerance")
    enabled = options is not None or annotations.get(FT_ENABLED_ANNOTATION, "").lower() == "true"
    if not enabled and _env(ray, RAY_REDIS_ADDRESS):
        out.error(env_path, f"KubeRay: {RAY_REDIS_ADDRESS} is set which implicitly enables GCS fault tolerance, but "
                            f"gcsFaultToleranceOptions is not set: move the address to {options_path}.redisAddress")
    if options is not None:
        if head.ray_start_params.get("redis-password"):
            out.error(f"{head.path}.rayStartParams.redis-password",
                      "KubeRay: cannot set `redis-password` in rayStartParams when gcsFaultToleranceOptions is set: "
                      f"use {options_path}.redisPassword (a Secret reference: valueFrom.secretKeyRef)")
        if _env(ray, REDIS_PASSWORD):
            out.error(env_path, f"KubeRay: cannot set `{REDIS_PASSWORD}` env var in the head pod when "
                                f"gcsFaultToleranceOptions is set: use {options_path}.redisPassword")
        if _env(ray, RAY_REDIS_ADDRESS):
            out.error(env_path, f"KubeRay: cannot set `{RAY_REDIS_ADDRESS}` env var in the head pod when "
                                f"gcsFaultToleranceOptions is set: use {options_path}.redisAddress")
        if annotations.get(EXTERNAL_STORAGE_NS_ANNOTATION):
            out.error(f"metadata.annotations.{EXTERNAL_STORAGE_NS_ANNOTATION}",
                      f"KubeRay: cannot set the `{EXTERNAL_STORAGE_NS_ANNOTATION}` annotation when "
                      f"gcsFaultToleranceOptions is set: use {options_path}.externalStorageNamespace")
    if head.ray_start_params.get("redis-username"):
        out.error(f"{head.path}.rayStartParams.redis-username",
                  f"KubeRay: cannot set redis username in rayStartParams: use {options_path}.redisUsername")
    if _env(ray, REDIS_USERNAME):
        out.error(env_path, f"KubeRay: cannot set redis username in environment variables ({REDIS_USERNAME}): use "
                            f"{options_path}.redisUsername")


def check_autoscaler(rs: RayServiceModel, out: Collector) -> None:
    cluster = rs.cluster
    head_ray = cluster.head.template.ray_container
    env_path = f"{head_ray.path}.env" if head_ray else cluster.head.path
    v2_env = next((v.value for v in (head_ray.env if head_ray else ()) if v.name == AUTOSCALER_V2_ENV), None)
    if not cluster.enable_in_tree_autoscaling:
        if v2_env in ("1", "true"):
            out.error(env_path, f"KubeRay: environment variable {AUTOSCALER_V2_ENV} cannot be set to {v2_env!r} when "
                                "enableInTreeAutoscaling is false: set enableInTreeAutoscaling: true to use "
                                "autoscaler v2")
    else:
        for g in cluster.workers:
            if g.suspend:
                out.error(f"{g.path}.suspend", f"KubeRay: worker group {g.name} cannot be suspended with Autoscaler "
                                               "enabled: remove suspend, or turn the autoscaler off")
        if cluster.autoscaler_version is not None and v2_env is not None:
            out.error(env_path, f"KubeRay: both .spec.autoscalerOptions.version and head Pod env var "
                                f"{AUTOSCALER_V2_ENV} are set: remove the env var, keep the former")
        if autoscaler_v2(rs):
            templates = [("head Pod", cluster.head.template)] + [(f"worker group {g.name}", g.template)
                                                                 for g in cluster.workers]
            for who, template in templates:
                if template.restart_policy not in (None, "", "Never"):
                    out.error(f"{template.path}.spec.restartPolicy",
                              f"KubeRay: restartPolicy for {who} should be Never or unset when using autoscaler V2 "
                              f"(got {template.restart_policy!r})")
    v2 = autoscaler_v2(rs)
    for g in cluster.workers:
        if g.idle_timeout_seconds is None:
            continue
        if g.idle_timeout_seconds < 0:
            out.error(f"{g.path}.idleTimeoutSeconds",
                      f"KubeRay: idleTimeoutSeconds must be non-negative, got {g.idle_timeout_seconds}")
        elif not v2:
            out.error(f"{g.path}.idleTimeoutSeconds",
                      f"KubeRay: worker group {g.name} has idleTimeoutSeconds set, but autoscaler version is not v2: "
                      "set .spec.rayClusterConfig.autoscalerOptions.version to v2 (autoscaling.version: v2 in a "
                      "rayctl spec, with autoscaling.enabled), or drop the per-group idleTimeoutSeconds and use "
                      "autoscalerOptions.idleTimeoutSeconds")
    options = cluster.autoscaler_options or {}
    idle = options.get("idleTimeoutSeconds")
    if isinstance(idle, int) and not isinstance(idle, bool) and not 0 <= idle <= INT32_MAX:
        out.error(f"{cluster.path}.autoscalerOptions.idleTimeoutSeconds",
                  f"{idle} is out of range (0..{INT32_MAX}): an int32 number of seconds")


def check_auth(rs: RayServiceModel, out: Collector) -> None:
    cluster = rs.cluster
    if cluster.auth_mode != "token":
        return
    path = f"{cluster.path}.rayVersion"
    version = _ray_version(cluster.ray_version)
    if not cluster.ray_version:
        out.error(path, "KubeRay: authOptions.mode is 'token' but rayVersion was not specified: Ray 2.52.0 or later "
                        "is required; set rayVersion")
    elif version is None:
        out.error(path, f"KubeRay: authOptions.mode is 'token' but rayVersion format is invalid: "
                        f"{cluster.ray_version!r}")
    elif version < AUTH_MIN_RAY:
        out.error(path, f"KubeRay: authOptions.mode is 'token' but minimum Ray version is 2.52.0, got "
                        f"{cluster.ray_version}: upgrade Ray or drop authOptions")


def _int_option(options: Mapping[str, Any], key: str) -> int | None:
    value = options.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_upgrade(rs: RayServiceModel, out: Collector) -> None:
    if rs.cluster.head.service_name:
        out.error(f"{rs.cluster.head.path}.headService.metadata.name",
                  "KubeRay: spec.rayClusterConfig.headGroupSpec.headService.metadata.name should not be set: the "
                  "RayService names the head service itself; remove it")
    if rs.spec.upgrade_strategy != "NewClusterWithIncrementalUpgrade":
        return
    path = "spec.upgradeStrategy.clusterUpgradeOptions"
    if not rs.cluster.enable_in_tree_autoscaling:
        out.error("spec.upgradeStrategy.type",
                  "KubeRay: Ray Autoscaler is required for NewClusterWithIncrementalUpgrade (the new cluster scales "
                  "up step by step): set spec.rayClusterConfig.enableInTreeAutoscaling: true (autoscaling.enabled "
                  "in a rayctl spec), or use the NewCluster strategy")
    options = rs.spec.upgrade_options
    if options is None:
        out.error(path, "KubeRay: ClusterUpgradeOptions are required for NewClusterWithIncrementalUpgrade: set "
                        "gatewayClassName, stepSizePercent, intervalSeconds (and maxSurgePercent)")
        return
    for key in ("maxSurgePercent", "stepSizePercent", "intervalSeconds"):
        value = _int_option(options, key)
        if value is not None and not INT32_MIN <= value <= INT32_MAX:
            out.error(f"{path}.{key}", f"{value} is out of range for an int32 field ({INT32_MIN}..{INT32_MAX})")
            return
    surge = _int_option(options, "maxSurgePercent")
    surge = 100 if surge is None and options.get("maxSurgePercent") is None else surge
    step = _int_option(options, "stepSizePercent")
    interval = _int_option(options, "intervalSeconds")
    if surge is not None and not 0 <= surge <= 100:
        out.error(f"{path}.maxSurgePercent", f"KubeRay: maxSurgePercent must be between 0 and 100 (got {surge})")
    if step is None or not 0 <= step <= 100:
        out.error(f"{path}.stepSizePercent", "KubeRay: stepSizePercent must be between 0 and 100"
                                             + ("" if step is None else f" (got {step})") + ": set it")
    elif surge is not None and 0 <= surge <= 100 and step > surge:
        out.error(f"{path}.stepSizePercent",
                  f"stepSizePercent ({step}) is larger than maxSurgePercent ({surge}): each step would move more "
                  "traffic to the new cluster than the capacity it was allowed to add, so the upgrade overloads it "
                  "or stalls; make stepSizePercent <= maxSurgePercent")
    if interval is None or interval <= 0:
        out.error(f"{path}.intervalSeconds", "KubeRay: intervalSeconds must be greater than 0")
    if not options.get("gatewayClassName"):
        out.error(f"{path}.gatewayClassName", "KubeRay: gatewayClassName is required for "
                                              "NewClusterWithIncrementalUpgrade (the Gateway API class that splits "
                                              "traffic, e.g. istio)")


def check_kuberay(rs: RayServiceModel, out: Collector) -> None:
    check_metadata(rs, out)
    check_groups(rs, out)
    check_templates(rs, out)
    check_gcs_fault_tolerance(rs, out)
    check_autoscaler(rs, out)
    check_auth(rs, out)
    check_upgrade(rs, out)
