"""Cold-process wall time of `rayctl render` on the largest example, against the bare interpreter in the same run.

Run: make bench   (or .venv/bin/python bench/render_startup.py [--runs N])
Prints medians, the ratio to the baseline, and the biggest imports (python -X importtime).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "manifests" / "examples"


def largest_example() -> Path:
    return max(EXAMPLES.glob("*.yaml"), key=lambda p: len((ROOT / "manifests" / "rendered" / p.name).read_text()))


def installed_env() -> dict[str, str]:
    """This environment as an installed rayctl runs in it: from .pyc files (pip compiles them). A
    PYTHONDONTWRITEBYTECODE=1 shell (as on the dev machines) would have every timed run compile rayctl's ~100 modules
    from source again (~60 ms more)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


ENV = installed_env()


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=ENV)
    return time.perf_counter() - start


def import_breakdown(spec: Path, top: int) -> list[tuple[int, str]]:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "rayctl", "render", str(spec), "-o",
                             "/dev/null"], capture_output=True, text=True, cwd=ROOT, check=True, env=ENV)
    rows = []
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
            if cumulative.isdigit() and not name.startswith(" "):
                rows.append((int(cumulative), name))
    # top-level packages only (no leading spaces in the name column = first level)
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    spec = largest_example()
    render = [sys.executable, "-m", "rayctl", "render", str(spec), "-o", "/dev/null"]
    baseline = [sys.executable, "-c", "pass"]
    timed(render)  # warm the page cache / .pyc files once
    render_times, base_times = [], []
    for _ in range(args.runs):  # interleave so machine noise hits both alike
        base_times.append(timed(baseline))
        render_times.append(timed(render))
    r, b = statistics.median(render_times), statistics.median(base_times)
    print(f"example: {spec.relative_to(ROOT)} ({args.runs} cold runs each, medians)")
    low, high = min(render_times) * 1000, max(render_times) * 1000
    print(f"rayctl render      {r * 1000:7.1f} ms   (min {low:.1f}, max {high:.1f})")
    print(f"python -c pass     {b * 1000:7.1f} ms")
    print(f"ratio              {r / b:7.2f} x the bare interpreter; target: render < 300 ms")
    print("biggest imports (cumulative, us):")
    for micros, name in import_breakdown(spec, 10):
        print(f"  {micros:8d}  {name}")
    return 0 if r < 0.3 else 1


if __name__ == "__main__":
    sys.exit(main())
