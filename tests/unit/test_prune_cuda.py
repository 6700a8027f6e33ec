"""docker/prune_cuda.py's ELF reader must agree with binutils (it picks the CUDA libraries the torch image keeps)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, skip_or_fail

spec = importlib.util.spec_from_file_location("prune_cuda", ROOT / "docker" / "prune_cuda.py")
assert spec and spec.loader
prune_cuda = importlib.util.module_from_spec(spec)
spec.loader.exec_module(prune_cuda)


def _readelf_needed(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split("[", 1)[1].split("]", 1)[0] for line in out.splitlines() if "(NEEDED)" in line]


CANDIDATES = [Path(sys.executable).resolve(), Path("/bin/ls"), Path("/usr/bin/ssh")]


@pytest.mark.parametrize("path", [p for p in CANDIDATES if p.exists()], ids=lambda p: p.name)
def test_needed_matches_readelf(path: Path) -> None:
    if shutil.which("readelf") is None:
        skip_or_fail("binutils' readelf is not installed (hack/kind/install-deps.sh installs gcc, which brings it)")
    assert prune_cuda.needed(path) == _readelf_needed(path)


def test_needed_of_a_non_elf_is_empty(tmp_path: Path) -> None:
    f = tmp_path / "x.so"
    f.write_bytes(b"#!/bin/sh\n")
    assert prune_cuda.needed(f) == []


def test_prune_keeps_the_needed_closure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake venv: torch/_C links libA (nvidia/a), libA links libB (nvidia/b); libC (nvidia/c) is unused."""
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    lib = site / "torch" / "lib"
    lib.mkdir(parents=True)
    real = Path(sys.executable).resolve()  # any ELF file: its own NEEDED entries are system libraries
    for d in ("a", "b", "c"):
        (site / "nvidia" / d / "lib").mkdir(parents=True)
    (site / "nvidia" / "c" / "lib" / "libC.so.1").write_bytes(real.read_bytes())
    (site / "nvidia" / "c" / "include").mkdir()
    (site / "nvidia" / "c" / "include" / "c.h").write_text("int c;")
    (site / "nvidia" / "__init__.py").write_text("")
    deps = {site / "torch" / "_C.cpython-311-x86_64-linux-gnu.so": ["libA.so.1"],
            site / "nvidia" / "a" / "lib" / "libA.so.1": ["libB.so.1"],
            site / "nvidia" / "b" / "lib" / "libB.so.1": []}
    for f in deps:
        f.write_bytes(b"elf")
    monkeypatch.setattr(prune_cuda, "needed", lambda p: deps.get(p, []))
    prune_cuda.main(tmp_path)
    left = sorted(str(p.relative_to(site)) for p in (site / "nvidia").rglob("*") if p.is_file())
    assert left == ["nvidia/__init__.py", "nvidia/a/lib/libA.so.1", "nvidia/b/lib/libB.so.1"]
