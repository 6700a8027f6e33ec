"""`OpenAIErrorGuard`: an ASGI middleware in front of an OpenAI-compatible app (Ray Serve LLM's `OpenAiIngress`, or
vLLM's own FastAPI app when Ray serves it directly under `RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING`). Standard library
only; serve_apps._llm_guarded installs it.

Request side: the body of a POST/PUT/PATCH (any content type but multipart/form-data, which the transcription
endpoint takes) is read once, at most `max_body_bytes` (413 beyond, from Content-Length before reading), and must be
one strict JSON object (serve_apps._json: UTF-8, no NaN/Infinity, 64-bit integers, unique keys, no lone surrogates,
bounded depth), else 400. The body is then replayed unchanged to the app, as `application/json`. Without this,
Ray Serve LLM 2.60 answers 500 to: a lone surrogate (the tokenizer's TypeError in the LLMServer), NaN in a string
field or any body sent without a JSON content type (its validation handler echoes the input, NaN or bytes, and
cannot serialise it), 500-level nesting in an unused field (pickling the request to the LLMServer recurses too deep).

Response side: every error answer (status >= 400, not a stream) is rewritten into the apps' shape
`{"error": {"type", "message", "status"}}`: Ray's "Message: ..., Internal exception: ..., original exception: ..."
becomes its first part, pydantic's error dicts (which echo the offending `input`) become "field: reason", exception
class names (`OpenAIHTTPException`, `RayTaskError(TypeError)`) and secret-looking tokens are removed, `type` is a
stable kind from the status (not the exception class), 5xx messages are generic (details in the replica log).
"""

from __future__ import annotations

import ast
import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from serve_apps._json import MAX_JSON_DEPTH, JSONBodyError, parse_json_body

logger = logging.getLogger("serve_apps.llm")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LLM_MAX_BODY_BYTES = 16 << 20
"""Largest request body the OpenAI endpoints accept (long chat histories, images as data URLs)."""
MAX_MESSAGE_CHARS = 500
_MAX_ERROR_BODY = 1 << 20  # an inner error body larger than this is not parsed for its message

KINDS = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "timeout",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "backend_unavailable",
    504: "timeout",
}
_EXC_NAME_RE = re.compile(r"\b(?:[A-Za-z_][\w.]*\.)?[A-Z][A-Za-z0-9]*(?:Error|Exception)\b(?:\([^)]*\))?:?\s*")
_SECRET_RE = re.compile(
    r"\b(?:sk|pk|rk|hf|ghp|gho|ghs|github_pat|xox[abprs]|glpat|AKIA|ASIA)[-_A-Za-z0-9]{8,}"
    r"|\b(?=[A-Za-z0-9+/_]*\d)(?=[A-Za-z0-9+/_]*[A-Za-z])[A-Za-z0-9+/_]{32,}={0,2}"
)
_RAY_MESSAGE_RE = re.compile(r"^Message:\s*(?P<msg>.*?)(?:,\s*Internal exception:.*)?$", re.S)
_REQUEST_ID_RE = re.compile(r"\s*\(Request ID: (?P<rid>[^)]*)\)")
_PYDANTIC_ERR_RE = re.compile(r"\{'type': .*?\}(?=\n|$)", re.S)
_PARAM_VALUE_RE = re.compile(r"\(parameter=([\w.\[\]]+)(?:, value=[^)]*)?\)")


def is_json_content_type(value: str | None) -> bool:
    """What FastAPI parses as JSON: no content type, `application/json` or `application/*+json`."""
    if not value or not value.strip():
        return True
    mime = value.split(";", 1)[0].strip().lower()
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def _is_multipart(value: str | None) -> bool:
    return bool(value) and value.split(";", 1)[0].strip().lower() == "multipart/form-data"  # type: ignore[union-attr]


def _takes_uploads(path: str) -> bool:
    """The endpoints that take multipart/form-data (audio uploads): their bodies pass through unchecked."""
    return path.rstrip("/").endswith(("/audio/transcriptions", "/audio/translations"))


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {dict: "an object", list: "an array", str: "a string", type(None): "null"}.get(type(value), "a value")


def check_chat_request(doc: dict[str, Any]) -> str | None:
    """The shape of `messages` in a chat completion request (None when fine). Ray Serve LLM 2.60 and vLLM 0.32 answer
    500 for some wrong shapes: vLLM's `check_system_message_content_type` iterates `messages` before validating its
    type (TypeError), and Ray's `_sanitize_chat_completion_request` turns an invalid content part into a
    ValueError."""
    if "messages" not in doc:
        return None  # the app's own "Field required"
    messages = doc["messages"]
    if not isinstance(messages, list):
        return f"field 'messages' must be an array of message objects, got {_json_type(messages)}"
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            return f"messages[{i}] must be an object with 'role' and 'content', got {_json_type(msg)}"
        content = msg.get("content")
        if content is not None and not isinstance(content, (str, list)):
            return (f"messages[{i}].content must be a string, null or an array of content parts, "
                    f"got {_json_type(content)}")
        for j, part in enumerate(content if isinstance(content, list) else ()):
            if not isinstance(part, dict):
                return (f"messages[{i}].content[{j}] must be a content part object such as "
                        f'{{"type": "text", "text": "..."}}, got {_json_type(part)}')
            if part.get("type", "text") == "text" and "text" in part and not isinstance(part["text"], str):
                return f"messages[{i}].content[{j}].text must be a string, got {_json_type(part['text'])}"
        calls = msg.get("tool_calls")
        if calls is not None and not (isinstance(calls, list) and all(isinstance(c, dict) for c in calls)):
            return f"messages[{i}].tool_calls must be an array of tool call objects"
    return None


RequestCheck = Callable[[str, dict[str, Any]], "str | None"]


def check_openai_request(path: str, doc: dict[str, Any]) -> str | None:
    """Structural checks per endpoint, for shapes the apps behind would answer with a 500."""
    if path.rstrip("/").endswith("/chat/completions"):
        return check_chat_request(doc)
    return None


def redact(text: str) -> str:
    """`text` without secret-looking tokens (API keys, long random strings)."""
    return _SECRET_RE.sub("[redacted]", text)


def _pydantic_summary(text: str) -> str | None:
    """'<loc>: <msg>; ...' from the pydantic error dicts vLLM puts in its messages (dropping the echoed input)."""
    parts = []
    for match in _PYDANTIC_ERR_RE.finditer(text):
        try:
            err = ast.literal_eval(match.group(0))
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(err, dict) and "msg" in err:
            loc = err.get("loc", "")
            loc = ".".join(str(p) for p in loc) if isinstance(loc, (list, tuple)) else str(loc)
            parts.append(f"{loc.removeprefix('body.')}: {err['msg']}" if loc else str(err["msg"]))
    if not parts:
        return None
    more = len(parts) - 3
    return "; ".join(parts[:3]) + (f"; and {more} more" if more > 0 else "")


def clean_message(text: str, status: int) -> tuple[str, str]:
    """(message, request id) for a client: the user-facing part of an inner error message, without exception
    names, echoed input or secret-looking tokens, bounded in length."""
    rid = ""
    m = _REQUEST_ID_RE.search(text)
    if m:
        rid = m.group("rid").strip()
    text = _REQUEST_ID_RE.sub("", text)
    m = _RAY_MESSAGE_RE.match(text.strip())
    if m:
        text = m.group("msg")
    summary = _pydantic_summary(text)
    if summary is not None:
        text = f"invalid request: {summary}"
    text = _PARAM_VALUE_RE.sub(r"(parameter \1)", text)  # vLLM appends the offending value: never echo it
    text = _EXC_NAME_RE.sub("", text)
    text = redact(" ".join(text.split()))
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[:MAX_MESSAGE_CHARS] + "..."
    return text, rid


def error_document(status: int, inner: bytes) -> dict[str, Any]:
    """The apps' error body for an inner error answer `inner` (any shape: Ray's, vLLM's, FastAPI's, plain text)."""
    message = ""
    if len(inner) <= _MAX_ERROR_BODY:
        try:
            doc = json.loads(inner)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            err = doc.get("error", doc)
            raw = err.get("message") if isinstance(err, dict) else err
            if raw is None and isinstance(doc.get("detail"), (str, list)):
                raw = doc["detail"]
            if isinstance(raw, list):  # FastAPI validation details
                raw = "; ".join(
                    f"{'.'.join(str(p) for p in d.get('loc', ()) if p != 'body')}: {d.get('msg', '')}"
                    for d in raw[:3]
                    if isinstance(d, dict)
                )
            message = str(raw) if raw is not None else ""
    message, rid = clean_message(message, status)
    ref = f" (request id {rid})" if rid else ""
    if status >= 500 and status != 503:
        message = f"internal error{ref}; the replica log has the details"
    elif not message:
        message = _DEFAULT_MESSAGES.get(status, "request failed") + ref
    elif ref:
        message += ref
    return {"error": {"type": KINDS.get(status, "server_error" if status >= 500 else "bad_request"),
                      "message": message, "status": status}}


_DEFAULT_MESSAGES = {
    400: "invalid request",
    404: "not found",
    405: "method not allowed",
    413: "request body too large",
    503: "the model server is unavailable; retry later",
}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _respond(send: Send, status: int, message: str, kind: str | None = None) -> None:
    body = json.dumps({"error": {"type": kind or KINDS.get(status, "bad_request"), "message": message,
                                 "status": status}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class OpenAIErrorGuard:
    """See the module doc. Attribute access falls through to the wrapped app, so Ray Serve still finds `routes`
    (route metrics) and `add_exception_handler` (its back-pressure 503s) on it."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = LLM_MAX_BODY_BYTES,
                 max_depth: int = MAX_JSON_DEPTH, check: RequestCheck = check_openai_request) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_depth = max_depth
        self.check = check

    def __getattr__(self, name: str) -> Any:
        if name == "app":  # not set yet (during unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        ctype = _header(scope, b"content-type")
        path = str(scope.get("path", ""))
        if scope.get("method") in ("POST", "PUT", "PATCH") and not (_is_multipart(ctype) and _takes_uploads(path)):
            body = await self._read_checked_body(scope, receive, send, ctype)
            if body is None:
                return  # answered (4xx) or the client went away
            receive = _replay(body, receive)
            # JSON whatever the client called it (curl -d says x-www-form-urlencoded), like the other bundled apps:
            # FastAPI reads a body under a non-JSON type as raw bytes, fails validation, and Ray's handler then
            # cannot serialise the bytes it echoes (a 500)
            scope = {**scope, "headers": [(k, v) for k, v in scope.get("headers") or () if k.lower() != b"content-type"]
                     + [(b"content-type", b"application/json")]}
        await self._call_rewriting_errors(scope, receive, send)

    async def _read_checked_body(self, scope: Scope, receive: Receive, send: Send, ctype: str | None) -> bytes | None:
        length = _header(scope, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_body_bytes:
            await _respond(send, 413, f"request body is {int(length)} bytes; the limit is {self.max_body_bytes}")
            return None
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await _respond(send, 413, f"request body exceeds the limit of {self.max_body_bytes} bytes")
                return None
            if not message.get("more_body", False):
                break
        try:
            value = parse_json_body(bytes(body), max_depth=self.max_depth)
        except JSONBodyError as exc:
            hint = "" if is_json_content_type(ctype) else " (this endpoint takes application/json)"
            await _respond(send, 400, f"{exc}{hint}")
            return None
        if not isinstance(value, dict):
            await _respond(send, 400, f"expected a JSON object as the request body, got {_json_type(value)}")
            return None
        try:
            problem = self.check(str(scope.get("path", "")), value)
        except Exception:  # a checker bug must not become the client's problem: let the app judge
            logger.exception("request check failed")
            problem = None
        if problem:
            await _respond(send, 400, problem)
            return None
        return bytes(body)

    async def _call_rewriting_errors(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: dict[str, Any] = {"start": None, "started": False, "buf": bytearray()}

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = int(message["status"])
                ctype = _raw_header(message.get("headers") or (), b"content-type")
                if status >= 400 and not ctype.startswith(b"text/event-stream"):
                    state["start"] = message  # hold it: the body decides what we send
                    return
                state["started"] = True
                await send(message)
                return
            if message["type"] == "http.response.body" and state["start"] is not None:
                if len(state["buf"]) <= _MAX_ERROR_BODY:
                    state["buf"] += message.get("body", b"")
                if message.get("more_body", False):
                    return
                start, state["start"] = state["start"], None
                await self._send_rewritten(start, bytes(state["buf"]), send)
                state["started"] = True
                return
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except Exception:
            if state["started"]:
                raise
            logger.exception("unhandled error in the OpenAI app for %s %s", scope.get("method"), scope.get("path"))
            await _respond(send, 500, "internal error; the replica log has the details")

    async def _send_rewritten(self, start: Message, inner: bytes, send: Send) -> None:
        status = int(start["status"])
        if status >= 500:
            logger.warning("OpenAI app answered %s: %s", status, inner[:2000].decode("utf-8", "replace"))
        body = json.dumps(error_document(status, inner)).encode()
        headers = [(k, v) for k, v in start.get("headers") or () if k.lower() not in (b"content-length",
                                                                                   b"content-type")]
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _raw_header(headers: Any, name: bytes) -> bytes:
    for key, value in headers:
        if bytes(key).lower() == name:
            return bytes(value).lower()
    return b""


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that hands the app the already-read body once, then defers to the real one (disconnects)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replayed
