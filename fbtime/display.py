"""One display style for every report: exact numbers in the frames, rounded on screen.

Reports (``by_client``, ``totals``, aging, budgets...) keep exact values: hours as floats,
money as exact decimals (:data:`fbtime.money.MONEY`), dates as timestamps. Only what a
person reads is rounded, here and nowhere else:

* hours to 2 decimals (``1,234.57``), money to the cent (``1,234.50``), ratios as
  percentages, whole counts with separators, dates as dates (``2026-07-03``, never
  ``2026-07-03 00:00:00``);
* one spelling for a missing group: ``<no client>``, ``<no project>``, ``<no service>``,
  ``<no teammate>`` (:func:`no_group`), and ``Unknown (<id>)`` for a teammate whose id has
  no name in the team lists (:func:`unknown_teammate`);
* :func:`show` wraps a table for Jupyter (escaped HTML) and terminals (controls escaped
  by :func:`fbtime.export.to_text`); :func:`formatted` gives the same cells as text.

The widgets use the same helpers, so an amount or a "no client" reads the same everywhere.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pandas as pd

from fbtime.export import to_text
from fbtime.money import MONEY
from fbtime.text import for_html, for_terminal

#: group -> the label of its missing group (the NA id row).
NO_GROUP: dict[str, str] = {
    "client": "<no client>",
    "project": "<no project>",
    "service": "<no service>",
    "teammate": "<no teammate>",
}
#: id column -> group, for labelling index rows.
ID_COLUMNS: dict[str, str] = {
    "client_id": "client",
    "project_id": "project",
    "service_id": "service",
    "identity_id": "teammate",
}
#: How a missing value that is not a group shows.
MISSING = ""


def no_group(group: str) -> str:
    """The one spelling of "no client" (``group="client"``), "no project", ..."""
    return NO_GROUP.get(group, f"<no {group}>")


def unknown_teammate(identity_id: Any) -> str:
    """The label of a teammate id that no team list names: ``Unknown (<id>)``."""
    return f"Unknown ({identity_id})"


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def hours(value: Any) -> str:
    """Hours to 2 decimals with thousands separators (``1,234.57``); missing: empty."""
    return MISSING if _missing(value) else f"{float(value):,.2f}"


def money(value: Any, currency: str | None = None) -> str:
    """An amount to the cent (``1,234.50``, or ``1,234.50 CAD``); missing: empty.

    Decimals are quantized, not converted to float, so no cent is lost on the way.
    """
    if _missing(value):
        return MISSING
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    text = f"{number.quantize(Decimal('0.01')):,}"
    return f"{text} {currency}" if currency else text


def ratio(value: Any) -> str:
    """A ratio as a whole percentage (``87%``); missing: empty."""
    if _missing(value) or (isinstance(value, float) and math.isinf(value)):
        return MISSING
    return f"{float(value) * 100:.0f}%"


def count(value: Any) -> str:
    """A whole number with separators (``12,345``); missing: empty."""
    return MISSING if _missing(value) else f"{int(value):,}"


def date(value: Any) -> str:
    """A day as ``YYYY-MM-DD`` (a timestamp's time of day is dropped); missing: empty."""
    return MISSING if _missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def text(value: Any) -> str:
    """Any other cell: its text; missing: empty."""
    return MISSING if _missing(value) else str(value)


def cell(value: Any) -> str:
    """A cell of a mixed column, by its own type (a Decimal is money, a float hours...)."""
    if isinstance(value, bool) or _missing(value):
        return text(value)
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, float):
        return hours(value)
    if isinstance(value, int):
        return count(value)
    if isinstance(value, pd.Timestamp):
        return date(value)
    return str(value)


Formatter = Callable[[Any], str]


def formatter_for(name: str, series: pd.Series) -> Formatter:
    """The formatter for column ``name``: chosen by dtype, then by name (``*_hours``...)."""
    dtype = series.dtype
    if name == "id" or name.endswith("_id"):
        return text  # an id is a name, not a quantity: no thousands separators
    if dtype == MONEY:
        return money
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return date
    if pd.api.types.is_bool_dtype(dtype):
        return text
    if pd.api.types.is_integer_dtype(dtype):
        return count
    if pd.api.types.is_float_dtype(dtype):
        if name.endswith(("ratio", "_used", "utilization")):
            return ratio
        return hours
    if pd.api.types.is_object_dtype(dtype):
        return cell
    return text


def label(key: Any, group: str | None) -> str:
    """An index label: the group's missing spelling for NA, else its text."""
    if _missing(key):
        return no_group(group) if group else MISSING
    if isinstance(key, pd.Timestamp):
        return date(key)
    return str(key)


def _group_of(name: Any) -> str | None:
    if name in ID_COLUMNS:
        return ID_COLUMNS[name]
    if isinstance(name, str) and name in NO_GROUP:
        return name
    return None


def formatted(table: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """The table as display text: every cell formatted, NA groups spelled once.

    Name columns (``client_name``...) of the NA group read ``<no client>`` too. The
    input is not modified; the result is for showing only (all cells are ``str``).
    """
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    out = pd.DataFrame(index=frame.index)
    no_key = pd.Series(False, index=frame.index)
    group = _group_of(frame.index.name)
    if group is not None and not isinstance(frame.index, pd.MultiIndex):
        no_key = pd.Series(frame.index.isna(), index=frame.index)
    for name in frame.columns:
        column = frame[name]
        cells = column.map(formatter_for(str(name), column), na_action=None).astype(object)
        named = str(name).removesuffix("_name")
        if str(name).endswith("_name") and named in NO_GROUP:
            cells = cells.where(~no_key.to_numpy(), no_group(named))
        elif name in NO_GROUP:  # a findings' "client" / "teammate" label
            cells = cells.where(column.notna().to_numpy(), no_group(str(name)))
        out[name] = cells
    columns_group = _group_of(frame.columns.name)
    if columns_group is not None:
        out.columns = [label(c, columns_group) for c in frame.columns]
    if isinstance(frame.index, pd.MultiIndex):
        levels = [
            [label(k, _group_of(n)) for k in frame.index.get_level_values(i)]
            for i, n in enumerate(frame.index.names)
        ]
        out.index = pd.MultiIndex.from_arrays(levels, names=frame.index.names)
    else:
        out.index = pd.Index([label(k, group) for k in frame.index], name=frame.index.name)
    return out


class Shown:
    """A table shown rounded: HTML in Jupyter (escaped), text in a terminal.

    ``table`` keeps the exact values; ``str()`` and ``_repr_html_`` show :func:`formatted`.
    """

    def __init__(self, table: pd.DataFrame | pd.Series, title: str | None = None) -> None:
        self.table = table
        self.title = title

    def __str__(self) -> str:
        body = to_text(formatted(self.table))
        return f"{for_terminal(self.title)}\n{body}" if self.title else body

    __repr__ = __str__

    def _repr_html_(self) -> str:
        # escape=True (pandas' default, stated so no edit drops it): names are untrusted
        html = formatted(self.table).to_html(escape=True)
        if self.title:
            return f"<h4>{for_html(self.title)}</h4>{html}"
        return html


def show(table: Any, title: str | None = None) -> Shown:
    """Show a report rounded (hours 2 decimals, money to the cent, dates as dates).

    ``table`` is a frame, a series, or a dataclass of figures such as ``totals()``.

    Example:
        >>> fbtime.display.show(df.fbtime.by_client()[["entries", "hours"]].head(3))
                  entries   hours
        client_id
        78930         147  211.48
        78745          71  108.10
        78995          64   87.66
    """
    if dataclasses.is_dataclass(table) and not isinstance(table, type):
        table = pd.Series(dataclasses.asdict(table), dtype=object).to_frame("value")
    return Shown(table, title)
