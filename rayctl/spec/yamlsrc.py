"""YAML reading that remembers where each key came from, so errors can name file:line:column."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rayctl.errors import InputError

PathKey = tuple[str | int, ...]


@dataclass
class SourceDoc:
    """A parsed YAML document plus the line/column of every mapping key and sequence item."""

    data: Any
    filename: str
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: PathKey) -> str:
        """`file:line:col` of the deepest known prefix of `path`."""
        for end in range(len(path), -1, -1):
            pos = self.positions.get(path[:end])
            if pos is not None:
                return f"{self.filename}:{pos[0]}:{pos[1]}"
        return self.filename


def _walk(node: yaml.Node, path: PathKey, positions: dict[PathKey, tuple[int, int]]) -> None:
    positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            child = (*path, key)
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, child, positions)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), positions)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key].start_mark.line + 1})", mark
            )
        seen[key] = key_node
    loader.flatten_mapping(node)
    return dict(loader.construct_pairs(node, deep=deep))


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _yaml_error(filename: str, exc: yaml.YAMLError) -> InputError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark is not None else filename
    detail = f"{context}, {problem}" if context else problem
    return InputError(f"{where}: YAML syntax error: {detail}")


def parse_documents(text: str, filename: str) -> list[SourceDoc]:
    """Parse every YAML document in `text` (empty documents are dropped)."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_UniqueKeyLoader))
        datas = list(yaml.load_all(text, Loader=_UniqueKeyLoader))
    except yaml.YAMLError as exc:
        raise _yaml_error(filename, exc) from None
    docs = []
    for node, data in zip(nodes, datas, strict=True):
        if node is None or data is None:
            continue
        positions: dict[PathKey, tuple[int, int]] = {}
        _walk(node, (), positions)
        docs.append(SourceDoc(data=data, filename=filename, positions=positions))
    return docs


def read_text(path: str | Path) -> tuple[str, str]:
    """Read a file ('-' is stdin); returns (text, display name)."""
    if str(path) == "-":
        import sys

        return sys.stdin.read(), "<stdin>"
    file = Path(path)
    try:
        return file.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a YAML file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def format_path(path: PathKey) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "<root>"
