"""Monitoring against a live Ray: every dashboard query and every alert, through a real Prometheus.

A local Ray (rayctl's `LocalServe`, as `rayctl run` starts it, with Ray's metrics export port fixed) runs the
pipeline, classifier and LLM examples exactly as `rayctl render --profile cpu` embeds them (the LLM on the tiny
random Llama, with a KV cache small enough to preempt), plus `tests/monitoring/faulty_app.py`. A real Prometheus
scrapes Ray's metrics agent and autoscaler on 127.0.0.1 through rayctl's own scrape config: its Kubernetes
discovery is replaced by static targets carrying the meta labels discovery would set for the RayService's head pod
(`pod_selector_labels` plus KubeRay's pod labels), so the relabelling under test is the one users get. Rules are
rayctl's PrometheusRule with low thresholds and `for: 0s`.

Under a bounded load: each panel of every dashboard must return data (the short, explicit lists below say which
cannot here, and why); then induced failures (an app whose deployment cannot start, a killed replica whose
replacement starts slowly, 5xx answers, slow requests, a KV cache too small, a metrics port nobody serves, an app
the spec names but the cluster lacks) must turn the matching alerts pending/firing, for the right apps only; the
alerts nothing induces must be evaluated and silent. Last, Ray is stopped and the "cluster gone" alerts must fire.
Ray and Prometheus are stopped even when a test fails.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rayctl.localrun import free_port
from rayctl.monitoring.alerts import alert_rules
from rayctl.monitoring.dashboards import DASHBOARD_DIR
from rayctl.monitoring.scrape import meta_label, pod_selector_labels, scrape_config
from rayctl.spec.monitoring import AlertSettings, ScrapeConfigSettings
from tests.conftest import EXAMPLES, skip_or_fail
from tests.monitoring.prometheus import Prometheus, running_prometheus
from tests.monitoring.test_promtool import GRAFANA_VARIABLES
from tests.monitoring.tools import PromTools, dashboard_panels

NAME, NS = "text-ml", "ml"
CLUSTER = f"{NAME}-raycluster-live1"
SCRAPE_S = 10  # Ray's metrics agent exports every 10 s; its 1-2 MB answer can take seconds on a busy machine
EVAL_S = 5
GHOST_APP = "ghost"  # in the spec's app list, never deployed: RayServeMetricsAbsent must name it
RESTART_DELAY_S = 75.0  # how long the killed replica's replacement takes to start

RULE_SETTINGS = {
    "p99LatencyMs": 500, "errorRatio": 0.05, "queueBacklog": 3, "kvCacheUsage": 0.5, "ttftP95Ms": 50,
    "preemptionsPerSecond": 0.01, "rateWindow": "1m",
    "for": {
        **{k: "0s" for k in (
            "deployFailed", "appNotRunning", "deploymentUnhealthy", "errorRatio", "p99Latency", "replicasBelowTarget",
            "autoscalerAtMax", "queueBacklog", "proxyUnhealthy", "kvCache", "ttft", "preemptions",
            "rayServiceNotReady", "upgradeInProgress")},
        # One slow scrape must not count as a dead cluster: as in production (5m, 10m), these need a few scrapes.
        "metricsAbsent": "35s", "targetDown": "35s",
    },
}

# What each induced failure must raise: alert -> (label, the values it must reach; None: just fire).
INDUCED: dict[str, tuple[str, set[str] | None]] = {
    "RayServeApplicationDeployFailed": ("application", {"broken"}),
    "RayServeApplicationNotRunning": ("application", {"broken"}),
    "RayServeDeploymentUnhealthy": ("application", {"broken"}),
    "RayServeHighErrorRatio": ("application", {"faulty"}),
    "RayServeHighP99Latency": ("application", {"faulty"}),
    "RayServeReplicasBelowTarget": ("application", {"fragile", "broken"}),
    "RayServeAutoscalerAtMax": ("application", {"faulty"}),
    "RayServeQueueBacklog": ("application", {"faulty"}),
    "RayServeLLMKVCacheNearFull": ("model_name", {"tiny"}),
    "RayServeLLMHighTTFT": ("model_name", {"tiny"}),
    "RayServeLLMPreemptions": ("model_name", {"tiny"}),
    "RayServeMetricsAbsent": ("application", {GHOST_APP}),
    "RayMetricsTargetDown": ("endpoint", {"dash-metrics"}),
}
# ... and the apps each of them must leave alone (healthy ones).
MUST_NOT_NAME: dict[str, set[str]] = {
    "RayServeApplicationDeployFailed": {"pipeline", "classify", "chat", "faulty", "fragile"},
    "RayServeHighErrorRatio": {"pipeline", "classify", "chat", "fragile"},
    "RayServeQueueBacklog": {"pipeline", "classify", "chat"},
    "RayServeAutoscalerAtMax": {"chat"},
    "RayServeMetricsAbsent": {"pipeline", "classify", "chat", "faulty", "fragile"},
    "RayMetricsTargetDown": {"metrics", "as-metrics"},
}
NOT_INDUCIBLE_HERE = {
    "RayServeProxyUnhealthy": "needs a live proxy failing 3 health checks in a row; nothing here makes one (a "
                              "killed proxy is replaced, and its gauge series with it: not attempted)",
    "RayServiceNotReady": "KubeRay operator metrics (Kubernetes only)",
    "RayServiceUpgradeTooLong": "KubeRay operator metrics (Kubernetes only)",
}

# Panels that cannot have data on a CPU-only local Ray without the KubeRay operator, by (dashboard, title).
EMPTY_HERE: dict[tuple[str, str], str] = {
    ("overview", "GPU utilisation"): "no GPU",
    ("overview", "RayService conditions (KubeRay)"): "KubeRay operator metrics (Kubernetes only)",
}


@dataclass
class Live:
    prometheus: Prometheus
    local: Any
    base_url: str
    apps: list[dict[str, Any]]
    metrics_port: int
    autoscaler_port: int
    timings: dict[str, float] = field(default_factory=dict)


def _require_serve_stack() -> None:
    for module in ("ray", "ray.serve", "vllm"):
        try:
            importlib.import_module(module)
        except Exception as exc:
            skip_or_fail(f"live monitoring test needs {module}: {type(exc).__name__}: {exc} "
                         "(run hack/install-serve-deps.sh)")


def start_local_ray(local: Any, attempts: int = 2) -> None:
    """`local.start()`, once more if Ray's node startup times out: Ray allows its raylet a fixed 30 s to register
    (ray/_private/node.py), which a saturated 2-core CI machine can exceed."""
    import ray

    for attempt in range(1, attempts + 1):
        try:
            local.start()
            return
        except Exception as exc:
            if "timed out during startup" not in str(exc) or attempt == attempts:
                raise
            print(f"\nRay's node startup timed out (attempt {attempt}); retrying once")
            if ray.is_initialized():
                ray.shutdown()
            time.sleep(5)


def _serve_apps(tiny_model: Path, state_dir: Path) -> list[dict[str, Any]]:
    """The examples' applications as `rayctl run --profile cpu` deploys them, each under its own route."""
    from rayctl.workflow.local import target_from_spec

    apps = []
    for example in ("pipeline", "classifier", "llama-8b"):
        target = target_from_spec(EXAMPLES / f"{example}.yaml", profile="cpu")
        for app in target.serve_config["applications"]:
            app["route_prefix"] = f"/{app['name']}"
            apps.append(app)
    llm = next(a for a in apps if a["name"] == "chat")
    (config,) = llm["args"]["llm_configs"]
    config["model_loading_config"] = {"model_id": "tiny", "model_source": str(tiny_model)}
    # A KV cache of 8 blocks x 32 tokens for 8 concurrent 120-token requests: it fills up and preempts.
    config["engine_kwargs"] = {"max_model_len": 192, "enforce_eager": True, "max_num_seqs": 8, "block_size": 32,
                               "num_gpu_blocks_override": 8, "dtype": "float32"}
    config["deployment_config"]["autoscaling_config"].update(min_replicas=1, max_replicas=1)
    small = {"num_cpus": 0.1}
    apps += [
        {"name": "faulty", "route_prefix": "/faulty", "import_path": "tests.monitoring.faulty_app:app_builder",
         "deployments": [{"name": "Faulty", "max_ongoing_requests": 1, "ray_actor_options": small,
                          "autoscaling_config": {"min_replicas": 1, "max_replicas": 1, "target_ongoing_requests": 1,
                                                 "upscale_delay_s": 0}}]},
        {"name": "fragile", "route_prefix": "/fragile", "import_path": "tests.monitoring.faulty_app:app_builder",
         "args": {"restart_delay_s": RESTART_DELAY_S, "state_dir": str(state_dir)},
         "deployments": [{"name": "Faulty", "num_replicas": 1, "ray_actor_options": small}]},
    ]
    return apps


BROKEN_APP = {"name": "broken", "route_prefix": "/broken", "import_path": "tests.monitoring.faulty_app:broken_builder",
              "deployments": [{"name": "Broken", "ray_actor_options": {"num_cpus": 0.1}}]}


def _pod_meta(port_name: str, container: str = "ray-head", rayservice: str = NAME) -> dict[str, str]:
    """The labels Prometheus' Kubernetes pod discovery would attach to this head pod's port."""
    pod_labels = {**pod_selector_labels(NAME), "ray.io/cluster": CLUSTER, "ray.io/node-type": "head",
                  "ray.io/group": "headgroup", "ray.io/is-ray-node": "yes"}
    pod_labels["ray.io/originated-from-cr-name"] = rayservice
    return {
        **{meta_label(k): v for k, v in pod_labels.items()},
        "__meta_kubernetes_namespace": NS,
        "__meta_kubernetes_pod_name": f"{CLUSTER}-head-x7k2p",
        "__meta_kubernetes_pod_container_name": container,
        "__meta_kubernetes_pod_container_port_name": port_name,
        "__meta_kubernetes_pod_phase": "Running",
    }


def _prometheus_config(metrics_port: int, autoscaler_port: int, dead_port: int,
                       ports: tuple[str, ...] = ("metrics", "as-metrics", "dash-metrics")) -> dict[str, Any]:
    job = scrape_config(NAME, NS, ScrapeConfigSettings.model_validate(
        {"interval": f"{SCRAPE_S}s", "scrapeTimeout": f"{SCRAPE_S}s", "ports": list(ports)}))
    job.pop("kubernetes_sd_configs")
    job["static_configs"] = [
        {"targets": [f"127.0.0.1:{metrics_port}"], "labels": _pod_meta("metrics")},
        {"targets": [f"127.0.0.1:{autoscaler_port}"], "labels": _pod_meta("as-metrics", container="autoscaler")},
        {"targets": [f"127.0.0.1:{dead_port}"], "labels": _pod_meta("dash-metrics")},  # no dashboard runs here
        # Another RayService's pod: the scrape config must drop it.
        {"targets": [f"127.0.0.1:{metrics_port}"], "labels": _pod_meta("metrics", rayservice="someone-else")},
    ]
    return {"global": {"scrape_interval": f"{SCRAPE_S}s", "evaluation_interval": f"{EVAL_S}s"},
            "scrape_configs": [job]}


@pytest.fixture(scope="module")
def live(prom_tools: PromTools, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    _require_serve_stack()
    from rayctl.tiny_model import ensure_tiny_model

    for key, value in {"RAY_AUTH_MODE": "disabled", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                       "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_NO_USAGE_STATS": "1", "RAY_USAGE_STATS_ENABLED": "0",
                       "TOKENIZERS_PARALLELISM": "false", "DO_NOT_TRACK": "1"}.items():
        os.environ.setdefault(key, value)
    t0 = time.monotonic()
    tiny = ensure_tiny_model()
    workdir = tmp_path_factory.mktemp("live-monitoring")
    metrics_port, autoscaler_port, dead_port = free_port(), free_port(), free_port()
    os.environ["AUTOSCALER_METRIC_PORT"] = str(autoscaler_port)  # Ray's fixed 44217 may be taken on a shared host
    apps = _serve_apps(tiny, workdir / "fragile-state")
    app_names = [a["name"] for a in apps] + ["broken", GHOST_APP]
    rules = {"groups": alert_rules(NAME, NS, AlertSettings.model_validate(RULE_SETTINGS), app_names, True)}

    import ray

    from rayctl.localrun import LocalServe

    if ray.is_initialized():
        ray.shutdown()
    with contextlib.ExitStack() as stack:
        prometheus = stack.enter_context(running_prometheus(
            prom_tools.prometheus, _prometheus_config(metrics_port, autoscaler_port, dead_port), workdir / "prom",
            {"rayctl-rules.yaml": rules}))
        local = LocalServe(metrics_export_port=metrics_port, num_cpus=10)
        # Only while this process' Ray runs: Serve's shutdown without one would go looking for any cluster.
        stack.callback(lambda: local.shutdown() if ray.is_initialized() else None)
        start_local_ray(local)
        timings = {"ray_start_s": time.monotonic() - t0}
        local.deploy({"applications": apps})
        local.wait_ready([a["name"] for a in apps], timeout_s=float(os.environ.get("RAYCTL_SERVE_DEPLOY_TIMEOUT_S",
                                                                                    "900")))
        timings["deployed_s"] = time.monotonic() - t0
        yield Live(prometheus, local, f"http://127.0.0.1:{local.port}", apps, metrics_port, autoscaler_port, timings)
        print("\nlive monitoring timings (s since start):", json.dumps({k: round(v, 1) for k, v in timings.items()}))


# ------------------------------------------------------------------------------------------------------ load


def _request(method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 60.0) -> int:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


@dataclass
class Load:
    counts: dict[str, dict[int, int]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def worker(self, key: str, send: Callable[[], int], pause_s: float, deadline: float) -> None:
        while not self.stop.is_set() and time.monotonic() < deadline:
            status = send()
            with self.lock:
                per = self.counts.setdefault(key, {})
                per[status] = per.get(status, 0) + 1
            self.stop.wait(pause_s)


# The same long prompt for every completion: its first KV blocks are shared, so vLLM's prefix cache gets hits.
CHAT_PROMPT = " ".join(["the ray serve model streams tokens to the cluster"] * 6)  # 73 tokens
PIPELINE_TEXT = ("Ray Serve scales model serving. Teams compose models into one application. Batching improves "
                 "throughput on accelerators. Some find the configuration large, but the documentation is good. ") * 3


@pytest.fixture(scope="module")
def load(live: Live) -> Iterator[Load]:
    """Traffic for every app until the module ends (hard cap 20 minutes)."""
    base = live.base_url
    deadline = time.monotonic() + 1200
    senders: list[tuple[str, Callable[[], int], float, int]] = [
        ("pipeline", lambda: _request("POST", f"{base}/pipeline/analyze", {"text": PIPELINE_TEXT}), 0.2, 2),
        ("classify", lambda: _request("POST", f"{base}/classify/classify",
                                      {"text": "I was charged twice this month, refund please"}), 0.05, 4),
        ("chat", lambda: _request("POST", f"{base}/chat/v1/completions",
                                  {"model": "tiny", "prompt": CHAT_PROMPT, "max_tokens": 100, "ignore_eos": True},
                                  timeout=120), 0.0, 8),
        ("faulty-slow", lambda: _request("GET", f"{base}/faulty/slow?s=1.5"), 0.0, 5),
        ("faulty-fail", lambda: _request("GET", f"{base}/faulty/fail"), 0.3, 1),
        ("fragile", lambda: _request("GET", f"{base}/fragile/", timeout=10), 0.5, 1),
    ]
    state = Load()
    for key, send, pause, copies in senders:
        for i in range(copies):
            thread = threading.Thread(target=state.worker, args=(key, send, pause, deadline), daemon=True,
                                      name=f"load-{key}-{i}")
            thread.start()
            state.threads.append(thread)
    try:
        yield state
    finally:
        state.stop.set()
        for thread in state.threads:
            thread.join(timeout=130)
        print("\nload: status counts per app:", json.dumps(state.counts, sort_keys=True))


def wait_for(what: str, check: Callable[[], bool], timeout_s: float, poll_s: float = SCRAPE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(poll_s)


# ------------------------------------------------------------------------------------------------------ tests


def test_scrape_config_relabels_and_filters(live: Live) -> None:
    def scraped() -> bool:
        return {t["labels"]["endpoint"]: t["health"] for t in live.prometheus.targets()["activeTargets"]} == {
            "metrics": "up", "as-metrics": "up", "dash-metrics": "down"}

    wait_for("metrics and as-metrics up, dash-metrics down", scraped, 120)
    targets = live.prometheus.targets()
    assert {t["discoveredLabels"][meta_label("ray.io/originated-from-cr-name")]
            for t in targets["droppedTargets"]} == {"someone-else"}
    for target in targets["activeTargets"]:
        labels = target["labels"]
        assert {k: labels[k] for k in ("rayservice", "ray_io_cluster", "namespace", "ray_io_node_type")} == {
            "rayservice": NAME, "ray_io_cluster": CLUSTER, "namespace": NS, "ray_io_node_type": "head"}
    series = live.prometheus.query(f'ray_serve_application_status{{rayservice="{NAME}",ray_io_cluster="{CLUSTER}"}}')
    assert {s["metric"]["application"] for s in series} >= {"pipeline", "classify", "chat", "faulty", "fragile"}


def _substitute(expr: str) -> str:
    import re

    values = {**GRAFANA_VARIABLES, "namespace": NS, "rayservice": NAME, "cluster": CLUSTER, "Cluster": CLUSTER}
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", lambda m: values.get(m.group(1) or m.group(2), ".*"), expr)


def _panels() -> list[tuple[str, str, list[tuple[str, str]]]]:
    out = []
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        for panel in dashboard_panels(json.loads(path.read_text())):
            if panel.get("targets"):
                out.append((path.stem, panel["title"], [(t["refId"], t["expr"]) for t in panel["targets"]]))
    return out


def _ray_dashboard_reason(stem: str, title: str) -> str | None:
    """Why a panel of Ray's own dashboards has no data here (None: it must have data)."""
    for (dashboard, prefix), reason in RAY_DASHBOARD_EMPTY_HERE.items():
        if stem == dashboard and title.startswith(prefix):
            return reason
    return None


RAY_DASHBOARD_EMPTY_HERE: dict[tuple[str, str], str] = {
    # (dashboard, panel title prefix) -> why it has no data on this local Ray
    ("serve", "Ongoing gRPC Requests"): "no gRPC ingress (grpc_options) in these apps",
    ("serve-deployment", "Multiplexed model"): "no model multiplexing in these apps",
    ("serve-deployment", "P99 latency of multiplexed"): "no model multiplexing in these apps",
    ("serve-llm", "NIXL:"): "no prefill/decode disaggregation (NIXL KV transfer)",
    ("serve-llm", "KV Offload:"): "no KV-cache offloading configured",
    ("serve-llm", "Scheduler: Swapped"): "vLLM V1 has no swapping: ray_vllm_num_requests_swapped is not exported by "
                                         "vLLM 0.32 (a stale panel of Ray's dashboard)",
}


def test_every_panel_returns_data(live: Live, load: Load) -> None:
    t0 = time.monotonic()
    warm = [  # the slowest series to appear: rates need two samples of counters Ray exports every 10 s
        f'sum by (application) (rate(ray_serve_num_http_requests_total{{rayservice="{NAME}"}}[1m])) > 0',
        f'rate(ray_serve_num_http_error_requests_total{{rayservice="{NAME}"}}[1m]) > 0',
        f'ray_vllm_kv_cache_usage_perc{{rayservice="{NAME}"}}',
        f'rate(ray_vllm_num_preemptions_total{{rayservice="{NAME}"}}[1m]) > 0',
        f'ray_serve_batch_queue_length{{rayservice="{NAME}"}}',
    ]
    wait_for("traffic in every app and the vLLM gauges",
             lambda: all(live.prometheus.query(q) for q in warm)
             and len(live.prometheus.query(warm[0])) >= 5, 300)
    live.timings["load_warm_s"] = time.monotonic() - t0

    def explained(stem: str, title: str) -> bool:
        return (stem, title) in EMPTY_HERE or _ray_dashboard_reason(stem, title) is not None

    counts: dict[tuple[str, str, str], int] = {}

    def evaluate() -> bool:
        """(Re)run each query that has returned nothing yet; True once every panel that must have data has it.
        Ray's own panels count when any of their targets has data (a panel for HTTP and gRPC, say); rayctl's
        overview needs data in every target."""
        for stem, title, targets in _panels():
            for ref, expr in targets:
                if not counts.get((stem, title, ref)):
                    counts[(stem, title, ref)] = len(live.prometheus.query(_substitute(expr)))
        return not _missing(counts, explained)

    with contextlib.suppress(AssertionError):  # windows like `[24h:1m]` need a few aligned steps: retry a while
        wait_for("data in every panel", evaluate, 180)
    live.timings["panel_queries_s"] = time.monotonic() - t0 - live.timings["load_warm_s"]
    print(f"\n{len(counts)} panel queries:")
    for (stem, title, ref), n in counts.items():
        note = EMPTY_HERE.get((stem, title)) or (_ray_dashboard_reason(stem, title) if not n else None)
        print(f"  {stem:17} {title[:58]:58} {ref}={n}" + (f"  ({note})" if note and not n else ""))
    assert not _missing(counts, explained), f"panels/targets without data: {_missing(counts, explained)}"
    has_data_now = sorted({(s, t) for (s, t, _), n in counts.items() if n and explained(s, t)
                           and (s, t) in EMPTY_HERE})
    assert not has_data_now, f"EMPTY_HERE lists panels that have data here: {has_data_now}"


def _missing(counts: dict[tuple[str, str, str], int], explained: Callable[[str, str], bool]) -> list[str]:
    panels: dict[tuple[str, str], list[int]] = {}
    for (stem, title, _), n in counts.items():
        panels.setdefault((stem, title), []).append(n)
    out = []
    for (stem, title, ref), n in counts.items():
        if not n and stem == "overview" and not explained(stem, title):
            out.append(f"{stem} / {title} / {ref}")
    out += [f"{s} / {t}" for (s, t), ns in panels.items() if s != "overview" and not any(ns) and not explained(s, t)]
    return out


def _alert_state(prometheus: Prometheus) -> dict[str, dict[str, set[str]]]:
    """alertname -> state (pending/firing) -> the values of the alert's INDUCED label."""
    out: dict[str, dict[str, set[str]]] = {}
    for alert in prometheus.alerts():
        name = alert["labels"]["alertname"]
        label = INDUCED.get(name, ("application", None))[0]
        out.setdefault(name, {}).setdefault(alert["state"], set()).add(alert["labels"].get(label, ""))
    return out


def _names(state: dict[str, set[str]]) -> set[str]:
    return set().union(*state.values()) if state else set()


def _kill_replica(app: str) -> str:
    import ray

    names = [a for a in ray.util.list_named_actors(all_namespaces=True)
             if a["name"].startswith(f"SERVE_REPLICA::{app}#")]
    assert names, f"no replica actor of {app}"
    ray.kill(ray.get_actor(names[0]["name"], namespace=names[0]["namespace"]), no_restart=True)
    return str(names[0]["name"])


def test_induced_failures_fire_their_alerts(live: Live, load: Load) -> None:
    t0 = time.monotonic()
    live.local.deploy({"applications": [BROKEN_APP]}, keep_others=True)
    killed = _kill_replica("fragile")
    seen: dict[str, dict[str, set[str]]] = {}

    def all_fired() -> bool:
        for name, states in _alert_state(live.prometheus).items():
            for state, values in states.items():
                seen.setdefault(name, {}).setdefault(state, set()).update(values)
        return all(want is None or want <= _names(seen.get(name, {})) for name, (_, want) in INDUCED.items())

    try:
        wait_for(f"alerts of the induced failures (killed {killed})", all_fired, 240)
    finally:
        live.timings["alerts_fired_s"] = time.monotonic() - t0
        print("\nalerts seen (state -> labels):", json.dumps({n: {s: sorted(v) for s, v in st.items()}
                                                            for n, st in sorted(seen.items())}))
    for name, forbidden in MUST_NOT_NAME.items():
        assert not seen.get(name, {}).get("firing", set()) & forbidden, (name, seen.get(name))
    for name in NOT_INDUCIBLE_HERE:
        assert name not in seen, (name, seen[name])

    scrapes = live.prometheus.query('count_over_time(up{endpoint="metrics"}[30m])')
    failed = live.prometheus.query('count_over_time((up{endpoint="metrics"} == 0)[30m:10s])')
    slowest = live.prometheus.query('max_over_time(scrape_duration_seconds{endpoint="metrics"}[30m])')
    print(f"\nRay metrics endpoint: {scrapes[0]['value'][1] if scrapes else 0} scrapes, "
          f"{failed[0]['value'][1] if failed else 0} failed (10 s steps), slowest "
          f"{float(slowest[0]['value'][1]) if slowest else 0:.2f} s")
    rules = live.prometheus.rules()
    assert len(rules) == 16 and all(r["health"] == "ok" for r in rules), [(r["name"], r.get("lastError"))
                                                                         for r in rules if r["health"] != "ok"]
    print("\nevery alert expression, evaluated now through the query API (series returned):")
    for rule in rules:
        n = len(live.prometheus.query(rule["query"]))
        why = NOT_INDUCIBLE_HERE.get(rule["name"])
        print(f"  {rule['name']:34} {n:3}" + (f"  (not inducible here: {why})" if why else ""))
        if rule["name"] in NOT_INDUCIBLE_HERE:
            assert n == 0, rule["name"]


def test_stopping_ray_fires_target_down_and_metrics_absent(live: Live, load: Load) -> None:
    t0 = time.monotonic()
    load.stop.set()
    live.local.shutdown()
    apps = {a["name"] for a in live.apps}

    def gone() -> bool:
        state = _alert_state(live.prometheus)
        return ({"metrics", "as-metrics"} <= _names(state.get("RayMetricsTargetDown", {}))
                and apps <= _names(state.get("RayServeMetricsAbsent", {})))

    wait_for("RayMetricsTargetDown and RayServeMetricsAbsent for every app after Ray stopped", gone, 120)
    live.timings["cluster_down_alerts_s"] = time.monotonic() - t0
