"""Commands that need no cluster (validate can ask one for its CRDs): schema, init, render, validate, crds pull."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rayctl.cli.app import app, err, out
from rayctl.cli.options import CONTEXT_OPT, KUBECONFIG_OPT, PROFILE_OPT, SET_OPT, check_profile
from rayctl.errors import InputError, UsageError

LISTED = 50
"""Findings (and skipped objects) printed per kind; a file of 50 000 objects does not print 50 000 lines."""
CRD_DIR_HELP = "Folder with KubeRay's CRD YAML files (default: $RAYCTL_CRD_DIR, then the `rayctl crds pull` cache)."


def print_report(report: object, *, notes: bool = True, skipped: bool = True) -> None:
    from rayctl.validate import ValidationReport

    assert isinstance(report, ValidationReport)
    for finding in report.findings[:LISTED]:
        err(f"{finding.severity}: {finding}")
    for note in report.notes if notes else []:
        err(f"note: {note}")
    listed = report.skipped if skipped else []
    for name in listed[:LISTED]:
        err(f"skipped: {name}")
    hidden = max(0, len(report.findings) - LISTED) + max(0, len(listed) - LISTED)
    if hidden:
        err(f"... and {hidden} more findings and skipped objects not listed")


def print_invalid(exc: Exception, *, notes: bool = True, skipped: bool = True) -> None:
    """Warnings and notes of a failed validation; the errors themselves are in the exception's message."""
    from rayctl.validate import ValidationReport
    from rayctl.workflow import InvalidError

    if isinstance(exc, InvalidError):
        report = exc.report
        print_report(ValidationReport(findings=report.warnings, notes=report.notes, skipped=report.skipped),
                     notes=notes, skipped=skipped)


def _output_format(output: str | None, fmt: str | None, output_file: str | None) -> tuple[str, str | None]:
    """(format, file) from kubectl's `-o yaml|json`, the older `--format`, and `--output-file`. `-o FILE` (the
    spelling before rayctl followed kubectl) still writes FILE, with a note."""
    if output is not None and output not in ("yaml", "json"):
        if output_file is not None:
            raise UsageError("-o takes yaml or json; the file goes in --output-file")
        err(f"note: `-o {output}` as an output file is deprecated: use `--output-file {output}` (-o is the format, "
            "as in kubectl)")
        output, output_file = None, output
    if fmt is not None and fmt not in ("yaml", "json"):
        raise typer.BadParameter("must be yaml or json", param_hint="--format")
    if output is not None and fmt is not None and output != fmt:
        raise UsageError(f"-o {output} and --format {fmt} disagree; use -o")
    chosen = output or fmt or "yaml"
    return chosen, (None if output_file in (None, "-") else output_file)


def _write_or_print(text: str, output_file: str | None) -> None:
    if output_file is None:
        out(text)
        return
    try:
        Path(output_file).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {output_file}: {exc.strerror}") from exc
    err(f"wrote {output_file}")


@app.command()
def render(
    spec: str = typer.Argument(..., metavar="FILE", help="Spec file ('-' reads stdin)."),
    output: str | None = typer.Option(None, "-o", "--output", metavar="yaml|json",
                                      help="Output format: yaml (multi-document) or json (a v1 List)."),
    output_file: str | None = typer.Option(None, "--output-file", metavar="FILE",
                                           help="Write to FILE instead of stdout."),
    fmt: str | None = typer.Option(None, "--format", metavar="yaml|json", help="Same as -o (kept for scripts)."),
    overrides: list[str] = SET_OPT,
    profile: str | None = PROFILE_OPT,
    crd_dir: Path | None = typer.Option(None, "--crd-dir", metavar="DIR", help=CRD_DIR_HELP),
) -> None:
    """Render the spec into Kubernetes objects (stdout by default: pipe it into `kubectl apply -f -`)."""
    from rayctl.workflow import InvalidError, render_file
    from rayctl.workflow.crds import DirCrds

    chosen, target = _output_format(output, fmt, output_file)
    try:
        result = render_file(spec, overrides=overrides, profile=check_profile(profile),
                             crds=DirCrds(crd_dir) if crd_dir is not None else None)
    except InvalidError as exc:
        print_invalid(exc, notes=False, skipped=False)
        raise
    # render checks the rules (the CRD only when given one); its own companions (Ingress, monitoring) need no note
    print_report(result.report, notes=False, skipped=False)
    rendered = result.require_rendered()
    text = rendered.text if chosen == "yaml" else json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": rendered.objects}, indent=2) + "\n"
    _write_or_print(text, target)


@app.command()
def validate(
    file: str = typer.Argument(..., metavar="FILE",
                               help="A rayctl spec, or a manifest file (multi-document YAML or JSON)."),
    overrides: list[str] = SET_OPT,
    profile: str | None = PROFILE_OPT,
    crd_dir: Path | None = typer.Option(None, "--crd-dir", metavar="DIR", help=CRD_DIR_HELP),
    from_cluster: bool = typer.Option(False, "--from-cluster",
                                      help="Check against the CRDs the current cluster serves."),
    kubeconfig: str | None = KUBECONFIG_OPT,
    context: str | None = CONTEXT_OPT,
    ray_schema: bool = typer.Option(True, "--ray-schema/--no-ray-schema",
                                    help="Also check serveConfigV2 with Ray's own Serve schema when ray is installed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only problems."),
) -> None:
    """Validate a spec or a RayService manifest: CRD schema, Ray's Serve schema, semantic rules.

    Exit 0 when valid (warnings are printed), 3 when there are errors."""
    from rayctl.workflow import InvalidError, validate_file
    from rayctl.workflow.crds import ClusterCrds, CrdSource, FirstOf, local_source

    source: CrdSource | None = local_source(crd_dir) if not from_cluster or crd_dir is not None else None
    if from_cluster:
        from rayctl.k8s.cluster import Target, connect

        cluster = connect(Target(kubeconfig, context, None))
        remote = ClusterCrds(cluster.get_crd, label=f"the cluster at {cluster.server}")
        source = FirstOf([remote, source]) if source is not None else remote
    elif kubeconfig or context:
        raise UsageError("--kubeconfig/--context only apply with --from-cluster")
    try:
        report = validate_file(file, overrides=overrides, profile=check_profile(profile), crds=source,
                               ray_schema=ray_schema)
    except InvalidError as exc:
        print_invalid(exc)
        raise
    print_report(report)
    if not quiet:
        warnings = len(report.warnings)
        suffix = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
        checked_against = f"; CRD schema from {source.label}" if source is not None else ""
        if len(report.checked) == 1:
            err(f"{report.checked[0]}: valid{suffix}{checked_against}")
            return
        for name in report.checked[:LISTED]:
            err(f"{name}: valid")
        if len(report.checked) > LISTED:
            err(f"... and {len(report.checked) - LISTED} more valid objects")
        err(f"{len(report.checked)} objects valid{suffix}{checked_against}")


@app.command()
def schema(
    fmt: str = typer.Option("json", "--output", "-o", metavar="json|yaml", help="json or yaml."),
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
    path: str = typer.Argument("rayctl.yaml", metavar="FILE", help="Where to write the spec ('-' for stdout)."),
    example: str | None = typer.Option(None, "--example", "-e", metavar="NAME",
                                       help="Start from a shipped example (default: hello); --list shows them."),
    app_type: str | None = typer.Option(None, "--app-type", "-t", metavar="TYPE",
                                        help="Start from a minimal spec with one application of TYPE."),
    list_examples: bool = typer.Option(False, "--list", help="List the examples and application types, then exit."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented starting spec."""
    from rayctl.examples_catalog import app_type_names, app_type_text, example_names, example_text

    if list_examples:
        out("examples (--example):")
        for name, summary in example_names().items():
            out(f"  {name:16} {summary}")
        out("application types (--app-type):")
        for name, summary in app_type_names().items():
            out(f"  {name:16} {summary}")
        return
    if example is not None and app_type is not None:
        raise UsageError("--example and --app-type are alternatives: pick one")
    text = app_type_text(app_type) if app_type is not None else example_text(example or "hello")
    if path == "-":
        out(text)
        return
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{path} is a directory", hint=f"give a file name, e.g. {target / 'rayctl.yaml'}")
    if target.exists() and not force:
        raise InputError(f"{path} already exists", hint="pass --force to overwrite, or choose another path")
    if not target.parent.is_dir():
        raise InputError(f"{target.parent} does not exist", hint=f"create it first: mkdir -p {target.parent}")
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc
    what = f"application type {app_type!r}" if app_type else f"example {example or 'hello'!r}"
    err(f"wrote {path} ({what}); next: rayctl validate {path} && rayctl render {path}")


crds_app = typer.Typer(help="KubeRay CRDs for `rayctl validate` (download once, validate offline).",
                       no_args_is_help=True)
app.add_typer(crds_app, name="crds")


@crds_app.command("pull")
def crds_pull(
    version: str | None = typer.Option(None, "--version", metavar="vX.Y.Z",
                                       help="KubeRay release (default: the one rayctl targets)."),
    dest: Path | None = typer.Option(None, "--dest", metavar="DIR", help="Write here instead of the user cache."),
    base_url: str | None = typer.Option(None, "--base-url", metavar="URL",
                                        help="Where the release files are (default: KubeRay on GitHub)."),
) -> None:
    """Download KubeRay's CRD files into rayctl's cache; `rayctl validate` then uses them."""
    from rayctl.workflow.crds import CRD_BASE_URL, KUBERAY_VERSION, pull_crds

    written = pull_crds(version or KUBERAY_VERSION, base_url=base_url or CRD_BASE_URL, dest=dest)
    for path in written:
        out(str(path))
    err(f"KubeRay {version or KUBERAY_VERSION} CRDs ready in {written[0].parent}")
