"""Regenerate docs/spec.md from the spec models (run: make docs)."""

from pathlib import Path

from rayctl.spec.docs import spec_reference

target = Path(__file__).resolve().parent.parent / "docs" / "spec.md"
target.write_text(spec_reference())
print(f"wrote {target}")
