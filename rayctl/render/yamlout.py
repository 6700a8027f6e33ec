"""Deterministic YAML that every consumer reads the same way.

kubectl, Helm and the API server read YAML with go-yaml (YAML 1.1 rules), PyYAML has its own subset of YAML 1.1,
and YAML 1.2 readers differ again. A string is therefore written quoted whenever any of them could read it as
something else: `y`, `n`, `on`, `off`, `yes`, `no`, `~`, `null`, `1e3`, `0x1F`, `1_000`, `12:30`, `.inf`, ...
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from rayctl.spec.yamlsrc import YamlFloat, YamlInt

_AMBIGUOUS = re.compile(
    r"""^(?:
        [yYnN~]
      | (?:[yY]es|YES|[nN]o|NO|[tT]rue|TRUE|[fF]alse|FALSE|[oO]n|ON|[oO]ff|OFF|[nN]ull|NULL)
      | [-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?   # ints, floats, 1e3, 1_000
      | [-+]?0[xX][0-9a-fA-F_]+ | [-+]?0[oO]?[0-7_]+ | [-+]?0[bB][01_]+   # hex, octal, binary
      | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?                   # sexagesimal 1:30
      | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
      | <<
    )$""",
    re.VERBOSE,
)


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as literal blocks and indents lists under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    if _AMBIGUOUS.match(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="'")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)
# Numbers read from a spec keep their source text (rayctl.spec.yamlsrc); written back they are plain numbers.
_Dumper.add_representer(YamlInt, yaml.SafeDumper.represent_int)
_Dumper.add_representer(YamlFloat, yaml.SafeDumper.represent_float)


_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
"""A string PyYAML writes plain and every reader reads back as that string: it starts with a letter or `_` (never a
number, date or `.inf`), has no indicator or space, and is not a bool/null word (checked with _AMBIGUOUS)."""
_SIMPLE_KEY_MAX = 127
"""PyYAML writes a longer key as an explicit `? key` entry."""


def _simple(text: object) -> bool:
    return type(text) is str and _SIMPLE.fullmatch(text) is not None and _AMBIGUOUS.match(text) is None


def _simple_key(key: object) -> bool:
    return _simple(key) and len(key) <= _SIMPLE_KEY_MAX  # type: ignore[arg-type]


def _indented(text: str) -> str:
    # PyYAML writes a literal block's empty lines without indentation: so does this
    return "".join("  " + line if line != "\n" else line for line in text.splitlines(keepends=True))


_OPEN_END = "...\n"
"""PyYAML's document-end marker, written when the document's last scalar is a `|+` block (open-ended)."""
_SHORT = 1000
"""PyYAML folds a quoted or spaced scalar past column 10 000: a nested piece holding a string (or key) this long is
written by PyYAML at its real column (its top-level entry), never at column 0 and shifted."""


def _open_end(text: str) -> tuple[str, bool]:
    """`text` without its document-end marker line, and whether it had one."""
    if text.endswith("\n" + _OPEN_END):
        return text[: -len(_OPEN_END)], True
    return text, False


class _Shifted(Exception):
    """A nested entry PyYAML must write in place (see _SHORT)."""


_LITERAL_SAFE = re.compile(r"[\x20-\x7e\n]*")
"""Printable ASCII and line feeds: text PyYAML writes as a literal block exactly as _literal does (no escapes)."""


def _literal(text: str) -> str | None:
    """What PyYAML writes after `key:` for a multi-line string it writes as a literal block (`|` or `|-`), or None
    where its choice is not that simple: a space before a line break (no block style then), a leading space or break
    (an indentation indicator), keep chomping (`|+`, open-ended document), or characters it may escape. A literal
    block is never folded, so its text does not depend on the column it starts at."""
    if ("\n" not in text or text[0] in " \n" or text.endswith((" ", "\n\n")) or " \n" in text
            or not _LITERAL_SAFE.fullmatch(text)):
        return None
    chomp = "" if text.endswith("\n") else "-"
    return f" |{chomp}\n" + _indented(text + ("\n" if chomp else ""))  # its empty lines stay unindented


def _has_long_text(node: Any) -> bool:
    if isinstance(node, str):
        return len(node) >= _SHORT and _literal(node) is None
    if isinstance(node, dict):
        return any(_has_long_text(k) or _has_long_text(v) for k, v in node.items())
    if isinstance(node, list | tuple):
        return any(_has_long_text(v) for v in node)
    return False


def _entry(key: Any, value: Any, depth: int) -> str:
    if _simple_key(key):
        if _simple(value):
            return f"{key}: {value}\n"
        if type(value) is str and (block := _literal(value)) is not None:
            return f"{key}:{block}"
        if type(value) is dict and value:
            inner, open_ended = _open_end(_map(value, depth + 1))
            return f"{key}:\n" + _indented(inner) + (_OPEN_END if open_ended else "")
        if type(value) is list and value and all(_simple(v) or _plain_map(v) for v in value):
            items = [_item(v, depth + 1) for v in value]
            return f"{key}:\n" + "".join(_open_end(i)[0] for i in items[:-1]) + items[-1]
    if depth and (_has_long_text(key) or _has_long_text(value)):
        raise _Shifted
    return _pyyaml({key: value})


def _plain_map(value: object) -> bool:
    """A non-empty map whose first key is a plain word: as a list item, PyYAML writes it `- key: ...`."""
    return type(value) is dict and bool(value) and _simple_key(next(iter(value)))


def _item(value: Any, depth: int) -> str:
    """One list item under a key, as PyYAML writes it (the list indented by 2, `increase_indent`)."""
    if _simple(value):
        return f"  - {value}\n"
    inner, open_ended = _open_end(_map(value, depth + 1))
    first, _, rest = inner.partition("\n")
    return f"  - {first}\n" + _indented(_indented(rest)) + (_OPEN_END if open_ended else "")


def _top_entry(key: Any, value: Any) -> str:
    try:
        return _entry(key, value, 0)
    except _Shifted:
        return _pyyaml({key: value})


def _map(data: dict[Any, Any], depth: int) -> str:
    pieces = [_entry(key, value, depth) if depth else _top_entry(key, value) for key, value in data.items()]
    # only the document's last scalar leaves it open-ended: the marker of an inner piece is dropped
    return "".join(_open_end(piece)[0] for piece in pieces[:-1]) + pieces[-1]


def dump_yaml(data: Any) -> str:
    """Deterministic YAML: insertion order kept, block style, no line folding.

    A map is written entry by entry, plain words, nested maps, literal blocks and lists of words or maps without
    PyYAML's per-node emitter (20 000 labels took seconds per copy; it was most of a render), everything else by
    PyYAML: byte for byte what PyYAML writes for the whole map
    (tests/unit/test_properties.py), except that an object appearing twice is written twice, never as an alias."""
    if type(data) is dict and data:
        return _map(data, 0)
    return _pyyaml(data)


def _pyyaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=10_000,
                     allow_unicode=True)


def to_yaml(data: Any) -> str:
    """Jinja filter: `data` as YAML without the trailing newline (and without `...` after a bare scalar)."""
    text = dump_yaml(data).rstrip("\n")
    return text[: -len("\n...")] if text.endswith("\n...") else text


def yaml_value(value: Any) -> str:
    """Jinja filter: what follows `key:` for `value`: ` scalar`, ` {}`/` []`, or a block indented by 2."""
    if isinstance(value, dict | list) and value:
        return "\n" + "\n".join("  " + line if line else line for line in to_yaml(value).split("\n"))
    return " " + to_yaml(value)
