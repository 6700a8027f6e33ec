"""Hostile-HTTP fuzzing for the bundled Serve apps: a deterministic generator of malformed request bodies, an async
runner, and the invariants every app must hold (`check`).

The generator (`hostile_cases`) is seeded and pure, so a failing case is reproducible by its index and label. It
covers, per target endpoint:

- structure: every JSON type at the top level, missing/extra/odd keys, concatenated documents, JSON5-isms;
- types: each field (also nested ones, e.g. `messages[0].content`) set to every JSON type, boundary integers,
  huge numbers (1e999, a 5 000-digit integer), the NaN/Infinity literals, a secret-looking canary string;
- sizes: empty and whitespace bodies, strings around the app's body limit, ~20 MB bodies (with Content-Length,
  chunked, and 20 MB of `[`);
- encodings: invalid UTF-8 (overlong, truncated, encoded surrogates, > U+10FFFF), Latin-1, lone UTF-16
  surrogates as `\\ud800` escapes (in values and keys, top level and nested), bad escapes, UTF-8/16/32 BOMs;
- nesting from 2 to 100 000 levels (arrays and objects, at the top and inside a field), unbalanced brackets;
- random bytes, random printable text, random JSON values, byte-level mutations and truncations of valid bodies;
- wrong or odd content types (form, multipart, XML, charset=utf-16, none), duplicate keys, unicode
  normalisation edge cases (NFKC expansion x18, 100 000 combining marks, zero-width-only text, noncharacters).

Invariants (`check`): no 5xx and no transport error; a JSON body (`{"error": {"type", "message", "status"}}` for
every 4xx, status equal to the HTTP status, a snake_case `type`); no traceback, no exception class name
(`RayTaskError(TypeError)`, `ValueError`, ...) and never the canary in an error; and every body that is not a
strictly valid JSON document (RFC 8259 UTF-8, no NaN/Infinity, no duplicate keys, no lone surrogates, depth within
the apps' limit, size within the app's limit) is rejected with a 4xx. Latency is recorded per request; `summary`
reports p50/p99/max and the 2xx/4xx/5xx counts.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.trees import paths as tree_paths

CANARY = "sk-fuzzcanary-7f3a9c2e5b1d4f60"  # a secret-looking value: must never be echoed in an error
RAW = "@@RAW@@"  # placeholder (as a JSON string) replaced by raw, possibly invalid, JSON text
_EXC_NAME_RE = re.compile(r"\b[A-Z][A-Za-z0-9]*(?:Error|Exception)\b|Traceback|\bFile \"")
_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
JSON_TYPES = ("application/json", "application/json; charset=utf-8")


@dataclass(frozen=True)
class Target:
    """One endpoint to fuzz: its path, bodies it answers with 2xx, and its body limit."""

    name: str
    path: str
    valid: Sequence[dict[str, Any]]
    max_body: int
    max_depth: int
    text_paths: Sequence[tuple[str | int, ...]] = ()  # paths of string fields that get hostile strings
    stream_types: Sequence[str] = ()  # 2xx content types that are streams (not one JSON document)
    allow_empty: bool = False  # an empty (or whitespace-only) body is a valid request (A/B router, hello)


@dataclass(frozen=True)
class Case:
    category: str
    label: str
    body: bytes | None
    content_type: str | None = "application/json"
    method: str = "POST"
    path: str = ""
    chunked: bool = False
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Result:
    case: Case
    status: int
    content_type: str
    body: bytes
    latency_s: float
    transport_error: str = ""


@dataclass
class Report:
    target: str
    results: list[Result]
    wall_s: float
    failures: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        classes = Counter(f"{r.status // 100}xx" if r.status else "transport_error" for r in self.results)
        errors = [r for r in self.results if r.status >= 400 or not r.status]
        return {
            "target": self.target,
            "bodies": len(self.results),
            **{k: classes.get(k, 0) for k in ("2xx", "3xx", "4xx", "5xx", "transport_error")},
            **_latency("", self.results),
            **_latency("_errors", errors),  # the answers to malformed input: must come fast
            "slowest": max(self.results, key=lambda r: r.latency_s).case.label,
            "wall_s": round(self.wall_s, 1),
            "failures": len(self.failures),
        }


def _latency(suffix: str, results: Sequence[Result]) -> dict[str, float]:
    lat = sorted(r.latency_s for r in results) or [0.0]
    return {
        f"p50{suffix}_ms": round(1000 * statistics.median(lat), 1),
        f"p99{suffix}_ms": round(1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1),
        f"max{suffix}_ms": round(1000 * lat[-1], 1),
    }


# ------------------------------------------------------------------------------------------------ oracle


class _Invalid(Exception):
    pass


def _no_constants(name: str) -> Any:
    raise _Invalid(name)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _Invalid("duplicate key")
    return dict(pairs)


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Invalid("float out of range")
    return value


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def strictly_valid_json(body: bytes | None, max_depth: int, max_bytes: int) -> bool:
    """The oracle: is `body` one RFC 8259 JSON document the apps must accept as JSON (UTF-8, one optional UTF-8 BOM,
    no NaN/Infinity, finite numbers, 64-bit integers, unique keys, no lone surrogates, depth <= max_depth)?"""
    if body is None or len(body) > max_bytes:
        return False
    if body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8) :]
    try:
        text = body.decode("utf-8")
        if not text.strip(" \t\r\n"):
            return False
        value = json.loads(text, parse_constant=_no_constants, object_pairs_hook=_pairs, parse_float=_finite)
    except (ValueError, RecursionError, _Invalid):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > max_depth:
                return False
            for k, v in item.items():
                if _SURROGATE_RE.search(k):
                    return False
                stack.append((v, depth + 1))
        elif isinstance(item, list):
            if depth > max_depth:
                return False
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str):
            if _SURROGATE_RE.search(item):
                return False
        elif isinstance(item, int) and not isinstance(item, bool) and not -(2**63) <= item < 2**63:
            return False
    return True


# ------------------------------------------------------------------------------------------------ generator


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _with_raw(template: Any, raw: str | bytes) -> bytes:
    """json(template) with the first RAW placeholder replaced by raw JSON text (may be invalid)."""
    text = json.dumps(template, ensure_ascii=True)
    raw_b = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    head, _, tail = text.partition(json.dumps(RAW))
    return head.encode() + raw_b + tail.encode()


def _set(doc: Any, path: Sequence[str | int], value: Any) -> Any:
    """A deep copy of `doc` with the value at `path` replaced."""
    out = json.loads(json.dumps(doc))
    cur = out
    for key in path[:-1]:
        cur = cur[key]
    cur[path[-1]] = value
    return out


def _drop(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != key}




TYPE_VALUES: list[tuple[str, Any]] = [
    ("null", None),
    ("true", True),
    ("false", False),
    ("zero", 0),
    ("minus-one", -1),
    ("one", 1),
    ("int32-max+1", 2**31),
    ("int64-max", 2**63 - 1),
    ("int64-max+1", 2**63),
    ("int64-min-1", -(2**63) - 1),
    ("1e30-int", 10**30),
    ("half", 0.5),
    ("minus-zero", -0.0),
    ("1e308", 1e308),
    ("1e-320", 1e-320),
    ("empty-str", ""),
    ("space-str", " "),
    ("ws-str", "\t\n\r "),
    ("str-0", "0"),
    ("str-true", "true"),
    ("str-null", "null"),
    ("canary", CANARY),
    ("empty-list", []),
    ("list-int", [1]),
    ("list-str", ["a"]),
    ("empty-obj", {}),
    ("obj", {"a": 1}),
    ("nested-list", [[[]]]),
    ("obj-canary", {"api_key": CANARY}),
]
RAW_VALUES: list[tuple[str, str]] = [
    ("NaN", "NaN"),
    ("Infinity", "Infinity"),
    ("-Infinity", "-Infinity"),
    ("nan-lower", "nan"),
    ("1e999", "1e999"),
    ("-1e999", "-1e999"),
    ("5000-digit-int", "9" * 5000),
    ("4300-digit-int", "1" * 4300),
    ("25-digit-int", "1234567890123456789012345"),
    ("hex", "0x10"),
    ("leading-zero", "01"),
    ("plus", "+1"),
    ("dot-five", ".5"),
    ("one-dot", "1."),
    ("exp-only", "1e"),
    ("undefined", "undefined"),
    ("single-quoted", "'x'"),
    ("bare-word", "hello"),
    ("empty", ""),
]
INVALID_UTF8: list[tuple[str, bytes]] = [
    ("ff", b"\xff"),
    ("fe", b"\xfe"),
    ("c3-28", b"\xc3\x28"),
    ("a0-a1", b"\xa0\xa1"),
    ("e2-28-a1", b"\xe2\x28\xa1"),
    ("e2-82-28", b"\xe2\x82\x28"),
    ("f0-28-8c-bc", b"\xf0\x28\x8c\xbc"),
    ("f8-5byte", b"\xf8\xa1\xa1\xa1\xa1"),
    ("overlong-slash", b"\xc0\xaf"),
    ("overlong-3", b"\xe0\x80\xaf"),
    ("encoded-surrogate-d800", b"\xed\xa0\x80"),
    ("encoded-surrogate-dfff", b"\xed\xbf\xbf"),
    ("encoded-surrogate-pair", b"\xed\xa0\xbd\xed\xb8\x80"),
    ("truncated-3", b"\xe2\x82"),
    ("truncated-4", b"\xf0\x9f\x98"),
    ("above-10ffff", b"\xf4\x90\x80\x80"),
    ("latin1-cafe", b"caf\xe9"),
    ("cesu-nul", b"\xc0\x80"),
]
ESCAPES: list[tuple[str, str]] = [  # JSON string bodies (between the quotes), as raw JSON text
    ("lone-high-d800", "\\ud800"),
    ("lone-low-dfff", "\\udfff"),
    ("lone-dbff", "\\udbff"),
    ("high-then-x", "\\ud800x"),
    ("x-then-low", "x\\udc00"),
    ("reversed-pair", "\\udc00\\ud800"),
    ("two-highs", "\\ud800\\ud800"),
    ("surrogate-in-text", "hello \\ud83d world"),
    ("valid-pair", "\\ud83d\\ude00 smile"),
    ("escaped-nul", "a\\u0000b"),
    ("escaped-ctrl", "\\u001f\\u0007"),
    ("short-escape", "\\u12"),
    ("x-escape", "\\x41"),
    ("bad-hex-escape", "\\uZZZZ"),
    ("raw-tab", "a\tb"),
    ("raw-newline", "a\nb"),
    ("raw-nul", "a\x00b"),
    ("backslash-end", "abc\\"),
]
UNICODE_TEXTS: list[tuple[str, str]] = [
    ("nfkc-x18-small", "\ufdfa" * 10),
    ("nfkc-x18-large", "\ufdfa" * 60_000),
    ("combining-100k", "a" + "\u0301" * 100_000),
    ("combining-zalgo", "".join("z" + "\u0336\u0337\u0338" * 30 for _ in range(200))),
    ("decomposed-e", "cafe\u0301 au lait, tre\u0300s bien"),
    ("composed-e", "caf\u00e9 au lait, tr\u00e8s bien"),
    ("roman-numeral", "\u2167 \u2168 \u216b chapters"),
    ("ligatures", "\ufb01nal \ufb02ow \ufb00"),
    ("fullwidth", "\uff28\uff45\uff4c\uff4c\uff4f \uff37\uff4f\uff52\uff4c\uff44"),
    ("rtl-override", "abc\u202edef\u202cghi"),
    ("zero-width-only", "\u200b\u200c\u200d\u2060" * 50),
    ("bom-only", "\ufeff"),
    ("nbsp-only", "\u00a0" * 100),
    ("ideographic-space-only", "\u3000" * 10),
    ("hangul-jamo", "\u1100\u1161\u11a8 \u1112\u1161\u11ab"),
    ("titlecase-dz", "\u01c5ungla"),
    ("dotted-capital-i", "\u0130" * 1000),
    ("emoji-zwj", "\U0001f468\u200d\U0001f469\u200d\U0001f467 family"),
    ("tag-chars", "flag \U000e0067\U000e0062\U000e007f"),
    ("private-use", "\ue000\uf8ff"),
    ("noncharacters", "\ufffe\uffff\U0010ffff"),
    ("math-bold", "\U0001d400\U0001d401\U0001d402 bold"),
    ("line-separators", "one\u2028two\u2029three"),
    ("crlf-flood", "\r\n" * 20_000),
    ("tab-flood", "\t" * 50_000),
    ("replacement-char", "\ufffd" * 100),
    ("arabic-presentation", "\ufdfb \ufdf2"),
    ("long-single-word", "a" * 200_000),
    ("many-short-words", "ab " * 100_000),
    ("one-char", "x"),
    ("punctuation-only", "!?." * 1000),
    ("digits", "1234567890" * 1000),
    ("mixed-scripts", "English \u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u4e2d\u6587 "
                      "\u0627\u0644\u0639\u0631\u0628\u064a\u0629"),
    ("sentences-dots", "." * 50_000),
]
CONTENT_TYPES: list[str | None] = [
    None,
    "",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=fuzzboundary",
    "application/xml",
    "application/json; charset=utf-16",
    "application/json; charset=latin-1",
    "application/octet-stream",
    "*/*",
    "garbage",
    "application/json" + "; x=y" * 200,
    "application/vnd.api+json",
    "APPLICATION/JSON",
]


def _nest(depth: int, kind: str, core: str = "1") -> str:
    if kind == "array":
        return "[" * depth + core + "]" * depth
    return '{"a":' * depth + core + "}" * depth


def hostile_cases(target: Target, *, seed: int = 9, total: int = 1100) -> list[Case]:
    """At least `total` malformed or odd requests for `target` (deterministic for a seed)."""
    rng = random.Random(seed)
    base = target.valid[0]
    cases: list[Case] = []

    def add(category: str, label: str, body: bytes | None, **kw: Any) -> None:
        cases.append(Case(category, label, body, **kw))

    # valid bodies first: the baseline must work
    for i, doc in enumerate(target.valid):
        add("valid", f"valid-{i}", _dumps(doc))

    # -- structure
    for label, value in [
        ("null", None), ("true", True), ("zero", 0), ("float", 1.5), ("string", "text"), ("empty-list", []),
        ("list-of-valid", [base]), ("list-of-lists", [[base]]), ("empty-obj", {}), ("unknown-only", {"unknown": 1}),
        ("wrapped", {"data": base}), ("wrapped-list", {"items": [base]}),
    ]:
        add("structure", label, _dumps(value))
    for key in base:
        add("structure", f"missing-{key}", _dumps(_drop(base, key)))
    for key in ["", " ", "\u0000", "k" * 10_000, "__proto__", "constructor", "TEXT", "Text", "text ", "api_key"]:
        add("structure", f"extra-key-{key[:12]!r}", _dumps({**base, key: CANARY}))
    valid_text = _dumps(base)
    for label, raw in [
        ("concatenated", valid_text + valid_text),
        ("trailing-garbage", valid_text + b"x"),
        ("trailing-comma", valid_text[:-1] + b",}"),
        ("single-quotes", valid_text.replace(b'"', b"'")),
        ("comment", b"// c\n" + valid_text),
        ("unquoted-keys", re.sub(rb'"(\w+)":', rb"\1:", valid_text)),
        ("leading-ws-10k", b" " * 10_000 + valid_text),
        ("trailing-ws-10k", valid_text + b"\n" * 10_000),
        ("raw-u2028", valid_text[:-1] + ',"z":"\u2028"}'.encode()),
        ("missing-close", valid_text[:-1]),
        ("only-open", b"{"),
        ("only-close", b"}"),
        ("colon-only", b":"),
        ("nul-byte", b"\x00"),
        ("nul-after", valid_text + b"\x00"),
    ]:
        add("structure", label, raw)

    # -- types (top-level and nested fields)
    paths = [p for p in tree_paths(base) if len(p) <= 3]
    for path in paths:
        name = ".".join(map(str, path))
        for label, value in TYPE_VALUES:
            add("types", f"{name}={label}", _dumps(_set(base, path, value)))
        for label, raw in RAW_VALUES:
            add("numbers", f"{name}={label}", _with_raw(_set(base, path, RAW), raw))

    # -- sizes
    limit = target.max_body
    text_path = target.text_paths[0] if target.text_paths else paths[0]
    overhead = len(_dumps(_set(base, text_path, "")))
    for label, body in [
        ("empty", b""), ("one-space", b" "), ("spaces-1000", b" " * 1000), ("newline", b"\n"), ("crlf", b"\r\n"),
        ("tabs", b"\t\t\t"),
    ]:
        add("sizes", label, body)
    for n in (0, 1, 1000, 100_000, limit - overhead - 10, limit - overhead + 1, 2 * limit):
        add("sizes", f"text-{n}-bytes", _dumps(_set(base, text_path, "w" * max(n, 0))))
    big = 20 * 1024 * 1024
    add("sizes", "20MB-content-length", _dumps(_set(base, text_path, "w" * big)))
    add("sizes", "20MB-chunked", _dumps(_set(base, text_path, "w" * big)), chunked=True)
    add("sizes", "20MB-open-brackets", b"[" * big)
    add("sizes", "many-small-keys", _dumps({**base, **{f"k{i}": i for i in range(min(50_000, limit // 16))}}))
    add("sizes", "long-array-extra", _dumps({**base, "extra": [0] * min(200_000, limit // 3)}))

    # -- encodings
    for label, bad in INVALID_UTF8:
        add("encoding", f"invalid-utf8-{label}", _with_raw(_set(base, text_path, RAW), b'"abc' + bad + b'def"'))
        add("encoding", f"invalid-utf8-bare-{label}", bad)
    for label, esc in ESCAPES:
        add("encoding", f"escape-{label}", _with_raw(_set(base, text_path, RAW), '"' + esc + '"'))
    add("encoding", "surrogate-key", _with_raw({**base, "x": RAW}, '{"\\ud800": 1}'))
    add("encoding", "surrogate-key-top", valid_text[:-1] + b',"\\udfff":1}')
    add("encoding", "surrogate-nested-extra", _with_raw({**base, "meta": {"x": [RAW]}}, '"\\ud800"'))
    add("encoding", "surrogate-deep-in-list", _with_raw({**base, "meta": [[[RAW]]]}, '"ok \\udbff"'))
    for label, bom, codec in [
        ("utf8-bom", codecs.BOM_UTF8, "utf-8"),
        ("utf8-double-bom", codecs.BOM_UTF8 * 2, "utf-8"),
        ("utf16le-bom", codecs.BOM_UTF16_LE, "utf-16-le"),
        ("utf16be-bom", codecs.BOM_UTF16_BE, "utf-16-be"),
        ("utf32le-bom", codecs.BOM_UTF32_LE, "utf-32-le"),
        ("utf32be-bom", codecs.BOM_UTF32_BE, "utf-32-be"),
        ("utf16le-no-bom", b"", "utf-16-le"),
        ("utf32be-no-bom", b"", "utf-32-be"),
    ]:
        add("encoding", label, bom + json.dumps(base).encode(codec))
    add("encoding", "bom-in-value", _dumps(_set(base, text_path, "\ufeffhello")))
    add("encoding", "latin1-body", json.dumps(_set(base, text_path, "caf\u00e9 na\u00efve"), ensure_ascii=False)
        .encode("latin-1"))

    # -- nesting
    for depth in (2, 10, 32, target.max_depth - 1, target.max_depth, target.max_depth + 1, 100, 500, 999, 1000, 1001,
                  5000, 10_000, 100_000):
        for kind in ("array", "object"):
            add("nesting", f"top-{kind}-{depth}", _nest(depth, kind).encode())
        add("nesting", f"in-field-array-{depth}", _with_raw(_set(base, text_path, RAW), _nest(depth, "array")))
        add("nesting", f"extra-field-object-{depth}", _with_raw({**base, "meta": RAW}, _nest(depth, "object")))
    add("nesting", "unbalanced-open-100k", b"[" * 100_000)
    add("nesting", "unbalanced-close-100k", b"]" * 100_000)
    add("nesting", "mixed-100k", b'[{"a":' * 50_000)

    # -- content types
    for ct in CONTENT_TYPES:
        add("content-type", f"valid-as-{str(ct)[:40]}", valid_text, content_type=ct)
        add("content-type", f"garbage-as-{str(ct)[:40]}", b"\xff\xfe not json", content_type=ct)
    add("content-type", "form-body", b"text=hello+world&prompt=hi", content_type="application/x-www-form-urlencoded")
    add("content-type", "multipart-body",
        b'--fuzzboundary\r\nContent-Disposition: form-data; name="text"\r\n\r\nhello\r\n--fuzzboundary--\r\n',
        content_type="multipart/form-data; boundary=fuzzboundary")
    add("content-type", "xml-body", b"<text>hello</text>", content_type="application/xml")

    # -- duplicate keys
    for key in base:
        first = json.dumps({key: base[key]})[1:-1]
        add("duplicates", f"dup-{key}-same", ("{" + first + "," + first + "}").encode())
        add("duplicates", f"dup-{key}-then-int", ("{" + first + f',"{key}": 5' + "}").encode())
        add("duplicates", f"dup-{key}-int-first", ("{" + f'"{key}": 5,' + json.dumps(base)[1:]).encode())
    add("duplicates", "dup-1000", ("{" + ",".join(['"d": 1'] * 1000) + "," + json.dumps(base)[1:]).encode())

    # -- unicode normalisation edge cases (valid JSON: any status but 5xx)
    for tp in target.text_paths:
        for label, text in UNICODE_TEXTS:
            add("unicode", f"{'.'.join(map(str, tp))}={label}", _dumps(_set(base, tp, text)))

    # -- methods and paths
    for method in ("GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"):
        add("method", f"{method}", valid_text if method not in ("GET", "HEAD") else None, method=method)
    for suffix in ("/x", "/", "//", "/%00", "/..%2f..%2fetc", "?text=x", "?" + "q=1&" * 2000, "/" + "a" * 4000):
        add("path", f"suffix-{suffix[:20]!r}", valid_text, path=suffix)
    add("headers", "gzip-not-gzip", valid_text, headers=(("content-encoding", "gzip"),))
    add("headers", "expect-100", valid_text, headers=(("expect", "100-continue"),))
    add("headers", "valid-chunked", valid_text, chunked=True)

    # -- random: bytes, printable, JSON values, mutations, truncations (fills up to `total`)
    alphabet = '{}[]":,0123456789.eE+-truefalsnul \\/\t\n' + "abcxyz"
    fixed = len(cases)
    remaining = max(total - fixed, 400)
    for i in range(remaining):
        kind = i % 6
        if kind == 0:
            body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 2048)))
            add("random", f"bytes-{i}", body)
        elif kind == 1:
            add("random", f"json-alphabet-{i}", "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300)))
                .encode())
        elif kind == 2:
            add("random", f"value-{i}", _dumps(_random_value(rng, base, 0)))
        elif kind == 3:
            doc = rng.choice(list(target.valid))
            add("random", f"mutated-{i}", _mutate(rng, _dumps(doc)))
        elif kind == 4:
            doc_b = _dumps(rng.choice(list(target.valid)))
            add("random", f"truncated-{i}", doc_b[: rng.randint(0, len(doc_b) - 1)])
        else:
            path = rng.choice(paths)
            name = ".".join(map(str, path))
            add("random", f"field-{name}-{i}", _dumps(_set(base, path, _random_value(rng, base, 1))))
    return cases


def _random_value(rng: random.Random, base: dict[str, Any], depth: int) -> Any:
    kind = rng.randint(0, 9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 7, 2**31, -(2**40), 10**18, rng.randint(-(10**6), 10**6)])
    if kind == 3:
        return rng.choice([0.0, -0.5, 1e-9, 3.14, 1e300, rng.uniform(-100, 100)])
    if kind in (4, 5, 6):
        n = rng.choice([0, 1, 5, 50, 500])
        return "".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0xA0, 0xD7FF), rng.randint(0xE000, 0xFFFD),
                                       rng.randint(0x10000, 0x10FFFF)])) for _ in range(n))
    if kind == 7:
        return [_random_value(rng, base, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = [*base, "x", "", "extra"]
    return {rng.choice(keys): _random_value(rng, base, depth + 1) for _ in range(rng.randint(0, 4))}


def _mutate(rng: random.Random, body: bytes) -> bytes:
    data = bytearray(body)
    for _ in range(rng.randint(1, 5)):
        op = rng.randint(0, 2)
        pos = rng.randint(0, max(len(data) - 1, 0))
        if op == 0 and data:
            data[pos] = rng.getrandbits(8)
        elif op == 1:
            data[pos:pos] = bytes([rng.choice(b'{}[]",:\\\xff\x00')])
        elif data:
            del data[pos]
    return bytes(data)


# ------------------------------------------------------------------------------------------------ runner


async def _send(client: Any, url: str, case: Case, timeout: float) -> Result:
    headers = dict(case.headers)
    if case.content_type is not None:
        headers["content-type"] = case.content_type
    content: Any = case.body
    if case.chunked and case.body is not None:
        data = case.body

        async def chunks() -> Any:
            for i in range(0, len(data), 1 << 16):
                yield data[i : i + (1 << 16)]

        content = chunks()
    start = time.perf_counter()
    try:
        resp = await client.request(case.method, url + case.path, content=content, headers=headers, timeout=timeout)
        return Result(case, resp.status_code, resp.headers.get("content-type", ""), resp.content,
                      time.perf_counter() - start)
    except Exception as exc:  # transport failure: no answer at all
        return Result(case, 0, "", b"", time.perf_counter() - start, f"{type(exc).__name__}: {exc}")


async def _run(url: str, cases: Sequence[Case], concurrency: int, timeout: float) -> list[Result]:
    import httpx

    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def one(case: Case) -> Result:
            async with sem:
                return await _send(client, url, case, timeout)

        return list(await asyncio.gather(*(one(c) for c in cases)))


def run_fuzz(url: str, target: Target, *, cases: Sequence[Case] | None = None, concurrency: int = 4,
             timeout: float = 60.0, extra_check: Callable[[Result], str | None] | None = None) -> Report:
    """Send every case to `url` (the route prefix; `target.path` is appended) and check the invariants."""
    cases = list(cases if cases is not None else hostile_cases(target))
    start = time.perf_counter()
    results = asyncio.run(_run(url + target.path, cases, concurrency, timeout))
    report = Report(target.name, results, time.perf_counter() - start)
    for r in results:
        problem = check(r, target) or (extra_check(r) if extra_check else None)
        if problem:
            report.failures.append(f"[{r.case.category}/{r.case.label}] {problem}")
    return report


def check(r: Result, target: Target) -> str | None:
    """The invariants for one answer; None when they hold."""
    if r.transport_error:
        return f"no HTTP answer: {r.transport_error}"
    snippet = r.body[:300].decode("utf-8", "replace")
    if r.status >= 500:
        return f"{r.status}: {snippet}"
    if r.case.method == "HEAD" or 300 <= r.status < 400:  # no body to judge (a redirect, e.g. to drop a slash)
        return None
    is_stream = any(r.content_type.startswith(t) for t in target.stream_types)
    text = r.body.decode("utf-8", "replace")
    if is_stream and r.status < 300:
        leak = _EXC_NAME_RE.search(text) if '"error"' in text else None
        return f"stream error leaks {leak.group(0)!r}: {snippet}" if leak else None
    try:
        payload = json.loads(r.body)
    except ValueError:
        return f"{r.status} with a non-JSON body ({r.content_type}): {snippet}"
    if r.status >= 400:
        err = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(err, dict) or not {"type", "message", "status"} <= set(err):
            return f"{r.status} body not in the error shape: {snippet}"
        if err["status"] != r.status:
            return f"{r.status} but error.status={err['status']!r}"
        if not isinstance(err["type"], str) or not _TYPE_RE.match(err["type"]):
            return f"error.type {err['type']!r} is not a stable snake_case kind"
        message = str(err["message"])
        if not message.strip():
            return "empty error message"
        leak = _EXC_NAME_RE.search(json.dumps(payload))
        if leak:
            return f"error leaks {leak.group(0)!r}: {message[:300]}"
        if CANARY in text:
            return f"error echoes the canary secret: {message[:300]}"
    elif (
        r.case.method in ("POST", "PUT", "PATCH")
        and not r.case.path.startswith("/")
        and not strictly_valid_json(r.case.body, target.max_depth, target.max_body)
        and not (target.allow_empty and not (r.case.body or b"").strip())
    ):
        return f"{r.status} for a body that is not strictly valid JSON: {(r.case.body or b'')[:120]!r}"
    return None


def format_failures(report: Report, limit: int = 25) -> str:
    lines = [json.dumps(report.summary()), *report.failures[:limit]]
    if len(report.failures) > limit:
        lines.append(f"... and {len(report.failures) - limit} more")
    return "\n".join(lines)


def fuzz_and_assert(url: str, target: Target, *, max_latency_s: float = 15.0, **kw: Any) -> Report:
    """run_fuzz + the assertions shared by every app's fuzz test: >= 1 000 bodies, no failed invariant, every error
    answer within `max_latency_s` (a 2xx may take longer: a valid LLM request without max_tokens generates up to the
    context length; the runner's timeout bounds those). Prints the summary line (`pytest -s`, or the captured output
    of a failure) and, with RAYCTL_FUZZ_REPORT_DIR set, writes `<target>.json` there (summary + failures)."""
    import os

    report = run_fuzz(url, target, **kw)
    summary = report.summary()
    print(f"FUZZ {json.dumps(summary)}")
    out_dir = os.environ.get("RAYCTL_FUZZ_REPORT_DIR")
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, f"{target.name}.json"), "w") as fh:
            json.dump({"summary": summary, "failures": report.failures}, fh, indent=1)
    assert summary["bodies"] >= 1000, summary
    assert not report.failures, format_failures(report)
    slow = [r for r in report.results if r.latency_s > max_latency_s and not 200 <= r.status < 300]
    assert not slow, f"{len(slow)} answers over {max_latency_s} s, e.g. {slow[0].case.label}: {slow[0].latency_s:.1f} s"
    return report
