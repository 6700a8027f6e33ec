"""Table-driven spec validation: each invalid case names the field and carries a fix; valid cases load."""

from __future__ import annotations

import pytest
import yaml

from rayctl.errors import InputError
from rayctl.spec import SpecError, load_spec_text
from rayctl.spec.deployment import DeploymentOptions

BASE = """\
name: demo
workerGroups:
  - name: cpu
    replicas: 1
    maxReplicas: 2
    cpu: 4
    memory: 8Gi
serve:
  applications:
    - name: hello
      type: hello
"""


def spec_with(extra: dict[str, object] | None = None, app: dict[str, object] | None = None) -> str:
    data = yaml.safe_load(BASE)
    data.update(extra or {})
    if app is not None:
        data["serve"]["applications"][0].update(app)
    return yaml.safe_dump(data, sort_keys=False)


INVALID = [
    # (case id, spec text, path in the message, words in the message)
    ("long-name", spec_with({"name": "a" * 48}), "name", "at most 47"),
    ("not-dns", spec_with({"name": "Demo_1"}), "name", "DNS-1035"),
    ("unknown-top-key", spec_with({"workerGroup": []}), "workerGroup", "did you mean 'workerGroups'"),
    ("snake-case-key", spec_with(app={"route_prefix": "/x"}), "route_prefix", "did you mean 'routePrefix'"),
    ("misplaced-serve-option", spec_with(app={"numReplicas": 2}), "numReplicas", "deployments.<DeploymentName>"),
    ("unknown-deployment", spec_with(app={"deployments": {"Helo": {"numReplicas": 1}}}), "deployments",
     "did you mean 'Hello'"),
    ("replicas-and-autoscaling", spec_with(app={"deployments": {"Hello": {
        "numReplicas": 2, "autoscaling": {"maxReplicas": 3}}}}), "deployments.Hello", "mutually exclusive"),
    ("strategy-without-bundles", spec_with(app={"deployments": {"Hello": {
        "placementGroupStrategy": "STRICT_PACK"}}}), "deployments.Hello", "requires placementGroupBundles"),
    ("replicas-per-node-with-bundles", spec_with(app={"deployments": {"Hello": {
        "placementGroupBundles": [{"CPU": 1}], "maxReplicasPerNode": 1}}}), "deployments.Hello", "maxReplicasPerNode"),
    ("autoscaling-bounds", spec_with(app={"deployments": {"Hello": {
        "autoscaling": {"minReplicas": 5, "maxReplicas": 2}}}}), "autoscaling", "greater than maxReplicas"),
    ("replicas-outside-bounds", spec_with({"workerGroups": [{"name": "cpu", "replicas": 5, "maxReplicas": 2}]}),
     "workerGroups[0]", "within minReplicas..maxReplicas"),
    ("bad-quantity", spec_with({"workerGroups": [{"name": "cpu", "memory": "8 gigs"}]}), "workerGroups[0].memory",
     "not a Kubernetes quantity"),
    ("wrong-type", spec_with({"workerGroups": [{"name": "cpu", "replicas": "many"}]}), "workerGroups[0].replicas",
     "valid integer"),
    ("unknown-app-type", spec_with(app={"type": "helo"}), "serve.applications[0]", "did you mean 'hello'"),
    ("missing-type", spec_with(app={"type": None}), "serve.applications[0]", ""),
    ("duplicate-group", spec_with({"workerGroups": [{"name": "a"}, {"name": "a"}]}), "<root>", "unique"),
    ("duplicate-route", spec_with({"serve": {"applications": [
        {"name": "a", "type": "hello", "routePrefix": "/x"}, {"name": "b", "type": "hello", "routePrefix": "/x"}]}}),
     "serve", "route prefixes must be unique"),
    ("route-no-slash", spec_with(app={"routePrefix": "x"}), "routePrefix", "must start with '/'"),
    ("inline-redis-password", spec_with({"gcsFaultTolerance": {"redisAddress": "r:6379", "redisPassword": "x"}}),
     "gcsFaultTolerance.redisPassword", "did you mean 'redisPasswordSecret'"),
    ("incremental-needs-gateway", spec_with({"upgradeStrategy": {"type": "NewClusterWithIncrementalUpgrade"}}),
     "upgradeStrategy", "gatewayClassName"),
    ("bad-upgrade-type", spec_with({"upgradeStrategy": {"type": "Recreate"}}), "upgradeStrategy.type", "NewCluster"),
    ("llm-bundles-by-hand", spec_with(app={"type": "llm", "model": {"id": "m"}, "deployment": {
        "placementGroupBundles": [{"GPU": 1}]}}), "serve.applications[0]", "tensorParallelSize"),
    ("llm-tp-in-engine-kwargs", spec_with(app={"type": "llm", "model": {"id": "m"},
                                              "engineKwargs": {"tensor_parallel_size": 2}}),
     "serve.applications[0]", "tensorParallelSize"),
    ("ab-one-variant", spec_with(app={"type": "ab", "variants": [{"name": "a", "weight": 1}]}), "variants",
     "at least 2"),
    ("classifier-one-label", spec_with(app={"type": "classifier", "labels": ["x"]}), "labels", "at least 2"),
    ("custom-bad-import", spec_with(app={"type": "custom", "importPath": "not a path"}), "importPath", "pattern"),
    ("secret-env-bad-name", spec_with({"ray": {"secretEnv": [{"name": "1X", "secretName": "s", "key": "k"}]}}),
     "ray.secretEnv[0].name", "pattern"),
    ("drain-env-by-hand", spec_with({"ray": {"env": {"RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "60"}}}), "ray",
     "set drainSeconds on the groups instead"),
    ("drain-too-long", BASE.replace("    memory: 8Gi\n", "    memory: 8Gi\n    drainSeconds: 3601\n"),
     "workerGroups[0].drainSeconds", "3600"),
    # a number in a string map whose text Helm would write differently (values files hold float64s)
    ("label-number-trailing-zero", BASE + "labels: {version: 1.10}\n", "labels.version",
     'read as 1.1 by Helm (values files hold float64s): quote it ("1.10")'),
    ("label-number-integral-float", BASE + "labels: {v: 2.0}\n", "labels.v", "read as 2 by Helm"),
    # plain scalars the two YAML readers type differently (a spec is also a Helm values file)
    ("go-yaml-bool", BASE + "labels: {tier: y}\n", "labels.tier",
     'a boolean to Helm and kubectl (go-yaml): quote it ("y")'),
    ("go-yaml-exponent", BASE.replace("    cpu: 4\n", "    cpu: 1e3\n"), "workerGroups[0].cpu",
     "1e3 is a string to rayctl (YAML 1.1) but a number to Helm"),
    ("go-yaml-sexagesimal", BASE + "labels: {t: 1:30}\n", "labels.t",
     "1:30 is a number to rayctl (YAML 1.1) but a string"),
    ("go-yaml-key", BASE + "annotations: {n: x}\n", "annotations.n", "n is a string to rayctl"),
    ("start-param-octal", BASE.replace("    memory: 8Gi\n", "    memory: 8Gi\n    rayStartParams: {port: 010}\n"),
     "workerGroups[0].rayStartParams.port", "read as 8 by Helm"),
]


@pytest.mark.parametrize(("text", "path", "words"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_spec_names_field(text: str, path: str, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, "spec.yaml")
    message = str(caught.value)
    assert any(path in issue.path for issue in caught.value.issues), message
    assert words in message, message
    assert "spec.yaml:" in message  # file (and line) named
    assert "Traceback" not in message


def test_error_carries_line_and_column() -> None:
    text = BASE.replace("    cpu: 4\n", "    cpuu: 4\n")
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, "spec.yaml")
    issue = caught.value.issues[0]
    assert issue.where == "spec.yaml:6:5"
    assert issue.path == "workerGroups[0].cpuu"
    assert "did you mean 'cpu'" in issue.message


@pytest.mark.parametrize(("text", "words"), [
    ("name: [unclosed\n", "YAML syntax error"),
    ("name: a\nname: b\nserve: {applications: []}\n", "duplicate key 'name'"),
    ("- just\n- a list\n", "a spec is a YAML mapping"),
    ("a: 1\n---\nb: 2\n", "exactly one YAML document"),
])
def test_bad_yaml(text: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        load_spec_text(text, "spec.yaml")
    assert words in str(caught.value)


def test_yaml_error_position() -> None:
    with pytest.raises(InputError) as caught:
        load_spec_text("name: demo\nserve:\n  applications: [\n", "s.yaml")
    assert "s.yaml:4:1" in str(caught.value)


VALID = [
    ("minimal", BASE),
    ("autoscaling-auto", spec_with(app={"deployments": {"Hello": {"numReplicas": "auto",
                                                                  "autoscaling": {"maxReplicas": 4}}}})),
    ("numbers-as-strings", spec_with({"labels": {"tier": 1}})),
    ("numbers-Helm-writes-the-same", BASE + "labels: {a: 0.5, b: 17000000000, c: -3}\n"),
    ("quoted-number-text", BASE + 'labels: {version: "1.10"}\n'),
    ("quoted-go-yaml-scalars", BASE + 'labels: {a: "y", b: "1e3", c: "1:30"}\n'),
    ("incremental", spec_with({"upgradeStrategy": {"type": "NewClusterWithIncrementalUpgrade",
                                                   "clusterUpgradeOptions": {"gatewayClassName": "istio"}}})),
    ("gcs-ft", spec_with({"gcsFaultTolerance": {"redisAddress": "redis:6379",
                                                "redisPasswordSecret": {"name": "redis", "key": "password"}}})),
]


@pytest.mark.parametrize("text", [c[1] for c in VALID], ids=[c[0] for c in VALID])
def test_valid_spec_loads(text: str) -> None:
    assert load_spec_text(text).name == "demo"


def test_overrides() -> None:
    from rayctl.spec import load_spec_text

    spec = load_spec_text(BASE, overrides=["workerGroups[0].replicas=2", "serve.applications[0].message=hi there",
                                          "namespace=prod"])
    assert spec.worker_groups[0].replicas == 2
    assert spec.namespace == "prod"
    assert spec.serve.applications[0].message == "hi there"  # type: ignore[union-attr]
    with pytest.raises(InputError, match="out of range"):
        load_spec_text(BASE, overrides=["workerGroups[3].replicas=2"])
    with pytest.raises(InputError, match="expected key=value"):
        load_spec_text(BASE, overrides=["replicas"])


@pytest.mark.parametrize(("assignment", "field"), [
    ("workerGroups[0].replicas=x", "workerGroups[0].replicas"),
    ("ray.env.VERSION=1.10", "ray.env.VERSION"),
    ('head={"cpu": "x"}', "head.cpu"),
])
def test_an_override_error_names_the_flag_not_a_line_of_the_file(assignment: str, field: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec_text(BASE, "spec.yaml", overrides=[assignment])
    message = str(caught.value)
    assert f"--set {assignment}: {field}" in message and "spec.yaml:" not in message, message


def _models() -> list[type]:
    from pydantic import BaseModel

    import rayctl.spec.base as base
    import rayctl.spec.cluster as cluster
    import rayctl.spec.model as model
    import rayctl.spec.serve as serve

    found = []
    for module in (base, cluster, model, serve):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__:
                found.append(value)
    return found


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_every_field_has_a_description(model: type) -> None:
    missing = [name for name, field in model.model_fields.items() if not field.description]  # type: ignore[attr-defined]
    assert not missing, f"{model.__name__}: fields without description: {missing}"
    assert model.model_config.get("extra") == "forbid"  # type: ignore[attr-defined]


def test_deployment_options_forbid_snake_case() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        DeploymentOptions.model_validate({"num_replicas": 1})


@pytest.mark.parametrize(("text", "labels", "cpu"), [
    ("labels: {a: 0.5, b: 17000000000, c: -3}\n", {"a": "0.5", "b": "17000000000", "c": "-3"}, "4"),
    ('labels: {version: "1.10"}\n', {"version": "1.10"}, "4"),
])
def test_numbers_in_strings_are_written_as_helm_writes_them(text: str, labels: dict[str, str], cpu: str) -> None:
    """Quantities are amounts (`2.0` and `2` are the same, written "2" by both front doors); labels keep their text
    when Helm reads the same text."""
    spec = load_spec_text(BASE.replace("    cpu: 4\n", "    cpu: 4.0\n") + text, "spec.yaml")
    assert spec.labels == labels
    assert spec.worker_groups[0].cpu == cpu

