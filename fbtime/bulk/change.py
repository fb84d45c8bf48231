"""A plan's content: its changes, their checks, its file format and integrity hash.

This is the part of :class:`fbtime.UpdatePlan` that journals, apply, resume and undo
need (:class:`PlanData`); :mod:`fbtime.bulk.plan` adds what a person does with a plan
(load it, apply it, review it). The split keeps the imports one way.

Building a plan sends nothing. Each change holds the entry's writable fields as the frame
saw them (``before``, compared at apply time to detect entries changed since), the fields
to write (``after``) and, for the reviewer only, what the entry is (date, teammate,
client, project, hours, amount, note). Entries that need no change or must not be changed
are listed in ``skipped`` with a reason. A plan is shown as a text table in a terminal and
as an HTML diff in a notebook, saved as JSON with an integrity hash, and applied with
:meth:`UpdatePlan.apply`.

A plan cannot change once made (frozen, its fields read-only), so it is checked once:
as it is built (:mod:`fbtime.bulk.builders` checks the frame's columns) or read back
(part by part, :mod:`fbtime.bulk.checks`); a plan made by hand is checked in full the
first time it is saved or applied. Its hash is computed once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, NoReturn, Self

import pandas as pd

from fbtime import display
from fbtime.api.query import format_utc, to_utc
from fbtime.bulk.checks import (
    COMPARED,
    KIND_RULES,
    PLAN_KEYS,
    check_change,
    check_created_at,
    check_skipped,
    check_text,
    digest,
    is_id,
    loads,
    shown,
)
from fbtime.bulk.views import (
    FRAME_COLUMNS,
    FRAME_DTYPES,
    NO_AMOUNT_REASON,
    amount_of,
    change_rows,
    currency_of,
    plan_html,
    plan_text,
    summary_line,
)
from fbtime.config import check_base_url
from fbtime.errors import ConfigError, PlanError
from fbtime.files import FileTooLarge, read_limited, write_private
from fbtime.text import for_terminal

Action = Literal["update", "delete", "create"]
PLAN_FORMAT = "fbtime-plan"
#: Version 2 added the integrity hash and the review context; version 1 files are refused.
PLAN_VERSION = 2
#: A saved plan older than this needs explicit confirmation to apply.
DEFAULT_MAX_AGE = dt.timedelta(hours=24)
#: The largest plan file read back. A 10,000-change plan (a busy team's year) saves to
#: 8.5 MB with its review context (measured: an update of 10,000 sandbox entries); 64 MiB
#: is 7.5 times that, room for notes ten times longer than usual (a note is stored up to
#: three times per change), while a file that could only exhaust memory is refused.
MAX_PLAN_BYTES = 64 * 2**20
_SHA256 = re.compile(r"[0-9a-f]{64}")


def snapshot(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The comparable writable fields of an entry as the API returned it (its start time
    in the one UTC form, whatever form the server used).

    Raises:
        QueryError: the start time is not a time.
    """
    out = {name: entry[name] for name in COMPARED if name in entry}
    if out.get("started_at"):
        out["started_at"] = format_utc(to_utc(out["started_at"], "started_at"))
    return out


class Fields(dict[str, Any]):
    """A dict that cannot be changed: the fields of a plan once it is made (JSON writes
    it as any dict). Build a new plan to change what it writes."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("a plan cannot be changed once made: build a new plan")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))


def _frozen(value: Any) -> Any:
    # anything but an object is left for the checks to name
    return Fields(value) if isinstance(value, dict) and type(value) is not Fields else value


@dataclass(frozen=True)
class Change:
    """One planned change of one entry (it cannot change once made).

    ``before`` and ``after`` are what apply compares and writes; ``hours``, ``client_id``
    and ``context`` (date, teammate, client, project, amount, note, as text) are shown to
    the reviewer and never sent.
    """

    id: int
    action: Action
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    hours: float | None = None
    client_id: int | None = None
    context: Mapping[str, str | None] = field(default_factory=Fields)

    def __post_init__(self) -> None:
        for name in ("before", "after", "context"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @classmethod
    def made(
        cls,
        id: int,
        action: Action,
        before: Fields,
        after: Fields,
        hours: float | None,
        client_id: int | None,
        context: Fields,
    ) -> Change:
        """A change from parts already checked and frozen (a plan builder's: 10x faster
        than ``__init__``, which freezes and assigns field by field)."""
        change = object.__new__(cls)
        change.__dict__.update(
            id=id,
            action=action,
            before=before,
            after=after,
            hours=hours,
            client_id=client_id,
            context=context,
        )
        return change

    def changed_fields(self) -> list[str]:
        return [k for k in self.after if self.before.get(k) != self.after[k]]

    def to_dict(self) -> dict[str, Any]:
        """The change as saved (its fields as they are: JSON writes them as dicts)."""
        return {
            "id": self.id,
            "action": self.action,
            "before": self.before,
            "after": self.after,
            "hours": self.hours,
            "client_id": self.client_id,
            "context": self.context,
        }


def read_untrusted(path: str | Path, limit: int, what: str) -> bytes:
    """A file fbtime wrote earlier (a plan, a journal), read with a size limit.

    Raises:
        PlanError: it is missing, larger than ``limit``, or unreadable.
    """
    where = for_terminal(path)
    try:
        return read_limited(path, limit)
    except FileNotFoundError:
        raise PlanError(f"no {what} file at {where}") from None
    except FileTooLarge:
        raise PlanError(
            f"{where} is larger than {limit:,} bytes: not a {what} fbtime wrote"
        ) from None
    except OSError as exc:
        raise PlanError(f"cannot read {what} file {where}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class PlanData:
    """Changes to make to time entries, reviewed before anything is written (it cannot
    change once made: :meth:`select` and :func:`dataclasses.replace` make new plans).

    Attributes:
        kind: what built the plan: ``mark_billed``, ``mark_unbilled``, ``update``,
            ``delete`` or ``undo``; the kind limits the actions and fields it may change.
        business_id: the business the entries belong to; apply refuses another.
        changes: one :class:`Change` per entry to write.
        skipped: ``{"id", "reason"}`` for entries left alone.
        created_at: when the plan was built (UTC ISO); old saved plans need confirmation.
        source_journal: for undo plans, the journal being undone.
        api_url: the API the entries were loaded from (saved); apply refuses another.
        connection: the client the frame was loaded with, in this process (not saved):
            ``apply()`` with no client uses it.
    """

    kind: str
    business_id: int | None
    changes: Sequence[Change]
    skipped: Sequence[Mapping[str, Any]] = ()
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    source_journal: str | None = None
    api_url: str | None = None
    connection: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "changes", tuple(self.changes))
        object.__setattr__(self, "skipped", tuple(_frozen(s) for s in self.skipped))

    def _mark_checked(self) -> Self:
        """Record that every part of this plan was checked (by whoever made it)."""
        object.__setattr__(self, "_checked", True)
        return self

    # -- what it would do -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.changes)

    @property
    def ids(self) -> list[int]:
        return [c.id for c in self.changes]

    def totals(self) -> dict[str, Any]:
        """Entries, hours, clients affected, entries skipped, and the money at stake.

        ``amount`` is ``{currency: exact total}`` of the changes' amounts (empty when the
        entries had none: ``with_rates`` was not applied); ``no_amount`` counts the
        changes without one by why (``{"fixed price": 3, "no rate": 1}``); ``foreign``
        counts the amounts of clients billed in another currency, by that currency: they
        are in the business's currency at its rates, not converted.

        Example:
            >>> rated = df.fbtime.with_rates(fbtime.load_rates(client), standard_rate=100)
            >>> plan = rated.fbtime.unbilled().fbtime.mark_billed()
            >>> totals = plan.totals()
            >>> totals["entries"], totals["hours"], totals["amount"], totals["no_amount"]
            (320, 451.51, {'CAD': Decimal('30470.36')}, {'fixed price': 70, 'no rate': 18})
        """
        hours = sum(c.hours or 0.0 for c in self.changes)
        clients = {c.client_id for c in self.changes if c.client_id is not None}
        amounts: dict[str, Decimal] = {}
        missing: dict[str, int] = {}
        foreign: dict[str, int] = {}
        for change in self.changes:
            context = change.context or {}
            value = amount_of(context)
            if value is not None:
                code = currency_of(context) or "currency unknown"
                amounts[code] = amounts.get(code, Decimal("0.00")) + value
            elif (why := NO_AMOUNT_REASON.get(str(context.get("rate_source")))) is not None:
                missing[why] = missing.get(why, 0) + 1
            theirs = context.get("client_currency")
            if value is not None and theirs:
                foreign[theirs] = foreign.get(theirs, 0) + 1
        return {
            "entries": len(self.changes),
            "hours": round(hours, 2),
            "clients": len(clients),
            "skipped": len(self.skipped),
            "amount": amounts,
            "no_amount": missing,
            "foreign": foreign,
        }

    def subtotals(self, by: str = "client") -> display.Report:
        """Entries, hours and amount per client (or ``"teammate"``, ``"project"``), most
        hours first; shown rounded, exact inside (``amount`` is money, per currency;
        ``without_amount`` counts the entries that have none: fixed price, no rate).

        Raises:
            PlanError: ``by`` is not client, teammate or project.
        """
        if by not in ("client", "teammate", "project"):
            raise PlanError(f"subtotals by client, teammate or project, not {by!r}")
        rows = [
            {
                "label": (c.context or {}).get(by) or display.no_group(by),
                "hours": c.hours,
                "amount": amount_of(c.context or {}),
                "currency": currency_of(c.context or {}),
            }
            for c in self.changes
        ]
        frame = pd.DataFrame(rows, columns=["label", "hours", "amount", "currency"])
        frame = frame.astype({"label": "str", "hours": "Float64", "amount": display.MONEY})
        grouped = frame.groupby("label", sort=False)
        out = grouped.agg(entries=("hours", "size"), hours=("hours", "sum"))
        out = out.astype({"entries": "Int64", "hours": "Float64"})
        if frame["amount"].notna().any():
            out["amount"] = grouped["amount"].sum(min_count=1).astype(display.MONEY)
            out["currency"] = grouped["currency"].first().astype("str")
            if frame["amount"].isna().any():  # a blank amount says how many lack one
                missing = frame["amount"].isna().groupby(frame["label"], sort=False).sum()
                out["without_amount"] = missing.astype("Int64")
        out.index.name = by
        out = out.sort_values("hours", ascending=False, kind="stable")
        codes = frame["currency"].dropna().unique()
        return display.report(out, currency=str(codes[0]) if len(codes) == 1 else None)

    def to_frame(self) -> pd.DataFrame:
        """One row per changed field: id, action, field, before, after, then what the entry
        is (date, teammate, client, project, hours, amount, currency, why there is no
        amount, note), for review or export.

        Values are as stored (not escaped): the text and HTML views escape them. ``amount``
        is exact money (:data:`fbtime.money.MONEY`).
        """
        rows = [row for c in self.changes for row in change_rows(c)]
        return pd.DataFrame(rows, columns=list(FRAME_COLUMNS)).astype(FRAME_DTYPES)

    def select(self, ids: list[int]) -> Self:
        """A copy holding only the changes of ``ids`` (the others become skipped)."""
        keep = set(ids)
        left_out = [
            {"id": c.id, "reason": "left out by the reviewer"}
            for c in self.changes
            if c.id not in keep
        ]
        plan = dataclasses.replace(
            self,
            changes=[c for c in self.changes if c.id in keep],
            skipped=[*self.skipped, *left_out],
        )
        return plan._mark_checked() if getattr(self, "_checked", False) else plan

    def _summary_line(self) -> str:
        return summary_line(self)

    @functools.cached_property
    def sha256(self) -> str:
        """The plan's integrity hash: what ``plan show`` prints and ``apply`` checks.

        Raises:
            PlanError: the plan holds a value JSON cannot hold (it cannot be saved).
        """
        return digest(self._body())

    def __repr__(self) -> str:
        return plan_text(self)

    def _repr_html_(self) -> str:
        return plan_html(self)

    # -- saving ---------------------------------------------------------------------------
    def _body(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "version": PLAN_VERSION,
            "kind": self.kind,
            "business_id": self.business_id,
            "created_at": self.created_at,
            "source_journal": self.source_journal,
            "api_url": self.api_url,
            "changes": [c.to_dict() for c in self.changes],
            "skipped": list(self.skipped),
        }

    def to_dict(self) -> dict[str, Any]:
        """The plan as saved: every field plus its ``sha256`` integrity hash."""
        body = self._body()
        return {**body, "sha256": digest(body)}

    def checked(self) -> Self:
        """The plan, checked in every part as :meth:`load` checks a saved one: itself if it
        was checked when it was built or read, else a checked copy (once).

        Raises:
            PlanError: naming the change and field that a saved plan could not hold.
        """
        if getattr(self, "_checked", False):
            return self
        checked = self.from_dict(self.to_dict(), where="the plan")
        # the connection is this process's only; never saved
        return dataclasses.replace(checked, connection=self.connection)._mark_checked()

    def save(self, path: str | Path) -> Path:
        """Write the plan as JSON, atomically and private (0600: it holds account data).

        Raises:
            PlanError: the plan could not be read back (nothing is written then).
        """
        text = json.dumps(self.checked().to_dict(), indent=1, ensure_ascii=False)
        return write_private(path, text)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a saved plan, checking every part of it and its integrity hash.

        Raises:
            PlanError: the file is missing, too large, not a plan, or was edited (into
                an invalid state, or at all: the hash no longer matches).
        """
        raw = read_untrusted(path, MAX_PLAN_BYTES, "plan")
        try:
            data = loads(raw)
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise PlanError(
                f"{for_terminal(path)} is not a plan file (not JSON: {for_terminal(reason)})"
            ) from None
        return cls.from_dict(data, where=str(path))

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "plan") -> Self:
        """Check a saved plan's every part (see :mod:`fbtime.bulk.checks`); build it.

        An undo plan's source journal is not read here (:class:`fbtime.UpdatePlan` does
        that; a journal's own plan is read with this, so journals cannot go in circles).

        Raises:
            PlanError: naming the change and field that is wrong.
        """
        where = for_terminal(where)
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            raise PlanError(f"{where} is not an fbtime plan (no 'format': '{PLAN_FORMAT}')")
        if data.get("version") != PLAN_VERSION:
            raise PlanError(
                f"{where} has plan version {shown(data.get('version'))}; "
                f"this fbtime reads version {PLAN_VERSION}: rebuild the plan"
            )
        extra = sorted(map(str, set(data) - PLAN_KEYS))
        if extra:
            raise PlanError(f"{where} has unknown key(s) {shown(extra)}")
        kind = data.get("kind")
        if not isinstance(kind, str) or kind not in KIND_RULES:
            raise PlanError(
                f"{where}: unknown plan kind {shown(kind)}; known: {', '.join(KIND_RULES)}"
            )
        business_id = data.get("business_id")
        if business_id is not None and not is_id(business_id):
            raise PlanError(f"{where}: business_id must be a positive integer")
        created_at = check_created_at(data.get("created_at"), where)
        source = data.get("source_journal")
        if kind == "undo" and (not isinstance(source, str) or not source):
            raise PlanError(f"{where}: an undo plan must name the journal it undoes")
        if kind != "undo" and source is not None:
            raise PlanError(f"{where}: only undo plans have a source_journal")
        if source is not None:
            check_text(source, f"{where}: source_journal")
        items = data.get("changes")
        if not isinstance(items, list):
            raise PlanError(f"{where}: changes must be a list")
        parts = [check_change(item, i, where, kind) for i, item in enumerate(items)]
        ids = [p["id"] for p in parts]
        if len(set(ids)) != len(ids):
            raise PlanError(f"{where}: an entry appears more than once in changes")
        skipped = check_skipped(data.get("skipped", []), where)
        api_url = data.get("api_url")
        if api_url is not None:
            if not isinstance(api_url, str):
                raise PlanError(f"{where}: api_url must be a URL, got {shown(api_url)}")
            try:
                api_url = check_base_url(check_text(api_url, f"{where}: api_url"), what="api_url")
            except ConfigError as exc:
                raise PlanError(f"{where}: {for_terminal(exc)}") from None
        plan = cls(
            kind, business_id, [Change(**p) for p in parts], skipped, created_at, source, api_url
        )
        stored = data.get("sha256")
        if not isinstance(stored, str) or not _SHA256.fullmatch(stored):
            raise PlanError(f"{where} has no integrity hash (sha256): rebuild the plan")
        if plan.sha256 != stored:
            raise PlanError(
                f"{where} does not match its integrity hash (saved {stored[:12]}…, contents "
                f"hash to {plan.sha256[:12]}…): it was edited after it was saved. "
                "Rebuild the plan"
            )
        return plan._mark_checked()

    def age(self) -> dt.timedelta:
        """How long ago the plan was built."""
        try:
            return dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(self.created_at)
        except (TypeError, ValueError):
            raise PlanError(f"created_at {shown(self.created_at)} is not an aware time") from None
