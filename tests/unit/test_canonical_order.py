"""Equivalent specs render identical bytes: the order of a map's keys (labels, env, rayStartParams, runtimeEnv,
args, engineKwargs, deployments, or the spec's own sections) never changes the output."""

from __future__ import annotations

import random
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rayctl.render import render
from rayctl.spec.model import DeploymentSpec
from tests.conftest import EXAMPLES, examples
from tests.strategies import specs

SPECS = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.yaml"))}


def shuffled(value: Any, rng: random.Random) -> Any:
    """`value` with every mapping's keys in a random order (lists keep theirs: their order means something)."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: shuffled(value[key], rng) for key in keys}
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    return value


def _text(spec: dict[str, Any], profile: str | None = None) -> str:
    return render(DeploymentSpec.model_validate(spec), profile=profile).text  # type: ignore[arg-type]


extra_maps = st.dictionaries(st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True),
                             st.from_regex(r"[a-z0-9]{0,6}", fullmatch=True), min_size=2, max_size=6)


@settings(max_examples=examples(15), deadline=None)
@given(example=st.sampled_from(sorted(SPECS)), seed=st.integers(0, 2**32 - 1), profile=st.sampled_from([None, "cpu"]))
def test_examples_render_the_same_bytes_in_any_key_order(example: str, seed: int, profile: str | None) -> None:
    spec = SPECS[example]
    assert _text(shuffled(spec, random.Random(seed)), profile) == _text(spec, profile)


@settings(max_examples=examples(15), deadline=None)
@given(spec=specs(), labels=extra_maps, env=extra_maps, params=extra_maps, seed=st.integers(0, 2**32 - 1))
def test_generated_specs_render_the_same_bytes_in_any_key_order(spec: dict[str, Any], labels: dict[str, str],
                                                                env: dict[str, str], params: dict[str, str],
                                                                seed: int) -> None:
    spec = {**spec, "labels": labels, "ray": {"env": {k.upper(): v for k, v in env.items()}},
            "head": {"rayStartParams": params, "labels": labels}}
    spec["serve"]["applications"][0]["runtimeEnv"] = {"env_vars": env, "config": {"setup_timeout_seconds": 60}}
    try:
        expected = _text(spec)
    except ValueError:  # a generated spec the model rejects has no bytes to compare
        return
    assert _text(shuffled(spec, random.Random(seed))) == expected
