"""Check rayctl's view of Ray Serve against Ray's own schema (ray must be installed; in CI it is)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rayctl.validate import serve_keys
from rayctl.workflow import render_file
from tests.conftest import EXAMPLES, IMPORTS_RAY, skip_or_fail

pytestmark = IMPORTS_RAY


@pytest.fixture(scope="module")
def ray_schema() -> Any:
    try:
        from ray.serve import schema
    except ImportError:
        skip_or_fail("ray is not installed (make env installs it)")
    return schema


def test_key_lists_match_ray(ray_schema: Any) -> None:
    from ray.serve.config import AutoscalingConfig

    assert set(ray_schema.ServeDeploySchema.model_fields) == serve_keys.SERVE_CONFIG_KEYS
    assert set(ray_schema.ServeApplicationSchema.model_fields) == serve_keys.APPLICATION_KEYS
    assert set(ray_schema.DeploymentSchema.model_fields) == serve_keys.DEPLOYMENT_KEYS
    assert set(ray_schema.RayActorOptionsSchema.model_fields) == serve_keys.RAY_ACTOR_OPTION_KEYS
    assert set(ray_schema.HTTPOptionsSchema.model_fields) == serve_keys.HTTP_OPTION_KEYS
    assert set(AutoscalingConfig.model_fields) == serve_keys.AUTOSCALING_KEYS


@pytest.mark.parametrize("spec", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
@pytest.mark.parametrize("profile", [None, "cpu"])
def test_examples_pass_rays_serve_schema(ray_schema: Any, spec: Path, profile: str | None) -> None:
    config = render_file(spec, profile=profile).rendered.serve_config  # type: ignore[arg-type]
    ray_schema.ServeDeploySchema.model_validate(config)


def test_ray_schema_errors_are_reported(ray_schema: Any, tmp_path: Path) -> None:
    import yaml

    from rayctl.workflow import InvalidError, validate_file

    rs = yaml.safe_load((EXAMPLES.parent / "rendered" / "hello.yaml").read_text())
    config = yaml.safe_load(rs["spec"]["serveConfigV2"])
    config["applications"][0]["deployments"][0]["num_replicas"] = -3
    rs["spec"]["serveConfigV2"] = yaml.safe_dump(config)
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(rs))
    with pytest.raises(InvalidError) as caught:
        validate_file(path)
    assert any("Ray's Serve schema" in e.message and "num_replicas" in e.path for e in caught.value.report.errors)


def test_llm_configs_pass_ray_llm_config(ray_schema: Any) -> None:
    try:
        from ray.llm._internal.serve.core.configs.llm_config import LLMConfig
    except ImportError:
        skip_or_fail("ray.serve.llm is not importable (make env installs it)")
    for name in ("llama-8b", "llama-70b-tp4"):
        for profile in (None, "cpu"):
            args = render_file(EXAMPLES / f"{name}.yaml", profile=profile).rendered.serve_config  # type: ignore[arg-type]
            for config in args["applications"][0]["args"]["llm_configs"]:
                if profile == "cpu":
                    continue  # serve_apps.llm adds the CPU accelerator_config at deploy time
                parsed = LLMConfig.model_validate(config)
                assert parsed.placement_group_config["strategy"] == "STRICT_PACK"
