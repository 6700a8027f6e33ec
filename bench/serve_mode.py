"""The `--high-throughput` switch the Serve benchmarks share: run the local Ray as `serve.highThroughput: true` does
(HAProxy ingress, direct gRPC between replicas, user code on the replica's main loop, LLM direct streaming)."""

from __future__ import annotations

import argparse


def add_high_throughput_flag(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--high-throughput",
        action="store_true",
        help="run the local Ray in Ray Serve's high-throughput mode, as `serve.highThroughput: true` does (HAProxy "
        "ingress, direct gRPC between replicas, user code on the replica's main loop, LLM direct streaming)",
    )


def serve_env(args: argparse.Namespace) -> dict[str, str]:
    """The RAY_SERVE_* switches for the local Ray ({} in Serve's default mode)."""
    from rayctl import localrun

    return localrun.high_throughput_env(True) if args.high_throughput else {}
