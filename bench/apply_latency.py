"""Benchmark: `rayctl apply` -> operator-created RayCluster and pods, and `rayctl status` latency.

    python bench/apply_latency.py [--kubeconfig PATH | --state-dir DIR] [--example hello.yaml] [--runs 5]

Without --kubeconfig/--state-dir it starts a fresh test control plane (tests/e2e/controlplane.py: real
kube-apiserver, scheduler, controller-manager, kwok nodes and the KubeRay operator) and stops it afterwards.

For each run (a fresh namespace each time) it measures:
  apply      wall time of the `rayctl apply` process (render + validate + server-side apply)
  cluster    from apply returning to the RayCluster existing
  pods       from apply returning to all head/worker pods existing
  running    from apply returning to all pods Running (kwok marks scheduled pods Running)
and then the wall time of `rayctl status NAME -o json` (5 calls per run). Prints medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def rayctl(kubeconfig: str, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "rayctl", *args, "--kubeconfig", kubeconfig],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )
    return time.perf_counter() - start, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig")
    parser.add_argument("--state-dir", help="reuse a control plane started with `python -m tests.e2e.controlplane up`")
    parser.add_argument("--example", default="hello.yaml")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    cp = None
    kubeconfig = args.kubeconfig
    if args.state_dir:
        kubeconfig = str(Path(args.state_dir) / "kubeconfig")
    if kubeconfig is None:
        import tempfile

        from tests.e2e.controlplane import ControlPlane

        cp = ControlPlane(state_dir=Path(tempfile.mkdtemp(prefix="rayctl-bench-")))
        t0 = time.perf_counter()
        cp.up(owned=True)
        print(f"control plane up in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        kubeconfig = str(cp.kubeconfig)

    from kubernetes import client, config

    config.load_kube_config(config_file=kubeconfig, persist_config=False)
    core = client.CoreV1Api()
    custom = client.CustomObjectsApi()

    import yaml

    example = REPO / "manifests" / "examples" / args.example
    name = yaml.safe_load(example.read_text())["name"]
    rows: list[dict[str, float]] = []
    status_times: list[float] = []
    try:
        for run in range(args.runs):
            ns = f"bench-{uuid.uuid4().hex[:6]}"
            core.create_namespace({"metadata": {"name": ns}})
            try:
                apply_s, proc = rayctl(kubeconfig, "apply", str(example), "-n", ns)
                if proc.returncode != 0:
                    print(proc.stderr, file=sys.stderr)
                    return 1
                t_ret = time.perf_counter()
                row: dict[str, float] = {"apply": apply_s}
                expected: int | None = None
                cluster_name = None
                while "running" not in row:
                    now = time.perf_counter() - t_ret
                    if now > 120:
                        raise TimeoutError(f"run {run}: operator did not finish in 120 s: {row}")
                    if cluster_name is None:
                        items = custom.list_namespaced_custom_object("ray.io", "v1", ns, "rayclusters")["items"]
                        if items:
                            row["cluster"] = now
                            cluster_name = items[0]["metadata"]["name"]
                            groups = items[0]["spec"].get("workerGroupSpecs") or []
                            expected = 1 + sum(
                                int(g.get("replicas") or 0) * int(g.get("numOfHosts") or 1) for g in groups
                            )
                    else:
                        pods = core.list_namespaced_pod(ns, label_selector=f"ray.io/cluster={cluster_name}").items
                        if "pods" not in row and expected is not None and len(pods) >= expected:
                            row["pods"] = now
                        if "pods" in row and all(p.status.phase == "Running" for p in pods):
                            row["running"] = now
                    time.sleep(0.02)
                for _ in range(5):
                    s, proc = rayctl(kubeconfig, "status", name, "-n", ns, "-o", "json")
                    assert proc.returncode == 0, proc.stderr
                    json.loads(proc.stdout)
                    status_times.append(s)
                rows.append(row)
                print(f"run {run + 1}: " + ", ".join(f"{k}={v * 1000:.0f}ms" for k, v in row.items()), file=sys.stderr)
            finally:
                core.delete_namespace(ns)
    finally:
        if cp is not None:
            cp.down()

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows) * 1000

    print(f"example {args.example}, {len(rows)} runs (medians):")
    print(f"  rayctl apply (process wall time)          {med('apply'):8.0f} ms")
    print(f"  apply returned -> RayCluster created      {med('cluster'):8.0f} ms")
    print(f"  apply returned -> all pods created        {med('pods'):8.0f} ms")
    print(f"  apply returned -> all pods Running        {med('running'):8.0f} ms")
    print(
        f"  rayctl status -o json (process wall time) {statistics.median(status_times) * 1000:8.0f} ms "
        f"(min {min(status_times) * 1000:.0f}, max {max(status_times) * 1000:.0f}, n={len(status_times)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
