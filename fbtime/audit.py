"""Audit rules: find time entries that need a person's attention before invoicing.

Each rule is a small function ``rule_xxx(frame, ctx) -> DataFrame`` registered in
:data:`RULES` by name. It returns one row per finding with :data:`RULE_COLUMNS`:
``rule``, ``id`` (entry id, NA for a finding about a day or a client), ``teammate`` and
``client`` (name when the frame has names, else a label such as ``client 78930``),
``detail`` and ``severity``, an ordered categorical (``info < warning < error``,
:data:`SEVERITY`): ``audit()`` sorts errors first, and ``findings["severity"].max()`` is
the worst one present. ``audit()`` adds what a person needs to work from a finding
(:data:`FINDING_COLUMNS`): the entry's local ``date`` (the day, for ``missing_day``), its
``hours`` and, when the frame has amounts, its ``amount``.

Money rules (:data:`MONEY_RULES`) need amounts (``df.fbtime.with_rates(...)``) and
``over_budget`` needs the rates (``audit(rates=...)``): a full audit skips the ones it
cannot run, and asking for one by name without what it needs is a QueryError.

Deleted entries are never findings; timers (unlogged entries, :func:`fbtime.analysis.timers`)
are only reported by ``running`` (its whole time so far) and ``paused_timer`` (time in
no total: one finding per timer, with its hours and how long it has been paused).
Rules never modify the frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from fbtime import display
from fbtime.analysis import (
    Totals,
    active_mask,
    clock,
    flag,
    has_amounts,
    local_day,
    period_start,
    resolve_tz,
    running_mask,
    summarize_by,
    timers,
    totals,
)
from fbtime.display import hours, id_label, money, to_text
from fbtime.errors import QueryError
from fbtime.money import MONEY
from fbtime.rates import Rates, budget, fixed_price_unbilled
from fbtime.rounding import LOGGED_COLUMN, describe, rounding_of
from fbtime.text import for_html, for_terminal
from fbtime.weeks import frame_week_start

#: What each rule returns, one row per finding.
RULE_COLUMNS: tuple[str, ...] = ("rule", "id", "teammate", "client", "detail", "severity")
#: What ``audit()`` returns: the rules' columns with the entry's day and hours (and, with
#: amounts, ``amount`` after ``hours``).
FINDING_COLUMNS: tuple[str, ...] = (
    "rule", "id", "date", "teammate", "client", "hours", "detail", "severity",
)  # fmt: skip
#: Severity, ordered: ``findings["severity"].max()`` is the worst, and errors sort first.
SEVERITY = pd.CategoricalDtype(["info", "warning", "error"], ordered=True)
DEFAULT_UNBILLED_DAYS = 30
DEFAULT_MAX_HOURS = 12
#: Hours expected of a teammate on each workday (Monday to Friday) by ``under_logged``.
DEFAULT_EXPECTED_HOURS = 8.0
#: Expected hours per day: one number for everyone, or per teammate (identity id or name;
#: the key None sets everyone else's, else :data:`DEFAULT_EXPECTED_HOURS`).
ExpectedHours = float | Mapping[int | str | None, float]
#: Columns that make two entries "the same work" for the ``duplicate`` rule.
DUPLICATE_KEYS: tuple[str, ...] = (
    "identity_id",
    "started_at",
    "duration",
    "client_id",
    "project_id",
    "service_id",
    "note",
)


@dataclass(frozen=True)
class AuditContext:
    """Settings every rule can read: the audit's clock, thresholds and local zone."""

    now: pd.Timestamp
    unbilled_days: int = DEFAULT_UNBILLED_DAYS
    max_hours: float = DEFAULT_MAX_HOURS
    tz: str = "UTC"
    rates: Rates | None = None
    expected_hours: ExpectedHours = DEFAULT_EXPECTED_HOURS
    team: Mapping[int, str | None] | None = None
    week_start: str = "monday"


Rule = Callable[[pd.DataFrame, AuditContext], pd.DataFrame]


def _label(frame: pd.DataFrame, id_col: str, name_col: str) -> pd.Series:
    """Each row's name, else its id labelled (``client 78930``); NA for no group at all."""
    group = display.ID_COLUMNS[id_col]
    ids = frame[id_col]
    labels = pd.Series(
        [None if pd.isna(i) else id_label(group, i) for i in ids], index=frame.index, dtype="str"
    )
    return frame[name_col].fillna(labels).astype("str") if name_col in frame else labels


def findings(
    frame: pd.DataFrame, rule: str, detail: str | pd.Series, severity: str
) -> pd.DataFrame:
    """Build the finding rows of ``rule`` for every row of ``frame``."""
    detail = detail if isinstance(detail, pd.Series) else pd.Series(detail, index=frame.index)
    out = pd.DataFrame(
        {
            "rule": pd.Series(rule, index=frame.index, dtype="str"),
            "id": frame.index.astype("Int64").array,
            "teammate": _label(frame, "identity_id", "teammate_name"),
            "client": _label(frame, "client_id", "client_name"),
            "detail": detail.astype("str"),
            "severity": pd.Series(severity, index=frame.index, dtype=SEVERITY),
        }
    )
    return out.reset_index(drop=True)


#: Columns every finding row is labelled from.
LABEL_COLUMNS: tuple[str, ...] = ("identity_id", "client_id", "teammate_name", "client_name")
_NO_ID = "Int64"


def _settled(frame: pd.DataFrame, *columns: str, running: bool = False) -> pd.DataFrame:
    """Active logged entries (or only open timers, ``running``), with ``columns``.

    Unlogged entries are timer segments: only ``running`` and ``paused_timer`` report
    them. Only the label columns and ``columns`` are taken: copying every text column of
    a large frame would cost more than the rule itself.
    """
    wanted = dict.fromkeys([*LABEL_COLUMNS, *columns])
    unlogged = ~flag(frame, "is_logged", missing=True)
    settled = ~(running_mask(frame) | unlogged)
    mask = active_mask(frame) & (running_mask(frame) if running else settled)
    rows = frame[[c for c in wanted if c in frame]].loc[mask]
    if "duration" in wanted and rounding_of(frame) is not None:
        # a rounded frame (fbtime.rounding): rules judge the time as logged, not rounded
        rows = rows.assign(duration=frame.loc[mask, LOGGED_COLUMN])
    return rows


def _hours_text(seconds: pd.Series) -> pd.Series:
    return (seconds.astype("Float64") / 3600).round(2).astype("str")


def rule_running(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Open timers: their time is not logged, so it is in no total or invoice yet.

    One finding per open segment, with the timer's whole time so far (its closed
    segments and the open one, :func:`fbtime.analysis.timers`).
    """
    rows = _settled(frame, "started_at", "timer_id", running=True)
    if rows.empty:
        return findings(rows, "running", "", "warning")
    table = timers(frame, ctx.now)
    whole = table.loc[(table["state"] == "running").to_numpy() & table["timer_id"].notna()]
    whole = whole.set_index("timer_id")
    own = ((ctx.now - rows["started_at"]).dt.total_seconds() / 3600).astype("Float64")
    hours = rows["timer_id"].map(whole["hours"]).astype("Float64").fillna(own)
    parts = rows["timer_id"].map(whole["segments"]).astype("Int64").fillna(1)
    detail = "timer running for " + hours.round(1).astype("str") + " h"
    several = (parts > 1).to_numpy(dtype=bool)
    detail = detail.where(~several, detail + " in " + parts.astype("str") + " segments")
    return findings(rows, "running", detail, "warning")


def rule_paused_timer(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Paused timers never logged: time in no total or invoice, easy to forget.

    One finding per timer (``id``: its first segment), with its hours and how long it has
    been paused.
    """
    table = timers(frame, ctx.now)
    paused = table.loc[(table["state"] == "paused").to_numpy()]
    rows = frame.loc[paused["first_id"].to_numpy(dtype="int64"),
                     [c for c in LABEL_COLUMNS if c in frame]]  # fmt: skip
    days = ((ctx.now - paused["last_active"]).dt.total_seconds() / 86400).round(1)
    name = paused["timer_id"].astype("str").fillna("without id")
    detail = (
        "timer " + name + ": " + paused["hours"].round(2).astype("str") + " h in "
        + paused["segments"].astype("str") + " segment(s), not logged; paused "
        + days.astype("str") + " days"
    )  # fmt: skip
    return findings(rows, "paused_timer", detail.set_axis(rows.index), "warning")


def rule_billable_no_client(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Billable client work with no client cannot be invoiced (internal time: see below)."""
    rows = _settled(frame, "billable", "internal")
    no_client = rows["client_id"].isna().to_numpy()
    rows = rows.loc[flag(rows, "billable") & no_client & ~flag(rows, "internal")]
    return findings(rows, "billable_no_client", "billable but no client", "error")


def rule_internal_billable(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Internal time marked billable contradicts itself; one flag is wrong."""
    rows = _settled(frame, "internal", "billable")
    rows = rows.loc[flag(rows, "internal") & flag(rows, "billable")]
    return findings(rows, "internal_billable", "internal and billable at once", "error")


def rule_missing_note(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Entries without a note show up on invoices as unexplained time."""
    rows = _settled(frame, "note")
    blank = rows["note"].fillna("").str.strip() == ""
    return findings(rows.loc[blank.to_numpy()], "missing_note", "no note", "warning")


def rule_zero_duration(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Logged entries of 0 seconds are usually a timer stopped by mistake."""
    rows = _settled(frame, "duration")
    rows = rows.loc[(rows["duration"] == 0).to_numpy(dtype=bool, na_value=False)]
    return findings(rows, "zero_duration", "duration is 0 s", "warning")


def rule_negative_duration(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """A negative duration is corrupt data and breaks every sum."""
    rows = _settled(frame, "duration")
    rows = rows.loc[(rows["duration"] < 0).to_numpy(dtype=bool, na_value=False)]
    return findings(
        rows, "negative_duration", "duration " + rows["duration"].astype("str") + " s", "error"
    )


def rule_over_12h(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Entries longer than ``ctx.max_hours`` are usually a forgotten timer."""
    rows = _settled(frame, "duration")
    long = (rows["duration"] > ctx.max_hours * 3600).to_numpy(dtype=bool, na_value=False)
    rows = rows.loc[long]
    detail = _hours_text(rows["duration"]) + f" h (> {ctx.max_hours:g} h)"
    return findings(rows, "over_12h", detail, "warning")


def rule_overlap(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Entries of one teammate that overlap in time: the same hour billed twice.

    Sorted by teammate and start, an entry overlaps an earlier one when it starts before
    the latest end so far (a running max, so a long entry that contains several short
    ones is caught), and overlaps a later one when the next entry starts before it ends.
    Every member of every overlapping pair is reported. Entries without a positive
    duration or teammate take no part.
    """
    rows = _settled(frame, "duration", "started_at")
    ok = (rows["duration"] > 0).to_numpy(dtype=bool, na_value=False)
    rows = rows.loc[ok & rows["identity_id"].notna().to_numpy()]
    rows = rows.sort_values(["identity_id", "started_at"], kind="stable")
    who = rows["identity_id"]
    start = rows["started_at"]
    end = start + pd.to_timedelta(rows["duration"].astype("int64"), unit="s")
    ids = pd.Series(rows.index.to_numpy(dtype="int64"), index=rows.index, dtype="Int64")
    latest = end.groupby(who).cummax()
    # who holds the latest end so far: the earlier entry a later one overlaps
    holder = ids.where(end == latest).groupby(who).ffill()
    prev_end, prev_holder = latest.groupby(who).shift(1), holder.groupby(who).shift(1)
    next_start, next_id = start.groupby(who).shift(-1), ids.groupby(who).shift(-1)
    after = (start < prev_end).to_numpy(dtype=bool, na_value=False)
    before = (next_start < end).to_numpy(dtype=bool, na_value=False)
    other = prev_holder.astype("str").where(after, next_id.astype("str"))
    hit = after | before
    detail = "overlaps entry " + other[hit]
    return findings(rows.loc[hit], "overlap", detail, "error").sort_values("id", ignore_index=True)


def rule_duplicate(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Entries identical in teammate, start, duration, client, project, service and note.

    Missing and blank notes count as the same note. All members of a group are reported.
    """
    rows = _settled(frame, *DUPLICATE_KEYS)
    keys = rows[list(DUPLICATE_KEYS)].assign(note=rows["note"].fillna("").str.strip())
    dup = keys.duplicated(keep=False).to_numpy()
    rows, keys = rows.loc[dup], keys.loc[dup]
    group = keys.groupby(list(DUPLICATE_KEYS), dropna=False, sort=False)
    ids = pd.Series(rows.index.to_numpy(dtype="int64"), index=rows.index)
    size = (
        group.size().reindex(pd.MultiIndex.from_frame(keys)).set_axis(rows.index)
        if len(rows)
        else pd.Series(dtype="int64")
    )
    first = ids.groupby(group.ngroup()).transform("min") if len(rows) else ids
    detail = "1 of " + size.astype("str") + " identical entries; first id " + first.astype("str")
    return findings(rows, "duplicate", detail, "error")


def rule_future(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Entries that start after the audit's ``now``: a wrong date, usually the year."""
    rows = _settled(frame, "started_at")
    rows = rows.loc[(rows["started_at"] > ctx.now).to_numpy(dtype=bool, na_value=False)]
    detail = "starts " + rows["started_at"].dt.strftime("%Y-%m-%d %H:%M UTC") + ", in the future"
    return findings(rows, "future", detail, "warning")


def rule_old_unbilled(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Billable logged time still unbilled after ``ctx.unbilled_days``: money left behind."""
    rows = _settled(frame, "is_logged", "billable", "billed", "started_at")
    unbilled = flag(rows, "is_logged") & flag(rows, "billable") & ~flag(rows, "billed")
    elapsed = ctx.now - rows["started_at"]
    age = elapsed.dt.days
    limit = pd.Timedelta(days=ctx.unbilled_days)
    old = unbilled & (elapsed > limit).to_numpy(dtype=bool, na_value=False)
    detail = "unbilled for " + age[old].astype("str") + " days"
    return findings(rows.loc[old], "old_unbilled", detail, "warning")


def rule_missing_day(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Weekdays with no time logged by a teammate between their first and last logged day.

    Days are local days in ``ctx.tz``, and only days already over (before today) count.
    One finding per teammate and day, with ``id`` NA.
    """
    rows = _settled(frame, "is_logged", "started_at")
    rows = rows.loc[flag(rows, "is_logged") & rows["identity_id"].notna().to_numpy()]
    days = pd.DataFrame({"who": rows["identity_id"], "day": local_day(rows, ctx.tz)})
    logged = days.drop_duplicates()
    span = logged.groupby("who")["day"].agg(["min", "max"])
    count = ((span["max"] - span["min"]).dt.days + 1).to_numpy(dtype="int64")
    who = np.repeat(span.index.to_numpy(dtype="int64"), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    day = np.repeat(span["min"].to_numpy(), count) + offset.astype("timedelta64[D]")
    every = pd.DataFrame({"who": pd.array(who, dtype="Int64"), "day": day})
    today = pd.Timestamp(ctx.now).tz_convert(ctx.tz).tz_localize(None).normalize()
    every = every.loc[(every["day"].dt.day_of_week.to_numpy() < 5) & (every["day"] < today)]
    seen = pd.MultiIndex.from_frame(logged)
    gaps = every.loc[~pd.MultiIndex.from_frame(every).isin(seen)]
    names = (
        rows.groupby("identity_id")["teammate_name"].first() if "teammate_name" in rows else None
    )
    teammate = gaps["who"].map(lambda who: id_label("teammate", who)).astype("str")
    if names is not None:
        teammate = gaps["who"].map(names).fillna(teammate)
    out = pd.DataFrame(
        {
            "rule": "missing_day",
            "id": pd.array([pd.NA] * len(gaps), dtype="Int64"),
            "teammate": teammate.to_numpy(),
            "client": pd.array([pd.NA] * len(gaps), dtype="str"),
            "detail": "no time logged on " + gaps["day"].dt.strftime("%a %Y-%m-%d").to_numpy(),
            "severity": "info",
            "date": gaps["day"].to_numpy(),  # the day the finding is about
        }
    )
    return out.astype({c: "str" for c in ("rule", "teammate", "detail")} | {"severity": SEVERITY})


def _expected(ctx: AuditContext, who: pd.Series, names: pd.Series) -> np.ndarray:
    """Hours a day each teammate is expected to log (by id, then by name, then default)."""
    table = ctx.expected_hours
    if not isinstance(table, Mapping):
        return np.full(len(who), float(table))
    default = float(table.get(None, DEFAULT_EXPECTED_HOURS))
    by_id = who.map({k: v for k, v in table.items() if isinstance(k, int)})
    by_name = names.map({k: v for k, v in table.items() if isinstance(k, str)})
    chosen = by_id.astype("Float64").fillna(by_name.astype("Float64")).fillna(default)
    return chosen.to_numpy(dtype=float)


_DAY = pd.Timedelta(days=1)


def _utc_day(stamp: str, seconds: int = 0) -> pd.Timestamp:
    """The date (naive midnight) of a load filter's UTC time (``+ seconds``): the date the
    user gave."""
    moment = pd.Timestamp(stamp) + pd.Timedelta(seconds=seconds)
    return moment.tz_convert("UTC").tz_localize(None).normalize()


def rule_under_logged(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Teammates who logged fewer hours in a week than expected, with the shortfall.

    Weeks start on the business's day (``week_start``); workdays are Monday to Friday,
    each expecting ``expected_hours_per_day`` (a number, or per teammate). The days
    counted run from the first day anyone logged time in the frame to the last day
    already over (before the audit's "now", in ``ctx.tz``), or to the load's
    ``started_to``: a week not over yet expects only its days so far. A teammate of the
    team list (``audit(team=...)``) who logged nothing is found too; without it, only
    teammates with time in the frame are. One finding per teammate and week, ``id`` NA.
    """
    rows = _settled(frame, "is_logged", "started_at", "duration")
    rows = rows.loc[flag(rows, "is_logged") & rows["identity_id"].notna().to_numpy()]
    day = local_day(rows, ctx.tz)
    today = pd.Timestamp(ctx.now).tz_convert(ctx.tz).tz_localize(None).normalize()
    last = today - pd.Timedelta(days=1)
    if day.empty:
        return empty_findings()
    first = day.min()
    info = frame.attrs.get("fbtime")
    loaded = (info.get("filters") or {}) if isinstance(info, dict) else {}
    if isinstance(loaded.get("started_from"), str):  # the dates the load asked for
        first = _utc_day(loaded["started_from"])
    if isinstance(loaded.get("started_to"), str):  # its last whole day
        last = min(last, _utc_day(loaded["started_to"], 1) - _DAY)
    if first > last:
        return empty_findings()
    days = pd.Series(pd.date_range(first, last, freq="D"))
    days = days.loc[(days.dt.day_of_week < 5).to_numpy()]
    weeks = period_start(days, "W", ctx.week_start).value_counts().sort_index()
    team = dict(ctx.team or {})
    seen = rows.groupby("identity_id")["teammate_name"].first() if "teammate_name" in rows else None
    ids = sorted(set(team) | set(rows["identity_id"].astype("int64")))
    if weeks.empty or not ids:
        return empty_findings()
    names = pd.Series({i: team.get(i) for i in ids}, dtype="str")
    if seen is not None:
        names = names.fillna(pd.Series(seen.to_numpy(), index=seen.index.astype("int64")))
    grid = pd.MultiIndex.from_product([ids, weeks.index], names=["who", "week"]).to_frame(False)
    inside = ((day >= days.min()) & (day <= last)).to_numpy(dtype=bool)
    logged = (
        pd.DataFrame({
            "who": rows["identity_id"].astype("int64").to_numpy()[inside],
            "week": period_start(day[inside], "W", ctx.week_start).to_numpy(),
            "seconds": rows["duration"].to_numpy(dtype="float64", na_value=0.0)[inside],
        })
        .groupby(["who", "week"])["seconds"].sum()
    )  # fmt: skip
    key = pd.MultiIndex.from_frame(grid)
    hours = logged.reindex(key, fill_value=0.0).to_numpy() / 3600
    workdays = grid["week"].map(weeks).to_numpy(dtype="int64")
    label = grid["who"].map(names).fillna(grid["who"].astype("str"))
    per_day = _expected(ctx, grid["who"], grid["who"].map(names))
    expected = per_day * workdays
    short = np.round(expected - hours, 6) > 0
    grid, label = grid.loc[short], label.loc[short]
    hours, expected, workdays = hours[short], expected[short], workdays[short]
    full = (grid["week"] + pd.Timedelta(days=7) <= today).to_numpy(dtype=bool)
    detail = [
        f"logged {h:,.2f} h of {e:,.2f} h expected in the week of {w:%a %Y-%m-%d} "
        f"({n} workday{'s' if n != 1 else ''}{'' if f else ' so far'}): {e - h:,.2f} h short"
        for h, e, w, n, f in zip(hours, expected, grid["week"], workdays, full, strict=True)
    ]
    n = len(detail)
    return pd.DataFrame(
        {
            "rule": pd.Series(["under_logged"] * n, dtype="str"),
            "id": pd.Series([None] * n, dtype=_NO_ID).array,
            "teammate": pd.Series(label.to_numpy(), dtype="str"),
            "client": pd.Series([pd.NA] * n, dtype="str"),
            "detail": pd.Series(detail, dtype="str"),
            "severity": pd.Series(["warning"] * n, dtype=SEVERITY),
        }
    )


# -- money rules (after with_rates) -------------------------------------------------------
def _billable_priced(frame: pd.DataFrame) -> pd.DataFrame:
    rows = _settled(frame, "billable", "rate", "rate_source", "project_id")
    return rows.loc[flag(rows, "billable")]


def rule_missing_rate(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Billable time with no rate: its amount is unknown and left out of every money total."""
    rows = _billable_priced(frame)
    rows = rows.loc[(rows["rate_source"] == "missing").to_numpy(dtype=bool, na_value=False)]
    detail = "billable but no rate found (give it with standard_rate= or overrides=)"
    return findings(rows, "missing_rate", detail, "error")


def rule_zero_rate(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Billable time at a rate of 0.00: a real rate, but rarely the intended one."""
    rows = _billable_priced(frame)
    zero = (rows["rate"] == 0).to_numpy(dtype=bool, na_value=False)
    rows = rows.loc[zero]
    detail = "billable at a rate of 0.00 (" + rows["rate_source"].astype("str") + ")"
    return findings(rows, "zero_rate", detail, "warning")


def rule_fixed_price_billable(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Billable entries on a fixed-price project: that time is not billed by the hour."""
    rows = _billable_priced(frame)
    rows = rows.loc[(rows["rate_source"] == "fixed_price").to_numpy(dtype=bool, na_value=False)]
    detail = "billable time on a fixed-price project (valued at project level, not per hour)"
    return findings(rows, "fixed_price_billable", detail, "warning")


def _group_findings(rule: str, client: pd.Series, detail: pd.Series, severity: str) -> pd.DataFrame:
    """Findings about a client or project, not an entry: ``id`` and ``teammate`` are NA."""
    n = len(detail)
    return pd.DataFrame(
        {
            "rule": pd.Series([rule] * n, dtype="str"),
            "id": pd.Series([None] * n, dtype=_NO_ID).array,
            "teammate": pd.Series([pd.NA] * n, dtype="str"),
            "client": pd.Series(client.to_numpy(), dtype="str"),
            "detail": pd.Series(detail.to_numpy(), dtype="str"),
            "severity": pd.Series([severity] * n, dtype=SEVERITY),
        }
    )


def foreign_clients(frame: pd.DataFrame) -> tuple[tuple[Any, str, str], ...]:
    """Clients billed in another currency than the amounts': ``(client id, label, code)``.

    Empty without amounts or when either currency is unknown. Active, settled entries only.
    """
    if "client_currency" not in frame or "currency" not in frame:
        return ()
    rows = _settled(frame, "currency", "client_currency")
    theirs, ours = rows["client_currency"], rows["currency"]
    differs = (theirs.notna() & ours.notna() & (theirs != ours)).to_numpy(dtype=bool)
    rows = rows.loc[differs]
    if rows.empty:
        return ()
    first = rows.assign(label=_label(rows, "client_id", "client_name")).groupby("client_id")
    found = first[["label", "client_currency"]].first()
    return tuple(
        (int(i), str(name), str(code))
        for i, name, code in zip(found.index, found["label"], found["client_currency"], strict=True)
    )


def rule_foreign_currency(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """A client billed in another currency than the amounts: flagged, never converted.

    One finding per client with entries here; nothing when either currency is unknown.
    """
    found = foreign_clients(frame)
    if not found:
        return empty_findings(RULE_COLUMNS)
    rows = _settled(frame, "currency", "client_currency")
    ids = [i for i, _, _ in found]
    size = rows.loc[rows["client_id"].isin(ids).to_numpy(dtype=bool, na_value=False)]
    counts = size.groupby("client_id").size()
    ours = str(rows["currency"].dropna().iloc[0])
    detail = [
        f"billed in {code}; amounts are in {ours} and are not converted ({counts[i]} entries)"
        for i, _, code in found
    ]
    client = pd.Series([name for _, name, _ in found], dtype="str")
    return _group_findings("foreign_currency", client, pd.Series(detail, dtype="str"), "warning")


def rule_over_budget(frame: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Projects with entries here whose logged time is over their time budget.

    Logged time is the server's ``logged_duration`` (all of the project's time, from
    ``load_rates``), else this frame's hours on the project.
    """
    if ctx.rates is None:
        return empty_findings(RULE_COLUMNS)
    table = budget(frame, ctx.rates)
    live = set(frame.loc[active_mask(frame), "project_id"].dropna())
    over = table.loc[table["over_budget"].fillna(False).to_numpy(dtype=bool)]
    over = over.loc[[pid in live for pid in over.index]]
    if over.empty:
        return empty_findings(RULE_COLUMNS)
    names: dict[str, Any] = {}
    if "client_name" in frame:
        pairs = frame.loc[frame["client_id"].notna().to_numpy(), ["client_id", "client_name"]]
        names = dict(pairs.drop_duplicates("client_id").itertuples(index=False))
    client = over["client_id"].map(
        lambda c: names.get(c, id_label("client", c)) if pd.notna(c) else pd.NA
    )
    detail = [
        f"project {name!r} has {hours(logged)} h logged of a {hours(limit)} h budget "
        f"({float(used) * 100:.0f}%)"
        for name, logged, limit, used in zip(
            over["project_name"], over["logged_hours"], over["budget_hours"],
            over["budget_used"], strict=True,
        )
    ]  # fmt: skip
    return _group_findings("over_budget", client, pd.Series(detail, dtype="str"), "warning")


RULES: dict[str, Rule] = {
    "running": rule_running,
    "paused_timer": rule_paused_timer,
    "billable_no_client": rule_billable_no_client,
    "internal_billable": rule_internal_billable,
    "missing_note": rule_missing_note,
    "zero_duration": rule_zero_duration,
    "negative_duration": rule_negative_duration,
    "over_12h": rule_over_12h,
    "overlap": rule_overlap,
    "duplicate": rule_duplicate,
    "future": rule_future,
    "old_unbilled": rule_old_unbilled,
    "missing_day": rule_missing_day,
    "under_logged": rule_under_logged,
    "missing_rate": rule_missing_rate,
    "zero_rate": rule_zero_rate,
    "fixed_price_billable": rule_fixed_price_billable,
    "foreign_currency": rule_foreign_currency,
    "over_budget": rule_over_budget,
}
#: Rules that run only when asked for by name: ``under_logged`` needs the business's
#: expected hours, and part-time teams would drown in findings from a guessed 8 a day.
OPT_IN_RULES: tuple[str, ...] = ("under_logged",)
#: Rules that need amounts (``with_rates``); ``over_budget`` needs ``audit(rates=...)``.
MONEY_RULES: tuple[str, ...] = (
    "missing_rate", "zero_rate", "fixed_price_billable", "foreign_currency",
)  # fmt: skip


#: The dtype of each finding column (``str`` for the others).
FINDING_DTYPES: dict[str, Any] = {
    "id": "Int64", "severity": SEVERITY, "date": "datetime64[us]", "hours": "Float64",
    "amount": MONEY,
}  # fmt: skip


def empty_findings(columns: tuple[str, ...] = FINDING_COLUMNS) -> pd.DataFrame:
    """A findings frame with no rows and the documented dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=FINDING_DTYPES.get(c, "str")) for c in columns})


def _entry_facts(found: pd.DataFrame, frame: pd.DataFrame, tz: str) -> pd.DataFrame:
    """The findings with each entry's local day, hours and (with amounts) amount."""
    money = has_amounts(frame)
    ids = found["id"]
    known = ids.notna().to_numpy() & ids.isin(frame.index).to_numpy(dtype=bool, na_value=False)
    rows = frame.loc[ids[known].astype("int64").to_numpy(), ["started_at", "duration"]]
    day = pd.Series(pd.NaT, index=found.index, dtype="datetime64[us]")
    if "date" in found:  # a finding about a day (missing_day) says which itself
        day = pd.to_datetime(found["date"]).astype("datetime64[us]")
    day[known] = local_day(rows, tz).astype("datetime64[us]").to_numpy()
    spent = pd.Series(pd.NA, index=found.index, dtype="Float64")
    spent[known] = (rows["duration"].astype("Float64") / 3600).to_numpy()
    out = found[list(RULE_COLUMNS)].copy()
    out.insert(2, "date", day)
    out.insert(5, "hours", spent)
    if money:
        amount = pd.Series(pd.NA, index=found.index, dtype=MONEY)
        amount[known] = frame.loc[ids[known].astype("int64").to_numpy(), "amount"].to_numpy()
        out.insert(6, "amount", amount)
    return out


def _runnable(names: list[str], frame: pd.DataFrame, rates: Rates | None, asked: bool) -> list:
    """The rules that can run; a rule asked for by name that cannot is an error."""
    out = []
    for name in names:
        needs = None
        if name in MONEY_RULES and not has_amounts(frame):
            needs = "amounts: add them with df.fbtime.with_rates(fbtime.load_rates(client))"
        elif name == "over_budget" and rates is None:
            needs = "the rates: pass audit(rates=fbtime.load_rates(client))"
        if needs is None:
            out.append(name)
        elif asked:
            raise QueryError(f"audit rule {name!r} needs {needs}")
    return out


def check_expected(hours: Any) -> ExpectedHours:
    """Expected hours per day as :func:`audit` takes them (0 to 24 each), else QueryError."""
    table = hours if isinstance(hours, Mapping) else {None: hours}
    out: dict[int | str | None, float] = {}
    for key, value in table.items():
        if key is not None and (isinstance(key, bool) or not isinstance(key, int | str)):
            raise QueryError(f"expected hours are keyed by identity id or name, got {key!r}")
        ok = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        if not ok or not 0 <= float(value) <= 24:
            raise QueryError(f"expected hours per day must be from 0 to 24, got {value!r}")
        out[key] = float(value)
    return out if isinstance(hours, Mapping) else out[None]


def team_names(team: Any) -> dict[int, str | None] | None:
    """``{identity_id: name}`` from ``load_team(client)``, a mapping or ids (None: unknown)."""
    if team is None:
        return None
    if isinstance(team, pd.DataFrame):
        names = team["name"] if "name" in team else pd.Series(pd.NA, index=team.index)
        pairs: Iterable[tuple[Any, Any]] = zip(team.index, names, strict=True)
    elif isinstance(team, Mapping):
        pairs = team.items()
    elif isinstance(team, Iterable) and not isinstance(team, str | bytes):
        pairs = ((i, None) for i in team)
    else:
        raise QueryError(f"team must be fbtime.load_team(client), ids or a mapping, got {team!r}")
    out: dict[int, str | None] = {}
    for key, name in pairs:
        if isinstance(key, bool) or not isinstance(key, int | np.integer):
            raise QueryError(f"team ids must be integers, got {key!r}")
        out[int(key)] = None if name is None or pd.isna(name) else str(name)
    return out


def audit(
    frame: pd.DataFrame,
    rules: Iterable[str] | str | None = None,
    *,
    now: Any = None,
    unbilled_days: int = DEFAULT_UNBILLED_DAYS,
    max_hours: float = DEFAULT_MAX_HOURS,
    tz: str | None = None,
    rates: Rates | None = None,
    expected_hours_per_day: ExpectedHours = DEFAULT_EXPECTED_HOURS,
    team: pd.DataFrame | Mapping[int, str] | Iterable[int] | None = None,
    week_start: str | None = None,
) -> pd.DataFrame:
    """Run audit rules (all of :data:`RULES` but :data:`OPT_IN_RULES` by default).

    Args:
        frame: a time-entry frame; it is not modified.
        rules: rule names to run, in that order.
        now: the audit's clock (default: :func:`fbtime.clock.now`, the current time unless
            fixed); naive values are UTC.
        unbilled_days: age after which unbilled billable time is reported.
        max_hours: entries longer than this are reported by ``over_12h``.
        tz: zone for ``missing_day`` (default: the frame's most common local zone).
        rates: ``fbtime.load_rates(client)``, for ``over_budget``.
        expected_hours_per_day: for ``under_logged``: hours each workday (Monday to
            Friday), or ``{identity_id or name: hours}`` (the key None: everyone else).
        team: ``fbtime.load_team(client)`` (or ids, or ``{id: name}``): ``under_logged``
            then finds teammates who logged nothing in a week too.
        week_start: ``"monday"`` or ``"sunday"`` (default: the business's, see
            :mod:`fbtime.weeks`), for ``under_logged``.

    Returns:
        One row per finding, errors first (then warnings, then info), each severity in
        rule order.

    Raises:
        QueryError: a rule name is unknown (the message lists the valid names), or a rule
            asked for by name lacks what it needs (amounts, rates).
    """
    default = [name for name in RULES if name not in OPT_IN_RULES]
    names = [rules] if isinstance(rules, str) else list(default if rules is None else rules)
    unknown = [name for name in names if name not in RULES]
    if unknown:
        raise QueryError(
            f"unknown audit rule(s): {', '.join(map(str, unknown))}; "
            f"valid rules: {', '.join(RULES)}"
        )
    names = _runnable(names, frame, rates, asked=rules is not None)
    ctx = AuditContext(
        clock(now), unbilled_days, max_hours, resolve_tz(frame, tz), rates,
        expected_hours=check_expected(expected_hours_per_day), team=team_names(team),
        week_start=frame_week_start(frame, week_start) if "under_logged" in names else "monday",
    )  # fmt: skip
    parts = [RULES[name](frame, ctx) for name in names]
    parts = [part for part in parts if len(part)]
    if not parts:
        columns = FINDING_COLUMNS
        if has_amounts(frame):
            columns = (*FINDING_COLUMNS[:6], "amount", *FINDING_COLUMNS[6:])
        return empty_findings(columns)
    found = pd.concat(parts, ignore_index=True)
    found["severity"] = found["severity"].astype(SEVERITY)
    found = _entry_facts(found, frame, ctx.tz)
    return found.sort_values("severity", ascending=False, kind="stable", ignore_index=True)


# -- summary report -----------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    """Totals, hours (and money) by client and audit counts; prints and renders in Jupyter.

    Numbers are shown rounded (:mod:`fbtime.display`); ``totals`` and ``by_client`` keep
    the exact values. ``fixed_price_unbilled`` is the fixed-price value not billed yet
    (with rates), which per-entry amounts leave out. ``foreign`` names the clients billed
    in another currency (``(client id, name, code)``): their amounts are in the totals in
    the business's currency, not converted, and the summary says so.
    """

    totals: Totals
    by_client: pd.DataFrame
    audit_counts: pd.DataFrame
    fixed_price_unbilled: Decimal | None = None
    foreign: tuple[tuple[Any, str, str], ...] = ()
    #: How the time was rounded (:func:`fbtime.rounding.round_time`), None when it was not.
    rounded: str | None = None

    def _totals_lines(self) -> list[str]:
        t = self.totals
        check = {None: "no server totals recorded", True: "agree", False: "DISAGREE"}[t.agrees]
        lines = [
            f"entries: {t.entries:,}   hours: {hours(t.hours)}   billable: "
            f"{hours(t.billable_hours)}   unbilled: {hours(t.unbilled_hours)}   billed: "
            f"{hours(t.billed_hours)}",
            f"server totals: {check} (logged {hours(t.total_logged_seconds / 3600)} h vs "
            f"{_server_hours(t.server_total_logged)}, unbilled "
            f"{hours(t.total_unbilled_seconds / 3600)} h vs "
            f"{_server_hours(t.server_total_unbilled)})",
        ]
        if t.billable_amount is not None:
            code = t.currency or "currency unknown: pass with_rates(currency=...)"
            lines.append(
                f"money ({code}): billable {money(t.billable_amount)}   unbilled "
                f"{money(t.unbilled_amount)}   billed {money(t.billed_amount)}"
            )
            extra = []
            if t.missing_rate_hours:
                extra.append(f"{hours(t.missing_rate_hours)} billable h have no rate (left out)")
            if self.fixed_price_unbilled is not None:
                extra.append(f"fixed-price value not billed yet {money(self.fixed_price_unbilled)}")
            for _, name, their in self.foreign:
                extra.append(display.foreign_note(name, their, t.currency))
            lines += [f"  {line}" for line in extra]
        if self.rounded is not None:
            lines.append(self.rounded)
        return lines

    def _clients(self) -> display.Report:
        return display.report(self.by_client, currency=self.totals.currency, foreign=self.foreign)

    def __str__(self) -> str:
        # client names come from the account: every cell and label is escaped for terminals
        audit = to_text(self.audit_counts, index=False) if len(self.audit_counts) else "no findings"
        lines = [for_terminal(line) for line in self._totals_lines()]  # names the client
        parts = ["fbtime summary", *lines, "", "hours by client:"]
        table = str(self._clients())
        return "\n".join([*parts, table, "", "audit findings:", audit])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        # escape=True (pandas' default, stated so no edit drops it): every value and label
        lines = "".join(f"<p>{for_html(line)}</p>" for line in self._totals_lines())
        audit = (
            self.audit_counts.to_html(escape=True)
            if len(self.audit_counts)
            else "<p>no findings</p>"
        )
        clients = self._clients()._repr_html_()
        return (
            f"<div><h3>fbtime summary</h3>{lines}<h4>Hours by client</h4>{clients}"
            f"<h4>Audit findings</h4>{audit}</div>"
        )


def _server_hours(seconds: int | None) -> str:
    return "none recorded" if seconds is None else f"{hours(seconds / 3600)} h"


def summarize(
    frame: pd.DataFrame,
    *,
    now: Any = None,
    tz: str | None = None,
    rates: Rates | None = None,
    found: pd.DataFrame | None = None,
) -> Summary:
    """Build a :class:`Summary`: totals, by client and counts of :func:`audit` findings.

    ``found``: findings already made (``fbtime audit`` passes its own, of the rules it
    ran); default: a full :func:`audit` of ``frame``.
    """
    found = audit(frame, now=now, tz=tz, rates=rates) if found is None else found
    counts = (
        found.groupby(["severity", "rule"], observed=True, sort=False)
        .size()
        .rename("findings")
        .reset_index()
    )
    foreign = foreign_clients(frame) if has_amounts(frame) else ()
    fixed = fixed_price_unbilled(rates) if rates is not None else None
    rounding = rounding_of(frame)
    note = describe(rounding) if rounding is not None else None
    by_client = summarize_by(frame, "client")
    return Summary(totals(frame), by_client, counts, fixed, foreign, note)
