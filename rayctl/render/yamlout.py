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
_SIMPLE_KEY_MAX = 122
"""PyYAML writes a longer key as an explicit `? key` entry: its limit is 128 characters counting the key's implicit
`!!str` tag (5), so 123 is already explicit (127 was assumed before: keys of 123-127 came out unlike PyYAML's)."""


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


_LINE_BREAKS = ("\n", "\x85", "\u2028", "\u2029")
"""What PyYAML reads and writes as a line break."""


def _open_end(text: str) -> tuple[str, bool]:
    """`text` without its document-end marker line, and whether it had one (after any of PyYAML's line breaks)."""
    if text.endswith(_OPEN_END) and text[: -len(_OPEN_END)].endswith(_LINE_BREAKS):
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


_OTHER_BREAKS = re.compile("[" + "".join(_LINE_BREAKS[1:]) + "]")
"""Line breaks PyYAML keeps in a quoted scalar, followed by the indentation of the column it writes at."""


def _depends_on_column(node: Any) -> bool:
    """Whether PyYAML's text for `node` depends on the column it starts at (see _SHORT, _OTHER_BREAKS)."""
    if isinstance(node, str):
        return (len(node) >= _SHORT and _literal(node) is None) or _OTHER_BREAKS.search(node) is not None
    if isinstance(node, dict):
        return any(_depends_on_column(k) or _depends_on_column(v) for k, v in node.items())
    if isinstance(node, list | tuple):
        return any(_depends_on_column(v) for v in node)
    return False


def _entry(key: Any, value: Any, column: int) -> str:
    """One map entry whose key PyYAML writes at `column` (0: the document's top level)."""
    if _simple_key(key):
        if _simple(value):
            return f"{key}: {value}\n"
        if type(value) is str:
            if (block := _literal(value)) is not None:
                return f"{key}:{block}"
            if (quoted := _single_quoted(value, column, key)) is not None:
                return f"{key}:{quoted}\n"
        if type(value) is dict and value:
            inner, open_ended = _open_end(_map(value, column + 2))
            return f"{key}:\n" + _indented(inner) + (_OPEN_END if open_ended else "")
        if type(value) is list and value and all(_simple(v) or _plain_map(v) for v in value):
            items = [_item(v, column) for v in value]
            return f"{key}:\n" + "".join(_open_end(i)[0] for i in items[:-1]) + items[-1]
    if column and (_depends_on_column(key) or _depends_on_column(value)):
        raise _Shifted
    return _pyyaml({key: value})


_QUOTED = re.compile("[#,\\[\\]{}&*!|>'\"%@`]"
                     "[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010fffe]*")
"""One line that starts with an indicator (a JSON document, say), so never plain, of characters PyYAML writes as
they are (allow_unicode: printable ASCII and the printable non-ASCII ranges of its analyze_scalar, without the
line breaks \\x85, \\u2028, \\u2029 and the BOM): PyYAML writes it single-quoted and escapes nothing but `'`."""
_WIDTH = 10_000
"""The width _pyyaml passes: PyYAML folds a quoted scalar at a single space once the line is past it."""
_RUNS = re.compile(r" +|'|[^ ']+")


def _single_quoted(text: str, key_column: int, key: str) -> str | None:
    """What PyYAML writes after `key:` (the key at `key_column`) for a _QUOTED string, as its write_single_quoted
    does: `''` for a quote, and a line break instead of a lone space found past _WIDTH (not at either end), the next
    line indented 2 past the key (written here relative to the key: the callers' _indented adds its column). None for
    any other string. A 60 KB dashboard took PyYAML's per-character emitter ~30 ms."""
    if not _QUOTED.fullmatch(text):
        return None
    pieces = [" '"]
    at = key_column + len(key) + 3  # after `key: '`
    end = len(text)
    for run in _RUNS.finditer(text):
        piece = run.group()
        if piece == " " and at > _WIDTH and run.start() != 0 and run.end() != end:
            pieces.append("\n  ")
            at = key_column + 2
        elif piece == "'":
            pieces.append("''")
            at += 2
        else:
            pieces.append(piece)
            at += len(piece)
    pieces.append("'")
    return "".join(pieces)


def _plain_map(value: object) -> bool:
    """A non-empty map whose first key is a plain word: as a list item, PyYAML writes it `- key: ...`."""
    return type(value) is dict and bool(value) and _simple_key(next(iter(value)))


def _item(value: Any, column: int) -> str:
    """One list item under a key written at `column`, as PyYAML writes it (the list indented by 2,
    `increase_indent`, so an item map's keys sit 4 further in)."""
    if _simple(value):
        return f"  - {value}\n"
    inner, open_ended = _open_end(_map(value, column + 4))
    first, _, rest = inner.partition("\n")
    return f"  - {first}\n" + _indented(_indented(rest)) + (_OPEN_END if open_ended else "")


def _top_entry(key: Any, value: Any) -> str:
    try:
        return _entry(key, value, 0)
    except _Shifted:
        return _pyyaml({key: value})


def _map(data: dict[Any, Any], column: int) -> str:
    pieces = [_entry(key, value, column) if column else _top_entry(key, value) for key, value in data.items()]
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
