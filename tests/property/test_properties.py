"""Properties that hold for any input hypothesis can think of."""

import datetime as dt
import json
import math
from urllib.parse import parse_qs, urlencode

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fbtime
from fbtime import schema
from fbtime.api.paging import read_pages
from fbtime.api.query import BOOL_FILTERS, encode_filters
from fbtime.frame import records_to_frame
from fbtime.sandbox.validate import parse_list_query

ids = st.integers(min_value=1, max_value=2**53)
moments = st.datetimes(
    min_value=dt.datetime(1990, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [
            None,
            dt.UTC,
            dt.timezone(dt.timedelta(hours=-5)),
            dt.timezone(dt.timedelta(hours=9, minutes=30)),
        ]
    ),
)
filters = st.fixed_dictionaries(
    {},
    optional={
        **{name: st.booleans() for name in BOOL_FILTERS},
        "client_id": ids,
        "identity_id": ids,
        "started_from": moments,
        "updated_since": moments,
    },
)


def utc_seconds(value: dt.datetime) -> dt.datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).replace(microsecond=0)


@settings(deadline=None)  # the machine's pace is no property of the code
@given(filters)
def test_filter_encoding_round_trips_through_the_sandbox_parser(given_filters):
    if given_filters.get("identity_id") and given_filters.get("include_unlogged"):
        given_filters.pop("include_unlogged")
    query = urlencode(encode_filters(given_filters))
    parsed = parse_list_query({k: v[-1] for k, v in parse_qs(query).items()})
    for name, value in given_filters.items():
        if isinstance(value, dt.datetime):
            assert parsed[name] == utc_seconds(value)
        else:
            assert parsed[name] == value


maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
entry = st.fixed_dictionaries(
    {
        "identity_id": ids,
        "is_logged": st.booleans(),
        "started_at": moments.map(lambda m: utc_seconds(m).strftime("%Y-%m-%dT%H:%M:%SZ")),
        "created_at": st.just("2026-01-01T00:00:00Z"),
        "duration": maybe(st.integers(min_value=0, max_value=10**6)),
        "client_id": maybe(ids),
        "project_id": maybe(ids),
        "note": maybe(st.text(max_size=40)),
        "active": st.booleans(),
        "billable": st.booleans(),
        "billed": st.booleans(),
        "internal": st.booleans(),
        "timer": maybe(st.fixed_dictionaries({"id": ids, "is_running": st.booleans()})),
    },
    optional={
        "local_timezone": st.sampled_from(["America/Toronto", "Asia/Tokyo"]),
        "service_id": maybe(ids),
    },
)
pages_of_rows = st.lists(entry, max_size=60, unique_by=lambda r: r["started_at"]).flatmap(
    lambda rows: st.tuples(st.just(rows), st.integers(min_value=1, max_value=25))
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages_of_rows)
def test_any_valid_page_sequence_becomes_one_typed_frame(case):
    rows, per_page = case
    for number, row in enumerate(rows, start=1):
        row["id"] = number
    pages = math.ceil(len(rows) / per_page)

    def get_page(n):
        body = {
            "time_entries": rows[(n - 1) * per_page : n * per_page],
            "meta": {"total": len(rows), "pages": pages, "per_page": per_page},
        }
        return json.loads(json.dumps(body))

    listing = read_pages(get_page, key="time_entries", per_page=per_page, workers=3)
    frame = records_to_frame(listing.rows)
    assert frame.index.tolist() == [r["id"] for r in rows]
    assert frame.index.is_unique
    for name in schema.FRAME_COLUMNS:
        assert str(frame[name].dtype) == schema.DTYPES[name], name
    assert frame["duration"].isna().tolist() == [r["duration"] is None for r in rows]
    notes = [None if pd.isna(n) else n for n in frame["note"]]
    assert notes == [r["note"] for r in rows]


@pytest.fixture(scope="module")
def shared_sandbox():
    with fbtime.Sandbox(entries=150, seed=21) as sb:
        yield sb


def state(sb):
    """Active entries as a multiset of their writable fields (ids aside: undo re-creates)."""
    frame = sb.entries()
    active = frame[frame["active"].astype(bool)]
    fields = [*fbtime.api.fields.WRITABLE, "local_started_at", "local_timezone"]
    return sorted(
        json.dumps(r, sort_keys=True, default=str) for r in active[fields].to_dict("records")
    )


operations = st.sampled_from(["mark_billed", "mark_unbilled", "note", "move", "delete"])


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations, st.integers(min_value=0, max_value=2**16), st.integers(1, 12))
def test_plan_apply_undo_is_the_identity_on_the_server(shared_sandbox, tmp_path, op, seed, size):
    sb = shared_sandbox
    client = sb.client(cache=False)
    before = state(sb)
    df = fbtime.load_time_entries(client, team=True, progress=False)
    # a former teammate's deleted entry cannot be re-created (the API refuses the identity);
    # test_undo_of_a_former_teammates_delete_says_why covers that case
    current = df[~df["identity_id"].isin(sb.dataset.former_teammates)]
    chosen = current.sample(n=min(size, len(current)), random_state=seed)
    plan = {
        "mark_billed": lambda: chosen.fbtime.mark_billed(),
        "mark_unbilled": lambda: chosen.fbtime.mark_unbilled(),
        "note": lambda: chosen.fbtime.update(note=f"note {seed}"),
        "move": lambda: chosen.fbtime.update(project_id=int(df["project_id"].dropna().iloc[0])),
        "delete": lambda: chosen.fbtime.delete(),
    }[op]()
    result = plan.apply(client, confirm=True, journal=tmp_path, progress=False)
    assert result.ok
    if len(plan):
        assert state(sb) != before
    undone = fbtime.undo(result.journal_path).apply(
        client, confirm=True, journal=tmp_path, progress=False
    )
    assert undone.ok
    assert state(sb) == before


def test_undo_of_a_former_teammates_delete_says_why(fresh_sandbox, tmp_path):
    sb = fresh_sandbox
    client = sb.client(cache=False)
    df = fbtime.load_time_entries(client, team=True, progress=False)
    theirs = df[df["identity_id"].isin(sb.dataset.former_teammates)].head(1)
    result = theirs.fbtime.delete().apply(client, confirm=True, journal=tmp_path, progress=False)
    undone = fbtime.undo(result.journal_path).apply(
        client, confirm=True, journal=tmp_path, progress=False
    )
    assert undone.counts["failed"] == 1
    assert "not a member of this business" in undone.rows["reason"].iloc[0]
