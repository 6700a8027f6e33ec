"""The CPU profile: any GPU spec becomes one a laptop / kind node runs, with the same topology."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rayctl.errors import InputError
from rayctl.quantity import parse_quantity
from rayctl.workflow import render_file
from tests.conftest import EXAMPLES

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


def _rs(path: Path, profile: Any, *overrides: str) -> dict[str, Any]:
    return render_file(path, profile=profile, overrides=list(overrides)).require_rendered().rayservice


def _pods(rs: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    cluster = rs["spec"]["rayClusterConfig"]
    pods = [(1, cluster["headGroupSpec"]["template"]["spec"])]
    pods += [(g["replicas"] * g["numOfHosts"], g["template"]["spec"]) for g in cluster.get("workerGroupSpecs", [])]
    return pods


def _walk(node: Any) -> list[Any]:
    out = [node]
    if isinstance(node, dict):
        for k, v in node.items():
            out += [k, *_walk(v)]
    elif isinstance(node, list):
        for v in node:
            out += _walk(v)
    return out


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_cpu_profile_keeps_topology_and_drops_accelerators(example: Path) -> None:
    gpu, cpu = _rs(example, None), _rs(example, "cpu")
    g_groups = gpu["spec"]["rayClusterConfig"].get("workerGroupSpecs", [])
    c_groups = cpu["spec"]["rayClusterConfig"].get("workerGroupSpecs", [])
    assert [(g["groupName"], g["replicas"], g["minReplicas"], g["maxReplicas"], g["numOfHosts"]) for g in g_groups] \
        == [(g["groupName"], g["replicas"], g["minReplicas"], g["maxReplicas"], g["numOfHosts"]) for g in c_groups]
    g_serve = yaml.safe_load(gpu["spec"]["serveConfigV2"])
    c_serve = yaml.safe_load(cpu["spec"]["serveConfigV2"])
    assert [(a["name"], a["route_prefix"]) for a in g_serve["applications"]] == \
        [(a["name"], a["route_prefix"]) for a in c_serve["applications"]]
    words = [str(w) for w in _walk(cpu["spec"]["rayClusterConfig"])]
    assert not [w for w in words if "nvidia.com" in w or w.endswith("/gpu") or w.startswith("accelerator_type")]
    assert "GPU" not in cpu["spec"]["serveConfigV2"] and "num_gpus" not in cpu["spec"]["serveConfigV2"]
    for app in c_serve["applications"]:
        if app["import_path"].startswith("serve_apps."):
            assert app["args"]["device"] == "cpu"
    for _, pod in _pods(cpu):
        assert "-gpu" not in pod["containers"][0]["image"] and "ray-llm" not in pod["containers"][0]["image"]


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_cpu_profile_fits_the_default_budget(example: Path) -> None:
    rs = _rs(example, "cpu")
    cluster = rs["spec"]["rayClusterConfig"]
    cpu = sum(n * parse_quantity(pod["containers"][0]["resources"]["requests"]["cpu"]) for n, pod in _pods(rs))
    mem = sum(n * parse_quantity(pod["containers"][0]["resources"]["requests"]["memory"]) for n, pod in _pods(rs))
    if cluster.get("enableInTreeAutoscaling"):
        cpu += parse_quantity(cluster["autoscalerOptions"]["resources"]["requests"]["cpu"])
        mem += parse_quantity(cluster["autoscalerOptions"]["resources"]["requests"]["memory"])
    assert cpu <= 2 + 1e-9 and mem <= 8 * 2**30, (cpu, mem / 2**30)


def test_ray_sees_the_production_cpus_so_strict_pack_still_places() -> None:
    rs = _rs(EXAMPLES / "llama-70b-tp4.yaml", "cpu")
    group = rs["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]
    assert group["rayStartParams"]["num-cpus"] == "32"
    serve = yaml.safe_load(rs["spec"]["serveConfigV2"])
    llm = serve["applications"][0]["args"]["llm_configs"][0]
    placement = llm["placement_group_config"]
    assert placement["strategy"] == "STRICT_PACK" and len(placement["bundles"]) == 4


def test_llm_apps_get_the_small_model_but_keep_their_id() -> None:
    serve = yaml.safe_load(_rs(EXAMPLES / "llama-8b.yaml", "cpu")["spec"]["serveConfigV2"])
    loading = serve["applications"][0]["args"]["llm_configs"][0]["model_loading_config"]
    assert loading == {"model_id": "meta-llama/Llama-3.1-8B-Instruct", "model_source": "/opt/rayctl/models/tiny-llama",
                       "tokenizer_source": "/opt/rayctl/models/tiny-llama"}
    named = yaml.safe_load(_rs(EXAMPLES / "llama-8b.yaml", "cpu", "serve.applications[0].cpuModel=/m/qwen")["spec"][
        "serveConfigV2"])
    assert named["applications"][0]["args"]["llm_configs"][0]["model_loading_config"]["model_source"] == "/m/qwen"


def test_spec_field_profile_and_cli_override() -> None:
    as_cpu = _rs(EXAMPLES / "llama-8b.yaml", None, "profile=cpu")
    assert "nvidia.com/gpu" not in str(as_cpu)
    forced_back = _rs(EXAMPLES / "llama-8b.yaml", "gpu", "profile=cpu")
    assert "nvidia.com/gpu" in str(forced_back)


def test_budget_too_small_is_an_error_naming_the_field() -> None:
    with pytest.raises(InputError, match=r"cpuProfile\.budget\.memory: 2 Ray pods need at least 2 x 1536Mi"):
        render_file(EXAMPLES / "hello.yaml", profile="cpu", overrides=["cpuProfile.budget.memory=2Gi"])


def test_budget_is_configurable() -> None:
    rs = _rs(EXAMPLES / "hello.yaml", "cpu", "cpuProfile.budget.cpu=8", "cpuProfile.budget.memory=32Gi",
             "cpuProfile.maxPodCpu=4", "cpuProfile.maxPodMemory=8Gi")
    worker = rs["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]
    assert worker["resources"]["requests"] == {"cpu": "2", "memory": "4Gi"}  # fits: left as written


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_no_pod_is_larger_than_one_node_holds(example: Path) -> None:
    # the kind loop's failure: a 1333m head fitted the budget but neither 2-core node next to Kubernetes' own pods
    for _, pod in _pods(_rs(example, "cpu")):
        requests = pod["containers"][0]["resources"]["requests"]
        assert parse_quantity(requests["cpu"]) <= 1 and parse_quantity(requests["memory"]) <= 4 * 2**30, requests


@pytest.mark.parametrize(("overrides", "expected"), [
    (["cpuProfile.maxPodCpu=500m"], {"cpu": "500m", "memory": "4Gi"}),
    (["cpuProfile.maxPodMemory=2Gi", "cpuProfile.maxPodCpu=2"], {"cpu": "1333m", "memory": "2Gi"}),
], ids=["cpu-cap", "memory-cap"])
def test_per_pod_caps_are_configurable(overrides: list[str], expected: dict[str, str]) -> None:
    head = _rs(EXAMPLES / "hello.yaml", "cpu", *overrides)["spec"]["rayClusterConfig"]["headGroupSpec"]
    assert head["template"]["spec"]["containers"][0]["resources"]["requests"] == expected


@pytest.mark.parametrize("what", ["Cpu", "Memory"])
def test_a_cap_below_the_floor_is_an_error_naming_both_fields(what: str) -> None:
    value = "100m" if what == "Cpu" else "1Gi"
    with pytest.raises(InputError, match=rf"cpuProfile\.maxPod{what}: {value} is below cpuProfile\.minPod{what}"):
        render_file(EXAMPLES / "hello.yaml", profile="cpu", overrides=[f"cpuProfile.maxPod{what}={value}"])


@pytest.mark.parametrize(("extra", "expected"), [
    ({"pool_a": 4}, {"pool_a": "4", "CPU": "32", "memory": str(320 * 2**30)}),
    ({"pool_a": 4, "cpu": 16}, {"pool_a": "4", "cpu": "16", "memory": str(320 * 2**30)}),
    ({"pool_a": 0.5, "Memory": 1234567.0}, {"pool_a": "0.5", "Memory": "1234567", "CPU": "32"}),
], ids=["production-cpu-and-memory", "own-cpu-kept", "own-memory-kept-exact"])
def test_cpu_profile_says_logical_resources_in_resources_when_the_group_has_ray_resources(
        extra: dict[str, float], expected: dict[str, str]) -> None:
    # KubeRay refuses num-cpus/memory in rayStartParams next to a group's `resources` (and reads CPU and memory there)
    rs = _rs(EXAMPLES / "llama-70b-tp4.yaml", "cpu",
             *[f"workerGroups[0].rayResources.{key}={value}" for key, value in extra.items()])
    group = rs["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]
    assert group["resources"] == expected
    assert "num-cpus" not in group["rayStartParams"] and "memory" not in group["rayStartParams"]
