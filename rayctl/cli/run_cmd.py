"""`rayctl run`: run a spec's Serve applications on a local Ray (thin: the work is in rayctl.localrun)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from rayctl.cli.app import app, err, out
from rayctl.cli.options import PROFILE_OPT, SET_OPT, check_profile

DEFAULT_PORT = 8000


@app.command("run")
def run_command(
    spec: Path | None = typer.Argument(
        None,
        metavar="[FILE]",
        help="Deployment spec (YAML). Omitted: the embedded default example (the text pipeline).",
        exists=False,
        dir_okay=False,
    ),
    profile: str | None = PROFILE_OPT,
    port: int | None = typer.Option(
        None, "--port", metavar="PORT",
        help=f"HTTP port of Serve's proxy (default {DEFAULT_PORT}, or a free port if it is taken).",
    ),
    host: str = typer.Option("127.0.0.1", "--host", metavar="ADDRESS", help="Interface Serve's proxy listens on."),
    overrides: list[str] = SET_OPT,
    serve_config: Path | None = typer.Option(
        None,
        "--serve-config",
        metavar="FILE",
        help="Run this serveConfigV2 (YAML/JSON, or a RayService manifest) instead of rendering a spec.",
        dir_okay=False,
    ),
    smoke: bool = typer.Option(
        False, "--smoke", help="Deploy, send one sample request to each app, print the answers, shut down."
    ),
    no_block: bool = typer.Option(
        False, "--no-block", "--once", help="Deploy, print the URLs, shut down (a deployability check)."
    ),
    timeout: float = typer.Option(
        900.0, "--timeout", metavar="SECONDS", help="Seconds to wait for the apps to be RUNNING."
    ),
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

    if serve_config is not None and (spec is not None or overrides or profile is not None):
        raise InputError("--serve-config runs a Serve config as written: it cannot be combined with a SPEC, --set or "
                         "--profile (render a spec with --profile cpu for the CPU fallbacks)")
    localrun.require_ray()
    if serve_config is not None:
        target = localrun.LocalTarget(localrun.load_serve_config_file(serve_config))
    else:
        from rayctl.workflow.local import target_from_spec

        target = target_from_spec(spec, profile=check_profile(profile), overrides=tuple(overrides))
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
