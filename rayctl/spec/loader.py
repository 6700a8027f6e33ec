"""Load a spec file: YAML (with positions) + `--set` overrides -> a validated DeploymentSpec."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rayctl.errors import InputError, shorten
from rayctl.spec.errors import SpecError, SpecIssue, to_spec_error
from rayctl.spec.model import DeploymentSpec
from rayctl.spec.yamlsrc import MAX_DEPTH, SourceDoc, format_path, parse_documents, parse_value, read_text

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _split_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    for match in _SEGMENT.finditer(path):
        gap = path[pos:match.start()]
        if gap not in ("", "."):
            raise InputError(f"--set {shorten(path)!r}: cannot parse the key path near {shorten(gap)!r}")
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if pos != len(path) or not parts:
        raise InputError(f"--set {shorten(path)!r}: cannot parse the key path (example: "
                         "serve.applications[0].routePrefix)")
    return parts


def apply_override(data: dict[str, Any], assignment: str) -> tuple[str | int, ...]:
    """Apply one `key.path[0].leaf=value` (value parsed as a YAML scalar/flow value, like `helm --set`); returns the
    path it wrote."""
    if "=" not in assignment:
        raise InputError(f"--set {shorten(assignment)!r}: expected key=value")
    key, raw = assignment.split("=", 1)
    parts = _split_path(key.strip())
    if len(parts) > MAX_DEPTH:
        raise InputError(f"--set {shorten(key)}: {len(parts)} path segments is deeper than any field "
                         f"(at most {MAX_DEPTH})")
    label = shorten(key)
    value = parse_value(raw, f"--set {label}") if raw != "" else ""
    node: Any = data
    for index, part in enumerate(parts[:-1]):
        nxt = parts[index + 1]
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise InputError(f"--set {label}: index [{part}] is out of range")
            node = node[part]
            continue
        if not isinstance(node, dict):
            raise InputError(f"--set {label}: {shorten(str(part))!r} is not inside a mapping")
        if part not in node or node[part] is None:
            if isinstance(nxt, int):
                raise InputError(f"--set {label}: {shorten(str(part))!r} has no list to index")
            node[part] = {}
        node = node[part]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise InputError(f"--set {label}: index [{last}] is out of range")
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise InputError(f"--set {label}: {shorten(str(last))!r} is not inside a mapping")
    return tuple(parts)


def spec_from_doc(doc: SourceDoc, overrides: Sequence[str] = ()) -> DeploymentSpec:
    if not isinstance(doc.data, dict):
        raise InputError(f"{doc.filename}: a spec is a YAML mapping, got {type(doc.data).__name__}")
    # A spec is also a Helm values file: a scalar the two YAML readers type differently would render different
    # objects through `helm install` than through `rayctl apply`. Reported with the spec's other problems.
    readings = [
        SpecIssue(doc.where(r.path), format_path(r.path),
                  f"{r.text} is {r.ours} to rayctl (YAML 1.1) but {r.theirs} to Helm and kubectl (go-yaml): "
                  f'quote it ("{r.text}") so that both read the string')
        for r in doc.go_readings
    ]
    for assignment in overrides:
        doc.overridden[apply_override(doc.data, assignment)] = f"--set {shorten(assignment)}"
    try:
        spec = DeploymentSpec.model_validate(doc.data)
    except ValidationError as exc:
        error = to_spec_error(exc, DeploymentSpec, doc)
        if readings:
            raise SpecError(readings + error.issues) from exc
        raise error from exc
    if readings:
        raise SpecError(readings)
    return spec


def load_spec_text(text: str, filename: str = "<spec>", overrides: Sequence[str] = ()) -> DeploymentSpec:
    docs = parse_documents(text, filename)
    if len(docs) != 1:
        raise InputError(f"{filename}: a spec file holds exactly one YAML document, found {len(docs)}")
    return spec_from_doc(docs[0], overrides)


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> DeploymentSpec:
    """Read and validate a spec file (`-` reads stdin)."""
    text, name = read_text(path)
    return load_spec_text(text, name, overrides)


def is_spec_document(data: Any) -> bool:
    """A spec has `serve`/`name` at the top and no Kubernetes `apiVersion`/`kind`."""
    return isinstance(data, dict) and "kind" not in data and "apiVersion" not in data
