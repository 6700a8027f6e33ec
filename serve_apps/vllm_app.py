"""`vllm`: a custom Ray Serve deployment around vLLM's async engine (`AsyncLLM`, a.k.a. `AsyncLLMEngine`).

serveConfigV2: `import_path: serve_apps.vllm_app:app_builder`, args: `model` (required: HF id or local path),
`served_model_name`, `engine_kwargs` (vLLM AsyncEngineArgs), `max_tokens_limit: int = 1024`,
`max_prompt_chars: int = 16000`, `device: "gpu" | "cpu"`, `hf_token_env: str = "HF_TOKEN"`.
Deployment: `VLLMDeployment` (override `max_ongoing_requests`, `max_queued_requests`, ... in `deployments:`).

`POST <route_prefix>/generate` with JSON `{"prompt": str, "temperature": 0..2, "top_p": (0, 1],
"max_tokens": 1..max_tokens_limit, "stream": bool}` (all but prompt optional; unknown fields rejected):
- `stream: false` -> `{"text", "tokens", "prompt_tokens", "finish_reason", "model"}`;
- `stream: true`  -> `application/x-ndjson`: one `{"text": <delta>, "tokens": <so far>}` line per step, then
  `{"text": "", "tokens": n, "finish_reason": ..., "done": true}` (or `{"error": {...}}` if the engine fails).
Malformed JSON / wrong types / out-of-range values -> 400/422 with `{"error": {"type", "message", "status"}}`;
overload (more than `max_ongoing_requests` + `max_queued_requests` in flight) -> 503 from Ray Serve;
`check_health` fails when the engine is dead, so Serve restarts the replica.

device=cpu runs the CPU build of vLLM: `dtype: float32`, tensor/pipeline parallel 1, no GPUs requested.
device=gpu with tensor_parallel_size * pipeline_parallel_size > 1 gets a STRICT_PACK placement group of one
{GPU: 1} bundle per worker and vLLM's Ray executor.

The HF token is read inside the replica from the env var named by `hf_token_env`, never from args.
Importing this module needs neither vllm, torch nor transformers: they are imported in the replica.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from ray import serve

from rayctl.apps.vllm import CONTRACT
from serve_apps._common import (
    DEFAULT_HF_TOKEN_ENV,
    BadRequest,
    check_env_name,
    hf_token,
    json_error,
    read_json,
    request_id,
)

logger = logging.getLogger("serve_apps.vllm_app")

APP = "vllm"
REQUEST_FIELDS = ("prompt", "temperature", "top_p", "max_tokens", "stream")
DEFAULT_MAX_TOKENS_LIMIT: int = CONTRACT["max_tokens_limit"].default
DEFAULT_MAX_PROMPT_CHARS: int = CONTRACT["max_prompt_chars"].default
DEFAULT_MAX_TOKENS = 128
DEFAULT_TEMPERATURE = 1.0
DEFAULT_TOP_P = 1.0
CPU_DTYPE = "float32"


# -------------------------------------------------------------------------------------- request validation


def _number(payload: Mapping[str, Any], key: str, default: float) -> float:
    value = payload.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"field {key!r} must be a number, got {type(value).__name__}", 422, "invalid_request")
    if value != value or value in (float("inf"), float("-inf")):  # NaN / inf (json allows NaN/Infinity)
        raise BadRequest(f"field {key!r} must be finite", 422, "invalid_request")
    return float(value)


def parse_generate_request(payload: Any, *, max_tokens_limit: int, max_prompt_chars: int) -> dict[str, Any]:
    """Validate a /generate body; BadRequest (400/422) on any problem. Pure: usable without vllm."""
    if not isinstance(payload, dict):
        raise BadRequest(f"expected a JSON object, got {type(payload).__name__}", 400)
    unknown = sorted(str(k) for k in payload if k not in REQUEST_FIELDS)
    if unknown:
        raise BadRequest(
            f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(REQUEST_FIELDS)}",
            422,
            "invalid_request",
        )
    if "prompt" not in payload:
        raise BadRequest("missing field 'prompt'", 422, "invalid_request")
    prompt = payload["prompt"]
    if not isinstance(prompt, str):
        raise BadRequest(f"field 'prompt' must be a string, got {type(prompt).__name__}", 422, "invalid_request")
    if not prompt:
        raise BadRequest("field 'prompt' must not be empty", 422, "invalid_request")
    if len(prompt) > max_prompt_chars:
        raise BadRequest(
            f"field 'prompt' is {len(prompt)} characters; the limit is {max_prompt_chars}",
            422,
            "invalid_request",
        )
    temperature = _number(payload, "temperature", DEFAULT_TEMPERATURE)
    if not 0.0 <= temperature <= 2.0:
        raise BadRequest(f"field 'temperature' must be in [0, 2], got {temperature}", 422, "invalid_request")
    top_p = _number(payload, "top_p", DEFAULT_TOP_P)
    if not 0.0 < top_p <= 1.0:
        raise BadRequest(f"field 'top_p' must be in (0, 1], got {top_p}", 422, "invalid_request")
    max_tokens = payload.get("max_tokens", min(DEFAULT_MAX_TOKENS, max_tokens_limit))
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise BadRequest(
            f"field 'max_tokens' must be an integer, got {type(max_tokens).__name__}", 422, "invalid_request"
        )
    if not 1 <= max_tokens <= max_tokens_limit:
        raise BadRequest(
            f"field 'max_tokens' must be in [1, {max_tokens_limit}], got {max_tokens}", 422, "invalid_request"
        )
    stream = payload.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest(f"field 'stream' must be a boolean, got {type(stream).__name__}", 422, "invalid_request")
    return {
        "prompt": prompt,
        "temperature": temperature,
        "top_p": top_p,
        "max_tokens": max_tokens,
        "stream": stream,
    }


_EXC_NAME_RE = re.compile(r"\b[A-Z][A-Za-z0-9]*(?:Error|Exception)\b:?\s*")


def client_message(exc: BaseException) -> str:
    """vLLM's message for a request it rejected (e.g. "This model's maximum context length is 512 tokens..."),
    without exception class names, bounded in length."""
    text = _EXC_NAME_RE.sub("", str(exc)).strip() or "the engine rejected the request"
    return text if len(text) <= 500 else text[:500] + "..."


# ------------------------------------------------------------------------------------------ engine options


def engine_options(
    model: str, served_model_name: str | None, engine_kwargs: Mapping[str, Any], device: str
) -> dict[str, Any]:
    """The AsyncEngineArgs kwargs for a device. Pure."""
    kwargs = dict(engine_kwargs)
    for key in ("model", "served_model_name"):
        if key in kwargs:
            raise ValueError(f"{APP}: engine_kwargs must not set {key!r}; use the app arg instead")
    kwargs["model"] = model
    if served_model_name:
        kwargs["served_model_name"] = served_model_name
    if device == "cpu":
        kwargs["dtype"] = CPU_DTYPE
        kwargs["tensor_parallel_size"] = 1
        kwargs["pipeline_parallel_size"] = 1
        kwargs.pop("distributed_executor_backend", None)
    elif _world_size(kwargs) > 1:
        kwargs.setdefault("distributed_executor_backend", "ray")
    return kwargs


def _world_size(kwargs: Mapping[str, Any]) -> int:
    return int(kwargs.get("tensor_parallel_size", 1) or 1) * int(kwargs.get("pipeline_parallel_size", 1) or 1)


def deployment_options(device: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Ray resources for the replica: CPU only; 1 GPU; or a STRICT_PACK placement group of n GPU bundles."""
    if device == "cpu":
        return {"ray_actor_options": {"num_cpus": 1}}
    n = _world_size(kwargs)
    if n == 1:
        return {"ray_actor_options": {"num_cpus": 1, "num_gpus": 1}}
    return {
        "ray_actor_options": {"num_cpus": 1, "num_gpus": 0},
        "placement_group_bundles": [{"CPU": 1, "GPU": 1}] + [{"GPU": 1} for _ in range(n - 1)],
        "placement_group_strategy": "STRICT_PACK",
    }


# ------------------------------------------------------------------------------------------ the deployment


@serve.deployment(
    name="VLLMDeployment",
    max_ongoing_requests=64,
    max_queued_requests=128,
    health_check_period_s=10,
    health_check_timeout_s=30,
)
class VLLMDeployment:
    def __init__(
        self,
        engine_kwargs: dict[str, Any],
        *,
        max_tokens_limit: int = DEFAULT_MAX_TOKENS_LIMIT,
        max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS,
        device: str = "gpu",
        hf_token_env: str = DEFAULT_HF_TOKEN_ENV,
    ) -> None:
        token = hf_token(hf_token_env)
        if token and hf_token_env != DEFAULT_HF_TOKEN_ENV:
            os.environ["HF_TOKEN"] = token  # huggingface_hub / vLLM read HF_TOKEN
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        self._device = device
        self._max_tokens_limit = max_tokens_limit
        self._max_prompt_chars = max_prompt_chars
        args = AsyncEngineArgs(**engine_kwargs)
        self._model_name = engine_kwargs.get("served_model_name") or engine_kwargs["model"]
        if isinstance(self._model_name, list):
            self._model_name = self._model_name[0]
        self._engine = AsyncLLM.from_engine_args(args)
        logger.info("vLLM engine ready: model=%s device=%s", self._model_name, device)

    # -- HTTP

    async def __call__(self, request: Any) -> Any:
        path = request.url.path.rstrip("/")
        if not path.endswith("/generate"):
            return json_error(404, f"no route {request.url.path!r}; use POST <route_prefix>/generate", "not_found")
        if request.method != "POST":
            return json_error(405, f"method {request.method} not allowed; use POST", "method_not_allowed")
        try:
            payload = await read_json(request)
            req = parse_generate_request(
                payload, max_tokens_limit=self._max_tokens_limit, max_prompt_chars=self._max_prompt_chars
            )
            if req["stream"]:
                return await self._stream(req)
            return await self._complete(req)
        except BadRequest as exc:
            return exc.response()
        except Exception as exc:
            return self._engine_error(exc)

    def _engine_error(self, exc: BaseException) -> Any:
        from vllm.exceptions import VLLMClientError

        if isinstance(exc, (VLLMClientError, ValueError)):  # e.g. prompt longer than max_model_len
            return json_error(422, client_message(exc), "invalid_request")
        rid = request_id()
        logger.error("generation failed (request %s)", rid or "-", exc_info=exc)
        ref = f" (request id {rid})" if rid else ""
        if self._engine.errored:
            return json_error(503, f"the engine has stopped{ref}; Serve replaces this replica", "engine_dead")
        return json_error(500, f"generation failed{ref}; the replica log has the details", "internal_error")

    def _sampling_params(self, req: Mapping[str, Any], stream: bool) -> Any:
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        return SamplingParams(
            temperature=req["temperature"],
            top_p=req["top_p"],
            max_tokens=req["max_tokens"],
            output_kind=RequestOutputKind.DELTA if stream else RequestOutputKind.FINAL_ONLY,
        )

    async def _complete(self, req: Mapping[str, Any]) -> Any:
        from starlette.responses import JSONResponse

        final = None
        async for out in self._engine.generate(
            req["prompt"], self._sampling_params(req, stream=False), request_id=f"gen-{uuid.uuid4().hex}"
        ):
            final = out
        if final is None:
            raise RuntimeError("engine returned no output")
        completion = final.outputs[0]
        return JSONResponse(
            {
                "text": completion.text,
                "tokens": len(completion.token_ids),
                "prompt_tokens": len(final.prompt_token_ids or []),
                "finish_reason": completion.finish_reason,
                "model": self._model_name,
            }
        )

    async def _stream(self, req: Mapping[str, Any]) -> Any:
        from starlette.responses import StreamingResponse

        gen = self._engine.generate(
            req["prompt"], self._sampling_params(req, stream=True), request_id=f"gen-{uuid.uuid4().hex}"
        )
        # Pull the first chunk before answering so that request errors still become a 4xx JSON response.
        try:
            first = await gen.__anext__()
        except StopAsyncIteration:
            first = None

        async def body() -> AsyncIterator[bytes]:
            tokens = 0
            finish_reason = None
            try:
                out = first
                while out is not None:
                    c = out.outputs[0]
                    tokens += len(c.token_ids)
                    finish_reason = c.finish_reason or finish_reason
                    if c.text or c.token_ids:
                        yield (json.dumps({"text": c.text, "tokens": tokens}) + "\n").encode()
                    out = await gen.__anext__() if not out.finished else None
                yield (
                    json.dumps({"text": "", "tokens": tokens, "finish_reason": finish_reason, "done": True}) + "\n"
                ).encode()
            except StopAsyncIteration:
                yield (
                    json.dumps({"text": "", "tokens": tokens, "finish_reason": finish_reason, "done": True}) + "\n"
                ).encode()
            except Exception:  # the status line is gone: report in-band
                rid = request_id()
                logger.exception("streaming generation failed (request %s)", rid or "-")
                message = f"generation failed mid-stream (request id {rid or '-'}); the replica log has the details"
                error = {"error": {"type": "internal_error", "message": message, "status": 500}}
                yield (json.dumps(error) + "\n").encode()
            finally:
                await gen.aclose()

        return StreamingResponse(body(), media_type="application/x-ndjson")

    # -- Serve hooks

    async def check_health(self) -> None:
        await self._engine.check_health()  # raises EngineDeadError once the engine core died

    def __del__(self) -> None:
        engine = getattr(self, "_engine", None)
        if engine is not None:
            with contextlib.suppress(Exception):
                engine.shutdown()


# ------------------------------------------------------------------------------------------ builder


def app_builder(args: dict[str, Any] | None = None) -> serve.Application:
    args = CONTRACT.parse(args)
    device, model, served = args["device"], args["model"], args["served_model_name"]
    engine_kwargs = args["engine_kwargs"]
    max_tokens_limit, max_prompt_chars = args["max_tokens_limit"], args["max_prompt_chars"]
    hf_token_env = check_env_name(APP, "hf_token_env", args["hf_token_env"])
    kwargs = engine_options(model, served, engine_kwargs, device)
    return VLLMDeployment.options(**deployment_options(device, kwargs)).bind(
        kwargs,
        max_tokens_limit=max_tokens_limit,
        max_prompt_chars=max_prompt_chars,
        device=device,
        hf_token_env=hf_token_env,
    )
