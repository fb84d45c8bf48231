"""Bad input is refused with a typed error before any request is sent."""

import pytest

import fbtime


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"clientid": 5}, TypeError, "clientid"),
        (
            {"started_from": "2026-10-05", "started_to": "2026-10-01"},
            fbtime.QueryError,
            "after started_to",
        ),
        ({"started_from": "next tuesday"}, fbtime.QueryError, "started_from"),
        ({"per_page": 0}, fbtime.QueryError, "per_page"),
        ({"per_page": 101}, fbtime.QueryError, "per_page"),
        ({"client_id": "abc"}, fbtime.QueryError, "client_id"),
        ({"identity_id": 2.5}, fbtime.QueryError, "identity_id"),
        ({"billable": "yes"}, fbtime.QueryError, "billable"),
    ],
)
def test_load_refuses_bad_input_without_a_request(sandbox, kwargs, error, text):
    sandbox.reset_stats()
    with pytest.raises(error, match=text):
        fbtime.load_time_entries(sandbox.client(cache=False), **kwargs)
    assert sum(sandbox.stats().values()) == 0


def test_unknown_filter_on_list_names_the_valid_ones(sandbox):
    sandbox.reset_stats()
    with pytest.raises(fbtime.QueryError, match="valid filters are: billable, billed"):
        list(sandbox.client(cache=False).time_entries.list(clientid=5))
    assert sum(sandbox.stats().values()) == 0


@pytest.mark.parametrize("bad_id", ["12x", 3.5, None, -1])
def test_non_integer_ids_are_refused(sandbox, bad_id):
    sandbox.reset_stats()
    entries = sandbox.client(cache=False).time_entries
    for call in (entries.get, entries.delete, lambda i: entries.update(i, note="x")):
        with pytest.raises(fbtime.QueryError, match="entry id"):
            call(bad_id)
    assert sum(sandbox.stats().values()) == 0


def test_bad_field_values_on_create_are_refused(sandbox):
    sandbox.reset_stats()
    entries = sandbox.client(cache=False).time_entries
    with pytest.raises(fbtime.QueryError, match="duration"):
        entries.create(is_logged=True, duration="an hour", started_at="2026-11-02")
    with pytest.raises(fbtime.QueryError, match="writable fields are"):
        entries.create(is_logged=True, duration=60, started_at="2026-11-02", colour="red")
    assert sum(sandbox.stats().values()) == 0


def test_missing_token_or_business_says_how_to_configure(monkeypatch):
    for name in ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_BUSINESS_ID", "FRESHBOOKS_API_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(fbtime.ConfigError, match="FRESHBOOKS_ACCESS_TOKEN"):
        fbtime.load_time_entries()
    with pytest.raises(fbtime.ConfigError, match="FRESHBOOKS_BUSINESS_ID"):
        fbtime.Client(token="t")
