"""Kubernetes resource quantities (`4`, `500m`, `16Gi`, `1e9`), parsed exactly as a RayService's API server and
the KubeRay operator read them, and nothing more.

A quantity in a RayService is valid when the CRD's `pattern` matches it (the API server checks that) and
`k8s.io/apimachinery/pkg/api/resource.ParseQuantity` accepts it (the operator decodes it with that). Together that
is the documented grammar::

    <quantity>        ::= <signedNumber><suffix>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedInteger> | "E" <signedInteger>
    <signedNumber>    ::= [+|-] (<digits> | <digits>.<digits> | <digits>. | .<digits>)

(the CRD pattern alone would also allow `1e1.5`, which ParseQuantity rejects; ParseQuantity alone would also allow
`-`, `.` and `Gi`, read as 0, which the pattern rejects). Values are exact (Decimal) and follow ParseQuantity:
non-zero values are rounded up, away from zero, to a multiple of 1n, and binary-SI values are capped at 2^63-1.
tests/unit/test_quantity.py checks all of this against a golden table produced by the Go implementation.

JSON/YAML numbers are accepted where Kubernetes accepts them for its int-or-string quantities: integers (and
floats with an integral value, which the API server counts as integers). Booleans never are.

Two deliberate limits keep the work bounded where Go is not: at most 100 characters, and a decimal exponent within
int32 with a result below 1e300 (Go silently wraps a larger exponent to a different number, e.g. `1e4294967296` = 1,
and no resource is that large).
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_UP, Context, Decimal

from rayctl.errors import InputError

MAX_LENGTH = 100
MAX_EXPONENT = 2**31 - 1  # ParseQuantity keeps the exponent in an int32
MAX_MAGNITUDE_DIGITS = 300  # results must stay below 1e300 (so every value also fits a float)
INT64_MAX = Decimal(2**63 - 1)  # ParseQuantity's cap for binary-SI values
NANO = Decimal("1e-9")  # the finest resolution ParseQuantity keeps

_GRAMMAR = re.compile(
    r"(?P<sign>[+-]?)(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?"
    r"(?:(?P<binary>[KMGTPE]i)|[eE](?P<exp>[+-]?[0-9]+)|(?P<decimal>[numkMGTPE]))?",
    re.ASCII,
)
_DECIMAL_SI = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SI = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
# Enough digits for any accepted input: at most 100 digits of mantissa, magnitudes below 1e300, resolution 1e-9.
_CONTEXT = Context(prec=MAX_LENGTH + MAX_MAGNITUDE_DIGITS + 20)

EXAMPLES = "examples: 4, 500m, 1.5, 16Gi, 1e9"


class QuantityError(InputError, ValueError):
    """Not a Kubernetes quantity; the message says why and shows valid forms."""


def parse_quantity(value: object) -> Decimal:
    """The exact value of a Kubernetes quantity (cores for CPU, bytes for memory), or QuantityError."""
    if isinstance(value, bool) or value is None:
        raise QuantityError(f"{value!r} is not a quantity ({EXAMPLES})")
    if isinstance(value, int):
        if len(str(abs(value))) > MAX_LENGTH:
            raise QuantityError(f"a number of {len(str(abs(value)))} digits is not a usable quantity")
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise QuantityError(f"{value!r} is not a quantity: a number here must be whole (Kubernetes reads "
                                f"quantities as integer or string); quote it or use a suffix ({EXAMPLES})")
        return _parse_text(repr(value))
    if not isinstance(value, str):
        raise QuantityError(f"a quantity is a string or a whole number, not {type(value).__name__} ({EXAMPLES})")
    return _parse_text(value)


def _parse_text(text: str) -> Decimal:
    if len(text) > MAX_LENGTH:
        raise QuantityError(f"a quantity of {len(text)} characters is not a usable quantity (at most {MAX_LENGTH})")
    match = _GRAMMAR.fullmatch(text)
    if match is None or not (match["int"] or match["frac"]):
        raise QuantityError(f"{text!r} is not a Kubernetes quantity ({EXAMPLES})")
    fraction = f".{match['frac']}" if match["frac"] else ""
    number = Decimal(f"{match['sign']}{match['int'] or '0'}{fraction}")
    binary = match["binary"]
    if binary:
        amount = _CONTEXT.multiply(number, Decimal(2 ** _BINARY_SI[binary]))
    else:
        exponent = int(match["exp"]) if match["exp"] is not None else _DECIMAL_SI[match["decimal"] or ""]
        if abs(exponent) > MAX_EXPONENT:
            raise QuantityError(f"{text!r}: the exponent is out of range")
        if number and number.adjusted() + exponent >= MAX_MAGNITUDE_DIGITS:
            raise QuantityError(f"{text!r} is too large to be a resource quantity")
        if number and number.adjusted() + exponent < -20:  # far below 1n: ParseQuantity rounds it up to 1n
            return NANO.copy_sign(number)
        amount = number.scaleb(exponent, _CONTEXT)
    return _round_like_go(amount, capped=bool(binary))


def _round_like_go(amount: Decimal, *, capped: bool) -> Decimal:
    """ParseQuantity's normalisation: round non-zero values up (away from zero) to 1n; cap binary-SI at 2^63-1."""
    if not amount:
        return Decimal(0)
    magnitude = amount.copy_abs()  # copy_*: exact, where abs() and unary minus round to the global context
    if magnitude.as_tuple().exponent < -9:  # type: ignore[operator]  # finite: exponent is an int
        magnitude = magnitude.quantize(NANO, rounding=ROUND_UP, context=_CONTEXT)
    if capped and magnitude > INT64_MAX:
        magnitude = INT64_MAX
    return magnitude if amount > 0 else magnitude.copy_negate()


def is_quantity(value: object) -> bool:
    try:
        parse_quantity(value)
    except QuantityError:
        return False
    return True


def ceil_int(value: Decimal) -> int:
    """ParseQuantity's `Value()`: the value rounded up, away from zero, to an integer (what KubeRay passes to
    `ray start` as num-cpus, num-gpus and memory)."""
    rounded = value.to_integral_value(rounding=ROUND_UP, context=_CONTEXT)
    return int(rounded)


def format_bytes(value: float) -> str:
    """Bytes in the largest binary unit that keeps the number >= 1 (`16Gi`, `512Mi`)."""
    for unit, factor in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if value >= factor:
            return f"{value / factor:g}{unit}"
    return f"{value:g}"
