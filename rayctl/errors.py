"""rayctl's own error types and the exit codes they map to.

Every failure a user can cause ends as a RayctlError: the CLI prints its message (and hint) on one or two lines and
exits with its code. Tracebacks are only shown with --debug.
"""

from __future__ import annotations

from enum import IntEnum


def shorten(text: str, limit: int = 80) -> str:
    """`text` for a message: at most `limit` characters (a 10 000-character key is named by its start and length)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit - 20]}... ({len(text)} characters)"


class ExitCode(IntEnum):
    """Process exit codes (documented in README.md, section "Exit codes")."""

    OK = 0
    DIFF = 1  # `rayctl diff`: differences found (like `kubectl diff`)
    USAGE = 2  # bad flags or arguments (Typer/Click's own code)
    INVALID = 3  # the spec or manifest is invalid: YAML syntax, schema, semantic rules, CRD schema
    CLUSTER = 4  # the cluster could not be reached, refused us, or rejected the object
    CONFLICT = 5  # server-side apply conflict with another field manager
    TIMEOUT = 6  # --wait ran out of time
    NOT_FOUND = 7  # the named object does not exist
    DEPENDENCY = 8  # an optional dependency (ray, vllm) is missing for this command
    RUN_FAILED = 9  # `rayctl run`: an application failed to deploy, or a smoke request got no 2xx answer
    INTERNAL = 70  # a bug in rayctl (EX_SOFTWARE): rerun with --debug and report it
    INTERRUPTED = 130  # Ctrl-C


class RayctlError(Exception):
    """An error with a message meant for the user, an optional hint on how to fix it, and an exit code."""

    exit_code: ExitCode = ExitCode.INVALID

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  hint: {self.hint}"


class UsageError(RayctlError):
    """The command line asks for something rayctl refuses to do as given (exit 2, like click's usage errors)."""

    exit_code = ExitCode.USAGE


class InputError(RayctlError):
    """The user's file could not be read or parsed."""

    exit_code = ExitCode.INVALID


class ClusterError(RayctlError):
    """The API server could not be reached, refused the request or rejected the object."""

    exit_code = ExitCode.CLUSTER


class ConflictError(ClusterError):
    """Server-side apply found fields owned by another field manager."""

    exit_code = ExitCode.CONFLICT


class NotFoundError(ClusterError):
    """The named object does not exist."""

    exit_code = ExitCode.NOT_FOUND


class WaitTimeoutError(RayctlError):
    """A --wait ran out of time."""

    exit_code = ExitCode.TIMEOUT


class DependencyError(RayctlError):
    """An optional dependency (ray, vllm, ...) is needed for this command and is missing."""

    exit_code = ExitCode.DEPENDENCY
