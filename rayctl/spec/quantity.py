"""Kubernetes resource quantities ("500m", "16Gi", 4) parsed into numbers, so rules can compare them."""

from __future__ import annotations

import re
from decimal import Decimal

_QUANTITY = re.compile(r"^([+]?[0-9]+(?:\.[0-9]+)?|[+]?\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_FACTORS: dict[str, Decimal] = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def is_quantity(text: str) -> bool:
    return bool(_QUANTITY.match(text))


def parse_quantity(value: str | int | float) -> float:
    """Parse a Kubernetes quantity into a plain number (cores for CPU, bytes for memory)."""
    if isinstance(value, bool):
        raise ValueError(f"not a quantity: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    match = _QUANTITY.match(value.strip())
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {value!r} (examples: 4, 500m, 16Gi)")
    number, suffix = match.group(1), match.group(2) or ""
    return float(Decimal(number) * _FACTORS[suffix])


def format_bytes(value: float) -> str:
    for unit, factor in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if value >= factor:
            return f"{value / factor:g}{unit}"
    return f"{value:g}"
