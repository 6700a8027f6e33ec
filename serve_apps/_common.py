"""Shared helpers for every bundled Serve app (hello, pipeline, classifier, ab_router, llm, vllm_app).

Stable API (other apps import it; extend, don't change signatures):

- args:    ``check_args(app, args, allowed, required=())``, ``typed(app, args, key, kind, default)``,
           ``check_device(app, device)``, ``resolve_device(app, args)``  -> ValueError naming the key.
- device:  ``DEVICES``, ``gpu_actor_options(device, num_gpus)``, ``torch_device(device)``,
           ``hf_token(env_name)``, ``check_env_name(app, key, value)``.
- HTTP:    ``BadRequest(message, status=400, kind="bad_request")`` (``.response()``),
           ``json_error(status, message, kind="error")``  -> ``{"error": {"type", "message", "status"}}``,
           ``read_json(request, max_bytes=..., allow_empty=False)``, ``require_text(payload, field="text")``,
           ``json_errors`` (decorator: BadRequest -> its 4xx, anything else -> 500, always a JSON body),
           ``replica_info()``.

Importing this module needs only the standard library: starlette/ray/torch are imported lazily inside the
functions that use them, so every serve_apps module stays importable on a head node without GPU libraries.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from starlette.requests import Request
    from starlette.responses import JSONResponse

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


async def read_json(request: Request, max_bytes: int = DEFAULT_MAX_BODY_BYTES, *, allow_empty: bool = False) -> Any:
    """The request body parsed as JSON; BadRequest (413/400) when oversize or malformed."""
    length = request.headers.get("content-length")
    if length is not None:
        try:
            n = int(length)
        except ValueError:
            raise BadRequest("invalid Content-Length header") from None
        if n > max_bytes:
            raise BadRequest(f"request body is {n} bytes; the limit is {max_bytes}", 413, "too_large")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise BadRequest(f"request body exceeds the limit of {max_bytes} bytes", 413, "too_large")
    if not body.strip():
        if allow_empty:
            return None
        raise BadRequest("request body is empty; expected a JSON object")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None


def require_text(payload: Any, field: str = "text") -> str:
    """payload[field] as a non-empty string, else BadRequest(400/422)."""
    if not isinstance(payload, dict):
        raise BadRequest(f"expected a JSON object with a {field!r} field, got {type(payload).__name__}", 400)
    if field not in payload:
        raise BadRequest(f"missing field {field!r}", 422, "invalid_request")
    value = payload[field]
    if not isinstance(value, str):
        raise BadRequest(f"field {field!r} must be a string, got {type(value).__name__}", 422, "invalid_request")
    if not value.strip():
        raise BadRequest(f"field {field!r} must not be empty", 422, "invalid_request")
    return value


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def json_errors(fn: F) -> F:
    """Decorate an async request handler: BadRequest -> its 4xx JSON; other exceptions -> 500 JSON."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except BadRequest as exc:
            return exc.response()
        except Exception as exc:
            logger.exception("unhandled error in %s", getattr(fn, "__qualname__", fn))
            return json_error(500, f"internal error: {type(exc).__name__}: {exc}", "internal_error")

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
