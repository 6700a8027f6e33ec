"""The keys Ray Serve 2.60's config schema knows, level by level.

Ray's ServeDeploySchema, ServeApplicationSchema and DeploymentSchema accept unknown keys and silently ignore them
(forward compatibility), so a misplaced `num_replicas` under `args` or a typo'd `max_ongoing_request` does nothing.
rayctl rejects them. A unit test checks these lists against Ray's own models when ray is installed.
"""

from __future__ import annotations

SERVE_CONFIG_KEYS = frozenset({
    "proxy_location", "http_options", "grpc_options", "controller_options", "logging_config", "tracing_config",
    "applications", "target_capacity",
})
APPLICATION_KEYS = frozenset({
    "name", "route_prefix", "import_path", "runtime_env", "host", "port", "deployments", "autoscaling_policy",
    "args", "logging_config", "external_scaler_enabled",
})
DEPLOYMENT_KEYS = frozenset({
    "name", "num_replicas", "max_ongoing_requests", "max_queued_requests", "backpressure_config", "user_config",
    "autoscaling_config", "graceful_shutdown_wait_loop_s", "graceful_shutdown_timeout_s", "health_check_period_s",
    "health_check_timeout_s", "ray_actor_options", "placement_group_bundles", "placement_group_strategy",
    "placement_group_bundle_label_selector", "max_replicas_per_node", "logging_config", "request_router_config",
    "gang_scheduling_config", "deployment_actors", "rolling_update_percentage", "max_surge_percent",
})
RAY_ACTOR_OPTION_KEYS = frozenset({
    "runtime_env", "num_cpus", "num_gpus", "memory", "resources", "accelerator_type", "label_selector",
    "fallback_strategy",
})
HTTP_OPTION_KEYS = frozenset({
    "host", "port", "root_path", "request_timeout_s", "keep_alive_timeout_s", "ssl_keyfile", "ssl_certfile",
    "ssl_keyfile_password", "ssl_ca_certs",
})
AUTOSCALING_KEYS = frozenset({
    "min_replicas", "initial_replicas", "max_replicas", "target_ongoing_requests", "metrics_interval_s",
    "look_back_period_s", "smoothing_factor", "upscale_smoothing_factor", "downscale_smoothing_factor",
    "upscaling_factor", "downscaling_factor", "downscale_delay_s", "downscale_to_zero_delay_s", "upscale_delay_s",
    "aggregation_function", "policy",
})
LLM_CONFIG_KEYS = frozenset({
    "runtime_env", "model_loading_config", "llm_engine", "engine_kwargs", "accelerator_type", "accelerator_config",
    "placement_group_config", "lora_config", "deployment_config", "server_cls", "experimental_configs",
    "log_engine_metrics", "callback_config",
})
LLM_DEPLOYMENT_CONFIG_KEYS = frozenset({
    "name", "num_replicas", "ray_actor_options", "max_ongoing_requests", "autoscaling_config", "max_queued_requests",
    "user_config", "health_check_period_s", "health_check_timeout_s", "graceful_shutdown_wait_loop_s",
    "graceful_shutdown_timeout_s", "logging_config", "request_router_config",
})

# args each bundled serve_apps builder accepts (docs/contracts.md); builders reject anything else at deploy time.
BUNDLED_APP_ARGS: dict[str, frozenset[str]] = {
    "serve_apps.hello:app_builder": frozenset({"message", "device"}),
    "serve_apps.llm:app_builder": frozenset({
        "llm_configs", "device", "hf_token_env", "ingress_deployment_config", "ingress_cls_config",
    }),
    "serve_apps.vllm_app:app_builder": frozenset({
        "model", "served_model_name", "engine_kwargs", "max_tokens_limit", "max_prompt_chars", "device",
        "hf_token_env",
    }),
    "serve_apps.pipeline:app_builder": frozenset({
        "device", "sentiment_model", "summary_model", "tokenizer", "max_input_tokens", "min_words_for_summary",
        "summary_sentences",
    }),
    "serve_apps.classifier:app_builder": frozenset({
        "device", "model", "labels", "max_batch_size", "batch_wait_timeout_s",
    }),
    "serve_apps.ab_router:app_builder": frozenset({"device", "variants", "sticky_header", "variant_header"}),
}
LLM_IMPORT_PATHS = frozenset({"serve_apps.llm:app_builder", "ray.serve.llm:build_openai_app"})
