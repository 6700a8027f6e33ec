"""Render a spec into Kubernetes objects: each component is a context function (rayctl/render/components.py) plus a
Jinja template (rayctl/render/templates/); the output is one multi-document YAML, deterministic byte for byte."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
import yaml

from rayctl.cache import user_cache
from rayctl.profiles import apply_profile, effective_profile
from rayctl.render.components import COMPONENTS
from rayctl.render.context import make_context, spec_hash
from rayctl.render.serve_config import Profile
from rayctl.render.yamlout import dump_yaml, to_yaml, yaml_value
from rayctl.spec.model import DeploymentSpec

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader: the same reading as yaml.safe_load, several times faster on big output."""


def _spec_hash(text: str) -> str:
    """Jinja filter: the spec-hash of a rendered RayService spec block, with its serveConfigV2 parsed (what the chart
    computes with `fromYaml`, `fromYaml` of serveConfigV2, `toJson | sha256sum | trunc 12`). Parsed, because the
    embedded YAML text is PyYAML's here and go-yaml's in the chart: same data, different bytes."""
    spec = yaml.load(text, Loader=_LOADER)
    spec["serveConfigV2"] = yaml.load(spec["serveConfigV2"], Loader=_LOADER)
    return spec_hash(spec)


def _with_item(mapping: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """Jinja filter: a sorted copy of `mapping` with one more item (Helm: `merge` + `toYaml`, which sorts)."""
    return dict(sorted({**mapping, key: value}.items()))


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Jinja's compiled templates, one file per template keyed by its name and checked against its source's SHA-1
    (an edited template compiles again). Compiling the four templates took ~20 ms of every run, loading them takes
    <1 ms. A cache: a file that cannot be read, parsed or written only makes this run compile."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a truncated or foreign file (pickle and marshal raise anything): compile it
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):  # a read-only or full home only makes the next run compile too
            super().dump_bytecode(bucket)


def template_cache() -> Path:
    """$RAYCTL_TEMPLATE_CACHE, else $XDG_CACHE_HOME/rayctl/templates-jinja<version>, else
    ~/.cache/rayctl/templates-jinja<version> (Jinja's generated code differs between its versions)."""
    return user_cache(f"templates-jinja{jinja2.__version__}", "RAYCTL_TEMPLATE_CACHE")


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    try:
        folder = template_cache()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:  # unwritable, or no folder for caches at all (rayctl.cache.NoCacheFolder): compile each run
        return None
    return _TemplateCache(str(folder))


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (files("rayctl.render") / "templates" / name).read_text()),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # YAML, not HTML
        keep_trailing_newline=True,
    )
    env.filters.update(to_yaml=to_yaml, yaml_value=yaml_value, spec_hash=_spec_hash, with_item=_with_item)
    return env


@dataclass(frozen=True)
class Rendered:
    """The rendered objects (RayService first, then its companions) and the exact YAML text."""

    objects: list[dict[str, Any]]
    text: str
    serve_config: dict[str, Any]

    @property
    def rayservice(self) -> dict[str, Any]:
        return self.objects[0]

    def to_yaml(self) -> str:
        return self.text


def render(spec: DeploymentSpec, *, profile: Profile = None) -> Rendered:
    """Render every component of `spec` under `profile` (default: the spec's own `profile`): `cpu` renders the CPU
    profile of the spec (rayctl.profiles), `gpu` puts every bundled app on its GPU path."""
    chosen = effective_profile(spec, profile)
    ctx = make_context(apply_profile(spec, chosen), chosen)
    env = _environment()
    documents: list[str] = []
    objects: list[dict[str, Any]] = []
    for component in COMPONENTS:
        for values in component.build(ctx):
            text = env.get_template(component.template).render(**{component.var: values}).strip("\n") + "\n"
            documents.append(text)
            # an object built whole in Python is what its text reads back as (plain JSON types): reading 20 000
            # labels back from every companion took seconds
            obj = json.loads(json.dumps(values)) if component.whole else yaml.load(text, Loader=_LOADER)
            if obj is not None:
                objects.append(obj)
    return Rendered(objects=objects, text="---\n".join(documents), serve_config=ctx.serve_config)


__all__ = ["Rendered", "dump_yaml", "render"]
