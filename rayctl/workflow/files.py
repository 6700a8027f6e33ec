"""The one road from a user's file to checked objects: load -> spec -> render (with profile) -> validate -> objects.

Every verb takes it: `render`, `validate`, `apply`, `diff`, `run`, `dev up` and the chart parity tests. No network
here (the CRD source may be the cluster, read through the adapter the caller passes in). Findings on a rendered
spec point at the spec's own file:line:col; validation errors raise InvalidError (exit 3) carrying the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rayctl.apps.base import Profile
from rayctl.errors import InputError, shorten
from rayctl.render import Rendered, render
from rayctl.spec.errors import MAX_SHOWN
from rayctl.spec.loader import is_spec_document, spec_from_doc
from rayctl.spec.model import DeploymentSpec
from rayctl.spec.yamlsrc import SourceDoc, parse_documents, read_text
from rayctl.validate import ValidationReport, spec_path, validate_objects
from rayctl.validate.findings import Finding
from rayctl.workflow.crds import HOW_TO_SUPPLY, CrdSource, schemas_for


class InvalidError(InputError):
    """Validation found errors; `report` has all findings (warnings too)."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        count = len(report.errors)
        lines = "".join(f"\n  {finding}" for finding in report.errors[:MAX_SHOWN])
        if count > MAX_SHOWN:
            lines += f"\n  ... and {count - MAX_SHOWN} more (fix these first)"
        super().__init__(f"validation failed with {count} error{'s' if count != 1 else ''}:{lines}")


@dataclass
class Prepared:
    """A file taken the whole road: the spec (None for a manifest file), what was rendered, the objects and the
    validation report."""

    source: str
    objects: list[dict[str, Any]]
    report: ValidationReport
    spec: DeploymentSpec | None = None
    rendered: Rendered | None = None
    doc: SourceDoc | None = field(default=None, repr=False)

    def require_rendered(self) -> Rendered:
        assert self.rendered is not None, "not a spec"
        return self.rendered


def _path_key(path: str) -> tuple[str | int, ...]:
    """"serve.applications[0]" -> ("serve", "applications", 0)."""
    parts: list[str | int] = []
    for piece in path.replace("]", "").split("."):
        name, *indexes = piece.split("[")
        if name:
            parts.append(name)
        parts.extend(int(i) for i in indexes if i.isdigit())
    return tuple(parts)


def findings_on_spec(report: ValidationReport, doc: SourceDoc | None) -> ValidationReport:
    """Point the findings on a rendered spec at the spec fields (and their lines) they came from."""
    findings = []
    for f in report.findings:
        path = spec_path(f.path)
        source = doc.where(_path_key(path.split(" ", 1)[0])) if doc is not None else f.source
        findings.append(Finding(f.severity, path, f.message, source))
    report.findings = findings
    return report


def _objects_of(docs: list[SourceDoc], name: str) -> list[dict[str, Any]]:
    """The objects of a manifest file; a `kind: List` (what `kubectl get -o json` and `rayctl render -o json`
    write) contributes its items."""
    objects = []
    for index, doc in enumerate(docs):
        if not isinstance(doc.data, dict):
            raise InputError(f"{name}: document {index + 1} is not a mapping (got {type(doc.data).__name__})")
        if doc.data.get("kind") == "List" and doc.data.get("apiVersion") == "v1":
            items = doc.data.get("items")
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise InputError(f"{name}: document {index + 1} is a List whose items are not a list of objects")
            objects.extend(items)
        else:
            objects.append(doc.data)
    return objects


def check(objects: list[dict[str, Any]], *, source: str, crds: CrdSource | None, ray_schema: bool,
          doc: SourceDoc | None = None, crds_required: bool = False) -> ValidationReport:
    """Validate objects (CRD schema from `crds`, Ray's Serve schema when asked, the semantic rules). A manifest
    (`crds_required`) is never reported valid when its CRD schema could not be checked."""
    schemas = schemas_for(crds, objects)
    report = validate_objects(objects, crd_schemas=schemas or None, ray_schema=ray_schema, source=source)
    if doc is not None:
        report = findings_on_spec(report, doc)
    if crds_required:
        _nothing_skipped_silently(report, objects, source)
    if any("CRD schema not checked" in n for n in report.notes):
        report.notes = [n for n in report.notes if "CRD schema not checked" not in n]
        if crds_required:
            report.findings.append(Finding("error", "apiVersion", "the KubeRay CRD schema was not checked, so this "
                                           f"manifest cannot be called valid: {HOW_TO_SUPPLY}", source))
        else:
            report.notes.append(f"CRD schema not checked: {HOW_TO_SUPPLY}")
    return report


SKIPPED_NAMED = 3
"""Skipped objects named in the "nothing was validated" error; a file of 50 000 ConfigMaps gets one line."""


def _first_few(names: list[str]) -> str:
    if len(names) <= SKIPPED_NAMED:
        return "; ".join(names)
    return "; ".join(names[:SKIPPED_NAMED]) + f"; and {len(names) - SKIPPED_NAMED} more"


def _nothing_skipped_silently(report: ValidationReport, objects: list[Any], source: str) -> None:
    """A manifest file whose objects rayctl could not check is not valid: when nothing in it was checked (a file of
    ConfigMaps, a RayJob) and for every ray.io object it skipped (KubeRay would judge it, rayctl did not). Other
    objects next to a checked RayService (the Ingress or HTTPRoute rayctl renders) stay "skipped" notes."""
    for index, obj in enumerate(objects):
        api_version = obj.get("apiVersion") if isinstance(obj, dict) else None
        kind = obj.get("kind") if isinstance(obj, dict) else None
        if isinstance(api_version, str) and api_version.startswith("ray.io/") \
                and kind not in ("RayService", "RayCluster"):
            report.findings.append(Finding("error", "kind", f"object {index + 1} is a ray.io {shorten(str(kind))}, "
                                           "which rayctl does not check (RayService and RayCluster only), so this "
                                           "file cannot be called valid", source))
    if not report.checked:
        what = _first_few(report.skipped) or "no objects"
        report.findings.append(Finding("error", "kind", f"nothing in this file was validated ({what}): `rayctl "
                                       "validate` checks ray.io/v1 RayService and RayCluster objects", source))


def prepare(
    path: str | Path,
    *,
    overrides: Sequence[str] = (),
    profile: Profile = None,
    crds: CrdSource | None = None,
    ray_schema: bool = False,
    spec_only: bool = False,
) -> Prepared:
    """Take the file at `path` ('-' reads stdin) the whole road. A rayctl spec is rendered first; a manifest file
    (any number of documents) is validated as it is, unless `spec_only`. Raises InvalidError on errors."""
    text, name = read_text(path)
    docs = parse_documents(text, name)
    if not docs:
        raise InputError(f"{name}: no YAML documents found")
    if len(docs) == 1 and is_spec_document(docs[0].data):
        doc = docs[0]
        spec = spec_from_doc(doc, overrides)
        rendered = render(spec, profile=profile)
        report = check(rendered.objects, source=name, crds=crds, ray_schema=ray_schema, doc=doc)
        prepared = Prepared(name, rendered.objects, report, spec, rendered, doc)
    elif spec_only:
        raise InputError(f"{name}: not a rayctl spec (expected one YAML mapping without apiVersion/kind)",
                         hint="`rayctl validate` also checks rendered manifests; `rayctl init` writes a spec")
    else:
        if overrides:
            raise InputError("--set only applies to a rayctl spec, not to manifests")
        if profile is not None:
            raise InputError("--profile only applies to a rayctl spec, not to manifests")
        objects = _objects_of(docs, name)
        report = check(objects, source=name, crds=crds, ray_schema=ray_schema, crds_required=True)
        prepared = Prepared(name, objects, report)
    if not prepared.report.ok:
        raise InvalidError(prepared.report)
    return prepared


# The names the verbs and tests use.


def render_file(path: str | Path, *, overrides: Sequence[str] = (), profile: Profile = None,
                crds: CrdSource | None = None) -> Prepared:
    """A spec file rendered and checked by the semantic rules (and the CRD schema when `crds` is given)."""
    return prepare(path, overrides=overrides, profile=profile, crds=crds, spec_only=True)


def validate_file(path: str | Path, *, overrides: Sequence[str] = (), profile: Profile = None,
                  crds: CrdSource | None = None, ray_schema: bool = True) -> ValidationReport:
    """A spec (rendered first) or a manifest file with any number of documents, fully validated."""
    return prepare(path, overrides=overrides, profile=profile, crds=crds, ray_schema=ray_schema).report
