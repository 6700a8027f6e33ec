"""rayctl's command line: `main()` is the console-script entry point."""

from __future__ import annotations

import sys

from rayctl.errors import ExitCode, RayctlError


def main() -> None:
    from rayctl.cli import cluster_cmds, dev_cmd, run_cmd, spec_cmds  # noqa: F401  (registers the commands)
    from rayctl.cli.app import app, debug_enabled, err

    try:
        # standalone_mode=False makes click return (not raise) the code of a `typer.Exit(n)`.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except RayctlError as exc:
        if debug_enabled():
            raise
        err(f"error: {exc}")
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        err("interrupted")
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:  # click's (typer's vendored click) usage errors, exits and aborts
        name = type(exc).__name__
        if name == "Exit":
            sys.exit(getattr(exc, "exit_code", 0))
        if name == "Abort":
            err("aborted")
            sys.exit(int(ExitCode.INTERRUPTED))
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        if debug_enabled():
            raise
        err(f"internal error: {name}: {exc} (rerun with --debug for a traceback)")
        sys.exit(int(ExitCode.INTERNAL))
