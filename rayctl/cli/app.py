"""The Typer application object and the output helpers every command module shares.

Command modules (spec_cmds, run_cmd, cluster_cmds) register themselves on `app`. They stay thin: parse options, call
one core function, print. Heavy imports (ray, kubernetes) happen inside the command functions, never at import time,
so `rayctl render` starts fast.
"""

from __future__ import annotations

import sys
from typing import Any

import typer


def _plain_argument_help() -> None:
    """Help that reads like kubectl's: `rayctl render FILE`, not Typer's `{FILE}` / `FILE <str>`. Our arguments
    all carry a metavar that names what they take, so Typer's type label adds nothing."""
    from typer.core import TyperArgument

    def usage_name(self: Any) -> str:
        name = str(self.display_name_raw)
        name = name if self.required or name.startswith("[") else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    def display_type(self: Any, ctx: Any) -> str | None:
        return None if self.metavar is not None else original_display_type(self, ctx)

    original_display_type = TyperArgument.display_type_rich
    if hasattr(TyperArgument, "_usage_display_name"):
        TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]
    TyperArgument.display_type_rich = display_type  # type: ignore[method-assign]


_plain_argument_help()

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


def version_text() -> str:
    from importlib.metadata import PackageNotFoundError, version

    from rayctl.spec.base import RAY_VERSION

    try:
        own = version("rayctl")
    except PackageNotFoundError:  # running from a source tree without an install
        own = "0+unknown"
    return f"rayctl {own} (Ray {RAY_VERSION}, KubeRay ray.io/v1 CRDs v1.7.0)"


def _print_version(value: bool) -> None:
    if value:
        out(version_text())
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    _version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                  help="Print the version and exit."),
) -> None:
    _state["debug"] = debug


@app.command()
def version() -> None:
    """Print rayctl's version and the Ray / KubeRay versions it targets."""
    out(version_text())


def err(message: str) -> None:
    """Print to stderr (diagnostics never go to stdout, which may be piped into kubectl)."""
    sys.stderr.write(message + ("" if message.endswith("\n") else "\n"))


def out(text: str) -> None:
    """Print to stdout exactly as given (plus a newline when missing)."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
