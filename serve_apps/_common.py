"""Shared helpers for every bundled Serve app (hello, pipeline, classifier, ab_router, llm, vllm_app).

Stable API (other apps import it; extend, don't change signatures):

- args:    ``check_args(app, args, allowed, required=())``, ``typed(app, args, key, kind, default)``,
           ``check_device(app, device)``, ``resolve_device(app, args)``  -> ValueError naming the key.
- device:  ``DEVICES``, ``gpu_actor_options(device, num_gpus)``, ``torch_device(device)``,
           ``hf_token(env_name)``, ``check_env_name(app, key, value)``.
- HTTP:    ``BadRequest(message, status=400, kind="bad_request")`` (``.response()``),
           ``json_error(status, message, kind="error")``  -> ``{"error": {"type", "message", "status"}}``,
           ``read_json(request, max_bytes=..., allow_empty=False, max_depth=MAX_JSON_DEPTH)`` (strict JSON:
           serve_apps._json), ``require_text(payload, field="text")``,
           ``json_errors`` (decorator: BadRequest -> its 4xx, anything else -> 500, always a JSON body),
           ``install_json_error_handlers(fastapi_app)`` (404/405/422/500 of FastAPI itself in the same shape),
           ``backend_failure(exc, what)`` (a downstream failure -> 4xx if the cause was a BadRequest, else 503,
           never an exception name or traceback in the body), ``request_id()``, ``replica_info()``.

Error bodies name the problem (field, expected type, limit) and never carry a traceback, an internal exception
name or the offending value itself (it may be a secret); the details go to the replica log with the request id.

Importing this module needs only the standard library: starlette/ray/torch are imported lazily inside the
functions that use them, so every serve_apps module stays importable on a head node without GPU libraries.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from serve_apps._json import _SURROGATE_RE, MAX_JSON_DEPTH, JSONBodyError, parse_json_body

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import JSONResponse

__all__ = ["MAX_JSON_DEPTH", "JSONBodyError", "parse_json_body"]  # re-exported for the apps

logger = logging.getLogger("serve_apps")

DEVICES = ("gpu", "cpu")
DEFAULT_DEVICE = "gpu"
DEFAULT_MAX_BODY_BYTES = 1 << 20  # 1 MiB: larger request bodies get 413
DEFAULT_HF_TOKEN_ENV = "HF_TOKEN"

# ------------------------------------------------------------------------------------------------ args


def check_args(
    app: str, args: Mapping[str, Any] | None, allowed: Iterable[str], required: Iterable[str] = ()
) -> dict[str, Any]:
    """A copy of `args`; ValueError naming any unknown key (contracts.md: unknown args are errors) or missing
    required key."""
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        raise ValueError(f"{app}: args must be a mapping, got {type(args).__name__}")
    allowed = set(allowed)
    unknown = sorted(str(k) for k in args if k not in allowed)
    if unknown:
        raise ValueError(
            f"{app}: unknown arg(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(sorted(allowed))}"
        )
    missing = [k for k in required if args.get(k) is None]
    if missing:
        raise ValueError(f"{app}: missing required arg(s) {', '.join(map(repr, missing))}")
    return dict(args)


def typed(app: str, args: Mapping[str, Any], key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    """args[key] (or default), type-checked; bools are not numbers; an int is accepted for float."""
    value = args.get(key, default)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds and int not in kinds:
        kinds = (*kinds, int)
    if value is None or (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        names = "/".join(k.__name__ for k in kinds)
        raise ValueError(f"{app}: arg {key!r} must be {names}, got {value!r}")
    return value


def check_device(app: str, device: Any) -> str:
    if device not in DEVICES:
        raise ValueError(f"{app}: arg 'device' must be one of {list(DEVICES)}, got {device!r}")
    return str(device)


def resolve_device(app: str, args: Mapping[str, Any]) -> str:
    """args['device'] (default "gpu"), validated. The choice is made by configuration only."""
    return check_device(app, args.get("device", DEFAULT_DEVICE))


# ------------------------------------------------------------------------------------------------ device


def gpu_actor_options(device: str, num_gpus: float = 1) -> dict[str, Any]:
    """ray_actor_options fragment: `{"num_gpus": n}` for gpu, `{}` (CPU only) for cpu."""
    return {"num_gpus": num_gpus} if device == "gpu" else {}


def torch_device(device: str) -> str:
    """The torch device string for a configured device: "cuda" for gpu (must be visible), "cpu" for cpu."""
    if device == "cpu":
        return "cpu"
    import torch  # lazy: only inside replicas

    if not torch.cuda.is_available():
        raise RuntimeError("device 'gpu' was configured but no CUDA device is visible to this replica")
    return "cuda"


_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_env_name(app: str, key: str, value: Any) -> str:
    """args[key] must name an environment variable (e.g. `hf_token_env`); ValueError otherwise."""
    if not isinstance(value, str) or not _ENV_NAME_RE.match(value):
        raise ValueError(f"{app}: arg {key!r} must be an environment variable name, got {value!r}")
    return value


def hf_token(env_name: str | None = DEFAULT_HF_TOKEN_ENV) -> str | None:
    """The Hugging Face token from the env var named `env_name` (a k8s Secret), never from args."""
    if not env_name:
        return None
    value = os.environ.get(env_name)
    return value or None


# ------------------------------------------------------------------------------------------------ HTTP


class BadRequest(Exception):
    """A client error: becomes a 4xx JSON response `{"error": {"type", "message", "status"}}`."""

    def __init__(self, message: str, status: int = 400, kind: str = "bad_request") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message, self.kind)

    def response(self) -> JSONResponse:
        return json_error(self.status, self.message, self.kind)


def error_body(status: int, message: str, kind: str = "error") -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, "status": status}}


def json_error(
    status: int, message: str, kind: str = "error", headers: Mapping[str, str] | None = None
) -> JSONResponse:
    from starlette.responses import JSONResponse

    return JSONResponse(error_body(status, message, kind), status_code=status, headers=dict(headers or {}))


async def read_json(
    request: Request,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
    *,
    allow_empty: bool = False,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """The request body parsed as one strict JSON document (serve_apps._json: UTF-8, no NaN/Infinity, 64-bit
    integers, unique keys, no lone surrogates, at most `max_depth` levels); BadRequest 413 when larger than
    `max_bytes` (checked on Content-Length before reading, and while reading), 400 otherwise."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.strip().isdigit():
            raise BadRequest("invalid Content-Length header: expected a non-negative integer")
        n = int(length)
        if n > max_bytes:
            raise BadRequest(f"request body is {n} bytes; the limit is {max_bytes}", 413, "too_large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise BadRequest(f"request body exceeds the limit of {max_bytes} bytes", 413, "too_large")
    if not body.strip():
        if allow_empty:
            return None
        raise BadRequest("request body is empty; expected a JSON object")
    try:
        return parse_json_body(bytes(body), max_depth=max_depth)
    except JSONBodyError as exc:
        raise BadRequest(str(exc)) from None


def require_text(payload: Any, field: str = "text") -> str:
    """payload[field] as a non-empty string, else BadRequest(400/422)."""
    if not isinstance(payload, dict):
        raise BadRequest(f"expected a JSON object with a {field!r} field, got {_json_type(payload)}", 400)
    if field not in payload:
        raise BadRequest(f"missing field {field!r}", 422, "invalid_request")
    value = payload[field]
    if not isinstance(value, str):
        raise BadRequest(
            f"field {field!r} must be a string, got {_json_type(value)}", 422, "invalid_request"
        )
    if not value.strip():
        raise BadRequest(f"field {field!r} must not be empty", 422, "invalid_request")
    if not value.isascii() and _SURROGATE_RE.search(value):  # programmatic callers (handle_json) skip read_json
        raise BadRequest(f"field {field!r} contains a lone UTF-16 surrogate", 400, "bad_request")
    return value


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
               float: "a number", type(None): "null"}


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type ("an object", "null", ...), for error messages."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def request_id() -> str:
    """The Serve request id of the request being handled ('' outside a request): in error bodies and logs."""
    try:
        from ray.serve.context import _get_serve_request_context

        return str(_get_serve_request_context().request_id or "")
    except Exception:
        return ""


def _unwrap(exc: BaseException) -> BaseException:
    """The original exception inside Ray's wrappers (RayTaskError.cause, possibly nested across handles)."""
    seen = 0
    while seen < 8:
        cause = getattr(exc, "cause", None)
        if not isinstance(cause, BaseException) or cause is exc:
            break
        exc, seen = cause, seen + 1
    return exc


def backend_failure(exc: BaseException, what: str) -> JSONResponse:
    """The response for a failure of a downstream deployment call: the 4xx of a BadRequest raised downstream, 503
    when the backend is overloaded or gone, else 503 too; the body never carries the exception or a traceback (the
    log does, with the request id)."""
    cause = _unwrap(exc)
    if isinstance(cause, BadRequest):
        return cause.response()
    rid = request_id()
    logger.error("%s failed (request %s)", what, rid or "-", exc_info=exc)
    name = type(cause).__name__
    if name in ("BackPressureError", "DeploymentUnavailableError"):
        return json_error(503, f"{what} is overloaded; retry later", "overloaded", {"retry-after": "1"})
    ref = f" (request id {rid})" if rid else ""
    return json_error(503, f"{what} failed{ref}; the replica log has the details", "backend_unavailable")


def install_json_error_handlers(app: FastAPI) -> None:
    """Make FastAPI's own answers (unknown route 404, wrong method 405, validation 422, an unhandled exception 500)
    use the apps' error shape; the 500 names no exception."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        status = int(getattr(exc, "status_code", 500))
        kinds = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        detail = getattr(exc, "detail", "") or ""
        message = f"{detail}: {request.method} {_safe_path(request)}" if status in (404, 405) else str(detail)
        headers = getattr(exc, "headers", None)
        return json_error(status, message or "request failed", kinds.get(status, "bad_request"), headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        errors: list[dict[str, Any]] = getattr(exc, "errors", list)()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return json_error(422, f"invalid request at {where}: {first.get('msg', 'invalid value')}", "invalid_request")

    async def unhandled(request: Request, exc: Exception) -> JSONResponse:
        rid = request_id()
        logger.error("unhandled error for %s %s (request %s)", request.method, request.url.path, rid, exc_info=exc)
        ref = f" (request id {rid})" if rid else ""
        return json_error(500, f"internal error{ref}; the replica log has the details", "internal_error")

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unhandled)


def _safe_path(request: Request) -> str:
    path = request.url.path
    return ascii(path if len(path) <= 80 else path[:80] + "...")[1:-1]


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def json_errors(fn: F) -> F:
    """Decorate an async request handler: BadRequest -> its 4xx JSON; other exceptions -> 500 JSON."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except BadRequest as exc:
            return exc.response()
        except Exception:
            rid = request_id()
            logger.exception("unhandled error in %s (request %s)", getattr(fn, "__qualname__", fn), rid or "-")
            ref = f" (request id {rid})" if rid else ""
            return json_error(500, f"internal error{ref}; the replica log has the details", "internal_error")

    return wrapper  # type: ignore[return-value]


def replica_info() -> dict[str, Any]:
    """Identity of the current replica (replica id and Ray actor id) for tests and debugging."""
    info: dict[str, Any] = {}
    try:
        from ray import serve

        ctx = serve.get_replica_context()
        rid = ctx.replica_id
        info["replica_id"] = getattr(rid, "unique_id", str(rid))
        info["deployment"] = getattr(ctx, "deployment", None)
    except Exception:
        pass
    try:
        import ray

        info["actor_id"] = ray.get_runtime_context().get_actor_id()
    except Exception:
        pass
    return info
