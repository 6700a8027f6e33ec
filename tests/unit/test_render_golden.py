"""Every example renders deterministically to its golden file, and every golden passes the real KubeRay CRD."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rayctl.validate import validate_objects
from rayctl.workflow import render_file
from tests.conftest import EXAMPLES, RENDERED

RENDERED_CPU = RENDERED.parent / "rendered-cpu"

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
REGENERATE = "make goldens"  # hack/generated.py


def test_there_are_examples_for_every_seed_scenario() -> None:
    names = {p.stem for p in EXAMPLE_FILES}
    assert {"hello", "llama-8b", "llama-70b-tp4", "pipeline", "classifier", "ab-router", "autoscaled-cpu"} <= names


@pytest.mark.parametrize("spec", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_rendered_matches_golden(spec: Path) -> None:
    golden = RENDERED / spec.name
    assert golden.exists(), f"missing golden {golden}: run `{REGENERATE}`"
    assert render_file(spec).rendered.text == golden.read_text(), f"{golden} is stale: run `{REGENERATE}`"


def test_no_stale_goldens() -> None:
    extra = {p.name for p in RENDERED.glob("*.yaml")} - {p.name for p in EXAMPLE_FILES}
    assert not extra, f"goldens without an example: {extra}: run `{REGENERATE}`"


@pytest.mark.parametrize("spec", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_render_is_deterministic(spec: Path) -> None:
    assert render_file(spec).rendered.text == render_file(spec).rendered.text


@pytest.mark.parametrize("golden", sorted(RENDERED.glob("*.yaml")) + sorted(RENDERED_CPU.glob("*.yaml")),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_is_crd_valid(golden: Path, crd_dir: Path) -> None:
    objects = list(yaml.safe_load_all(golden.read_text()))
    report = validate_objects(objects, crd_dir=crd_dir, ray_schema=False)
    assert report.checked == [f"RayService/{objects[0]['metadata']['name']}"]
    assert report.ok, [str(f) for f in report.errors]
    assert not report.notes


def test_serve_config_is_embedded_verbatim() -> None:
    result = render_file(EXAMPLES / "pipeline.yaml")
    embedded = yaml.safe_load(result.rendered.rayservice["spec"]["serveConfigV2"])
    assert embedded == result.rendered.serve_config


def test_profile_cpu_strips_gpu_asks() -> None:
    result = render_file(EXAMPLES / "llama-70b-tp4.yaml", profile="cpu")
    config = result.rendered.serve_config["applications"][0]["args"]
    assert config["device"] == "cpu"
    llm = config["llm_configs"][0]
    # the production shape (TP 4 under STRICT_PACK) is kept, with CPU bundles
    assert llm["placement_group_config"] == {"bundles": [{"CPU": 1}] * 4, "strategy": "STRICT_PACK"}
    assert "accelerator_type" not in llm
    gpu = render_file(EXAMPLES / "llama-70b-tp4.yaml").rendered.serve_config["applications"][0]["args"]
    assert gpu["llm_configs"][0]["placement_group_config"] == {"bundle_per_worker": {"CPU": 1, "GPU": 1},
                                                              "strategy": "STRICT_PACK"}
    assert gpu["llm_configs"][0]["engine_kwargs"]["tensor_parallel_size"] == 4


def test_gpu_workers_request_equals_limit() -> None:
    rs = render_file(EXAMPLES / "llama-70b-tp4.yaml").rendered.rayservice
    group = rs["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]
    resources = group["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "4"
    head = rs["spec"]["rayClusterConfig"]["headGroupSpec"]["rayStartParams"]
    assert head["num-cpus"] == "0" and head["num-gpus"] == "0"
    assert group["resources"] == {"accelerator_type:A100": "1"}


@pytest.mark.parametrize(("override", "env_value", "grace"), [
    ((), "120", 135),  # the default: 2 minutes for Serve to start replacements, plus ray start's own shutdown
    (("workerGroups[0].drainSeconds=600",), "600", 615),
    (("workerGroups[0].drainSeconds=0",), "0", None),  # off: Ray tears down at once, Kubernetes' 30 s default
])
def test_worker_pods_drain_their_serve_replicas_before_they_go(
    override: tuple[str, ...], env_value: str, grace: int | None
) -> None:
    rs = render_file(EXAMPLES / "pipeline.yaml", overrides=override).rendered.rayservice
    cluster = rs["spec"]["rayClusterConfig"]
    pod = cluster["workerGroupSpecs"][0]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S"] == env_value
    assert pod.get("terminationGracePeriodSeconds") == grace
    head = cluster["headGroupSpec"]["template"]["spec"]  # the head is the cluster: nothing to move it to
    assert "terminationGracePeriodSeconds" not in head
    assert all(e["name"] != "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S" for e in head["containers"][0].get("env", []))


def test_spec_hash_only_on_rayservice_metadata() -> None:
    """A Serve-only edit must not touch rayClusterConfig, or KubeRay would build a whole new cluster."""
    base = render_file(EXAMPLES / "hello.yaml").rendered.rayservice
    edited = render_file(EXAMPLES / "hello.yaml",
                         overrides=["serve.applications[0].message=changed"]).rendered.rayservice
    assert base["spec"]["rayClusterConfig"] == edited["spec"]["rayClusterConfig"]
    assert base["spec"]["serveConfigV2"] != edited["spec"]["serveConfigV2"]
    assert base["metadata"]["labels"]["rayctl.dev/spec-hash"] != edited["metadata"]["labels"]["rayctl.dev/spec-hash"]


def test_spec_hash_ignores_defaults_written_out() -> None:
    """The hash is of what the user wrote: spelling out a default (or a new release adding one) keeps it."""
    def spec_hash(*overrides: str) -> str:
        rs = render_file(EXAMPLES / "hello.yaml", overrides=list(overrides)).rendered.rayservice
        return str(rs["metadata"]["labels"]["rayctl.dev/spec-hash"])

    assert spec_hash() == spec_hash("serve.highThroughput=false", "serve.httpPort=8000")
    assert spec_hash() != spec_hash("serve.highThroughput=true")


def _reads_back(rendered: object) -> None:
    text, objects = rendered.text, rendered.objects  # type: ignore[attr-defined]
    assert [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None] == objects


@pytest.mark.parametrize("profile", [None, "cpu"], ids=["as-written", "cpu"])
@pytest.mark.parametrize("spec", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_objects_are_what_the_text_reads_back_as(spec: Path, profile: str | None) -> None:
    # companions built whole in Python (monitoring) are taken as they are, not read back from their text
    _reads_back(render_file(spec, profile=profile).require_rendered())  # type: ignore[arg-type]
