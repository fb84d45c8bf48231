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

import matplotlib.dates as mdates
import numpy as np
import pandas as pd

from fbtime import analysis, display
from fbtime.errors import QueryError
from fbtime.export import people_frame
from fbtime.plots import LEGEND_OUTSIDE, chart_style, label_groups, status_bars
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
# the row headings stay in view when a wide table scrolls sideways (JupyterLab's colours)
_STICKY = (
    _CELL + "text-align:left;white-space:normal;position:sticky;left:0;z-index:1;"
    "background:var(--jp-layout-color0,#fff);"
)
_STICKY_HEAD = _STICKY.replace("z-index:1", "z-index:2")


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
    """A column's heading for people (``start (Europe/Paris)``, ``billable hours``)."""
    return display.heading(name, series)


def _style(kind: str, name: Any) -> str:
    if name == "note":
        return _PROSE
    if kind in ("money", "hours", "ratio", "count"):
        return _NUMBER
    if kind in ("date", "time", "flag", "id"):
        return _STAMP
    return _WORD


def shown_table(
    table: pd.DataFrame, info: display.ReportInfo | None = None
) -> tuple[list[str], pd.DataFrame, list[str]]:
    """The notes, the table as text (human headings; the group's name as the row heading)
    and each column's style: what :func:`table_html` pages through.

    Hours are rounded over the whole table (:func:`fbtime.display.rounded_hours`), not
    per page, so every page shows what the export holds.
    """
    notes, shown, sources = display.shown_table(table, info, human=True)
    frame = pd.DataFrame(table)
    styles = [
        _WORD if name is None else _style(display.column_kind(name, frame[name]), name)
        for name in sources
    ]
    group = display.ID_COLUMNS.get(str(frame.index.name))
    name_col = f"{group}_name"
    if group and name_col in sources:  # the name heads its row; the id is in the export
        at = sources.index(name_col)
        shown = shown.set_index(shown.columns[at])
        del styles[at]
    elif group:
        shown.index.name = display.heading(frame.index.name, frame.index.to_series())
    return notes, shown, styles


def table_html(
    table: pd.DataFrame,
    *,
    page: int = 0,
    page_size: int | None = None,
    info: display.ReportInfo | None = None,
    shown: tuple[list[str], pd.DataFrame, list[str]] | None = None,
) -> str:
    """One page of the table as HTML in the one display style, fitting the output area.

    Headings are for people and wrap between words; numbers and times stay on one line;
    notes wrap (cut at :data:`NOTE_CHARS`); the row headings (the group's name, or the
    entry's id) stay in view when the table scrolls sideways. ``shown`` is
    :func:`shown_table` of ``table``, when the caller keeps it between pages. Every value,
    index label and column label is escaped: names and notes come from the account, and
    this HTML is shown as it is.
    """
    notes, cells, styles = shown or shown_table(table, info)
    if page_size is not None:
        cells = page_of(cells, page, page_size)
    if "note" in cells:
        cells = cells.assign(
            note=cells["note"].map(
                lambda v: v if len(v) <= NOTE_CHARS else v[: NOTE_CHARS - 1] + "…"
            )
        )
    names = [n if n is not None else "" for n in cells.index.names]
    head = "".join(f"<th style='{_STICKY_HEAD}'>{for_html(n)}</th>" for n in names)
    heads = [_WORD.replace("left", "right") if s == _NUMBER else _WORD for s in styles]
    head += "".join(
        f"<th style='{s}'>{for_html(label)}</th>"
        for s, label in zip(heads, cells.columns)  # noqa: B905
    )
    body = []
    for key, values in zip(cells.index, cells.itertuples(index=False, name=None)):  # noqa: B905
        keys = key if isinstance(key, tuple) else (key,)
        row = "".join(f"<th style='{_STICKY}'>{for_html(k)}</th>" for k in keys)
        row += "".join(f"<td style='{s}'>{for_html(v)}</td>" for s, v in zip(styles, values))  # noqa: B905
        body.append(f"<tr>{row}</tr>")
    empty = "" if len(table) else "<p>No entries match these filters.</p>"
    lines = "".join(f"<div style='font-size:90%'>{for_html(n)}</div>" for n in notes)
    return (
        f"{lines}<div style='max-width:100%;overflow-x:auto'>"
        f"<table class='{TABLE_CLASS}' style='{_TABLE}'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{empty}</div>"
    )


def export_frame(table: pd.DataFrame, info: display.ReportInfo | None = None) -> pd.DataFrame:
    """The table as a file holds it: :func:`fbtime.export.people_frame` (every row)."""
    return people_frame(display.report(table, currency=info.currency if info else None))


# -- the chart ------------------------------------------------------------------------------
def _labels(table: pd.DataFrame, group_by: str) -> list[str]:
    column = table.get(analysis.GROUPS[group_by][1])
    names = None if column is None else [None if n == "nan" else n for n in column.tolist()]
    return label_groups(list(table.index), names, f"<no {group_by}>", f"{group_by} {{}}")


def _draw(ax: Any, table: pd.DataFrame, group_by: str, week_start: str) -> None:
    billed = table["billed_hours"].to_numpy(dtype=float, na_value=0.0)
    unbilled = table["unbilled_hours"].to_numpy(dtype=float, na_value=0.0)
    other = table["hours"].to_numpy(dtype=float, na_value=0.0) - billed - unbilled
    stacks = [("billed", billed), ("unbilled", unbilled), ("non-billable", other)]
    if group_by == "week":  # bars on a date axis: matplotlib places readable ticks
        middle = pd.DatetimeIndex(table.index) + pd.Timedelta(days=3.5)
        status_bars(ax, mdates.date2num(middle.to_pydatetime()), stacks, width=6.0)
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_ylabel("hours")
    else:
        pos = np.arange(len(table))
        status_bars(ax, pos, stacks, horizontal=True)
        ax.set_yticks(pos, _labels(table, group_by), fontsize=8)
        ax.set_xlabel("hours")
    ax.tick_params(labelsize=8)
    weekly = f"Hours by week ({week_start.title()} start)"
    title = weekly if group_by == "week" else f"Hours by {group_by}"
    ax.set_title(title if len(table) else "No entries match", fontsize=10)
    if len(table):
        ax.legend(fontsize=8, **LEGEND_OUTSIDE)


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
