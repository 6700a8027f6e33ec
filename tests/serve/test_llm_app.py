"""serve_apps.llm (Ray Serve LLM, OpenAI-compatible) on a real local Ray Serve with the CPU build of vLLM.

Deployed once for the module, declaratively, with a GPU-shaped LLMConfig as the renderer emits it
(`accelerator_type`, GPU bundles, STRICT_PACK) and `device: cpu`, which must turn it into a CPU-only config.
Driven with the official `openai` SDK.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

pytestmark = [pytest.mark.serve, pytest.mark.usefixtures("serve_deps")]

APP = "llm-test"
ROUTE = "/llm"
MODEL_ID = "tiny"


def _llm_config(model_path: str) -> dict[str, Any]:
    return {
        "model_loading_config": {"model_id": MODEL_ID, "model_source": model_path},
        "accelerator_type": "A100",
        "engine_kwargs": {
            "max_model_len": 512,
            "enforce_eager": True,
            "max_num_seqs": 8,
            "tensor_parallel_size": 2,
            "dtype": "bfloat16",
        },
        "placement_group_config": {"bundle_per_worker": {"GPU": 1, "CPU": 1}, "strategy": "STRICT_PACK"},
        "deployment_config": {"num_replicas": 1, "max_ongoing_requests": 32},
        "log_engine_metrics": False,
    }


@pytest.fixture(scope="module")
def llm_url(serve_env: Any, tiny_model: Any) -> Any:
    url = serve_env.deploy(
        {
            "name": APP,
            "route_prefix": ROUTE,
            "import_path": "serve_apps.llm:app_builder",
            "args": {
                "device": "cpu",
                "hf_token_env": "RAYCTL_TEST_HF_TOKEN",
                "llm_configs": [_llm_config(str(tiny_model))],
            },
        }
    )
    yield url
    serve_env.delete(APP)


@pytest.fixture(scope="module")
def client(llm_url: str) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=f"{llm_url}/v1", api_key="not-needed", timeout=120, max_retries=0)


# ------------------------------------------------------------------------------------------ pure builder logic


def test_cpu_transform_of_gpu_config() -> None:
    from serve_apps.llm import prepare_serving_args

    device, serving = prepare_serving_args(
        {"device": "cpu", "hf_token_env": "MY_TOKEN", "llm_configs": [_llm_config("/m")]}
    )
    assert device == "cpu"
    (cfg,) = serving["llm_configs"]
    assert "accelerator_type" not in cfg
    assert cfg["accelerator_config"] == {"kind": "cpu"}
    assert cfg["engine_kwargs"]["dtype"] == "float32"
    assert cfg["engine_kwargs"]["tensor_parallel_size"] == 1
    assert cfg["placement_group_config"] == {"bundle_per_worker": {"CPU": 1}, "strategy": "STRICT_PACK"}
    assert cfg["runtime_env"]["env_vars"]["HF_TOKEN"] == "${MY_TOKEN}"  # the token itself never in args


def test_gpu_config_passes_through_and_validates() -> None:
    from ray.serve.llm import LLMConfig

    from serve_apps.llm import prepare_serving_args

    device, serving = prepare_serving_args({"llm_configs": [_llm_config("/m")]})
    assert device == "gpu"
    (cfg,) = serving["llm_configs"]
    assert cfg == _llm_config("/m")  # hf_token_env defaults to HF_TOKEN: nothing added
    parsed = LLMConfig.model_validate(cfg)
    assert parsed.accelerator_config.kind == "gpu"


def test_builder_rejects_bad_args() -> None:
    from serve_apps.llm import app_builder

    with pytest.raises(ValueError, match="bogus"):
        app_builder({"llm_configs": [_llm_config("/m")], "bogus": True})
    with pytest.raises(ValueError, match="llm_configs"):
        app_builder({"device": "cpu"})
    with pytest.raises(ValueError, match="device"):
        app_builder({"llm_configs": [_llm_config("/m")], "device": "npu"})
    with pytest.raises(ValueError, match="hf_token_env"):
        app_builder({"llm_configs": [_llm_config("/m")], "hf_token_env": "not a name"})


def test_module_import_is_light() -> None:
    import subprocess

    code = (
        "import sys, serve_apps.llm;"
        "bad=[m for m in ('vllm','torch','transformers','ray') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------------------------ live, via openai SDK


def test_models_list(client: Any) -> None:
    ids = [m.id for m in client.models.list()]
    assert MODEL_ID in ids


def test_completion(client: Any) -> None:
    r = client.completions.create(model=MODEL_ID, prompt="hello world", max_tokens=8, temperature=0.7)
    assert r.choices and isinstance(r.choices[0].text, str)
    assert 1 <= r.usage.completion_tokens <= 8


def test_chat_completion(client: Any) -> None:
    r = client.chat.completions.create(
        model=MODEL_ID,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello ray"}],
        max_tokens=8,
    )
    assert r.choices[0].message.role == "assistant"
    assert isinstance(r.choices[0].message.content, str)
    assert 1 <= r.usage.completion_tokens <= 8


def test_completion_stream(client: Any) -> None:
    chunks = list(
        client.completions.create(
            model=MODEL_ID, prompt="ray serve", max_tokens=10, stream=True, extra_body={"ignore_eos": True}
        )
    )
    assert len(chunks) >= 2
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert isinstance(text, str)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["length"]


def test_chat_stream(client: Any) -> None:
    stream = client.chat.completions.create(
        model=MODEL_ID,
        messages=[{"role": "user", "content": "count"}],
        max_tokens=10,
        stream=True,
        extra_body={"ignore_eos": True},
    )
    deltas = [c.choices[0].delta for c in stream if c.choices]
    assert len(deltas) >= 2
    assert "".join(d.content or "" for d in deltas)


def test_unknown_model_is_4xx(client: Any) -> None:
    import openai

    with pytest.raises(openai.APIStatusError) as exc:
        client.completions.create(model="no-such-model", prompt="x", max_tokens=2)
    assert 400 <= exc.value.status_code < 500


# ------------------------------------------------------------------------------------------ hostile input


def llm_fuzz_targets(max_depth: int, max_body: int) -> list[Any]:
    from tests.serve.fuzz import Target

    return [
        Target(
            "llm-completions",
            "/v1/completions",
            valid=[{"model": MODEL_ID, "prompt": "hello world", "max_tokens": 2, "temperature": 0.5}],
            max_body=max_body,
            max_depth=max_depth,
            text_paths=[("prompt",)],
            stream_types=("text/event-stream",),
        ),
        Target(
            "llm-chat",
            "/v1/chat/completions",
            valid=[
                {"model": MODEL_ID, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
                {"model": MODEL_ID, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "stream": True},
            ],
            max_body=max_body,
            max_depth=max_depth,
            text_paths=[("messages", 0, "content")],
            stream_types=("text/event-stream",),
        ),
    ]


def fuzz_llm(url: str) -> None:
    from serve_apps import _common
    from tests.serve.fuzz import fuzz_and_assert, hostile_cases

    try:
        from serve_apps._openai_guard import LLM_MAX_BODY_BYTES as max_body
    except ImportError:  # main before issue 9
        max_body = 16 << 20
    max_depth = getattr(_common, "MAX_JSON_DEPTH", 64)
    failed = []
    for target in llm_fuzz_targets(max_depth, max_body):  # every endpoint runs, then all failures are reported
        try:
            fuzz_and_assert(url, target, cases=hostile_cases(target, total=1000), concurrency=4)
        except AssertionError as exc:
            failed.append(str(exc))
    assert not failed, "\n\n".join(failed)


def test_fuzz_openai_endpoints(llm_url: str) -> None:
    """>= 1 000 hostile bodies each to /v1/completions and /v1/chat/completions (tests/serve/fuzz.py), through Ray
    Serve LLM's OpenAI ingress: no 5xx, errors in the apps' JSON shape that leak no exception name, no echo of a
    secret-looking value, bounded latency."""
    fuzz_llm(llm_url)
