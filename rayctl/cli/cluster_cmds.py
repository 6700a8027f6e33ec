"""Cluster commands: apply, diff, status, delete. Thin: parse options, call one function in rayctl.k8s, print.

Diagnostics and progress go to stderr; `-o yaml|json` data goes to stdout. Nothing Kubernetes-related is
imported at
module import time.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import typer

from rayctl.cli.app import app, err, out
from rayctl.cli.options import (
    CONTEXT_OPT,
    KUBECONFIG_OPT,
    OUTPUT_OPT,
    PROFILE_OPT,
    SET_OPT,
    check_output,
    check_profile,
    namespace_opt,
)
from rayctl.errors import ExitCode, NotFoundError, UsageError, WaitTimeoutError


def _namespace_opt(default_help: str) -> Any:
    return namespace_opt(default_help)


def parse_duration(text: str) -> float:
    """`10m`, `90s`, `1h30m`, `45` (seconds) -> seconds."""
    t = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t)
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", t)
    if not parts or "".join(a + b for a, b in parts) != t:
        raise typer.BadParameter(f"invalid duration {text!r} (use e.g. 90s, 10m, 1h)")
    mult = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(a) * mult[b] for a, b in parts)


def _check_output(output: str | None) -> None:
    check_output(output)


def _dump(data: Any, output: str) -> str:
    if output == "json":
        return json.dumps(data, indent=2, sort_keys=False, default=str)
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000)


@app.command("apply")
def apply_cmd(
    spec_path: Path = typer.Argument(..., metavar="FILE", help="The deployment spec (YAML)."),
    set_: list[str] = SET_OPT,
    profile: str | None = PROFILE_OPT,
    namespace: str | None = _namespace_opt("the spec's namespace"),
    kubeconfig: str | None = KUBECONFIG_OPT,
    context: str | None = CONTEXT_OPT,
    create_namespace: bool = typer.Option(False, "--create-namespace", help="Create the namespace if missing."),
    dry_run: str | None = typer.Option(
        None, "--dry-run", metavar="server", help="'server': send to the API server without persisting."
    ),
    force_conflicts: bool = typer.Option(
        False, "--force-conflicts", help="Take over fields owned by another field manager."
    ),
    wait: bool = typer.Option(False, "--wait", help="Wait until the RayService is Ready and rolled out."),
    timeout: str = typer.Option("10m", "--timeout", metavar="DURATION", help="How long --wait waits (e.g. 90s, 10m)."),
    output: str | None = OUTPUT_OPT,
) -> None:
    """Render SPEC, validate it and server-side apply it (field manager `rayctl`)."""
    _check_output(output)
    if dry_run not in (None, "server", "none"):
        raise typer.BadParameter(
            "only --dry-run=server is supported (client-side: use `rayctl render`)", param_hint="--dry-run"
        )
    is_dry = dry_run == "server"
    timeout_s = parse_duration(timeout)
    from rayctl.k8s.cluster import Target
    from rayctl.k8s.ops import apply_objects

    ready = _for_cluster(spec_path, set_, profile, Target(kubeconfig, context, namespace))
    cluster, objects = ready.cluster, ready.objects
    results = apply_objects(cluster, objects, force=force_conflicts, dry_run=is_dry, create_namespace=create_namespace)
    for r in results:
        (err if output else out)(r.line())
    if output:
        items = [r.object for r in results]
        out(_dump(items[0] if len(items) == 1 else {"apiVersion": "v1", "kind": "List", "items": items}, output))
    if wait and not is_dry:
        _wait(cluster, ready.name, timeout_s)


def _for_cluster(spec_path: Path, overrides: list[str], profile: str | None, target: Any) -> Any:
    """The spec rendered, connected and checked against the cluster's CRDs (the workflow every cluster verb
    shares); prints the warnings."""
    from rayctl.cli.spec_cmds import print_invalid
    from rayctl.workflow import InvalidError
    from rayctl.workflow.cluster import prepare_for_cluster

    try:
        ready = prepare_for_cluster(spec_path, overrides=overrides, profile=check_profile(profile), target=target)
    except InvalidError as exc:
        print_invalid(exc)
        raise
    for w in ready.warnings:
        err(f"warning: {w}")
    return ready


def _wait(cluster: Any, name: str, timeout_s: float) -> None:
    from rich.console import Console

    from rayctl.k8s.ops import wait_ready
    from rayctl.status import build_view_from, diagnose, progress_details, progress_line, rollout_done

    console = Console(stderr=True, log_path=False)
    last = {"key": ""}

    def changed(view: dict[str, Any]) -> list[str] | None:
        """The lines to print when the progress changed since the last poll, else None."""
        lines = [progress_line(view), *progress_details(view)]
        key = "\n".join(lines)
        if key == last["key"]:
            return None
        last["key"] = key
        return lines

    if console.is_terminal:
        from rich.text import Text

        with console.status(f"waiting for rayservice.ray.io/{name} to be Ready") as status:

            def update(view: dict[str, Any]) -> None:
                status.update(Text(f"rayservice.ray.io/{name}: {progress_line(view)}"))
                lines = changed(view)
                for line in lines or []:
                    console.log(Text(line))

            done, view = wait_ready(cluster, name, None, timeout=timeout_s, view=build_view_from, done=rollout_done,
                                    on_update=update)
    else:

        def update_plain(view: dict[str, Any]) -> None:
            lines = changed(view)
            if lines:
                err(f"waiting: {lines[0]}")
                for line in lines[1:]:
                    err(line)

        done, view = wait_ready(cluster, name, None, timeout=timeout_s, view=build_view_from, done=rollout_done,
                                on_update=update_plain)
    if done:
        err(f"rayservice.ray.io/{name} is Ready")
        return
    err("diagnosis:")
    err(diagnose(view or {}))
    raise WaitTimeoutError(
        f"rayservice.ray.io/{name} was not Ready after {timeout_s:g}s",
        hint=f"rayctl status {name} -n {cluster.namespace}",
    )


@app.command("status")
def status_cmd(
    name: str = typer.Argument(..., metavar="NAME", help="The RayService name."),
    namespace: str | None = _namespace_opt("the kubeconfig context's namespace, else default"),
    kubeconfig: str | None = KUBECONFIG_OPT,
    context: str | None = CONTEXT_OPT,
    output: str | None = OUTPUT_OPT,
) -> None:
    """Show a RayService: conditions, clusters, worker groups, Serve apps and the serve endpoint."""
    _check_output(output)
    from rayctl.k8s.cluster import Target, connect
    from rayctl.k8s.status import read_status_objects
    from rayctl.status import build_view_from, format_view

    cluster = connect(Target(kubeconfig, context, namespace))
    objects = read_status_objects(cluster, name)
    if objects is None:
        cluster.check_api("ray.io/v1", "RayService")  # missing CRDs: say so (with the helm command)
        raise NotFoundError(f"rayservice.ray.io/{name} not found in namespace {cluster.namespace}")
    view = build_view_from(objects)
    out(_dump(view, output) if output else format_view(view))


@app.command("delete")
def delete_cmd(
    name: str = typer.Argument(..., metavar="NAME", help="The RayService name."),
    namespace: str | None = _namespace_opt("the kubeconfig context's namespace, else default"),
    kubeconfig: str | None = KUBECONFIG_OPT,
    context: str | None = CONTEXT_OPT,
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until the RayService and its clusters are gone."),
    timeout: str = typer.Option("5m", "--timeout", metavar="DURATION", help="How long --wait waits."),
    ignore_not_found: bool = typer.Option(False, "--ignore-not-found", help="Exit 0 when it does not exist."),
) -> None:
    """Delete a RayService (its RayClusters and pods are garbage-collected)."""
    timeout_s = parse_duration(timeout)
    from rayctl.k8s.cluster import Target, connect
    from rayctl.k8s.ops import delete_rayservice

    cluster = connect(Target(kubeconfig, context, namespace))
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("refusing to delete without confirmation: stdin is not a terminal; pass -y")
        if not typer.confirm(f"delete rayservice.ray.io/{name} in namespace {cluster.namespace}?", err=True):
            err("aborted")
            sys.exit(int(ExitCode.INTERRUPTED))
    existed, left = delete_rayservice(cluster, name, None, wait=wait, timeout=timeout_s)
    if not existed:
        if ignore_not_found:
            err(f"rayservice.ray.io/{name} not found (ignored)")
            return
        raise NotFoundError(f"rayservice.ray.io/{name} not found in namespace {cluster.namespace}")
    out(f"rayservice.ray.io/{name} deleted")
    if left:
        raise WaitTimeoutError(
            f"still present after {timeout_s:g}s: {', '.join(left)}",
            hint="the KubeRay operator removes its finalizer (ray.io/rayservice-finalizer) and the garbage "
            "collector the RayClusters: are both running? (`kubectl get rayservice NAME -o yaml` shows what blocks)",
        )


@app.command("diff")
def diff_cmd(
    spec_path: Path = typer.Argument(..., metavar="FILE", help="The deployment spec (YAML)."),
    set_: list[str] = SET_OPT,
    profile: str | None = PROFILE_OPT,
    namespace: str | None = _namespace_opt("the spec's namespace"),
    kubeconfig: str | None = KUBECONFIG_OPT,
    context: str | None = CONTEXT_OPT,
    output: str | None = OUTPUT_OPT,
) -> None:
    """Show live vs desired (fields rayctl manages) and what the KubeRay operator will do with the change.
    Exit 0: no differences, 1: differences, >=2: error."""
    _check_output(output)
    from rayctl.k8s.cluster import Target
    from rayctl.workflow.cluster import diff_objects

    ready = _for_cluster(spec_path, set_, profile, Target(kubeconfig, context, namespace))
    print_diff(diff_objects(ready.cluster, ready.objects), output)


def print_diff(report: Any, output: str | None) -> None:
    """A `workflow.cluster.DiffReport` as `rayctl diff` prints it; exits 1 when something differs."""
    from rayctl.plan import format_plan

    if output:
        data = {
            "changed": report.changed,
            "plan": report.plan.to_dict() if report.plan is not None else None,
            "objects": [
                {"ref": o.ref, "changed": bool(o.diff), "diff": o.diff, "conflicts": o.conflicts}
                for o in report.objects
            ],
        }
        out(_dump(data, output))
    else:
        for o in report.objects:
            for c in o.conflicts:
                err(f"warning: {c}")
            if o.diff:
                out(o.diff)
        if report.plan is not None:
            out(format_plan(report.plan))
    if report.changed:
        sys.exit(int(ExitCode.DIFF))
