"""`custom`: any Ray Serve application, by import path (yours; no bundled serve app)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from rayctl.apps.base import AppBase, app_type
from rayctl.spec.deployment import DeploymentOptions


@app_type(order=900)
class CustomApp(AppBase):
    """Any Ray Serve application: your own import path and args."""

    type: Literal["custom"] = Field(description="Application type.")
    import_path_: str = Field(
        alias="importPath",
        pattern=r"^[A-Za-z_][\w.]*[:.][A-Za-z_]\w*$",
        description="`module:attribute` of the Application or builder.",
    )
    args: dict[str, Any] = Field(default_factory=dict, description="Arguments passed to the application builder.")
    deployments: dict[str, DeploymentOptions] = Field(
        default_factory=dict, description="Serve options per deployment, keyed by deployment name."
    )

    def import_path(self) -> str:
        return self.import_path_

    def serve_args(self, device: str) -> dict[str, Any] | None:
        return self.args or None

    def explicit_deployments(self) -> dict[str, DeploymentOptions]:
        return dict(self.deployments)

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"name": "app", "type": "custom", "importPath": "my_package.app:app", "args": {}}


APP_TYPE = CustomApp
