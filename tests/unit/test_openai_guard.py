"""serve_apps._openai_guard: the error rewriting and body checks in front of the OpenAI apps (stdlib only; the live
behaviour through Ray Serve LLM is tests/serve/test_llm_app.py's fuzz)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from serve_apps._openai_guard import OpenAIErrorGuard, error_document, is_json_content_type

SECRET = "sk-live-0123456789abcdefghij"

# Inner error bodies as Ray Serve LLM 2.60 and vLLM 0.32 write them (shapes copied from their handlers).
REWRITES = [
    pytest.param(
        400,
        {"error": {"message": "Message: max_tokens must be at least 1, got -5. (Request ID: r-1), Internal "
                              "exception: ValueError: boom (Request ID: r-1), original exception: ValueError",
                   "type": "OpenAIHTTPException", "code": 400}},
        "max_tokens must be at least 1, got -5. (request id r-1)",
        id="ray-openai-http-exception",
    ),
    pytest.param(
        400,
        {"error": {"message": "Invalid request format: Input should be a valid integer at ('body', 'max_tokens')",
                   "type": "int_parsing", "param": SECRET, "code": "invalid_parameter"}},
        "Invalid request format: Input should be a valid integer at ('body', 'max_tokens')",
        id="ray-validation-echoes-input-in-param",
    ),
    pytest.param(
        400,
        {"error": {"message": "1 validation error:\n  {'type': 'string_type', 'loc': 'body.model', 'msg': "
                              f"'Input should be a valid string', 'input': '{SECRET}'}}",
                   "type": "Bad Request", "param": "body.model", "code": 400}},
        "invalid request: model: Input should be a valid string",
        id="vllm-validation-echoes-input",
    ),
    pytest.param(
        404,
        {"error": {"message": f"The model `{SECRET}` does not exist.", "type": "NotFoundError", "code": 404}},
        "The model `[redacted]` does not exist.",
        id="echoed-secret-redacted",
    ),
    pytest.param(
        400,
        {"error": {"message": "Message: RayTaskError(TypeError): TextEncodeInput must be Union[...]",
                   "type": "TypeError", "code": 400}},
        "TextEncodeInput must be Union[...]",
        id="exception-names-removed",
    ),
    pytest.param(500, {"error": {"message": "Internal Server Error", "type": "InternalServerError", "code": 500}},
                 "internal error; the replica log has the details", id="500-generic"),
    pytest.param(405, {"detail": "Method Not Allowed"}, "Method Not Allowed", id="fastapi-detail"),
    pytest.param(422, {"detail": [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]},
                 "prompt: Field required", id="fastapi-validation-list"),
    pytest.param(400, "plain text, not JSON", "invalid request", id="non-json-body"),
]


@pytest.mark.parametrize(("status", "inner", "message"), REWRITES)
def test_error_document(status: int, inner: Any, message: str) -> None:
    raw = inner.encode() if isinstance(inner, str) else json.dumps(inner).encode()
    doc = error_document(status, raw)
    assert doc["error"]["message"] == message
    assert doc["error"]["status"] == status
    assert doc["error"]["type"].isidentifier() and doc["error"]["type"].islower()
    assert SECRET not in json.dumps(doc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, True), ("", True), ("application/json", True), ("application/json; charset=utf-8", True),
     ("application/vnd.api+json", True), ("APPLICATION/JSON", True), ("text/plain", False),
     ("multipart/form-data; boundary=x", False), ("application/x-www-form-urlencoded", False)],
)
def test_json_content_types(value: str | None, expected: bool) -> None:
    assert is_json_content_type(value) is expected


def _call(app: Any, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, Any, bytes]:
    """Run one POST through `app` (an ASGI callable); (status, headers, body) of what it sent."""
    sent: list[dict[str, Any]] = []
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)] or [b""]

    async def receive() -> dict[str, Any]:
        if chunks:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/completions",
             "headers": headers if headers is not None else [(b"content-type", b"application/json")]}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


class EchoApp:
    """An inner app that answers with the body it read (or a given error)."""

    def __init__(self, status: int = 200, error: bytes = b"") -> None:
        self.status, self.error, self.seen = status, error, b""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            m = await receive()
            body += m.get("body", b"")
            if not m.get("more_body"):
                break
        self.seen = body
        out = self.error or body
        await send({"type": "http.response.start", "status": self.status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]})
        await send({"type": "http.response.body", "body": out})


def test_valid_body_is_replayed_unchanged() -> None:
    inner = EchoApp()
    body = json.dumps({"model": "m", "prompt": "caf\u00e9 \U0001f600", "max_tokens": 2}).encode()
    status, _, out = _call(OpenAIErrorGuard(inner), body)
    assert status == 200 and out == body and inner.seen == body


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b'{"prompt": "\\ud800"}', 400, "lone UTF-16 surrogate"),
        (b'{"temperature": NaN}', 400, "NaN"),
        (b"[" * 10_000, 400, "deeper than"),
        (b'{"max_tokens": ' + b"9" * 5000 + b"}", 400, "thousands of digits"),
        (b"[1, 2]", 400, "expected a JSON object"),
        (b"\xff", 400, "UTF-8"),
        (b'{"p": "' + b"x" * 20_000 + b'"}', 413, "limit of 16000 bytes"),
    ],
)
def test_hostile_bodies_never_reach_the_app(body: bytes, status: int, words: str) -> None:
    inner = EchoApp()
    got, _, out = _call(OpenAIErrorGuard(inner, max_body_bytes=16_000), body)
    assert got == status
    err = json.loads(out)["error"]
    assert words in err["message"] and err["status"] == status
    assert inner.seen == b""  # never forwarded


def test_inner_errors_are_rewritten_and_inner_exceptions_contained() -> None:
    ray_500 = json.dumps({"error": {"message": "Message: Internal Server Error, Internal exception: KeyError: 'x'",
                                    "type": "InternalServerError", "code": 500}}).encode()
    status, headers, out = _call(OpenAIErrorGuard(EchoApp(500, ray_500)), b"{}")
    assert status == 500 and "KeyError" not in out.decode()
    assert headers[b"content-length"] == str(len(out)).encode()

    class Crashing:
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            raise RuntimeError("boom")

    status, _, out = _call(OpenAIErrorGuard(Crashing()), b"{}")
    assert status == 500 and json.loads(out)["error"]["type"] == "internal_error" and "boom" not in out.decode()


def test_attributes_fall_through_to_the_app() -> None:
    inner = EchoApp()
    inner.routes = ["r"]  # type: ignore[attr-defined]
    assert OpenAIErrorGuard(inner).routes == ["r"]


def test_json_under_another_content_type_is_forwarded_as_json() -> None:
    """curl -d sends application/x-www-form-urlencoded: a JSON body is still JSON (FastAPI would take it as bytes,
    and Ray's validation handler then fails to serialise them: a 500)."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["ctype"] = dict(scope["headers"]).get(b"content-type")
        await EchoApp()(scope, receive, send)

    for ctype in (b"application/x-www-form-urlencoded", b"text/plain", b"application/json; charset=utf-16"):
        status, _, _ = _call(OpenAIErrorGuard(app), b'{"model": "m"}', [(b"content-type", ctype)])
        assert status == 200 and seen["ctype"] == b"application/json"
    status, _, out = _call(OpenAIErrorGuard(app), b"model=m", [(b"content-type", b"application/x-www-form-urlencoded")])
    assert status == 400 and "takes application/json" in json.loads(out)["error"]["message"]


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ([{"role": "user", "content": "hi"}], None),
        ([{"role": "user", "content": [{"type": "text", "text": "hi"}]}], None),
        ([{"role": "user", "content": None}], None),
        (True, "field 'messages' must be an array of message objects, got a boolean"),
        (None, "field 'messages' must be an array of message objects, got null"),
        ([5], "messages[0] must be an object with 'role' and 'content', got a number"),
        ([{"role": "user", "content": 1.5}], "messages[0].content must be a string, null or an array"),
        ([{"role": "system", "content": [[]]}], "messages[0].content[0] must be a content part object"),
        ([{"role": "user", "content": [{"type": "text", "text": 5}]}], "messages[0].content[0].text must be a string"),
        ([{"role": "assistant", "content": "x", "tool_calls": 7}], "messages[0].tool_calls must be an array"),
    ],
)
def test_chat_message_shapes(messages: Any, problem: str | None) -> None:
    from serve_apps._openai_guard import check_openai_request

    got = check_openai_request("/v1/chat/completions", {"model": "m", "messages": messages})
    assert (got is None) if problem is None else (got is not None and got.startswith(problem)), got


def test_multipart_is_checked_except_on_upload_endpoints() -> None:
    inner = EchoApp()
    multipart = [(b"content-type", b"multipart/form-data; boundary=x")]
    status, _, _ = _call(OpenAIErrorGuard(inner), b"--x\r\n\r\n--x--", multipart)
    assert status == 400 and inner.seen == b""  # /v1/completions takes JSON
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"--x--", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/audio/transcriptions", "headers": multipart}
    asyncio.run(OpenAIErrorGuard(inner)(scope, receive, send))
    assert sent[0]["status"] == 200 and inner.seen == b"--x--"
