"""Spec -> Ray Serve multi-application config (the YAML embedded as `serveConfigV2`), in Ray's snake_case."""

from __future__ import annotations

from typing import Any, Literal

from rayctl.spec.model import DeploymentSpec
from rayctl.spec.quantity import parse_quantity
from rayctl.spec.serve import (
    ABApp,
    AppBase,
    BundledApp,
    ClassifierApp,
    CustomApp,
    DeploymentOptions,
    HelloApp,
    LLMApp,
    PipelineApp,
    ServeAutoscaling,
    VLLMApp,
)

Profile = Literal["cpu", "gpu"] | None


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _autoscaling(config: ServeAutoscaling) -> dict[str, Any]:
    return _drop_none(config.model_dump(by_alias=False, exclude_none=True))


def deployment_options(options: DeploymentOptions, *, cpu_only: bool) -> dict[str, Any]:
    """DeploymentOptions -> Ray's `deployments[]` keys (without `name`). `cpu_only` strips GPU asks."""
    out: dict[str, Any] = {}
    if options.num_replicas is not None:
        out["num_replicas"] = options.num_replicas
    if options.autoscaling is not None:
        out["autoscaling_config"] = _autoscaling(options.autoscaling)
    for key in ("max_ongoing_requests", "max_queued_requests"):
        value = getattr(options, key)
        if value is not None:
            out[key] = value
    if options.ray_actor_options is not None:
        actor = options.ray_actor_options
        actor_out: dict[str, Any] = {}
        if actor.num_cpus is not None:
            actor_out["num_cpus"] = actor.num_cpus
        if actor.num_gpus is not None and not cpu_only:
            actor_out["num_gpus"] = actor.num_gpus
        if actor.memory is not None:
            actor_out["memory"] = int(parse_quantity(actor.memory))
        if actor.resources:
            actor_out["resources"] = dict(sorted(actor.resources.items()))
        if actor.accelerator_type is not None and not cpu_only:
            actor_out["accelerator_type"] = actor.accelerator_type
        if actor.runtime_env is not None:
            actor_out["runtime_env"] = actor.runtime_env
        if actor_out:
            out["ray_actor_options"] = actor_out
    if options.placement_group_bundles is not None:
        bundles = [dict(b) for b in options.placement_group_bundles]
        if cpu_only:
            bundles = [{k: v for k, v in b.items() if k != "GPU"} or {"CPU": 1} for b in bundles]
        out["placement_group_bundles"] = bundles
    if options.placement_group_strategy is not None:
        out["placement_group_strategy"] = options.placement_group_strategy
    for key in (
        "max_replicas_per_node",
        "health_check_period_s",
        "health_check_timeout_s",
        "graceful_shutdown_wait_loop_s",
        "graceful_shutdown_timeout_s",
        "user_config",
    ):
        value = getattr(options, key)
        if value is not None:
            out[key] = value
    return out


def _asks_for_gpus(options: DeploymentOptions) -> bool:
    actor = options.ray_actor_options
    if actor is not None and (actor.num_gpus or 0) > 0:
        return True
    return any(b.get("GPU", 0) > 0 for b in options.placement_group_bundles or [])


def resolve_device(app: BundledApp, profile: Profile) -> str:
    """The device a bundled app runs on: the profile wins, then the app's own setting, then what it asks for."""
    if profile == "cpu":
        return "cpu"
    if app.device != "auto":
        return app.device
    if profile == "gpu":
        return "gpu"
    if isinstance(app, LLMApp):
        return "gpu" if app.bundle_gpus > 0 else "cpu"
    if isinstance(app, VLLMApp):
        return "gpu"
    return "gpu" if any(_asks_for_gpus(o) for o in app.deployments.values()) else "cpu"


def _llm_args(app: LLMApp, device: str) -> dict[str, Any]:
    cpu = device == "cpu"
    loading: dict[str, Any] = {"model_id": app.model.id}
    if app.model.source is not None:
        loading["model_source"] = app.model.source
    if app.model.tokenizer_source is not None:
        loading["tokenizer_source"] = app.model.tokenizer_source
    engine: dict[str, Any] = {
        "tensor_parallel_size": app.tensor_parallel_size,
        "pipeline_parallel_size": app.pipeline_parallel_size,
    }
    if app.max_model_len is not None:
        engine["max_model_len"] = app.max_model_len
    engine.update(app.engine_kwargs)
    bundle: dict[str, float] = {"CPU": app.bundle_cpus}
    if app.bundle_gpus > 0 and not cpu:
        bundle["GPU"] = app.bundle_gpus
    config: dict[str, Any] = {"model_loading_config": loading}
    if app.accelerator_type is not None and not cpu:
        config["accelerator_type"] = app.accelerator_type
    config["engine_kwargs"] = engine
    config["placement_group_config"] = {"bundle_per_worker": bundle, "strategy": app.placement_strategy}
    deployment = deployment_options(app.deployment, cpu_only=cpu)
    if deployment:
        config["deployment_config"] = deployment
    args: dict[str, Any] = {"llm_configs": [config], "device": device}
    if app.hf_token_env != "HF_TOKEN":
        args["hf_token_env"] = app.hf_token_env
    return args


def _vllm_args(app: VLLMApp, device: str) -> dict[str, Any]:
    engine = dict(app.engine_kwargs)
    if app.tensor_parallel_size > 1:
        engine["tensor_parallel_size"] = app.tensor_parallel_size
    args: dict[str, Any] = {"model": app.model, "device": device}
    if app.served_model_name is not None:
        args["served_model_name"] = app.served_model_name
    if engine:
        args["engine_kwargs"] = engine
    args["max_tokens_limit"] = app.max_tokens_limit
    args["max_prompt_chars"] = app.max_prompt_chars
    if app.hf_token_env != "HF_TOKEN":
        args["hf_token_env"] = app.hf_token_env
    return args


def _app_args(app: BundledApp, device: str) -> dict[str, Any]:
    if isinstance(app, HelloApp):
        return {"message": app.message, "device": device}
    if isinstance(app, LLMApp):
        return _llm_args(app, device)
    if isinstance(app, VLLMApp):
        return _vllm_args(app, device)
    if isinstance(app, PipelineApp):
        return _drop_none({
            "device": device,
            "sentiment_model": app.sentiment_model,
            "summary_model": app.summary_model,
            "tokenizer": app.tokenizer,
            "max_input_tokens": app.max_input_tokens,
            "min_words_for_summary": app.min_words_for_summary,
            "summary_sentences": app.summary_sentences,
        })
    if isinstance(app, ClassifierApp):
        return _drop_none({
            "device": device,
            "model": app.model,
            "labels": list(app.labels),
            "max_batch_size": app.max_batch_size,
            "batch_wait_timeout_s": app.batch_wait_timeout_s,
        })
    if isinstance(app, ABApp):
        variants = [_drop_none({"name": v.name, "weight": v.weight, "message": v.message}) for v in app.variants]
        return {
            "device": device,
            "variants": variants,
            "sticky_header": app.sticky_header,
            "variant_header": app.variant_header,
        }
    raise TypeError(f"unhandled app type {type(app).__name__}")  # pragma: no cover


def _implicit_deployments(app: BundledApp, device: str) -> dict[str, dict[str, Any]]:
    """Options rayctl sets for an app unless the user set them: vLLM TP bundles, batching capacity, A/B weights."""
    implicit: dict[str, dict[str, Any]] = {}
    if isinstance(app, VLLMApp) and device == "gpu":
        tp = app.tensor_parallel_size
        # The replica (and vLLM's driver) runs in bundle 0; the other TP ranks get one GPU bundle each.
        bundles: list[dict[str, float]] = [{"CPU": 1.0, "GPU": 1.0}] + [{"GPU": 1.0} for _ in range(tp - 1)]
        implicit["VLLMDeployment"] = (
            {"placement_group_bundles": bundles, "placement_group_strategy": "STRICT_PACK"}
            if tp > 1 else {"ray_actor_options": {"num_gpus": 1}}
        )
    if isinstance(app, ClassifierApp):
        # The default max_ongoing_requests (5) would cap every batch at 5.
        implicit["BatchClassifier"] = {
            "max_ongoing_requests": max(2 * app.max_batch_size, 16),
            "user_config": {"max_batch_size": app.max_batch_size, "batch_wait_timeout_s": app.batch_wait_timeout_s},
        }
    if isinstance(app, ABApp):
        implicit["ABRouter"] = {"user_config": {"weights": {v.name: v.weight for v in app.variants}}}
    return implicit


def _deployments(app: AppBase, device: str) -> list[dict[str, Any]]:
    cpu_only = device == "cpu"
    explicit = {name: deployment_options(o, cpu_only=cpu_only) for name, o in app.deployments.items()} \
        if isinstance(app, BundledApp | CustomApp) else {}
    implicit = _implicit_deployments(app, device) if isinstance(app, BundledApp) else {}
    names = [n for n in implicit if n not in explicit] + list(explicit)
    result = []
    for name in sorted(names):
        options = {**implicit.get(name, {}), **explicit.get(name, {})}
        result.append({"name": name, **options})
    return result


def application_config(app: AppBase, profile: Profile) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": app.name, "route_prefix": app.effective_route()}
    if isinstance(app, CustomApp):
        entry["import_path"] = app.import_path
        device = "cpu" if profile == "cpu" else "gpu"
        if app.args:
            entry["args"] = app.args
    else:
        assert isinstance(app, BundledApp)
        entry["import_path"] = app.IMPORT_PATH
        device = resolve_device(app, profile)
        entry["args"] = _app_args(app, device)
    if app.runtime_env is not None:
        entry["runtime_env"] = app.runtime_env
    deployments = _deployments(app, device)
    if deployments:
        entry["deployments"] = deployments
    return entry


def _tidy_numbers(value: Any) -> Any:
    """Write whole floats as ints (1.0 -> 1): the spec types them as float, Ray accepts both, people read ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _tidy_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy_numbers(v) for v in value]
    return value


def serve_config(spec: DeploymentSpec, profile: Profile = None) -> dict[str, Any]:
    """The Ray Serve config (ServeDeploySchema) for the spec's applications."""
    return _tidy_numbers(_serve_config(spec, profile))  # type: ignore[no-any-return]


def _serve_config(spec: DeploymentSpec, profile: Profile) -> dict[str, Any]:
    serve = spec.serve
    http: dict[str, Any] = {"host": "0.0.0.0", "port": serve.http_port}
    if serve.request_timeout_s is not None:
        http["request_timeout_s"] = serve.request_timeout_s
    if serve.keep_alive_timeout_s is not None:
        http["keep_alive_timeout_s"] = serve.keep_alive_timeout_s
    return {
        "proxy_location": serve.proxy_location,
        "http_options": http,
        "applications": [application_config(app, profile) for app in serve.applications],
    }
