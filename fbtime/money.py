"""Money as exact decimals: one dtype, checked rates and currencies, cents <-> columns.

Why decimals and not floats: a float cannot hold 0.10 exactly, so a sum of a million
amounts drifts by cents. fbtime computes every amount in integer cents and stores money
columns as :data:`MONEY`, pyarrow's ``decimal128(38, 2)``: exact to the cent, summed
exactly (also by ``groupby``, in Arrow's own kernels), and shown as ``123.45``.

Rates from the API are decimal strings (``"95.00"``); rates from a user may be ``int``,
``str``, ``Decimal`` or ``float``. Both are read by :func:`parse_rate`: a negative,
non-numeric, non-finite or sub-cent rate is refused (a user's with :class:`QueryError`,
the server's with :class:`UnexpectedAnswerError`), never rounded quietly.

Currencies are ISO 4217 codes: three letters (:func:`check_currency`).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from fbtime.errors import QueryError, UnexpectedAnswerError

#: The dtype of every money column: exact to the cent.
MONEY = pd.ArrowDtype(pa.decimal128(38, 2))
#: The largest hourly rate fbtime accepts (a larger one is a typo or a hostile answer).
MAX_RATE = Decimal("1000000.00")
#: The largest project amount (``fixed_price``, ``billed_amount``) fbtime accepts.
MAX_AMOUNT = Decimal("1000000000000.00")
CENT = Decimal("0.01")
_CURRENCY = re.compile(r"[A-Za-z]{3}")


def _error(what: str, message: str, *, server: bool) -> Exception:
    cls = UnexpectedAnswerError if server else QueryError
    return cls(f"{what}: {message}")


def parse_rate(value: Any, what: str, *, server: bool = False, maximum: Decimal = MAX_RATE) -> int:
    """A rate as whole cents per hour, or a typed error naming ``what``.

    Args:
        value: ``"95.00"``, ``95``, ``Decimal("95.5")`` or ``95.5`` (a float is read by its
            shortest repr, so ``95.1`` is 95.10, not 95.099999...).
        what: how to name the value in a message (``"standard_rate"``, ``"rate of service 7"``).
        server: the value came from the API (raise UnexpectedAnswerError, not QueryError).

    Raises:
        QueryError: (or UnexpectedAnswerError) the value is not a number, is negative,
            infinite, above ``maximum`` (:data:`MAX_RATE`) or has fractions of a cent.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _error(what, f"{value!r} is not a rate (a number like 95 or '95.00')", server=server)
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise _error(what, f"{value!r} is not a number", server=server) from None
    if not number.is_finite():
        raise _error(what, f"{value!r} is not a finite number", server=server)
    if number < 0:
        raise _error(what, f"{value!r} is negative; a rate is 0 or more", server=server)
    if number > maximum:
        raise _error(what, f"{value!r} is above the largest accepted, {maximum}", server=server)
    if number != number.quantize(CENT):
        raise _error(what, f"{value!r} has fractions of a cent", server=server)
    return int(number * 100)


def parse_amount(value: Any, what: str) -> int | None:
    """A money amount the API sends (``fixed_price``, ``billed_amount``) as cents; None for null.

    Raises:
        UnexpectedAnswerError: not a decimal string or number, or fractions of a cent.
    """
    if value is None:
        return None
    return parse_rate(value, what, server=True, maximum=MAX_AMOUNT)


def check_currency(value: Any, what: str = "currency", *, server: bool = False) -> str:
    """An ISO 4217 code (three letters), upper-cased, or a typed error naming ``what``."""
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise _error(
            what, f"{value!r} is not a three-letter currency code like 'CAD'", server=server
        )
    return value.upper()


def to_decimal(cents: int | None) -> Decimal | None:
    """Whole cents as a Decimal with two places (None stays None)."""
    return None if cents is None else Decimal(int(cents)).scaleb(-2)


def money_array(
    cents: np.ndarray, valid: np.ndarray | None = None
) -> pd.api.extensions.ExtensionArray:
    """A :data:`MONEY` array from int64 cents (``valid`` False: NA), built without a loop.

    A decimal128 value is a 128-bit integer of cents: the int64 and its sign word.
    """
    cents = np.ascontiguousarray(cents, dtype="<i8")
    n = len(cents)
    words = np.empty((n, 2), dtype="<i8")
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    mask = None
    nulls = 0
    if valid is not None and not bool(np.all(valid)):
        mask = pa.array(np.asarray(valid, dtype=bool)).buffers()[1]
        nulls = int(n - np.count_nonzero(valid))
    array = pa.Array.from_buffers(
        pa.decimal128(38, 2), n, [mask, pa.py_buffer(words)], null_count=nulls
    )
    return pd.arrays.ArrowExtensionArray(array)


def cents_of(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The int64 cents of a :data:`MONEY` series and where it is valid (NA: 0, False)."""
    array = pa.array(series.array).cast(pa.decimal128(38, 2))
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    valid = ~np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    words = np.frombuffer(array.buffers()[1], dtype="<i8")[2 * array.offset :][: 2 * len(array)]
    cents = words[0::2].copy()
    cents[~valid] = 0
    return cents, valid


def total(series: pd.Series) -> Decimal:
    """The exact sum of a money series (NA skipped), as a Decimal with two places."""
    if len(series) == 0:
        return Decimal("0.00")
    result = series.sum()
    return Decimal("0.00") if pd.isna(result) else Decimal(result).quantize(CENT)
