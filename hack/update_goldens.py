"""Regenerate manifests/rendered/ from manifests/examples/ (run: make goldens)."""

from __future__ import annotations

import sys
from pathlib import Path

from rayctl.core import render_file

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "manifests" / "examples"
RENDERED = ROOT / "manifests" / "rendered"


def main() -> int:
    RENDERED.mkdir(exist_ok=True)
    wanted = set()
    for spec in sorted(EXAMPLES.glob("*.yaml")):
        target = RENDERED / spec.name
        wanted.add(target.name)
        text = render_file(spec).rendered.text
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
            print(f"updated {target.relative_to(ROOT)}")
    for stale in RENDERED.glob("*.yaml"):
        if stale.name not in wanted:
            stale.unlink()
            print(f"removed {stale.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
