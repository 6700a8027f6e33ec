"""`hello`: the smallest bundled Serve app (deployment `Hello`).

serveConfigV2: `import_path: serve_apps.hello:app_builder`, `args: {message: str}`; serves `GET/POST <route_prefix>`
with `{"message": ...}`. A POST body is optional; when there is one it must be JSON (any value, at most 1 MiB), else
400/413 with `{"error": {"type", "message", "status"}}` like every bundled app.

Importing this module never needs a GPU, torch or transformers; it needs ray[serve] (and so starlette) only.
"""

from __future__ import annotations

from typing import Any

from ray import serve
from starlette.requests import Request

from rayctl.apps.hello import CONTRACT, DEFAULT_MESSAGE
from serve_apps._common import BadRequest, json_error, read_json

# --------------------------------------------------------------------------------------------- the app


@serve.deployment(max_ongoing_requests=100, max_queued_requests=1000)
class Hello:
    def __init__(self, message: str = DEFAULT_MESSAGE) -> None:
        self._message = message

    async def __call__(self, request: Request) -> Any:
        if request.method not in ("GET", "POST", "HEAD"):
            return json_error(405, f"method {request.method} not allowed; use GET or POST", "method_not_allowed")
        if request.method == "POST":
            try:
                await read_json(request, allow_empty=True)  # the body is not used, but it must be what we document
            except BadRequest as exc:
                return exc.response()
        return {"message": self._message}

    async def handle_json(self, payload: Any) -> dict[str, Any]:
        """Programmatic entry point (used by the A/B router's `app` variants)."""
        return {"message": self._message}

    def check_health(self) -> None:
        if not isinstance(self._message, str):
            raise RuntimeError("Hello is misconfigured")


def app_builder(args: dict[str, Any] | None = None) -> serve.Application:
    args = CONTRACT.parse(args)  # `device` is accepted for uniformity; Hello needs no accelerator
    return Hello.bind(args["message"])
