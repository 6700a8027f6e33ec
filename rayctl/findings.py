"""Findings: what is wrong with an input, where (the field path) and how to fix it.

The lowest layer of rayctl's checks: the RayService read-model (rayctl.model) reports wrong types as findings and
the validators (rayctl.validate) report rule violations with the same type. Errors stop a command (exit 3),
warnings are printed and do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    severity: Severity
    path: str  # field path in the checked document, e.g. spec.rayClusterConfig.workerGroupSpecs[0].replicas
    message: str  # what is wrong and how to fix it
    source: str = ""  # file (and document) the finding belongs to

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}{self.path}: {self.message}"


class Collector:
    """Accumulates findings under a path prefix."""

    def __init__(self, source: str = "") -> None:
        self.source = source
        self.findings: list[Finding] = []

    def error(self, path: str, message: str) -> None:
        self.findings.append(Finding("error", path, message, self.source))

    def warning(self, path: str, message: str) -> None:
        self.findings.append(Finding("warning", path, message, self.source))
