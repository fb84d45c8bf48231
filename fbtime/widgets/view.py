"""The explorer's pure part: filter, group, sort, page and format a frame from a state.

Nothing here touches widgets, so it is tested on plain frames; :mod:`.explorer` only
reads the controls into an :class:`ExplorerState` and shows what these functions return.
Times are shown in the business's zone (the data's most common ``local_timezone``, the
zone filters and weeks use), with the UTC start kept as a column. Cells follow the one
display style of :mod:`fbtime.display`: hours to 2 decimals, money to the cent, dates as
dates, ``<no client>`` for a missing group.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from fbtime import analysis, display
from fbtime.errors import QueryError
from fbtime.money import MONEY
from fbtime.plots import COLORS, chart_style, label_groups
from fbtime.text import for_html
from fbtime.weeks import frame_week_start

GROUP_BYS = ("client", "project", "teammate", "week", "entries")
FLAG_CHOICES = ("All", "Yes", "No")
#: Rows per page the explorer offers; the export always has every row.
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
TABLE_CLASS = "fbtime-explorer-table"
#: How much of a long note the table shows (the export keeps all of it).
NOTE_CHARS = 300
#: The entries view: the local start first, the UTC start kept last.
_ENTRY_COLUMNS = ("start", "teammate", "client", "project", "hours", "billable", "billed",
                  "amount", "currency", "note", "started_at")  # fmt: skip
_TABLE = "border-collapse:collapse;width:100%;table-layout:auto"
_CELL = "padding:3px 6px;vertical-align:top;"
# numbers and times stay on one line; names and headings wrap, so the table fits the area
_NUMBER = _CELL + "text-align:right;white-space:nowrap;"
_STAMP = _CELL + "text-align:left;white-space:nowrap;"
_WORD = _CELL + "text-align:left;white-space:normal;overflow-wrap:break-word;"
_PROSE = _CELL + "text-align:left;white-space:normal;overflow-wrap:anywhere;min-width:10em;"


@dataclass(frozen=True)
class ExplorerState:
    """What the explorer's controls say; empty selections and "All" mean no filter.

    Attributes:
        start, end: first and last local day included (None = open).
        clients, projects: ids to keep (None in the tuple = entries without one).
        teammate: the identity id to keep, or None for everyone.
        billable, billed: "All", "Yes" or "No" (a missing flag reads as No).
        group_by: one of :data:`GROUP_BYS` ("entries" lists rows instead of a summary).
        sort_by: a column (or the index name) of the table to sort by; None keeps the
            view's own order (most hours first; weeks in order; newest entries first).
        descending: sort largest (or latest, or Z) first.
    """

    start: dt.date | None = None
    end: dt.date | None = None
    clients: tuple[Any, ...] = ()
    projects: tuple[Any, ...] = ()
    teammate: int | None = None
    billable: str = "All"
    billed: str = "All"
    group_by: str = "client"
    sort_by: str | None = None
    descending: bool = False


class ExplorerView(NamedTuple):
    """The result of :func:`explore_view`: the table to show, the rows behind it, the zone
    and the day weeks start on (``"monday"`` or ``"sunday"``)."""

    table: pd.DataFrame
    rows: pd.DataFrame
    tz: str = "UTC"
    week_start: str = "monday"


def _check_state(state: ExplorerState) -> None:
    for name in ("billable", "billed"):
        if getattr(state, name) not in FLAG_CHOICES:
            raise QueryError(f"{name} must be one of {FLAG_CHOICES}, got {getattr(state, name)!r}")
    if state.group_by not in GROUP_BYS:
        raise QueryError(f"group_by must be one of {GROUP_BYS}, got {state.group_by!r}")
    if state.start and state.end and state.end < state.start:
        raise QueryError(f"the end date {state.end} is before the start date {state.start}")


def _week_table(rows: pd.DataFrame, tz: str, start: str) -> pd.DataFrame:
    work = analysis.hours_frame(rows, tz)
    work["week"] = analysis.period_start(work["day"], "W", start)
    hours = ["hours", "billable_hours", "unbilled_hours", "billed_hours"]
    money = [c for c in analysis.AMOUNT_COLUMNS if c in work and c != "missing_rate_hours"]
    grouped = work.groupby("week")
    table = grouped[hours].sum().astype("Float64")
    table.insert(0, "entries", grouped.size().astype("Int64"))
    for column in money:
        table[column] = grouped[column].sum()
    table.attrs["week_start"] = start
    return table


def entries_table(rows: pd.DataFrame, tz: str) -> pd.DataFrame:
    """The entries view: start in ``tz``, names where the frame has them, UTC start last.

    ``start`` is tz-aware in the business's zone (``started_at`` stays UTC), so the time a
    row shows is the day the filters and weeks put it on. Newest first.
    """
    picked: dict[str, pd.Series] = {"start": rows["started_at"].dt.tz_convert(tz)}
    money = analysis.has_amounts(rows)
    for name in _ENTRY_COLUMNS[1:]:
        if name in analysis.GROUPS:  # the name where the frame has names, else the id
            id_col, name_col = analysis.GROUPS[name]
            name = name_col if name_col in rows else id_col
        if name in rows and (money or name not in ("amount", "currency")):
            picked[name] = rows[name]
    table = pd.DataFrame(picked, index=rows.index)
    return table.sort_values("start", ascending=False, kind="stable")


def explore_view(
    frame: pd.DataFrame,
    state: ExplorerState,
    *,
    tz: str | None = None,
    week_start: str | None = None,
) -> ExplorerView:
    """Filter ``frame`` as ``state`` says, summarise it by ``state.group_by`` and sort it.

    Days are local days in the data's zone (as in ``by_period``), so a late evening
    entry belongs to the day its teammate worked. Summaries count logged, active entries
    like every ``df.fbtime.by_*``; the ``rows`` keep every filtered entry. ``tz`` is the
    business's zone (default: the data's most common ``local_timezone``, else UTC);
    weeks start on ``week_start`` (default: the business's, as the load recorded it).

    Raises:
        QueryError: an unknown choice, zone or week start, a sort column the table lacks,
            or an end date before the start date.
    """
    _check_state(state)
    start = frame_week_start(frame, week_start)
    tz = analysis.resolve_tz(frame, tz)
    mask = np.ones(len(frame), dtype=bool)
    day = analysis.local_day(frame, tz)
    if state.start is not None:
        mask &= (day >= pd.Timestamp(state.start)).to_numpy(dtype=bool, na_value=False)
    if state.end is not None:
        mask &= (day <= pd.Timestamp(state.end)).to_numpy(dtype=bool, na_value=False)
    for column, chosen in (("client_id", state.clients), ("project_id", state.projects)):
        if chosen:
            ids = [int(v) for v in chosen if v is not None]
            keep = frame[column].isin(ids).to_numpy(dtype=bool, na_value=False)
            if any(v is None for v in chosen):
                keep |= frame[column].isna().to_numpy()
            mask &= keep
    if state.teammate is not None:
        mask &= (frame["identity_id"] == state.teammate).to_numpy(dtype=bool, na_value=False)
    for column in ("billable", "billed"):
        choice = getattr(state, column)
        if choice != "All":
            mask &= analysis.flag(frame, column) == (choice == "Yes")
    rows = analysis.select(frame, mask)
    if state.group_by == "entries":
        table = entries_table(rows, tz)
    elif state.group_by == "week":
        table = _week_table(rows, tz, start)
    else:
        table = analysis.summarize_by(rows, state.group_by, tz=tz)  # type: ignore[arg-type]
    if state.sort_by is not None:
        table = sort_table(table, state.sort_by, descending=state.descending)
    return ExplorerView(table, rows, tz, start)


# -- sorting and paging ---------------------------------------------------------------------
def sort_keys(table: pd.DataFrame) -> list[str]:
    """What the table can be sorted by: its index name, then its columns."""
    keys = [str(table.index.name)] if table.index.name is not None else []
    return keys + [str(c) for c in table.columns]


def _text_key(values: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        return values.map(lambda v: v.casefold() if isinstance(v, str) else v)
    return values


def sort_table(table: pd.DataFrame, by: str, *, descending: bool = False) -> pd.DataFrame:
    """``table`` sorted by a column or its index (stable; missing values last; text A-z).

    Raises:
        QueryError: ``by`` is neither a column nor the index name.
    """
    if by not in sort_keys(table):
        raise QueryError(f"cannot sort by {by!r}: the table has {', '.join(sort_keys(table))}")
    if by == table.index.name and by not in table.columns:
        key = table.index.to_series(index=pd.RangeIndex(len(table)))
    else:
        key = table[by].reset_index(drop=True)
    order = _text_key(key).sort_values(ascending=not descending, kind="stable", na_position="last")
    return table.iloc[order.index.to_numpy()]


def page_count(rows: int, page_size: int) -> int:
    """Pages needed for ``rows`` rows (at least one, so an empty table has page 1 of 1)."""
    return max(1, -(-rows // max(1, page_size)))


def page_of(table: pd.DataFrame, page: int, page_size: int) -> pd.DataFrame:
    """Rows of page ``page`` (0-based, clamped to the pages there are)."""
    size = max(1, page_size)
    page = min(max(0, page), page_count(len(table), size) - 1)
    return table.iloc[page * size : (page + 1) * size]


# -- showing and exporting ----------------------------------------------------------------
def column_label(name: Any, series: pd.Series) -> str:
    """A column's heading: its name, with the zone of a time column (``start (Europe/Paris)``)."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return f"{name} ({dtype.tz})"
    return str(name)


def _times(table: pd.DataFrame) -> pd.DataFrame:
    """Times of day as local wall-clock text (``2026-03-09 10:00``); other columns as they are."""
    out = table.copy()
    for position in range(table.shape[1]):
        column = table.iloc[:, position]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            text = column.dt.strftime("%Y-%m-%d %H:%M").astype(object)
            out.isetitem(position, text.where(column.notna(), None))
    return out


def _style(name: Any, series: pd.Series) -> str:
    if name == "note":
        return _PROSE
    dtype = series.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if numeric or dtype == MONEY:
        return _NUMBER
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return _STAMP
    return _WORD


def _heading(label: Any) -> str:
    # a zero-width space after each "_" lets client_name wrap as client_ / name
    return for_html(label).replace("_", "_\u200b")


def table_html(table: pd.DataFrame) -> str:
    """The table as HTML in the one display style, fitting the output area.

    The table takes the area's width, sized by its content (JupyterLab's own tables are
    fixed-layout, which let a long start time run into the next column); names, headings
    and notes wrap (notes cut at :data:`NOTE_CHARS`), so nothing is hidden to the right.
    Every value, index label and column label is escaped: names and notes come from the
    account, and this HTML is shown as it is.
    """
    shown = display.formatted(_times(table))
    if "note" in shown:
        shown["note"] = shown["note"].map(
            lambda v: v if len(v) <= NOTE_CHARS else v[: NOTE_CHARS - 1] + "…"
        )
    styles = [_style(name, table[name]) for name in table.columns]
    labels = [column_label(name, table[name]) for name in table.columns]
    names = [n if n is not None else "" for n in shown.index.names]
    head = "".join(f"<th style='{_STAMP}'>{_heading(n)}</th>" for n in names)
    heads = [_WORD.replace("left", "right") if s == _NUMBER else _WORD for s in styles]
    head += "".join(f"<th style='{s}'>{_heading(label)}</th>" for s, label in zip(heads, labels))  # noqa: B905
    body = []
    for key, values in zip(shown.index, shown.itertuples(index=False, name=None)):  # noqa: B905
        keys = key if isinstance(key, tuple) else (key,)
        cells = "".join(f"<th style='{_STAMP}'>{for_html(k)}</th>" for k in keys)
        cells += "".join(f"<td style='{s}'>{for_html(v)}</td>" for s, v in zip(styles, values))  # noqa: B905
        body.append(f"<tr>{cells}</tr>")
    empty = "" if len(table) else "<p>No entries match these filters.</p>"
    return (
        "<div style='max-width:100%;overflow-x:auto'>"
        f"<table class='{TABLE_CLASS}' style='{_TABLE}'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{empty}</div>"
    )


def export_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The table as a file holds it: the columns shown, in display units.

    Hours and ratios rounded to 2 decimals, money to the cent, days as dates, times as
    local wall-clock minutes under a heading naming the zone, the index as the first
    column and a missing group spelled ``<no client>``. Numbers stay numbers, so a
    spreadsheet can add them up. The table is not modified.
    """
    group = display.ID_COLUMNS.get(str(table.index.name))
    no_key = np.asarray(table.index.isna()) if group else np.zeros(len(table), dtype=bool)
    flat = table.reset_index()
    out: dict[str, Any] = {}
    for name in flat.columns:
        column = flat[name]
        kind = display.formatter_for(str(name), column)
        label = column_label(name, column)
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_localize(None).dt.floor("min")
        elif kind is display.date:
            column = column.map(lambda v: None if pd.isna(v) else v.date()).astype(object)
        elif kind in (display.hours, display.ratio):  # rounded as display.hours shows it
            column = column.map(lambda v: float(f"{v:.2f}"), na_action="ignore")
            column = column.astype("Float64")
        if group and name == f"{group}_name":
            column = column.astype(object).where(~no_key, display.no_group(group))
        out[label] = column
    if group and f"{group}_name" not in flat:  # no names: the id column says it
        first = next(iter(out))
        out[first] = out[first].astype(object).where(~no_key, display.no_group(group))
    return pd.DataFrame(out)


# -- the chart ------------------------------------------------------------------------------
def _labels(table: pd.DataFrame, group_by: str) -> list[str]:
    if group_by == "week":
        return [f"{d:%Y-%m-%d}" for d in table.index]
    column = table.get(analysis.GROUPS[group_by][1])
    names = None if column is None else [None if n == "nan" else n for n in column.tolist()]
    return label_groups(list(table.index), names, f"<no {group_by}>", f"{group_by} {{}}")


def _draw(ax: Any, table: pd.DataFrame, group_by: str, week_start: str) -> None:
    labels = _labels(table, group_by)
    billed = table["billed_hours"].to_numpy(dtype=float, na_value=0.0)
    unbilled = table["unbilled_hours"].to_numpy(dtype=float, na_value=0.0)
    other = table["hours"].to_numpy(dtype=float, na_value=0.0) - billed - unbilled
    weekly = group_by == "week"
    pos, base = np.arange(len(table)), np.zeros(len(table))
    for values, label in ((billed, "billed"), (unbilled, "unbilled"), (other, "non-billable")):
        if weekly:
            ax.bar(pos, values, bottom=base, label=label, color=COLORS[label], width=0.8)
        else:
            ax.barh(pos, values, left=base, label=label, color=COLORS[label], height=0.8)
        base = base + values
    step = max(1, len(labels) // 12) if weekly else 1
    (ax.set_xticks if weekly else ax.set_yticks)(pos[::step], labels[::step], fontsize=8)
    (ax.set_ylabel if weekly else ax.set_xlabel)("hours")
    title = f"Hours by week ({week_start.title()} start)" if weekly else f"Hours by {group_by}"
    ax.set_title(title if len(table) else "No entries match", fontsize=10)
    if len(table):
        ax.legend(fontsize=8)


def chart_png(view: ExplorerView, group_by: str) -> bytes:
    """PNG of hours per group (top 15) or per week: billed, unbilled, non-billable stacked.

    Drawn on a bare ``Figure`` (not pyplot), so refreshes leave no open figures behind,
    and saved inside :func:`fbtime.plots.chart_style`, so names are drawn literally. The
    bars follow the view's own order (most hours first), whatever the table is sorted by.
    """
    import matplotlib
    from matplotlib.figure import Figure

    table = view.table
    if group_by == "entries":
        table, group_by = _week_table(view.rows, view.tz, view.week_start), "week"
    elif group_by == "week":
        table = table.sort_index()
    else:
        table = table.sort_values("hours", ascending=False, kind="stable").head(15).iloc[::-1]
    height = 3.2 if group_by == "week" else max(2.2, 0.3 * len(table) + 1)
    buf = io.BytesIO()
    with matplotlib.rc_context(chart_style()), warnings.catch_warnings():
        # a name no installed font can draw shows as boxes; a warning per refresh adds nothing
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig = Figure(figsize=(7.5, height), layout="constrained")
        _draw(fig.subplots(), table, group_by, view.week_start)
        fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()
