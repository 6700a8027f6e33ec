#!/usr/bin/env python3
"""Regenerate tests/unit/data/quantity_golden.json: what Kubernetes says about a few hundred quantity strings.

Each row is one input string with what `k8s.io/apimachinery/pkg/api/resource.ParseQuantity` (the pinned version in
go.mod) returns, and whether the KubeRay CRD's quantity `pattern` matches it: the API server checks the pattern on a
RayService's container resources and the operator then decodes the value with ParseQuantity, so a quantity is valid
in a RayService exactly when both accept it. rayctl.quantity must agree with every row (tests/unit/test_quantity.py).

    python3 hack/quantity-golden/generate.py   # Go >= 1.26, the Go module proxy (or a warm cache), and the CRDs
                                               # in ../shared/kuberay/crds or $RAYCTL_KUBERAY_CRDS

Inputs are generated from a fixed seed, so reruns give the same table unless the Go side changes.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT = REPO / "tests" / "unit" / "data" / "quantity_golden.json"
# the upstream KubeRay CRDs, found as tests/conftest.py finds them
CRD_DIR = Path(os.environ.get("RAYCTL_KUBERAY_CRDS", REPO.parent / "shared" / "kuberay" / "crds"))
CRD = CRD_DIR / "ray.io_rayservices.yaml"
CACHE = Path(os.environ.get("RAYCTL_CACHE", Path.home() / ".cache" / "rayctl"))

HAND = [
    # forms the grammar allows
    "0", "1", "4", "+4", "-4", "500m", "100u", "5n", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "16Gi",
    "1Ti", "1Pi", "1Ei", "1.5Gi", "0.5", ".5", "5.", "5.Gi", "1.G", "-1.5Gi", "1e9", "1E9", "1e-3", "1E-3", "1e+3",
    "1.5e3", ".5e1", "5.e1", "007", "0.000", "00.5Ki", "1e0", "1e003", "-0", "+0", "0.1n", "-0.1n", "1.0000000001",
    "1.00000000001n", "123456789012345678", "1234567890123456789", "99999999999999999999", "9223372036854775807",
    "9223372036854775808", "9999999999999999999Ei", "8Ei", "7.9999999Ei", "1e18", "1e19", "1e30", "1e-30",
    "0.000000001", "0.0000000001", "1.5m", "1.5n", "2.5u", "1023Ki", "1025Mi", "1.25Ki", "3e2m",
    # what it does not
    "", " ", "5 ", " 5", "5 Gi", "Gi", "Ki", "m", "e3", "-", "+", ".", "..5", "1.5.5", "1..5", "1ki", "1KI", "1K",
    "1mi", "1gi", "1g", "1Gb", "1GiB", "1b", "0x10", "0b1", "0o7", "1_000", "1,000", "inf", "Inf", "-inf", "nan",
    "NaN", "infinity", "1e", "1E", "1e+", "1e-", "1e1.5", "1e.5", "1ee3", "1e3Gi", "1Gie3", "1e3m", "++1", "+-1",
    "1-", "1+", "1e--3", "1.5e", "\u0661", "\uff11", "1\n", "\t1", "1\x00", "true", "null", "1/2", "\u00bd",
    "1e3.0", "0.5Gi ",
]
SUFFIXES = ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
BAD_SUFFIXES = ["ki", "mi", "K", "g", "B", "KiB", "i", "Kii", "EE", "mm", "Mi2", "x", " Gi", "e", "ee1"]


def digits(rng: random.Random, low: int = 1, high: int = 12) -> str:
    return "".join(rng.choice("0123456789") for _ in range(rng.randint(low, high)))


def number(rng: random.Random) -> str:
    shape = rng.randrange(4)
    if shape == 0:
        body = digits(rng)
    elif shape == 1:
        body = f"{digits(rng)}.{digits(rng, 1, 10)}"
    elif shape == 2:
        body = f"{digits(rng)}."
    else:
        body = f".{digits(rng, 1, 10)}"
    return rng.choice(["", "", "+", "-"]) + body


def generated(rng: random.Random, count: int) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        kind = rng.randrange(10)
        if kind < 4:
            out.append(number(rng) + rng.choice(SUFFIXES))
        elif kind < 6:
            out.append(number(rng) + rng.choice("eE") + rng.choice(["", "+", "-"]) + str(rng.randint(0, 40)))
        elif kind < 8:
            out.append(number(rng) + rng.choice(BAD_SUFFIXES))
        else:  # a valid string with one character inserted, deleted or replaced
            text = number(rng) + rng.choice(SUFFIXES)
            i = rng.randrange(len(text) + 1)
            char = rng.choice("0123456789.+-eEKMGTPimnuk x")
            op = rng.randrange(3)
            text = text[:i] + char + text[i:] if op == 0 else text[:i] + text[i + 1:] if op == 1 else \
                text[:i] + char + text[i + 1:]
            out.append(text)
    return out


def crd_pattern() -> str:
    text = CRD.read_text(encoding="utf-8")
    found = set(re.findall(r"pattern: (\^\(\\\+\|-\)\?.*\$)\n", text))
    if len(found) != 1:
        sys.exit(f"expected one quantity pattern in {CRD}, found {sorted(found)}")
    return found.pop()


def main() -> None:
    rng = random.Random(20261201)
    inputs = list(dict.fromkeys(HAND + generated(rng, 400)))
    env = dict(os.environ, GOMODCACHE=str(CACHE / "go" / "mod"), GOCACHE=str(CACHE / "go" / "build-cache"),
               GOTOOLCHAIN="local", GOFLAGS="-buildvcs=false", CGO_ENABLED="0")
    env.setdefault("GOPROXY", "https://proxy.golang.org,direct")
    binary = Path(os.environ.get("TMPDIR", "/tmp")) / "rayctl-quantity-golden"
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=HERE, env=env, check=True)
    feed = "".join(json.dumps(s) + "\n" for s in inputs)
    proc = subprocess.run([str(binary), crd_pattern()], input=feed, capture_output=True, text=True, check=True,
                          timeout=120)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["in"] for r in rows] == inputs
    table = [{"in": r["in"], "go_ok": r["go_ok"], "pattern": r["pattern"], "value": r.get("dec")} for r in rows]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "source": "k8s.io/apimachinery v0.36.3 resource.ParseQuantity + the KubeRay v1.7.0 CRD quantity pattern; "
                  "regenerate with python3 hack/quantity-golden/generate.py",
        "rows": table,
    }, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    accepted = sum(1 for r in table if r["go_ok"] and r["pattern"])
    print(f"{OUT.relative_to(REPO)}: {len(table)} rows, {accepted} valid in a RayService")


if __name__ == "__main__":
    main()
