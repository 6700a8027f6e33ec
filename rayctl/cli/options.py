"""Options several commands share, spelled as kubectl and helm users expect."""

from __future__ import annotations

from typing import Any, Literal

import typer

KUBECONFIG_OPT = typer.Option(
    None,
    "--kubeconfig",
    metavar="FILE",
    help="Path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else in-cluster).",
)
CONTEXT_OPT = typer.Option(None, "--context", metavar="NAME", help="The kubeconfig context to use.")
OUTPUT_OPT = typer.Option(None, "-o", "--output", metavar="yaml|json", help="Print data to stdout as yaml or json.")
SET_OPT = typer.Option(
    [], "--set", metavar="KEY=VALUE", help="Override a spec value, e.g. workerGroups[0].replicas=2 (repeatable)."
)
PROFILE_OPT = typer.Option(
    None,
    "--profile",
    metavar="cpu|gpu",
    help="cpu: every bundled app on its CPU fallback, no GPU asks; gpu: every app on its GPU path.",
)


def namespace_opt(default_help: str) -> Any:
    return typer.Option(None, "-n", "--namespace", metavar="NAME", help=f"Namespace (default: {default_help}).")


def check_profile(value: str | None) -> Literal["cpu", "gpu"] | None:
    if value not in (None, "cpu", "gpu"):
        raise typer.BadParameter("must be cpu or gpu", param_hint="--profile")
    return value  # type: ignore[return-value]


def check_output(output: str | None) -> None:
    if output not in (None, "yaml", "json"):
        raise typer.BadParameter("must be yaml or json", param_hint="-o/--output")
