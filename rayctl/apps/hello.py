"""`hello`: a message over HTTP, the smallest end-to-end check (serve app: `serve_apps/hello.py`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from rayctl.apps.base import BundledApp, Endpoint, app_type
from rayctl.apps.contract import Arg, Contract, device_arg

DEFAULT_MESSAGE = "Hello from Ray Serve"

CONTRACT = Contract("hello", (
    Arg("message", (str,), DEFAULT_MESSAGE, "The message the app answers with."),
    device_arg("cpu"),
))


@app_type(
    order=10, import_path="serve_apps.hello:app_builder", deployments=("Hello",), contract=CONTRACT,
    endpoint=Endpoint("GET"), ab_variant=True,
)
class HelloApp(BundledApp):
    """A minimal app that answers with a message: the smallest end-to-end check."""

    type: Literal["hello"] = Field(description="Application type.")
    message: str = Field(DEFAULT_MESSAGE, description="The message the app answers with.")

    def serve_args(self, device: str) -> dict[str, Any]:
        return {"message": self.message, "device": device}


APP_TYPE = HelloApp
