"""A fork server for the hostile corpus: imports rayctl once, then runs each case in a forked child process.

Every case is a real process: its own exit status, its own stdin/stdout/stderr files, its own limits (address
space, CPU time) and its own resource usage from `wait4()` (CPU time, peak RSS). What it saves is the interpreter
start and the imports (rayctl, pydantic, jsonschema and, when installed, Ray's Serve schema, which `validate`
imports for every manifest): a few milliseconds per case instead of seconds, so a thousand cases fit in a test run.
`runner.py` also runs a sample as plain `python -m rayctl` subprocesses, start-up included.

Protocol (one JSON object per line): the parent writes a request
    {"argv": [...], "cwd": DIR, "stdin": FILE, "stdout": FILE, "stderr": FILE, "cpu_s": N, "wall_s": N, "as": BYTES}
and reads back
    {"status": EXIT_CODE, "signal": SIGNAL_OR_NULL, "killed": BOOL, "wall_s": F, "cpu_s": F, "max_rss": BYTES,
     "baseline_rss": BYTES}
where `max_rss` is the child's peak resident set (ru_maxrss: it includes the pages it shares with this server,
`baseline_rss`), `killed` says the wall-clock limit ran out and the child was killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def _warm() -> None:
    """Import what every command imports, so children start warm (as a real process would be after start-up)."""
    import rayctl.cli.cluster_cmds
    import rayctl.cli.run_cmd
    import rayctl.cli.spec_cmds
    import rayctl.render
    import rayctl.validate
    import rayctl.workflow  # noqa: F401

    with contextlib.suppress(ImportError):
        import ray.serve.schema  # noqa: F401  (validate checks serveConfigV2 with it when installed)
    crds = os.environ.get("RAYCTL_HOSTILE_WARM_CRDS")
    if crds:
        # the KubeRay CRDs every manifest case is checked against, read and compiled once (as in a process that
        # validated a file before); a case's own --crd-dir (broken, aliased, huge CRDs) is still read by the case
        from rayctl.validate.crd import check_against_schema, crd_schema, load_crd
        from rayctl.validate.findings import Collector

        for kind in ("RayService", "RayCluster"):
            crd = load_crd(Path(crds), "ray.io", kind)
            schema = crd_schema(crd, "v1") if crd else None
            if schema is not None:
                check_against_schema({}, schema, Collector())


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _child(request: dict[str, Any]) -> None:
    """Run `rayctl ARGV` in this (forked) process and _exit with its status: never returns."""
    code = 1
    try:
        os.chdir(request["cwd"])
        limit = int(request["as"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        cpu = int(request["cpu_s"])
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        for fd, name, flags in ((0, "stdin", os.O_RDONLY), (1, "stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                (2, "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
            opened = os.open(request[name], flags, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        # the text streams a UTF-8 interpreter gives a real process: strict stdin/stdout, backslashreplace stderr
        sys.stdin = open(0, encoding="utf-8", errors="strict", closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", errors="strict", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
        sys.argv = ["rayctl", *request["argv"]]
        from rayctl.cli import main

        try:
            main()
            code = 0
        except SystemExit as exc:  # what the interpreter does with it
            if exc.code is None:
                code = 0
            elif isinstance(exc.code, int):
                code = exc.code
            else:
                sys.stderr.write(f"{exc.code}\n")
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):  # a stream that cannot flush: the process ends anyway
                stream.flush()
        os._exit(code & 0xFF)


def run(request: dict[str, Any]) -> dict[str, Any]:
    sys.stdout.flush()
    baseline = _rss()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        _child(request)
    pidfd = os.pidfd_open(pid)
    killed = False
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        remaining_ms = int(float(request["wall_s"]) * 1000)
        if not poller.poll(remaining_ms):
            os.kill(pid, signal.SIGKILL)
            killed = True
        _, status, usage = os.wait4(pid, 0)
    finally:
        os.close(pidfd)
    wall = time.perf_counter() - start
    return {
        "status": os.waitstatus_to_exitcode(status) if not os.WIFSIGNALED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "killed": killed,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss": usage.ru_maxrss * 1024,  # kilobytes on Linux
        "baseline_rss": baseline,
    }


def main() -> None:
    _warm()
    sys.stdout.write(json.dumps({"ready": True, "baseline_rss": _rss()}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(json.dumps(run(json.loads(line))) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
