"""Filters are checked and encoded before anything is sent."""

import datetime as dt

import pandas as pd
import pytest

from fbtime.api.query import FILTERS, check_per_page, encode_filters, to_id, to_utc
from fbtime.errors import QueryError


def test_booleans_and_dates_are_encoded_as_the_api_documents():
    params = encode_filters(
        {"billable": True, "team": False, "started_from": "2026-10-01", "client_id": "42"}
    )
    assert params == {
        "billable": "true",
        "client_id": "42",
        "team": "false",
        "started_from": "2026-10-01T00:00:00Z",
    }


@pytest.mark.parametrize(
    "value",
    [
        "2026-10-01T02:00:00+02:00",
        dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 10, 1),
        dt.date(2026, 10, 1),
        pd.Timestamp("2026-09-30 20:00", tz="America/New_York"),
    ],
)
def test_every_date_form_means_the_same_utc_instant(value):
    assert encode_filters({"started_to": value}) == {"started_to": "2026-10-01T00:00:00Z"}


def test_unknown_filter_names_the_valid_ones():
    with pytest.raises(QueryError) as info:
        encode_filters({"client": 3})
    assert "'client'" in str(info.value)
    for name in FILTERS:
        assert name in str(info.value)


def test_start_after_end_is_refused():
    with pytest.raises(QueryError, match=r"started_from .* is after started_to"):
        encode_filters({"started_from": "2026-10-02", "started_to": "2026-10-01"})


@pytest.mark.parametrize("value", ["yesterday-ish", "2026-13-45", 20261001, True])
def test_unreadable_dates_are_refused(value):
    with pytest.raises(QueryError, match="started_from"):
        encode_filters({"started_from": value})


@pytest.mark.parametrize("value", [0, 101, -1, 7.0, "30", True])
def test_per_page_must_be_1_to_100(value):
    with pytest.raises(QueryError, match="per_page"):
        check_per_page(value)


@pytest.mark.parametrize("value", ["12a", 1.5, None, -3, 0, True, "  "])
def test_ids_must_be_positive_whole_numbers(value):
    with pytest.raises(QueryError, match="client_id"):
        to_id(value, "client_id")


def test_booleans_must_be_real_booleans():
    with pytest.raises(QueryError, match="billable must be True or False"):
        encode_filters({"billable": "yes"})


def test_identity_with_unlogged_is_refused_as_the_api_would():
    with pytest.raises(QueryError, match="identity_id cannot be combined"):
        encode_filters({"identity_id": 5, "include_unlogged": True})


def test_dates_are_read_as_utc_whatever_form_they_take():
    expected = "2026-11-01T10:00:00Z"
    for value in (
        "2026-11-01T10:00:00Z",
        "2026-11-01 05:00:00-05:00",
        dt.datetime(2026, 11, 1, 10),
        pd.Timestamp("2026-11-01T11:00:00+01:00"),
    ):
        assert encode_filters({"updated_since": value})["updated_since"] == expected
    assert to_utc(dt.date(2026, 11, 1)) == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("value", ["²", "١٢", "1 2", 2**63, -1, 1.0, float("nan"), True])
def test_ids_must_be_plain_ascii_positive_64_bit_numbers(value):
    with pytest.raises(QueryError):
        to_id(value)
