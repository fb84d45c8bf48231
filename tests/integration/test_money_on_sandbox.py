"""Amounts, names, budgets and currency flags on a sandbox equal a ground truth computed here.

The truth is built with plain pandas from the sandbox's own endpoint data (``sb.dataset``:
projects, team-member rates, service rates, clients, the system's currency) and its rows
(``sb.entries()``), following the facts sheet's decisions table, never by calling fbtime's
rate code. Everything fbtime reads comes over real HTTP.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import fbtime
from fbtime.money import MONEY, cents_of

END = date(2026, 3, 31)
NOW = pd.Timestamp("2026-04-15T12:00:00Z")


@pytest.fixture(scope="module")
def sb():
    with fbtime.Sandbox(entries=2000, seed=1, end=END) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def loaded(sb):
    client = sb.client(cache=False)
    rates = fbtime.load_rates(client)
    team = fbtime.load_team(client)
    df = fbtime.load_time_entries(client, team=True, include_unlogged=True, progress=False)
    df = df.fbtime.with_names(clients=fbtime.load_clients(client), team=team)
    return df, rates, team


def cents(text: str | None) -> float:
    return np.nan if text is None else round(float(text) * 100)


def truth(sb, standard: str | None = None, overrides: dict | None = None) -> pd.DataFrame:
    """Per entry: expected rate (cents), rate_source and amount (cents), from sb.dataset."""
    ds = sb.dataset
    e = sb.entries().set_index("id")
    e = e.astype({c: "float64" for c in ("project_id", "identity_id", "service_id", "duration")})
    projects = pd.DataFrame(ds.projects).set_index("id")
    team = {r["identity_id"]: cents(r["rate"]) for r in ds.team_member_rates}
    service = {r["service_id"]: cents(r["rate"]) for r in ds.service_rates}
    ptype = e["project_id"].map(projects["project_type"]).to_numpy(dtype=object)
    method = e["project_id"].map(projects["billing_method"]).to_numpy(dtype=object)
    own = e["project_id"].map(projects["rate"].map(cents, na_action="ignore")).to_numpy(float)
    by_team = e["identity_id"].map(team).to_numpy(dtype=float)
    by_service = e["service_id"].map(service).to_numpy(dtype=float)
    std = np.full(len(e), np.nan if standard is None else cents(standard))
    no_project = e["project_id"].isna().to_numpy()
    fallback = (pd.isna(method) & (ptype == "hourly_rate")) | no_project
    fixed = ptype == "fixed_price"
    choices = [
        (method == "project_rate", own, "project_rate"),
        (method == "team_member_rate", by_team, "team_member_rate"),
        (method == "service_rate", by_service, "service_rate"),
        (method == "business_rate", std, "standard_rate"),
        (fallback & ~np.isnan(by_service), by_service, "service_rate"),
        (fallback, std, "standard_rate"),
    ]
    rate = np.full(len(e), np.nan)
    source = np.full(len(e), "missing", dtype=object)
    decided = fixed.copy()
    for mask, value, name in choices:
        hit = mask & ~decided
        rate[hit] = value[hit]
        source[hit & ~np.isnan(value)] = name
        decided |= hit
    source[fixed] = "fixed_price"
    for kind, table in (overrides or {}).items():
        for key, value in table.items():
            if kind == "project":
                hit = (e["project_id"] == key).to_numpy()
            else:
                column = "identity_id" if kind == "teammate" else "service_id"
                hit = ((e["project_id"] == key[0]) & (e[column] == key[1])).to_numpy()
            rate[hit], source[hit] = float(value * 100), "override"
    seconds = e["duration"].to_numpy(dtype=float)
    amount = np.where(~np.isnan(rate) & ~np.isnan(seconds),
                      (rate * seconds * 2 + 3600) // 7200, np.nan)  # fmt: skip
    return pd.DataFrame({"rate": rate, "rate_source": source, "amount": amount,
                         "seconds": seconds, "billable": e["billable"].to_numpy()},
                        index=e.index)  # fmt: skip


def as_cents(series: pd.Series) -> pd.Series:
    values, valid = cents_of(series)
    return pd.Series(np.where(valid, values, np.nan), index=pd.Index(series.index, dtype="Int64"))


def same(got: pd.Series, want: pd.Series) -> None:
    """Equal values, positions and NAs (fbtime's side indexed by the frame's Int64 ids)."""
    assert got.index.astype("int64").tolist() == want.index.astype("int64").tolist()
    kind = float if pd.api.types.is_numeric_dtype(want.dtype) else object
    np.testing.assert_array_equal(np.asarray(got, dtype=kind), np.asarray(want, dtype=kind))


def test_amounts_follow_each_billing_method_exactly(sb, loaded):
    df, rates, _ = loaded
    priced = df.fbtime.with_rates(rates, standard_rate=sb.dataset.standard_rate)
    want = truth(sb, sb.dataset.standard_rate).loc[priced.index.astype("int64")]
    assert priced["rate"].dtype == MONEY and priced["amount"].dtype == MONEY
    assert list(priced["rate_source"].cat.categories) == list(fbtime.rates.RATE_SOURCES)
    same(priced["rate_source"].astype(object), want["rate_source"])
    same(as_cents(priced["rate"]), want["rate"])
    same(as_cents(priced["amount"]), want["amount"])
    seen = set(priced["rate_source"].astype(str))
    assert seen == {"project_rate", "team_member_rate", "service_rate", "standard_rate",
                    "fixed_price", "missing"}  # fmt: skip
    assert priced.loc[priced["rate_source"] == "missing", "amount"].isna().all()  # never 0
    assert priced.loc[priced["rate_source"] == "fixed_price", "amount"].isna().all()
    zero = priced.loc[priced["rate"] == 0]  # a zero rate is a rate
    assert len(zero) and (zero["amount"].dropna() == 0).all()
    assert set(zero["rate_source"].astype(str)) >= {"project_rate", "team_member_rate",
                                                    "service_rate"}  # fmt: skip
    assert (priced["currency"] == "CAD").all()
    assert not df.columns.isin(["amount", "rate"]).any()  # the caller's frame is untouched


def test_without_a_standard_rate_business_rate_entries_are_missing(sb, loaded):
    df, rates, _ = loaded
    priced = df.fbtime.with_rates(rates)
    want = truth(sb).loc[priced.index.astype("int64")]
    same(priced["rate_source"].astype(object), want["rate_source"])
    projects = pd.DataFrame(sb.dataset.projects).set_index("id")
    business = priced["project_id"].map(projects["billing_method"]) == "business_rate"
    assert business.any() and (priced.loc[business, "rate_source"] == "missing").all()


def test_overrides_win_over_the_api_most_specific_first(sb, loaded):
    df, rates, _ = loaded
    projects = pd.DataFrame(sb.dataset.projects)
    by_method = {m: projects.loc[projects["billing_method"] == m, "id"].iloc[0]
                 for m in ("project_rate", "team_member_rate", "service_rate")}  # fmt: skip
    member_project = int(by_method["team_member_rate"])
    someone = int(df.loc[df["project_id"] == member_project, "identity_id"].iloc[0])
    service_project = int(by_method["service_rate"])
    a_service = int(df.loc[df["project_id"] == service_project, "service_id"].iloc[0])
    overrides = {
        "project": {int(by_method["project_rate"]): 200, member_project: 50},
        "teammate": {(member_project, someone): Decimal("77.70")},
        "service": {(service_project, a_service): "12.34"},
    }
    as_numbers = {"project": {k: Decimal(v) for k, v in overrides["project"].items()},
                  "teammate": {(member_project, someone): Decimal("77.70")},
                  "service": {(service_project, a_service): Decimal("12.34")}}  # fmt: skip
    priced = df.fbtime.with_rates(rates, standard_rate="100", overrides=overrides)
    want = truth(sb, "100", as_numbers).loc[priced.index.astype("int64")]
    same(as_cents(priced["amount"]), want["amount"])
    mine = priced[(priced["project_id"] == member_project) & (priced["identity_id"] == someone)]
    assert (mine["rate"] == Decimal("77.70")).all()  # the teammate beats the project override
    others = priced[(priced["project_id"] == member_project) & (priced["identity_id"] != someone)]
    assert (others["rate"] == 50).all() and (others["rate_source"] == "override").all()


def test_totals_are_the_exact_sum_of_per_entry_cents(sb, loaded):
    df, rates, _ = loaded
    priced = df.fbtime.with_rates(rates, standard_rate="100")
    want = truth(sb, "100").loc[priced.index.astype("int64")]
    live = priced["active"] & priced["is_logged"] & priced["duration"].notna()
    billable = live & priced["billable"]
    unbilled = billable & ~priced["billed"]
    totals = priced.fbtime.totals()
    assert totals.billable_amount == Decimal(int(want.loc[billable, "amount"].sum())) / 100
    assert totals.unbilled_amount == Decimal(int(want.loc[unbilled, "amount"].sum())) / 100
    assert totals.currency == "CAD" and totals.agrees is True
    by_client = priced.fbtime.by_client()
    assert by_client["unbilled_amount"].sum() == totals.unbilled_amount
    assert by_client["billable_amount"].sum() == totals.billable_amount
    assert priced.fbtime.aging(NOW)["unbilled_amount"].sum() == totals.unbilled_amount
    assert priced.fbtime.by_period("W")["unbilled_amount"].sum() == totals.unbilled_amount
    gap = want.loc[billable & (want["rate_source"] == "missing"), "seconds"].sum() / 3600
    assert totals.missing_rate_hours == pytest.approx(gap)


def test_a_client_in_another_currency_is_flagged_never_converted(sb, loaded):
    df, rates, _ = loaded
    priced = df.fbtime.with_rates(rates, standard_rate="100")
    business = sb.dataset.system["currency_code"]
    foreign = {c["id"]: c for c in sb.dataset.clients if c["currency_code"] != business}
    assert rates.currency == business == "CAD"
    theirs = priced[priced["client_id"].isin(list(foreign))]
    assert (theirs["client_currency"] == "USD").all() and (theirs["currency"] == "CAD").all()
    found = priced.fbtime.audit(["foreign_currency"], now=NOW)
    (only,) = foreign.values()
    assert found["client"].tolist() == [only["organization"]]
    assert found["id"].isna().all() and "not converted" in found["detail"].iloc[0]
    unconverted = truth(sb, "100").loc[theirs.index, "amount"].sum()
    assert as_cents(theirs["amount"]).sum() == unconverted


def test_money_rules_find_exactly_the_entries_the_data_holds(sb, loaded):
    df, rates, _ = loaded
    priced = df.fbtime.with_rates(rates, standard_rate="100")
    want = truth(sb, "100").loc[priced.index.astype("int64")]
    live = priced["active"] & priced["is_logged"]  # timer segments are reported as timers
    billable = live & priced["billable"]
    expect = {
        "missing_rate": billable & (want["rate_source"] == "missing"),
        "zero_rate": billable & (want["rate"] == 0),
        "fixed_price_billable": billable & (want["rate_source"] == "fixed_price"),
    }
    for rule, mask in expect.items():
        found = priced.fbtime.audit([rule], now=NOW)
        assert sorted(found["id"]) == sorted(priced.index[mask.to_numpy()]), rule
        assert len(found) > 0


def test_over_budget_and_fixed_price_value_match_the_projects(sb, loaded):
    df, rates, _ = loaded
    projects = pd.DataFrame(sb.dataset.projects).set_index("id")
    e = sb.entries()
    live = e[e["active"] & e["is_logged"] & e["duration"].notna()]
    logged = live.groupby("project_id")["duration"].sum()
    over = [p for p, row in projects.iterrows()
            if pd.notna(row["budget"]) and logged.get(p, 0) > row["budget"]]  # fmt: skip
    table = df.fbtime.budget(rates)
    assert sorted(table.index[table["over_budget"].fillna(False).to_numpy(bool)]) == over
    assert (table["logged_hours"] == logged.reindex(table.index).fillna(0) / 3600).all()
    found = df.fbtime.audit(["over_budget"], now=NOW, rates=rates)
    assert len(found) == len(over) == 1
    assert projects.loc[over[0], "title"] in found["detail"].iloc[0]
    fixed = projects[projects["project_type"] == "fixed_price"]
    for pid, row in fixed.iterrows():
        left = table.loc[pid, "unbilled_fixed_price"]
        if pd.isna(row["fixed_price"]):
            assert pd.isna(left)
        else:
            assert left == max(Decimal(row["fixed_price"]) - Decimal(row["billed_amount"]), 0)
    summary = str(df.fbtime.with_rates(rates, standard_rate="100").fbtime.summary(rates=rates))
    assert "fixed-price value not billed yet 3,000.00" in summary
    assert "money (CAD): billable" in summary


def test_every_teammate_is_named_and_a_former_one_is_unknown(sb, loaded):
    df, _, team = loaded
    for ident in sb.dataset.identities:
        names = df.loc[df["identity_id"] == ident["id"], "teammate_name"]
        assert len(names) and (names == f"{ident['first_name']} {ident['last_name']}").all()
    (former,) = sb.dataset.former_teammates
    assert (df.loc[df["identity_id"] == former, "teammate_name"] == f"Unknown ({former})").all()
    assert df["teammate_name"].notna().all()
    assert former not in team.index and len(team) == len(sb.dataset.identities)
    found = df.fbtime.audit(["running"], now=NOW)
    assert set(found["teammate"]) <= set(team["name"]) | {f"Unknown ({former})"}
    heat = df.fbtime.plot.weekday_heatmap()
    labels = {t.get_text() for t in heat.get_yticklabels()}
    assert f"Unknown ({former})" in labels and "Olivia Tremblay" in labels
    import matplotlib.pyplot as plt

    plt.close("all")


# -- loaders: typed, paged, bounded, cached ------------------------------------------------
def test_team_and_rates_are_paged_typed_and_cached(sb, cache_dir):
    client = sb.client()
    sb.reset_stats()
    team = fbtime.load_team(client, per_page=2)
    stats = sb.stats()
    members = len(sb.dataset.team_members)  # current ones and a pending invitation
    assert stats["GET team_members"] == -(-members // 2)  # meta.total bounds the pages
    assert stats["GET staff"] == len(sb.dataset.staff) // 2 + 1  # no meta: until a short page
    assert str(team.index.dtype) == "Int64" and team.index.name == "identity_id"
    assert dict(team.dtypes.astype(str)) == fbtime.load.TEAM_COLUMNS
    sb.reset_stats()
    rates = fbtime.load_rates(client, per_page=2)
    stats = sb.stats()
    assert stats["GET team_member_rates"] == len(sb.dataset.team_member_rates) // 2 + 1
    assert stats["GET service_rates"] == len(sb.dataset.service_rates) // 2 + 1
    assert stats["GET projects"] == -(-len(sb.dataset.projects) // 2)
    assert stats["GET system"] == 1
    assert rates.team_member_rates.dtype == MONEY and rates.service_rates.dtype == MONEY
    assert {int(k): str(v) for k, v in rates.team_member_rates.items()} == {
        r["identity_id"]: r["rate"] for r in sb.dataset.team_member_rates
    }
    assert rates.projects["budget"].dtype == "Int64"
    assert rates.projects["fixed_price"].dtype == MONEY
    sb.reset_stats()
    fbtime.load_team(client, per_page=2)
    fbtime.load_rates(client, per_page=2)
    assert sum(sb.stats().values()) == 0  # cached like entries


def test_load_projects_keeps_every_field_the_api_sends(sb):
    projects = fbtime.load_projects(sb.client(cache=False))
    sent = set(sb.dataset.projects[0])
    assert sent - {"title"} <= set(projects.columns) | {"id"}
    rated = projects[projects["rate"].notna()]
    assert {int(k): str(v) for k, v in rated["rate"].items()} == {
        p["id"]: p["rate"] for p in sb.dataset.projects if p["rate"] is not None
    }


def test_empty_lists_are_typed_too(sb):
    client = sb.client(cache=False)
    sb.inject(200, endpoint="team_members", body={"response": [], "meta": {"total": 0}})
    sb.inject(200, endpoint="staff", body={"response": {"business_group": {"members": []}}})
    team = fbtime.load_team(client)
    assert team.empty and dict(team.dtypes.astype(str)) == fbtime.load.TEAM_COLUMNS
    assert str(team.index.dtype) == "Int64"
    for name in ("team_member_rates", "service_rates"):
        sb.inject(200, endpoint=name, body={name: []})
    sb.inject(200, endpoint="projects", body={"projects": [], "meta": {"total": 0}})
    rates = fbtime.load_rates(client)
    assert rates.team_member_rates.empty and rates.team_member_rates.dtype == MONEY
    assert rates.projects.empty and rates.projects["rate"].dtype == MONEY
    df = fbtime.load_time_entries(client, team=True, progress=False)
    priced = df.fbtime.with_rates(rates)
    assert set(priced["rate_source"].astype(str)) == {"missing"}  # no project is known


# -- bad input: a typed error before any request --------------------------------------------
@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"standard_rate": -1}, "negative"),
        ({"standard_rate": "abc"}, "not a number"),
        ({"standard_rate": float("nan")}, "not a finite number"),
        ({"standard_rate": "95.001"}, "fractions of a cent"),
        ({"standard_rate": True}, "not a rate"),
        ({"overrides": {"projects": {1: 5}}}, "unknown override kind"),
        ({"overrides": {"teammate": {1: 5}}}, "pairs"),
        ({"overrides": {"project": {1: -5}}}, "negative"),
        ({"currency": "CA"}, "three-letter"),
        ({"currency": "C4D"}, "three-letter"),
        ({"currency": "=HYPERLINK"}, "three-letter"),
    ],
)
def test_bad_inputs_raise_before_any_request(sb, loaded, kwargs, message):
    client = sb.client(cache=False)
    df = loaded[0]
    sb.reset_stats()
    with pytest.raises(fbtime.QueryError, match=message):
        df.fbtime.with_rates(lambda: fbtime.load_rates(client), **kwargs)
    assert sum(sb.stats().values()) == 0


def test_bad_page_sizes_raise_before_any_request(sb):
    client = sb.client(cache=False)
    sb.reset_stats()
    for loader in (fbtime.load_team, fbtime.load_rates):
        for size in (0, 101):
            with pytest.raises(fbtime.QueryError):
                loader(client, per_page=size)
    assert sum(sb.stats().values()) == 0


def test_an_override_that_could_never_apply_is_refused(sb, loaded):
    df, rates, _ = loaded
    projects = pd.DataFrame(sb.dataset.projects)
    fixed = int(projects.loc[projects["project_type"] == "fixed_price", "id"].iloc[0])
    flat = int(projects.loc[projects["billing_method"] == "project_rate", "id"].iloc[0])
    with pytest.raises(fbtime.QueryError, match="fixed-price"):
        df.fbtime.with_rates(rates, overrides={"project": {fixed: 10}})
    with pytest.raises(fbtime.QueryError, match="never apply"):
        df.fbtime.with_rates(rates, overrides={"teammate": {(flat, 1): 10}})
    with pytest.raises(fbtime.QueryError, match="no project 1 "):
        df.fbtime.with_rates(rates, overrides={"project": {1: 10}})


# -- hostile answers: a typed error naming the field ---------------------------------------
@pytest.mark.parametrize(
    "endpoint,body,message",
    [
        ("team_member_rates", {"team_member_rates": [{"identity_id": 5, "rate": "-5.00"}]},
         "negative"),
        ("service_rates", {"service_rates": [{"service_id": 5, "rate": "1e999"}]}, "rate"),
        ("service_rates", {"service_rates": [{"service_id": 5, "rate": [1]}]}, "not a rate"),
        ("team_member_rates", {"team_member_rates": [{"identity_id": True, "rate": "1"}]},
         "identity_id"),
        ("projects", {"projects": [{"id": 1, "budget": "lots"}], "meta": {"total": 1}}, "budget"),
        ("projects", {"projects": [{"id": 1, "fixed_price": "9.999"}], "meta": {"total": 1}},
         "fractions of a cent"),
        ("system", {"response": {"result": {"system": {"currency_code": "=1+1"}}}},
         "currency"),
        ("clients", {"response": {"result": {"clients": [{"id": 3, "currency_code": 7}],
                                              "total": 1}}}, "currency_code"),
    ],
)  # fmt: skip
def test_hostile_rate_answers_are_typed_errors(sb, endpoint, body, message):
    client = sb.client(cache=False)
    sb.inject(200, endpoint=endpoint, body=body)
    with pytest.raises(fbtime.UnexpectedAnswerError, match=message):
        fbtime.load_rates(client)
    sb.clear_injections()


def test_a_list_without_meta_that_ignores_page_is_stopped(sb):
    client = sb.client(cache=False)
    full = {"service_rates": [{"service_id": 7, "rate": "1.00", "business_id": 1}]}
    sb.inject(200, endpoint="service_rates", body=full, times=2)
    sb.reset_stats()
    with pytest.raises(fbtime.UnexpectedAnswerError, match="repeats"):
        fbtime.api.reference.list_service_rates(client, per_page=1)
    assert sb.stats()["GET service_rates"] == 2
    sb.clear_injections()
