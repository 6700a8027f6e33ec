"""`rayctl run`: run a spec's Serve applications on a local Ray (thin: the work is in rayctl.localrun)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from rayctl.cli.app import app, err, out

DEFAULT_PORT = 8000


@app.command("run")
def run_command(
    spec: Path | None = typer.Argument(
        None,
        help="Deployment spec (YAML). Omitted: the embedded default example (the text pipeline).",
        exists=False,
        dir_okay=False,
    ),
    profile: str | None = typer.Option(
        None,
        "--profile",
        metavar="cpu|gpu",
        help="cpu: force every bundled app onto its CPU fallback; gpu: as rendered.",
    ),
    port: int | None = typer.Option(
        None, "--port", help=f"HTTP port of Serve's proxy (default {DEFAULT_PORT}, or a free port if it is taken)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface Serve's proxy listens on."),
    overrides: list[str] = typer.Option(
        [], "--set", metavar="PATH=VALUE", help="Override a spec value (repeatable), as in `rayctl render`."
    ),
    serve_config: Path | None = typer.Option(
        None,
        "--serve-config",
        help="Run this serveConfigV2 (YAML/JSON, or a RayService manifest) instead of rendering a spec.",
        dir_okay=False,
    ),
    smoke: bool = typer.Option(
        False, "--smoke", help="Deploy, send one sample request to each app, print the answers, shut down."
    ),
    no_block: bool = typer.Option(
        False, "--no-block", "--once", help="Deploy, print the URLs, shut down (a deployability check)."
    ),
    timeout: float = typer.Option(900.0, "--timeout", help="Seconds to wait for the apps to be RUNNING."),
    high_throughput: bool | None = typer.Option(
        None,
        "--high-throughput/--no-high-throughput",
        help="Ray Serve's high-throughput mode (HAProxy ingress, direct gRPC) on the local Ray, overriding the "
        "spec's serve.highThroughput (needs haproxy on PATH).",
    ),
) -> None:
    """Run the spec's Serve applications on a local Ray started (and stopped) by rayctl.

    Deploys exactly the serveConfigV2 that `rayctl render` puts in the RayService. Ctrl-C stops Serve and Ray.
    """
    from rayctl import localrun
    from rayctl.errors import InputError

    if profile not in (None, "cpu", "gpu"):
        raise InputError(f"--profile must be cpu or gpu, got {profile!r}")
    if serve_config is not None and (spec is not None or overrides):
        raise InputError("--serve-config cannot be combined with a SPEC or --set")
    localrun.require_ray()
    if serve_config is not None:
        target = localrun.LocalTarget(localrun.load_serve_config_file(serve_config))
    else:
        target = localrun.target_from_spec(spec, profile=profile, overrides=tuple(overrides))
    if high_throughput is not None:
        target.serve_env.update(localrun.high_throughput_env(high_throughput))
    localrun.check_serve_env(target.serve_env)
    if port is None:
        port = DEFAULT_PORT if localrun.port_is_free(host, DEFAULT_PORT) else localrun.free_port(host)
        if port != DEFAULT_PORT:
            err(f"port {DEFAULT_PORT} is taken; using {port}")
    code = localrun.run(
        target.serve_config,
        host=host,
        port=port,
        profile=profile,
        block=not no_block,
        smoke_test=smoke,
        timeout_s=timeout,
        serve_env=target.serve_env,
        out=out,
        err=err,
    )
    if code:
        # not typer.Exit: with standalone_mode=False click returns its code instead of exiting
        sys.exit(code)
