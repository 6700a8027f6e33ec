"""Run hostile cases through rayctl's real command line, each in its own process, and measure each one.

Two ways, both real processes with their own exit status, streams, limits and `wait4()` resource usage:

* `ForkServer.run(case)`: a child forked from a server that has imported rayctl once (forkserver.py): the
  interpreter start-up is skipped, nothing else; CPU time and peak RSS are the child's own.
* `run_subprocess(case)`: `python -m rayctl ...` started from scratch (start-up and imports included).

    python -m tests.hostile.runner                    # the whole corpus (fork server): exit codes, max CPU, max RSS
    python -m tests.hostile.runner --subprocess 40    # plus the 40 heaviest-looking cases as plain subprocesses
    python -m tests.hostile.runner --json out.json    # every outcome
    python -m tests.hostile.runner --name deep -v     # some cases, printing each outcome

A case passes when its exit code is one it allows (0, 2 or 3 unless it says otherwise), nothing printed a
traceback or "internal error", it used at most TIME_LIMIT_S of CPU and MEMORY_LIMIT_BYTES of resident memory, and
an exit 3 came with an error message.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from tests.hostile.corpus import ROOT, Case, iter_corpus

TIME_LIMIT_S = 10.0
"""CPU seconds a case may take (CPU, not wall clock: the machine is shared; wall clock is reported too)."""
MEMORY_LIMIT_BYTES = 2**30
"""Peak resident memory a case may use (the whole process: interpreter, imports, C allocations)."""
WALL_KILL_S = float(os.environ.get("RAYCTL_HOSTILE_WALL_KILL_S", "180"))
"""A case still running after this long (wall clock) is killed and fails. Generous: on a shared, loaded machine a
case that needs 2 s of CPU can take a minute of wall clock; the CPU limit is what bounds rayctl's work."""
ADDRESS_SPACE = 4 * 2**30
"""Each case's address-space cap, so a runaway case fails alone instead of taking a shared machine's memory."""
TRACEBACK = "Traceback (most recent call last)"


def crd_dir() -> Path:
    return Path(os.environ.get("RAYCTL_KUBERAY_CRDS", ROOT.parent / "shared" / "kuberay" / "crds"))


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAYCTL_CRD_CACHE": os.path.join(tempfile.gettempdir(),
                                                                                     "rayctl-hostile-no-cache")}
    env.pop("RAYCTL_CRD_DIR", None)  # a case names its CRDs (or their absence) itself
    # CRD files already parsed (rayctl.validate.crd.parsed_crd_cache) in a folder of the corpus' own, not the user's
    env["RAYCTL_PARSED_CRD_CACHE"] = os.path.join(tempfile.gettempdir(), "rayctl-hostile-parsed-crds")
    return env


@dataclass
class Outcome:
    name: str
    family: str
    code: int | str  # the exit code, or what ended the process ("signal 9", "killed after 60 s")
    seconds: float  # wall clock
    cpu_seconds: float  # user + system CPU time of the case's process
    peak_bytes: int  # peak resident set size of the case's process
    stdout: str
    stderr: str
    mode: str  # "fork" or "subprocess"
    expect: tuple[int, ...] = (0, 2, 3)
    never_print: tuple[str, ...] = ()

    def problems(self) -> list[str]:
        """What is wrong with this outcome (empty when it is fine)."""
        found = []
        if self.code not in self.expect:
            found.append(f"exit {self.code} (allowed: {list(self.expect)})")
        if TRACEBACK in self.stderr or TRACEBACK in self.stdout:
            found.append("a traceback was printed")
        if "internal error" in self.stderr:
            found.append("'internal error' was printed")
        if self.cpu_seconds > TIME_LIMIT_S:
            found.append(f"took {self.cpu_seconds:.1f} s of CPU (limit {TIME_LIMIT_S:g} s)")
        if self.peak_bytes > MEMORY_LIMIT_BYTES:
            found.append(f"used {self.peak_bytes / 2**20:.0f} MiB (limit {MEMORY_LIMIT_BYTES / 2**20:.0f} MiB)")
        if self.code == 3 and "error" not in self.stderr:
            found.append("exit 3 without an error message")
        for secret in self.never_print:
            if secret in self.stdout or secret in self.stderr:
                found.append(f"printed the secret {secret[:4]}...")
        return found


def _materialise(case: Case, folder: Path) -> list[str]:
    for relative, body in case.files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    return [arg.replace("{dir}", str(folder)).replace("{crds}", str(crd_dir())) for arg in case.argv]


def _tail(path: Path) -> str:
    """The stream's first 2 000 and last 6 000 bytes (where the error and the traceback would be)."""
    with open(path, "rb") as stream:
        stream.seek(0, os.SEEK_END)
        size = stream.tell()
        stream.seek(0)
        if size <= 8000:
            return stream.read().decode("utf-8", "replace")
        head = stream.read(2000)
        stream.seek(size - 6000)
        return (head + b"\n[...]\n" + stream.read()).decode("utf-8", "replace")


class ForkServer:
    """One fork server process (forkserver.py); `run` is not thread-safe: use one server per thread."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.hostile.forkserver"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, cwd=ROOT, text=True,
                                     env={**_env(), "RAYCTL_HOSTILE_WARM_CRDS": str(crd_dir())})
        self.baseline_rss = int(json.loads(self._read())["baseline_rss"])

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the fork server exited (status {self.proc.wait()})")
        return line

    def run(self, case: Case) -> Outcome:
        with tempfile.TemporaryDirectory(prefix="rayctl-hostile-") as tmp:
            folder = Path(tmp)
            argv = _materialise(case, folder)
            streams = {name: str(folder / f".{name}") for name in ("stdin", "stdout", "stderr")}
            Path(streams["stdin"]).write_bytes((case.stdin or "").encode("utf-8", "surrogatepass"))
            request = {"argv": argv, "cwd": tmp, **streams, "cpu_s": int(3 * TIME_LIMIT_S), "wall_s": WALL_KILL_S,
                       "as": ADDRESS_SPACE}
            stdin: IO[str] | None = self.proc.stdin
            assert stdin is not None
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
            reply = json.loads(self._read())
            code: int | str = reply["status"] if reply["status"] is not None else f"signal {reply['signal']}"
            if reply["killed"]:
                code = f"killed after {WALL_KILL_S:g} s"
            return Outcome(case.name, case.family, code, reply["wall_s"], reply["cpu_s"], reply["max_rss"],
                           _tail(folder / ".stdout"), _tail(folder / ".stderr"), "fork", tuple(sorted(case.expect)),
                           case.never_print)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def run_all(cases: Iterable[Case], *, workers: int = 2,
            on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Every case through fork servers, `workers` at a time (cases are taken from `cases` as they are needed)."""
    source: Iterator[Case] = iter(cases)
    lock = threading.Lock()
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []

    def work() -> None:
        server = ForkServer()
        try:
            while True:
                with lock:
                    case = next(source, None)
                if case is None:
                    return
                outcome = server.run(case)
                with lock:
                    outcomes.append(outcome)
                    if on_outcome is not None:
                        on_outcome(outcome)
        except BaseException as exc:
            errors.append(exc)
        finally:
            server.close()

    threads = [threading.Thread(target=work, name=f"hostile-{i}") for i in range(max(1, workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return outcomes


def run_subprocess(case: Case, *, timeout_s: float = WALL_KILL_S) -> Outcome:
    """Run `case` as `python -m rayctl ...` and read the child's CPU time and peak RSS from wait4()."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    with tempfile.TemporaryDirectory(prefix="rayctl-hostile-") as tmp:
        folder = Path(tmp)
        argv = _materialise(case, folder)
        stdin_path = folder / ".stdin"
        stdin_path.write_bytes((case.stdin or "").encode("utf-8", "surrogatepass"))
        out_path, err_path = folder / ".stdout", folder / ".stderr"
        with open(stdin_path, "rb") as fin, open(out_path, "wb") as fout, open(err_path, "wb") as ferr:
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "rayctl", *argv], stdin=fin, stdout=fout, stderr=ferr,
                                    cwd=tmp, env=_env(), preexec_fn=limit)
            killed = False
            pidfd = os.pidfd_open(proc.pid)
            try:
                poller = select.poll()
                poller.register(pidfd, select.POLLIN)
                if not poller.poll(int(timeout_s * 1000)):
                    proc.kill()
                    killed = True
                _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
                proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
            finally:
                os.close(pidfd)
        seconds = time.perf_counter() - start
        code: int | str = proc.returncode if not killed else f"killed after {timeout_s:g} s"
        return Outcome(case.name, case.family, code, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024,
                       _tail(out_path), _tail(err_path), "subprocess", tuple(sorted(case.expect)),
                       case.never_print)


def subprocess_sample(cases: Sequence[Case], count: int) -> list[Case]:
    """The heaviest-looking cases first (biggest inputs, bombs, deep nesting, huge numbers), then an even spread."""
    heavy_words = ("bomb", "50mb", "15mb", "deep", "huge", "many", "1000000000", "long", "recursive", "300-objects")
    heavy = [c for c in cases if any(w in c.name for w in heavy_words)]
    rest = [c for c in cases if c not in heavy]
    step = max(1, len(rest) // max(1, count - len(heavy)))
    return (heavy + rest[::step])[:count]


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    failures = {o.name: o.problems() for o in outcomes if o.problems()}
    slowest = max(outcomes, key=lambda o: o.cpu_seconds)
    heaviest = max(outcomes, key=lambda o: o.peak_bytes)
    return {
        "cases": len(outcomes),
        "exit_codes": dict(sorted(Counter(str(o.code) for o in outcomes).items())),
        "families": dict(sorted(Counter(o.family for o in outcomes).items())),
        "max_cpu_seconds": round(slowest.cpu_seconds, 3),
        "slowest": slowest.name,
        "max_wall_seconds": round(max(o.seconds for o in outcomes), 3),
        "max_peak_mib": round(heaviest.peak_bytes / 2**20, 1),
        "heaviest": heaviest.name,
        "tracebacks": sum(TRACEBACK in o.stderr or TRACEBACK in o.stdout for o in outcomes),
        "failures": failures,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subprocess", type=int, default=0, metavar="N",
                        help="also run the N heaviest-looking cases as plain subprocesses")
    parser.add_argument("--json", type=Path, help="write every outcome here")
    parser.add_argument("--family", action="append", help="only this family (repeatable)")
    parser.add_argument("--name", help="only cases whose name contains this")
    parser.add_argument("--workers", type=int, default=2, help="fork servers running at once")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each outcome as it comes")
    args = parser.parse_args(argv)

    def selected() -> Iterator[Case]:
        for case in iter_corpus(args.family):
            if (args.name or "") in case.name:
                yield case

    def show(outcome: Outcome) -> None:
        if args.verbose or outcome.problems():
            status = "; ".join(outcome.problems()) or "ok"
            print(f"{outcome.code!s:>4} {outcome.cpu_seconds:6.2f}s {outcome.peak_bytes / 2**20:6.0f}MiB "
                  f"{outcome.name}: {status}", file=sys.stderr, flush=True)

    start = time.perf_counter()
    outcomes = run_all(selected(), workers=args.workers, on_outcome=show)
    report: dict[str, Any] = {"fork": summarise(outcomes), "wall_seconds": round(time.perf_counter() - start, 1)}
    sampled: list[Outcome] = []
    if args.subprocess:
        sample = subprocess_sample(list(selected()), args.subprocess)
        sampled = [run_subprocess(c) for c in sample]
        for outcome in sampled:
            show(outcome)
        report["subprocess"] = summarise(sampled)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes + sampled], indent=1))
    return 1 if any(r["failures"] for r in report.values() if isinstance(r, dict)) else 0


if __name__ == "__main__":
    sys.exit(main())
