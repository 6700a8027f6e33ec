"""Differential parity: `helm template` of charts/rayservice renders exactly what `rayctl render` renders.

Every example under each profile (none, cpu, gpu), then a few hundred generated specs (tests/strategies.py
full_specs: every application type and every field the chart ports, drawn deterministically) through rayctl's
workflow in process and through the real helm v4; the objects must be identical after parsing (serveConfigV2 parsed
too, both sides read like the cluster reads YAML), except the top-level managed-by label. `helm template` validates
every spec against values.schema.json on the way, so each accepted spec also passes the schema.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from rayctl.apps import app_types
from rayctl.chartdata import model_tree
from rayctl.errors import InputError
from tests.conftest import EXAMPLES
from tests.helm.chart import (
    Helm,
    first_difference,
    helm_batches,
    helm_objects,
    rayctl_objects,
    write_spec,
)
from tests.strategies import full_specs

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
PROFILES = [None, "cpu", "gpu"]
DRAWN = 460  # main's rendered-object rules (Serve CPU capacity, bundles vs actor asks) refuse about 30 %
WANTED = 300
# Under `profile: cpu` a group with rayResources says its logical CPU and memory in `resources` (KubeRay refuses them
# in rayStartParams next to it): generated specs cover it, and integral amounts (1234567.0) stay exact integers.


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p or "as-written")
@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_renders_like_rayctl(helm: Helm, example: Path, profile: str | None) -> None:
    ours, theirs = rayctl_objects(example, profile), helm_objects(helm, example, profile)
    assert theirs == ours, first_difference(ours, theirs)
    assert [o["kind"] for o in ours].count("RayService") == 1


def test_batch_equals_single_runs(helm: Helm, tmp_path: Path) -> None:
    """The umbrella-chart batch (many specs, one helm process) renders what one `helm template` per spec does."""
    import yaml

    specs, singles = [], []
    for example in EXAMPLE_FILES:
        for profile in PROFILES:
            spec = yaml.safe_load(example.read_text())
            if profile:
                spec["profile"] = profile
            specs.append(spec)
            singles.append(helm_objects(helm, example, profile))
    assert helm_batches(helm, specs, tmp_path, size=8) == singles


def _draw_specs(count: int) -> list[dict[str, Any]]:
    drawn: list[dict[str, Any]] = []

    @settings(max_examples=count, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(full_specs())
    def collect(spec: dict[str, Any]) -> None:
        drawn.append(spec)

    collect()
    return drawn


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The drawn specs rayctl accepts, with what it renders; the rejected ones with rayctl's reason."""
    folder = tmp_path_factory.mktemp("specs")
    started = time.perf_counter()
    accepted: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    rejected: list[str] = []
    for index, spec in enumerate(_draw_specs(DRAWN)):
        path = write_spec(folder / f"spec{index}.yaml", spec)
        try:
            accepted.append((spec, rayctl_objects(path)))
        except InputError as exc:
            rejected.append(str(exc).splitlines()[-1])
    return {"accepted": accepted, "rejected": rejected, "rayctl_s": time.perf_counter() - started}


def _fields_used(value: Any, node: dict[str, Any], tree: dict[str, Any], used: set[str]) -> None:
    kind = node["k"]
    if value is None:
        return
    if kind in ("model", "union"):
        model = node["m"] if kind == "model" else app_types()[value["type"]].__name__
        for field in tree[model]["fields"]:
            if field["key"] in value:
                used.add(f"{model}.{field['key']}")
                _fields_used(value[field["key"]], field["t"], tree, used)
    elif kind == "list":
        for item in value:
            _fields_used(item, node["of"], tree, used)
    elif kind == "dict":
        for item in value.values():
            _fields_used(item, node["of"], tree, used)


def test_generated_specs_cover_every_field_and_type(generated: dict[str, Any]) -> None:
    tree = model_tree()
    used: set[str] = set()
    for spec, _ in generated["accepted"]:
        _fields_used(spec, {"k": "model", "m": "DeploymentSpec"}, tree, used)
    every = {f"{model}.{field['key']}" for model, entry in tree.items() for field in entry["fields"]}
    assert every - used == set(), f"fields no accepted spec sets: {sorted(every - used)}"


def test_generated_specs_render_like_rayctl(helm: Helm, generated: dict[str, Any], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    accepted = generated["accepted"]
    assert len(accepted) >= WANTED, (f"only {len(accepted)} of {DRAWN} drawn specs pass rayctl; rejected: "
                                     f"{generated['rejected'][:5]}")
    started = time.perf_counter()
    rendered = helm_batches(helm, [spec for spec, _ in accepted], tmp_path)
    helm_s = time.perf_counter() - started
    differences = [(i, first_difference(ours, theirs)) for i, ((_, ours), theirs) in enumerate(zip(accepted, rendered,
                                                                                                strict=True))
                   if ours != theirs]
    with capsys.disabled():
        print(f"\nchart parity: {len(accepted)} generated specs identical in {len(accepted) - len(differences)}; "
              f"{len(generated['rejected'])} of {DRAWN} drawn rejected by rayctl; rayctl {generated['rayctl_s']:.1f} s "
              f"(in process, rules included), helm {helm_s:.1f} s (batches of 50)")
    assert not differences, differences[:5]
