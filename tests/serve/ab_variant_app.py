"""A test-only app for the A/B router's `app: {import_path: ...}` variants: a plain (non-FastAPI) deployment whose
`handle_json` validates like the bundled apps do (require_text -> BadRequest) and can fail internally on request.

(A plain deployment, so its internal failure can be provoked on request; the bundled pipeline and classifier run
as variants through their `variant_builder`, without FastAPI: Serve refuses a second FastAPI deployment in the
router's application, "Found multiple FastAPI deployments".)
"""

from __future__ import annotations

from typing import Any

from ray import serve

from serve_apps._common import require_text

INTERNAL_DETAIL = "db password sk-live-0123456789abcdef is wrong"


@serve.deployment(ray_actor_options={"num_cpus": 0.1})
class StrictEcho:
    async def handle_json(self, payload: Any) -> dict[str, Any]:
        text = require_text(payload)
        if text == "crash":
            raise RuntimeError(INTERNAL_DETAIL)
        return {"length": len(text)}


def app_builder(args: dict[str, Any] | None = None) -> serve.Application:
    return StrictEcho.bind()
