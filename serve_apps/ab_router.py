"""`ab`: weighted A/B routing between variant deployments. `POST <route_prefix>/` forwards the JSON body to the
chosen variant and returns its answer, with the variant's name in the `variant_header` response header.

* `ABRouter` (ingress) holds one DeploymentHandle per variant deployment `Variant_<name>`.
* Weights come from args (`variants[i].weight`) and live in the router's `user_config: {weights: {name: w}}`:
  a serveConfigV2 update of that user_config reaches `reconfigure` on the running replicas (no restart).
* Sticky assignment: with the `sticky_header` (default `x-user-id`) present, the variant is a pure function of
  (user id, weights): sha256 of the id mapped to [0, 1) and looked up on the cumulative weights in declaration
  order. Every replica, and every restart, picks the same variant for the same user while the weights stand.
  Without the header the pick is a weighted random draw.
* Metrics (`ray.serve.metrics`, tag `variant`): `rayctl_ab_requests_total` (Counter, also tagged `status`) and
  `rayctl_ab_request_latency_ms` (Histogram). `GET <route_prefix>/_ab` shows the replica's own counts and weights.

A variant is `{name, weight, message?}` (a small echo deployment answering `{"variant", "message", "echo"}`) or
`{name, weight, app: {type: hello|pipeline|classifier, args: {...}}}` / `{..., app: {import_path, args}}`: the
bundled app is built (its module's `variant_builder` when it has one: pipeline and classifier without their
FastAPI ingress, since Serve allows one FastAPI deployment per application) and its ingress called through
`handle_json(payload)` (different `type`s per router, since deployment names must be unique within one Serve
application).
"""

from __future__ import annotations

import hashlib
import importlib
import random
import re
import time
from collections import Counter
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from ray import serve

from rayctl.apps import ab_variant_types
from rayctl.apps.ab import CONTRACT
from serve_apps._common import (
    BadRequest,
    backend_failure,
    install_json_error_handlers,
    json_error,
    read_json,
    replica_info,
)

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,48}$")
_HEADER_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
APP_TYPES = ab_variant_types()  # type -> import path of every app type that can be a variant (the registry)
MAX_BODY_BYTES = 1 << 20
LATENCY_BOUNDARIES_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]


def unit_hash(key: str) -> float:
    """A stable, uniformly distributed number in [0, 1) for `key` (independent of process, host and restart)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def pick_variant(names: list[str], weights: dict[str, float], u: float) -> str:
    """The variant whose cumulative-weight interval (declaration order) contains u * total."""
    total = sum(weights.get(n, 0.0) for n in names)
    if total <= 0:
        raise ValueError("all variant weights are zero")
    x = u * total
    acc = 0.0
    last = names[0]
    for name in names:
        w = weights.get(name, 0.0)
        if w <= 0:
            continue
        acc += w
        last = name
        if x < acc:
            return name
    return last


def validate_weights(names: list[str], weights: Any) -> dict[str, float]:
    if not isinstance(weights, dict):
        raise ValueError(f"weights must be a mapping {{variant: weight}}, got {type(weights).__name__}")
    unknown = sorted(set(weights) - set(names))
    if unknown:
        raise ValueError(f"weights name unknown variant(s) {unknown}; variants: {names}")
    out: dict[str, float] = {}
    for name in names:
        w = weights.get(name, 0.0)
        if isinstance(w, bool) or not isinstance(w, int | float) or w < 0 or w != w or w == float("inf"):
            raise ValueError(f"weight of variant {name!r} must be a finite number >= 0, got {w!r}")
        out[name] = float(w)
    if sum(out.values()) <= 0:
        raise ValueError("at least one variant weight must be > 0")
    return out


@serve.deployment(max_ongoing_requests=200, max_queued_requests=2000, ray_actor_options={"num_cpus": 0.1})
class Variant:
    """One arm of the experiment: an echo answer, or a bundled app's ingress called through `handle_json`."""

    def __init__(self, name: str, message: str | None, inner: Any = None) -> None:
        self._name = name
        self._message = message if message is not None else f"variant {name}"
        self._inner = inner

    async def handle(self, payload: Any) -> Any:
        if self._inner is not None:
            return await self._inner.handle_json.remote(payload)
        return {"variant": self._name, "message": self._message, "echo": payload}

    def check_health(self) -> None:
        return None


class _PrefixRootMiddleware:
    """Serve `<route_prefix>` itself like `<route_prefix>/` (FastAPI would answer a 307 redirect)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            root = scope.get("root_path", "")
            if scope.get("path") in ("", root):
                scope = {**scope, "path": root + "/", "raw_path": (root + "/").encode()}
        await self.app(scope, receive, send)


api = FastAPI(title="rayctl ab router")
api.add_middleware(_PrefixRootMiddleware)
install_json_error_handlers(api)


@serve.deployment(max_ongoing_requests=200, max_queued_requests=2000, ray_actor_options={"num_cpus": 0.25})
@serve.ingress(api)
class ABRouter:
    def __init__(
        self,
        handles: dict[str, Any],
        order: list[str],
        weights: dict[str, float],
        sticky_header: str,
        variant_header: str,
    ) -> None:
        self._handles = handles
        self._order = list(order)
        self._weights = validate_weights(self._order, weights)
        self._sticky = sticky_header.lower()
        self._variant_header = variant_header
        self._counts: Counter[str] = Counter()
        self._reconfigured = 0
        self._rng = random.Random()
        self._replica = str(replica_info().get("replica_id", ""))
        from ray.serve.metrics import Counter as MetricCounter
        from ray.serve.metrics import Histogram

        self._requests = MetricCounter(
            "rayctl_ab_requests_total",
            description="A/B requests by variant and status",
            tag_keys=("variant", "status"),
        )
        self._latency = Histogram(
            "rayctl_ab_request_latency_ms",
            description="A/B request latency by variant (ms)",
            boundaries=LATENCY_BOUNDARIES_MS,
            tag_keys=("variant",),
        )

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """`user_config: {weights: {name: w}}`; applied in place on every running replica."""
        if not isinstance(user_config, dict):
            raise ValueError("ABRouter user_config must be a mapping")
        unknown = sorted(set(user_config) - {"weights"})
        if unknown:
            raise ValueError(f"ABRouter user_config: unknown key(s) {unknown}")
        if "weights" in user_config:
            self._weights = validate_weights(self._order, user_config["weights"])
        self._reconfigured += 1

    def choose(self, user_id: str | None) -> str:
        u = unit_hash(user_id) if user_id else self._rng.random()
        return pick_variant(self._order, self._weights, u)

    @api.post("/")
    async def route(self, request: Request) -> Any:
        try:
            payload = await read_json(request, MAX_BODY_BYTES, allow_empty=True)
        except BadRequest as exc:
            return exc.response()
        user = request.headers.get(self._sticky)
        if user is not None and (not user.strip() or len(user) > 256):
            return json_error(400, f"header {self._sticky!r} must be 1..256 characters", "bad_request")
        variant = self.choose(user.strip() if user else None)
        start = time.perf_counter()
        try:
            body = await self._handles[variant].handle.remote(payload if payload is not None else {})
            response = JSONResponse(body)
        except Exception as exc:  # a BadRequest raised by an `app` variant keeps its 4xx; anything else is a 503
            response = backend_failure(exc, f"variant {variant!r}")
        status = "ok" if response.status_code < 400 else "client_error" if response.status_code < 500 else "error"
        elapsed_ms = (time.perf_counter() - start) * 1000
        self._counts[variant] += 1
        self._requests.inc(tags={"variant": variant, "status": status})
        self._latency.observe(elapsed_ms, tags={"variant": variant})
        response.headers[self._variant_header] = variant
        response.headers["x-ab-router-replica"] = self._replica
        return response

    @api.get("/_ab")
    async def info(self) -> dict[str, Any]:
        return {
            "weights": self._weights,
            "variants": self._order,
            "counts": dict(self._counts),
            "reconfigured": self._reconfigured,
            "sticky_header": self._sticky,
            "variant_header": self._variant_header,
            **replica_info(),
        }

    def check_health(self) -> None:
        if not self._handles or sum(self._weights.values()) <= 0:
            raise RuntimeError("router has no routable variant")


def _variant_app(name: str, app: Any, device: str) -> Any:
    if not isinstance(app, dict):
        raise ValueError(f"ab: variants[{name}].app must be a mapping")
    extra = sorted(set(app) - {"type", "import_path", "args"})
    if extra:
        raise ValueError(f"ab: variants[{name}].app: unknown key(s) {extra}")
    if ("type" in app) == ("import_path" in app):
        raise ValueError(f"ab: variants[{name}].app needs exactly one of 'type' ({sorted(APP_TYPES)}) or 'import_path'")
    if "type" in app:
        if app["type"] not in APP_TYPES:
            raise ValueError(f"ab: variants[{name}].app.type must be one of {sorted(APP_TYPES)}, got {app['type']!r}")
        path = APP_TYPES[app["type"]]
    else:
        path = app["import_path"]
        if not isinstance(path, str) or ":" not in path:
            raise ValueError(f"ab: variants[{name}].app.import_path must look like 'module:builder', got {path!r}")
    module_name, _, attr = path.partition(":")
    module = importlib.import_module(module_name)
    # A bundled app with a FastAPI ingress (pipeline, classifier) has a `variant_builder`: the same app without
    # FastAPI, since Serve allows one FastAPI deployment per application and the router is that one.
    builder = getattr(module, "variant_builder", None) if attr == "app_builder" else None
    builder = builder or getattr(module, attr)
    args = dict(app.get("args") or {})
    if path.startswith("serve_apps.") and "device" not in args:
        args["device"] = device
    return builder(args)


def app_builder(args: dict[str, Any] | None = None) -> serve.Application:
    args = CONTRACT.parse(args)
    device, sticky, variant_header = args["device"], args["sticky_header"], args["variant_header"]
    for key, value in (("sticky_header", sticky), ("variant_header", variant_header)):
        if not _HEADER_RE.match(value):
            raise ValueError(f"ab: arg {key!r} must be an HTTP header name, got {value!r}")
    variants = args.get("variants")
    if not isinstance(variants, list) or len(variants) < 2:
        raise ValueError("ab: arg 'variants' is required: a list of at least 2 {name, weight, message?, app?}")
    order: list[str] = []
    weights: dict[str, float] = {}
    handles: dict[str, Any] = {}
    for i, v in enumerate(variants):
        if not isinstance(v, dict):
            raise ValueError(f"ab: variants[{i}] must be a mapping")
        extra = sorted(set(v) - {"name", "weight", "message", "app"})
        if extra:
            raise ValueError(f"ab: variants[{i}]: unknown key(s) {extra}")
        name = v.get("name")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ValueError(f"ab: variants[{i}].name must match {_NAME_RE.pattern}, got {name!r}")
        if name in weights:
            raise ValueError(f"ab: duplicate variant name {name!r}")
        weight = v.get("weight", 1.0)
        message = v.get("message")
        if message is not None and not isinstance(message, str):
            raise ValueError(f"ab: variants[{i}].message must be a string")
        inner = _variant_app(name, v["app"], device) if "app" in v else None
        order.append(name)
        weights[name] = weight
        handles[name] = Variant.options(name=f"Variant_{name}").bind(name, message, inner)
    weights = validate_weights(order, weights)
    return ABRouter.options(user_config={"weights": weights}).bind(handles, order, weights, sticky, variant_header)
