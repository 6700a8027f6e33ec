"""`llm`: Ray Serve LLM (vLLM engine) behind an OpenAI-compatible API (serve app: `serve_apps/llm.py`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from rayctl.apps.base import BundledApp, Endpoint, app_type
from rayctl.apps.contract import REQUIRED, Arg, Contract, device_arg
from rayctl.spec.base import INT32_MAX, SpecModel
from rayctl.spec.deployment import DeploymentOptions, PlacementStrategy
from rayctl.spec.profile import TINY_MODEL_PATH, CpuProfileSettings

DEFAULT_HF_TOKEN_ENV = "HF_TOKEN"
GPU_ONLY_ENGINE_KWARGS = frozenset({"gpu_memory_utilization", "quantization", "kv_cache_dtype"})
"""vLLM engine arguments the CPU build rejects or cannot honour; the CPU profile drops them."""
MAX_ENGINE_GPUS = 4096
"""The most GPUs (tensorParallelSize x pipelineParallelSize) one model replica may span: each is a bundle of the
replica's placement group, and no Kubernetes cluster offers more to one replica (5 000 nodes is the largest size
Kubernetes supports, and a vLLM engine spans a few nodes)."""
IMPORT_PATHS = frozenset({"serve_apps.llm:app_builder", "ray.serve.llm:build_openai_app"})
"""Builders whose args are Ray Serve LLM's `build_openai_app` args (`llm_configs`, ingress options)."""

CONTRACT = Contract("llm", (
    Arg("llm_configs", (list,), REQUIRED, "Ray Serve LLM LLMConfig mappings, one per model.", item_kind=dict),
    device_arg("gpu"),
    Arg("hf_token_env", (str,), DEFAULT_HF_TOKEN_ENV, "Env var holding the Hugging Face token (a Secret)."),
    Arg("ingress_deployment_config", (dict,), None, "Passed to build_openai_app unchanged."),
    Arg("ingress_cls_config", (dict,), None, "Passed to build_openai_app unchanged."),
))


class LLMModel(SpecModel):
    """Which model an LLM app serves and where its weights come from."""

    id: str = Field(description="Model id clients use in OpenAI requests (`model`).")
    source: str | None = Field(
        None, description="Hugging Face repo id, s3://, gs:// or local path of the weights (default: id)."
    )
    tokenizer_source: str | None = Field(None, description="Where to load the tokenizer from (default: source).")


@app_type(
    order=20, import_path="serve_apps.llm:app_builder", deployments=(), contract=CONTRACT,
    endpoint=Endpoint("GET", "/v1/models"), uses_accelerator=True,
)
class LLMApp(BundledApp):
    """Ray Serve LLM (vLLM engine) behind an OpenAI-compatible API."""

    type: Literal["llm"] = Field(description="Application type.")
    model: LLMModel = Field(description="The model to serve.")
    accelerator_type: str | None = Field(
        None, description="Ray accelerator type the engine must run on (e.g. A100); must match a worker group."
    )
    tensor_parallel_size: int = Field(
        1, ge=1, le=MAX_ENGINE_GPUS, description="vLLM tensor parallel degree (GPUs per pipeline stage)."
    )
    pipeline_parallel_size: int = Field(1, ge=1, le=MAX_ENGINE_GPUS, description="vLLM pipeline parallel degree.")
    max_model_len: int | None = Field(
        None, ge=1, le=INT32_MAX, description="Context length cap (vLLM `max_model_len`)."
    )
    engine_kwargs: dict[str, Any] = Field(default_factory=dict, description="Extra vLLM engine arguments.")
    placement_strategy: PlacementStrategy = Field(
        "STRICT_PACK",
        description="Placement of the TP x PP engine bundles; STRICT_PACK keeps tensor-parallel GPUs on one node.",
    )
    bundle_cpus: float = Field(1, ge=0, description="CPUs in each engine worker bundle.")
    bundle_gpus: float = Field(1, ge=0, description="GPUs in each engine worker bundle.")
    deployment: DeploymentOptions = Field(
        default_factory=DeploymentOptions,
        description="Serve options of the model server deployment (`deployment_config`).",
    )
    hf_token_env: str = Field(
        DEFAULT_HF_TOKEN_ENV,
        description="Env var the replica reads the Hugging Face token from (fill it via ray.secretEnv).",
    )
    cpu_model: str | None = Field(
        None,
        description="Weights served under the CPU profile instead of `model.source` (a small model; default: the "
        "tiny Llama in rayctl's CPU image). Clients keep using `model.id`.",
    )

    @model_validator(mode="after")
    def _deployment_has_no_bundles(self) -> LLMApp:
        ranks = self.tensor_parallel_size * self.pipeline_parallel_size
        if ranks > MAX_ENGINE_GPUS:
            raise ValueError(
                f"tensorParallelSize x pipelineParallelSize is {ranks} engine workers (one placement-group bundle "
                f"each) for one replica; rayctl accepts at most {MAX_ENGINE_GPUS}: lower one of them"
            )
        if self.deployment.placement_group_bundles or self.deployment.placement_group_strategy:
            raise ValueError(
                "llm apps compute their placement group from tensorParallelSize x pipelineParallelSize: "
                "set placementStrategy/bundleCpus/bundleGpus instead of deployment.placementGroupBundles"
            )
        for key in ("tensor_parallel_size", "pipeline_parallel_size", "max_model_len"):
            if key in self.engine_kwargs:
                camel = "".join(w.capitalize() if i else w for i, w in enumerate(key.split("_")))
                raise ValueError(f"set {camel} on the app instead of engineKwargs.{key}")
        return self

    def wants_gpu(self) -> bool:
        return self.bundle_gpus > 0

    def for_cpu(self, settings: CpuProfileSettings) -> LLMApp:
        source = self.cpu_model or TINY_MODEL_PATH
        engine = {k: v for k, v in self.engine_kwargs.items() if k not in GPU_ONLY_ENGINE_KWARGS}
        return self.model_copy(update={
            "model": self.model.model_copy(update={"source": source, "tokenizer_source": source}),
            "max_model_len": min(self.max_model_len or settings.max_model_len, settings.max_model_len),
            "engine_kwargs": engine,
        })

    def serve_args(self, device: str) -> dict[str, Any]:
        cpu = device == "cpu"
        loading: dict[str, Any] = {"model_id": self.model.id}
        if self.model.source is not None:
            loading["model_source"] = self.model.source
        if self.model.tokenizer_source is not None:
            loading["tokenizer_source"] = self.model.tokenizer_source
        engine: dict[str, Any] = {
            "tensor_parallel_size": self.tensor_parallel_size,
            "pipeline_parallel_size": self.pipeline_parallel_size,
        }
        if self.max_model_len is not None:
            engine["max_model_len"] = self.max_model_len
        engine.update(self.engine_kwargs)
        config: dict[str, Any] = {"model_loading_config": loading}
        if self.accelerator_type is not None and not cpu:
            config["accelerator_type"] = self.accelerator_type
        config["engine_kwargs"] = engine
        if cpu:
            # The CPU build runs the engine unsharded, but the placement group keeps its production shape
            # (one CPU bundle per tensor/pipeline rank, same strategy), so STRICT_PACK placement is exercised too.
            ranks = self.tensor_parallel_size * self.pipeline_parallel_size
            bundles = [{"CPU": self.bundle_cpus} for _ in range(ranks)]
            config["placement_group_config"] = {"bundles": bundles, "strategy": self.placement_strategy}
        else:
            bundle: dict[str, float] = {"CPU": self.bundle_cpus}
            if self.bundle_gpus > 0:
                bundle["GPU"] = self.bundle_gpus
            config["placement_group_config"] = {"bundle_per_worker": bundle, "strategy": self.placement_strategy}
        deployment = self.deployment.to_serve(cpu_only=cpu)
        if deployment:
            config["deployment_config"] = deployment
        args: dict[str, Any] = {"llm_configs": [config], "device": device}
        if self.hf_token_env != DEFAULT_HF_TOKEN_ENV:
            args["hf_token_env"] = self.hf_token_env
        return args

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"name": "chat", "type": "llm", "model": {"id": "Qwen/Qwen2.5-0.5B-Instruct"}}


APP_TYPE = LLMApp
