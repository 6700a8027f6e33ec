"""The keys Ray Serve 2.60's config schema knows, level by level.

Ray's ServeDeploySchema, ServeApplicationSchema and DeploymentSchema accept unknown keys and silently ignore them
(forward compatibility), so a misplaced `num_replicas` under `args` or a typo'd `max_ongoing_request` does nothing.
rayctl rejects them. A unit test checks these lists against Ray's own models when ray is installed.
"""

from __future__ import annotations

from rayctl.apps.llm import IMPORT_PATHS as LLM_BUILDERS

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

def bundled_app_args() -> dict[str, frozenset[str]]:
    """Args each bundled builder accepts, from the app-type registry (the builders reject anything else)."""
    from rayctl.apps import app_types

    return {cls.IMPORT_PATH: cls.CONTRACT.names() for cls in app_types().values() if cls.CONTRACT is not None}


BUNDLED_APP_ARGS: dict[str, frozenset[str]] = bundled_app_args()
LLM_IMPORT_PATHS = LLM_BUILDERS

# Keys older Rays know and Ray 2.60 does not: (level, key) -> (deprecated in, removed in, replacement). A manifest
# pinning an older rayVersion may use them; from `deprecated` on they draw a warning, from `removed` on an error.
RETIRED_KEYS: dict[tuple[str, str], tuple[tuple[int, int], tuple[int, int], str]] = {
    ("deployment", "max_concurrent_queries"): ((2, 10), (2, 34), "max_ongoing_requests"),
    ("autoscaling_config", "target_num_ongoing_requests_per_replica"): ((2, 10), (2, 34), "target_ongoing_requests"),
}
