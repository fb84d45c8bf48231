"""load_time_entries() returns exactly the server's entries, typed as declared."""

import datetime as dt

import pandas as pd
import pytest
from groundtruth import truth

import fbtime
from fbtime import schema


def load(sb, **kw):
    return fbtime.load_time_entries(sb.client(cache=False), progress=False, **kw)


def ids(frame):
    return sorted(frame.index.tolist())


def utc(value):
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def expected_ids(
    sb, *, team=False, include_unlogged=False, include_deleted=False, identity_id=None, **conditions
):
    t = truth(sb)
    mask = pd.Series(True, index=t.index)
    if identity_id is not None:
        mask &= t["identity_id"] == identity_id
    elif not team:
        mask &= t["identity_id"] == sb.identity_id
    if not include_unlogged:
        mask &= t["is_logged"].astype(bool)
    if not include_deleted:
        mask &= t["active"].astype(bool)
    for name, value in conditions.items():
        if name == "started_from":
            mask &= t["started_at"] >= utc(value)
        elif name == "started_to":
            mask &= t["started_at"] <= utc(value)
        elif name == "updated_since":
            mask &= t["updated_at"] >= utc(value)
        else:
            mask &= t[name] == value
    return sorted(t.index[mask].tolist())


CASES = [
    {},
    {"team": True},
    {"team": True, "billable": True},
    {"team": True, "billable": False},
    {"team": True, "billed": True},
    {"team": True, "billed": False, "billable": True},
    {"team": True, "include_unlogged": True},
    {"team": True, "include_deleted": True},
    {"team": True, "include_deleted": True, "include_unlogged": True},
    {"billable": True, "billed": False},
]


@pytest.mark.parametrize("filters", CASES, ids=lambda f: ",".join(f) or "default")
def test_bool_filters_match_ground_truth(sandbox, filters):
    assert ids(load(sandbox, **filters)) == expected_ids(sandbox, **filters)


def test_client_and_identity_filters(sandbox):
    t = truth(sandbox)
    some_client = int(t["client_id"].dropna().mode()[0])
    other = int(t.loc[t["identity_id"] != sandbox.identity_id, "identity_id"].iloc[0])
    assert ids(load(sandbox, team=True, client_id=some_client)) == expected_ids(
        sandbox, team=True, client_id=some_client
    )
    assert ids(load(sandbox, identity_id=other)) == expected_ids(sandbox, identity_id=other)
    assert len(ids(load(sandbox, identity_id=other))) > 0


def test_started_range_is_inclusive_at_both_ends(sandbox):
    t = truth(sandbox)
    logged = t[t["is_logged"].astype(bool) & t["active"].astype(bool)]
    start, end = logged["started_at"].sort_values().iloc[[10, 200]]
    frame = load(sandbox, team=True, started_from=start, started_to=end)
    assert start in frame["started_at"].tolist() and end in frame["started_at"].tolist()
    assert ids(frame) == expected_ids(sandbox, team=True, started_from=start, started_to=end)


def test_updated_since_sees_updates_and_deletes(fresh_sandbox):
    sb = fresh_sandbox
    client = sb.client(cache=False)
    mark = dt.datetime.now(dt.UTC)
    first, second = load(sb).index[:2]
    client.time_entries.update(int(first), note="changed")
    client.time_entries.delete(int(second))
    frame = load(sb, updated_since=mark, include_deleted=True)
    assert ids(frame) == sorted([int(first), int(second)])
    assert not frame.loc[int(second), "active"]


@pytest.mark.parametrize("per_page", [1, 7, 100])
def test_page_size_does_not_change_the_frame(sandbox, per_page):
    reference = load(sandbox, team=True, started_from="2026-08-01", per_page=100)
    frame = load(sandbox, team=True, started_from="2026-08-01", per_page=per_page)
    pd.testing.assert_frame_equal(frame, reference)


def test_rows_and_durations_match_the_servers_meta_totals(sandbox):
    frame = load(sandbox, team=True, include_unlogged=True)
    meta = frame.attrs["fbtime"]["meta"]
    assert len(frame) == meta["total"]
    logged = frame[frame["is_logged"]]
    assert int(logged["duration"].sum()) == meta["total_logged"]
    unbilled = logged[logged["billable"] & ~logged["billed"]]
    assert int(unbilled["duration"].sum()) == meta["total_unbilled"]


def test_dtypes_are_exactly_as_declared(sandbox):
    frame = load(sandbox, team=True, include_unlogged=True, include_deleted=True)
    for name in schema.FRAME_COLUMNS:
        assert str(frame[name].dtype) == schema.DTYPES[name], name
    assert str(frame.index.dtype) == "Int64" and frame.index.name == "id"
    running = frame.fbtime.running()  # open segments: a running timer's closed ones have time
    assert len(running) > 0 and running["timer_is_running"].all()
    assert running["duration"].isna().all() and running["hours"].isna().all()


def test_empty_result_has_the_same_columns_and_dtypes(sandbox):
    frame = load(sandbox, team=True, started_from="1999-01-01", started_to="1999-01-02")
    assert len(frame) == 0
    assert frame.dtypes.to_dict() == schema.empty_frame().dtypes.to_dict()
    assert frame.attrs["fbtime"]["meta"]["total"] == 0


def test_attrs_record_business_filters_and_meta(sandbox):
    frame = load(sandbox, team=True, billable=True)
    info = frame.attrs["fbtime"]
    assert info["business_id"] == sandbox.business_id
    assert info["filters"] == {"billable": "true", "team": "true"}
    assert set(info["meta"]) >= {"total", "total_logged", "total_unbilled"}
    assert dt.datetime.fromisoformat(info["fetched_at"]).tzinfo is not None


def test_values_survive_the_trip_unchanged(sandbox):
    frame = load(sandbox, team=True)
    t = truth(sandbox).loc[frame.index.tolist()]
    assert frame["note"].fillna("<null>").tolist() == t["note"].fillna("<null>").tolist()
    assert (frame["started_at"] == t["started_at"]).all()
    assert frame["duration"].tolist() == t["duration"].tolist()


def test_unknown_new_fields_are_kept(fresh_sandbox):
    rows = [dict(fresh_sandbox.entries().drop(columns="updated_at").iloc[0])]
    rows[0]["brand_new_field"] = "kept"
    from fbtime.frame import records_to_frame

    assert records_to_frame(rows)["brand_new_field"].tolist() == ["kept"]


def test_a_frame_read_back_from_parquet_is_identical(sandbox, tmp_path):
    frame = load(sandbox, team=True, include_unlogged=True)
    frame.to_parquet(tmp_path / "entries.parquet")
    back = fbtime.as_time_entries(pd.read_parquet(tmp_path / "entries.parquet"))
    pd.testing.assert_frame_equal(back, frame)


def test_a_frame_read_back_from_csv_retypes_to_the_schema(sandbox, tmp_path):
    frame = load(sandbox, team=True, include_unlogged=True)
    frame.to_csv(tmp_path / "entries.csv")
    back = fbtime.as_time_entries(pd.read_csv(tmp_path / "entries.csv"))
    # CSV cannot tell an empty note from a missing one; everything else survives.
    text = [c for c in frame.columns if frame[c].dtype == "str"]
    pd.testing.assert_frame_equal(back.drop(columns=text), frame.drop(columns=text))
    assert back["note"].fillna("").tolist() == frame["note"].fillna("").tolist()


def test_progress_bar_appears_for_multi_page_loads(sandbox, capsys):
    fbtime.load_time_entries(sandbox.client(cache=False), team=True, per_page=50, progress=True)
    assert "time entries" in capsys.readouterr().err
