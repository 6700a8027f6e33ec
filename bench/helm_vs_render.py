"""Cold-process wall time of `rayctl render SPEC` against `helm template NAME charts/rayservice -f SPEC`: the same
spec file as the values file, interleaved runs in one process (so machine noise hits both alike), medians and the
ratio rayctl / helm. Goal: rayctl render <= 1.0x helm template (exit 1 when a spec misses it).

Run: .venv/bin/python bench/helm_vs_render.py [--runs N] [--example FILE ...] [--profile cpu]
     (helm from `make helm-tools`: hack/helm/build.sh --print-paths says where)
Both outputs are checked equal once (parsed, as the parity tests compare them) before anything is timed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.render_startup import installed_env  # noqa: E402
from tests.helm.chart import CHART, Helm, first_difference, helm_objects, rayctl_objects  # noqa: E402
from tests.helm.conftest import tool_paths  # noqa: E402

EXAMPLES = ROOT / "manifests" / "examples"


def largest_example() -> Path:
    return max(EXAMPLES.glob("*.yaml"), key=lambda p: len((ROOT / "manifests" / "rendered" / p.name).read_text()))


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--example", type=Path, action="append", help="spec file(s); default: the largest example")
    parser.add_argument("--profile", choices=["cpu", "gpu"])
    args = parser.parse_args()
    helm_bin = tool_paths()["helm"]
    if not helm_bin.exists():
        print(f"helm not built ({helm_bin}): make helm-tools", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="helm-bench-"))
    env = installed_env()  # rayctl from .pyc files, as installed
    for var in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"):
        env[var] = str(home / var.lower())
    helm = Helm(helm_bin, env)
    worst = 0.0
    for spec in args.example or [largest_example()]:
        ours, theirs = rayctl_objects(spec, args.profile), helm_objects(helm, spec, args.profile)
        difference = first_difference(ours, theirs)
        if difference:
            print(f"{spec}: rayctl render and helm template differ: {difference}", file=sys.stderr)
            return 1
        extra = ["--profile", args.profile] if args.profile else []
        render = [sys.executable, "-m", "rayctl", "render", str(spec), *extra]
        template = [str(helm_bin), "template", "bench", str(CHART), "-f", str(spec),
                    *(["--set", f"profile={args.profile}"] if args.profile else [])]
        timed(render, env), timed(template, env)  # page cache and .pyc files warm once, then cold processes
        render_times, helm_times = [], []
        for _ in range(args.runs):
            render_times.append(timed(render, env))
            helm_times.append(timed(template, env))
        r, h = statistics.median(render_times), statistics.median(helm_times)
        worst = max(worst, r / h)
        name = spec.relative_to(ROOT) if spec.is_relative_to(ROOT) else spec
        print(f"{name}{' --profile ' + args.profile if args.profile else ''}: {args.runs} cold runs each, medians "
              f"(load {os.getloadavg()[0]:.1f})")
        print(f"  rayctl render   {r * 1000:7.1f} ms  (min {min(render_times) * 1000:.1f}, "
              f"max {max(render_times) * 1000:.1f})")
        print(f"  helm template   {h * 1000:7.1f} ms  (min {min(helm_times) * 1000:.1f}, "
              f"max {max(helm_times) * 1000:.1f})")
        print(f"  ratio           {r / h:7.2f} x  (rayctl / helm; goal <= 1.0)")
    return 0 if worst <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
