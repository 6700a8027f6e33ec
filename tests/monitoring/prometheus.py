"""A real Prometheus process for tests: started on 127.0.0.1 with a given config, queried over its HTTP API,
always stopped (SIGTERM, then SIGKILL) when the context exits."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rayctl.localrun import free_port


@dataclass
class Prometheus:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=30) as resp:
            body = json.loads(resp.read())
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus {path}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query at the current time; the result vector (or scalar as one sample)."""
        data = self.api("query", query=expr)
        if data["resultType"] in ("vector", "matrix"):
            return list(data["result"])
        return [{"metric": {}, "value": data["result"]}]

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.api("alerts")["alerts"])

    def rules(self) -> list[dict[str, Any]]:
        return [rule for group in self.api("rules")["groups"] for rule in group["rules"]]

    def targets(self) -> dict[str, Any]:
        return dict(self.api("targets", state="any"))

    def tail_log(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@contextlib.contextmanager
def running_prometheus(binary: Path, config: dict[str, Any], workdir: Path, rule_files: dict[str, Any] | None = None,
                       ready_timeout_s: float = 60.0) -> Iterator[Prometheus]:
    """Write `config` (and `rule_files`: name -> rules document) into workdir, start Prometheus, wait until ready."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, rules in (rule_files or {}).items():
        (workdir / name).write_text(yaml.safe_dump(rules, sort_keys=False))
    config = {**config, "rule_files": sorted(rule_files or {})}
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(binary), f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
             f"--web.console.templates={workdir}", f"--web.console.libraries={workdir}"],
            stdout=out, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True,
        )
    server = Prometheus(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"Prometheus exited with {process.returncode}: {server.tail_log()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{server.url}/-/ready", timeout=2) as resp:
                if resp.status == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"Prometheus not ready after {ready_timeout_s}s: {server.tail_log()}")
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
