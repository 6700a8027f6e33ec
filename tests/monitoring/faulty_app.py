"""A Serve app that fails on purpose, to make the monitoring alerts fire against a real Ray Serve.

Routes (relative to the app's route prefix): `GET /` answers "ok"; `GET /fail` raises (Serve answers 500);
`GET /slow?s=0.5` sleeps that long first (latency, queueing, autoscaling pressure).

Builders (serveConfigV2 `import_path`s):
- `tests.monitoring.faulty_app:app_builder`: the app above. `args.restart_delay_s` makes every replica after the
  first of a deployment sleep that long in its constructor (a killed replica stays missing that long), counted
  through marker files in `args.state_dir`.
- `tests.monitoring.faulty_app:broken_builder`: a deployment whose constructor always raises, so the app goes
  DEPLOY_FAILED after Serve's retries.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

from ray import serve
from starlette.requests import Request
from starlette.responses import PlainTextResponse


@serve.deployment
class Faulty:
    def __init__(self, restart_delay_s: float = 0.0, state_dir: str | None = None) -> None:
        if state_dir:
            os.makedirs(state_dir, exist_ok=True)
            starts = len(os.listdir(state_dir))
            with open(os.path.join(state_dir, uuid.uuid4().hex), "w"):
                pass
            if starts and restart_delay_s:
                time.sleep(restart_delay_s)  # a replacement replica: keep the deployment below target a while

    async def __call__(self, request: Request) -> PlainTextResponse:
        path = request.url.path.rstrip("/")
        if path.endswith("/fail"):
            raise RuntimeError("induced failure (tests.monitoring.faulty_app)")
        if path.endswith("/slow"):
            await asyncio.sleep(min(float(request.query_params.get("s", "0.5")), 30.0))
        return PlainTextResponse("ok")


@serve.deployment
class Broken:
    def __init__(self) -> None:
        raise RuntimeError("induced deploy failure (tests.monitoring.faulty_app)")

    async def __call__(self, request: Request) -> PlainTextResponse:  # never reached
        return PlainTextResponse("unreachable")


def app_builder(args: dict[str, Any] | None = None) -> serve.Application:
    args = dict(args or {})
    return Faulty.bind(float(args.get("restart_delay_s", 0.0)), args.get("state_dir"))


def broken_builder(args: dict[str, Any] | None = None) -> serve.Application:
    return Broken.bind()
