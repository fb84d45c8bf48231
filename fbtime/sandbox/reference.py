"""The business around the time entries: project billing, the team, rates and currency.

Everything here is shaped as FreshBooks answers it (facts sheet ``freshbooks-rates.md``).
It is drawn from its own seeded stream (:func:`aux_random`), never from the entries'
one, so the entries keep their ids, times and durations whatever is added here.

Each case a rate computation must handle has a fixed home, so tests can rely on it:

* projects by index (:data:`BILLING`): every ``billing_method`` (``business_rate``,
  ``project_rate`` with a rate and with ``"0.00"``, ``team_member_rate``,
  ``service_rate``, null), fixed-price ones (partly and fully billed, and the
  inconsistent one the capture shows), stale ``rate``/``fixed_price`` values on projects
  whose billing method ignores them, one project over its time budget and one under;
* team-member rates by identity index (:data:`TEAM_RATES`: one ``"0.00"``, one missing),
  service rates by name (:data:`SERVICE_RATES`: one ``"0.00"``, one missing);
* a former teammate (:func:`retire`) whose old entries stay but who is in no list;
* one client billed in another currency than the business's (:data:`FOREIGN_CLIENT`).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

BUSINESS_CURRENCY = "CAD"
#: The business standard rate (``business_rate``): the API has no endpoint for it.
STANDARD_RATE = "100.00"
#: Team-member rates by identity index (owner first); None: no rate. Past the end: "90.00".
TEAM_RATES = ("150.00", "95.00", "0.00", None, "110.00", "85.00")
FORMER_RATE = "70.00"
SERVICE_RATES = {
    "Design": "95.00", "Development": "120.00", "Consulting": "150.00",
    "Project Management": None, "QA & Testing": "0.00", "Admin": "45.00",
}  # fmt: skip
#: Index of the client billed in USD, not the business's CAD (Acme Robotics).
FOREIGN_CLIENT = 3
#: The project every teammate logs time on (a ``team_member_rate`` one), so each kind of
#: team-member rate (set, zero, missing, former teammate's) meets real entries.
SHARED_PROJECT = 2
#: Services (indexes into the services list) of the ``service_rate`` projects, so rated,
#: ``"0.00"`` and unrated services all meet real entries.
SERVICE_PROJECT_SERVICES = {3: (0, 4, 3), 8: (1, 2, 4)}
#: project_type, billing_method, rate ("drawn": the seeded rate), fixed_price,
#: billed amount of a fixed price (None: computed from billed entries), budget.
BILLING: tuple[tuple[str, str | None, str | None, str | None, str | None, str | None], ...] = (
    ("hourly_rate", "project_rate", "drawn", "600.00", None, None),  # stale fixed_price
    ("fixed_price", None, None, "4500.00", "1500.00", None),
    ("hourly_rate", "team_member_rate", None, None, None, None),
    ("hourly_rate", "service_rate", None, None, None, None),
    ("hourly_rate", "business_rate", None, None, None, None),
    ("hourly_rate", None, None, None, None, None),
    ("hourly_rate", "project_rate", "0.00", None, None, None),
    ("fixed_price", "project_rate", None, None, "0.00", None),  # inconsistent, as captured
    ("hourly_rate", "service_rate", "drawn", None, None, None),  # stale rate, not used
    ("fixed_price", None, None, "2000.00", "2000.00", None),
    ("hourly_rate", "project_rate", "drawn", None, None, "over"),
    ("hourly_rate", "team_member_rate", None, None, None, "under"),
    ("hourly_rate", None, None, None, None, None),  # internal
    ("hourly_rate", "business_rate", None, None, None, None),  # internal
)
JOBS = ("Founder", "Designer", "Developer", "Developer", "Project Manager", "QA Analyst")
PENDING_INVITE = ("Sofia", "Rossi", "Contractor")
#: A member without a login ("Unassigned", ``no_seat_employee``): no identity, ever.
NO_LOGIN = ("Marc", "Dubois", "Bookkeeper")


def aux_random(seed: int) -> random.Random:
    """The reference data's own stream (a str seed is hashed with SHA-512: stable)."""
    return random.Random(f"fbtime-sandbox-reference-{seed}")


def naive(dt: datetime) -> str:
    """UTC time as the projects and team families print it: no zone, no fraction."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def naive_now() -> str:
    """The server's time of a write (real time, like every update time), :func:`naive`."""
    return naive(datetime.now(UTC))


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def project(k: int, pid: int, title: str, client_id: int | None, services: list[dict],
            drawn_rate: str | None, bid: int) -> dict[str, Any]:  # fmt: skip
    """Project ``k`` in the list endpoint's shape; dates and totals are set by :func:`complete`."""
    ptype, method, rate, fixed, _, _ = BILLING[k]
    return {
        "id": pid, "title": title, "description": None, "due_date": None,
        "client_id": client_id, "internal": client_id is None, "budget": None,
        "fixed_price": fixed, "rate": drawn_rate if rate == "drawn" else rate,
        "billing_method": method, "project_type": ptype, "project_manager_id": None,
        "active": True, "complete": False, "sample": False, "created_at": None,
        "updated_at": None, "logged_duration": None,
        "services": [{"business_id": bid, "id": s["id"], "name": s["name"],
                      "billable": s["billable"], "vis_state": 0} for s in services],
        "billed_amount": "0.00", "billed_status": "unbilled", "retainer_id": None,
        "expense_markup": "0", "service_estimate_type": "total_hours", "group_id": None,
    }  # fmt: skip


def project_services(k: int, drawn: list[dict], services: list[dict]) -> list[dict]:
    """The services of project ``k``: the drawn ones, or fixed ones on service-rate projects.

    Only billable services are swapped in, so an entry's ``billable`` and the entries'
    seeded stream stay as drawn.
    """
    fixed = SERVICE_PROJECT_SERVICES.get(k)
    return [services[i] for i in fixed] if fixed else drawn


def spread(assigned: dict[int, list[dict]], projects: list[dict]) -> None:
    """Give everyone the shared project and each client project someone, without drawing.

    Changes as few of the drawn picks as it can; each list keeps its length, so the
    entries' seeded stream is unchanged.
    """
    if len(projects) <= SHARED_PROJECT:
        return
    shared = projects[SHARED_PROJECT]
    people = list(assigned.values())
    for picks in people:
        if all(p["id"] != shared["id"] for p in picks):
            picks[-1] = shared
    for wanted in projects:
        count = Counter(p["id"] for picks in people for p in picks)
        if count[wanted["id"]]:
            continue
        best: tuple[int, list[dict], int] | None = None
        for picks in people:  # take a slot from the most shared project (never the shared one)
            for i, p in enumerate(picks):
                n = count[p["id"]]
                if p["id"] != shared["id"] and n > 1 and (best is None or n > best[0]):
                    best = (n, picks, i)
        if best is None:
            return
        best[1][best[2]] = wanted


def former_id(seed: int, taken: set[int]) -> int:
    """The identity id of the former teammate: drawn, and nobody else's."""
    rng = random.Random(f"fbtime-sandbox-former-{seed}")
    ident = rng.randint(1_000_000, 9_000_000)
    while ident in taken:
        ident += 1
    return ident


def retire(rows: list[dict], days_off: list[tuple[int, date]], successor: int,
           former: int) -> list[tuple[int, date]] | None:  # fmt: skip
    """Give the oldest third of ``successor``'s logged days to ``former``, who has left.

    The story: ``former`` worked until a cutoff day, then ``successor`` took the seat.
    Days off move with the entries; those after ``former``'s last logged day are dropped
    (they had left), so a missing-day audit finds exactly :attr:`Dataset.days_off`.
    Returns the new days off, or None when there are too few days to split.
    """
    days = sorted({r["local_started_at"][:10] for r in rows
                   if r["identity_id"] == successor and r["is_logged"]})  # fmt: skip
    if len(days) < 3:
        return None
    cutoff, last = days[len(days) // 3], days[len(days) // 3 - 1]
    for r in rows:
        if r["identity_id"] == successor and r["local_started_at"][:10] < cutoff:
            r["identity_id"] = former
    moved = [(former if i == successor and d.isoformat() < cutoff else i, d) for i, d in days_off]
    return [(i, d) for i, d in moved if i != former or d.isoformat() < last]


def _cents(rate: str | None) -> int | None:
    return None if rate is None else round(float(rate) * 100)


def complete(ds: Any, seed: int, former: int | None) -> None:
    """Fill what depends on the entries and build the team, rates and system of ``ds``."""
    rng = aux_random(seed)
    bid = ds.business["id"]
    _team(ds, rng, bid, former)
    _projects(ds, rng, bid)
    system_id = rng.randint(1_000_000, 9_999_999)
    while system_id == bid:
        system_id += 1
    when = datetime.combine(ds.end - timedelta(days=900), time(15, 4, 5))
    ds.system = {
        "id": system_id, "systemid": system_id, "accountid": ds.business["account_id"],
        "business_uuid": None, "business_type": None, "active": True,
        "name": ds.business["name"], "email": ds.owner["email"],
        "info_email": ds.owner["email"], "bus_phone": "4165550123", "mob_phone": "",
        "fax": "", "street": "220 King St W", "street2": None, "city": "Toronto",
        "province": "Ontario", "code": "M5H 1K4", "country": "Canada", "ip": "",
        "currency_code": BUSINESS_CURRENCY, "timezone": ds.timezone, "date": naive(when),
        "billing_status": "active", "test_system": False, "modern_system": True,
    }  # fmt: skip


def _team(ds: Any, rng: random.Random, bid: int, former: int | None) -> None:
    end: date = ds.end  # always set by data.generate
    group_id = rng.randint(100_000, 999_999)
    members, staff, rates = [], [], []
    for i, ident in enumerate(ds.identities):
        joined = datetime.combine(end - timedelta(days=max(30, 1200 - 40 * i)),
                                  time(14, (3 + i) % 60, 22))  # fmt: skip
        accepted = joined + timedelta(hours=2 + i)
        owner = ident["role"] == "owner"
        members.append({
            "uuid": _uuid(rng), "first_name": ident["first_name"],
            "middle_name": "Anne" if i == 2 else None, "last_name": ident["last_name"],
            "email": ident["email"], "job_title": JOBS[i] if i < len(JOBS) else None,
            "street_1": None, "street_2": None, "city": None, "province": None,
            "country": None, "postal_code": None, "phone_number": None, "business_id": bid,
            "business_role_name": "business_owner" if owner else "business_employee",
            "active": True, "identity_id": ident["id"],
            "invitation_date_accepted": naive(accepted), "created_at": naive(joined),
            "updated_at": naive(accepted),
        })  # fmt: skip
        staff.append({
            "id": group_id + 1 + i, "group_id": group_id, "role": ident["role"],
            "identity_id": ident["id"], "identity_uuid": _uuid(rng),
            "first_name": ident["first_name"], "last_name": ident["last_name"],
            "language": "fr" if i == 4 else "en", "email": ident["email"],
            "company": ds.business["name"], "business_id": bid,
            "unacknowledged_change": False, "active": True,
        })  # fmt: skip
        rate = TEAM_RATES[i] if i < len(TEAM_RATES) else "90.00"
        if rate is not None:
            rates.append({"rate": rate, "identity_id": ident["id"], "business_id": bid})
    if len(ds.identities) > 1:  # an invitation not accepted yet: no identity
        first, last, job = PENDING_INVITE
        invited = datetime.combine(end - timedelta(days=6), time(16, 20, 0))
        members.append({
            **{k: None for k in members[0]}, "uuid": _uuid(rng), "first_name": first,
            "last_name": last, "email": f"{first}.{last}@example.com".lower(),
            "job_title": job, "business_id": bid, "business_role_name": "business_employee",
            "active": True, "created_at": naive(invited), "updated_at": naive(invited),
        })  # fmt: skip
        first, last, job = NO_LOGIN  # added at no cost, logs no time: no identity either
        added = datetime.combine(end - timedelta(days=45), time(9, 40, 0))
        members.append({
            # its own stream: the draws after this one (projects' dates) stay as they were
            **{k: None for k in members[0]}, "uuid": _uuid(random.Random(f"no-login-{bid}")),
            "first_name": first, "last_name": last, "email": None, "job_title": job,
            "business_id": bid,
            "business_role_name": "no_seat_employee", "active": True,
            "created_at": naive(added), "updated_at": naive(added),
        })  # fmt: skip
    if former is not None:  # the former teammate's rate is still on file
        rates.append({"rate": FORMER_RATE, "identity_id": former, "business_id": bid})
    ds.team_members, ds.staff, ds.team_member_rates = members, staff, rates
    ds.business_group = {"id": group_id, "category": "business"}
    ds.former_teammates = [] if former is None else [former]
    ds.service_rates = [
        {"rate": SERVICE_RATES[s["name"]], "service_id": s["id"], "business_id": bid}
        for s in ds.services
        if SERVICE_RATES.get(s["name"]) is not None
    ]


def _rate(method: str | None, own: int | None, e: dict, team: dict, service: dict) -> int | None:
    """Cents per hour the project's billing method picks for entry ``e`` (None: no rate)."""
    if method == "project_rate":
        return own
    if method == "team_member_rate":
        return team.get(e["identity_id"])
    if method == "service_rate":
        return service.get(e["service_id"])
    standard = _cents(STANDARD_RATE)
    return standard if method == "business_rate" else service.get(e["service_id"], standard)


def _projects(ds: Any, rng: random.Random, bid: int) -> None:
    """Dates, budgets and billed amounts of the projects, from their live entries."""
    team = {r["identity_id"]: _cents(r["rate"]) for r in ds.team_member_rates}
    service = {r["service_id"]: _cents(r["rate"]) for r in ds.service_rates}
    end: date = ds.end  # always set by data.generate
    method = {p["id"]: (p["billing_method"], _cents(p["rate"])) for p in ds.projects}
    # per project: first day, seconds logged, billable entries, billed ones, billed cents
    seen: dict[int, list[Any]] = {p["id"]: [end.isoformat(), 0, 0, 0, 0] for p in ds.projects}
    for e in ds.entries:  # one pass: 200,000 entries must stay quick
        row = seen.get(e["project_id"])
        seconds = e["duration"]
        if row is None or not (seconds and e["active"] and e["is_logged"]):
            continue
        if e["started_at"] < row[0]:
            row[0] = e["started_at"][:10]
        row[1] += seconds
        if e["billable"]:
            row[2] += 1
            if e["billed"]:  # what was invoiced: hours x the rate the project's method picks
                row[3] += 1
                rate = _rate(*method[e["project_id"]], e, team, service)
                if rate is not None:
                    row[4] += (rate * seconds * 2 + 3600) // 7200
    for k, p in enumerate(ds.projects):
        first, logged, billable, billed, cents = seen[p["id"]]
        created = datetime.combine(date.fromisoformat(first), time(13, 0)) - timedelta(
            days=rng.randint(3, 40), minutes=rng.randint(0, 600)
        )
        p["created_at"] = naive(created)
        p["updated_at"] = naive(max(created, datetime.combine(end, time()) - timedelta(
            days=rng.randint(0, 20), minutes=rng.randint(0, 600))))  # fmt: skip
        p["group_id"] = rng.randint(1_000_000, 9_999_999)
        if k % 3 == 0 and not p["internal"]:
            p["due_date"] = (end + timedelta(days=rng.randint(20, 120))).isoformat()
        mark = BILLING[k][5] if k < len(BILLING) else None
        if mark == "over" and logged >= 7200:
            p["budget"] = logged * 3 // 4 // 3600 * 3600
        elif mark == "under":
            p["budget"] = (logged * 3 // 2 // 3600 + 10) * 3600
        if p["project_type"] == "fixed_price":
            p["billed_amount"] = BILLING[k][4] or "0.00"
            done, whole = float(p["billed_amount"]), float(p["fixed_price"] or 0)
            p["billed_status"] = (
                "unbilled" if done == 0 else "billed" if done >= whole else "partially_billed"
            )
        else:
            p["billed_amount"] = f"{cents // 100}.{cents % 100:02d}"
            p["billed_status"] = (
                "unbilled" if not billed else "billed" if billed == billable
                else "partially_billed"
            )  # fmt: skip
