"""Hypothesis strategies for valid rayctl specs (every application type and the common options), shared by the
property tests, the schema tests and the Helm parity tests."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

names = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
quantities_cpu = st.sampled_from(["1", "2", "500m", "4", "16", 8, 2.5])
quantities_mem = st.sampled_from(["512Mi", "4Gi", "16Gi", "1Ti", 1073741824])


@st.composite
def worker_group(draw: st.DrawFn, name: str) -> dict[str, Any]:
    low = draw(st.integers(0, 3))
    replicas = draw(st.integers(low, low + 3))
    group: dict[str, Any] = {
        "name": name, "replicas": replicas, "minReplicas": low, "maxReplicas": draw(st.integers(replicas, 10)),
        "cpu": draw(quantities_cpu), "memory": draw(quantities_mem), "gpus": draw(st.integers(0, 8)),
        "numOfHosts": draw(st.integers(1, 2)),
    }
    if draw(st.booleans()):
        group["nodeSelector"] = {"pool": draw(names)}
        group["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    if draw(st.booleans()):
        group["acceleratorType"] = draw(st.sampled_from(["A100", "L4", "H100"]))
    return group


@st.composite
def deployment_options(draw: st.DrawFn) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        options["numReplicas"] = draw(st.integers(1, 4))
    elif draw(st.booleans()):
        low = draw(st.integers(0, 2))
        options["autoscaling"] = {"minReplicas": low, "maxReplicas": draw(st.integers(max(low, 1), 8)),
                                  "targetOngoingRequests": draw(st.floats(0.5, 64))}
    if draw(st.booleans()):
        options["maxOngoingRequests"] = draw(st.integers(1, 256))
    if draw(st.booleans()):
        options["rayActorOptions"] = {"numCpus": draw(st.sampled_from([0.25, 0.5, 1, 2]))}
    if draw(st.booleans()):
        options["placementGroupBundles"] = [{"CPU": 1}] * draw(st.integers(1, 3))
        options["placementGroupStrategy"] = draw(st.sampled_from(["PACK", "STRICT_PACK", "SPREAD"]))
    return options


@st.composite
def application(draw: st.DrawFn, index: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["hello", "llm", "vllm", "pipeline", "classifier", "ab", "custom"]))
    app: dict[str, Any] = {"name": f"app{index}", "type": kind, "routePrefix": f"/r{index}"}
    if kind == "hello":
        app["deployments"] = {"Hello": draw(deployment_options())}
    elif kind == "llm":
        app.update(model={"id": "m"}, tensorParallelSize=draw(st.integers(1, 4)),
                   placementStrategy=draw(st.sampled_from(["PACK", "STRICT_PACK"])))
    elif kind == "vllm":
        app.update(model="m", tensorParallelSize=draw(st.integers(1, 2)))
    elif kind == "pipeline":
        app["deployments"] = {"Summarizer": draw(deployment_options())}
    elif kind == "classifier":
        app.update(labels=["a", "b"], maxBatchSize=draw(st.integers(1, 64)))
    elif kind == "ab":
        app["variants"] = [{"name": "a", "weight": 1}, {"name": "b", "weight": draw(st.floats(0, 10))}]
    else:
        app.update(importPath="my.module:app", args={"k": draw(st.integers())},
                   deployments={"D": draw(deployment_options())})
    return app


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    groups = [draw(worker_group(f"g{i}")) for i in range(draw(st.integers(0, 3)))]
    spec: dict[str, Any] = {
        "name": draw(names),
        "workerGroups": groups,
        "serve": {"applications": [draw(application(i)) for i in range(draw(st.integers(1, 3)))]},
    }
    if draw(st.booleans()):
        spec["autoscaling"] = {"enabled": True, "upscalingMode": draw(st.sampled_from(["Default", "Aggressive"]))}
    if draw(st.booleans()):
        spec["namespace"] = draw(names)
    return spec


# ---- every option the chart ports: the Helm parity tests draw from these (rayctl must accept almost all of them)

tricky_text = st.sampled_from(["plain", "yes", "y", "on", "1", "0x1F", "1e3", "12:30", "~", " padded ", "a&b<c>",
                               "é ✓", "two\nlines", "#hash", "- dash", "it's", "null"])
# (no 8.0: a number whose text Helm writes differently, "8", is refused in a string map)
label_values = st.one_of(tricky_text.filter(lambda t: "\n" not in t), st.integers(0, 99), st.sampled_from([2.5, 0.75]))
# values Kubernetes takes as label values (and node selector values), YAML-1.1-ambiguous ones included; rayctl
# refuses the others (`~`, `it's`, `- dash`, ...) naming the field
_LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
valid_label_values = label_values.filter(lambda v: bool(_LABEL_VALUE.fullmatch(str(v))) and len(str(v)) <= 63)
cpu_amounts = st.sampled_from(["1", "2", "500m", "4", "16", 8, 2.5, "1.5", "250m", 3.0])
memory_amounts = st.sampled_from(["512Mi", "4Gi", "16Gi", "1Ti", 1073741824, "1G", "1.5Gi", "3000M", "800Mi"])


def _maybe(draw: st.DrawFn, strategy: st.SearchStrategy[Any]) -> Any:
    return draw(strategy) if draw(st.booleans()) else None


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = value


@st.composite
def tolerations(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(0, 2))):
        item: dict[str, Any] = {"key": draw(st.sampled_from(["nvidia.com/gpu", "pool", "dedicated", "accelerator"]))}
        item["operator"] = draw(st.sampled_from(["Exists", "Equal"]))
        if item["operator"] == "Equal":
            item["value"] = draw(st.sampled_from(["true", "llm", "a"]))
        _put(item, "effect", _maybe(draw, st.sampled_from(["NoSchedule", "NoExecute", "PreferNoSchedule"])))
        _put(item, "tolerationSeconds", _maybe(draw, st.integers(0, 600)))
        out.append(item)
    return out


@st.composite
def selectors(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(["pool", "nvidia.com/gpu.present", "cloud.google.com/gke-accelerator",
                                          "zone", "node.kubernetes.io/instance-type"]), max_size=3, unique=True))
    return {k: draw(valid_label_values) for k in keys}


@st.composite
def full_worker_group(draw: st.DrawFn, name: str, big: bool) -> dict[str, Any]:
    low = draw(st.integers(0, 2))
    replicas = draw(st.integers(max(low, 2 if big else 0), max(low, 2 if big else 0) + 2))
    group: dict[str, Any] = {"name": name, "replicas": replicas, "minReplicas": low}
    if draw(st.booleans()):
        group["maxReplicas"] = draw(st.integers(replicas, replicas + 3))
    if draw(st.integers(0, 4)) == 0:
        group["numOfHosts"] = 2
    group["cpu"] = "32" if big else draw(cpu_amounts)
    group["memory"] = "128Gi" if big else draw(memory_amounts)
    _put(group, "ephemeralStorage", _maybe(draw, st.sampled_from(["10Gi", 50000000000, "1T"])))
    if big:
        group.update(gpus=8, acceleratorType="A100", rayResources={"pool_a": 4})
    elif draw(st.booleans()):
        group["gpus"] = draw(st.integers(0, 4))
        if draw(st.booleans()):
            group["gpuResourceName"] = draw(st.sampled_from(["nvidia.com/gpu", "amd.com/gpu"]))
        _put(group, "acceleratorType", _maybe(draw, st.sampled_from(["L4", "H100"])))
    _put(group, "image", _maybe(draw, st.sampled_from(["example.com/ray:2.60.0-gpu", "rayproject/ray:2.60.0-py311"])))
    if not big and draw(st.booleans()):
        group["rayStartParams"] = draw(st.fixed_dictionaries({}, optional={
            "num-cpus": st.sampled_from(["8", 16, "4"]), "memory": st.sampled_from(["1000000000", 2147483648]),
            "metrics-export-port": st.just(8080)}))
    if draw(st.booleans()):
        amounts = st.sampled_from([1, 0.5, 2.0, 1234567.0, 1e-05, 0.25, 100000])
        extra = draw(st.dictionaries(st.sampled_from(["pool_b", "tiny", "huge"]), amounts, max_size=2))
        group["rayResources"] = group.get("rayResources", {}) | extra
    if draw(st.booleans()):
        group["nodeSelector"] = draw(selectors())
    if draw(st.booleans()):
        group["tolerations"] = draw(tolerations())
    if draw(st.booleans()):
        group["labels"] = {"team": draw(valid_label_values)}
    if draw(st.booleans()):
        group["annotations"] = {"note": draw(tricky_text)}
    _put(group, "idleTimeoutSeconds", _maybe(draw, st.integers(0, 900)))  # kept by full_specs only with v2
    _put(group, "drainSeconds", _maybe(draw, st.integers(0, 3600)))  # 0: no drain, no grace period written
    if group.get("rayResources") or group.get("acceleratorType"):
        # KubeRay refuses resource fields in both rayStartParams and `resources` (which these render into)
        for key in ("num-cpus", "num-gpus", "memory", "resources"):
            group.get("rayStartParams", {}).pop(key, None)
    return group


@st.composite
def full_deployment_options(draw: st.DrawFn, *, bundles: bool = True, per_node: bool = True,
                            auto: bool = True) -> dict[str, Any]:
    options: dict[str, Any] = {}
    choice = draw(st.sampled_from(["fixed", "auto", "autoscaling", "auto+autoscaling", "none"] if auto else
                                  ["fixed", "autoscaling", "none"]))
    if choice == "fixed":
        options["numReplicas"] = draw(st.integers(1, 3))
    if choice in ("auto", "auto+autoscaling"):
        options["numReplicas"] = "auto"
    if "autoscaling" in choice:
        low = draw(st.integers(0, 2))
        high = draw(st.integers(max(low, 1), 4))
        scaling: dict[str, Any] = {"minReplicas": low, "maxReplicas": high}
        _put(scaling, "initialReplicas", _maybe(draw, st.integers(low, high)))
        for key in ("targetOngoingRequests", "metricsIntervalS", "lookBackPeriodS", "smoothingFactor",
                    "upscaleSmoothingFactor", "downscaleSmoothingFactor", "upscalingFactor", "downscalingFactor"):
            if draw(st.integers(0, 3)) == 0:
                scaling[key] = draw(st.sampled_from([0.5, 1, 2.0, 10, 0.1, 30.25]))
        for key in ("upscaleDelayS", "downscaleDelayS", "downscaleToZeroDelayS"):
            if draw(st.integers(0, 3)) == 0:
                scaling[key] = draw(st.sampled_from([0, 5, 30.5, 600]))
        _put(scaling, "aggregationFunction", _maybe(draw, st.sampled_from(["mean", "max", "min"])))
        options["autoscaling"] = scaling
    _put(options, "maxOngoingRequests", _maybe(draw, st.integers(1, 256)))
    _put(options, "maxQueuedRequests", _maybe(draw, st.sampled_from([-1, 0, 100, 1000])))
    if draw(st.booleans()):
        actor: dict[str, Any] = {}
        _put(actor, "numCpus", _maybe(draw, st.sampled_from([0, 0.25, 0.5, 1])))
        if choice not in ("auto", "auto+autoscaling"):  # "auto" may mean 100 replicas: no GPU per replica then
            _put(actor, "numGpus", _maybe(draw, st.sampled_from([0, 0.5, 1])))
        _put(actor, "memory", _maybe(draw, st.sampled_from(["1Gi", "512Mi", 100000000, "1.5G"])))
        if draw(st.booleans()):
            actor["resources"] = {"pool_a": draw(st.sampled_from([0.001, 0.5]))}
        _put(actor, "acceleratorType", _maybe(draw, st.just("A100")))
        _put(actor, "runtimeEnv", _maybe(draw, st.just({"env_vars": {"MODE": "fast", "N": "2"}})))
        options["rayActorOptions"] = actor
    if bundles and draw(st.booleans()):
        gpu = choice not in ("auto", "auto+autoscaling")
        options["placementGroupBundles"] = draw(st.lists(
            st.sampled_from([{"CPU": 1}, {"CPU": 2}, {"CPU": 1, "GPU": 1}, {"GPU": 1}, {"CPU": 0.5, "pool_a": 1}]
                            if gpu else [{"CPU": 1}, {"CPU": 2}, {"CPU": 0.5, "pool_a": 1}]),
            min_size=1, max_size=3))
        # bundle 0 holds the replica actor, so it covers any actor ask drawn above
        first = {"CPU": 2, "pool_a": 1, "memory": 2147483648}
        options["placementGroupBundles"][0] = first | ({"GPU": 1} if gpu else {})
        _put(options, "placementGroupStrategy", _maybe(draw, st.sampled_from(["PACK", "SPREAD", "STRICT_PACK"])))
    elif per_node and draw(st.booleans()):
        options["maxReplicasPerNode"] = draw(st.integers(1, 4))
    for key in ("healthCheckPeriodS", "healthCheckTimeoutS", "gracefulShutdownWaitLoopS"):
        if draw(st.integers(0, 3)) == 0:
            options[key] = draw(st.sampled_from([1, 2.5, 30]))
    _put(options, "gracefulShutdownTimeoutS", _maybe(draw, st.sampled_from([0, 5, 20.5])))
    _put(options, "userConfig", _maybe(draw, st.sampled_from([{"threshold": 0.5}, {"mode": "y", "n": [1, 2]}])))
    return options


def _deployments(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True)) if names else []
    return {n: draw(full_deployment_options()) for n in chosen}


@st.composite
def full_application(draw: st.DrawFn, index: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["hello", "llm", "vllm", "pipeline", "classifier", "ab", "custom"]))
    app: dict[str, Any] = {"name": f"app{index}", "type": kind}
    route = draw(st.sampled_from([None, f"/r{index}", f"/v1/r{index}", "/" if index == 0 else None]))
    _put(app, "routePrefix", route)
    if draw(st.integers(0, 3)) == 0:
        app["runtimeEnv"] = {"env_vars": {"APP": str(index)}, "pip": ["requests==2.32.3"]}
    if kind != "custom" and draw(st.booleans()):
        app["device"] = draw(st.sampled_from(["auto", "gpu", "cpu"]))
    if kind == "hello":
        _put(app, "message", _maybe(draw, tricky_text))
        app["deployments"] = _deployments(draw, ["Hello"])
    elif kind == "llm":
        model: dict[str, Any] = {"id": draw(st.sampled_from(["meta-llama/Llama-3.1-8B-Instruct", " Qwen/Qwen2.5 "]))}
        _put(model, "source", _maybe(draw, st.sampled_from(["s3://bucket/llama", "/models/llama"])))
        _put(model, "tokenizerSource", _maybe(draw, st.just("meta-llama/Llama-3.1-8B")))
        app["model"] = model
        _put(app, "acceleratorType", _maybe(draw, st.just("A100")))
        app["tensorParallelSize"] = draw(st.integers(1, 4))
        if draw(st.booleans()):
            app["pipelineParallelSize"] = draw(st.integers(1, 2))
        _put(app, "maxModelLen", _maybe(draw, st.sampled_from([256, 4096, 16384])))
        if draw(st.booleans()):
            app["engineKwargs"] = draw(st.fixed_dictionaries({}, optional={
                "gpu_memory_utilization": st.just(0.9), "quantization": st.just("fp8"),
                "enable_prefix_caching": st.booleans(), "dtype": st.just("bfloat16")}))
        _put(app, "placementStrategy", _maybe(draw, st.sampled_from(["PACK", "STRICT_PACK", "SPREAD"])))
        _put(app, "bundleCpus", _maybe(draw, st.sampled_from([1, 2, 0.5])))
        _put(app, "bundleGpus", _maybe(draw, st.sampled_from([1, 0.5, 0])))
        if draw(st.booleans()):
            app["deployment"] = draw(full_deployment_options(bundles=False, per_node=False))
        _put(app, "hfTokenEnv", _maybe(draw, st.sampled_from(["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"])))
        _put(app, "cpuModel", _maybe(draw, st.just("/models/tiny")))
        if draw(st.booleans()):
            app["deployments"] = {}  # an llm app has none (its options go under `deployment`)
    elif kind == "vllm":
        app["model"] = draw(st.sampled_from(["Qwen/Qwen2.5-0.5B-Instruct", "/models/m"]))
        _put(app, "servedModelName", _maybe(draw, st.just("qwen")))
        _put(app, "tensorParallelSize", _maybe(draw, st.integers(1, 4)))
        if draw(st.booleans()):
            app["engineKwargs"] = draw(st.fixed_dictionaries({}, optional={
                "max_model_len": st.sampled_from([2048, 300]), "gpu_memory_utilization": st.just(0.85),
                "kv_cache_dtype": st.just("fp8"), "enforce_eager": st.booleans()}))
        _put(app, "maxTokensLimit", _maybe(draw, st.integers(1, 4096)))
        _put(app, "maxPromptChars", _maybe(draw, st.integers(1, 100000)))
        _put(app, "hfTokenEnv", _maybe(draw, st.sampled_from(["HF_TOKEN", "MY_TOKEN"])))
        _put(app, "cpuModel", _maybe(draw, st.just("/models/tiny")))
        app["deployments"] = {"VLLMDeployment": draw(full_deployment_options(bundles=False, per_node=False,
                                                                             auto=False))} \
            if draw(st.booleans()) else {}
    elif kind == "pipeline":
        for key in ("sentimentModel", "summaryModel", "tokenizer"):
            _put(app, key, _maybe(draw, st.just(f"org/{key.lower()}")))
        _put(app, "maxInputTokens", _maybe(draw, st.integers(1, 1024)))
        _put(app, "minWordsForSummary", _maybe(draw, st.integers(1, 100)))
        _put(app, "summarySentences", _maybe(draw, st.integers(1, 5)))
        app["deployments"] = _deployments(draw, ["Preprocessor", "SentimentAnalyzer", "Summarizer",
                                                 "PipelineIngress"])
    elif kind == "classifier":
        _put(app, "model", _maybe(draw, st.just("/models/minilm")))
        app["labels"] = draw(st.lists(st.sampled_from(["billing", "tech", "yes", "no", "other"]), min_size=2,
                                      max_size=4, unique=True))
        _put(app, "maxBatchSize", _maybe(draw, st.integers(1, 64)))
        _put(app, "batchWaitTimeoutS", _maybe(draw, st.sampled_from([0, 0.01, 0.5, 1])))
        app["deployments"] = _deployments(draw, ["BatchClassifier"])
    elif kind == "ab":
        variants = draw(st.lists(st.sampled_from(["control", "candidate", "b", "v_2"]), min_size=2, max_size=3,
                                 unique=True))
        app["variants"] = [{"name": v, "weight": draw(st.sampled_from([0, 1, 10, 90, 0.5]))} for v in variants]
        app["variants"][0]["weight"] = 50
        for variant in app["variants"]:
            _put(variant, "message", _maybe(draw, tricky_text))
        _put(app, "stickyHeader", _maybe(draw, st.just("x-session")))
        _put(app, "variantHeader", _maybe(draw, st.just("x-arm")))
        app["deployments"] = _deployments(draw, ["ABRouter"] + [f"Variant_{v}" for v in variants])
    else:
        app["importPath"] = draw(st.sampled_from(["my.module:app", "pkg.serve.build:builder"]))
        if draw(st.booleans()):
            app["args"] = draw(st.dictionaries(st.sampled_from(["k", "on", "ratio", "items", "nested"]), st.one_of(
                st.integers(-5, 10**12), st.sampled_from([0.1, 2.0, 1e-7, 3.5e16]), tricky_text, st.booleans(),
                st.just([1, "two", None]), st.just({"deep": {"x": 1}})), max_size=3))
        app["deployments"] = {n: draw(full_deployment_options()) for n in
                              draw(st.lists(st.sampled_from(["D", "Ingress"]), max_size=2, unique=True))}
    return app


durations = st.sampled_from(["30s", "5m", "1h30m", "90s", "2h", "500ms"])
ALERT_NAMES = ["RayServeApplicationDeployFailed", "RayServeHighErrorRatio", "RayServeLLMHighTTFT",
               "RayServeMetricsAbsent", "RayServiceNotReady", "RayServeQueueBacklog"]
DURATION_KEYS = ["deployFailed", "appNotRunning", "deploymentUnhealthy", "errorRatio", "p99Latency",
                 "replicasBelowTarget", "autoscalerAtMax", "queueBacklog", "proxyUnhealthy", "kvCache", "ttft",
                 "preemptions", "metricsAbsent", "targetDown", "rayServiceNotReady", "upgradeInProgress"]


@st.composite
def monitoring(draw: st.DrawFn, high_throughput: bool) -> dict[str, Any]:
    """The spec's `monitoring:` section, every part and option present or not (dashboards seldom: they are big)."""
    ports = ["metrics", "as-metrics", "dash-metrics"] + (["haproxy-metrics"] if high_throughput else [])
    out: dict[str, Any] = {}
    for part in ("podMonitor", "scrapeConfig"):
        if draw(st.booleans()):
            scrape: dict[str, Any] = {}
            _put(scrape, "enabled", _maybe(draw, st.booleans()))
            _put(scrape, "interval", _maybe(draw, durations))
            _put(scrape, "scrapeTimeout", _maybe(draw, durations))
            _put(scrape, "ports", _maybe(draw, st.lists(st.sampled_from(ports), min_size=1, unique=True)))
            if part == "podMonitor" and draw(st.booleans()):
                scrape["labels"] = {"release": draw(st.sampled_from(["kube-prometheus-stack", "prom"]))}
            if part == "scrapeConfig":
                _put(scrape, "jobName", _maybe(draw, st.sampled_from(
                    ["ray", "my job", "team/ray: serve", "it's", "yes", "2024-01-01", "-x", "a #b", "007"])))
            out[part] = scrape
    if draw(st.integers(0, 4)) == 0:
        boards: dict[str, Any] = {}
        _put(boards, "enabled", _maybe(draw, st.booleans()))
        _put(boards, "include", _maybe(draw, st.lists(st.sampled_from(["overview", "serve", "serve-deployment",
                                                                       "serve-llm"]), min_size=1, max_size=2)))
        if draw(st.booleans()):
            boards["labels"] = {"grafana_dashboard": draw(st.sampled_from(["1", 1]))}
        _put(boards, "folder", _maybe(draw, st.sampled_from(["Ray", None, "LLM serving"])))
        _put(boards, "folderAnnotation", _maybe(draw, st.just("k8s-sidecar-target-directory")))
        out["dashboards"] = boards
    if draw(st.booleans()):
        alerts: dict[str, Any] = {}
        _put(alerts, "enabled", _maybe(draw, st.booleans()))
        _put(alerts, "p99LatencyMs", _maybe(draw, st.sampled_from([2000, 150.5, 1e5, 0.25])))
        _put(alerts, "errorRatio", _maybe(draw, st.sampled_from([0.05, 0.125, 1, 0.001, 0.33])))
        _put(alerts, "queueBacklog", _maybe(draw, st.sampled_from([1, 100, 2500])))
        _put(alerts, "kvCacheUsage", _maybe(draw, st.sampled_from([0.95, 0.8, 0.999])))
        _put(alerts, "ttftP95Ms", _maybe(draw, st.sampled_from([1500, 2000.0, 333.3])))
        _put(alerts, "preemptionsPerSecond", _maybe(draw, st.sampled_from([0.1, 2, 1234567.0])))
        _put(alerts, "rateWindow", _maybe(draw, st.sampled_from(["5m", "1m", "30s"])))
        if draw(st.booleans()):
            # a run of keys from a drawn start, not st.dictionaries or st.permutations: derandomized, those keep
            # to the first keys, and every key must show up in some accepted spec
            start, count = draw(st.integers(0, len(DURATION_KEYS) - 1)), draw(st.integers(1, len(DURATION_KEYS)))
            keys = [DURATION_KEYS[(start + i) % len(DURATION_KEYS)] for i in range(count)]
            if draw(st.integers(0, 3)) == 0:
                keys = DURATION_KEYS  # derandomized runs keep to short ones: every key, now and then
            alerts["for"] = {key: draw(durations) for key in keys}
        if draw(st.booleans()):
            alerts["labels"] = draw(st.dictionaries(st.sampled_from(["team", "severity"]),
                                                    st.sampled_from(["ml", "page"]), max_size=2))
        if draw(st.booleans()):
            alerts["severity"] = draw(st.dictionaries(st.sampled_from(ALERT_NAMES), st.sampled_from(["info", "page"]),
                                                      max_size=2))
        _put(alerts, "disabled", _maybe(draw, st.lists(st.sampled_from(ALERT_NAMES), max_size=3, unique=True)))
        if draw(st.booleans()):
            alerts["prometheusRuleLabels"] = {"release": "kube-prometheus-stack"}
        out["alerts"] = alerts
    return out


@st.composite
def full_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A spec that uses (nearly) every field the chart ports, each one present or not."""
    groups = [draw(full_worker_group("big", True))]
    groups += [draw(full_worker_group(f"g{i}", False)) for i in range(draw(st.integers(0, 2)))]
    apps = [draw(full_application(i)) for i in range(draw(st.integers(1, 3)))]
    spec: dict[str, Any] = {"name": draw(names), "workerGroups": groups, "serve": {"applications": apps}}
    _put(spec, "namespace", _maybe(draw, names))
    if draw(st.booleans()):
        spec["labels"] = draw(st.dictionaries(st.sampled_from(["team", "tier", "app.kubernetes.io/part-of"]),
                                              valid_label_values, max_size=2))
    if draw(st.booleans()):
        spec["annotations"] = {"owner": draw(tricky_text)}
    ray: dict[str, Any] = {}
    _put(ray, "version", _maybe(draw, st.sampled_from(["2.60.0", "2.58.1"])))
    _put(ray, "image", _maybe(draw, st.just("example.com/rayctl-apps:2.60.0")))
    _put(ray, "gpuImage", _maybe(draw, st.just("example.com/rayctl-apps:2.60.0-gpu")))
    _put(ray, "imagePullPolicy", _maybe(draw, st.sampled_from(["Always", "IfNotPresent", "Never"])))
    if draw(st.booleans()):
        ray["imagePullSecrets"] = ["regcred"]
    if draw(st.booleans()):
        ray["env"] = draw(st.dictionaries(st.sampled_from(["A", "LOG_LEVEL", "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING"]),
                                          st.sampled_from(["1", "0", "debug", 3, "yes"]), max_size=2))
        if ray["env"].get("RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING") not in (None, "0"):
            ray["env"]["RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING"] = "0"
        if draw(st.booleans()):
            ray["env"]["TEST_TOKEN"] = "not-a-real-token-1234"  # looks like a secret: written only when allowed
            spec["allowInlineSecrets"] = ["ray.env.TEST_TOKEN"]
    if draw(st.booleans()):
        ray["secretEnv"] = [{"name": "HF_TOKEN", "secretName": "hf-token", "key": "token",
                             **({"optional": True} if draw(st.booleans()) else {})}]
    _put(ray, "serviceAccountName", _maybe(draw, st.just("ray-sa")))
    if ray:
        spec["ray"] = ray
    if draw(st.booleans()):
        head: dict[str, Any] = {"cpu": draw(cpu_amounts), "memory": draw(memory_amounts)}
        _put(head, "image", _maybe(draw, st.just("example.com/head:2.60.0")))
        if draw(st.booleans()):
            head["rayStartParams"] = {"num-cpus": draw(st.sampled_from(["0", 1])), "block": "true"}
        if draw(st.booleans()):
            head["nodeSelector"] = draw(selectors())
        if draw(st.booleans()):
            head["tolerations"] = draw(tolerations())
        if draw(st.booleans()):
            head["labels"] = {"role": "head"}
        if draw(st.booleans()):
            head["annotations"] = {"note": draw(tricky_text)}
        _put(head, "serviceType", _maybe(draw, st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer"])))
        spec["head"] = head
    if draw(st.booleans()):
        auto: dict[str, Any] = {"enabled": draw(st.booleans())}
        _put(auto, "upscalingMode", _maybe(draw, st.sampled_from(["Default", "Conservative", "Aggressive"])))
        _put(auto, "idleTimeoutSeconds", _maybe(draw, st.integers(0, 900)))
        _put(auto, "version", _maybe(draw, st.sampled_from(["v1", "v2"])))
        _put(auto, "cpu", _maybe(draw, cpu_amounts))
        _put(auto, "memory", _maybe(draw, memory_amounts))
        spec["autoscaling"] = auto
    strategy = draw(st.sampled_from([None, "NewCluster", "None", "NewClusterWithIncrementalUpgrade"]))
    if strategy == "NewClusterWithIncrementalUpgrade":
        surge = draw(st.integers(0, 100))
        spec["upgradeStrategy"] = {"type": strategy, "clusterUpgradeOptions": {
            "gatewayClassName": "istio", "maxSurgePercent": surge,
            **({"stepSizePercent": min(20, surge), "intervalSeconds": 60} if draw(st.booleans()) else {})}}
        # the new cluster scales up step by step: KubeRay requires the Ray autoscaler for this strategy
        spec["autoscaling"] = spec.get("autoscaling", {}) | {"enabled": True}
    elif strategy is not None:
        spec["upgradeStrategy"] = {"type": strategy}
    if draw(st.integers(0, 3)) == 0:
        gcs: dict[str, Any] = {"redisAddress": "redis.ray:6379"}
        if draw(st.booleans()):
            gcs["redisPasswordSecret"] = {"name": "redis", "key": "password"}
        _put(gcs, "externalStorageNamespace", _maybe(draw, st.just("llm-prod")))
        spec["gcsFaultTolerance"] = gcs
    serve = spec["serve"]
    _put(serve, "proxyLocation", _maybe(draw, st.sampled_from(["EveryNode", "HeadOnly"])))
    _put(serve, "httpPort", _maybe(draw, st.sampled_from([8000, 8100])))  # 8080: Ray's metrics port
    _put(serve, "requestTimeoutS", _maybe(draw, st.sampled_from([30, 0.5, 120.0])))
    _put(serve, "keepAliveTimeoutS", _maybe(draw, st.sampled_from([0, 5, 60])))
    _put(serve, "highThroughput", _maybe(draw, st.booleans()))
    _put(serve, "excludeHeadFromServeService", _maybe(draw, st.booleans()))
    if draw(st.integers(0, 2)) == 0:
        ingress: dict[str, Any] = {}
        _put(ingress, "className", _maybe(draw, st.just("nginx")))
        _put(ingress, "host", _maybe(draw, st.sampled_from(["llm.example.com", "*.example.com"])))
        _put(ingress, "path", _maybe(draw, st.sampled_from(["/", "/api"])))
        _put(ingress, "pathType", _maybe(draw, st.sampled_from(["Prefix", "Exact", "ImplementationSpecific"])))
        _put(ingress, "tlsSecretName", _maybe(draw, st.just("tls-cert")))
        if draw(st.booleans()):
            ingress["annotations"] = {"nginx.ingress.kubernetes.io/proxy-read-timeout": draw(label_values)}
        spec["expose"] = {"ingress": ingress}
    if draw(st.integers(0, 2)) == 0:
        spec["monitoring"] = draw(monitoring(bool(serve.get("highThroughput"))))
    autoscaler = spec.get("autoscaling", {})
    if not (autoscaler.get("enabled") and autoscaler.get("version") == "v2"):
        for group in groups:  # KubeRay: a per-group idleTimeoutSeconds needs autoscaler v2
            group.pop("idleTimeoutSeconds", None)
    _put(spec, "profile", _maybe(draw, st.sampled_from(["cpu", "gpu"])))
    pods = 2 + sum(g["replicas"] * g.get("numOfHosts", 1) for g in groups)
    if draw(st.booleans()) or spec.get("profile") == "cpu":
        settings: dict[str, Any] = {"budget": {"cpu": f"{pods * draw(st.sampled_from([250, 400, 1000]))}m",
                                               "memory": draw(st.sampled_from([f"{pods * 2}Gi", pods * 2**31,
                                                                               f"{pods * 1600}Mi"]))}}
        _put(settings, "image", _maybe(draw, st.just("rayctl-cpu:2.60.0")))
        _put(settings, "minPodCpu", _maybe(draw, st.sampled_from(["200m", "100m", 0.2])))
        _put(settings, "minPodMemory", _maybe(draw, st.sampled_from(["1536Mi", "1Gi"])))
        _put(settings, "maxPodCpu", _maybe(draw, st.sampled_from(["1", "700m", "3", 1.5])))
        _put(settings, "maxPodMemory", _maybe(draw, st.sampled_from(["4Gi", "2Gi", 3 * 2**30])))
        _put(settings, "maxModelLen", _maybe(draw, st.sampled_from([512, 1024, 16])))
        spec["cpuProfile"] = settings
    return spec
