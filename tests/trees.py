"""Walking parsed YAML/JSON trees in tests (the hostile corpus and the serve apps' fuzzers mutate at every path)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key and item path below `node` (not the root itself), depth-first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from paths(value, (*prefix, index))
