"""Secrets never land inline and are never printed: which names and values count, the spec error and its fix, the
per-field opt-in, and the masking of messages and diffs."""

from __future__ import annotations

import pytest

from rayctl.plan import unified_diff
from rayctl.secrets import redact_pair, secret_in_text, secret_name
from rayctl.spec.errors import SpecError
from rayctl.spec.loader import load_spec_text


@pytest.mark.parametrize(("name", "secret"), [
    ("HF_TOKEN", True), ("HFTOKEN", True), ("REDIS_PASSWORD", True), ("AWS_SECRET_ACCESS_KEY", True),
    ("AWS_ACCESS_KEY_ID", True), ("OPENAI_API_KEY", True), ("redis-password", True), ("apiKey", True),
    ("hf_token", True), ("GITHUB_TOKEN", True), ("AWS_REGION", False), ("AWS_DEFAULT_REGION", False),
    ("MAX_TOKENS", False), ("max_num_batched_tokens", False), ("tokenizer", False), ("tokenizer_source", False),
    ("hfTokenEnv", False), ("HF_TOKEN_PATH", False), ("secretName", False), ("key", False),
    ("RAY_SERVE_ENABLE_HA_PROXY", False),
])
def test_secret_names(name: str, secret: bool) -> None:
    assert secret_name(name) is secret


@pytest.mark.parametrize(("text", "found"), [
    ("redis://:hunter2@redis:6379", "credentials in a URL"), ("https://u:p@host/x", "credentials in a URL"),
    ("hf_" + "a" * 34, "an access token"), ("AKIA" + "A" * 16, "an access token"),
    ("redis://redis:6379", None), ("s3://bucket/model", None), ("meta-llama/Llama-3.1-8B", None),
])
def test_secrets_in_text(text: str, found: str | None) -> None:
    assert secret_in_text(text) == found


APP = "serve: {applications: [{name: a, type: hello}]}\n"


@pytest.mark.parametrize(("body", "field", "fix"), [
    ("ray: {env: {HF_TOKEN: hunter2hunter2}}\n", "ray.env.HF_TOKEN", "ray.secretEnv"),
    ("head: {rayStartParams: {redis-password: hunter2hunter2}}\n", "head.rayStartParams.redis-password",
     "redisPasswordSecret"),
    ("gcsFaultTolerance: {redisAddress: 'redis://:hunter2hunter2@r:6379'}\n", "gcsFaultTolerance.redisAddress",
     "redisPasswordSecret"),
])
def test_a_literal_secret_is_an_error_with_the_fix_and_never_echoed(body: str, field: str, fix: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec_text("name: s\n" + body + APP, "s.yaml")
    message = str(caught.value)
    assert field in message and fix in message and "allowInlineSecrets" in message
    assert "hunter2hunter2" not in message


def test_runtime_env_args_and_engine_kwargs_are_judged_too() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec_text("name: s\nserve: {applications: [{name: c, type: custom, importPath: 'm:app', "
                       "args: {api_key: hunter2hunter2}, runtimeEnv: {env_vars: {DB_PASSWORD: hunter2hunter2}}}]}\n")
    assert {i.path for i in caught.value.issues} == {"serve.applications[0].args.api_key",
                                                      "serve.applications[0].runtimeEnv.env_vars.DB_PASSWORD"}


def test_the_opt_in_is_per_field_and_must_name_a_field() -> None:
    spec = load_spec_text("name: s\nray: {env: {TEST_TOKEN: fixture, MAX_TOKENS: '512', P: '$(X)'}}\n"
                          "allowInlineSecrets: [ray.env.TEST_TOKEN]\n" + APP)
    assert spec.ray.env["TEST_TOKEN"] == "fixture"
    with pytest.raises(SpecError, match="names no secret-looking value"):
        load_spec_text("name: s\nallowInlineSecrets: [ray.env.NOPE]\n" + APP)


def test_a_wrong_value_under_a_secret_name_is_not_echoed() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec_text("name: s\nray: {env: {REDIS_PASSWORD: {x: hunter2hunter2}}}\n" + APP)
    assert "hunter2hunter2" not in str(caught.value)


def test_diffs_mask_secrets_but_show_that_they_changed() -> None:
    live = {"env": [{"name": "HF_TOKEN", "value": "old-secret-1"}], "url": "redis://:pw1@r"}
    desired = {"env": [{"name": "HF_TOKEN", "value": "new-secret-2"}], "url": "redis://:pw2@r"}
    text = unified_diff(live, desired, name="x")
    assert "old-secret-1" not in text and "new-secret-2" not in text and "pw1" not in text and "pw2" not in text
    assert "<redacted (before)>" in text and "<redacted (after)>" in text
    same = redact_pair(live, live)
    assert same[0] == same[1] and same[0]["env"][0]["value"] == "<redacted>"
