"""The pure workflows the CLI calls: spec file -> rendered + validated objects; any file -> validation report.

No network here. Validation errors raise InvalidError (exit 3) carrying the report, so callers print findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rayctl.errors import InputError
from rayctl.render import Rendered, render
from rayctl.render.serve_config import Profile
from rayctl.spec import DeploymentSpec
from rayctl.spec.loader import is_spec_document, spec_from_doc
from rayctl.spec.yamlsrc import SourceDoc, parse_documents, read_text
from rayctl.validate import ValidationReport, spec_path, validate_objects
from rayctl.validate.findings import Finding


class InvalidError(InputError):
    """Validation found errors; `report` has all findings (warnings too)."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        count = len(report.errors)
        lines = "".join(f"\n  {finding}" for finding in report.errors)
        super().__init__(f"validation failed with {count} error{'s' if count != 1 else ''}:{lines}")


@dataclass
class RenderResult:
    spec: DeploymentSpec
    rendered: Rendered
    report: ValidationReport


def _for_spec(report: ValidationReport, doc: SourceDoc | None) -> ValidationReport:
    """Rewrite manifest paths of findings on a rendered spec so they point at spec fields (and their lines)."""
    findings = []
    for f in report.findings:
        path = spec_path(f.path)
        source = doc.where(_path_key(path.split(" ", 1)[0])) if doc is not None else f.source
        findings.append(Finding(f.severity, path, f.message, source))
    report.findings = findings
    return report


def _path_key(path: str) -> tuple[str | int, ...]:
    """"serve.applications[0]" -> ("serve", "applications", 0)."""
    parts: list[str | int] = []
    for piece in path.replace("]", "").split("."):
        name, *indexes = piece.split("[")
        if name:
            parts.append(name)
        parts.extend(int(i) for i in indexes if i.isdigit())
    return tuple(parts)


def render_spec(
    spec: DeploymentSpec,
    *,
    source: str,
    profile: Profile = None,
    crd_dir: Path | None = None,
    ray_schema: bool = False,
    doc: SourceDoc | None = None,
) -> RenderResult:
    rendered = render(spec, profile=profile)
    report = validate_objects(rendered.objects, crd_dir=crd_dir, ray_schema=ray_schema, source=source)
    report = _for_spec(report, doc)
    if not report.ok:
        raise InvalidError(report)
    return RenderResult(spec, rendered, report)


def render_file(
    path: str | Path,
    *,
    overrides: Sequence[str] = (),
    profile: Profile = None,
    crd_dir: Path | None = None,
    ray_schema: bool = False,
) -> RenderResult:
    """Load, render and validate a spec file (semantic rules always; the CRD schema when `crd_dir` is given)."""
    text, name = read_text(path)
    docs = parse_documents(text, name)
    if len(docs) != 1 or not is_spec_document(docs[0].data):
        raise InputError(f"{name}: not a rayctl spec (expected one YAML mapping without apiVersion/kind)",
                         hint="`rayctl validate` also checks rendered manifests; `rayctl init` writes a spec")
    spec = spec_from_doc(docs[0], overrides)
    return render_spec(spec, source=name, profile=profile, crd_dir=crd_dir, ray_schema=ray_schema, doc=docs[0])


def validate_file(
    path: str | Path,
    *,
    overrides: Sequence[str] = (),
    profile: Profile = None,
    crd_dir: Path | None = None,
    ray_schema: bool = True,
) -> ValidationReport:
    """Validate a spec (rendered first) or a manifest file with any number of documents."""
    text, name = read_text(path)
    docs = parse_documents(text, name)
    if not docs:
        raise InputError(f"{name}: no YAML documents found")
    if len(docs) == 1 and is_spec_document(docs[0].data):
        spec = spec_from_doc(docs[0], overrides)
        rendered = render(spec, profile=profile)
        report = validate_objects(rendered.objects, crd_dir=crd_dir, ray_schema=ray_schema, source=name)
        report = _for_spec(report, docs[0])
    else:
        if overrides:
            raise InputError("--set only applies to a rayctl spec, not to manifests")
        objects = []
        for index, doc in enumerate(docs):
            if not isinstance(doc.data, dict):
                raise InputError(f"{name}: document {index + 1} is not a mapping")
            objects.append(doc.data)
        report = validate_objects(objects, crd_dir=crd_dir, ray_schema=ray_schema, source=name)
    if not report.ok:
        raise InvalidError(report)
    return report
