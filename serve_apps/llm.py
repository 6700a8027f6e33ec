"""`llm`: an OpenAI-compatible LLM app on Ray Serve LLM (`ray.serve.llm.build_openai_app`).

serveConfigV2: `import_path: serve_apps.llm:app_builder`, args:
- `llm_configs: list[LLMConfig dict]` (required): exactly Ray Serve LLM's `LLMConfig` schema
  (`model_loading_config`, `engine_kwargs`, `deployment_config`, `placement_group_config`,
  `accelerator_type`, ...);
- `device: "gpu" | "cpu"` (default "gpu");
- `hf_token_env: str = "HF_TOKEN"`: name of the env var (a k8s Secret) holding the Hugging Face token;
- `ingress_deployment_config`, `ingress_cls_config`: passed through to `build_openai_app` unchanged.

Serves `<route_prefix>/v1/models`, `/v1/completions`, `/v1/chat/completions` (SSE with `stream: true`).

Malformed requests get a 4xx `{"error": {"type", "message", "status"}}` that names the problem and leaks no
exception name or echoed value: serve_apps._openai_guard sits in front of Ray's OpenAI ingress (or, under direct
streaming, of vLLM's app in the model server) and checks JSON bodies strictly before Ray or vLLM parse them.

device=gpu: the configs are used as given (vLLM with tensor/pipeline parallelism; the renderer emits
`placement_group_config: {bundle_per_worker: {GPU: 1, CPU: n}, strategy: STRICT_PACK}`).
device=cpu: the same stack on the CPU build of vLLM: `accelerator_config: {kind: cpu}`, `accelerator_type`
removed, `dtype: float32` (bf16 crashes on many CPUs), tensor/pipeline parallel 1, GPU resources stripped from
the placement group bundles and `ray_actor_options` (CPU-only bundles).

The HF token never travels in args or the rendered config: when `hf_token_env` is not `HF_TOKEN`, each model's
`runtime_env.env_vars` gets `HF_TOKEN: "${<hf_token_env>}"`, which Ray expands from the node's environment.

Importing this module needs neither vllm, torch nor transformers (nor ray): everything is imported in
`app_builder`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from rayctl.apps.llm import CONTRACT
from serve_apps._common import DEFAULT_HF_TOKEN_ENV, check_env_name

APP = "llm"
_GPU_KEYS = ("GPU", "gpu")
_CPU_DTYPE = "float32"


def _strip_gpu(bundle: Mapping[str, Any], default_cpu: float = 1) -> dict[str, Any]:
    """A CPU-only copy of a placement-group bundle (GPU and accelerator_type:* resources removed)."""
    out = {k: v for k, v in bundle.items() if k not in _GPU_KEYS and not str(k).startswith("accelerator_type:")}
    if not out.get("CPU"):
        out["CPU"] = default_cpu
    return out


def to_cpu_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The CPU-fallback version of one LLMConfig dict (see module doc). Pure: returns a new dict."""
    out = copy.deepcopy(dict(cfg))
    out.pop("accelerator_type", None)
    out["accelerator_config"] = {"kind": "cpu"}

    engine = dict(out.get("engine_kwargs") or {})
    engine["dtype"] = _CPU_DTYPE
    engine["tensor_parallel_size"] = 1
    engine["pipeline_parallel_size"] = 1
    if engine.get("distributed_executor_backend") == "ray":
        engine.pop("distributed_executor_backend")
    out["engine_kwargs"] = engine

    pg = out.get("placement_group_config")
    if pg:
        pg = dict(pg)
        if pg.get("bundle_per_worker") is not None:
            pg["bundle_per_worker"] = _strip_gpu(pg["bundle_per_worker"])
        if pg.get("bundles"):
            pg["bundles"] = [_strip_gpu(b) for b in pg["bundles"]][:1]
        out["placement_group_config"] = pg

    dep = dict(out.get("deployment_config") or {})
    rao = dep.get("ray_actor_options")
    if rao:
        rao = dict(rao)
        rao.pop("num_gpus", None)
        rao.pop("accelerator_type", None)
        if rao.get("resources"):
            rao["resources"] = {k: v for k, v in rao["resources"].items() if not str(k).startswith("accelerator_type:")}
        dep["ray_actor_options"] = rao
        out["deployment_config"] = dep
    return out


def _with_hf_token_env(cfg: dict[str, Any], hf_token_env: str) -> dict[str, Any]:
    if hf_token_env == DEFAULT_HF_TOKEN_ENV:
        return cfg  # pods already export HF_TOKEN; replicas inherit it
    runtime_env = dict(cfg.get("runtime_env") or {})
    env_vars = dict(runtime_env.get("env_vars") or {})
    env_vars.setdefault("HF_TOKEN", "${" + hf_token_env + "}")  # expanded by Ray on the node
    runtime_env["env_vars"] = env_vars
    cfg["runtime_env"] = runtime_env
    return cfg


def prepare_serving_args(args: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """Validate app args and return (device, the dict to hand to `build_openai_app`). Pure: no ray import."""
    args = CONTRACT.parse(args)
    device = args["device"]
    hf_token_env = check_env_name(APP, "hf_token_env", args["hf_token_env"])
    configs = args["llm_configs"]
    if not configs:
        raise ValueError(f"{APP}: arg 'llm_configs' must be a non-empty list of LLMConfig mappings")
    prepared = []
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, Mapping):
            raise ValueError(f"{APP}: llm_configs[{i}] must be a mapping (an LLMConfig), got {type(cfg).__name__}")
        cfg = to_cpu_config(cfg) if device == "cpu" else copy.deepcopy(dict(cfg))
        prepared.append(_with_hf_token_env(cfg, hf_token_env))
    serving: dict[str, Any] = {"llm_configs": prepared}
    for key in ("ingress_deployment_config", "ingress_cls_config"):
        if args.get(key) is not None:
            serving[key] = copy.deepcopy(args[key])
    return device, serving


def with_error_guard(serving: dict[str, Any], direct_streaming: bool) -> dict[str, Any]:
    """`serving` with serve_apps._openai_guard in front of the OpenAI app: the guarded `OpenAiIngress` as the
    ingress class, or, under direct streaming (where Ray rejects an ingress class: the model server is the
    ingress), the guarded `LLMServer` as each model's `server_cls`. A class the user chose is left alone (and the
    guard is then not installed there). Pure apart from importing serve_apps._llm_guarded (ray[llm])."""
    from serve_apps import _llm_guarded

    if direct_streaming:
        for cfg in serving["llm_configs"]:
            if cfg.get("server_cls") is None:
                cfg["server_cls"] = _llm_guarded.LLMServer
        return serving
    ingress = dict(serving.get("ingress_cls_config") or {})
    ingress.setdefault("ingress_cls", _llm_guarded.OpenAiIngress)
    serving["ingress_cls_config"] = ingress
    return serving


def app_builder(args: dict[str, Any] | None = None) -> Any:
    """Build the OpenAI-compatible Ray Serve LLM application (a `ray.serve.Application`)."""
    _device, serving = prepare_serving_args(args)
    from ray.llm._internal.serve.constants import RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING
    from ray.serve.llm import LLMConfig, build_openai_app

    serving = with_error_guard(serving, RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING)
    try:
        serving["llm_configs"] = [LLMConfig.model_validate(c) for c in serving["llm_configs"]]
    except Exception as exc:  # pydantic ValidationError: name the app and the offending config
        raise ValueError(f"{APP}: invalid llm_configs: {exc}") from exc
    return build_openai_app(serving)
