"""serve_apps._json: the strict JSON body parser every bundled Serve app reads requests with (stdlib only)."""

from __future__ import annotations

import codecs
import json
import time

import pytest

from serve_apps._json import MAX_JSON_DEPTH, JSONBodyError, parse_json_body

ACCEPTED = [
    pytest.param(b'{"text": "hi"}', {"text": "hi"}, id="object"),
    pytest.param(codecs.BOM_UTF8 + b'{"a": 1}', {"a": 1}, id="utf8-bom-tolerated"),
    pytest.param(b'[1, 2.5, -0.0, true, null, "x"]', [1, 2.5, -0.0, True, None, "x"], id="array"),
    pytest.param(b'"\\ud83d\\ude00"', "\U0001f600", id="valid-surrogate-pair"),
    pytest.param('"caf\u00e9"'.encode(), "caf\u00e9", id="utf8-text"),
    pytest.param(b"9223372036854775807", 2**63 - 1, id="int64-max"),
    pytest.param(b"-9223372036854775808", -(2**63), id="int64-min"),
    pytest.param(b"1e308", 1e308, id="large-finite-float"),
    pytest.param(b'"a\\u0000b"', "a\x00b", id="escaped-nul"),
    pytest.param(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, None, id="depth-at-limit"),
]


@pytest.mark.parametrize(("body", "expected"), ACCEPTED)
def test_accepts_strict_json(body: bytes, expected: object) -> None:
    value = parse_json_body(body)
    if expected is not None:
        assert value == expected


REJECTED = [
    pytest.param(b"", "empty", id="empty"),
    pytest.param(b" \r\n\t", "empty", id="whitespace"),
    pytest.param(b"{not json", "not valid JSON", id="syntax"),
    pytest.param(b'{"a": 1}{"a": 1}', "Extra data", id="two-documents"),
    pytest.param(b'{"a": NaN}', "NaN is not valid JSON", id="nan"),
    pytest.param(b"[Infinity]", "Infinity is not valid JSON", id="infinity"),
    pytest.param(b"-Infinity", "-Infinity is not valid JSON", id="minus-infinity"),
    pytest.param(b"1e999", "out of range", id="float-overflow"),
    pytest.param(b"9223372036854775808", "$: an integer with 19 digits is out of range", id="int64-max+1"),
    pytest.param(b'{"a": [1, -' + b"9" * 4000 + b"]}", "$.a[1]: an integer with 4000 digits", id="4000-digit-int"),
    pytest.param(b"9" * 5000, "thousands of digits", id="5000-digit-int"),
    pytest.param(b'{"text": "a", "text": 5}', "duplicate key 'text'", id="duplicate-key"),
    pytest.param(b'{"text": "\\ud800"}', "$.text contains a lone UTF-16 surrogate (U+D800", id="lone-high"),
    pytest.param(b'{"m": [{"c": "x\\udc00"}]}', "$.m[0].c contains a lone", id="lone-low-nested"),
    pytest.param(b'{"\\udfff": 1}', "a key of $ contains a lone", id="surrogate-key"),
    pytest.param(b'"\\udc00\\ud800"', "lone UTF-16 surrogate", id="reversed-pair"),
    pytest.param(b'{"t": "\xff"}', "not valid UTF-8: invalid start byte (byte 0xff at offset 7)", id="invalid-utf8"),
    pytest.param(b'"\xed\xa0\x80"', "not valid UTF-8", id="utf8-encoded-surrogate"),
    pytest.param(b'"\xc0\xaf"', "not valid UTF-8", id="overlong"),
    pytest.param(b'"\xe2\x82"', "not valid UTF-8", id="truncated-sequence"),
    pytest.param(codecs.BOM_UTF16_LE + '{"a": 1}'.encode("utf-16-le"), "UTF-16", id="utf16-bom"),
    pytest.param(codecs.BOM_UTF32_BE + '{"a": 1}'.encode("utf-32-be"), "UTF-32", id="utf32-bom"),
    pytest.param('{"a": 1}'.encode("utf-16-le"), "NUL bytes", id="utf16-no-bom"),
    pytest.param(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), "deeper than 64", id="depth-limit+1"),
    pytest.param(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "deeper than 64", id="depth-100k-objects"),
    pytest.param(b"[" * 20_000_000, "deeper than 64", id="20MB-of-brackets"),
]


@pytest.mark.parametrize(("body", "message"), REJECTED)
def test_rejects_with_a_message_naming_the_problem(body: bytes, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(JSONBodyError) as exc:
        parse_json_body(body)
    assert message in str(exc.value)
    assert time.perf_counter() - started < 5  # bounded work, even on 20 MB
    assert "Traceback" not in str(exc.value) and "Error" not in str(exc.value)


def test_never_echoes_the_value() -> None:
    secret = "sk-live-hunter2hunter2"
    for body in (
        json.dumps({"token": secret, "dup": 1, "dup2": 2}).replace('"dup2"', '"dup"'),
        '{"token": "' + secret + '\\ud800"}',
        '{"token": "' + secret + '", "n": NaN}',
    ):
        with pytest.raises(JSONBodyError) as exc:
            parse_json_body(body.encode())
        assert secret not in str(exc.value)
