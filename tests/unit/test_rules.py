"""Table-driven semantic rules: each rule fires with a message naming the field and the fix, and only then."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rayctl.workflow import InvalidError, render_file, validate_file
from rayctl.workflow.crds import DirCrds
from tests.conftest import EXAMPLES, RENDERED

LLAMA70 = EXAMPLES / "llama-70b-tp4.yaml"
HELLO = EXAMPLES / "hello.yaml"

ERRORS = [
    # (id, spec, overrides, path fragment, words)
    ("tp-exceeds-gpus-per-pod", LLAMA70, ["workerGroups[0].gpus=2"], "serve.applications[0]",
     "needs 4 GPUs on one node under STRICT_PACK"),
    ("accelerator-not-offered", LLAMA70, ["serve.applications[0].acceleratorType=H100"], "serve.applications[0]",
     "accelerator_type 'H100' is offered by no worker group"),
    ("serve-max-exceeds-gpu-capacity", LLAMA70, ["serve.applications[0].deployment.autoscaling.maxReplicas=3"],
     "serve.applications[0]", "can provide at most 8"),
    ("capacity-without-ray-autoscaler", LLAMA70, ["autoscaling.enabled=false"], "serve.applications[0]",
     "the Ray autoscaler is off"),
    ("actor-not-in-bundle0", HELLO, ["serve.applications[0].deployments.Hello.placementGroupBundles=[{CPU: 1}]",
                                     "serve.applications[0].deployments.Hello.rayActorOptions.numCpus=2"],
     "serve.applications[0]", "runs in placement bundle 0"),
    ("bundle-fits-no-group", HELLO, ["serve.applications[0].deployments.Hello.placementGroupBundles=[{CPU: 64}]"],
     "serve.applications[0]", "fits no Ray node"),
    ("custom-resource-missing", HELLO, ["serve.applications[0].deployments.Hello.rayActorOptions.resources={tpu: 1}"],
     "serve.applications[0]", "short of tpu"),
    ("strict-pack-sum", HELLO, ["serve.applications[0].deployments.Hello.placementGroupBundles=[{CPU: 1}, {CPU: 1.5}]",
                                "serve.applications[0].deployments.Hello.placementGroupStrategy=STRICT_PACK"],
     "serve.applications[0]", "STRICT_PACK puts all bundles"),
    ("no-worker-groups", HELLO, ["workerGroups=[]"], "serve.applications[0]", "no worker groups"),
    ("high-throughput-needs-ray-2.56", HELLO, ["serve.highThroughput=true", "ray.version=2.54.1"], "ray.version",
     "need Ray >= 2.56"),
    ("direct-streaming-needs-ray-2.56", HELLO, ["serve.highThroughput=true", "ray.version=2.55.0"], "ray.version",
     "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING need Ray >= 2.56"),
    ("direct-streaming-needs-haproxy", HELLO, ["serve.highThroughput=true", "ray.env.RAY_SERVE_ENABLE_HA_PROXY='0'"],
     "head", "needs RAY_SERVE_ENABLE_HA_PROXY=1"),
]


@pytest.mark.parametrize(("spec", "overrides", "path", "words"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_rule_errors(spec: Path, overrides: list[str], path: str, words: str) -> None:
    with pytest.raises(InvalidError) as caught:
        render_file(spec, overrides=overrides)
    errors = caught.value.report.errors
    assert any(path in e.path and words in e.message for e in errors), [str(e) for e in errors]


@pytest.mark.parametrize("spec", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_examples_have_no_errors(spec: Path) -> None:
    assert render_file(spec).report.ok


WARNINGS = [
    ("image-tag-mismatch", HELLO, ["ray.image=rayproject/ray:2.50.0-py311"], "head",
     "carries Ray 2.50.0, which does not match rayVersion"),
    ("cpu-deployment-on-gpu-group", HELLO, ["workerGroups[0].gpus=1"], "serve.applications[0]",
     "keeps a GPU pod alive"),
    ("batch-cannot-fill", EXAMPLES / "classifier.yaml",
     ["serve.applications[0].deployments.BatchClassifier.maxOngoingRequests=4"], "serve.applications[0]",
     "batches can never fill"),
]


@pytest.mark.parametrize(("spec", "overrides", "path", "words"), [c[1:] for c in WARNINGS],
                         ids=[c[0] for c in WARNINGS])
def test_rule_warnings(spec: Path, overrides: list[str], path: str, words: str) -> None:
    report = render_file(spec, overrides=overrides).report
    assert report.ok
    assert any(path in w.path and words in w.message for w in report.warnings), [str(w) for w in report.findings]


def _manifest(tmp_path: Path, mutate: object) -> Path:
    rs = yaml.safe_load((RENDERED / "hello.yaml").read_text())
    mutate(rs)  # type: ignore[operator]
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(rs))
    return path


def _ray_container(group: dict) -> dict:  # type: ignore[type-arg]
    return group["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def _set_serve(rs: dict, fn: object) -> None:  # type: ignore[type-arg]
    config = yaml.safe_load(rs["spec"]["serveConfigV2"])
    fn(config)  # type: ignore[operator]
    rs["spec"]["serveConfigV2"] = yaml.safe_dump(config)


MANIFEST_ERRORS = [
    ("misplaced-num-replicas", lambda rs: _set_serve(rs, lambda c: c["applications"][0].update(num_replicas=2)),
     "applications[0].num_replicas", "Ray would silently ignore it"),
    ("typo-in-deployment", lambda rs: _set_serve(rs, lambda c: c["applications"][0]["deployments"][0].update(
        max_ongoing_request=3)), "deployments[0].max_ongoing_request", "did you mean 'max_ongoing_requests'"),
    ("unknown-bundled-arg", lambda rs: _set_serve(rs, lambda c: c["applications"][0]["args"].update(mesage="x")),
     "args.mesage", "did you mean 'message'"),
    ("serve-config-not-yaml", lambda rs: rs["spec"].update(serveConfigV2="applications: [\n"),
     "spec.serveConfigV2", "not valid YAML"),
    ("name-too-long", lambda rs: rs["metadata"].update(name="x" * 48), "metadata.name", "at most 47"),
    ("replicas-outside-bounds", lambda rs: rs["spec"]["rayClusterConfig"]["workerGroupSpecs"][0].update(replicas=9),
     "workerGroupSpecs[0].replicas", "within minReplicas..maxReplicas"),
    ("bad-upgrade-type", lambda rs: rs["spec"].update(upgradeStrategy={"type": "Recreate"}),
     "spec.upgradeStrategy.type", "not accepted by the KubeRay operator"),
    ("ha-proxy-on-head-only", lambda rs: _ray_container(rs["spec"]["rayClusterConfig"]["headGroupSpec"]).update(
        env=[{"name": "RAY_SERVE_ENABLE_HA_PROXY", "value": "1"}]),
     "workerGroupSpecs[0].template.spec.containers[0].env", "must be set on the Ray container of every pod"),
]


def _worker(rs: dict) -> dict:  # type: ignore[type-arg]
    return rs["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]  # type: ignore[no-any-return]


def _drain(value: str) -> object:
    return lambda rs: _ray_container(_worker(rs)).update(env=[{"name": "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S",
                                                               "value": value}])


def _drain_and_grace(value: str, grace: int | None) -> object:
    def mutate(rs: dict) -> None:  # type: ignore[type-arg]
        _drain(value)(rs)  # type: ignore[operator]
        _worker(rs)["template"]["spec"].pop("terminationGracePeriodSeconds", None)
        if grace is not None:
            _worker(rs)["template"]["spec"]["terminationGracePeriodSeconds"] = grace
    return mutate


DRAIN_CASES = [
    # (case id, mutation, warning expected)
    ("drain-longer-than-grace", _drain_and_grace("120", 60), "Kubernetes kills the pod 60s after SIGTERM"),
    ("drain-with-default-grace", _drain_and_grace("90", None), "30s after SIGTERM (its default)"),
    ("ray-default-drain-short-grace", lambda rs: (_ray_container(_worker(rs)).pop("env", None),
                                                  _worker(rs)["template"]["spec"].update(
                                                      terminationGracePeriodSeconds=10)),
     "drains the node for up to 30s"),
    ("drain-fits", _drain_and_grace("120", 135), None),
    ("drain-off", _drain_and_grace("0", None), None),
    ("neither-set", lambda rs: (_ray_container(_worker(rs)).pop("env", None),
                                _worker(rs)["template"]["spec"].pop("terminationGracePeriodSeconds", None)), None),
]


@pytest.mark.parametrize(("mutate", "words"), [c[1:] for c in DRAIN_CASES], ids=[c[0] for c in DRAIN_CASES])
def test_a_drain_longer_than_the_grace_period_warns(tmp_path: Path, crd_dir: Path, mutate: object,
                                                    words: str | None) -> None:
    report = validate_file(_manifest(tmp_path, mutate), crds=DirCrds(crd_dir), ray_schema=False)
    found = [w.message for w in report.warnings if w.path.endswith("terminationGracePeriodSeconds")]
    if words is None:
        assert not found, found
    else:
        assert any(words in m for m in found), [str(f) for f in report.findings]
        assert any("at least" in m and "workerGroups[].drainSeconds" in m for m in found), found


def test_a_drain_that_is_not_a_number_is_an_error(tmp_path: Path, crd_dir: Path) -> None:
    with pytest.raises(InvalidError) as caught:
        validate_file(_manifest(tmp_path, _drain("two minutes")), crds=DirCrds(crd_dir), ray_schema=False)
    assert any("RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S='two minutes' is not a number of seconds" in e.message
               for e in caught.value.report.errors), [str(e) for e in caught.value.report.errors]


@pytest.mark.parametrize(("mutate", "path", "words"), [c[1:] for c in MANIFEST_ERRORS],
                         ids=[c[0] for c in MANIFEST_ERRORS])
def test_manifest_rule_errors(tmp_path: Path, mutate: object, path: str, words: str) -> None:
    with pytest.raises(InvalidError) as caught:
        validate_file(_manifest(tmp_path, mutate), ray_schema=False)
    errors = caught.value.report.errors
    assert any(path in e.path and words in e.message for e in errors), [str(e) for e in errors]


def test_deprecated_fields_warn(tmp_path: Path, crd_dir: Path) -> None:
    path = _manifest(tmp_path, lambda rs: rs["spec"].update(serviceUnhealthySecondThreshold=900))
    report = validate_file(path, crds=DirCrds(crd_dir), ray_schema=False)
    assert any("no-op" in w.message for w in report.warnings)


def test_crd_rejects_unknown_and_mistyped_fields(tmp_path: Path, crd_dir: Path) -> None:
    def mutate(rs: dict) -> None:  # type: ignore[type-arg]
        group = rs["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]
        group["replica"] = 1
        group["maxReplicas"] = "two"

    with pytest.raises(InvalidError) as caught:
        validate_file(_manifest(tmp_path, mutate), crds=DirCrds(crd_dir), ray_schema=False)
    messages = [str(e) for e in caught.value.report.errors]
    assert any("workerGroupSpecs[0].replica" in m and "did you mean 'replicas'" in m for m in messages), messages
    assert any("workerGroupSpecs[0].maxReplicas" in m and "integer" in m for m in messages), messages


def test_multi_document_manifest_reports_skipped(tmp_path: Path, crd_dir: Path) -> None:
    path = tmp_path / "multi.yaml"
    config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
    path.write_text(config_map + (RENDERED / "hello.yaml").read_text())
    report = validate_file(path, crds=DirCrds(crd_dir), ray_schema=False)
    assert report.checked == ["RayService/hello"]
    assert report.skipped and report.skipped[0].startswith("ConfigMap/c")


def test_stock_image_warns_about_serve_apps() -> None:
    report = render_file(HELLO).report
    assert any("has no serve_apps" in w.message for w in report.warnings)
    custom = render_file(HELLO, overrides=["ray.image=registry.local/rayctl-apps:2.60.0-cpu"]).report
    assert not any("has no serve_apps" in w.message for w in custom.warnings)


def test_high_throughput_sets_the_switches_on_every_ray_container() -> None:
    rs = render_file(HELLO, overrides=["serve.highThroughput=true"]).rendered.rayservice
    cluster = rs["spec"]["rayClusterConfig"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    for group in groups:
        env = {e["name"]: e.get("value") for e in _ray_container(group).get("env", [])}
        assert env["RAY_SERVE_ENABLE_HA_PROXY"] == "1"
        assert env["RAY_SERVE_THROUGHPUT_OPTIMIZED"] == "1"
        assert env["RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING"] == "1"
    plain = render_file(HELLO).rendered.rayservice["spec"]["rayClusterConfig"]
    names = {e["name"] for g in [plain["headGroupSpec"], *plain["workerGroupSpecs"]]
             for e in _ray_container(g).get("env", [])}
    assert not any(name.startswith("RAY_SERVE_") for name in names)


def test_ray_env_wins_over_high_throughput_and_feeds_rayctl_run() -> None:
    result = render_file(HELLO, overrides=["serve.highThroughput=true", "ray.env.RAY_SERVE_ENABLE_HA_PROXY='0'",
                                           "ray.env.RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING='0'",
                                           "ray.env.HF_HOME=/models"])
    head = _ray_container(result.rendered.rayservice["spec"]["rayClusterConfig"]["headGroupSpec"])
    env = [(e["name"], e.get("value")) for e in head["env"]]
    assert ("RAY_SERVE_ENABLE_HA_PROXY", "0") in env
    assert len([n for n, _ in env if n == "RAY_SERVE_ENABLE_HA_PROXY"]) == 1  # one entry, not a shadowed duplicate
    # `rayctl run` gets the Serve switches only, not the rest of the container env
    assert result.spec.serve_env() == {"RAY_SERVE_ENABLE_HA_PROXY": "0", "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
                                       "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING": "0"}


def _llm_manifest(tmp_path: Path, mutate_args: object) -> Path:
    rs = next(yaml.safe_load_all((RENDERED / "llama-8b.yaml").read_text()))  # highThroughput: true; the RayService
    config = yaml.safe_load(rs["spec"]["serveConfigV2"])
    mutate_args(config["applications"][0]["args"])  # type: ignore[operator]
    rs["spec"]["serveConfigV2"] = yaml.safe_dump(config)
    path = tmp_path / "llm.yaml"
    path.write_text(yaml.safe_dump(rs))
    return path


@pytest.mark.parametrize(("mutate", "path", "words"), [
    (lambda a: a["llm_configs"].append(dict(a["llm_configs"][0])), "args.llm_configs",
     "supports exactly one per app"),
    (lambda a: a.update(ingress_deployment_config={"num_replicas": 2}), "args.ingress_deployment_config",
     "makes the model server the ingress"),
], ids=["two-models", "custom-ingress"])
def test_direct_streaming_limits_llm_apps(tmp_path: Path, crd_dir: Path, mutate: object, path: str,
                                         words: str) -> None:
    with pytest.raises(InvalidError) as caught:
        validate_file(_llm_manifest(tmp_path, mutate), crds=DirCrds(crd_dir), ray_schema=False)
    errors = caught.value.report.errors
    assert any(path in e.path and words in e.message for e in errors), [str(e) for e in errors]
    assert validate_file(_llm_manifest(tmp_path, lambda a: None), crds=DirCrds(crd_dir), ray_schema=False).ok
