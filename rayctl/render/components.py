"""The objects rayctl renders, in output order: the RayService first, then optional companions.

A component is a context function (RenderContext -> the template's values, one item per object, none when the
component is off) and the template that lays each object out. The Helm chart has one template per component too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rayctl.render import context
from rayctl.render.context import RenderContext


@dataclass(frozen=True)
class Component:
    name: str
    template: str
    var: str  # the name the template reads its values under
    values: Callable[[RenderContext], list[dict[str, Any]]]
    whole: bool = False
    """The values are the object itself (written by `to_yaml`): rendered objects take them as they are instead of
    reading the text back (a test asserts the text reads back equal)."""

    def build(self, ctx: RenderContext) -> list[dict[str, Any]]:
        return self.values(ctx)


COMPONENTS: tuple[Component, ...] = (
    Component("rayservice", "rayservice.yaml.j2", "rs", lambda ctx: [context.rayservice(ctx)]),
    Component("ingress", "ingress.yaml.j2", "ingress", context.ingresses),
    Component("monitoring", "object.yaml.j2", "obj", context.monitoring, whole=True),
)
