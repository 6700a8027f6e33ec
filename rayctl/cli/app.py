"""The Typer application object and the output helpers every command module shares.

Command modules (spec_cmds, run_cmd, cluster_cmds) register themselves on `app`. They stay thin: parse options, call
one core function, print. Heavy imports (ray, kubernetes) happen inside the command functions, never at import time,
so `rayctl render` starts fast.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

app = typer.Typer(
    name="rayctl",
    help="One typed deployment spec -> a KubeRay RayService for Ray Serve (LLM) applications.",
    no_args_is_help=True,
    add_completion=False,
    # Never print local variables in tracebacks: they can hold credentials.
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state: dict[str, Any] = {"debug": False}


def debug_enabled() -> bool:
    return bool(_state["debug"])


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    _state["debug"] = debug


def err(message: str) -> None:
    """Print to stderr (diagnostics never go to stdout, which may be piped into kubectl)."""
    sys.stderr.write(message + ("" if message.endswith("\n") else "\n"))


def out(text: str) -> None:
    """Print to stdout exactly as given (plus a newline when missing)."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
