"""Spec -> Kubernetes objects (components: context functions + Jinja templates, StrictUndefined)."""

from rayctl.render.render import Rendered, render
from rayctl.render.serve_config import serve_config
from rayctl.render.yamlout import dump_yaml

__all__ = ["Rendered", "dump_yaml", "render", "serve_config"]
