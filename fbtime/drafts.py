"""Draft invoices from unbilled time: which entry goes on which client's draft, on which line,
at what quantity. Pure: a rated frame in, four tables out, nothing sent (the plan that
applies them is :mod:`fbtime.bulk.invoice`).

One draft per client; its lines group the entries by ``project`` (the default),
``service``, ``teammate``, ``entry`` (one line each, "detailed") or ``client`` (one line),
and every group also splits by rate, since a line has one unit cost. Lines are in the order
of their first entry's start (then key); a draft holds at most :data:`MAX_LINES` lines.

**The rounding rule.** An entry's amount is :func:`fbtime.rates.with_rates`': its rate x
its time, rounded once to the cent. A line's target is the exact sum of its entries'
cents. FreshBooks computes a line's amount itself, ``round_half_up(qty x unit_cost, 2)``,
so fbtime sends ``unit_cost`` = the rate and ``qty`` = the line's hours rounded half-up to
the fewest places, from ``qty_places`` (2 by default) up to 4, whose amount is within one
cent of the target. Two places are not always enough: 1 h 20 min at 150.00/h is 200.00,
but 1.33 h x 150.00 is 199.50 (1.3333 h gives 200.00). When no quantity of at most 4
places is within a cent (many entries each rounded on their own can drift further), the
line is a **lump**: ``qty`` 1, ``unit_cost`` = the target, with the hours and rate in its
description. So every line is within a cent of its entries and a draft's total within a
cent a line of the entries it bills; ``lines.amount`` is what FreshBooks must answer,
checked to the cent after the create.

Entries that cannot be billed are listed in ``skipped`` with the first reason that applies
(:data:`SKIP_REASONS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from fbtime import analysis, display
from fbtime.errors import PlanError
from fbtime.money import CENT, MONEY, cents_of, money_array

GroupBy = Literal["project", "service", "teammate", "entry", "client"]
#: The line groupings, the default first.
GROUPINGS: tuple[str, ...] = ("project", "service", "teammate", "entry", "client")
#: Why an entry is left off every draft, in the order they are tested.
SKIP_REASONS: tuple[str, ...] = (
    "not logged",  # deleted, a running timer, or no duration
    "not billable",
    "already billed",
    "dated in the future",  # after today in the business's zone: a wrong date?
    "no client",
    "fixed price",  # valued at project level (fixed_price), not per hour
    "no rate",
    "zero amount",
    "unknown client",  # not in the clients list: its currency (and existence) unknown
    "currency mismatch",  # the client is billed in another currency than the rates'
)
SKIP_DTYPE = pd.CategoricalDtype(list(SKIP_REASONS))
#: The most lines on one draft (the web app's limit for time lines).
MAX_LINES = 400
#: Places of ``qty`` tried, at most.
MAX_QTY_PLACES = 4
#: A quantity column: exact to 4 places.
QTY = pd.ArrowDtype(pa.decimal128(38, MAX_QTY_PLACES))
#: Longest line description built from notes and names (the rest is cut, marked "…").
MAX_DESCRIPTION = 1000
_KEYS = {"project": "project_id", "service": "service_id", "teammate": "identity_id",
         "entry": "id", "client": None}  # fmt: skip
_HOURS = Decimal(3600)


@dataclass(frozen=True)
class Drafts:
    """What would be invoiced: drafts, their lines, the entries they bill, and what is left.

    Attributes:
        invoices: one row per draft (index ``client_id``): ``client_name``, ``currency``,
            ``lines``, ``entries``, ``hours``, ``amount`` (what FreshBooks must total),
            ``entries_amount`` (the entries' exact sum), ``first_date``, ``last_date``.
        lines: one row per line, in draft order: ``client_id``, ``line`` (1..n),
            ``name``, ``description``, ``qty``, ``unit_cost``, ``amount`` (FreshBooks'
            ``round_half_up(qty x unit_cost)``), ``entries_amount``, ``hours``, ``rate``,
            ``entries``, ``lump``, ``first_started``.
        entries: the entries billed (the rated rows), with ``line``: what will be marked
            billed once its draft is verified.
        skipped: every other row (index ``id``) with ``reason`` (:data:`SKIP_REASONS`),
            ``client_id``, ``hours``, ``amount``.
        group_by, qty_places, currency: how the drafts were built.
    """

    invoices: pd.DataFrame
    lines: pd.DataFrame
    entries: pd.DataFrame
    skipped: pd.DataFrame
    group_by: str
    qty_places: int
    currency: str | None


def skip_reasons(rated: pd.DataFrame) -> pd.Series:
    """The first :data:`SKIP_REASONS` reason of each row, NA for a row that can be billed."""
    n = len(rated)
    code = np.full(n, -1, dtype="int16")
    cents, has_amount = cents_of(rated["amount"])
    source = rated["rate_source"].astype(object)
    client_currency = rated["client_currency"]
    known = client_currency.notna().to_numpy()
    differs = client_currency.astype(object) != rated["currency"].astype(object)
    mismatch = known & differs.to_numpy(dtype=bool, na_value=True)
    tests = (
        ~analysis.counted_mask(rated),
        ~analysis.flag(rated, "billable"),
        analysis.flag(rated, "billed"),
        analysis.future_mask(rated),
        rated["client_id"].isna().to_numpy(),
        (source == "fixed_price").to_numpy(dtype=bool),
        ~has_amount,
        cents == 0,
        ~known,
        mismatch,
    )
    for number, hit in enumerate(tests):
        code[(code < 0) & hit] = number
    return pd.Series(pd.Categorical.from_codes(code, dtype=SKIP_DTYPE), index=rated.index,
                     name="reason")  # fmt: skip


def draft_invoices(
    rated: pd.DataFrame,
    *,
    group_by: GroupBy = "project",
    qty_places: int = 2,
    lump: bool = False,
    tz: str | None = None,
    names: Mapping[str, Mapping[Any, str]] | None = None,
) -> Drafts:
    """Group a rated frame's billable, unbilled entries into one draft per client.

    Args:
        rated: a frame with amounts (``df.fbtime.with_rates(rates)``); not modified.
        group_by: one of :data:`GROUPINGS`.
        qty_places: the fewest decimal places of ``qty`` (0 to 4; see the rounding rule).
        lump: every line a lump (``qty`` 1, the amount as unit cost, hours described).
        tz: the zone of the dates in descriptions (default: the entries' own).
        names: ``{"client"|"project"|"service"|"teammate": {id: name}}`` for labels
            the frame has no ``<group>_name`` column for.

    Raises:
        PlanError: a frame without amounts, a bad option, an unknown currency, or a
            draft of more than :data:`MAX_LINES` lines (use a coarser ``group_by``).
    """
    if group_by not in GROUPINGS:
        raise PlanError(f"group_by must be one of {', '.join(GROUPINGS)}, not {group_by!r}")
    if isinstance(qty_places, bool) or qty_places not in range(MAX_QTY_PLACES + 1):
        raise PlanError(f"qty_places must be 0 to {MAX_QTY_PLACES}, not {qty_places!r}")
    if not analysis.has_amounts(rated) or "client_currency" not in rated:
        raise PlanError("the frame has no amounts: use df.fbtime.invoice(rates) or with_rates")
    currency = _currency(rated)
    rated = rated.copy(deep=False)
    rated.attrs = {}  # read once here; kept, pandas would copy them at every step
    reason = skip_reasons(rated)
    billed = reason.isna().to_numpy()
    chosen = rated.loc[billed]
    tz = analysis.resolve_tz(rated, tz)
    labels = _Labels(chosen, names or {})
    lines, line_of = _lines(chosen, group_by, qty_places, lump, tz, labels)
    _check_size(lines, labels)
    entries = chosen.assign(line=pd.array(line_of, dtype="Int64"))
    skipped = _skipped(rated.loc[~billed], reason[~billed])
    invoices = _invoices(lines, entries, labels, currency, tz)
    return Drafts(invoices, lines, entries, skipped, group_by, qty_places, currency)


def _currency(rated: pd.DataFrame) -> str | None:
    """The one currency of the rates (every line's unit cost is in it)."""
    codes = rated["currency"].dropna().unique()
    if len(rated) and len(codes) != 1:
        raise PlanError(
            "the business's currency is unknown, so no draft can say what it bills in: "
            "pass currency='CAD' (the business's) to invoice()"
        )
    return str(codes[0]) if len(codes) else None


class _Labels:
    """Names for ids: the frame's ``<group>_name`` columns, else ``names``, else a fallback."""

    def __init__(self, frame: pd.DataFrame, names: Mapping[str, Mapping[Any, str]]) -> None:
        self.tables: dict[str, dict[Any, str]] = {}
        for group, (id_col, name_col) in analysis.GROUPS.items():
            table = {k: str(v) for k, v in (names.get(group) or {}).items() if pd.notna(v)}
            if name_col in frame:
                pairs = frame[[id_col, name_col]].dropna().drop_duplicates(id_col)
                table.update(zip(pairs[id_col].tolist(), pairs[name_col].astype(str), strict=True))
            self.tables[group] = table

    def __call__(self, group: str, key: Any) -> str:
        if key is None or key is pd.NA:
            return display.no_group(group)
        found = self.tables[group].get(key)
        if found:
            return found
        return display.unknown_teammate(key) if group == "teammate" else f"{group} {key}"


def _lines(
    chosen: pd.DataFrame, group_by: str, places: int, lump: bool, tz: str, labels: _Labels
) -> tuple[pd.DataFrame, np.ndarray]:
    """The lines of every draft, and each entry's line number."""
    rate, _ = cents_of(chosen["rate"])
    cents, _ = cents_of(chosen["amount"])
    key_col = _KEYS[group_by]
    if key_col is None:
        keys = pd.Series(0, index=chosen.index, dtype="Int64")
    else:
        keys = chosen.index.to_series() if key_col == "id" else chosen[key_col]
    work = pd.DataFrame({
        "client_id": chosen["client_id"].to_numpy(), "key": keys.astype("Int64").array,
        "rate": rate, "cents": cents, "seconds": chosen["duration"].to_numpy(dtype="int64"),
        "started": chosen["started_at"].to_numpy(),
        "day": analysis.local_day(chosen, tz).to_numpy(), "position": np.arange(len(chosen)),
    })  # fmt: skip
    grouped = work.groupby(["client_id", "key", "rate"], dropna=False, sort=False)
    number = grouped.ngroup().to_numpy()
    agg = grouped.agg(
        first_started=("started", "min"), first_day=("day", "min"), last_day=("day", "max"),
        seconds=("seconds", "sum"), cents=("cents", "sum"), entries=("position", "size"),
        first=("position", "min"),
    ).reset_index()  # fmt: skip
    agg["group"] = np.arange(len(agg))
    agg = agg.sort_values(["client_id", "first_started", "key", "rate"], kind="stable")
    agg["line"] = agg.groupby("client_id").cumcount().to_numpy() + 1
    line_of = agg.set_index("group")["line"].reindex(number).to_numpy()
    rows = [
        _line(r, group_by, places, lump, first, labels)
        for r, first in zip(agg.to_dict("records"), _firsts(chosen, agg["first"]), strict=True)
    ]
    out = pd.DataFrame(rows, columns=["name", "description", "qty", "amount_cents", "unit_cents",
                                      "lump"])  # fmt: skip
    lines = pd.DataFrame({
        "client_id": pd.array(agg["client_id"].to_numpy(), dtype="Int64"),
        "line": pd.array(agg["line"].to_numpy(), dtype="Int64"),
        "name": out["name"].astype("str").array,
        "description": out["description"].astype("str").array,
        "qty": pd.array(pa.array(list(out["qty"]), type=QTY.pyarrow_dtype), dtype=QTY),
        "unit_cost": money_array(out["unit_cents"].to_numpy(dtype="int64")),
        "amount": money_array(out["amount_cents"].to_numpy(dtype="int64")),
        "entries_amount": money_array(agg["cents"].to_numpy(dtype="int64")),
        "hours": pd.array(agg["seconds"].to_numpy() / 3600, dtype="Float64"),
        "rate": money_array(agg["rate"].to_numpy(dtype="int64")),
        "entries": pd.array(agg["entries"].to_numpy(), dtype="Int64"),
        "lump": out["lump"].astype("boolean").array,
        "first_started": agg["first_started"].to_numpy(),
    })  # fmt: skip
    return lines.reset_index(drop=True), line_of


def _firsts(chosen: pd.DataFrame, positions: pd.Series) -> list[dict[Any, Any]]:
    """What a detailed line says of its entry, for each line's first entry (one take)."""
    columns = [c for c in ("project_id", "identity_id", "service_id", "note") if c in chosen]
    rows = chosen[columns].iloc[positions.to_numpy()]
    return rows.astype(object).where(rows.notna(), None).to_dict("records")


def _line(
    row: Mapping[Any, Any],
    group_by: str,
    places: int,
    lump: bool,
    first: Mapping[str, Any],
    labels: _Labels,
) -> tuple[str, str, Decimal, int, int, bool]:
    """``(name, description, qty, amount cents, unit cost cents, lump)`` of one line."""
    rate = Decimal(int(row["rate"])).scaleb(-2)
    target = int(row["cents"])
    hours = Decimal(int(row["seconds"])) / _HOURS
    span = _span(row["first_day"], row["last_day"])
    n = int(row["entries"])
    count = f"{n:,} {'entry' if n == 1 else 'entries'}"
    if group_by == "entry":
        name = labels("project", _value(first.get("project_id")))
        parts = [span, labels("teammate", _value(first.get("identity_id")))]
        if pd.notna(first.get("service_id")):
            parts.append(labels("service", _value(first.get("service_id"))))
        note = first.get("note")
        if isinstance(note, str) and note.strip():
            parts.append(note.strip())
        description = " · ".join(parts)
    else:
        group = {"project": "project", "service": "service", "teammate": "teammate"}.get(group_by)
        name = labels(group, _value(row["key"])) if group else "Time"
        description = f"{span} · {count}"
    qty = None if lump else _quantity(hours, rate, target, places)
    if qty is None:  # a lump: the exact amount, its hours and rate said in words
        shown = f"{hours.quantize(Decimal('0.0001'), ROUND_HALF_UP).normalize():f}"
        description = f"{description} · {shown} h at {rate:,}/h"
        return name, _cut(description), Decimal(1), target, target, True
    amount = int((qty * rate).quantize(CENT, ROUND_HALF_UP) * 100)
    return name, _cut(description), qty, amount, int(row["rate"]), False


def _quantity(hours: Decimal, rate: Decimal, target: int, places: int) -> Decimal | None:
    """The fewest-places ``qty`` (from ``places`` to 4) whose server amount is within a cent."""
    for p in range(places, MAX_QTY_PLACES + 1):
        qty = hours.quantize(Decimal(1).scaleb(-p), ROUND_HALF_UP)
        amount = (qty * rate).quantize(CENT, ROUND_HALF_UP)
        if qty > 0 and abs(int(amount * 100) - target) <= 1:  # a line of 0 h reads wrong
            return qty
    return None


def _value(value: Any) -> Any:
    return None if value is None or value is pd.NA or pd.isna(value) else int(value)


def _span(first: Any, last: Any) -> str:
    a, b = display.date(first), display.date(last)
    return a if a == b else f"{a} – {b}"


def _cut(text: str) -> str:
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def _check_size(lines: pd.DataFrame, labels: _Labels) -> None:
    counts = lines.groupby("client_id")["line"].max()
    over = counts[counts > MAX_LINES]
    if len(over):
        who = ", ".join(
            f"{labels('client', c)} ({n} lines)"
            for c, n in zip(over.index.tolist(), over.tolist(), strict=True)
        )
        raise PlanError(
            f"a draft may hold at most {MAX_LINES} lines, and {who} would have more: group "
            "the time more coarsely (group_by='project', 'service' or 'client') or select "
            "a shorter period"
        )


def _skipped(rows: pd.DataFrame, reason: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {"reason": reason, "client_id": rows["client_id"], "hours": rows["hours"],
         "amount": rows["amount"]}, index=rows.index,
    )  # fmt: skip


def _invoices(
    lines: pd.DataFrame, entries: pd.DataFrame, labels: _Labels, currency: str | None, tz: str
) -> pd.DataFrame:
    by = lines.groupby("client_id")
    days = analysis.local_day(entries, tz).groupby(entries["client_id"].to_numpy())
    ids = pd.Index(by.size().index, dtype="Int64", name="client_id")
    out = pd.DataFrame(
        {
            "client_name": pd.array([labels("client", int(c)) for c in ids], dtype="str"),
            "currency": pd.array([currency] * len(ids), dtype="str"),
            "lines": pd.array(by.size().to_numpy(), dtype="Int64"),
            "entries": pd.array(by["entries"].sum().to_numpy(), dtype="Int64"),
            "hours": pd.array(by["hours"].sum().to_numpy(dtype="float64"), dtype="Float64"),
            "amount": by["amount"].sum().to_numpy(),
            "entries_amount": by["entries_amount"].sum().to_numpy(),
            "first_date": days.min().reindex(ids.to_numpy()).to_numpy(),
            "last_date": days.max().reindex(ids.to_numpy()).to_numpy(),
        },
        index=ids,
    )
    out["amount"] = out["amount"].astype(MONEY)
    out["entries_amount"] = out["entries_amount"].astype(MONEY)
    return out.sort_values("client_name", kind="stable")
