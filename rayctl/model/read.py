"""Tolerant reading of untyped trees (parsed YAML/JSON): every accessor returns a value of the type it promises and
records a finding, with the field path and what was expected, when the input has another type. Nothing raises.

`None` means absent everywhere: the API server prunes nulls before it stores an object (unless the schema says
nullable), so `metadata:` left empty in YAML reads as no metadata, not as a wrong type.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rayctl.findings import Collector
from rayctl.quantity import QuantityError, parse_quantity

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_KIND_NAMES = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
               float: "a number"}


def kind_of(value: object) -> str:
    """How a value's type reads in a message: 'a list', 'a string', ..."""
    for kind, name in _KIND_NAMES.items():
        if type(value) is kind:
            return name
    return type(value).__name__


def _shown(value: object) -> str:
    """A short rendering of a wrong value for a message (never a whole subtree)."""
    if isinstance(value, dict | list):
        return kind_of(value)
    text = repr(value)
    return f"{kind_of(value)} {text if len(text) <= 40 else text[:37] + '...'}"


def child(path: str, key: str | int) -> str:
    """`path.key`, or `path[index]` for list items."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Reader:
    """Typed accessors over an untyped tree that report wrong types to a Collector instead of raising."""

    def __init__(self, out: Collector) -> None:
        self.out = out

    def wrong(self, path: str, expected: str, value: object) -> None:
        self.out.error(path, f"must be {expected} (got {_shown(value)})")

    def mapping(self, value: object, path: str) -> dict[str, Any]:
        if value is None:
            return {}
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        self.wrong(path, "a mapping", value)
        return {}

    def sequence(self, value: object, path: str) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self.wrong(path, "a list", value)
        return []

    def mappings(self, value: object, path: str, what: str) -> list[tuple[int, dict[str, Any]]]:
        """(index, item) of a list of mappings; other items are findings ("each {what} is a mapping")."""
        items = []
        for index, item in enumerate(self.sequence(value, path)):
            if isinstance(item, dict):
                items.append((index, {str(k): v for k, v in item.items()}))
            elif item is not None:
                self.out.error(child(path, index), f"each {what} is a mapping (got {_shown(item)})")
        return items

    def string(self, value: object, path: str, default: str = "") -> str:
        found = self.optional_string(value, path)
        return default if found is None else found

    def optional_string(self, value: object, path: str) -> str | None:
        if value is None or isinstance(value, str):
            return value
        self.wrong(path, "a string", value)
        return None

    def integer(self, value: object, path: str, default: int, *, low: int = INT32_MIN, high: int = INT32_MAX) -> int:
        found = self.optional_integer(value, path, low=low, high=high)
        return default if found is None else found

    def optional_integer(self, value: object, path: str, *, low: int = INT32_MIN,
                         high: int = INT32_MAX) -> int | None:
        if value is None:
            return None
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)  # JSON has one number type: the API server takes 2.0 for an integer
        if number is None:
            self.wrong(path, "an integer", value)
            return None
        if not low <= number <= high:
            self.out.error(path, f"{number} is out of range ({low}..{high})")
            return None
        return number

    def boolean(self, value: object, path: str, default: bool = False) -> bool:
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        self.wrong(path, "true or false", value)
        return default

    def quantity(self, value: object, path: str) -> Decimal | None:
        if value is None:
            return None
        try:
            return parse_quantity(value)
        except QuantityError as exc:
            self.out.error(path, str(exc))
            return None

    def string_map(self, value: object, path: str) -> dict[str, str]:
        """A map of strings (labels, annotations, nodeSelector, rayStartParams). Numbers and booleans are findings
        (the API server rejects them: quote them) but are kept as their YAML text so later reads still work."""
        out: dict[str, str] = {}
        for key, item in self.mapping(value, path).items():
            if isinstance(item, str):
                out[key] = item
            elif item is None:
                continue
            elif isinstance(item, bool | int | float):
                self.out.error(child(path, key), f"must be a string (got {_shown(item)}): quote it")
                out[key] = str(item).lower() if isinstance(item, bool) else str(item)
            else:
                self.wrong(child(path, key), "a string", item)
        return out

    def quantity_map(self, value: object, path: str) -> dict[str, Decimal]:
        """A Kubernetes ResourceList (`requests`, `limits`): name -> quantity; bad quantities are findings."""
        out: dict[str, Decimal] = {}
        for key, item in self.mapping(value, path).items():
            amount = self.quantity(item, child(path, key))
            if amount is not None:
                out[key] = amount
        return out
