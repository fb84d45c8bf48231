"""df.fbtime: validation messages, selections, names, and never touching the caller's frame."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import fbtime.accessor  # registers df.fbtime
from fbtime.errors import QueryError
from fbtime.schema import as_time_entries

NOW = pd.Timestamp("2026-03-20T12:00:00Z")


def ids(frame: pd.DataFrame) -> list[int]:
    return sorted(int(i) for i in frame.index)


# -- validation -----------------------------------------------------------------------------
def test_missing_required_column_names_it(small_frame):
    with pytest.raises(AttributeError, match=r"missing required column\(s\): billable"):
        _ = small_frame.drop(columns="billable").fbtime


def test_wrong_dtypes_name_columns_and_fix(small_frame):
    bad = small_frame.astype({"duration": "float64", "active": "object"})
    with pytest.raises(AttributeError) as info:
        _ = bad.fbtime
    message = str(info.value)
    assert "duration is float64, expected Int64" in message
    assert "active is object, expected boolean" in message
    assert "fbtime.as_time_entries(df)" in message


def test_id_as_column_is_a_dtype_problem(small_frame):
    with pytest.raises(AttributeError, match="id column"):
        _ = small_frame.reset_index().fbtime


def test_plain_frame_says_what_it_is():
    with pytest.raises(AttributeError) as info:
        _ = pd.DataFrame({"a": [1, 2]}).fbtime
    message = str(info.value)
    assert "not an fbtime time-entry frame" in message
    assert "fbtime.load_time_entries" in message and "fbtime.as_time_entries" in message


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_frame_read_back_and_retyped_works(small_frame, tmp_path, fmt):
    path = tmp_path / f"entries.{fmt}"
    if fmt == "csv":
        small_frame.to_csv(path)
        back = as_time_entries(pd.read_csv(path))
    else:
        small_frame.to_parquet(path)
        back = as_time_entries(pd.read_parquet(path))
    assert_frame_equal(back.fbtime.by_client(), small_frame.fbtime.by_client())


# -- never mutates ----------------------------------------------------------------------------
CALLS = {
    "unbilled": lambda a: a.unbilled(),
    "billed": lambda a: a.billed(),
    "billable": lambda a: a.billable(),
    "internal": lambda a: a.internal(),
    "running": lambda a: a.running(),
    "between": lambda a: a.between("2026-03-01", "2026-03-10"),
    "for_client": lambda a: a.for_client(10, None),
    "for_project": lambda a: a.for_project(100),
    "for_teammate": lambda a: a.for_teammate(1),
    "with_names": lambda a: a.with_names(clients={10: "Acme"}, teammates={1: "Ann"}),
    "by_client": lambda a: a.by_client(),
    "by_project": lambda a: a.by_project(),
    "by_teammate": lambda a: a.by_teammate(),
    "by_service": lambda a: a.by_service(),
    "by_period": lambda a: a.by_period("D", by="client"),
    "totals": lambda a: a.totals(),
    "utilization": lambda a: a.utilization(),
    "audit": lambda a: a.audit(now=NOW),
    "summary": lambda a: str(a.summary(now=NOW)),
    "plot": lambda a: a.plot.hours_by_client(),
}


@pytest.mark.parametrize("name", CALLS)
def test_caller_frame_is_unchanged(mixed_frame, name):
    before = mixed_frame.copy()
    attrs = {"fbtime": dict(mixed_frame.attrs["fbtime"])}
    CALLS[name](mixed_frame.fbtime)
    assert_frame_equal(mixed_frame, before)
    assert mixed_frame.attrs == attrs
    if name == "plot":
        import matplotlib.pyplot as plt

        plt.close("all")


# -- selections -------------------------------------------------------------------------------
def test_selections_on_mixed_frame(mixed_frame):
    acc = mixed_frame.fbtime
    assert ids(acc.unbilled()) == [1, 7]
    assert ids(acc.billed()) == [2]
    assert ids(acc.billable()) == [1, 2, 4, 6, 7]
    assert ids(acc.internal()) == [3]
    assert ids(acc.running()) == [4, 6]


def test_selection_drops_server_totals_but_keeps_load_facts(mixed_frame):
    part = mixed_frame.fbtime.unbilled()
    assert "meta" not in part.attrs["fbtime"]
    assert part.attrs["fbtime"]["business_id"] == 1
    assert part.fbtime.totals().agrees is None


@pytest.mark.parametrize(
    "start,end",
    [
        ("2026-03-03", "2026-03-04T15:00:00"),
        (dt.date(2026, 3, 3), dt.datetime(2026, 3, 4, 15)),
        (pd.Timestamp("2026-03-02T19:00-05:00"), pd.Timestamp("2026-03-04T15:00Z")),
    ],
)
def test_between_is_start_inclusive_end_exclusive(small_frame, start, end):
    # entries start 03-02 14:00Z, 03-03 16:00Z, 03-04 15:00Z
    assert ids(small_frame.fbtime.between(start, end)) == [3]
    assert ids(small_frame.fbtime.between("2026-03-03T16:00Z", None)) == [2, 3]


def test_between_rejects_bad_bounds(small_frame):
    with pytest.raises(QueryError):
        small_frame.fbtime.between("not a date", None)
    with pytest.raises(QueryError, match="before start"):
        small_frame.fbtime.between("2026-03-05", "2026-03-01")


def test_for_group_by_id_name_and_none(mixed_frame):
    acc = mixed_frame.fbtime
    assert ids(acc.for_client(20)) == [7]
    assert ids(acc.for_client([20], None)) == [3, 7]
    assert ids(acc.for_teammate(2)) == [7]
    named = acc.with_names(clients={10: "Acme", 20: "Globex"})
    assert ids(named.fbtime.for_client("Globex", 10)) == [1, 2, 4, 5, 6, 7]
    with pytest.raises(QueryError, match="with_names"):
        acc.for_project("Website")


# -- names ------------------------------------------------------------------------------------
def test_with_names_from_each_kind_of_source(small_frame):
    clients = pd.DataFrame({"id": [10, 20], "organization": ["Acme", "Globex"]})
    projects = pd.DataFrame({"name": ["Site"]}, index=pd.Index([100], name="id"))
    named = small_frame.fbtime.with_names(
        clients=clients,
        projects=lambda: projects,
        services=pd.Series({1000: "Design"}),
        teammates={1: "Ann"},
    )
    assert named["client_name"].tolist() == ["Acme", "Acme", "Globex"]
    assert named["project_name"].tolist() == ["Site"] * 3
    assert named["service_name"].tolist() == ["Design"] * 3
    assert named["teammate_name"].iloc[:2].tolist() == ["Ann", "Ann"]
    assert pd.isna(named["teammate_name"].iloc[2])
    assert str(named["client_name"].dtype) == "str"
    assert "client_name" not in small_frame.fbtime.with_names(clients=None)


def test_with_names_rejects_frame_without_a_name_column(small_frame):
    with pytest.raises(QueryError, match="name column"):
        small_frame.fbtime.with_names(clients=pd.DataFrame({"id": [10], "x": [1]}))


def test_summary_renders_text_and_html(mixed_frame):
    summary = mixed_frame.fbtime.with_names(clients={10: "Acme"}).fbtime.summary(now=NOW)
    text = str(summary)
    assert "server totals: agree" in text and "Acme" in text
    assert "running" in text  # audit counts
    html = summary._repr_html_()
    assert "<table" in html and "Acme" in html and "agree" in html


def test_every_public_method_documents_that_it_does_not_modify_the_frame():
    classes = (fbtime.accessor.TimeEntriesAccessor, fbtime.accessor.PlotMethods)
    for cls in classes:
        for name, member in vars(cls).items():
            if name.startswith("_"):
                continue
            doc = " ".join((getattr(member, "__doc__", None) or member.fget.__doc__).split())
            assert "caller's frame is not modified" in doc, f"{cls.__name__}.{name}"
