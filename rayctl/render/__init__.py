"""Spec -> Kubernetes objects (Jinja templates, StrictUndefined, context computed in Python)."""

from rayctl.render.render import Rendered, dump_yaml, render
from rayctl.render.serve_config import serve_config

__all__ = ["Rendered", "dump_yaml", "render", "serve_config"]
