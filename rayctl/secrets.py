"""What looks like a secret: names (HF_TOKEN, REDIS_PASSWORD, AWS_SECRET_ACCESS_KEY, redis-password, apiKey) and
values (credentials in a URL, well-known token formats). Used to refuse literal secrets in a spec and to keep them
out of every message and diff rayctl prints. A leaf module: no rayctl imports.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"

_SECRET_WORDS = ("TOKEN", "PASSWORD", "PASSWD", "SECRET", "CREDENTIAL", "CREDENTIALS", "APIKEY", "PASSPHRASE")
"""A name holds a secret when one of its words is one of these or ends in one (HF_TOKEN, HFTOKEN, DBPASSWORD)."""
_WHERE_WORDS = frozenset({"FILE", "PATH", "DIR", "ENV", "NAME", "REF", "MOUNT", "VOLUME", "TTL", "LENGTH", "LEN"})
"""...unless its last word says it names where the secret is, or something about it (HF_TOKEN_PATH=/secrets/hf,
hfTokenEnv: HF_TOKEN, secretName: hf-token, secretKeyRef)."""
_AWS_SETTINGS = frozenset({
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
    "AWS_CONFIG_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE", "AWS_S3_ADDRESSING_STYLE", "AWS_EC2_METADATA_DISABLED", "AWS_CA_BUNDLE", "AWS_SDK_LOAD_CONFIG",
    "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_REQUEST_CHECKSUM_CALCULATION",
})
"""AWS_* settings that are configuration, not credentials."""

_CAMEL_BREAK = re.compile(r"([A-Z])([A-Z][a-z])")
"""`HFToken` -> `HF_Token`: the boundary before a capitalised word inside a run of capitals."""
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
"""Words of a name after _CAMEL_BREAK. Both are RE2 (no lookaround), so the Helm chart splits names the same way."""
_URL_CREDENTIALS = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://(?P<user>[^/\s:@?#]*):(?P<password>[^/\s@?#]+)@")
"""`scheme://user:password@host` (also `redis://:password@host`)."""
_TOKEN_FORMATS = re.compile(
    r"\b(?:hf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}"  # GitHub
    r"|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{32,}"  # OpenAI, Anthropic
    r"|xox[abpr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|glpat-[A-Za-z0-9_-]{20,}"  # GitLab
    r"|AIza[0-9A-Za-z_-]{35})"  # Google API key
)
_REFERENCE = re.compile(r"^\$(?:\([A-Za-z_][A-Za-z0-9_]*\)|\{[A-Za-z_][A-Za-z0-9_]*\})$")
"""`$(VAR)` (Kubernetes expands it from another env var, e.g. one filled from a Secret) or `${VAR}`."""
_NOT_A_SECRET = re.compile(r"^(?:[-+]?[0-9]+(?:\.[0-9]+)?|true|false|yes|no|on|off|none|null)$", re.IGNORECASE)


def _words(name: str) -> list[str]:
    return [w.upper() for w in _WORDS.findall(_CAMEL_BREAK.sub(r"\1_\2", name))]


def secret_name(name: str) -> bool:
    """Whether a variable or key of this name holds a secret: *TOKEN*, *PASSWORD*, *SECRET*, *_KEY, AWS_*
    (credentials, not AWS_REGION and the like); words split at `_`, `-`, `.` and camelCase, so `hfToken`,
    `redis-password` and `api_key` count and `max_tokens`, `tokenizer` or `tokenizer_source` do not."""
    words = _words(name)
    if not words or words[-1] in _WHERE_WORDS:
        return False
    upper = name.upper().replace("-", "_").replace(".", "_")
    if upper.startswith("AWS_"):
        return upper not in _AWS_SETTINGS
    if words[-1] == "KEY" and len(words) > 1:
        return True
    return any(w.endswith(_SECRET_WORDS) or w.startswith("PASSWORD") for w in words)


def secret_in_text(text: str) -> str | None:
    """What in `text` is a secret whatever its name (credentials in a URL, a known token format), or None."""
    url = _URL_CREDENTIALS.search(text)
    if url is not None:
        return "credentials in a URL"
    token = _TOKEN_FORMATS.search(text)
    if token is not None:
        return "an access token"
    return None


def literal_value(value: Any) -> bool:
    """Whether a value under a secret name is a literal secret: a non-empty string (or a number written where a
    string goes) that is not a `$(VAR)` reference, a plain number or a boolean."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return False
    if not isinstance(value, str):
        return False
    text = value.strip()
    return bool(text) and not _REFERENCE.match(text) and not _NOT_A_SECRET.match(text)


def secret_value(name: str | None, value: Any) -> bool:
    """Whether `value` (under the key `name`, when there is one) must not be printed."""
    if isinstance(value, str) and secret_in_text(value) is not None:
        return True
    return name is not None and secret_name(name) and literal_value(value)


def redact_text(text: str) -> str:
    """`text` with URL credentials and known token formats replaced by <redacted>."""
    text = _URL_CREDENTIALS.sub(lambda m: m.group(0).replace(f":{m.group('password')}@", f":{REDACTED}@"), text)
    return _TOKEN_FORMATS.sub(REDACTED, text)


def redact(data: Any, name: str | None = None) -> Any:
    """A copy of `data` (YAML/JSON-like) with every value under a secret name and every secret in text replaced by
    <redacted>, e.g. the env entry {name: HF_TOKEN, value: hf_...} keeps its name and loses its value."""
    if isinstance(data, dict):
        out: dict[Any, Any] = {}
        env_name = data.get("name") if isinstance(data.get("name"), str) and "value" in data else None
        for key, value in data.items():
            key_name = env_name if key == "value" and env_name is not None else str(key)
            out[key] = redact(value, key_name)
        return out
    if isinstance(data, list):
        return [redact(item, name) for item in data]
    if isinstance(data, str):
        if name is not None and secret_name(name) and literal_value(data):
            return REDACTED
        return redact_text(data)
    return data


_MISSING = object()


def _leaf_secret(name: str | None, value: Any) -> bool:
    return isinstance(value, str) and name is not None and secret_name(name) and literal_value(value)


def redact_pair(before: Any, after: Any, name: str | None = None) -> tuple[Any, Any]:
    """`redact` for the two sides of a diff: a secret that changed still shows as a change, as `kubectl diff` masks
    Secrets: `<redacted>` on both sides when equal, `<redacted (before)>` / `<redacted (after)>` when not."""
    if isinstance(before, dict) and isinstance(after, dict):
        names = {}
        for side in (before, after):
            if isinstance(side.get("name"), str) and "value" in side:
                names["value"] = side["name"]
        out_before: dict[Any, Any] = {}
        out_after: dict[Any, Any] = {}
        for key in [*before, *(k for k in after if k not in before)]:
            key_name = names.get(key, str(key))
            b, a = before.get(key, _MISSING), after.get(key, _MISSING)
            if b is _MISSING:
                out_after[key] = redact(a, key_name)
            elif a is _MISSING:
                out_before[key] = redact(b, key_name)
            else:
                out_before[key], out_after[key] = redact_pair(b, a, key_name)
        return out_before, out_after
    if isinstance(before, list) and isinstance(after, list):
        pairs = [redact_pair(b, a, name) for b, a in zip(before, after, strict=False)]
        rest_before = [redact(b, name) for b in before[len(pairs):]]
        rest_after = [redact(a, name) for a in after[len(pairs):]]
        return [p[0] for p in pairs] + rest_before, [p[1] for p in pairs] + rest_after
    red_before, red_after = redact(before, name), redact(after, name)
    if before != after and red_before == red_after and (red_before != before or red_after != after):
        if _leaf_secret(name, before) and _leaf_secret(name, after):
            return f"{REDACTED[:-1]} (before)>", f"{REDACTED[:-1]} (after)>"
        return f"{red_before} (before)", f"{red_after} (after)"
    return red_before, red_after


def chart_rules() -> dict[str, Any]:
    """What the Helm chart needs to judge names and values exactly like this module (charts/rayservice/files)."""
    return {
        "secretWords": list(_SECRET_WORDS),
        "whereWords": sorted(_WHERE_WORDS),
        "awsSettings": sorted(_AWS_SETTINGS),
        "camelBreak": _CAMEL_BREAK.pattern,
        "words": _WORDS.pattern,
        "urlCredentials": _URL_CREDENTIALS.pattern,
        "tokenFormats": _TOKEN_FORMATS.pattern,
        "reference": _REFERENCE.pattern,
        "notASecret": "(?i)" + _NOT_A_SECRET.pattern,
    }
