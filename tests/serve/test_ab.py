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

from rayctl.apps import ab_variant_types

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


@pytest.mark.parametrize("app_type", sorted(ab_variant_types()))
def test_every_registered_variant_type_builds_into_one_router_app(serve_deps: None, app_type: str) -> None:
    """Every type the registry offers as a variant builds into the router's application as Serve builds it (at
    most one FastAPI deployment: pipeline and classifier run as their `variant_builder`; on main both failed with
    'Found multiple FastAPI deployments')."""
    from ray.serve._private.build_app import build_app

    from serve_apps.ab_router import app_builder

    built = build_app(app_builder({"device": "cpu", "variants": [
        {"name": "x", "weight": 1, "app": {"type": app_type}}, {"name": "echo", "weight": 1}]}), name="t")
    built.validate_single_fastapi_ingress()
    assert built.ingress_deployment_name == "ABRouter" and "Variant_x" in {d.name for d in built.deployments}


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


def test_fuzz_route(ab) -> None:
    """>= 1 000 hostile bodies through the router to the echo variants (tests/serve/fuzz.py): no 5xx, JSON errors
    that leak nothing, bounded latency."""
    from serve_apps import _common
    from serve_apps.ab_router import MAX_BODY_BYTES
    from tests.serve.fuzz import Target, fuzz_and_assert

    _, url = ab
    target = Target(
        "ab",
        "/",
        valid=[{"text": "hello", "n": 1, "tags": ["a", "b"]}, {"q": 1}],
        max_body=MAX_BODY_BYTES,
        max_depth=getattr(_common, "MAX_JSON_DEPTH", 64),
        text_paths=[("text",)],
        allow_empty=True,
    )
    fuzz_and_assert(url, target, concurrency=8)


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


def _user_for(variant: str, order: list[str], weights: dict[str, float]) -> str:
    """A user id that the router's documented assignment function sends to `variant`."""
    from serve_apps.ab_router import pick_variant, unit_hash

    users = (f"user-{i}" for i in range(10_000))
    return next(u for u in users if pick_variant(order, weights, unit_hash(u)) == variant)


def test_pipeline_and_classifier_as_variants_answer_and_survive_hostile_bodies(serve_env) -> None:
    """The two bundled apps with FastAPI ingresses behind the router (Serve allows one FastAPI deployment per
    application: they run as their `variant_builder` form): each answers its valid request, its validation errors
    keep their 4xx, and >= 1 000 hostile bodies split between them get no 5xx (tests/serve/fuzz.py)."""
    from serve_apps import _common
    from serve_apps.ab_router import MAX_BODY_BYTES
    from tests.serve.fuzz import Target, fuzz_and_assert

    labels = ["sports", "technology", "politics"]
    app = {
        "name": "t-ab-bundled",
        "route_prefix": "/t-ab-bundled",
        "import_path": "serve_apps.ab_router:app_builder",
        "args": {
            "device": "cpu",
            "variants": [
                {"name": "pipe", "weight": 1, "app": {"type": "pipeline", "args": {"min_words_for_summary": 5}}},
                {"name": "clf", "weight": 1, "app": {"type": "classifier", "args": {"labels": labels}}},
            ],
        },
    }
    url = serve_env.deploy(app)
    try:
        order, weights = ["pipe", "clf"], {"pipe": 1.0, "clf": 1.0}
        text = "The match was wonderful. The home team won in the last minute. Fans sang for an hour afterwards."
        status, headers, body = route(url, _user_for("pipe", order, weights), {"text": text})
        assert status == 200 and headers["x-ab-variant"] == "pipe", body
        assert body["sentiment"]["label"] == "POSITIVE" and body["summarized"] is True, body  # type: ignore[index]
        status, headers, body = route(url, _user_for("clf", order, weights), {"text": text})
        assert status == 200 and headers["x-ab-variant"] == "clf", body
        assert body["label"] in labels and body["batch_size"] >= 1, body  # type: ignore[index]
        for variant in order:
            user = _user_for(variant, order, weights)
            for payload, code, words in [
                ({"text": 5}, 422, "field 'text' must be a string, got a number"),
                ({"txt": "x"}, 422, "missing field 'text'"),
                ([1, 2], 400, "expected a JSON object"),
            ]:
                status, headers, body = route(url, user, payload)
                assert status == code and headers["x-ab-variant"] == variant, body
                err = body["error"]  # type: ignore[index]
                assert err["status"] == code and words in err["message"], err
        target = Target(
            "ab-bundled-variants",
            "/",
            valid=[{"text": text}, {"text": "ok"}],
            max_body=MAX_BODY_BYTES,
            max_depth=_common.MAX_JSON_DEPTH,
            text_paths=[("text",)],
        )
        fuzz_and_assert(url, target, concurrency=8)
    finally:
        serve_env.delete(app["name"])


def test_errors_of_an_app_variant_keep_their_4xx(serve_env) -> None:
    """An `app` variant's own validation errors (raised two handle hops away, wrapped by Ray) come back as its 4xx
    JSON; its internal failures as a 503 without the exception, its message or Ray's traceback."""
    from tests.serve.ab_variant_app import INTERNAL_DETAIL

    app = {
        "name": "t-ab-strict",
        "route_prefix": "/t-ab-strict",
        "import_path": "serve_apps.ab_router:app_builder",
        "args": {
            "device": "cpu",
            "variants": [
                {"name": "strict", "weight": 1, "app": {"import_path": "tests.serve.ab_variant_app:app_builder"}},
                {"name": "echo", "weight": 0},
            ],
        },
    }
    url = serve_env.deploy(app)
    try:
        status, headers, body = route(url, "u1", {"text": "hello"})
        assert (status, headers["x-ab-variant"], body) == (200, "strict", {"length": 5})
        for payload, code, words in [
            ({"text": 5}, 422, "field 'text' must be a string, got a number"),
            ({"txt": "x"}, 422, "missing field 'text'"),
            ([1, 2], 400, "expected a JSON object"),
            ({"text": "crash"}, 503, "variant 'strict' failed (request id "),
        ]:
            status, headers, body = route(url, "u1", payload)
            assert status == code and headers["x-ab-variant"] == "strict", body
            err = body["error"]  # type: ignore[index]
            assert err["status"] == code and words in err["message"], err
            text = json.dumps(body)
            assert "Error" not in text and "Traceback" not in text and INTERNAL_DETAIL not in text, text
    finally:
        serve_env.delete(app["name"])
