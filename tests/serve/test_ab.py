"""`ab` (A/B router) on a real local Ray Serve (conftest's `serve_env`), over HTTP.

Statistics: with weights 70/30 (+ a 0-weight arm) and 1,000 random user ids, the count N_a of variant `a` is
Binomial(1000, 0.7): sd = sqrt(1000 * 0.7 * 0.3) = 14.5. We accept |N_a - 700| <= 72 (5 sd): a false failure has
probability ~6e-7, while a router that ignored the weights (50/50) would be off by ~200 (14 sd). The 0-weight arm
must get exactly 0. Stickiness is checked exactly (same user -> same variant on every request, across the two
router replicas, and equal to the pure function of (user id, weights) the router documents).
"""

from __future__ import annotations

import copy
import json
import math
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.serve

WEIGHTS = {"a": 70.0, "b": 30.0, "c": 0.0}
APP = {
    "name": "t-ab",
    "route_prefix": "/t-ab",
    "import_path": "serve_apps.ab_router:app_builder",
    "args": {
        "device": "cpu",
        "variants": [
            {"name": "a", "weight": 70, "message": "control"},
            {"name": "b", "weight": 30, "message": "candidate"},
            {"name": "c", "weight": 0, "message": "dark launch"},
        ],
        "sticky_header": "x-user-id",
        "variant_header": "x-ab-variant",
    },
    "deployments": [{"name": "ABRouter", "num_replicas": 2}],
}


def request(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, json.loads(exc.read() or b"null")


def route(url: str, user: str | None, body: object = None) -> tuple[int, dict[str, str], object]:
    headers = {"content-type": "application/json"}
    if user is not None:
        headers["x-user-id"] = user
    return request("POST", url + "/", json.dumps(body if body is not None else {"q": 1}).encode(), headers)


def many(url: str, users: list[str | None], concurrency: int = 16):
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda u: route(url, u), users))


def router_replicas(url: str, tries: int = 40) -> dict[str, dict]:
    """Info of every ABRouter replica reachable through the proxy (keyed by replica id)."""
    seen: dict[str, dict] = {}
    for _ in range(tries):
        _, _, info = request("GET", url + "/_ab")
        seen[info["replica_id"]] = info  # type: ignore[index]
        if len(seen) >= 2:
            break
    return seen


@pytest.fixture(scope="module")
def ab(serve_env):
    url = serve_env.deploy(copy.deepcopy(APP))
    yield serve_env, url
    serve_env.delete(APP["name"])


def test_builder_validates_args(serve_deps: None) -> None:
    from serve_apps.ab_router import app_builder

    with pytest.raises(ValueError, match="'variants'"):
        app_builder({"variants": [{"name": "only", "weight": 1}]})
    with pytest.raises(ValueError, match="'routing'"):
        app_builder({"variants": [{"name": "a"}, {"name": "b"}], "routing": "x"})
    with pytest.raises(ValueError, match="duplicate"):
        app_builder({"variants": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(ValueError, match="weight"):
        app_builder({"variants": [{"name": "a", "weight": -1}, {"name": "b"}]})
    with pytest.raises(ValueError, match="> 0"):
        app_builder({"variants": [{"name": "a", "weight": 0}, {"name": "b", "weight": 0}]})


def test_assignment_function_is_stable_and_uniform(serve_deps: None) -> None:
    from serve_apps.ab_router import pick_variant, unit_hash

    assert unit_hash("user-1") == unit_hash("user-1")  # no per-process salt (unlike hash())
    assert pick_variant(["a", "b"], {"a": 1, "b": 1}, 0.0) == "a"
    assert pick_variant(["a", "b"], {"a": 1, "b": 1}, 0.999) == "b"
    assert pick_variant(["a", "b", "c"], {"a": 1, "b": 0, "c": 1}, 0.5) == "c"
    us = [unit_hash(f"u{i}") for i in range(20_000)]
    assert abs(sum(us) / len(us) - 0.5) < 0.01


def test_forwards_body_and_returns_variant_header(ab) -> None:
    _, url = ab
    status, headers, body = route(url, "alice", {"text": "hello"})
    assert status == 200
    variant = headers["x-ab-variant"]
    assert variant in ("a", "b")
    assert body == {
        "variant": variant,
        "message": {"a": "control", "b": "candidate"}[variant],
        "echo": {"text": "hello"},
    }
    # the route prefix itself (no trailing slash) is served too, not redirected
    status, headers, _ = request("POST", url, b"{}", {"x-user-id": "alice"})
    assert status == 200 and headers["x-ab-variant"] == variant


def test_weights_hold_statistically(ab) -> None:
    _, url = ab
    users: list[str | None] = [str(uuid.uuid4()) for _ in range(1000)]
    results = many(url, users)
    assert all(s == 200 for s, _, _ in results)
    counts = Counter(h["x-ab-variant"] for _, h, _ in results)
    n, p = 1000, 0.7
    tolerance = 5 * math.sqrt(n * p * (1 - p))  # 72.5
    assert abs(counts["a"] - n * p) <= tolerance, counts
    assert counts["c"] == 0, counts
    # without a sticky header the draw is random, with the same weights
    anon = Counter(h["x-ab-variant"] for _, h, _ in many(url, [None] * 1000))
    assert abs(anon["a"] - n * p) <= tolerance, anon
    assert anon["c"] == 0, anon


def test_sticky_per_user_across_replicas(ab) -> None:
    from serve_apps.ab_router import pick_variant, unit_hash

    _, url = ab
    users = [f"user-{i}" for i in range(100)]
    results = many(url, [u for u in users for _ in range(5)])
    by_user: dict[str, set[str]] = {}
    replicas: set[str] = set()
    for user, (status, headers, _) in zip([u for u in users for _ in range(5)], results, strict=True):
        assert status == 200
        by_user.setdefault(user, set()).add(headers["x-ab-variant"])
        replicas.add(headers["x-ab-router-replica"])
    assert len(replicas) == 2, replicas  # both router replicas answered
    assert all(len(v) == 1 for v in by_user.values()), {u: v for u, v in by_user.items() if len(v) > 1}
    for user, (variant,) in by_user.items():  # the documented pure function: same after any restart
        assert variant == pick_variant(["a", "b", "c"], WEIGHTS, unit_hash(user))


def test_weight_change_via_user_config_without_restart(ab) -> None:
    serve_env, url = ab
    before = router_replicas(url)
    assert len(before) == 2
    app = copy.deepcopy(APP)
    app["deployments"] = [{"name": "ABRouter", "num_replicas": 2, "user_config": {"weights": {"a": 0, "b": 1, "c": 0}}}]
    serve_env.deploy(app)
    deadline = time.monotonic() + 60
    while True:
        after = router_replicas(url)
        if all(i["weights"]["b"] == 1.0 for i in after.values()) and len(after) == 2:
            break
        assert time.monotonic() < deadline, after
        time.sleep(0.5)
    assert set(after) == set(before)  # same replicas ...
    assert {i["actor_id"] for i in after.values()} == {i["actor_id"] for i in before.values()}  # same actors
    assert all(i["reconfigured"] > before[r]["reconfigured"] for r, i in after.items())
    results = many(url, [f"user-{i}" for i in range(100)])
    assert Counter(h["x-ab-variant"] for _, h, _ in results) == {"b": 100}
    serve_env.deploy(copy.deepcopy(APP))


def test_bad_input_is_4xx_json(ab) -> None:
    _, url = ab
    status, _, body = request("POST", url + "/", b"{nope", {"x-user-id": "u"})
    assert status == 400 and body["error"]["status"] == 400
    status, _, body = request("POST", url + "/", b"x" * (2 << 20), {"x-user-id": "u"})
    assert status == 413 and body["error"]["type"] == "too_large"
    status, _, body = request("POST", url + "/", b"{}", {"x-user-id": " "})
    assert status == 400


def test_per_variant_metrics_are_exported(ab) -> None:
    import ray

    _, url = ab
    many(url, [f"metric-user-{i}" for i in range(40)])
    port = ray._private.worker.global_worker.node.metrics_export_port
    deadline = time.monotonic() + 60
    text = ""
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            text = resp.read().decode()
        if "rayctl_ab_requests_total" in text and "rayctl_ab_request_latency_ms" in text:
            break
        time.sleep(2)
    lines = [line for line in text.splitlines() if line.startswith("ray_rayctl_ab_") and not line.startswith("#")]
    assert any('variant="a"' in line for line in lines if "requests_total" in line), lines[:20]
    assert any('variant="b"' in line for line in lines if "latency_ms" in line), lines[:20]


def test_variant_backed_by_a_bundled_app(serve_env) -> None:
    app = {
        "name": "t-ab-apps",
        "route_prefix": "/t-ab-apps",
        "import_path": "serve_apps.ab_router:app_builder",
        "args": {
            "device": "cpu",
            "variants": [
                {"name": "hello", "weight": 1, "app": {"type": "hello", "args": {"message": "from the hello app"}}},
                {"name": "echo", "weight": 0, "message": "never"},
            ],
        },
    }
    url = serve_env.deploy(app)
    try:
        status, headers, body = route(url, "someone", {"text": "hi"})
        assert status == 200 and headers["x-ab-variant"] == "hello"
        assert body == {"message": "from the hello app"}
    finally:
        serve_env.delete(app["name"])
