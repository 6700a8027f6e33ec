"""YAML reading that remembers where each key came from (errors name file:line:column) and bounds its own work.

The file is parsed once, by libyaml when available: an iterative composer turns the parser's events into nodes,
recording positions and refusing, with the place and the fix, what a user's file should never make rayctl do:
files over MAX_BYTES, nesting deeper than MAX_DEPTH, alias expansion past MAX_EXPANDED_NODES (an "alias bomb"),
an alias inside its own anchor (a recursive structure), mapping keys that are not scalars, duplicate keys.
Numbers keep the text they were written as (`1.10` stays "1.10" where the spec wants a string).
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rayctl.errors import InputError

PathKey = tuple[str | int, ...]

MAX_BYTES = 16 * 2**20
"""The largest file rayctl reads (a RayService is at most ~1.5 MiB once stored: etcd's limit)."""
MAX_DEPTH = 100
"""The deepest nesting accepted (specs and manifests need under 20)."""
MAX_EXPANDED_NODES = 200_000
"""Nodes (keys, values, items) a document may expand to once aliases are followed: four times KubeRay's largest CRD
(the RayJob CRD, ~50 000), far beyond what etcd stores in one object (1.5 MiB). Keeps a 200 000-label file from
costing rayctl more than a moment."""

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlInt(int):
    """An int from YAML that remembers how it was written."""

    yaml_text: str


class YamlFloat(float):
    """A float from YAML that remembers how it was written (`1.10` is not `1.1` to someone who meant a version)."""

    yaml_text: str


def yaml_text(value: Any) -> str:
    """How a scalar was written in the file (numbers keep their text), else its str()."""
    return getattr(value, "yaml_text", None) or str(value)


@dataclass(frozen=True)
class GoReading:
    """A plain scalar that go-yaml v2 (Helm, kubectl, sigs.k8s.io/yaml) reads as another type than rayctl does."""

    path: PathKey
    text: str
    ours: str  # what rayctl (YAML 1.1) reads: "a string", "the number 90"
    theirs: str  # what Helm reads


@dataclass
class SourceDoc:
    """A parsed YAML document plus the line/column of every mapping key and sequence item."""

    data: Any
    filename: str
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    go_readings: list[GoReading] = field(default_factory=list)
    overridden: dict[PathKey, str] = field(default_factory=dict)
    """Paths a `--set` replaced, with the flag that did (errors there name the flag, not a line of the file)."""

    def where(self, path: PathKey) -> str:
        """`file:line:col` of the deepest known prefix of `path`, or the `--set` flag that wrote it."""
        for end in range(len(path) + 1):
            flag = self.overridden.get(path[:end])
            if flag is not None:
                return flag
        for end in range(len(path), -1, -1):
            pos = self.positions.get(path[:end])
            if pos is not None:
                return f"{self.filename}:{pos[0]}:{pos[1]}"
        return self.filename


class _Constructor(yaml.constructor.SafeConstructor):
    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        value = super().construct_yaml_int(node)
        out = YamlInt(value)
        out.yaml_text = node.value
        return out

    def construct_yaml_float(self, node: yaml.ScalarNode) -> Any:
        value = super().construct_yaml_float(node)
        out = YamlFloat(value)
        out.yaml_text = node.value
        return out


_constructor: Any = _Constructor
_constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)
_constructor.add_constructor("tag:yaml.org,2002:float", _Constructor.construct_yaml_float)

_RESOLVER: Any = yaml.resolver.Resolver()


def _at(filename: str, mark: Any) -> str:
    return f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark is not None else filename


class _Frame:
    """A collection node being composed."""

    __slots__ = ("anchor", "keys", "node", "pending_key", "size")

    def __init__(self, node: yaml.Node, anchor: str | None) -> None:
        self.node = node
        self.anchor = anchor
        self.pending_key: yaml.Node | None = None
        self.keys: dict[Any, yaml.Node] = {}
        self.size = 1  # expanded nodes below (and including) this one


def _compose(text: str, filename: str) -> list[yaml.Node]:
    """Every document's root node, composed iteratively from the parser's events, within the limits."""
    roots: list[yaml.Node] = []
    anchors: dict[str, tuple[yaml.Node, int]] = {}
    stack: list[_Frame] = []
    total = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            node: yaml.Node | None = None
            size = 1
            if isinstance(event, yaml.DocumentStartEvent):
                anchors.clear()
                total = 0
                continue
            if isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    open_anchor = any(f.anchor == event.anchor for f in stack)
                    raise InputError(
                        f"{_at(filename, event.start_mark)}: alias *{event.anchor} "
                        + ("refers to its own anchor (a recursive structure)" if open_anchor
                           else "refers to no anchor defined before it"),
                        hint="write the value out, or anchor a complete node before its aliases")
                node, size = anchors[event.anchor]
            elif isinstance(event, yaml.ScalarEvent):
                tag = event.tag
                if tag is None or tag == "!":
                    tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
                start: Any = event.start_mark
                end: Any = event.end_mark
                node = yaml.ScalarNode(tag, event.value, start, end, style=event.style)
            elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise InputError(f"{_at(filename, event.start_mark)}: nesting deeper than {MAX_DEPTH} levels",
                                     hint="no spec or manifest needs this much nesting: flatten the value")
                is_seq = isinstance(event, yaml.SequenceStartEvent)
                kind: Any = yaml.SequenceNode if is_seq else yaml.MappingNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = _RESOLVER.resolve(kind, None, event.implicit)
                collection = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
                stack.append(_Frame(collection, event.anchor))
                continue
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                frame = stack.pop()
                frame.node.end_mark = event.end_mark
                node, size = frame.node, frame.size
                if frame.anchor is not None:
                    anchors[frame.anchor] = (node, size)
                _attach(stack, roots, node, size, filename)
                continue
            else:
                continue
            anchor = getattr(event, "anchor", None) if isinstance(event, yaml.ScalarEvent) else None
            if anchor is not None:
                anchors[anchor] = (node, size)
            total += size
            if total > MAX_EXPANDED_NODES:
                raise InputError(f"{_at(filename, event.start_mark)}: the document expands to more than "
                                 f"{MAX_EXPANDED_NODES} nodes (keys, values and items) once its aliases are "
                                 "followed: no spec or manifest is this big (an alias bomb?)",
                                 hint="is this the right file? Aliases nested in aliases multiply: write the "
                                 "values out")
            _attach(stack, roots, node, size, filename)
    except yaml.YAMLError as exc:
        raise _yaml_error(filename, exc) from exc
    return roots


def _attach(stack: list[_Frame], roots: list[yaml.Node], node: yaml.Node, size: int, filename: str) -> None:
    if not stack:
        roots.append(node)
        return
    parent = stack[-1]
    parent.size += size
    if isinstance(parent.node, yaml.SequenceNode):
        parent.node.value.append(node)
        return
    if parent.pending_key is None:
        if not isinstance(node, yaml.ScalarNode):
            raise InputError(f"{_at(filename, node.start_mark)}: mapping keys must be plain scalars (a complex "
                             "`? [a, b]` key cannot name a field)", hint="use a string key")
        key = (node.tag, node.value)
        if node.tag != "tag:yaml.org,2002:merge":
            first = parent.keys.get(key)
            if first is not None:
                raise InputError(f"{_at(filename, node.start_mark)}: duplicate key {node.value!r} (first at line "
                                 f"{first.start_mark.line + 1}; YAML readers disagree on which one wins)")
            parent.keys[key] = node
        parent.pending_key = node
        return
    parent.node.value.append((parent.pending_key, node))
    parent.pending_key = None


# go-yaml v2's implicit types for plain scalars (resolve.go; ints through strconv.ParseInt(s without "_", 0, 64),
# floats through its yamlStyleFloat). YAML 1.1 (PyYAML, so rayctl) differs on these: `y`/`n` are strings to it,
# `1e3`, `1.5e5` and `0o17` too, and `1:30` is the sexagesimal number 90 (a string to go-yaml).
_GO_BOOL = re.compile(r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF")
_GO_NULL = re.compile(r"~|null|Null|NULL|")
_GO_INT = re.compile(r"[-+]?(?:[0-9][0-9_]*|0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+)")
_GO_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_KINDS = {"tag:yaml.org,2002:str": "a string", "tag:yaml.org,2002:bool": "a boolean",
          "tag:yaml.org,2002:null": "null", "tag:yaml.org,2002:int": "a number", "tag:yaml.org,2002:float": "a number"}


def go_yaml_kind(text: str) -> str:
    """What go-yaml v2 makes of a plain scalar: "a boolean", "null", "a number" or "a string"."""
    if _GO_BOOL.fullmatch(text):
        return "a boolean"
    if _GO_NULL.fullmatch(text):
        return "null"
    if _GO_INT.fullmatch(text):
        return "a number"
    if _GO_FLOAT.fullmatch(text):
        if "inf" in text.lower() or "nan" in text.lower():
            return "a number"
        return "a string" if math.isinf(float(text)) else "a number"  # ParseFloat overflows: go-yaml keeps a string
    return "a string"


def _go_reading(node: yaml.Node, where: PathKey) -> GoReading | None:
    if not isinstance(node, yaml.ScalarNode) or node.style or node.tag not in _KINDS:  # plain: None or ""
        return None
    ours, theirs = _KINDS[node.tag], go_yaml_kind(node.value)
    if ours == theirs:
        return None
    return GoReading(where, node.value, ours, theirs)


def _walk(node: yaml.Node, path: PathKey, positions: dict[PathKey, tuple[int, int]], seen: set[int],
          readings: list[GoReading] | None = None) -> None:
    """Positions of keys and items, iteratively; an aliased node is walked once (its first place). With `readings`,
    also every plain scalar (key or value) go-yaml would read as another type."""
    todo: list[tuple[yaml.Node, PathKey]] = [(node, path)]
    while todo:
        current, where = todo.pop()
        positions.setdefault(where, (current.start_mark.line + 1, current.start_mark.column + 1))
        if id(current) in seen:
            continue
        seen.add(id(current))
        if readings is not None and (reading := _go_reading(current, where)) is not None:
            readings.append(reading)
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                child = (*where, key_node.value)
                positions.setdefault(child, (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
                if readings is not None and (reading := _go_reading(key_node, child)) is not None:
                    readings.append(reading)
                todo.append((value_node, child))
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                todo.append((item, (*where, index)))


class YamlSyntaxError(InputError):
    """The text is not YAML (as opposed to YAML that rayctl refuses to expand)."""


def _yaml_error(filename: str, exc: yaml.YAMLError) -> InputError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    detail = f"{context}, {problem}" if context else problem
    return YamlSyntaxError(f"{_at(filename, mark)}: YAML syntax error: {detail}")


def _construct(root: yaml.Node, filename: str) -> Any:
    constructor = _Constructor()
    try:
        return constructor.construct_document(root)
    except yaml.YAMLError as exc:
        raise _yaml_error(filename, exc) from exc
    except (TypeError, ValueError, OverflowError) as exc:  # e.g. a merge key over a non-mapping
        raise InputError(f"{_at(filename, root.start_mark)}: cannot read this YAML: {exc}") from exc


def parse_value(text: str, label: str) -> Any:
    """One YAML value written on the command line (`--set key=VALUE`), read as a file is read: once, by the
    bounded composer (size, depth, alias and key limits, numbers keep their text). Text that is not YAML at all
    (`'unterminated`) is the string itself, as `helm --set` takes it."""
    if len(text) > MAX_BYTES:
        raise InputError(f"{label}: {len(text)} characters is more than rayctl reads ({MAX_BYTES // 2**20} MiB)")
    try:
        roots = _compose(text, label)
    except YamlSyntaxError:
        return text
    if len(roots) != 1:
        if not roots:
            return None
        raise InputError(f"{label}: the value holds {len(roots)} YAML documents; give one value")
    try:
        return _construct(roots[0], label)
    except YamlSyntaxError:
        return text


def parse_documents(text: str, filename: str) -> list[SourceDoc]:
    """Parse every YAML document in `text` (empty documents are dropped)."""
    if len(text) > MAX_BYTES:
        raise InputError(f"{filename}: {len(text)} characters is more than rayctl reads ({MAX_BYTES // 2**20} MiB)")
    docs = []
    for root in _compose(text, filename):
        data = _construct(root, filename)
        if data is None:
            continue
        positions: dict[PathKey, tuple[int, int]] = {}
        readings: list[GoReading] = []
        _walk(root, (), positions, set(), readings)
        readings.sort(key=lambda r: positions.get(r.path, (0, 0)))
        docs.append(SourceDoc(data=data, filename=filename, positions=positions, go_readings=readings))
    return docs


def read_text(path: str | Path) -> tuple[str, str]:
    """Read a file ('-' is stdin), at most MAX_BYTES; returns (text, display name)."""
    if str(path) == "-":
        text = sys.stdin.read(MAX_BYTES + 1)
        if len(text) > MAX_BYTES:
            raise InputError(f"<stdin>: more than rayctl reads ({MAX_BYTES // 2**20} MiB)")
        return text, "<stdin>"
    file = Path(path)
    try:
        size = os.stat(file).st_size
        if size > MAX_BYTES:
            raise InputError(f"{path}: {size / 2**20:.1f} MiB is more than rayctl reads ({MAX_BYTES // 2**20} MiB)",
                             hint="a spec or manifest is kilobytes; is this the right file?")
        return file.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory, expected a YAML file") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc


def format_path(path: PathKey) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<root>"
