"""Selections, summaries, periods and totals over a time-entry frame.

Every function takes a typed time-entry frame (see :mod:`fbtime.schema`) and returns a
new object; none of them modifies its input. The accessor (``df.fbtime``) delegates here.

Which rows count (decided once, used everywhere):

* *counted* entries feed every summary (``by_*``, ``by_period``, ``utilization`` and the
  hours of ``totals``): logged (``is_logged``), active (not deleted) and with a duration.
  Running timers and deleted entries are left out, because their hours are either
  unknown yet or no longer real.
* ``totals().total_logged_seconds`` / ``total_unbilled_seconds`` follow the server's
  ``meta`` instead: every logged row of the loaded set, deleted ones included, so the two
  can be compared with the numbers recorded at load time.
* Missing flags are read safely: an NA ``active`` is active, NA ``billable``/``billed``/
  ``is_logged``/``internal`` are False.

Money: after ``with_rates`` (:mod:`fbtime.rates`) the summaries gain ``billable_amount``,
``unbilled_amount`` and ``billed_amount`` (exact decimals, :data:`fbtime.money.MONEY`,
sums of the per-entry cents of the same counted rows as the hours) and
``missing_rate_hours`` (billable hours no rate was found for, so left out of the amounts).

Weeks start when the business says (:mod:`fbtime.weeks`): ``by_period("W")`` and
``utilization`` take ``week_start="monday"|"sunday"``, default the start the load
recorded (Monday when the frame does not say), and name it in ``attrs["week_start"]``.

Timers (:func:`timers`): FreshBooks keeps a timer as unlogged segments sharing one
``timer_id``; a running one has an open segment (no duration), a paused one only closed
ones. Their time is in no logged total until the timer is logged.

Honest totals: every view counts the same rows and keeps every group. The NA group ("no
client") is a row of its own in ``by_*``, a column in ``by_period(by=...)`` and a row in
``aging(by=...)``; entries dated after the aging clock are the ``future`` bucket. So
``by_client``, ``by_period`` and ``aging`` add up to ``totals()`` exactly (money) or to
float precision (hours).
"""

from __future__ import annotations

import difflib
import unicodedata
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

from fbtime import display
from fbtime.api.query import to_utc
from fbtime.clock import now as current_time
from fbtime.display import no_group, unknown_teammate
from fbtime.errors import QueryError
from fbtime.money import MONEY, total
from fbtime.rounding import LOGGED_COLUMN, rounding_of
from fbtime.weeks import WEEK_STARTS, anchor, frame_week_start

#: group name -> (id column, name column)
GROUPS: dict[str, tuple[str, str]] = {
    "client": ("client_id", "client_name"),
    "project": ("project_id", "project_name"),
    "service": ("service_id", "service_name"),
    "teammate": ("identity_id", "teammate_name"),
}
SUMMARY_COLUMNS: tuple[str, ...] = (
    "entries",
    "hours",
    "billable_hours",
    "unbilled_hours",
    "billed_hours",
    "billable_ratio",
    "first_date",
    "last_date",
)
#: Amount columns of the summaries (when the frame has amounts), after SUMMARY_COLUMNS.
AMOUNT_COLUMNS: tuple[str, ...] = (
    "billable_amount",
    "unbilled_amount",
    "billed_amount",
    "missing_rate_hours",
)
#: Age buckets of unbilled time, in days since the entry started; ``future``: after "now".
AGE_BUCKETS: tuple[str, ...] = ("future", "0–30", "31–60", "61–90", "90+")
_PERIODS = {"D": "D", "W": "W", "M": "MS"}
_NAME_FIELDS = ("name", "organization", "title")

Freq = Literal["D", "W", "M"]
Group = Literal["client", "project", "service", "teammate"]


# -- masks --------------------------------------------------------------------------------
def flag(frame: pd.DataFrame, column: str, *, missing: bool = False) -> np.ndarray:
    """Return a boolean column as a numpy mask, reading NA as ``missing``."""
    return frame[column].to_numpy(dtype=bool, na_value=missing)


def active_mask(frame: pd.DataFrame) -> np.ndarray:
    """Rows that are not deleted (NA ``active`` counts as active)."""
    return flag(frame, "active", missing=True)


def running_mask(frame: pd.DataFrame) -> np.ndarray:
    """Open timers: not logged (or timer running) and no duration yet."""
    open_timer = ~flag(frame, "is_logged") | flag(frame, "timer_is_running")
    return open_timer & frame["duration"].isna().to_numpy()


def counted_mask(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose hours feed the summaries: logged, active, with a duration."""
    has_duration = frame["duration"].notna().to_numpy()
    return flag(frame, "is_logged") & active_mask(frame) & has_duration


def unbilled_mask(frame: pd.DataFrame) -> np.ndarray:
    """Counted, billable and not yet billed rows."""
    return counted_mask(frame) & flag(frame, "billable") & ~flag(frame, "billed")


def select(frame: pd.DataFrame, mask: np.ndarray | pd.Series) -> pd.DataFrame:
    """Return the rows under ``mask``; the server's load totals are dropped from attrs.

    The ``meta`` totals describe the whole load, so a subset keeps the other load facts
    but not them (``totals().agrees`` is then None instead of a misleading False).
    """
    out = frame.loc[np.asarray(mask, dtype=bool)]
    info = frame.attrs.get("fbtime")
    if isinstance(info, dict):
        out.attrs = {
            **frame.attrs,
            "fbtime": {k: v for k, v in info.items() if k != "meta"},
        }
    return out


# -- time ---------------------------------------------------------------------------------
def resolve_tz(frame: pd.DataFrame, tz: str | None = None) -> str:
    """Pick the zone to bucket in: ``tz``, else the most common ``local_timezone``, else UTC."""
    if tz is None:
        zones = frame["local_timezone"].dropna() if "local_timezone" in frame else None
        zones = zones[zones != ""] if zones is not None else None
        tz = str(zones.value_counts().index[0]) if zones is not None and len(zones) else "UTC"
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise QueryError(
            f"unknown time zone {tz!r}; use an IANA name like 'America/Toronto'"
        ) from exc
    return tz


def local_day(frame: pd.DataFrame, tz: str) -> pd.Series:
    """Local calendar day (naive midnight) of each ``started_at`` in zone ``tz``."""
    return frame["started_at"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()


def period_start(day: pd.Series, freq: str, week_start: str = "monday") -> pd.Series:
    """Start of the day's period: the day, its week's first day, or the 1st of its month."""
    if freq not in _PERIODS:
        raise QueryError(f"freq must be one of {', '.join(_PERIODS)}, got {freq!r}")
    if freq == "W":
        back = (day.dt.day_of_week - WEEK_STARTS[week_start]) % 7
        return day - pd.to_timedelta(back, unit="D")
    if freq == "M":
        return day - pd.to_timedelta(day.dt.day - 1, unit="D")
    return day


# -- selections ---------------------------------------------------------------------------
def between(frame: pd.DataFrame, start: Any = None, end: Any = None) -> pd.DataFrame:
    """Entries with ``start <= started_at < end``; either bound may be None (open)."""
    mask = np.ones(len(frame), dtype=bool)
    started = frame["started_at"]
    lo = pd.Timestamp(to_utc(start, "start")) if start is not None else None
    hi = pd.Timestamp(to_utc(end, "end")) if end is not None else None
    if lo is not None and hi is not None and hi < lo:
        raise QueryError(f"end {hi} is before start {lo}")
    if lo is not None:
        mask &= (started >= lo).to_numpy(dtype=bool, na_value=False)
    if hi is not None:
        mask &= (started < hi).to_numpy(dtype=bool, na_value=False)
    return select(frame, mask)


def _flatten(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, list | tuple | set | frozenset | pd.Series | pd.Index | np.ndarray):
            out.extend(value)
        else:
            out.append(value)
    return out


def _folded(name: str) -> str:
    """A name compared without case or accents (``Zoë`` is ``zoe``), for suggestions only."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def name_ids(frame: pd.DataFrame, group: Group, names: list[str]) -> list[int]:
    """The one id each name stands for in ``frame``; a name is never a guess.

    Raises:
        QueryError: a name shared by several ids (it lists them: select by id), or a name
            no entry has (exact match: it names the closest names the frame has).
    """
    id_col, name_col = GROUPS[group]
    pairs = frame.loc[frame[name_col].notna().to_numpy(), [id_col, name_col]].drop_duplicates()
    known: dict[str, list[int]] = {}
    for key, name in pairs.itertuples(index=False):
        if not pd.isna(key):
            known.setdefault(str(name), []).append(int(key))
    out: list[int] = []
    for name in names:
        ids = sorted(known.get(name, []))
        if len(ids) > 1:
            raise QueryError(
                f"{group} name {name!r} is shared by {len(ids)} {group}s (ids "
                f"{', '.join(map(str, ids))}); select by id, e.g. for_{group}({ids[0]})"
            )
        if not ids:
            folded: dict[str, str] = {}
            for other in known:
                folded.setdefault(_folded(other), other)
            close = difflib.get_close_matches(_folded(name), list(folded), n=3, cutoff=0.6)
            hint = (
                "; did you mean " + " or ".join(repr(folded[c]) for c in close) + "?"
                if close else f"; the frame has {len(known)} {group} names"
            )  # fmt: skip
            raise QueryError(f"no {group} named {name!r} in these entries (names match "
                             f"exactly){hint}")  # fmt: skip
        out.append(ids[0])
    return out


def for_group(frame: pd.DataFrame, group: Group, values: Iterable[Any]) -> pd.DataFrame:
    """Entries of the given ids, names (when the name column exists) or None (no group).

    A name must name exactly one id among the entries (see :func:`name_ids`): a shared
    or unknown name raises rather than selecting too much or nothing.
    """
    id_col, name_col = GROUPS[group]
    ids, names, want_na = [], [], False
    for value in _flatten(values):
        if value is None or value is pd.NA:
            want_na = True
        elif isinstance(value, bool):
            raise QueryError(f"{group} must be an id or a name, got {value!r}")
        elif isinstance(value, int | np.integer):
            ids.append(int(value))
        elif isinstance(value, str):
            names.append(value)
        else:
            raise QueryError(f"{group} must be an id or a name, got {value!r}")
    if names:
        if name_col not in frame:
            raise QueryError(
                f"selecting by {group} name needs a {name_col!r} column; "
                f"add it with df.fbtime.with_names(...) or pass ids"
            )
        ids += name_ids(frame, group, names)
    mask = frame[id_col].isin(ids).to_numpy(dtype=bool, na_value=False)
    if want_na:
        mask |= frame[id_col].isna().to_numpy()
    return select(frame, mask)


# -- names --------------------------------------------------------------------------------
NameSource = Mapping[int, str] | pd.Series | pd.DataFrame | Callable[[], Any] | None


def _name_series(source: NameSource, what: str) -> pd.Series:
    if callable(source) and not isinstance(source, pd.Series | pd.DataFrame):
        source = source()
    if isinstance(source, pd.DataFrame):
        table = source.set_index("id") if "id" in source.columns else source
        field = next((f for f in _NAME_FIELDS if f in table.columns), None)
        if field is None and {"first_name", "last_name"} <= set(table.columns):
            full = table["first_name"].fillna("") + " " + table["last_name"].fillna("")
            return full.str.strip()
        if field is None:
            raise QueryError(
                f"{what} frame needs a name column ({', '.join(_NAME_FIELDS)}); "
                f"it has {', '.join(map(str, table.columns))}"
            )
        return table[field]
    if isinstance(source, pd.Series):
        return source
    if isinstance(source, Mapping):
        return pd.Series(dict(source), dtype=object)
    raise QueryError(f"{what} names must be a dict, Series, DataFrame or callable")


def with_names(frame: pd.DataFrame, **sources: NameSource) -> pd.DataFrame:
    """Return a copy with ``<group>_name`` columns mapped from id->name sources.

    ``sources`` keys are ``clients``, ``projects``, ``services``, ``teammates`` or ``team``
    (``fbtime.load_team(client)``: teammate names, and ``Unknown (<id>)`` for an id no
    team list names, such as a former teammate); a None source leaves that column out (or
    as it already is). With ``teammates`` an unnamed id stays NA (charts show the id).
    """
    out = frame.copy()
    for key, source in sources.items():
        if source is None:
            continue
        if key not in ("clients", "projects", "services", "teammates", "team"):
            raise QueryError(
                f"unknown name source {key!r}; use clients, projects, services, teammates or team"
            )
        group = "teammate" if key == "team" else key.removesuffix("s")
        id_col, name_col = GROUPS[group]
        names = _name_series(source, key)
        names = names.set_axis(pd.Index(names.index).astype("Int64")).astype("str")
        names = names[~names.index.duplicated() & names.notna().to_numpy()]
        mapped = out[id_col].map(names).astype("str")
        if key == "team":
            ids = out[id_col]
            unknown = mapped.isna().to_numpy() & ids.notna().to_numpy()
            if unknown.any():
                labels = {i: unknown_teammate(i) for i in ids[unknown].unique()}
                mapped = mapped.where(~unknown, ids.map(labels)).astype("str")
        out[name_col] = mapped
    return out


# -- summaries ----------------------------------------------------------------------------
def has_amounts(frame: pd.DataFrame) -> bool:
    """True when the frame carries per-entry amounts (``with_rates`` was applied)."""
    return "amount" in frame and frame["amount"].dtype == MONEY and "rate_source" in frame


def hours_frame(frame: pd.DataFrame, tz: str, keep: Iterable[str] = ()) -> pd.DataFrame:
    """Counted rows with per-row hour columns (plus ``keep`` columns); base of summaries.

    With amounts (:func:`has_amounts`) it also has :data:`AMOUNT_COLUMNS` per row: the
    amount where billable / unbilled / billed (NA elsewhere, so sums skip it), and the
    billable hours whose rate is missing.
    """
    keep = [column for column in dict.fromkeys(keep) if column in frame]
    money = has_amounts(frame)
    extra = ["amount", "rate_source"] if money else []
    needed = list(dict.fromkeys(["duration", "billable", "billed", "started_at", *extra, *keep]))
    sub = frame[needed].loc[counted_mask(frame)]  # take only the columns used
    hours = sub["duration"].to_numpy(dtype=float, na_value=0.0) / 3600.0
    billable, billed = flag(sub, "billable"), flag(sub, "billed")
    columns: dict[str, Any] = {
        "hours": hours,
        "billable_hours": np.where(billable, hours, 0.0),
        "unbilled_hours": np.where(billable & ~billed, hours, 0.0),
        "billed_hours": np.where(billed, hours, 0.0),
    }
    if money:
        amount = sub["amount"]
        missing = (sub["rate_source"] == "missing").to_numpy(dtype=bool, na_value=False)
        columns |= {
            "billable_amount": amount.where(billable),
            "unbilled_amount": amount.where(billable & ~billed),
            "billed_amount": amount.where(billed),
            "missing_rate_hours": np.where(billable & missing, hours, 0.0),
        }
    columns |= {"day": local_day(sub, tz), **{column: sub[column] for column in keep}}
    return pd.DataFrame(columns, index=sub.index)


def _money_columns(work: pd.DataFrame) -> list[str]:
    return [c for c in AMOUNT_COLUMNS if c in work]


def summarize_by(frame: pd.DataFrame, group: Group, *, tz: str | None = None) -> pd.DataFrame:
    """Hours per client/project/service/teammate over counted entries.

    Returns a frame indexed by the group's id column (``Int64``; the NA row means "no
    client" etc.), sorted by hours descending, with the group's name column first when
    the frame has names, then :data:`SUMMARY_COLUMNS`, then (with amounts)
    :data:`AMOUNT_COLUMNS` and ``currency``.
    """
    id_col, name_col = GROUPS[group]
    tz = resolve_tz(frame, tz)
    work = hours_frame(frame, tz, keep=(id_col, name_col))
    money = _money_columns(work)
    grouped = work.groupby(id_col, dropna=False, sort=True)
    out = grouped.agg(
        entries=("hours", "size"),
        hours=("hours", "sum"),
        billable_hours=("billable_hours", "sum"),
        unbilled_hours=("unbilled_hours", "sum"),
        billed_hours=("billed_hours", "sum"),
        first_date=("day", "min"),
        last_date=("day", "max"),
        **{column: (column, "sum") for column in money},
    )
    floats = [*SUMMARY_COLUMNS[1:5], *(["missing_rate_hours"] if money else [])]
    out = out.astype({"entries": "Int64"} | {c: "Float64" for c in floats})
    out["billable_ratio"] = (out["billable_hours"] / out["hours"].replace(0.0, pd.NA)).astype(
        "Float64"
    )
    out.index = out.index.astype("Int64")
    out = out[[*SUMMARY_COLUMNS, *money]]
    if money:
        out["currency"] = pd.Series(amounts_currency(frame), index=out.index, dtype="str")
    if name_col in work:
        names = grouped[name_col].first()
        out.insert(0, name_col, names.set_axis(out.index).astype("str"))
    return out.sort_values("hours", ascending=False, kind="stable")


#: What ``by_period(by=...)`` and ``aging(by=...)`` can put in the cells.
VALUES: tuple[str, ...] = (
    "hours", "billable_hours", "unbilled_hours", "billed_hours",
    "billable_amount", "unbilled_amount", "billed_amount",
)  # fmt: skip


def _check_values(values: str, work: pd.DataFrame, allowed: Iterable[str] = VALUES) -> None:
    allowed = tuple(allowed)
    if values not in allowed:
        raise QueryError(f"values must be one of {', '.join(allowed)}, got {values!r}")
    if values.endswith("_amount") and values not in work:
        raise QueryError(f"values={values!r} needs amounts; add them with df.fbtime.with_rates()")


def by_period(
    frame: pd.DataFrame,
    freq: Freq = "W",
    by: Group | None = None,
    tz: str | None = None,
    values: str = "hours",
    *,
    week_start: str | None = None,
) -> pd.DataFrame:
    """Hours (and money) per local period, zero-filled and gap-free.

    The index ``period`` holds each period's local start (naive). Weeks start on
    ``week_start`` (``"monday"`` or ``"sunday"``; default: the business's, as the load
    recorded it, see :mod:`fbtime.weeks`), named in ``attrs["week_start"]``.
    Without ``by`` the columns are ``hours``, ``billable_hours``, ``unbilled_hours``,
    ``billed_hours`` and, with amounts, :data:`AMOUNT_COLUMNS`. With ``by`` there is one
    column per group holding ``values`` (see :data:`VALUES`); columns are group ids, or
    names when the name column exists (``"<no client>"`` etc. for the NA group).
    """
    start = frame_week_start(frame, week_start)
    tz = resolve_tz(frame, tz)
    if by is not None and by not in GROUPS:
        raise QueryError(f"by must be None or one of {', '.join(GROUPS)}, got {by!r}")
    id_col, name_col = GROUPS[by] if by is not None else ("", "")
    work = hours_frame(frame, tz, keep=(id_col, name_col) if by is not None else ())
    _check_values(values, work)
    work["period"] = period_start(work["day"], freq, start)
    money = _money_columns(work)
    if by is None:
        columns = ["hours", "billable_hours", "unbilled_hours", "billed_hours", *money]
        table = work.groupby("period")[columns].sum()
    else:
        key = work[id_col]
        if name_col in work:
            ids = work[id_col].astype("str").fillna(no_group(by))
            key = work[name_col].fillna(ids).astype("str")
        work["group"] = key
        table = work.groupby(["period", "group"], dropna=False)[values].sum().unstack(fill_value=0)
        table.columns.name = by
    if len(table):
        step = anchor(start) if freq == "W" else _PERIODS[freq]
        full = pd.date_range(table.index.min(), table.index.max(), freq=step)
        table = table.reindex(full)
    table.index.name = "period"
    out = _fill_zero(table)
    if freq == "W":
        out.attrs["week_start"] = start
    return out


def _fill_zero(table: pd.DataFrame) -> pd.DataFrame:
    """Hours as ``Float64`` and money as exact decimals, with empty cells 0."""
    out = table.copy()
    for column in out.columns:
        if out[column].dtype == MONEY:
            out[column] = out[column].fillna(0)
        elif pd.api.types.is_integer_dtype(out[column].dtype):
            out[column] = out[column].astype("Int64").fillna(0)
        else:
            out[column] = out[column].astype("Float64").fillna(0.0)
    return out


def utilization(
    frame: pd.DataFrame,
    target_hours_per_week: float = 40,
    tz: str | None = None,
    *,
    week_start: str | None = None,
) -> pd.DataFrame:
    """Per teammate and local week: hours, billable hours, billable_hours / target.

    Weeks start as in :func:`by_period` (named in ``attrs["week_start"]``). Weeks in
    which a teammate logged nothing are not listed.
    """
    if not target_hours_per_week or target_hours_per_week <= 0:
        raise QueryError(f"target_hours_per_week must be > 0, got {target_hours_per_week!r}")
    start = frame_week_start(frame, week_start)
    tz = resolve_tz(frame, tz)
    work = hours_frame(frame, tz, keep=("identity_id", "teammate_name"))
    work["week"] = period_start(work["day"], "W", start)
    out = work.groupby(["identity_id", "week"], dropna=False)[["hours", "billable_hours"]].sum()
    out = out.astype("Float64")
    out["utilization"] = (out["billable_hours"] / float(target_hours_per_week)).astype("Float64")
    if "teammate_name" in work:
        names = work.groupby("identity_id", dropna=False)["teammate_name"].first()
        ids = out.index.get_level_values("identity_id")
        out.insert(0, "teammate_name", names.reindex(ids).to_numpy())
    out.attrs["week_start"] = start
    return out


# -- timers -------------------------------------------------------------------------------
#: Columns of :func:`timers`.
TIMER_COLUMNS: tuple[str, ...] = (
    "timer_id", "first_id", "identity_id", "state", "segments", "hours", "started_at",
    "last_active",
)  # fmt: skip


def timers(frame: pd.DataFrame, now: Any = None) -> pd.DataFrame:
    """Timers not logged yet, one row per timer: ``running`` or ``paused``.

    A timer is the active, unlogged entries (segments) sharing a ``timer_id``; an
    unlogged entry without one is a timer of its own (``timer_id`` NA). It is running
    while a segment is open (no duration), else paused. ``hours`` is the timer's whole
    time: its closed segments plus the open one up to ``now`` (default
    :func:`fbtime.clock.now`); ``last_active`` is ``now`` for a running timer and the end
    of the last segment for a paused one. ``first_id`` is the lowest entry id of the
    timer. Sorted by ``started_at``. Only a load with ``include_unlogged=True`` has them.
    """
    stamp = clock(now)
    mask = ~flag(frame, "is_logged") & active_mask(frame)
    rows = frame.loc[mask, ["identity_id", "started_at", "duration", "timer_id"]]
    ids = pd.Series(rows.index.to_numpy(dtype="int64"), index=rows.index)
    timer = rows["timer_id"].astype("Int64")
    seconds = rows["duration"].astype("Float64")
    is_open = seconds.isna().to_numpy()
    since = (stamp - rows["started_at"]).dt.total_seconds().clip(lower=0)
    ended = rows["started_at"] + pd.to_timedelta(seconds.fillna(0).to_numpy(), unit="s")
    work = pd.DataFrame({
        "key": timer.astype("str").where(timer.notna(), "entry " + ids.astype("str")),
        "timer_id": timer, "first_id": ids, "identity_id": rows["identity_id"],
        "started_at": rows["started_at"], "open": is_open,
        "seconds": seconds.fillna(0.0).to_numpy() + np.where(is_open, since.to_numpy(), 0.0),
        "ended": ended.where(~is_open),
    })  # fmt: skip
    grouped = work.groupby("key", sort=False)
    out = grouped.agg(
        timer_id=("timer_id", "first"), first_id=("first_id", "min"),
        identity_id=("identity_id", "first"), running=("open", "any"),
        segments=("first_id", "size"), seconds=("seconds", "sum"),
        started_at=("started_at", "min"), ended=("ended", "max"),
    )  # fmt: skip
    running = out["running"].to_numpy(dtype=bool)
    table = pd.DataFrame({
        "timer_id": out["timer_id"].astype("Int64"), "first_id": out["first_id"].astype("Int64"),
        "identity_id": out["identity_id"].astype("Int64"),
        "state": pd.Series(np.where(running, "running", "paused"), index=out.index,
                           dtype="str"),
        "segments": out["segments"].astype("Int64"),
        "hours": (out["seconds"] / 3600).astype("Float64"),
        "started_at": out["started_at"],
        "last_active": out["ended"].where(~running, stamp),
    })  # fmt: skip
    table = table.sort_values(["started_at", "first_id"], kind="stable", ignore_index=True)
    return table[list(TIMER_COLUMNS)]


# -- totals -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Totals:
    """Frame totals, cross-checked against the server's ``meta`` recorded at load time.

    ``entries`` and the ``*_hours`` come from counted entries (see module docstring);
    ``total_*_seconds`` use the server's definition (all logged rows, deleted included).
    ``agrees`` is None when the frame has no recorded meta (e.g. a selection).
    With amounts, ``*_amount`` are exact sums of the per-entry cents of the counted rows
    (the same sums as the ``by_*`` views), in ``currency``; else they are None.
    """

    entries: int
    hours: float
    billable_hours: float
    unbilled_hours: float
    billed_hours: float
    total_logged_seconds: int
    total_unbilled_seconds: int
    server_total_logged: int | None
    server_total_unbilled: int | None
    agrees: bool | None
    billable_amount: Decimal | None = None
    unbilled_amount: Decimal | None = None
    billed_amount: Decimal | None = None
    missing_rate_hours: float | None = None
    currency: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """One-row frame of these totals."""
        return pd.DataFrame([asdict(self)])

    def __repr__(self) -> str:
        """The figures rounded, hours to 2 decimals and money with its currency."""
        return repr(display.show(self))

    def _repr_html_(self) -> str:
        return display.show(self)._repr_html_()


def totals(frame: pd.DataFrame) -> Totals:
    """Compute :class:`Totals` and compare them with ``attrs["fbtime"]["meta"]``."""
    work = hours_frame(frame, "UTC")
    logged = flag(frame, "is_logged")
    unbilled = logged & flag(frame, "billable") & ~flag(frame, "billed")
    # the server's totals are of the logged time, also when this frame's time is rounded
    kept = LOGGED_COLUMN if rounding_of(frame) is not None else "duration"
    seconds = frame[kept].to_numpy(dtype="int64", na_value=0)
    total_logged, total_unbilled = int(seconds[logged].sum()), int(seconds[unbilled].sum())
    info = frame.attrs.get("fbtime")
    meta = info.get("meta") if isinstance(info, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    server_logged, server_unbilled = meta.get("total_logged"), meta.get("total_unbilled")
    checks = [
        int(server) == mine
        for server, mine in ((server_logged, total_logged), (server_unbilled, total_unbilled))
        if server is not None
    ]
    money: dict[str, Any] = {}
    if "billable_amount" in work:
        money = {c: total(work[c]) for c in AMOUNT_COLUMNS[:3]}
        money["missing_rate_hours"] = float(work["missing_rate_hours"].sum())
        money["currency"] = amounts_currency(frame)
    return Totals(
        entries=len(work),
        hours=float(work["hours"].sum()),
        billable_hours=float(work["billable_hours"].sum()),
        unbilled_hours=float(work["unbilled_hours"].sum()),
        billed_hours=float(work["billed_hours"].sum()),
        total_logged_seconds=total_logged,
        total_unbilled_seconds=total_unbilled,
        server_total_logged=None if server_logged is None else int(server_logged),
        server_total_unbilled=None if server_unbilled is None else int(server_unbilled),
        agrees=all(checks) if checks else None,
        **money,
    )


def amounts_currency(frame: pd.DataFrame) -> str | None:
    """The currency of the frame's amounts: one code, or None when unknown."""
    if "currency" not in frame:
        return None
    codes = frame["currency"].dropna().unique()
    return str(codes[0]) if len(codes) == 1 else None


# -- aging --------------------------------------------------------------------------------
def age_bucket(started_at: pd.Series, now: pd.Timestamp) -> pd.Categorical[str]:
    """The age bucket of each start: ``future`` after ``now``, else by whole days elapsed."""
    elapsed = now - started_at
    days = elapsed.dt.days.to_numpy(dtype=float, na_value=np.nan)
    codes = np.select(
        [elapsed.to_numpy() < np.timedelta64(0), days <= 30, days <= 60, days <= 90],
        [0, 1, 2, 3],
        default=4,
    )
    return pd.Categorical.from_codes(
        np.asarray(codes, dtype=np.int64), categories=pd.Index(AGE_BUCKETS), ordered=True
    )


def future_mask(rows: pd.DataFrame) -> np.ndarray:
    """Entries whose local day (in the business's zone) is after the clock's today: time
    not worked yet, which neither ``mark_billed`` nor an invoice bills unless asked."""
    if not isinstance(rows["started_at"].dtype, pd.DatetimeTZDtype):
        return np.zeros(len(rows), dtype=bool)
    try:
        zone = resolve_tz(rows)
    except QueryError:  # a zone name from the account that is no zone: days in UTC
        zone = "UTC"
    today = clock().tz_convert(zone).tz_localize(None).normalize()
    return (local_day(rows, zone) > today).to_numpy(dtype=bool, na_value=False)


def clock(now: Any = None) -> pd.Timestamp:
    """``now`` as a UTC timestamp (default: :func:`fbtime.clock.now`); naive values are UTC."""
    stamp = pd.Timestamp(current_time() if now is None else now)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def aging(
    frame: pd.DataFrame,
    now: Any = None,
    *,
    by: Group | None = None,
    values: str = "unbilled_hours",
    tz: str | None = None,
) -> pd.DataFrame:
    """Unbilled billable time by age: ``future``, 0–30, 31–60, 61–90 and 90+ days.

    Counts the same rows as ``totals().unbilled_hours`` (counted, billable, not billed),
    so the buckets add up to it; entries dated after ``now`` are the ``future`` bucket,
    not dropped.

    Args:
        frame: a time-entry frame.
        now: the clock ages are measured from (default: :func:`fbtime.clock.now`).
        by: one row per client/project/service/teammate (the NA group is a row too),
            one column per bucket plus ``total``; None: one row per bucket.
        values: with ``by``, what the cells hold: ``unbilled_hours`` or (with amounts)
            ``unbilled_amount``.
        tz: zone of ``hours_frame``'s local days (unused by the buckets themselves).

    Returns:
        Without ``by``: indexed by ``age`` (every bucket, in order) with ``entries``,
        ``unbilled_hours`` and, with amounts, ``unbilled_amount``.
    """
    stamp = clock(now)
    if by is not None and by not in GROUPS:
        raise QueryError(f"by must be None or one of {', '.join(GROUPS)}, got {by!r}")
    id_col, name_col = GROUPS[by] if by is not None else ("", "")
    keep = ("started_at", "billable", "billed", *((id_col, name_col) if by else ()))
    work = hours_frame(frame, resolve_tz(frame, tz), keep=keep)
    work = work.loc[flag(work, "billable") & ~flag(work, "billed")]
    _check_values(values, work, ("unbilled_hours", "unbilled_amount"))
    work["age"] = age_bucket(work["started_at"], stamp)
    money = "unbilled_amount" in work
    if by is None:
        grouped = work.groupby("age", observed=False)
        out = grouped.agg(
            entries=("hours", "size"),
            unbilled_hours=("unbilled_hours", "sum"),
            **({"unbilled_amount": ("unbilled_amount", "sum")} if money else {}),
        )
        return _fill_zero(out.astype({"entries": "Int64"}))
    grouped = work.groupby([id_col, "age"], dropna=False, observed=False)[values].sum()
    table = grouped.unstack("age")
    table = table.reindex(columns=list(AGE_BUCKETS))
    table.columns = pd.Index([str(c) for c in table.columns], name="age")
    table = _fill_zero(table)
    table["total"] = table[list(AGE_BUCKETS)].sum(axis=1)
    if table["total"].dtype != MONEY:
        table["total"] = table["total"].astype("Float64")
    table.index = table.index.astype("Int64")
    table.index.name = id_col
    if name_col in work:
        names = work.groupby(id_col, dropna=False)[name_col].first()
        table.insert(0, name_col, names.reindex(table.index).astype("str").to_numpy())
    return table.sort_values("total", ascending=False, kind="stable")
