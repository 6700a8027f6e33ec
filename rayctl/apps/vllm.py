"""`vllm`: the custom vLLM deployment behind a small JSON API (serve app: `serve_apps/vllm_app.py`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from rayctl.apps.base import BundledApp, Endpoint, SampleRequest, app_type
from rayctl.apps.contract import REQUIRED, Arg, Contract, device_arg
from rayctl.apps.llm import GPU_ONLY_ENGINE_KWARGS, MAX_ENGINE_GPUS
from rayctl.spec.profile import TINY_MODEL_PATH, CpuProfileSettings

DEFAULT_HF_TOKEN_ENV = "HF_TOKEN"

CONTRACT = Contract("vllm", (
    Arg("model", (str,), REQUIRED, "Hugging Face repo id or local path of the model."),
    Arg("served_model_name", (str,), None, "Name reported in responses (default: model)."),
    Arg("engine_kwargs", (dict,), {}, "Extra vLLM AsyncEngineArgs."),
    Arg("max_tokens_limit", (int,), 1024, "Largest max_tokens a request may ask for.", minimum=1),
    Arg("max_prompt_chars", (int,), 16000, "Largest prompt accepted, in characters.", minimum=1),
    device_arg("gpu"),
    Arg("hf_token_env", (str,), DEFAULT_HF_TOKEN_ENV, "Env var holding the Hugging Face token (a Secret)."),
))


@app_type(
    order=30, import_path="serve_apps.vllm_app:app_builder", deployments=("VLLMDeployment",), contract=CONTRACT,
    endpoint=Endpoint("POST", "/generate"), uses_accelerator=True,
)
class VLLMApp(BundledApp):
    """The custom vLLM deployment (vLLM's async engine behind a small JSON API)."""

    type: Literal["vllm"] = Field(description="Application type.")
    model: str = Field(description="Hugging Face repo id or local path of the model.")
    served_model_name: str | None = Field(None, description="Name reported in responses (default: model).")
    tensor_parallel_size: int = Field(1, ge=1, le=MAX_ENGINE_GPUS, description="vLLM tensor parallel degree.")
    engine_kwargs: dict[str, Any] = Field(default_factory=dict, description="Extra vLLM engine arguments.")
    max_tokens_limit: int = Field(
        CONTRACT["max_tokens_limit"].default, ge=1, description="Largest max_tokens a request may ask for."
    )
    max_prompt_chars: int = Field(
        CONTRACT["max_prompt_chars"].default, ge=1, description="Largest prompt accepted, in characters."
    )
    hf_token_env: str = Field(
        DEFAULT_HF_TOKEN_ENV, description="Env var the replica reads the Hugging Face token from."
    )

    cpu_model: str | None = Field(
        None,
        description="Weights served under the CPU profile instead of `model` (a small model; default: the tiny "
        "Llama in rayctl's CPU image).",
    )

    def for_cpu(self, settings: CpuProfileSettings) -> VLLMApp:
        engine = {k: v for k, v in self.engine_kwargs.items() if k not in GPU_ONLY_ENGINE_KWARGS}
        engine["max_model_len"] = min(engine.get("max_model_len", settings.max_model_len), settings.max_model_len)
        return self.model_copy(update={
            "model": self.cpu_model or TINY_MODEL_PATH,
            "served_model_name": self.served_model_name or self.model,
            "engine_kwargs": engine,
        })

    def wants_gpu(self) -> bool:
        return True  # vLLM's GPU engine is the point of this app; CPU only when asked (device or profile)

    def serve_args(self, device: str) -> dict[str, Any]:
        engine = dict(self.engine_kwargs)
        if self.tensor_parallel_size > 1:
            engine["tensor_parallel_size"] = self.tensor_parallel_size
        args: dict[str, Any] = {"model": self.model, "device": device}
        if self.served_model_name is not None:
            args["served_model_name"] = self.served_model_name
        if engine:
            args["engine_kwargs"] = engine
        args["max_tokens_limit"] = self.max_tokens_limit
        args["max_prompt_chars"] = self.max_prompt_chars
        if self.hf_token_env != DEFAULT_HF_TOKEN_ENV:
            args["hf_token_env"] = self.hf_token_env
        return args

    def implicit_deployments(self, device: str) -> dict[str, dict[str, Any]]:
        tp = self.tensor_parallel_size
        if tp == 1:
            return {"VLLMDeployment": {"ray_actor_options": {"num_gpus": 1}}} if device == "gpu" else {}
        # The replica (and vLLM's driver) runs in bundle 0; the other tensor-parallel ranks get one GPU bundle each.
        # On CPU the engine runs unsharded, but the placement group keeps its shape (CPU bundles, STRICT_PACK).
        bundles: list[dict[str, float]] = (
            [{"CPU": 1.0, "GPU": 1.0}] + [{"GPU": 1.0} for _ in range(tp - 1)] if device == "gpu"
            else [{"CPU": 1.0} for _ in range(tp)]
        )
        return {"VLLMDeployment": {"placement_group_bundles": bundles, "placement_group_strategy": "STRICT_PACK"}}

    @classmethod
    def sample_request(cls, args: dict[str, Any]) -> SampleRequest:
        return SampleRequest({"prompt": "Ray Serve is", "max_tokens": 16})

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"name": "generate", "type": "vllm", "model": "Qwen/Qwen2.5-0.5B-Instruct"}


APP_TYPE = VLLMApp
