"""Seeded synthetic data for the sandbox: a small agency and its time entries.

Same ``(entries, seed, end, teammates, timezone, business_id)`` gives the same data, ids
included, so tests can assert exact ids and totals. Ordinary entries are weekday work
between 08:30 and 18:30 local time (DST-aware) that never overlap within a teammate and
are never exact duplicates; every anomaly is planted on purpose and listed in
:attr:`Dataset.planted`:

* ``running``: the open segment of each running timer (``is_logged`` false, ``duration``
  null, ``timer.is_running`` true).
* ``paused_timer``: one id per paused timer (its first segment): a timer never logged
  whose segments all have a duration (``timer.is_running`` false).
* ``timer_segments``: every segment of those timers. As live (facts sheet section 3),
  one ``timer.id`` is shared by a timer's unlogged segments: one running timer has two
  closed segments before its open one, one paused timer two segments.
* ``deleted``: soft-deleted entries (``active`` false).
* ``overlap``: active logged entries overlapping another one of the same teammate
  (``a.start < b.end and b.start < a.end``). It includes the ``duplicate`` members,
  because an exact copy always overlaps its original.
* ``duplicate``: every member of each group of exact duplicates (same identity,
  started_at, duration, client, project, service and note).
* ``billable_no_client``, ``internal_billable``, ``over_12h`` (14 h), ``zero_duration``,
  ``future`` (started after ``end``).
* ``missing_note``: active logged entries whose note is null or ``""`` (natural ones).

Below :data:`MIN_PLANTED_ENTRIES` entries no anomalies are planted (only the natural
``missing_note`` list can be non-empty).

Projects' billing, the team lists, rates, the business currency and a former teammate
come from :mod:`fbtime.sandbox.reference`, on a stream of their own: they change which
project, service or teammate some entries name, never their ids, times or durations.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fbtime.sandbox import reference

FIRST_ENTRY_ID = 5000
FIRST_TIMER_ID = 2900
MIN_PLANTED_ENTRIES = 100
DAY_START = time(8, 30)
DAY_END = time(18, 30)

#: An entry's fields in the order live answers list them (facts sheet section 2).
ENTRY_FIELDS = (
    "id", "identity_id", "is_logged", "local_started_at", "local_timezone", "started_at",
    "created_at", "client_id", "project_id", "pending_client", "pending_project",
    "pending_task", "task_id", "service_id", "note", "active", "billable", "billed",
    "internal", "retainer_id", "duration", "timer",
)  # fmt: skip
PLANTED_KEYS = (
    "running", "paused_timer", "timer_segments", "deleted", "overlap", "duplicate",
    "billable_no_client", "internal_billable", "over_12h", "zero_duration", "missing_note",
    "future",
)  # fmt: skip
#: The planted timers: (teammate index, running, segments as (minutes after ``end``
#: 00:00 UTC, seconds or None for the open one)). Minutes before ``end`` are negative.
TIMERS = (
    (0, True, ((5, 1500), (35, 600), (50, None))),
    (1, True, ((12, None),)),
    (2, False, ((-2 * 1440 + 14 * 60, 2700), (-2 * 1440 + 15 * 60, 1800))),
    (3, False, ((-9 * 1440 + 16 * 60, 5400),)),
)
#: Weeks start on Monday (0) or Sunday (6), as ``business.first_day_of_week`` says.
WEEK_STARTS = (0, 6)

PEOPLE = [
    ("Olivia", "Tremblay"), ("Liam", "Gagnon"), ("Zoë", "Roy"), ("Noah", "Côté"),
    ("Amélie", "Bouchard"), ("Hiro", "Tanaka"), ("Priya", "Nair"), ("Lucas", "Martin"),
    ("Chloé", "Pelletier"), ("Mateo", "García"), ("Aisha", "Khan"), ("Ethan", "Morin"),
]  # fmt: skip
CLIENTS = [
    ("Société Générale Café", "Élodie", "Lefèvre"), ("株式会社山田デザイン", "Taro", "Yamada"),
    ("Northwind Traders", "Nancy", "Davolio"), ("Acme Robotics", "Wile", "Coyote"),
    ("Blue Harbor Dental", "Grace", "Hopper"), ("Greenleaf Organics", "Maya", "Singh"),
    ("Pinecrest Law LLP", "Daniel", "Okafor"), ("Summit Outdoor Co.", "Sven", "Larsen"),
]  # fmt: skip
SERVICES = [
    ("Design", True), ("Development", True), ("Consulting", True),
    ("Project Management", True), ("QA & Testing", True), ("Admin", False),
]  # fmt: skip
PROJECTS = ["Website Redesign", "Brand Refresh", "Mobile App", "Data Migration", "SEO Audit",
            "Support Retainer"]  # fmt: skip
INTERNAL_PROJECTS = ["Internal — Operations", "Internal — Training"]
NOTES = [
    "Design review", "Sprint planning", "Fixed checkout bug", "Client call",
    "Réunion avec l'équipe 📅", "設計レビュー", "Wireframes for landing page",
    "Code review", "Deployment and smoke tests", "Drafted proposal", "Café meeting — kickoff",
    "Database tuning", "Copy edits", "QA pass on release 2.3", "Weekly sync",
]  # fmt: skip


@dataclass
class Dataset:
    """Everything the sandbox serves, generated once from a seed, in the API's shapes.

    Each list holds exactly the dicts its endpoint serves (paged), so a test can compute
    expected answers from it with plain pandas. Which record plays which case is fixed
    by :mod:`fbtime.sandbox.reference` (default 6 teammates; fewer cover fewer cases).

    Attributes:
        business: the business of ``users/me`` (``id``, ``account_id``, ``name``, ...).
        identities: current members who can sign in (``id``, names, ``email``, ``role``);
            the first is the owner. The sandbox's own view, not an endpoint's.
        clients: accounting clients (``users/clients``), with ``currency_code``: CAD but
            one USD client.
        projects: ``projects`` list items: ``project_type``, ``billing_method``, ``rate``,
            ``fixed_price``, ``budget`` (seconds), ``billed_amount``, ``billed_status``,
            ``services`` and the rest. ``logged_duration`` is null here; the endpoint
            fills it (live, from the entries) only with ``include_logged_duration=true``.
        services: ``services`` list items.
        entries: time entries plus the hidden ``updated_at``.
        planted: ids of the planted anomalies (see the module docstring).
        days_off: ``(identity_id, local day)`` weekdays a teammate logged nothing.
        team_members: ``GET /auth/api/v1/businesses/{bid}/team_members`` items: every
            current identity (accepted: ``identity_id`` set) and one pending invitation
            (``identity_id`` and ``invitation_date_accepted`` null).
        staff: ``response.business_group.members`` of the staff list
            (``/auth/api/v1/users/business/{bid}``): every current identity, with
            ``identity_uuid`` and ``language``.
        business_group: ``id`` and ``category`` of that group.
        team_member_rates: ``{"rate", "identity_id", "business_id"}``: most teammates,
            one ``"0.00"``, one without a rate, and the former teammate's.
        service_rates: ``{"rate", "service_id", "business_id"}``: most services, one
            ``"0.00"``, one without a rate.
        system: ``response.result.system`` of ``systems/systems/{id}``: its ``id`` is the
            system id (not the business id) and ``currency_code`` the business currency.
        former_teammates: identity ids that log time in old entries but are in neither
            the team-members nor the staff list (their names are unknown).
        standard_rate: the business standard rate that ``business_rate`` projects use;
            FreshBooks has no endpoint for it, so the sandbox serves it nowhere.
    """

    business: dict[str, Any]
    identities: list[dict[str, Any]]
    clients: list[dict[str, Any]]
    projects: list[dict[str, Any]]
    services: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    planted: dict[str, list[int]]
    days_off: list[tuple[int, date]] = field(default_factory=list)
    timezone: str = "America/Toronto"
    end: date | None = None
    team_members: list[dict[str, Any]] = field(default_factory=list)
    staff: list[dict[str, Any]] = field(default_factory=list)
    business_group: dict[str, Any] = field(default_factory=dict)
    team_member_rates: list[dict[str, Any]] = field(default_factory=list)
    service_rates: list[dict[str, Any]] = field(default_factory=list)
    system: dict[str, Any] = field(default_factory=dict)
    former_teammates: list[int] = field(default_factory=list)
    standard_rate: str = reference.STANDARD_RATE

    @property
    def owner(self) -> dict[str, Any]:
        """The business owner's identity (the first one)."""
        return self.identities[0]


def iso(dt: datetime) -> str:
    """UTC datetime as the API prints it: second precision with ``Z``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_us(dt: datetime) -> str:
    """UTC datetime with microseconds, for the hidden ``updated_at``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ids(rng: random.Random, n: int, low: int, high: int) -> list[int]:
    start = rng.randint(low, high)
    out = []
    for _ in range(n):
        start += rng.randint(1, 97)
        out.append(start)
    return out


def _reference(
    rng: random.Random, n_people: int, business_id: int | None, tz: str, first_day: int
) -> dict:
    bid = business_id if business_id is not None else rng.randint(100_000, 999_999)
    account_id = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(5))
    uuid = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    business = {
        "id": bid, "business_uuid": f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-"
        f"{uuid[20:]}", "name": "Maple & Pine Studio", "account_id": account_id,
        "number_format": None, "date_format": "mm/dd/yyyy", "first_day_of_week": first_day,
        "active": True, "timezone": tz, "status": "active",
        "advanced_accounting_enabled": False, "industry": None, "billing_country_code": "CAN",
        "business_type": None,
        "address": {"id": bid + 1, "street": "220 King St W", "street2": "", "city": "Toronto",
                    "province": "Ontario", "country": "Canada", "postal_code": "M5H 1K4"},
        "business_clients": [],
    }  # fmt: skip
    identities = []
    for i, ident in enumerate(_ids(rng, n_people, 1_000_000, 9_000_000)):
        first, last = PEOPLE[i] if i < len(PEOPLE) else (f"Teammate{i}", "Extra")
        ascii_name = f"{first}.{last}".encode("ascii", "ignore").decode().lower()
        identities.append({
            "id": ident, "first_name": first, "last_name": last,
            "email": f"{ascii_name}@example.com", "role": "owner" if i == 0 else "employee",
            "timezone": tz,  # the profile's zone: entries created by them are local to it
        })  # fmt: skip
    services = [
        {"id": sid, "name": name, "billable": bill, "business_id": bid, "vis_state": 0}
        for sid, (name, bill) in zip(_ids(rng, len(SERVICES), 9000, 20000), SERVICES, strict=True)
    ]
    client_ids = _ids(rng, len(CLIENTS), 30000, 90000)
    clients: list[dict[str, Any]] = [
        {"id": cid, "organization": org, "fname": fn, "lname": ln, "vis_state": 0,
         "email": f"{fn.lower()}.{ln.lower()}@client{k}.example.com",
         "currency_code": "USD" if k == reference.FOREIGN_CLIENT else reference.BUSINESS_CURRENCY}
        for k, (cid, (org, fn, ln)) in enumerate(zip(client_ids, CLIENTS, strict=True))
    ]  # fmt: skip
    projects = []
    pids = _ids(rng, 14, 2_000_000, 3_000_000)
    for k in range(14):
        internal = k >= 12
        client = None if internal else clients[k % 8]
        title = INTERNAL_PROJECTS[k - 12] if internal else f"{PROJECTS[k % 6]}"
        svc = [services[5], services[3]] if internal else rng.sample(services[:5], 3)
        drawn = None if internal else f"{rng.choice([85, 110, 125, 150])}.00"
        svc = reference.project_services(k, svc, services)
        cid = client["id"] if client else None
        projects.append(reference.project(k, pids[k], title, cid, svc, drawn, bid))
    return {"business": business, "identities": identities, "services": services,
            "clients": clients, "projects": projects}  # fmt: skip


def _duration(rng: random.Random) -> int:
    if rng.random() < 0.7:
        return rng.choice([15, 30, 30, 45, 60, 60, 90, 120, 150, 180]) * 60
    return rng.randint(300, 10_800)


class _Maker:
    """Builds entry dicts; keeps the per-call state (rng, zone, lookups) in one place."""

    def __init__(self, rng: random.Random, ref: dict, tz: str, end: date) -> None:
        self.rng, self.tz_name, self.tz, self.end = rng, tz, ZoneInfo(tz), end
        self.projects = ref["projects"]
        self.by_service = {s["id"]: s for s in ref["services"]}
        client_projects = [p for p in self.projects if not p["internal"]]
        self.internal_projects = [p for p in self.projects if p["internal"]]
        self.assigned = {ident["id"]: rng.sample(client_projects, 4) for ident in ref["identities"]}
        reference.spread(self.assigned, client_projects)

    def entry(self, ident: int, start_local: datetime, duration: int | None, **over) -> dict:
        rng = self.rng
        if rng.random() < 0.1:
            project = rng.choice(self.internal_projects)
        else:
            project = rng.choice(self.assigned[ident])
        service = self.by_service[rng.choice(project["services"])["id"]]
        start_utc = start_local.replace(tzinfo=self.tz).astimezone(UTC)
        created = start_utc + timedelta(seconds=(duration or 0) + rng.randint(30, 5400))
        billable = not project["internal"] and service["billable"]
        age = (self.end - start_local.date()).days
        p_billed = 0.9 if age > 45 else 0.5 if age > 14 else 0.05
        r = rng.random()
        note = None if r < 0.015 else "" if r < 0.03 else rng.choice(NOTES)
        billed = billable and rng.random() < p_billed
        updated = created + timedelta(microseconds=rng.randint(0, 999_999))
        if billed:
            updated += timedelta(days=rng.randint(3, 30))
        cap = datetime.combine(self.end, time(23, 59, 59), UTC)
        row = {
            "id": None, "identity_id": ident, "is_logged": True, "started_at": iso(start_utc),
            "created_at": iso(min(created, cap)), "duration": duration,
            "client_id": project["client_id"], "project_id": project["id"],
            "service_id": service["id"], "task_id": None, "pending_client": None,
            "pending_project": None, "pending_task": None, "note": note, "active": True,
            "billable": billable, "billed": billed, "internal": project["internal"],
            "retainer_id": None, "timer": {"is_running": False} if rng.random() < 0.1 else None,
            "local_started_at": start_local.strftime("%Y-%m-%dT%H:%M:%S"),
            "local_timezone": self.tz_name, "updated_at": iso_us(min(updated, cap)),
        }  # fmt: skip
        row.update(over)
        return row

    def day(self, ident: int, day: date) -> list[dict]:
        rng = self.rng
        cursor = datetime.combine(day, DAY_START) + timedelta(minutes=5 * rng.randint(0, 9))
        limit = datetime.combine(day, DAY_END)
        rows = []
        for _ in range(rng.choice([3, 4, 4, 5])):
            dur = _duration(rng)
            if cursor + timedelta(seconds=dur) > limit:
                dur = int((limit - cursor).total_seconds()) // 900 * 900
                if dur < 900:
                    break
            rows.append(self.entry(ident, cursor, dur))
            cursor += timedelta(seconds=dur, minutes=rng.randint(5, 40))
        return rows


def _weekdays_back(end: date):
    day = end
    while True:
        if day.weekday() < 5:
            yield day
        day -= timedelta(days=1)


def default_end() -> date:
    """Yesterday (UTC) by fbtime's clock, so nothing ordinary lies in the future."""
    from fbtime.clock import today  # the library's one "now"; the sandbox meets it lazily

    return today() - timedelta(days=1)


def generate(
    entries: int = 2000,
    seed: int = 1,
    *,
    end: date | None = None,
    teammates: int | None = None,
    timezone: str = "America/Toronto",
    business_id: int | None = None,
    first_day_of_week: int = 0,
) -> Dataset:
    """Generate a deterministic business with exactly ``entries`` stored time entries.

    Args:
        entries: number of stored entries (running and deleted ones included).
        seed: random seed; same arguments give the same data.
        end: last day of ordinary data (default: yesterday by :func:`fbtime.clock.today`,
            UTC); ``future`` entries come after.
        teammates: people logging time, owner included (default 6).
        timezone: the business' IANA zone; working hours are local.
        business_id: force the business id (default: drawn from the seed).
        first_day_of_week: the business's ``first_day_of_week`` (0 Monday, 6 Sunday).

    Returns:
        The :class:`Dataset`.

    Raises:
        ValueError: ``first_day_of_week`` is neither 0 nor 6.
    """
    if first_day_of_week not in WEEK_STARTS:
        raise ValueError(f"first_day_of_week must be 0 (Monday) or 6 (Sunday), "
                         f"not {first_day_of_week!r}")  # fmt: skip
    end = end or default_end()
    n_people = max(1, teammates or 6)
    rng = random.Random(seed)
    ref = _reference(rng, n_people, business_id, timezone, first_day_of_week)
    maker = _Maker(rng, ref, timezone, end)
    people = [i["id"] for i in ref["identities"]]
    plant = entries >= MIN_PLANTED_ENTRIES
    extras = 13 if plant else 0  # timer segments 7 + overlap 2 + duplicate 2 + future 2
    target = max(0, entries - extras)
    over_slots = {(1, people[1 % n_people]), (2, people[2 % n_people])} if plant else set()

    rows: list[dict] = []
    specials: dict[str, list[dict]] = {k: [] for k in PLANTED_KEYS}
    days_off: list[tuple[int, date]] = []
    days = _weekdays_back(end)
    day_index = -1
    while len(rows) < target:
        day, day_index = next(days), day_index + 1
        for ident in people:
            if day_index >= 3 and rng.random() < 0.02:
                days_off.append((ident, day))
                continue
            if (day_index, ident) in over_slots:
                start = datetime.combine(day, time(7, 0))
                row = maker.entry(ident, start, 50_400)
                specials["over_12h"].append(row)
                rows.append(row)
            else:
                rows.extend(maker.day(ident, day))
    # Trim the oldest extras so the count is exact; days off on the last day are moot.
    rows.sort(key=lambda r: r["started_at"], reverse=True)
    del rows[target:]
    oldest = min((r["started_at"][:10] for r in rows), default="")
    days_off = [(i, d) for i, d in days_off if d.isoformat() > oldest]

    if plant:
        _plant(rng, maker, rows, specials, people, end)
    former = None
    if n_people >= 4:
        candidate = reference.former_id(seed, set(people))
        moved = reference.retire(rows, days_off, people[-1], candidate)
        if moved is not None:
            days_off, former = moved, candidate
    dataset = _finish(ref, rows, specials, days_off, timezone, end)
    reference.complete(dataset, seed, former)
    return dataset


def _plant(rng, maker: _Maker, rows: list[dict], specials: dict, people, end: date) -> None:
    over = {id(r) for r in specials["over_12h"]}
    pool = [i for i, r in enumerate(rows) if id(r) not in over and r["started_at"][:10] < str(end)]
    long_ones = [i for i in pool if rows[i]["duration"] >= 1800]
    hosts = rng.sample(long_ones, 2)
    rest = rng.sample([i for i in pool if i not in hosts], 12)
    picks = {"deleted": rest[0:3], "billable_no_client": rest[3:6], "internal_billable": rest[6:8],
             "zero_duration": rest[8:10], "dup": rest[10:12]}  # fmt: skip
    for i in picks["deleted"]:
        rows[i]["active"] = False
        specials["deleted"].append(rows[i])
    for i in picks["billable_no_client"]:
        rows[i].update(client_id=None, project_id=None, billable=True, billed=False, internal=False)
        specials["billable_no_client"].append(rows[i])
    internal = maker.internal_projects[0]
    for i in picks["internal_billable"]:
        svc = internal["services"][1]["id"]
        rows[i].update(client_id=None, project_id=internal["id"], service_id=svc, internal=True,
                       billable=True, billed=False)  # fmt: skip
        specials["internal_billable"].append(rows[i])
    for i in picks["zero_duration"]:
        rows[i]["duration"] = 0
        specials["zero_duration"].append(rows[i])
    new: list[dict] = []
    for i in hosts:
        host = rows[i]
        start = datetime.fromisoformat(host["local_started_at"]) + timedelta(minutes=5)
        inner = maker.entry(host["identity_id"], start, host["duration"] - 600)
        specials["overlap"] += [host, inner]
        new.append(inner)
    for i in picks["dup"]:
        src = rows[i]
        copy = dict(src, created_at=src["created_at"], timer=None)
        specials["duplicate"] += [src, copy]
        specials["overlap"] += [src, copy]  # an exact copy overlaps its original
        new.append(copy)
    for k, days_ahead in enumerate((3, 5)):
        start = datetime.combine(end + timedelta(days=days_ahead), time(10 + 3 * k, 0))
        row = maker.entry(people[k % len(people)], start, 3600)
        row["created_at"] = iso(datetime.combine(end, time(12, 0), UTC))
        row["updated_at"] = iso_us(datetime.combine(end, time(12, 0), UTC))
        row["billed"] = False
        specials["future"].append(row)
        new.append(row)
    midnight = datetime.combine(end, time(), UTC)
    for key, (who, running, segments) in enumerate(TIMERS):
        for n, (minutes, seconds) in enumerate(segments):
            start_utc = midnight + timedelta(minutes=minutes)
            local = start_utc.astimezone(maker.tz).replace(tzinfo=None)
            timer = {"is_running": running, "shared": key}  # one id per timer (_finish)
            row = maker.entry(people[who % len(people)], local, seconds, is_logged=False,
                              billed=False, timer=timer)  # fmt: skip
            row["created_at"] = iso(start_utc)
            row["updated_at"] = iso_us(start_utc)
            specials["timer_segments"].append(row)
            if seconds is None:
                specials["running"].append(row)
            elif not running and n == 0:
                specials["paused_timer"].append(row)
            new.append(row)
    rows.extend(new)


def _finish(ref, rows, specials, days_off, timezone, end) -> Dataset:
    # Ids follow creation order, like a real database; copies come after originals.
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["created_at"], i))
    timer_id = FIRST_TIMER_ID
    shared: dict[int, int] = {}  # a planted timer's segments share its id
    for n, i in enumerate(order):
        row = rows[i]
        row["id"] = FIRST_ENTRY_ID + n
        if row["timer"] is not None:
            key = row["timer"].get("shared")
            if key in shared:
                tid = shared[key]
            else:
                tid, timer_id = timer_id, timer_id + 1
                if key is not None:
                    shared[key] = tid
            row["timer"] = {"id": tid, "is_running": row["timer"]["is_running"]}
    keys = (*ENTRY_FIELDS, "updated_at")  # the live order (a row is built in another)
    entries = [{k: r[k] for k in keys} for r in sorted(rows, key=lambda r: r["id"])]
    planted = {k: sorted(r["id"] for r in v) for k, v in specials.items()}
    planted["missing_note"] = [
        r["id"] for r in entries if r["active"] and r["is_logged"] and r["note"] in (None, "")
    ]
    return Dataset(
        business=ref["business"], identities=ref["identities"], clients=ref["clients"],
        projects=ref["projects"], services=ref["services"], entries=entries, planted=planted,
        days_off=sorted(days_off), timezone=timezone, end=end,
    )  # fmt: skip
