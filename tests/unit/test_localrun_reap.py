"""A `rayctl run` killed with SIGKILL leaves its HAProxy holding the HTTP port: the next run's start reaps it (and
only it: a live run's directory, another user's and unrelated directories stay)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from rayctl import localrun
from tests.conftest import skip_or_fail


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _run_dir(root: Path, name: str, owner: int | None) -> Path:
    run_dir = root / f"{localrun.RUN_DIR_PREFIX}{name}"
    run_dir.mkdir()
    if owner is not None:
        (run_dir / localrun.OWNER_FILE).write_text(f"{owner}\n")
    return run_dir


def test_a_dead_runs_haproxy_and_directory_are_reaped_and_nothing_else(tmp_path: Path) -> None:
    if not Path("/proc").is_dir():
        skip_or_fail("HAProxy mode and its reaper are Linux-only (/proc)")
    root = tmp_path / "tmp"
    root.mkdir()
    binary = tmp_path / "haproxy"
    binary.symlink_to(sys.executable)
    dead = _run_dir(root, "dead", _dead_pid())
    live = _run_dir(root, "live", os.getpid())
    unowned = _run_dir(root, "no-owner-file", None)
    procs = [subprocess.Popen([str(binary), "-c", "import time; time.sleep(120)", "-f", str(d / "haproxy.cfg")])
             for d in (dead, live)]
    try:
        time.sleep(0.3)  # the children have exec'd: /proc/<pid>/cmdline names the config
        lines = localrun.reap_stale_runs(str(root))
        assert len(lines) == 1 and f"stopped HAProxy {procs[0].pid}" in lines[0] and str(dead) in lines[0], lines
        assert procs[0].wait(timeout=10) is not None
        assert not dead.exists()
        assert live.exists() and unowned.exists() and procs[1].poll() is None
        assert localrun.reap_stale_runs(str(root)) == []  # idempotent
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_a_new_run_directory_names_its_owner() -> None:
    env = localrun.local_haproxy_env()
    run_dir = Path(env["RAY_SERVE_HAPROXY_SERVER_STATE_BASE"])
    try:
        assert (run_dir / localrun.OWNER_FILE).read_text().strip() == str(os.getpid())
        assert run_dir.name.startswith(localrun.RUN_DIR_PREFIX)
    finally:
        for child in run_dir.iterdir():
            child.unlink()
        run_dir.rmdir()
