"""Issue 9's corpus: >= 1 000 hostile inputs through `rayctl render` and `rayctl validate`, each in its own
process: none exits 70 or prints a traceback, none takes over 10 s of CPU or 1 GiB of memory (peak RSS), and the
committed seeds exit as their first line says. The numbers go to $RAYCTL_HOSTILE_REPORT (default
/tmp/rayctl-hostile-report.json)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.hostile.conftest import WORKERS
from tests.hostile.corpus import Case, iter_corpus
from tests.hostile.runner import MEMORY_LIMIT_BYTES, TIME_LIMIT_S, Outcome, run_all, run_subprocess, summarise

REPORT = Path(os.environ.get("RAYCTL_HOSTILE_REPORT", "/tmp/rayctl-hostile-report.json"))


def _failures(outcomes: list[Outcome]) -> str:
    lines = [f"{o.name}: {'; '.join(o.problems())}\n    {o.stderr.strip()[-600:]}" for o in outcomes if o.problems()]
    return "\n".join(lines[:40]) + (f"\n... and {len(lines) - 40} more" if len(lines) > 40 else "")


def test_every_hostile_input_ends_in_a_clean_exit(hostile_crds: Path) -> None:
    start = time.perf_counter()
    outcomes = run_all(iter_corpus(), workers=WORKERS)
    summary = summarise(outcomes)
    summary["wall_seconds"] = round(time.perf_counter() - start, 1)
    summary["workers"] = WORKERS
    REPORT.write_text(json.dumps(summary, indent=2))
    assert len(outcomes) >= 1000, f"the corpus has only {len(outcomes)} cases"
    assert summary["exit_codes"].get("70", 0) == 0 and summary["tracebacks"] == 0, _failures(outcomes)
    assert not summary["failures"], _failures(outcomes)
    assert summary["max_cpu_seconds"] <= TIME_LIMIT_S and summary["max_peak_mib"] * 2**20 <= MEMORY_LIMIT_BYTES


def _heaviest() -> list[Case]:
    wanted = ("structure/50mb-file:render", "structure/alias-bomb:validate", "structure/recursive-alias:render",
              "structure/deep-list:render", "structure/many-keys:render", "structure/15mb-file:validate",
              "set/66:", "manifest/300-objects", "cli/crd-dir-alias-bomb:rs.yaml", "numbers/llama-8b/tensorParallel")
    chosen: list[Case] = []
    for case in iter_corpus(["structure", "set", "manifest", "cli", "numbers"]):
        if any(case.name.startswith(w) for w in wanted) and not any(c.name.startswith(case.name[:30]) for c in chosen):
            chosen.append(case)
    return chosen


def test_the_heaviest_inputs_as_plain_subprocesses(hostile_crds: Path) -> None:
    """The fork server skips interpreter start-up; the heaviest cases also run as `python -m rayctl`, whole."""
    cases = _heaviest()
    assert len(cases) >= 8
    outcomes = [run_subprocess(case) for case in cases]
    assert not any(o.problems() for o in outcomes), _failures(outcomes)
