"""`classifier` on a real local Ray Serve (conftest's `serve_env`), over HTTP.

Batching is proven from inside the replica: every answer carries `batch_size`, the number of requests the model
evaluated in the same call, and `GET /stats` shows the replica's batch-size histogram.
"""

from __future__ import annotations

import copy
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.serve

LABELS = ["sports", "technology", "politics", "food"]
APP = {
    "name": "t-classifier",
    "route_prefix": "/t-classifier",
    "import_path": "serve_apps.classifier:app_builder",
    "args": {"device": "cpu", "labels": LABELS, "max_batch_size": 16, "batch_wait_timeout_s": 0.05},
}
TEXTS = [
    "The striker scored twice and the team won the football match.",
    "The new smartphone chip doubles machine learning performance.",
    "Parliament voted on the new election law after a long debate.",
    "This pasta recipe uses fresh basil, garlic and tomatoes.",
]


def request(method: str, url: str, body: bytes | None = None) -> tuple[int, object]:
    req = urllib.request.Request(url, data=body, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"null")
        except ValueError:
            return exc.code, raw.decode("utf-8", "replace")


def classify(url: str, text: str) -> tuple[int, object]:
    return request("POST", url + "/classify", json.dumps({"text": text}).encode())


def burst(url: str, n: int, concurrency: int) -> list[tuple[int, object]]:
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda i: classify(url, TEXTS[i % len(TEXTS)] + f" #{i}"), range(n)))


@pytest.fixture(scope="module")
def classifier(serve_env):
    url = serve_env.deploy(copy.deepcopy(APP))
    yield serve_env, url
    serve_env.delete(APP["name"])


def test_builder_validates_args(serve_deps: None) -> None:
    from serve_apps.classifier import app_builder

    with pytest.raises(ValueError, match="'batch_size'"):
        app_builder({"batch_size": 3})
    with pytest.raises(ValueError, match="labels"):
        app_builder({"labels": ["only-one"]})
    with pytest.raises(ValueError, match="max_batch_size"):
        app_builder({"max_batch_size": 0})
    with pytest.raises(ValueError, match="batch_wait_timeout_s"):
        app_builder({"batch_wait_timeout_s": "soon"})


def test_classifies_with_the_real_model(classifier) -> None:
    _, url = classifier
    for text, label in zip(TEXTS, LABELS, strict=True):
        status, body = classify(url, text)
        assert status == 200, body
        assert isinstance(body, dict)
        assert body["label"] == label, (text, body)
        assert -1.0 <= body["score"] <= 1.0
        assert body["batch_size"] >= 1


def test_concurrent_requests_are_batched(classifier) -> None:
    _, url = classifier
    results = burst(url, 128, 64)
    assert all(status == 200 for status, _ in results), [r for r in results if r[0] != 200][:3]
    sizes = [body["batch_size"] for _, body in results]  # type: ignore[index]
    assert max(sizes) > 1, sizes
    assert max(sizes) <= 16
    assert sum(1 for s in sizes if s > 1) >= len(sizes) // 2, sizes  # most requests shared a model call
    status, stats = request("GET", url + "/stats")
    assert status == 200 and isinstance(stats, dict)
    assert stats["max_observed_batch_size"] > 1
    assert stats["max_batch_size"] == 16


def test_user_config_reconfigures_batching_without_restart(classifier) -> None:
    serve_env, url = classifier
    _, before = request("GET", url + "/stats")
    app = copy.deepcopy(APP)
    app["deployments"] = [
        {"name": "BatchClassifier", "user_config": {"max_batch_size": 3, "batch_wait_timeout_s": 0.05}}
    ]
    serve_env.deploy(app)
    deadline = time.monotonic() + 60
    while True:
        _, after = request("GET", url + "/stats")
        if after["max_batch_size"] == 3 or time.monotonic() > deadline:  # type: ignore[index]
            break
        time.sleep(0.5)
    assert after["max_batch_size"] == 3  # type: ignore[index]
    assert after["replica_id"] == before["replica_id"]  # type: ignore[index]
    assert after["actor_id"] == before["actor_id"]  # type: ignore[index]
    sizes = [body["batch_size"] for _, body in burst(url, 48, 24)]  # type: ignore[index]
    assert max(sizes) <= 3, sizes
    assert max(sizes) > 1, sizes
    serve_env.deploy(copy.deepcopy(APP))  # back to the original knobs for the other tests


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{oops", 400),
        (b'"just a string"', 400),
        (b'{"texts": ["a"]}', 422),
        (b'{"text": ["a"]}', 422),
        (b'{"text": ""}', 422),
        (json.dumps({"text": "word " * 10_000}).encode(), 413),
        (b'{"text": "\\udfff"}', 400),  # main: 503 "model failed: TypeError: TextEncodeInput must be ..."
        (b"[" * 100_000, 400),
    ],
)
def test_bad_input_is_4xx_json(classifier, body: bytes, status: int) -> None:
    _, url = classifier
    got, payload = request("POST", url + "/classify", body)
    assert got == status, payload
    assert isinstance(payload, dict) and payload["error"]["status"] == status


def test_fuzz_classify(classifier) -> None:
    """>= 1 000 hostile bodies (tests/serve/fuzz.py): no 5xx, JSON errors that leak nothing, bounded latency; and
    the replica stays healthy (one bad text must not fail the batch it shares, nor the health check)."""
    from serve_apps import _common
    from serve_apps.classifier import MAX_BODY_BYTES
    from tests.serve.fuzz import Target, fuzz_and_assert

    _, url = classifier
    _, before = request("GET", url + "/stats")
    target = Target(
        "classifier",
        "/classify",
        valid=[{"text": t} for t in TEXTS],
        max_body=MAX_BODY_BYTES,
        max_depth=getattr(_common, "MAX_JSON_DEPTH", 64),
        text_paths=[("text",)],
    )
    fuzz_and_assert(url, target, concurrency=8)
    status, after = request("GET", url + "/stats")
    assert status == 200 and after["replica_id"] == before["replica_id"], (before, after)  # type: ignore[index]


def test_overload_is_503_not_a_hang(serve_env) -> None:
    """A replica that takes one request at a time with a queue of 1: the rest of a burst gets 503 at once."""
    app = copy.deepcopy(APP)
    app.update(name="t-classifier-small", route_prefix="/t-classifier-small")
    app["args"].update(max_batch_size=64, batch_wait_timeout_s=1.0)  # each batch waits 1 s for company
    app["deployments"] = [{"name": "BatchClassifier", "max_ongoing_requests": 1, "max_queued_requests": 1}]
    url = serve_env.deploy(app)
    try:
        t0 = time.monotonic()
        results = burst(url, 12, 12)
        elapsed = time.monotonic() - t0
        codes = sorted(status for status, _ in results)
        assert 503 in codes and 200 in codes, codes
        assert set(codes) <= {200, 503}, codes
        assert elapsed < 30, elapsed
    finally:
        serve_env.delete(app["name"])
