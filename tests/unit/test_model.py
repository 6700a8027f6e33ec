"""The RayService read-model (rayctl.model): wrong types are findings with paths, never exceptions; the API
server's defaulting; the derived views (what a pod offers Ray, what it asks the scheduler for, pod counts)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rayctl.model import (
    WORKER_GROUP_DEFAULTS,
    apply_schema_defaults,
    parse_raycluster,
    parse_rayservice,
)
from rayctl.validate import validate_objects
from rayctl.validate.crd import crd_schema, load_crd
from tests.conftest import RENDERED, examples

Obj = dict[str, Any]
HELLO: Obj = yaml.safe_load((RENDERED / "hello.yaml").read_text())
LLAMA: Obj = yaml.safe_load((RENDERED / "llama-70b-tp4.yaml").read_text())
W0 = "spec.rayClusterConfig.workerGroupSpecs[0]"


def rs_with(mutate: Callable[[Obj], object], base: Obj = HELLO) -> Obj:
    rs = copy.deepcopy(base)
    mutate(rs)
    return rs


def worker(rs: Obj, i: int = 0) -> Obj:
    group: Obj = rs["spec"]["rayClusterConfig"]["workerGroupSpecs"][i]
    return group


def ray_container(group: Obj) -> Obj:
    container: Obj = group["template"]["spec"]["containers"][0]
    return container


def set_serve(rs: Obj, text: str) -> None:
    rs["spec"]["serveConfigV2"] = text


# ------------------------------------------------------------------------------------------------------------
# wrong types: one finding at the field, the rest of the model still read

WRONG_TYPES: list[tuple[str, object, str, str]] = [
    ("not-an-object", ["x"], "<root>", "must be a mapping"),
    ("metadata-list", lambda rs: rs.update(metadata=["x"]), "metadata", "must be a mapping (got a list)"),
    ("spec-string", lambda rs: rs.update(spec="x"), "spec", "must be a mapping (got a string 'x')"),
    ("name-number", lambda rs: rs["metadata"].update(name=5), "metadata.name", "must be a string"),
    ("labels-list", lambda rs: rs["metadata"].update(labels=["a"]), "metadata.labels", "must be a mapping"),
    ("label-number", lambda rs: rs["metadata"].update(labels={"a": 1}), "metadata.labels.a", "quote it"),
    ("containers-map", lambda rs: worker(rs)["template"]["spec"].update(containers={"a": 1}),
     f"{W0}.template.spec.containers", "must be a list (got a mapping)"),
    ("container-string", lambda rs: worker(rs)["template"]["spec"].update(containers=["ray"]),
     f"{W0}.template.spec.containers[0]", "each container is a mapping"),
    ("env-number", lambda rs: ray_container(worker(rs)).update(env=5), f"{W0}.template.spec.containers[0].env",
     "must be a list (got an integer 5)"),
    ("env-value-number", lambda rs: ray_container(worker(rs)).update(env=[{"name": "A", "value": 1.10}]),
     f"{W0}.template.spec.containers[0].env[0].value", "quote it"),
    ("gpu-one", lambda rs: ray_container(worker(rs))["resources"]["limits"].update({"nvidia.com/gpu": "one"}),
     f"{W0}.template.spec.containers[0].resources.limits.nvidia.com/gpu", "not a Kubernetes quantity"),
    ("cpu-bad-quantity", lambda rs: ray_container(worker(rs))["resources"]["requests"].update(cpu="5 Gi"),
     f"{W0}.template.spec.containers[0].resources.requests.cpu", "not a Kubernetes quantity"),
    ("resources-list", lambda rs: ray_container(worker(rs)).update(resources=[1]),
     f"{W0}.template.spec.containers[0].resources", "must be a mapping"),
    ("replicas-two", lambda rs: worker(rs).update(replicas="two"), f"{W0}.replicas", "must be an integer"),
    ("replicas-int32-overflow", lambda rs: worker(rs).update(maxReplicas=2**31), f"{W0}.maxReplicas",
     "out of range"),
    ("replicas-bool", lambda rs: worker(rs).update(minReplicas=True), f"{W0}.minReplicas", "must be an integer"),
    ("groups-map", lambda rs: rs["spec"]["rayClusterConfig"].update(workerGroupSpecs={"a": 1}),
     "spec.rayClusterConfig.workerGroupSpecs", "must be a list"),
    ("group-string", lambda rs: rs["spec"]["rayClusterConfig"].update(workerGroupSpecs=["gpu"]),
     "spec.rayClusterConfig.workerGroupSpecs[0]", "each worker group is a mapping"),
    ("start-params-list", lambda rs: worker(rs).update(rayStartParams=["num-cpus"]), f"{W0}.rayStartParams",
     "must be a mapping"),
    ("start-param-not-whole", lambda rs: worker(rs).update(rayStartParams={"num-cpus": "500m"}),
     f"{W0}.rayStartParams.num-cpus", "not a whole number"),
    ("start-param-resources-json", lambda rs: worker(rs).update(rayStartParams={"resources": "{bad"}),
     f"{W0}.rayStartParams.resources", "not a JSON map"),
    ("group-resources-quantity", lambda rs: worker(rs).update(resources={"TPU": "lots"}), f"{W0}.resources.TPU",
     "the operator skips it"),
    ("autoscaling-string", lambda rs: rs["spec"]["rayClusterConfig"].update(enableInTreeAutoscaling="yes"),
     "spec.rayClusterConfig.enableInTreeAutoscaling", "must be true or false"),
    ("serve-config-map", lambda rs: rs["spec"].update(serveConfigV2={"applications": []}), "spec.serveConfigV2",
     "must be a string holding YAML"),
    ("serve-applications-5", lambda rs: set_serve(rs, "applications: 5\n"), "spec.serveConfigV2.applications",
     "must be a list (got an integer 5)"),
    ("serve-app-string", lambda rs: set_serve(rs, "applications: [x]\n"), "spec.serveConfigV2.applications[0]",
     "each application is a mapping"),
    ("serve-args-list", lambda rs: set_serve(rs, "applications: [{name: a, import_path: x:y, args: [1]}]\n"),
     "spec.serveConfigV2.applications[0].args", "must be a mapping"),
    ("serve-deployments-map", lambda rs: set_serve(rs, "applications: [{name: a, deployments: {a: 1}}]\n"),
     "spec.serveConfigV2.applications[0].deployments", "must be a list"),
    ("serve-not-mapping", lambda rs: set_serve(rs, "- a\n"), "spec.serveConfigV2", "must be a YAML mapping"),
    ("serve-not-yaml", lambda rs: set_serve(rs, "applications: [\n"), "spec.serveConfigV2", "not valid YAML"),
    ("gpu-request-without-limit", lambda rs: ray_container(worker(rs))["resources"].update(
        requests={"nvidia.com/gpu": "1"}, limits={}), f"{W0}.template.spec.containers[0].resources.limits",
     "requested without a limit"),
    ("request-over-limit", lambda rs: ray_container(worker(rs))["resources"].update(
        requests={"cpu": "4"}, limits={"cpu": "2"}), f"{W0}.template.spec.containers[0].resources.requests.cpu",
     "exceeds the limit"),
    ("no-containers", lambda rs: worker(rs)["template"]["spec"].update(containers=[]),
     f"{W0}.template.spec.containers", "needs at least one container"),
    ("status-conditions-map", lambda rs: rs.update(status={"conditions": {"Ready": "True"}}), "status.conditions",
     "must be a list"),
    ("port-out-of-range", lambda rs: ray_container(worker(rs)).update(ports=[{"containerPort": 70000}]),
     f"{W0}.template.spec.containers[0].ports[0].containerPort", "out of range"),
]


@pytest.mark.parametrize(("mutate", "path", "words"), [c[1:] for c in WRONG_TYPES], ids=[c[0] for c in WRONG_TYPES])
def test_wrong_type_is_a_finding(mutate: object, path: str, words: str) -> None:
    obj = mutate if not callable(mutate) else rs_with(mutate)
    model, findings = parse_rayservice(obj)
    assert any(f.path == path and words in f.message and f.severity == "error" for f in findings), \
        [str(f) for f in findings]
    assert model.kind in ("RayService", "")  # a complete model either way
    # and the rules do not crash on it either: the finding reaches the report
    report = validate_objects([obj], ray_schema=False)  # type: ignore[list-item]
    if isinstance(obj, dict):
        assert any(f.path == path for f in report.findings), [str(f) for f in report.findings]


def test_rendered_examples_have_no_findings() -> None:
    goldens = sorted(RENDERED.glob("*.yaml")) + sorted((RENDERED.parent / "rendered-cpu").glob("*.yaml"))
    for path in goldens:
        rayservice = next(yaml.safe_load_all(path.read_text()))
        _, findings = parse_rayservice(rayservice)
        assert findings == [], (path.name, [str(f) for f in findings])


def test_findings_carry_the_source() -> None:
    _, findings = parse_rayservice({"spec": "x"}, source="m.yaml")
    assert str(findings[0]) == "m.yaml: spec: must be a mapping (got a string 'x')"


# ------------------------------------------------------------------------------------------------------------
# defaulting


def test_crd_defaults_match_the_model(crd_dir: Path) -> None:
    """The model's built-in worker-group defaults are exactly the CRD's `default:` entries (they cannot drift)."""
    schema = crd_schema(load_crd(crd_dir, "ray.io", "RayService") or {}, "v1") or {}
    group = schema["properties"]["spec"]["properties"]["rayClusterConfig"]["properties"]["workerGroupSpecs"]["items"]
    crd_defaults = {k: v["default"] for k, v in group["properties"].items() if "default" in v}
    assert crd_defaults == WORKER_GROUP_DEFAULTS


def test_omitted_counts_read_as_the_crd_defaults() -> None:
    def strip(rs: Obj) -> None:
        for key in ("replicas", "minReplicas", "maxReplicas", "numOfHosts"):
            worker(rs).pop(key)

    [group] = parse_rayservice(rs_with(strip))[0].cluster.workers
    assert (group.replicas, group.min_replicas, group.max_replicas, group.num_of_hosts) == (0, 0, 2147483647, 1)
    assert group.desired_pods() == 0  # replicas 0 = minReplicas


def test_nulls_read_as_absent() -> None:
    def nulls(rs: Obj) -> None:
        rs["metadata"]["labels"] = None
        worker(rs)["minReplicas"] = None
        worker(rs)["template"]["metadata"] = None
        ray_container(worker(rs))["env"] = None

    model, findings = parse_rayservice(rs_with(nulls))
    assert findings == []
    assert model.cluster.workers[0].min_replicas == 0 and model.metadata.labels == {}


def test_schema_defaults_prune_nulls_and_fill_defaults(crd_dir: Path) -> None:
    """What the API server stores: upstream samples omit minReplicas/maxReplicas or leave `metadata:` empty, and
    are valid; the CRD check must see them defaulted."""
    schema = crd_schema(load_crd(crd_dir, "ray.io", "RayService") or {}, "v1") or {}

    def upstream_shape(rs: Obj) -> None:
        worker(rs).pop("minReplicas")
        worker(rs).pop("maxReplicas")
        worker(rs)["template"]["metadata"] = None
        rs["spec"]["upgradeStrategy"] = {"type": "NewCluster", "clusterUpgradeOptions": None}

    raw = rs_with(upstream_shape)
    stored = apply_schema_defaults(raw, schema)
    assert worker(stored)["minReplicas"] == 0 and worker(stored)["maxReplicas"] == 2147483647
    assert "metadata" not in worker(stored)["template"]
    assert worker(raw)["template"]["metadata"] is None  # the input is not modified
    report = validate_objects([raw], crd_dir=crd_dir, ray_schema=False)
    assert report.ok, [str(e) for e in report.errors]


# ------------------------------------------------------------------------------------------------------------
# derived views


def gpu_worker(*, container: Obj | None = None, params: Obj | None = None, sidecars: tuple[Obj, ...] = (),
               resources: Obj | None = None) -> Obj:
    """llama-70b-tp4's GPU group with the Ray container's resources, the rayStartParams, the group's top-level
    resources and extra containers replaced."""
    def mutate(rs: Obj) -> None:
        group = worker(rs)
        group["resources"] = resources or {}
        ray_container(group)["resources"] = container or {}
        group["rayStartParams"] = params or {}
        group["template"]["spec"]["containers"].extend(copy.deepcopy(list(sidecars)))
    return rs_with(mutate, LLAMA)


SIDECAR = {"name": "log", "image": "busybox", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}
GPU_SIDECAR = {"name": "dcgm", "image": "x", "resources": {"limits": {"nvidia.com/gpu": "1"}}}

VIEWS: list[tuple[str, Obj, tuple[Any, Any, Any], tuple[Any, Any, Any]]] = [
    # id, manifest, Ray (CPU, GPU, memory) per pod, scheduler (cpu, gpu, memory) per pod
    ("limits-and-requests", gpu_worker(container={"requests": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "2"},
                                                  "limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "2"}}),
     (8, 2, 32 * 2**30), (8, 2, 32 * 2**30)),
    ("limits-only", gpu_worker(container={"limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "2"}}),
     (8, 2, 32 * 2**30), (8, 2, 32 * 2**30)),
    ("requests-only", gpu_worker(container={"requests": {"cpu": "8", "memory": "32Gi"}}),
     (8, 0, None), (8, 0, 32 * 2**30)),  # KubeRay reads memory from limits only: Ray measures the node
    ("fractional-cpu-rounds-up", gpu_worker(container={"limits": {"cpu": "1500m"}}), (2, 0, None), (1.5, 0, 0)),
    ("limit-wins-over-request", gpu_worker(container={"requests": {"cpu": "2"}, "limits": {"cpu": "6"}}),
     (6, 0, None), (2, 0, 0)),
    ("start-params-override", gpu_worker(container={"limits": {"cpu": "8", "nvidia.com/gpu": "4"}},
                                         params={"num-cpus": "2", "num-gpus": "1", "memory": "1000"}),
     (2, 1, 1000), (8, 4, 0)),
    ("group-resources-override", gpu_worker(container={"limits": {"cpu": "8", "nvidia.com/gpu": "4"}},
                                            resources={"CPU": "3", "nvidia.com/gpu": "2", "memory": "1Gi"}),
     (3, 2, 2**30), (8, 4, 0)),
    ("sidecars-count-for-the-scheduler-only", gpu_worker(container={"limits": {"cpu": "4", "nvidia.com/gpu": "1"}},
                                                         sidecars=(SIDECAR, GPU_SIDECAR)),
     (4, 1, None), (5, 2, 2**30)),
    ("first-gpu-key-in-sorted-order", gpu_worker(container={"limits": {"nvidia.com/gpu": "2", "amd.com/gpu": "1"}}),
     (None, 1, None), (0, 3, 0)),
    ("mig-slice", gpu_worker(container={"limits": {"nvidia.com/mig-1g.5gb": "3"}}), (None, 3, None), (0, 3, 0)),
]


@pytest.mark.parametrize(("rs", "ray", "pod"), [c[1:] for c in VIEWS], ids=[c[0] for c in VIEWS])
def test_ray_and_scheduler_views(rs: Obj, ray: tuple[Any, Any, Any], pod: tuple[Any, Any, Any]) -> None:
    model, _ = parse_rayservice(rs)
    group = model.cluster.workers[0]

    def num(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    assert (num(group.ray.cpu), float(group.ray.gpu), num(group.ray.memory)) == ray
    requests = group.pod  # the wait-gcs-ready init container (200m, 256Mi) only matters for tiny pods
    expected_pod = (max(pod[0], 0.2), pod[1], max(pod[2], 256 * 2**20))
    assert (float(requests.cpu), float(requests.gpu), float(requests.memory)) == expected_pod


def test_accelerator_resources() -> None:
    tpu = gpu_worker(container={"limits": {"google.com/tpu": "4"}}, resources={})
    assert parse_rayservice(tpu)[0].cluster.workers[0].ray.custom == {"TPU": 4.0}
    typed = parse_rayservice(LLAMA)[0].cluster.workers[0].ray
    assert typed.accelerator_types() == {"A100"} and typed.custom == {"accelerator_type:A100": 1.0}
    quoted = gpu_worker(params={"resources": '"{\\"my_res\\": 2}"'})
    assert parse_rayservice(quoted)[0].cluster.workers[0].ray.custom == {"my_res": 2.0}


def test_head_pod_includes_the_autoscaler_sidecar() -> None:
    on = parse_rayservice(rs_with(lambda rs: rs["spec"]["rayClusterConfig"].update(enableInTreeAutoscaling=True)))
    off = parse_rayservice(rs_with(lambda rs: rs["spec"]["rayClusterConfig"].update(enableInTreeAutoscaling=False)))
    assert on[0].cluster.head.pod.cpu - off[0].cluster.head.pod.cpu == Decimal("0.5")

    def custom(rs: Obj) -> None:
        rs["spec"]["rayClusterConfig"].update(enableInTreeAutoscaling=True, autoscalerOptions={
            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}})

    assert parse_rayservice(rs_with(custom))[0].cluster.head.pod.cpu - off[0].cluster.head.pod.cpu == 1


@pytest.mark.parametrize(("counts", "desired", "max_auto", "max_fixed"), [
    ({"replicas": 2, "minReplicas": 1, "maxReplicas": 4}, 2, 4, 2),
    ({"replicas": 9, "minReplicas": 1, "maxReplicas": 4}, 4, 4, 4),  # clamped like GetWorkerGroupDesiredReplicas
    ({"replicas": 0, "minReplicas": 2, "maxReplicas": 4}, 2, 4, 2),
    ({"replicas": 2, "minReplicas": 1, "maxReplicas": 4, "numOfHosts": 2}, 4, 8, 4),
    ({"replicas": 2, "minReplicas": 1, "maxReplicas": 4, "suspend": True}, 0, 0, 0),
])
def test_pod_counts(counts: Obj, desired: int, max_auto: int, max_fixed: int) -> None:
    [group] = parse_rayservice(rs_with(lambda rs: worker(rs).update(counts)))[0].cluster.workers
    assert (group.desired_pods(), group.max_pods(True), group.max_pods(False)) == (desired, max_auto, max_fixed)


def test_conditions_and_service_status() -> None:
    rs = rs_with(lambda rs: rs.update(status={
        "observedGeneration": 3,
        "conditions": [{"type": "Ready", "status": "True", "reason": "R"}, {"type": "UpgradeInProgress",
                                                                           "status": "False"}],
        "activeServiceStatus": {"rayClusterName": "c1", "applicationStatuses": {
            "b": {"status": "RUNNING"}, "a": {"status": "DEPLOYING", "serveDeploymentStatuses": {
                "D": {"status": "HEALTHY"}}}}},
    }))
    status = parse_rayservice(rs)[0].status
    assert status.is_true("Ready") and not status.is_true("UpgradeInProgress") and status.condition("X") is None
    assert status.condition("Ready").reason == "R"  # type: ignore[union-attr]
    assert [a.name for a in status.active.applications] == ["a", "b"]
    assert status.active.applications[0].deployments[0].status == "HEALTHY"
    assert status.active.cluster_name == "c1" and status.pending.cluster_name == ""


def test_raycluster_reader() -> None:
    cluster = {"metadata": {"name": "c", "annotations": {"ray.io/num-worker-groups": "2"}},
               "spec": copy.deepcopy(HELLO["spec"]["rayClusterConfig"]), "status": {"state": "ready"}}
    model, findings = parse_raycluster(cluster)
    assert findings == [] and model.num_worker_groups == 2 and model.state == "ready"
    assert [g.name for g in model.cluster.workers] == ["cpu"]
    assert model.cluster.workers[0].path == "spec.workerGroupSpecs[0]"
    bad, findings = parse_raycluster({"metadata": {"annotations": {"ray.io/num-worker-groups": "²"}}, "spec": 1})
    assert bad.num_worker_groups is None and [f.path for f in findings] == ["spec"]


# ------------------------------------------------------------------------------------------------------------
# hostile trees: nothing raises, in the model or in the rules

JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True),
                        st.text(max_size=8), st.sampled_from(["1", "500m", "16Gi", "one", "", "1e9", "-1"]))
JSON = st.recursive(JSON_LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                    max_leaves=20)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(_paths(item, (*prefix, index)))
    return out


def _mutate(draw: st.DrawFn, tree: Any) -> None:
    """Replace 1-3 random subtrees of `tree` (in place) by arbitrary JSON."""
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from([p for p in _paths(tree) if p]))
        parent = tree
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = draw(JSON)


@st.composite
def mutated_manifests(draw: st.DrawFn) -> Obj:
    """A real manifest with 1-3 random subtrees replaced by arbitrary JSON: wrong types where the rules look."""
    rs = copy.deepcopy(draw(st.sampled_from([HELLO, LLAMA])))
    _mutate(draw, rs)
    return rs


@st.composite
def mutated_serve_configs(draw: st.DrawFn) -> Obj:
    """The same, inside serveConfigV2's YAML (the rules read it deeply)."""
    rs = copy.deepcopy(draw(st.sampled_from([HELLO, LLAMA])))
    config = yaml.safe_load(rs["spec"]["serveConfigV2"])
    _mutate(draw, config)
    rs["spec"]["serveConfigV2"] = yaml.safe_dump(config)
    return rs


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_arbitrary_trees_never_raise(tree: Any) -> None:
    _, findings = parse_rayservice(tree)
    assert all(f.path for f in findings)
    validate_objects([{"apiVersion": "ray.io/v1", "kind": "RayService", "spec": tree}], ray_schema=False)


@settings(max_examples=examples(250), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated_manifests(), mutated_serve_configs()))
def test_mutated_manifests_never_raise(rs: Obj) -> None:
    _, findings = parse_rayservice(rs)
    assert all(f.path and f.message for f in findings)
    report = validate_objects([rs], ray_schema=False)
    assert all(f.path for f in report.findings)


@settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_manifests())
def test_mutated_manifests_with_the_crd_never_raise(crd_dir: Path, rs: Obj) -> None:
    report = validate_objects([rs], crd_dir=crd_dir, ray_schema=False)
    assert (report.checked or report.skipped) and all(f.path for f in report.findings)


@pytest.mark.parametrize(("mutate", "path"), [
    (lambda rs: worker(rs).update(replicas="two"), f"{W0}.replicas"),
    (lambda rs: rs.update(spec="x"), "spec"),
    (lambda rs: ray_container(worker(rs)).update(env=5), f"{W0}.template.spec.containers[0].env"),
], ids=["replicas-two", "spec-string", "env-number"])
def test_one_message_per_wrong_field_with_the_crd(crd_dir: Path, mutate: Callable[[Obj], object], path: str) -> None:
    """The CRD check and the model both see a wrong type; the report says it once (the CRD's words)."""
    report = validate_objects([rs_with(mutate)], crd_dir=crd_dir, ray_schema=False)
    at_path = [f for f in report.findings if f.path == path]
    assert len(at_path) == 1 and "CRD schema" in at_path[0].message, [str(f) for f in report.findings]
    assert not any(f.path.startswith(path + ".") and "must be" in f.message for f in report.findings)
