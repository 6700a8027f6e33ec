"""The spec's JSON Schema, shared by `rayctl schema`, the Helm chart's values.schema.json and the docs."""

from __future__ import annotations

from typing import Any

from rayctl.spec.model import DeploymentSpec


def spec_json_schema() -> dict[str, Any]:
    schema = DeploymentSpec.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "rayctl deployment spec"
    return schema
