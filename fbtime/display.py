"""One display style for every report: exact numbers in the frames, rounded on screen.

Reports (``by_client``, ``totals``, aging, budgets...) keep exact values: hours as floats,
money as exact decimals (:data:`fbtime.money.MONEY`), dates as timestamps. Only what a
person reads is rounded, here and nowhere else:

* hours to 2 decimals (``1,234.57``), money to the cent (``1,234.50``), ratios as
  percentages, whole counts with separators, dates as dates (``2026-07-03``, never
  ``2026-07-03 00:00:00``);
* a column of hours is rounded as a whole (:func:`rounded_hours`, largest remainder): its
  rounded cells add up to its rounded total, so a table, its export and the total a panel
  shows agree to the hundredth;
* one spelling for a missing group: ``<no client>``, ``<no project>``, ``<no service>``,
  ``<no teammate>`` (:func:`no_group`); ``Unknown (<id>)`` for a teammate whose id no team
  list names (:func:`unknown_teammate`); ``client 78930`` for a group with an id and no
  name (:func:`id_label`). Never ``<NA>``, ``NaN``, a dash or a blank;
* :class:`Report` is a DataFrame that keeps the exact values and shows them this way
  (what ``df.fbtime.by_client()`` and the other summaries return); :func:`show` makes one
  of any table or of a dataclass of figures such as ``totals()``; :func:`formatted` gives
  the cells as text; :func:`to_text` prints a table with every control character escaped.

The widgets, plan views and files for people use the same helpers, so an amount or a
"no client" reads the same everywhere.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd

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


def id_label(group: str, key: Any) -> str:
    """A group known by its id only: ``client 78930``; no id: :func:`no_group`."""
    return no_group(group) if _missing(key) else f"{group} {key}"


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


def minute(value: Any) -> str:
    """A time as ``YYYY-MM-DD HH:MM`` in its own zone (seconds dropped); missing: empty."""
    return MISSING if _missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


Formatter = Callable[[Any], str]
#: What a column holds, as :func:`column_kind` tells, and how a cell of it shows.
FORMATTERS: dict[str, Formatter] = {
    "id": text, "money": money, "date": date, "time": minute, "flag": text, "count": count,
    "ratio": ratio, "hours": hours, "mixed": cell, "text": text,
}  # fmt: skip


def _has_time_of_day(series: pd.Series) -> bool:
    values = series.dropna()
    return bool(len(values)) and bool((values != values.dt.normalize()).any())


def column_kind(name: Any, series: pd.Series) -> str:
    """What column ``name`` holds (a key of :data:`FORMATTERS`): by dtype, then by name.

    ``time`` is a tz-aware column, or a naive one with times of day; ``date`` the rest of
    the datetimes; ``ratio`` a float column named ``*ratio``, ``*_used``, ``utilization``.
    """
    name, dtype = str(name), series.dtype
    if name == "id" or name.endswith("_id"):
        return "id"  # an id is a name, not a quantity: no thousands separators
    if dtype == MONEY:
        return "money"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        tz = isinstance(dtype, pd.DatetimeTZDtype)
        return "time" if tz or _has_time_of_day(series) else "date"
    if pd.api.types.is_bool_dtype(dtype):
        return "flag"
    if pd.api.types.is_integer_dtype(dtype):
        return "count"
    if pd.api.types.is_float_dtype(dtype):
        return "ratio" if name.endswith(("ratio", "_used", "utilization")) else "hours"
    if pd.api.types.is_object_dtype(dtype):
        return "mixed"
    return "text"


def formatter_for(name: str, series: pd.Series) -> Formatter:
    """The formatter of a cell of column ``name`` (see :func:`column_kind`)."""
    return FORMATTERS[column_kind(name, series)]


def rounded_hours(values: pd.Series) -> pd.Series:
    """Hours to 2 decimals that add up to their own rounded total (largest remainder).

    Each value is cut to the hundredth below; the hundredths the cuts lost (the rounded
    total minus their sum) go one each to the values that lost most. So no value moves by
    more than 0.01 and the column adds up to the total shown for it. Missing stays missing.

    Example:
        >>> rounded_hours(pd.Series([1 / 3, 1 / 3, 1 / 3])).tolist()  # shown: 0.33 x 3 = 0.99
        [0.34, 0.33, 0.33]
    """
    x = values.to_numpy(dtype=float, na_value=np.nan)
    out = np.full(len(x), np.nan)
    ok = np.isfinite(x)
    if ok.any():
        scaled = np.round(x[ok] * 100, 6)  # 214.48 * 100 is 21447.999999999996
        cut = np.floor(scaled)
        target = round(float(f"{x[ok].sum():.2f}") * 100)
        lost = int(target - cut.sum())
        order = np.argsort(-(scaled - cut), kind="stable")
        if lost > 0:
            cut[order[:lost]] += 1
        elif lost < 0:  # float noise only: take back from those that lost least
            cut[order[::-1][:-lost]] -= 1
        out[ok] = cut / 100
    return pd.Series(out, index=values.index, dtype="Float64").where(ok, pd.NA)


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


def _ids_of(frame: pd.DataFrame, group: str) -> pd.Series | None:
    """The ids of ``group`` on each row: its id column, or the index when it is that."""
    id_col = next(c for c, g in ID_COLUMNS.items() if g == group)
    if id_col in frame.columns:
        return frame[id_col].reset_index(drop=True)
    if frame.index.name == id_col:
        return frame.index.to_series().reset_index(drop=True)
    return None


def cells_of(name: Any, column: pd.Series, frame: pd.DataFrame | None = None) -> pd.Series:
    """One column as display text, with its group's spellings (``<no client>``...).

    A ``<group>_name`` cell with no name reads ``<no client>`` where the id is missing too
    and ``client 78930`` where it is not; a findings' ``client``/``teammate`` label reads
    ``<no client>`` where it is missing. Hours are rounded as a column (:func:`rounded_hours`).
    """
    kind = column_kind(name, column)
    source = rounded_hours(column) if kind == "hours" else column
    shown = source.map(FORMATTERS[kind], na_action=None).astype(object)
    cells = pd.Series(shown.to_numpy(), dtype=object)
    group = str(name).removesuffix("_name")
    if str(name).endswith("_name") and group in NO_GROUP:
        blank = column.isna().to_numpy() | (column.astype("str").fillna("").str.strip() == "")
        ids = _ids_of(frame, group) if frame is not None else None
        labels = [
            id_label(group, None if ids is None else ids.iloc[i]) for i in np.flatnonzero(blank)
        ]
        cells.iloc[np.flatnonzero(blank)] = labels
    elif name in NO_GROUP:
        cells = cells.where(column.notna().to_numpy(), no_group(str(name)))
    return cells.set_axis(column.index)


def formatted(table: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """The table as display text: every cell formatted, NA groups spelled once.

    The input is not modified; the result is for showing only (all cells are ``str``).
    """
    frame = table.to_frame() if isinstance(table, pd.Series) else pd.DataFrame(table)
    out = pd.DataFrame(index=frame.index)
    for position, name in enumerate(frame.columns):  # by position: names may repeat
        out.insert(position, name, cells_of(name, frame.iloc[:, position], frame), True)
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
        group = _group_of(frame.index.name)
        out.index = pd.Index([label(k, group) for k in frame.index], name=frame.index.name)
    return out


# -- terminal tables ----------------------------------------------------------------------
def is_text(dtype: Any) -> bool:
    """A column (or index) that may hold strings."""
    return (
        pd.api.types.is_object_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _only_strings(fix: Callable[[str], Any]) -> Callable[[Any], Any]:
    return lambda value: fix(value) if isinstance(value, str) else value


def map_index(index: pd.Index, fix: Callable[[str], Any]) -> pd.Index:
    """``index`` with ``fix`` applied to every string label and level name."""
    names = [_only_strings(fix)(name) for name in index.names]
    if isinstance(index, pd.MultiIndex):
        levels = [map_index(index.get_level_values(i), fix) for i in range(index.nlevels)]
        return pd.MultiIndex.from_arrays(levels, names=names)
    if is_text(index.dtype):
        index = index.map(_only_strings(fix))
    return index.set_names(names)


def map_series(series: pd.Series, fix: Callable[[str], Any]) -> pd.Series:
    """``series`` with ``fix`` applied to every string cell (other cells as they are)."""
    if not is_text(series.dtype):
        return series
    values = series.astype(object) if isinstance(series.dtype, pd.CategoricalDtype) else series
    fixed = values.map(_only_strings(fix), na_action="ignore")
    return fixed.astype(series.dtype) if pd.api.types.is_string_dtype(series.dtype) else fixed


def map_text(frame: pd.DataFrame, fix: Callable[[str], Any]) -> pd.DataFrame:
    """A copy of ``frame`` with ``fix`` applied to every string cell, label and axis name.

    Numbers, dates and missing values are left as they are, so dtypes other than text
    do not change. The caller's frame is not modified.
    """
    out = pd.DataFrame(frame).copy()
    for position in range(frame.shape[1]):  # by position: column names may repeat
        out.isetitem(position, map_series(frame.iloc[:, position], fix).array)
    out.index = map_index(frame.index, fix)
    out.columns = map_index(frame.columns, fix)
    return out


def to_text(data: pd.DataFrame | pd.Series, **to_string_kwargs: Any) -> str:
    """``data.to_string(...)`` with control characters in every cell and label escaped.

    A newline inside a cell shows as ``\\n``, so one note cannot look like two rows.

    Example:
        >>> print(to_text(pd.DataFrame({"note": ["line one\\nline two", "ok"]})))
                         note
        0  line one\\nline two
        1                  ok
    """
    if isinstance(data, pd.Series):
        shown = map_series(data, for_terminal).copy()  # never relabel the caller's series
        shown.index = map_index(data.index, for_terminal)
        shown.name = _only_strings(for_terminal)(data.name)
    else:
        shown = map_text(data, for_terminal)  # type: ignore[assignment]
    return shown.to_string(**to_string_kwargs)


# -- reports ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ReportInfo:
    """What a report says around its table: a title, the currency of its amounts, and
    the clients billed in another currency (``(client id, name, code)``)."""

    title: str | None = None
    currency: str | None = None
    foreign: tuple[tuple[Any, str, str], ...] = ()


def money_note(currency: str | None) -> str:
    """The line under a table with amounts: which currency they are in."""
    if currency:
        return f"amounts in {currency}"
    return "amounts in a currency fbtime could not read: pass with_rates(currency=...)"


def foreign_note(name: str, code: str, currency: str | None) -> str:
    """Why a client billed in another currency shows amounts in the business's."""
    ours = currency or "the business's currency"
    return (
        f"{name} is billed in {code}: its amounts are in {ours} at the business's rates, not "
        f"converted (FreshBooks gives rates without a currency)"
    )


#: Headings for people of the columns whose name says less than it could.
HEADINGS: dict[str, str] = {
    "client_name": "client", "project_name": "project", "service_name": "service",
    "teammate_name": "teammate", "identity_id": "teammate id",
}  # fmt: skip


def heading(name: Any, series: pd.Series, currency: str | None = None) -> str:
    """A column's heading for people: ``client``, ``billable hours``, ``start (Europe/Paris)``,
    ``unbilled amount (CAD)``."""
    words = HEADINGS.get(str(name), str(name).replace("_", " "))
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return f"{words} ({series.dtype.tz})"
    if series.dtype == MONEY:
        return f"{words} ({currency or 'currency unknown'})"
    return words


def amounts_currency(frame: pd.DataFrame, currency: str | None = None) -> str | None:
    """The currency of a table's amounts: ``currency``, else its ``currency`` column's one code."""
    if currency is None and "currency" in frame and frame["currency"].nunique() == 1:
        return str(frame["currency"].dropna().iloc[0])
    return currency


def without_currency(frame: pd.DataFrame, code: str | None) -> pd.DataFrame:
    """``frame`` without its ``currency`` column when every amount is in ``code``: the
    headings name it, and a column of codes beside a client reads as the client's own."""
    if "currency" not in frame or not any(frame[c].dtype == MONEY for c in frame.columns):
        return frame
    return frame.drop(columns="currency") if set(frame["currency"].dropna()) <= {code} else frame


class Shown(NamedTuple):
    """A table as shown: the lines to show with it, its cells as text, and the column of
    the table each shown column comes from (None for one added to show, ``billed in``)."""

    notes: list[str]
    table: pd.DataFrame
    sources: list[Any]


def shown_table(
    table: pd.DataFrame, info: ReportInfo | None = None, *, human: bool = False
) -> Shown:
    """The lines to show with a table, and the table as text.

    Amounts name their currency in their headings (the ``currency`` column goes); clients
    billed in another currency get a ``billed in`` cell and a line saying why their
    amounts are not in it. ``human=True``: headings for people (:func:`heading`).
    """
    info = info or ReportInfo()
    frame = pd.DataFrame(table)
    code = amounts_currency(frame, info.currency)
    notes = [info.title] if info.title else []
    money_columns = [c for c in frame.columns if frame[c].dtype == MONEY]
    if money_columns:
        notes.append(money_note(code))
        frame = without_currency(frame, code)
    shown = formatted(frame)
    sources: list[Any] = list(frame.columns)
    if human:
        shown.columns = [heading(n, frame.iloc[:, i], code) for i, n in enumerate(frame.columns)]
    elif money_columns and code:
        shown = shown.rename(columns={c: f"{c} ({code})" for c in money_columns})
    if info.foreign and frame.index.name == "client_id" and money_columns:
        billed = {key: their for key, _, their in info.foreign}
        keys = [billed.get(key) for key in frame.index]
        if any(keys):
            shown["billed in"] = [f"{k} (not converted)" if k else "" for k in keys]
            sources.append(None)
    for _, name, their in info.foreign if money_columns else ():
        notes.append(foreign_note(name, their, code))
    return Shown(notes, shown, sources)


def _limits() -> dict[str, Any]:
    return {
        "max_rows": pd.get_option("display.max_rows"),
        "min_rows": pd.get_option("display.min_rows"),
        "max_cols": pd.get_option("display.max_columns"),
    }


def render_text(report: pd.DataFrame, info: ReportInfo) -> str:
    """A report as a terminal shows it: its notes, then the rounded table (escaped)."""
    notes, shown, _ = shown_table(report, info)
    body = to_text(shown, **_limits()) if len(shown.columns) else "(no columns)"
    return "\n".join([*(for_terminal(n) for n in notes), body])


def render_html(report: pd.DataFrame, info: ReportInfo) -> str:
    """A report as a notebook shows it: notes, then the rounded table, every value escaped."""
    notes, shown, _ = shown_table(report, info)
    # escape=True (pandas' default, stated so no edit drops it): names are untrusted
    limits = _limits()
    table = shown.to_html(escape=True, max_rows=limits["max_rows"], max_cols=limits["max_cols"])
    lines = "".join(f"<p>{for_html(n)}</p>" for n in notes[1 if info.title else 0 :])
    title = f"<h4>{for_html(info.title)}</h4>" if info.title else ""
    return f"<div class='fbtime-report'>{title}{lines}{table}</div>"


class Report(pd.DataFrame):
    """A report: a DataFrame of exact values, shown rounded (:func:`formatted`).

    Hours show to 2 decimals (a column adding up to its rounded total), money to the cent
    with its currency named, ratios as percentages, and a missing group as ``<no client>``.
    Selecting rows or columns, sorting and arithmetic keep it a report; a column is a plain
    Series, and ``pd.DataFrame(report)`` is the plain frame (pandas' own display).
    """

    _metadata: ClassVar[list[str]] = ["_fbtime_report"]

    @property
    def _constructor(self) -> Callable[..., Report]:
        return Report

    @property
    def _constructor_sliced(self) -> Callable[..., pd.Series]:
        return pd.Series

    @property
    def report_info(self) -> ReportInfo:
        """The report's title, currency and foreign-currency clients."""
        info = getattr(self, "_fbtime_report", None)
        return info if isinstance(info, ReportInfo) else ReportInfo()

    def __repr__(self) -> str:
        return render_text(self, self.report_info)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return render_html(self, self.report_info)


def report(
    table: pd.DataFrame | pd.Series,
    *,
    title: str | None = None,
    currency: str | None = None,
    foreign: tuple[tuple[Any, str, str], ...] = (),
) -> Report:
    """``table`` as a :class:`Report` (a copy without data copied; the table is not changed)."""
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    out = Report(frame.copy(deep=False))
    out.attrs = dict(frame.attrs)
    object.__setattr__(out, "_fbtime_report", ReportInfo(title, currency, tuple(foreign)))
    return out


def figures(obj: Any) -> pd.DataFrame:
    """A dataclass of figures (``totals()``) as a one-column table of labelled values.

    Seconds become hours, amounts carry the currency, yes/no for flags, ``none`` for a
    figure that is missing.
    """
    values = dataclasses.asdict(obj)
    code = values.get("currency") or None
    rows: dict[str, str] = {}
    for name, value in values.items():
        if name == "currency":
            continue
        heading = name.replace("_", " ")
        if name.endswith("_seconds") or name.startswith("server_total_"):
            heading = heading.replace(" seconds", "") + " (h)"
            value = None if value is None else value / 3600
        if value is None:
            rows[heading] = "none"
        elif isinstance(value, bool):
            rows[heading] = "yes" if value else "no"
        elif isinstance(value, Decimal):
            rows[heading] = money(value, code)
        else:
            rows[heading] = cell(float(value) if heading.endswith("(h)") else value)
    return pd.DataFrame({"value": pd.Series(rows, dtype=object)}).rename_axis("figure")


def show(table: Any, title: str | None = None) -> Report:
    """Show a report rounded (hours 2 decimals, money to the cent, dates as dates).

    ``table`` is a frame, a series, or a dataclass of figures such as ``totals()``.

    Example:
        >>> fbtime.display.show(pd.DataFrame(df.fbtime.by_client())[["entries", "hours"]].head(3))
                  entries   hours
        client_id
        78930         147  211.47
        78745          71  108.10
        78995          64   87.66
    """
    if dataclasses.is_dataclass(table) and not isinstance(table, type):
        return report(figures(table), title=title)
    if isinstance(table, Report) and title is None:
        return table
    info = table.report_info if isinstance(table, Report) else ReportInfo()
    return report(table, title=title, currency=info.currency, foreign=info.foreign)
