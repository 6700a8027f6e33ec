"""`rayctl dev up [SPEC]` / `rayctl dev down`: the local kind loop (rayctl/devloop). Progress on stderr, URLs on
stdout."""

from __future__ import annotations

from pathlib import Path

import typer

from rayctl.cli.app import app, err, out

dev_app = typer.Typer(
    name="dev",
    help="A local kind cluster with the KubeRay operator, running a spec on its CPU profile.",
    no_args_is_help=True,
)
app.add_typer(dev_app, name="dev")

CLUSTER_OPT = typer.Option("rayctl", "--name", help="The kind cluster's name.")
KUBECONFIG_OPT = typer.Option(
    None, "--kubeconfig", help="Where kind writes the cluster's context (default: $KUBECONFIG, ~/.kube/config)."
)


@dev_app.command("up")
def up_cmd(
    spec: Path | None = typer.Argument(None, metavar="[SPEC]", help="A deployment spec to run (CPU profile)."),
    set_: list[str] = typer.Option([], "--set", help="Override a spec field: --set path.to.field=value."),
    name: str = CLUSTER_OPT,
    kind_config: Path | None = typer.Option(
        None, "--kind-config", help="kind cluster config (default: ./kind-config.yaml, else the repository's)."
    ),
    node_image: str | None = typer.Option(None, "--node-image", help="kind node image (e.g. a locally built one)."),
    image: list[str] = typer.Option(
        [], "--image", help="Image(s) to load into the nodes; the first becomes ray.image unless --set gives one."
    ),
    operator_image: str | None = typer.Option(
        None, "--operator-image", help="Install the KubeRay operator from manifests with this (loaded) image: offline."
    ),
    operator_source: Path | None = typer.Option(
        None, "--operator-source", help="The operator's module source (config/rbac, config/manager), offline."
    ),
    crd_dir: Path | None = typer.Option(None, "--crd-dir", help="KubeRay CRDs for --operator-image ($RAYCTL_CRD_DIR)."),
    chart_version: str = typer.Option("1.7.0", "--chart-version", help="kuberay/kuberay-operator chart version."),
    code_dir: Path | None = typer.Option(
        None, "--code", help="App package directory shipped as a ConfigMap on PYTHONPATH (default: ./serve_apps)."
    ),
    no_code: bool = typer.Option(False, "--no-code", help="Ship no code: the image already has it."),
    namespace: str | None = typer.Option(None, "-n", "--namespace", help="Namespace (default: the spec's)."),
    kubeconfig: str | None = KUBECONFIG_OPT,
    serve_port: int = typer.Option(8000, "--serve-port", help="Host port (127.0.0.1) for Serve, when creating."),
    dashboard_port: int = typer.Option(8265, "--dashboard-port", help="Host port of the dashboard, when creating."),
    isolated: bool = typer.Option(
        False, "--isolated", help="No upstream DNS in the cluster: CoreDNS answers cluster names only."
    ),
    timeout: str = typer.Option("10m", "--timeout", help="How long to wait for the operator and for Ready."),
) -> None:
    """Create (or reuse) the kind cluster, install the KubeRay operator, load images, apply SPEC and wait for Ready."""
    from rayctl.cli.cluster_cmds import _wait, parse_duration
    from rayctl.cli.spec_cmds import print_invalid
    from rayctl.devloop.up import DevLoop, UpOptions
    from rayctl.workflow import InvalidError

    if code_dir is None and not no_code and spec is not None and Path("serve_apps/__init__.py").is_file():
        code_dir = Path("serve_apps")
    opts = UpOptions(
        spec=spec, overrides=list(set_), cluster=name, kind_config=kind_config, node_image=node_image,
        operator_image=operator_image, operator_source=operator_source, crd_dir=crd_dir, chart_version=chart_version,
        images=list(image), code_dir=None if no_code else code_dir, namespace=namespace, kubeconfig=kubeconfig,
        serve_port=serve_port, dashboard_port=dashboard_port, isolated=isolated, timeout_s=parse_duration(timeout),
    )  # fmt: skip
    try:
        result = DevLoop(opts, log=lambda line: err(f"dev: {line}"), wait=_wait).up()
    except InvalidError as exc:  # the spec (on its CPU profile, with the dev loop's objects) failed the checks
        print_invalid(exc)
        raise
    timing = ", ".join(f"{k} {v:g}s" for k, v in result.timings.items())
    err(f"dev: cluster {result.cluster} ready (context {result.context}; {timing})")
    if result.name:
        for u in result.urls:
            out(u)
        if result.dashboard:
            err(f"dev: Ray dashboard: {result.dashboard}")
        err(f"dev: rayctl status {result.name} -n {result.namespace} --context {result.context}")


@dev_app.command("diff")
def diff_cmd(
    spec: Path = typer.Argument(..., metavar="SPEC", help="The deployment spec `dev up` would apply (CPU profile)."),
    set_: list[str] = typer.Option([], "--set", help="Override a spec field: --set path.to.field=value."),
    name: str = CLUSTER_OPT,
    image: list[str] = typer.Option([], "--image", help="As for `dev up`: the first becomes cpuProfile.image."),
    crd_dir: Path | None = typer.Option(None, "--crd-dir", help="Local KubeRay CRDs if the cluster's are unreadable."),
    code_dir: Path | None = typer.Option(None, "--code", help="App package shipped as a ConfigMap (./serve_apps)."),
    no_code: bool = typer.Option(False, "--no-code", help="Ship no code: the image already has it."),
    namespace: str | None = typer.Option(None, "-n", "--namespace", help="Namespace (default: the spec's)."),
    kubeconfig: str | None = KUBECONFIG_OPT,
    output: str | None = typer.Option(None, "-o", "--output", help="yaml|json: the diff and the plan as data."),
) -> None:
    """What `rayctl dev up SPEC` would change on the dev cluster (the same objects: CPU profile, code ConfigMap,
    NodePorts) and what KubeRay will do: in place or a new RayCluster. Exit 0: no differences, 1: differences."""
    from rayctl.cli.cluster_cmds import _check_output, print_diff
    from rayctl.cli.spec_cmds import print_invalid
    from rayctl.devloop.up import DevLoop, UpOptions
    from rayctl.workflow import InvalidError

    _check_output(output)
    if code_dir is None and not no_code and Path("serve_apps/__init__.py").is_file():
        code_dir = Path("serve_apps")
    opts = UpOptions(spec=spec, overrides=list(set_), cluster=name, crd_dir=crd_dir, images=list(image),
                     code_dir=None if no_code else code_dir, namespace=namespace, kubeconfig=kubeconfig)
    try:
        report = DevLoop(opts, log=lambda line: err(f"dev: {line}")).diff()
    except InvalidError as exc:
        print_invalid(exc)
        raise
    print_diff(report, output)


@dev_app.command("down")
def down_cmd(name: str = CLUSTER_OPT, kubeconfig: str | None = KUBECONFIG_OPT) -> None:
    """Delete the kind cluster (exit 0 when it does not exist)."""
    from rayctl.devloop.up import DevLoop, UpOptions

    DevLoop(UpOptions(cluster=name, kubeconfig=kubeconfig), log=lambda line: err(f"dev: {line}")).down()
