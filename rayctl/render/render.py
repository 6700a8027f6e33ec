"""Render a spec into Kubernetes objects with the packaged Jinja templates (deterministic output)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

import jinja2
import yaml

from rayctl.render.context import build_context
from rayctl.render.serve_config import Profile
from rayctl.spec.model import DeploymentSpec


class _BlockDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as literal blocks and indents lists under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_BlockDumper.add_representer(str, _str_presenter)


def dump_yaml(data: Any) -> str:
    """Deterministic YAML: insertion order kept, block style, no line folding."""
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, default_flow_style=False, width=10_000,
                     allow_unicode=True)


def to_yaml(data: Any, indent: int = 0) -> str:
    """Jinja filter: YAML for `data`, every line after the first indented by `indent` spaces."""
    text = dump_yaml(data).rstrip("\n")
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    return text.replace("\n", "\n" + " " * indent) if indent else text


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (files("rayctl.render") / "templates" / name).read_text()),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # YAML, not HTML
        keep_trailing_newline=True,
    )
    env.filters["to_yaml"] = to_yaml
    return env


@dataclass(frozen=True)
class Rendered:
    """The rendered objects (RayService first) and the exact YAML text."""

    objects: list[dict[str, Any]]
    text: str
    serve_config: dict[str, Any]

    @property
    def rayservice(self) -> dict[str, Any]:
        return self.objects[0]

    def to_yaml(self) -> str:
        return self.text


def render(spec: DeploymentSpec, *, profile: Profile = None) -> Rendered:
    """Render the RayService for `spec`. `profile="cpu"` forces every bundled app onto its CPU fallback."""
    context = build_context(spec, profile)
    text = _environment().get_template("rayservice.yaml.j2").render(**context)
    text = text.rstrip("\n") + "\n"
    objects = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    return Rendered(objects=objects, text=text, serve_config=context["serve_config"])
