"""Reference answers of the wrong type or size: projects, services, clients and rates.

A project, service, client or rate whose fields have the wrong JSON type, a time that is
no time, a number beyond 64 bits or a rate beyond the cap reaches fbtime from a broken or
hostile server. Each must be an :class:`fbtime.UnexpectedAnswerError` naming the list and
the field, never a raw ValueError, TypeError or OverflowError, and never a silently wrong
amount. Answers are real HTTP from the sandbox, one answer replaced (``Sandbox.inject``).
"""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest

import fbtime
from fbtime.money import MAX_RATE
from fbtime.rates import amounts_in_cents


@pytest.fixture(scope="module")
def sb():
    with fbtime.Sandbox(entries=200, seed=5) as sandbox:
        yield sandbox


def answer(sb, endpoint: str, query: dict | None = None) -> dict:
    """The sandbox's real first page of ``endpoint`` (to be edited and served back)."""
    client = sb.client(cache=False)
    paths = {
        "projects": f"/projects/business/{sb.business_id}/projects",
        "services": f"/comments/business/{sb.business_id}/services",
        "team_member_rates": f"/comments/business/{sb.business_id}/team_member_rates",
        "service_rates": f"/comments/business/{sb.business_id}/service_rates",
    }
    return client.request("GET", paths[endpoint], params={"per_page": "100", **(query or {})})


def edited(body: dict, key: str, **fields) -> bytes:
    """The body with the first row's ``fields`` replaced, as JSON text (numbers of any size)."""
    rows = [dict(row) for row in body[key]]
    rows[0].update(fields)
    return json.dumps({**body, key: rows}).encode()


def serve(sb, endpoint: str, raw: bytes) -> None:
    sb.inject(200, endpoint=endpoint, raw=raw, headers={"Content-Type": "application/json"})


PROJECTS = [
    ("budget", 2**70),  # an Int64 column cannot hold it
    ("client_id", 2**64),
    ("created_at", "yesterday"),  # not a time
    ("updated_at", "2026-13-45 25:61:00"),
    ("budget", "lots"),
    ("internal", "no"),
    ("title", 42),
    ("rate", "1000000000000.00"),  # an amount's cap is 10**12: a rate's is far lower
    ("rate", "1e400"),
    ("fixed_price", "-5.00"),
]


@pytest.mark.parametrize(("field", "value"), PROJECTS, ids=[f"{f}={v!r}" for f, v in PROJECTS])
@pytest.mark.parametrize("loader", ["load_projects", "load_rates"])
def test_a_wrongly_typed_project_is_an_unexpected_answer(sb, loader, field, value):
    query = {"include_logged_duration": "true"} if loader == "load_rates" else None
    body = edited(answer(sb, "projects", query), "projects", **{field: value})
    serve(sb, "GET projects", body)
    with pytest.raises(fbtime.UnexpectedAnswerError, match=rf"project .*{field}"):
        getattr(fbtime, loader)(sb.client(cache=False))
    sb.clear_injections()


SERVICES = [("billable", "yes"), ("billable", 1), ("name", 42), ("name", ["Design"])]


@pytest.mark.parametrize(("field", "value"), SERVICES, ids=[f"{f}={v!r}" for f, v in SERVICES])
def test_a_wrongly_typed_service_is_an_unexpected_answer(sb, field, value):
    body = edited(answer(sb, "services"), "services", **{field: value})
    serve(sb, "GET services", body)
    with pytest.raises(fbtime.UnexpectedAnswerError, match=rf"service .*{field}"):
        fbtime.load_services(sb.client(cache=False))
    sb.clear_injections()


RATES = [
    ("team_member_rates", "rate", "NaN"),
    ("team_member_rates", "rate", {"amount": "95.00"}),
    ("team_member_rates", "rate", "1000000.01"),
    ("service_rates", "service_id", "7"),  # an id as text
    ("service_rates", "service_id", "seven"),
    ("service_rates", "rate", True),
]


@pytest.mark.parametrize(
    ("endpoint", "field", "value"), RATES, ids=[f"{e}.{f}={v!r}" for e, f, v in RATES]
)
def test_a_wrongly_typed_rate_is_an_unexpected_answer(sb, endpoint, field, value):
    body = edited(answer(sb, endpoint), endpoint, **{field: value})
    serve(sb, f"GET {endpoint}", body)
    with pytest.raises(fbtime.UnexpectedAnswerError, match=field):
        fbtime.load_rates(sb.client(cache=False))
    sb.clear_injections()


def test_the_largest_rate_times_the_longest_duration_is_exact():
    # one cap for every rate (MAX_RATE), and durations capped at 10**9 s: the product of the
    # two in cents stays far inside 64 bits, so the amount is the exact decimal one
    cents = int(MAX_RATE * 100)
    seconds = 10**9
    got = amounts_in_cents(np.array([cents, cents]), np.array([seconds, seconds - 1]))
    exact = [Decimal(cents) * s / 3600 for s in (seconds, seconds - 1)]
    assert [Decimal(int(c)) for c in got] == [
        e.quantize(Decimal(1), "ROUND_HALF_UP") for e in exact
    ]


def test_a_project_rate_is_capped_like_every_rate(sb):
    body = edited(answer(sb, "projects"), "projects", rate=str(MAX_RATE + Decimal("0.01")))
    serve(sb, "GET projects", body)
    with pytest.raises(fbtime.UnexpectedAnswerError, match="above the largest accepted"):
        fbtime.load_projects(sb.client(cache=False))
    sb.clear_injections()
    at_cap = edited(answer(sb, "projects"), "projects", rate=str(MAX_RATE))
    serve(sb, "GET projects", at_cap)
    projects = fbtime.load_projects(sb.client(cache=False))
    assert projects["rate"].iloc[0] == MAX_RATE
