"""`rayctl ARGS` run in this process: the same `rayctl.cli.main` the console script calls, with its own argv,
stdin, environment and working directory, stdout/stderr captured and the exit status read from SystemExit.

A fresh interpreter per call cost ~1 s (imports) and made the CLI tests most of the unit suite's time; the few
tests that need one (the console script itself, import hygiene, an app type registered through the environment)
still start `python -m rayctl`.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.conftest import ROOT


class _Stdin(io.StringIO):
    """Text stdin with a `buffer`, as rayctl's `-` reader may want bytes."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.buffer = io.BytesIO(text.encode())


@contextlib.contextmanager
def _environment(env: Mapping[str, str] | None, cwd: Path) -> Iterator[None]:
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update(env or {})
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def run_rayctl(*args: str, stdin: str | None = None, env: Mapping[str, str] | None = None,
               cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`rayctl ARGS` in process; `env` is added to the current environment for the call."""
    from rayctl.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    saved_argv, saved_stdin = sys.argv, sys.stdin
    sys.argv, sys.stdin = ["rayctl", *args], _Stdin(stdin or "")
    code: int = 0
    try:
        with _environment(env, cwd), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception:  # what the interpreter does with an exception main() lets out (--debug re-raises)
        stderr.write(traceback.format_exc())
        code = 1
    finally:
        sys.argv, sys.stdin = saved_argv, saved_stdin
    return subprocess.CompletedProcess(["rayctl", *args], code, stdout.getvalue(), stderr.getvalue())


def run_subprocess(*args: str, stdin: str | None = None, env: Mapping[str, str] | None = None,
                   cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`python -m rayctl ARGS` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "rayctl", *args], capture_output=True, text=True, cwd=cwd,
                          input=stdin, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
