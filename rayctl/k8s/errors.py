"""Turn Kubernetes client exceptions (official client, kr8s, urllib3, httpx) into rayctl's one-line errors.

Nothing here imports a client at module import time: the exception types are recognised by duck typing
(`status`/`body` for the official client's ApiException, `response`/`status` for kr8s' ServerError) and by
their
module names for transport errors, so this module is cheap to import and easy to unit-test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rayctl.errors import ClusterError, ConflictError, NotFoundError, RayctlError

KUBERAY_INSTALL_HINT = (
    "install the KubeRay operator (it brings the ray.io CRDs): "
    "helm repo add kuberay https://ray-project.github.io/kuberay-helm/ && "
    "helm install kuberay-operator kuberay/kuberay-operator --version 1.7.0"
)


@dataclass
class ApiStatus:
    """The parts of a Kubernetes `Status` object (or a bare HTTP error) that rayctl reports."""

    code: int
    reason: str = ""
    message: str = ""
    causes: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def is_missing_route(self) -> bool:
        """A 404 from the API server's mux (no such API group/resource), as opposed to a missing object."""
        return self.code == 404 and (not self.reason or self.message.strip().lower() == "404 page not found")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def parse_status(code: int, http_reason: str | None, body: Any) -> ApiStatus:
    """Parse an error body into an ApiStatus (the body may be a Status JSON, plain text, bytes or already a
    dict)."""
    data: Any = body
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            data = json.loads(body)
        except ValueError:
            data = None
            text = body.strip()
            return ApiStatus(code=code, reason="", message=_one_line(text or (http_reason or "")))
    if isinstance(data, dict):
        details = data.get("details") or {}
        causes = details.get("causes") or [] if isinstance(details, dict) else []
        return ApiStatus(
            code=int(data.get("code") or code),
            reason=str(data.get("reason") or ""),
            message=_one_line(str(data.get("message") or http_reason or "")),
            causes=[c for c in causes if isinstance(c, dict)],
            details=details if isinstance(details, dict) else {},
        )
    return ApiStatus(code=code, reason="", message=_one_line(http_reason or ""))


def describe_conflicts(status: ApiStatus) -> list[tuple[str, str]]:
    """(field, owner) pairs from a server-side apply conflict; owner is the other field manager's name."""
    out: list[tuple[str, str]] = []
    for cause in status.causes:
        if cause.get("type") not in ("FieldManagerConflict", None):
            continue
        msg = str(cause.get("message", ""))
        owner = msg
        if 'conflict with "' in msg:
            owner = msg.split('conflict with "', 1)[1].split('"', 1)[0]
        out.append((str(cause.get("field", "?")), owner))
    return out


def status_to_error(status: ApiStatus, *, what: str, server: str | None = None) -> RayctlError:
    """Map an API error status to the rayctl error a user should see. `what` names the object or action."""
    code = status.code
    msg = status.message or status.reason or f"HTTP {code}"
    if code == 401:
        return ClusterError(
            f"{what}: the API server{f' at {server}' if server else ''} rejected the credentials "
            f"(401 Unauthorized): {msg}",
            hint="your credentials are missing or expired: log in again / refresh the kubeconfig token, "
            "or choose another --context",
        )
    if code == 403:
        return ClusterError(f"{what}: forbidden (403): {msg}", hint="ask a cluster admin for RBAC permission")
    if code == 404:
        if status.is_missing_route:
            return NotFoundError(f"{what}: the API server does not serve this resource (404): {msg}")
        return NotFoundError(f"{what}: not found: {msg}")
    if code == 409:
        conflicts = describe_conflicts(status)
        if conflicts:
            fields = "; ".join(f"{f} is owned by field manager {o!r}" for f, o in conflicts)
            error = ConflictError(
                f"{what}: server-side apply conflict: {fields}",
                hint="another tool manages these fields; rerun with --force-conflicts to take them over, "
                "or remove them from the other manager",
            )
            error.conflicts = conflicts  # type: ignore[attr-defined]
            return error
        return ConflictError(f"{what}: conflict (409 {status.reason or 'Conflict'}): {msg}")
    if code == 422:
        return ClusterError(f"{what}: rejected by the API server (422 Invalid): {msg}")
    if code == 400:
        return ClusterError(f"{what}: bad request (400 {status.reason or 'BadRequest'}): {msg}")
    if code == 429:
        return ClusterError(f"{what}: the API server is throttling requests (429): {msg}")
    if code >= 500:
        return ClusterError(f"{what}: API server error ({code} {status.reason}): {msg}")
    return ClusterError(f"{what}: API error ({code} {status.reason}): {msg}")


def _transport_message(exc: BaseException) -> str | None:
    """A one-line description of a connection-level failure, or None if `exc` is not one."""
    mod = type(exc).__module__ or ""
    name = type(exc).__name__
    if (
        mod.startswith("urllib3")
        or mod.startswith("httpx")
        or mod.startswith("httpcore")
        or mod.startswith("ssl")
        or isinstance(exc, OSError | TimeoutError)
    ):
        inner: BaseException = exc
        reason = getattr(exc, "reason", None)
        if isinstance(reason, BaseException):
            inner = reason
        text = _one_line(str(inner))
        lowered = text.lower()
        if "connection refused" in lowered or ("connecterror" in name.lower() and "refused" in lowered):
            return "connection refused"
        if "all connection attempts failed" in lowered:
            return "connection failed (refused or unreachable)"
        if "name or service not known" in lowered or "nodename nor servname" in lowered or "getaddrinfo" in lowered:
            return f"cannot resolve the host name ({text})"
        if "certificate" in lowered or "ssl" in lowered:
            return f"TLS error: {text}"
        if "timed out" in lowered or "timeout" in name.lower():
            return "timed out"
        return f"{type(inner).__name__}: {text}" if text else type(inner).__name__
    return None


def wrap_exception(exc: BaseException, *, what: str, server: str | None = None) -> RayctlError:
    """Convert any client exception into a RayctlError (RayctlErrors pass through unchanged)."""
    if isinstance(exc, RayctlError):
        return exc
    # kubernetes.client.exceptions.ApiException
    if type(exc).__name__ == "ApiException" and hasattr(exc, "status"):
        code = int(getattr(exc, "status", 0) or 0)
        if code == 0:
            return ClusterError(
                f"{what}: cannot reach the API server{f' at {server}' if server else ''}: "
                f"{_one_line(str(getattr(exc, 'reason', exc)))}"
            )
        return status_to_error(
            parse_status(code, getattr(exc, "reason", None), getattr(exc, "body", None)),
            what=what,
            server=server,
        )
    # kr8s.ServerError
    response = getattr(exc, "response", None)
    if response is not None and hasattr(response, "status_code"):
        body: Any = getattr(exc, "status", None)
        if not isinstance(body, dict):
            try:
                body = response.text
            except Exception:  # pragma: no cover - defensive
                body = None
        return status_to_error(
            parse_status(int(response.status_code), getattr(response, "reason_phrase", None), body),
            what=what,
            server=server,
        )
    if type(exc).__name__ == "ConfigException":
        return ClusterError(
            f"invalid Kubernetes client configuration: {_one_line(str(exc))}",
            hint="check --kubeconfig / $KUBECONFIG and --context",
        )
    transport = _transport_message(exc)
    if transport is not None:
        return ClusterError(
            f"{what}: cannot reach the API server{f' at {server}' if server else ''}: {transport}",
            hint="is the cluster running and the kubeconfig pointing at it?",
        )
    return ClusterError(f"{what}: {type(exc).__name__}: {_one_line(str(exc))}")
