"""Validation results: errors stop a command (exit 3), warnings are printed and do not."""

from __future__ import annotations

from dataclasses import dataclass, field

from rayctl.findings import Collector, Finding

__all__ = ["Collector", "Finding", "ValidationReport"]


@dataclass
class ValidationReport:
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # "RayService/name" per object validated
    skipped: list[str] = field(default_factory=list)  # "Kind/name (why)" per object not validated
    notes: list[str] = field(default_factory=list)  # e.g. "Ray's Serve schema not checked: ray is not installed"

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def extend(self, other: ValidationReport) -> None:
        self.findings.extend(other.findings)
        self.checked.extend(other.checked)
        self.skipped.extend(other.skipped)
        self.notes.extend(n for n in other.notes if n not in self.notes)
