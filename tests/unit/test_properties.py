"""Property tests: generated valid specs always render CRD-valid RayServices; broken ones fail cleanly."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rayctl.errors import InputError
from rayctl.render import render
from rayctl.spec import DeploymentSpec, SpecError
from rayctl.validate import validate_objects

names = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
quantities_cpu = st.sampled_from(["1", "2", "500m", "4", "16", 8, 2.5])
quantities_mem = st.sampled_from(["512Mi", "4Gi", "16Gi", "1Ti", 1073741824])


@st.composite
def worker_group(draw: st.DrawFn, name: str) -> dict[str, Any]:
    low = draw(st.integers(0, 3))
    replicas = draw(st.integers(low, low + 3))
    group: dict[str, Any] = {
        "name": name, "replicas": replicas, "minReplicas": low, "maxReplicas": draw(st.integers(replicas, 10)),
        "cpu": draw(quantities_cpu), "memory": draw(quantities_mem), "gpus": draw(st.integers(0, 8)),
        "numOfHosts": draw(st.integers(1, 2)),
    }
    if draw(st.booleans()):
        group["nodeSelector"] = {"pool": draw(names)}
        group["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    if draw(st.booleans()):
        group["acceleratorType"] = draw(st.sampled_from(["A100", "L4", "H100"]))
    return group


@st.composite
def deployment_options(draw: st.DrawFn) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        options["numReplicas"] = draw(st.integers(1, 4))
    elif draw(st.booleans()):
        low = draw(st.integers(0, 2))
        options["autoscaling"] = {"minReplicas": low, "maxReplicas": draw(st.integers(max(low, 1), 8)),
                                  "targetOngoingRequests": draw(st.floats(0.5, 64))}
    if draw(st.booleans()):
        options["maxOngoingRequests"] = draw(st.integers(1, 256))
    if draw(st.booleans()):
        options["rayActorOptions"] = {"numCpus": draw(st.sampled_from([0.25, 0.5, 1, 2]))}
    if draw(st.booleans()):
        options["placementGroupBundles"] = [{"CPU": 1}] * draw(st.integers(1, 3))
        options["placementGroupStrategy"] = draw(st.sampled_from(["PACK", "STRICT_PACK", "SPREAD"]))
    return options


@st.composite
def application(draw: st.DrawFn, index: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["hello", "llm", "vllm", "pipeline", "classifier", "ab", "custom"]))
    app: dict[str, Any] = {"name": f"app{index}", "type": kind, "routePrefix": f"/r{index}"}
    if kind == "hello":
        app["deployments"] = {"Hello": draw(deployment_options())}
    elif kind == "llm":
        app.update(model={"id": "m"}, tensorParallelSize=draw(st.integers(1, 4)),
                   placementStrategy=draw(st.sampled_from(["PACK", "STRICT_PACK"])))
    elif kind == "vllm":
        app.update(model="m", tensorParallelSize=draw(st.integers(1, 2)))
    elif kind == "pipeline":
        app["deployments"] = {"Summarizer": draw(deployment_options())}
    elif kind == "classifier":
        app.update(labels=["a", "b"], maxBatchSize=draw(st.integers(1, 64)))
    elif kind == "ab":
        app["variants"] = [{"name": "a", "weight": 1}, {"name": "b", "weight": draw(st.floats(0, 10))}]
    else:
        app.update(importPath="my.module:app", args={"k": draw(st.integers())},
                   deployments={"D": draw(deployment_options())})
    return app


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    groups = [draw(worker_group(f"g{i}")) for i in range(draw(st.integers(0, 3)))]
    spec: dict[str, Any] = {
        "name": draw(names),
        "workerGroups": groups,
        "serve": {"applications": [draw(application(i)) for i in range(draw(st.integers(1, 3)))]},
    }
    if draw(st.booleans()):
        spec["autoscaling"] = {"enabled": True, "upscalingMode": draw(st.sampled_from(["Default", "Aggressive"]))}
    if draw(st.booleans()):
        spec["namespace"] = draw(names)
    return spec


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_valid_specs_render_crd_valid(crd_dir: Path, data: dict[str, Any]) -> None:
    spec = DeploymentSpec.model_validate(data)
    rendered = render(spec)
    report = validate_objects(rendered.objects, crd_dir=crd_dir, ray_schema=False)
    crd_errors = [f for f in report.errors if "CRD schema" in f.message or "unknown field" in f.message]
    assert not crd_errors, [str(f) for f in crd_errors]
    assert rendered.text == render(spec).text  # deterministic


def _mappings(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if isinstance(node, dict) else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _mappings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _mappings(value, (*path, index))
    return found


def _opaque(path: tuple[Any, ...]) -> bool:
    """Free-form maps (labels, args, engine kwargs, ...) accept any key."""
    free = {"args", "engineKwargs", "nodeSelector", "labels", "annotations", "rayStartParams", "userConfig",
            "runtimeEnv", "rayResources", "resources", "deployments", "env"}
    return any(p in free for p in path) or (path and path[-1] == "placementGroupBundles")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs(), st.data())
def test_unknown_key_anywhere_fails_cleanly(data: dict[str, Any], draw: st.DataObject) -> None:
    targets = [p for p in _mappings(data) if not _opaque(p)]
    path = draw.draw(st.sampled_from(targets))
    broken = copy.deepcopy(data)
    node: Any = broken
    for part in path:
        node = node[part]
    node["bogusKey"] = 1
    import yaml

    from rayctl.spec.loader import load_spec_text

    with pytest.raises(SpecError) as caught:
        load_spec_text(yaml.safe_dump(broken), "gen.yaml")
    assert any(i.path.endswith("bogusKey") and "unknown key" in i.message for i in caught.value.issues), \
        str(caught.value)


@settings(max_examples=60, deadline=None)
@given(specs(), st.sampled_from([("name", 7), ("workerGroups", "x"), ("serve", []),
                                 ("autoscaling", {"enabled": "maybe"}),
                                 ("head", {"cpu": "lots"})]))
def test_wrong_types_fail_cleanly(data: dict[str, Any], change: tuple[str, Any]) -> None:
    import yaml

    from rayctl.spec.loader import load_spec_text

    broken = {**data, change[0]: change[1]}
    with pytest.raises(InputError) as caught:
        load_spec_text(yaml.safe_dump(broken), "gen.yaml")
    assert change[0] in str(caught.value)
