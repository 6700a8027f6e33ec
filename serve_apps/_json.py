"""Strict, bounded parsing of JSON request bodies (standard library only).

`parse_json_body(body)` accepts exactly one RFC 8259 JSON document and raises `JSONBodyError` (a ValueError with
a message that names the problem and where it is, never echoing the value) for anything else:

- not UTF-8: invalid bytes (names the byte and its offset), UTF-16/UTF-32 (byte order mark or NUL bytes); one
  leading UTF-8 byte order mark is tolerated;
- not JSON: Python's own parser message (line/column), and the extensions Python accepts but JSON does not:
  `NaN`, `Infinity`, `-Infinity`;
- numbers outside what JSON peers can represent: integers beyond 64 bits (Python raises past 4 300 digits, and
  vLLM's sampler overflows on less), floats that overflow to infinity (`1e999`);
- duplicate keys in one object (parsers disagree on which one wins: a request smuggling vector);
- nesting deeper than `max_depth` (Python's recursive parser otherwise raises RecursionError near 1 000);
- lone UTF-16 surrogates (`"\\ud800"`): valid JSON escapes that encode no character; such strings cannot be
  encoded as UTF-8 and crash tokenizers, JSON encoders and Ray's serialization further down.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays/objects accepted in a request body (the apps' documents nest 1-4 levels)."""

_INT64 = 2**63
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


class JSONBodyError(ValueError):
    """The body is not one strict JSON document; `str(exc)` says why, safe to show to the client."""


def _reject_constant(name: str) -> Any:
    raise JSONBodyError(f"{name} is not valid JSON (RFC 8259 has no NaN or Infinity); send a finite number or null")


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        shown = text if len(text) <= 24 else text[:20] + "..."
        raise JSONBodyError(f"number {shown} is out of range (overflows a 64-bit float)")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONBodyError(f"duplicate key {describe_key(key)} in a JSON object; send each key once")
            seen.add(key)
    return obj


def describe_key(key: str) -> str:
    """A key for an error message: quoted, escaped to ASCII, bounded in length."""
    return ascii(key if len(key) <= 40 else key[:40] + "...")


def json_path(path: tuple[str | int, ...]) -> str:
    """`$.messages[0].content` style path (keys that are not identifiers in brackets)."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier() and part.isascii() and len(part) <= 40:
            out += f".{part}"
        else:
            out += f"[{describe_key(part)}]"
    return out


def _decode(body: bytes) -> str:
    for bom, name in _OTHER_BOMS:
        if body.startswith(bom):
            raise JSONBodyError(f"request body is {name} (it starts with a {name} byte order mark); JSON must be UTF-8")
    if body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8) :]
    try:
        text = body.decode("utf-8")  # strict: rejects overlong forms, encoded surrogates, > U+10FFFF, truncation
    except UnicodeDecodeError as exc:
        bad = body[exc.start : exc.start + 1].hex()
        raise JSONBodyError(
            f"request body is not valid UTF-8: {exc.reason} (byte 0x{bad} at offset {exc.start})"
        ) from None
    if "\x00" in text[:4] and text.strip("\x00"):
        raise JSONBodyError("request body contains NUL bytes (UTF-16 or UTF-32?); JSON must be UTF-8")
    return text


def check_value(value: Any, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Depth and lone-surrogate checks over a parsed document, iteratively (no recursion on hostile input); only
    containers are stacked (an array of 200 000 numbers costs one pass, no path tuples)."""
    if not isinstance(value, (dict, list)):
        _check_scalar(value, ())
        return
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if len(path) >= max_depth:
            raise JSONBodyError(f"request body nests deeper than {max_depth} levels (at {json_path(path)})")
        children = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in children:
            if isinstance(key, str):
                _check_text(key, path, is_key=True)
            if isinstance(child, (dict, list)):
                stack.append((child, (*path, key)))
            elif isinstance(child, str):
                if not child.isascii():
                    _check_text(child, (*path, key))
            elif type(child) is int and not -_INT64 <= child < _INT64:
                _check_scalar(child, (*path, key))


def _check_scalar(value: Any, path: tuple[str | int, ...]) -> None:
    if isinstance(value, str):
        _check_text(value, path)
    elif type(value) is int and not -_INT64 <= value < _INT64:
        raise JSONBodyError(
            f"{json_path(path)}: an integer with {len(str(abs(value)))} digits is out of range "
            "(JSON integers must fit in 64 bits)"
        )


def _check_text(text: str, path: tuple[str | int, ...], *, is_key: bool = False) -> None:
    if text.isascii():
        return
    m = _SURROGATE_RE.search(text)
    if m is not None:
        where = f"a key of {json_path(path)}" if is_key else json_path(path)
        raise JSONBodyError(
            f"{where} contains a lone UTF-16 surrogate (U+{ord(m.group()):04X} at character {m.start()}), which "
            "encodes no character; escape pairs must be a high surrogate followed by a low one"
        )


def parse_json_body(body: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """One strict JSON document from `body` (see the module doc); JSONBodyError otherwise. An empty or
    whitespace-only body is an error too."""
    text = _decode(body)
    if not text.strip(" \t\r\n"):
        raise JSONBodyError("request body is empty; expected a JSON document")
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_parse_float,
            object_pairs_hook=_object,
        )
    except JSONBodyError:
        raise
    except RecursionError:
        raise JSONBodyError(f"request body nests deeper than {max_depth} levels") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise JSONBodyError(f"request body is not valid JSON: {exc.msg} ({where})") from None
    except ValueError:  # int(): more digits than sys.get_int_max_str_digits() (4 300)
        raise JSONBodyError(
            "request body has an integer with thousands of digits (JSON integers must fit in 64 bits)"
        ) from None
    check_value(value, max_depth)
    return value
