"""`rayctl schema` (also the Helm chart's values.schema.json) accepts what rayctl accepts: every example and a few
hundred generated specs validate with a real JSON Schema validator, as draft 2020-12 and as draft-07 (Helm)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from rayctl.spec import DeploymentSpec
from rayctl.spec.schema import spec_json_schema
from tests.conftest import EXAMPLES, examples
from tests.strategies import specs

SCHEMA = spec_json_schema()
VALIDATORS = {
    "2020-12": jsonschema.Draft202012Validator(SCHEMA),
    "draft-07": jsonschema.Draft7Validator({**SCHEMA, "$schema": "http://json-schema.org/draft-07/schema#"}),
}


def test_schema_is_a_valid_schema_in_both_drafts() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft7Validator.check_schema({**SCHEMA, "$schema": "http://json-schema.org/draft-07/schema#"})


@pytest.mark.parametrize("draft", VALIDATORS)
@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_validates(example: Any, draft: str) -> None:
    data = yaml.safe_load(example.read_text())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATORS[draft].iter_errors(data)]
    assert not errors, errors


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_generated_specs_rayctl_accepts_validate(data: dict[str, Any]) -> None:
    DeploymentSpec.model_validate(data)  # rayctl accepts it ...
    for draft, validator in VALIDATORS.items():  # ... and so does the schema
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
        assert not errors, (draft, errors)


@pytest.mark.parametrize(("mutate", "where"), [
    (lambda d: d.update(bogus=1), "bogus"),
    (lambda d: d["workerGroups"][0].update(replicas="2"), "replicas"),
    (lambda d: d["workerGroups"][0].update(cpu="lots"), "cpu"),
    (lambda d: d["serve"]["applications"][0].update(type="nope"), "applications"),
])
def test_schema_rejects_what_rayctl_rejects(mutate: Any, where: str) -> None:
    data = yaml.safe_load((EXAMPLES / "hello.yaml").read_text())
    mutate(data)
    with pytest.raises(Exception):  # noqa: B017 - pydantic's ValidationError or rayctl's SpecError
        DeploymentSpec.model_validate(data)
    for validator in VALIDATORS.values():
        assert list(validator.iter_errors(data)), where
