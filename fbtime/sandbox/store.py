"""SQLite storage of the sandbox's time entries, with cached list results.

One connection shared by every server thread behind a lock (SQLite in memory cannot be
shared by per-thread connections). Besides the API fields each row keeps a hidden
``updated_at`` (microseconds, strictly increasing across writes) that ``updated_since``
filters on, as the real API does without ever returning it.

Listing is the hot path (a benchmark pages 200,000 entries): the filtered, ordered id
list and its totals (overall, per teammate, per client: SQL aggregates, no Python loop
over rows) are computed once per (filters, data version) and cached, so a page costs a
slice plus a primary-key fetch of at most 100 rows, whatever the page number. Every
write bumps :attr:`Store.version`, which invalidates the cache.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fbtime.sandbox.data import ENTRY_FIELDS, iso_us

_COLUMNS = (
    "id", "identity_id", "is_logged", "started_at", "created_at", "duration", "client_id",
    "project_id", "service_id", "task_id", "pending_client", "pending_project", "pending_task",
    "note", "active", "billable", "billed", "internal", "retainer_id", "timer_id",
    "timer_running", "local_started_at", "local_timezone", "updated_at", "started_ts",
    "updated_us",
)  # fmt: skip
_BOOLS = ("is_logged", "active", "billable", "billed", "internal")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS entries ({", ".join(_COLUMNS)}, PRIMARY KEY (id));
CREATE INDEX IF NOT EXISTS entries_order ON entries (started_ts DESC, id DESC, active, is_logged,
    identity_id, billable, billed, client_id, duration, updated_us);
CREATE INDEX IF NOT EXISTS entries_created ON entries (created_at DESC, id ASC, active, is_logged,
    identity_id, billable, billed, client_id, duration, updated_us);
CREATE INDEX IF NOT EXISTS entries_updated ON entries (updated_us);
"""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LOGGED = "is_logged AND duration"  # running timers and zero-length entries add nothing
#: List orders: live FreshBooks answers newest-created first, same second by ascending id
#: (facts sheet section 5); ``"started"`` is the sandbox's order before it followed that.
ORDERS = {"created": "created_at DESC, id ASC", "started": "started_ts DESC, id DESC"}
#: How ``meta`` breaks ``total_logged`` down: ``"nested"`` as live (per teammate -> client
#: -> project, per teammate -> day -> client, per client -> teammate), ``"flat"`` one level
#: (per teammate, per client), the sandbox's shape before it followed the captures.
META_TOTALS = ("nested", "flat")


@dataclass(frozen=True)
class ListQuery:
    """The filters of one list request, already resolved to a scope (hashable: a cache key).

    ``identity_id`` None means every member of the business.
    """

    identity_id: int | None = None
    include_deleted: bool = False
    include_unlogged: bool = False
    billable: bool | None = None
    billed: bool | None = None
    client_id: int | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None
    updated_since: datetime | None = None


@dataclass(frozen=True)
class ListResult:
    """Ordered ids of a filtered set and its duration totals (seconds).

    ``per_member`` and ``per_client`` are the API's ``total_logged_per_team_member`` and
    ``total_logged_per_client``: one item per teammate or client present in the set
    (sorted by id, a null id first: entries without a client or project form a group of
    their own), so each level adds up to ``total_logged``. Nested (see
    :data:`META_TOTALS`), a teammate's item also holds ``total_logged_per_client`` (each
    with ``total_logged_per_project``) and ``total_logged_per_day`` (each day with
    ``total_logged_per_client``), and a client's item ``total_logged_per_team_member``.
    A day is the date of ``local_started_at`` (of ``started_at`` in UTC without one).
    """

    ids: list[int]
    total_logged: int
    total_unbilled: int
    per_member: list[dict[str, Any]] = field(default_factory=list)
    per_client: list[dict[str, Any]] = field(default_factory=list)


def _us(dt: datetime) -> int:
    return (dt - _EPOCH) // timedelta(microseconds=1)


def _to_row(entry: dict[str, Any]) -> tuple:
    timer = entry.get("timer")
    started = datetime.fromisoformat(entry["started_at"])
    updated = datetime.fromisoformat(entry["updated_at"])
    values = {**entry, "timer_id": timer["id"] if timer else None,
              "timer_running": timer["is_running"] if timer else None,
              "started_ts": int(started.timestamp()), "updated_us": _us(updated)}  # fmt: skip
    return tuple(values.get(c) for c in _COLUMNS)


#: Where each API field sits in a stored row (-1: the nested timer), and whether SQLite's
#: 0/1 must become a bool; in the API's field order.
_SPEC = tuple(
    (name, -1 if name == "timer" else _COLUMNS.index(name), name in _BOOLS) for name in ENTRY_FIELDS
)
_TIMER, _RUNNING, _UPDATED = (_COLUMNS.index(c) for c in ("timer_id", "timer_running",
                                                          "updated_at"))  # fmt: skip


def _to_entry(values: tuple, hidden: bool = False) -> dict[str, Any]:
    """A stored row as the API shows it."""
    out: dict[str, Any] = {}
    for name, i, boolean in _SPEC:
        if i < 0:
            tid = values[_TIMER]
            out[name] = None if tid is None else {"id": tid, "is_running": bool(values[_RUNNING])}
        else:
            out[name] = bool(values[i]) if boolean else values[i]
    if hidden:
        out["updated_at"] = values[_UPDATED]
    return out


class Store:
    """Thread-safe SQLite store of time entries (one business)."""

    def __init__(self, path: str | None = None, cache_size: int = 64) -> None:
        self._conn = sqlite3.connect(path or ":memory:", check_same_thread=False)
        self._conn.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self.lock = self._lock  # for callers that must read and write as one step
        self._cache: OrderedDict[tuple, ListResult] = OrderedDict()
        self._logged: tuple[int, dict[int, int]] = (-1, {})
        self._cache_size = cache_size
        self.version = 0
        self._last_us = 0
        self._next_id = 1
        self._next_timer = 1

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def load(self, entries: Iterable[dict[str, Any]], now: datetime | None = None) -> None:
        """Replace every entry; ``updated_at`` is capped at ``now`` so it is never ahead."""
        cap = iso_us(now) if now else None
        rows = []
        for e in entries:
            if cap and e["updated_at"] > cap:
                e = {**e, "updated_at": cap}
            rows.append(_to_row(e))
        marks = ", ".join("?" * len(_COLUMNS))
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM entries")
            self._conn.executemany(f"INSERT INTO entries VALUES ({marks})", rows)
            top = self._conn.execute(
                "SELECT MAX(id), MAX(timer_id), MAX(updated_us) FROM entries"
            ).fetchone()
            self._next_id = (top[0] or 0) + 1
            self._next_timer = (top[1] or 0) + 1
            self._last_us = top[2] or 0
            self._bump()

    def _bump(self) -> None:
        self.version += 1
        self._cache.clear()

    def _now_us(self) -> tuple[str, int]:
        # Strictly increasing, so `updated_since=<time of a write>` always sees that write.
        us = max(_us(datetime.now(UTC)), self._last_us + 1)
        self._last_us = us
        return iso_us(_EPOCH + timedelta(microseconds=us)), us

    def next_timer_id(self) -> int:
        """Allocate a timer id for a new running timer."""
        with self._lock:
            tid = self._next_timer
            self._next_timer += 1
            return tid

    def get(self, entry_id: int, hidden: bool = False) -> dict[str, Any] | None:
        """One entry by id (deleted ones too), or None."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return None if row is None else _to_entry(row, hidden)

    def insert(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Store a new entry (every API field given except id/created_at/active)."""
        with self._lock, self._conn:
            stamp, _ = self._now_us()
            entry = {**fields, "id": self._next_id, "created_at": stamp[:19] + "Z",
                     "active": True, "updated_at": stamp}  # fmt: skip
            self._next_id += 1
            marks = ", ".join("?" * len(_COLUMNS))
            self._conn.execute(f"INSERT INTO entries VALUES ({marks})", _to_row(entry))
            self._bump()
        return self.get(entry["id"])  # type: ignore[return-value]

    def update(self, entry_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Overwrite the given API fields of one entry and bump its update time."""
        with self._lock, self._conn:
            current = self.get(entry_id, hidden=True)
            if current is None:
                raise KeyError(entry_id)
            merged = {**current, **fields}
            merged["updated_at"], _ = self._now_us()
            self._conn.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
            marks = ", ".join("?" * len(_COLUMNS))
            self._conn.execute(f"INSERT INTO entries VALUES ({marks})", _to_row(merged))
            self._bump()
        return self.get(entry_id)  # type: ignore[return-value]

    def list_ids(
        self, query: ListQuery, order: str = "created", totals: str = "nested"
    ) -> ListResult:
        """Ids matching ``query`` in ``order`` (:data:`ORDERS`) and their totals
        (:data:`META_TOTALS`), cached per data version."""
        with self._lock:
            key = (self.version, query, order, totals)
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            where, params = _where(query)
            ids = [row[0] for row in self._conn.execute(
                f"SELECT id FROM entries WHERE {where} ORDER BY {ORDERS[order]}", params
            )]  # fmt: skip
            groups = self._conn.execute(
                "SELECT identity_id, client_id, project_id,"
                " substr(COALESCE(local_started_at, started_at), 1, 10),"
                f" SUM(CASE WHEN {_LOGGED} THEN duration ELSE 0 END),"
                f" SUM(CASE WHEN {_LOGGED} AND billable AND NOT COALESCE(billed, 0)"
                " THEN duration ELSE 0 END)"
                f" FROM entries WHERE {where} GROUP BY 1, 2, 3, 4",
                params,
            ).fetchall()
            result = _totals(ids, groups, nested=totals == "nested")
            self._cache[key] = result
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return result

    def logged_by_project(self) -> dict[int, int]:
        """Seconds logged per project by active, logged entries (cached per data version)."""
        with self._lock:
            version, totals = self._logged
            if version != self.version:
                rows = self._conn.execute(
                    f"SELECT project_id, SUM(duration) FROM entries WHERE active AND {_LOGGED}"
                    " AND project_id IS NOT NULL GROUP BY project_id"
                ).fetchall()
                totals = {pid: seconds for pid, seconds in rows}
                self._logged = (self.version, totals)
            return totals

    def fetch(self, ids: list[int]) -> list[dict[str, Any]]:
        """Entries for ``ids``, in that order (missing ids skipped)."""
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT * FROM entries WHERE id IN ({marks})", ids
            ).fetchall()
        by_id = {row[0]: _to_entry(row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def all_entries(self) -> list[dict[str, Any]]:
        """Every stored entry by id, deleted and running ones too, with ``updated_at``."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM entries ORDER BY id").fetchall()
        return [_to_entry(row, hidden=True) for row in rows]

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]


def _by_id(counts: Mapping[Any, int], key: str) -> list[dict[str, Any]]:
    """``[{key: id, "total_logged": seconds}]`` sorted by id, a null id first."""
    return [{key: k, "total_logged": counts[k]} for k in sorted(counts, key=_null_first)]


def _null_first(value: Any) -> tuple[bool, Any]:
    return (value is not None, value if value is not None else 0)


def _totals(ids: list[int], groups: list[tuple], *, nested: bool) -> ListResult:
    """The meta totals of one filtered set from its (teammate, client, project, day) sums."""
    member: Counter[int] = Counter()
    client: Counter[int | None] = Counter()
    member_client: dict[int, Counter[Any]] = {}
    member_client_project: dict[tuple[int, Any], Counter[Any]] = {}
    member_day: dict[int, Counter[str]] = {}
    member_day_client: dict[tuple[int, str], Counter[Any]] = {}
    client_member: dict[Any, Counter[int]] = {}
    logged = unbilled = 0
    for who, cid, pid, day, seconds, open_seconds in groups:
        logged += seconds
        unbilled += open_seconds
        member[who] += seconds
        client[cid] += seconds
        if nested:
            member_client.setdefault(who, Counter())[cid] += seconds
            member_client_project.setdefault((who, cid), Counter())[pid] += seconds
            member_day.setdefault(who, Counter())[day] += seconds
            member_day_client.setdefault((who, day), Counter())[cid] += seconds
            client_member.setdefault(cid, Counter())[who] += seconds
    per_member = _by_id(member, "identity_id")
    per_client = _by_id(client, "client_id")
    if nested:
        for item in per_member:
            who = item["identity_id"]
            item["total_logged_per_client"] = [
                {**c, "total_logged_per_project": _by_id(
                    member_client_project[(who, c["client_id"])], "project_id")}
                for c in _by_id(member_client[who], "client_id")
            ]  # fmt: skip
            item["total_logged_per_day"] = [
                {"date": day, "total_logged": seconds, "total_logged_per_client": _by_id(
                    member_day_client[(who, day)], "client_id")}
                for day, seconds in sorted(member_day[who].items())
            ]  # fmt: skip
        for item in per_client:
            item["total_logged_per_team_member"] = _by_id(
                client_member[item["client_id"]], "identity_id"
            )
    return ListResult(ids, logged, unbilled, per_member, per_client)


def _where(q: ListQuery) -> tuple[str, list[Any]]:
    clauses, params = ["1 = 1"], []
    if q.identity_id is not None:
        clauses.append("identity_id = ?")
        params.append(q.identity_id)
    if not q.include_deleted:
        clauses.append("active = 1")
    if not q.include_unlogged:
        clauses.append("is_logged = 1")
    for name in ("billable", "billed"):
        value = getattr(q, name)
        if value is not None:
            clauses.append(f"{name} = ?")
            params.append(int(value))
    if q.client_id is not None:
        clauses.append("client_id = ?")
        params.append(q.client_id)
    if q.started_from is not None:
        # Entries carry whole seconds: a fractional lower bound rounds up.
        ts = q.started_from.timestamp()
        clauses.append("started_ts >= ?")
        params.append(int(ts) + (ts % 1 > 0))
    if q.started_to is not None:
        clauses.append("started_ts <= ?")
        params.append(int(q.started_to.timestamp()))
    if q.updated_since is not None:
        clauses.append("updated_us >= ?")
        params.append(_us(q.updated_since))
    return " AND ".join(clauses), params
