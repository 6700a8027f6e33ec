"""Commands that need no cluster: schema, init, render, validate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import typer

from rayctl.cli.app import app, err, out
from rayctl.errors import InputError

PROFILE_HELP = "cpu: force every bundled app onto its CPU fallback (no GPU asks); gpu: force GPU."
CRD_DIR_HELP = "Folder with KubeRay's CRD YAML files (default: $RAYCTL_CRD_DIR) to check against the CRD schema."
Format = Literal["yaml", "json"]


def _profile(value: str | None) -> Literal["cpu", "gpu"] | None:
    if value not in (None, "cpu", "gpu"):
        raise typer.BadParameter("must be cpu or gpu", param_hint="--profile")
    return value  # type: ignore[return-value]


def _crd_dir(value: Path | None) -> Path | None:
    from rayctl.validate import default_crd_dir

    return value if value is not None else default_crd_dir()


def print_report(report: object, *, notes: bool = True) -> None:
    from rayctl.validate import ValidationReport

    assert isinstance(report, ValidationReport)
    for finding in report.findings:
        err(f"{finding.severity}: {finding}")
    for note in report.notes if notes else []:
        err(f"note: {note}")
    for skipped in report.skipped:
        err(f"skipped: {skipped}")


def _print_invalid(exc: Exception, *, notes: bool = True) -> None:
    """Warnings and notes of a failed validation; the errors themselves are in the exception's message."""
    from rayctl.core import InvalidError
    from rayctl.validate import ValidationReport

    if isinstance(exc, InvalidError):
        report = exc.report
        print_report(ValidationReport(findings=report.warnings, notes=report.notes, skipped=report.skipped),
                     notes=notes)


@app.command()
def render(
    spec: str = typer.Argument(..., metavar="SPEC", help="Spec file ('-' reads stdin)."),
    output: str = typer.Option("-", "--output", "-o", help="Write to FILE instead of stdout ('-')."),
    overrides: list[str] = typer.Option([], "--set", help="Override a spec value: path=value (repeatable)."),
    profile: str | None = typer.Option(None, "--profile", help=PROFILE_HELP),
    crd_dir: Path | None = typer.Option(None, "--crd-dir", help=CRD_DIR_HELP),
    fmt: str = typer.Option("yaml", "--format", help="yaml or json (a v1 List)."),
) -> None:
    """Render the spec into a RayService manifest (stdout by default: pipe it into `kubectl apply -f -`)."""
    from rayctl.core import InvalidError, render_file

    if fmt not in ("yaml", "json"):
        raise typer.BadParameter("must be yaml or json", param_hint="--format")
    try:
        result = render_file(spec, overrides=overrides, profile=_profile(profile), crd_dir=_crd_dir(crd_dir))
    except InvalidError as exc:
        _print_invalid(exc, notes=False)
        raise
    print_report(result.report, notes=False)  # render checks the rules, not the CRD: no note needed
    text = result.rendered.text if fmt == "yaml" else json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": result.rendered.objects}, indent=2) + "\n"
    if output == "-":
        out(text)
    else:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {output}: {exc.strerror}") from None
        err(f"wrote {output}")


@app.command()
def validate(
    file: str = typer.Argument(
        ..., metavar="FILE", help="A rayctl spec, or a manifest file (multi-document YAML is fine)."
    ),
    overrides: list[str] = typer.Option([], "--set", help="Override a spec value: path=value (repeatable)."),
    profile: str | None = typer.Option(None, "--profile", help=PROFILE_HELP),
    crd_dir: Path | None = typer.Option(None, "--crd-dir", help=CRD_DIR_HELP),
    ray_schema: bool = typer.Option(True, "--ray-schema/--no-ray-schema",
                                    help="Also check serveConfigV2 with Ray's own Serve schema when ray is installed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only problems."),
) -> None:
    """Validate a spec or a RayService manifest: CRD schema, Ray's Serve schema, semantic rules.

    Exit 0 when valid (warnings are printed), 3 when there are errors."""
    from rayctl.core import InvalidError, validate_file

    try:
        report = validate_file(file, overrides=overrides, profile=_profile(profile), crd_dir=_crd_dir(crd_dir),
                               ray_schema=ray_schema)
    except InvalidError as exc:
        _print_invalid(exc)
        raise
    print_report(report)
    if not quiet:
        warnings = len(report.warnings)
        suffix = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
        for name in report.checked:
            err(f"{name}: valid{suffix}")


@app.command()
def schema(
    fmt: str = typer.Option("json", "--output", "-o", help="json or yaml."),
) -> None:
    """Print the spec's JSON Schema (the Helm chart's values.schema.json is generated from it)."""
    from rayctl.spec.schema import spec_json_schema

    if fmt not in ("json", "yaml"):
        raise typer.BadParameter("must be json or yaml", param_hint="--output")
    data = spec_json_schema()
    if fmt == "json":
        out(json.dumps(data, indent=2))
    else:
        from rayctl.render import dump_yaml

        out(dump_yaml(data))


@app.command()
def init(
    path: str = typer.Argument("rayctl.yaml", help="Where to write the spec ('-' for stdout)."),
    example: str = typer.Option("hello", "--example", "-e", help="Starting point; --list shows them."),
    list_examples: bool = typer.Option(False, "--list", help="List the examples and exit."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented starting spec."""
    from rayctl.examples_catalog import example_names, example_text

    if list_examples:
        for name, summary in example_names().items():
            out(f"{name:16} {summary}")
        return
    text = example_text(example)
    if path == "-":
        out(text)
        return
    target = Path(path)
    if target.exists() and not force:
        raise InputError(f"{path} already exists", hint="pass --force to overwrite, or choose another path")
    target.write_text(text, encoding="utf-8")
    err(f"wrote {path} (example {example!r}); next: rayctl validate {path} && rayctl render {path}")
