"""Reports and audits on a sandbox load agree with ground truth computed from its rows."""

import pandas as pd
import pytest
from groundtruth import truth

import fbtime


@pytest.fixture(scope="module")
def everything(sandbox):
    """Every entry of the sandbox: the team's, running timers and deleted ones too."""
    return fbtime.load_time_entries(
        sandbox.client(cache=False),
        team=True,
        include_unlogged=True,
        include_deleted=True,
        progress=False,
    )


def counted(sb) -> pd.DataFrame:
    """Logged, active entries: what summaries count (running and deleted rows excluded)."""
    t = truth(sb)
    return t[t["is_logged"].astype(bool) & t["active"].astype(bool)]


def test_by_client_equals_ground_truth(sandbox, everything):
    t = counted(sandbox)
    hours = t.groupby("client_id", dropna=False)["duration"].sum() / 3600
    report = everything.fbtime.by_client()
    assert len(report) == len(hours)
    for client_id, row in report.iterrows():
        key = float("nan") if pd.isna(client_id) else client_id
        expected = hours[hours.index.isna()].iloc[0] if pd.isna(key) else hours[key]
        assert row["hours"] == pytest.approx(expected)
    unbilled = t[t["billable"].astype(bool) & ~t["billed"].astype(bool)]
    assert report["unbilled_hours"].sum() == pytest.approx(unbilled["duration"].sum() / 3600)
    assert report["entries"].sum() == len(t)


@pytest.mark.parametrize("group", ["project", "teammate", "service"])
def test_other_summaries_add_up_to_the_same_hours(sandbox, everything, group):
    report = getattr(everything.fbtime, f"by_{group}")()
    assert report["hours"].sum() == pytest.approx(counted(sandbox)["duration"].sum() / 3600)


def test_totals_agree_with_the_servers_meta(everything):
    totals = everything.fbtime.totals()
    assert totals.agrees is True
    assert totals.total_logged_seconds == everything.attrs["fbtime"]["meta"]["total_logged"]


def test_weekly_periods_add_up(sandbox, everything):
    weekly = everything.fbtime.by_period("W", by="client")
    assert weekly.to_numpy().sum() == pytest.approx(counted(sandbox)["duration"].sum() / 3600)
    assert (weekly.index.day_of_week == 0).all()


@pytest.mark.parametrize(
    "rule",
    [
        "running",
        "paused_timer",
        "billable_no_client",
        "internal_billable",
        "over_12h",
        "zero_duration",
        "overlap",
        "duplicate",
        "future",
        "missing_note",
    ],
)
def test_each_audit_rule_finds_exactly_what_the_sandbox_planted(sandbox, everything, rule):
    found = everything.fbtime.audit([rule])
    assert sorted(found["id"].tolist()) == sorted(sandbox.planted[rule])


def test_old_unbilled_matches_ground_truth(sandbox, everything):
    now = pd.Timestamp(fbtime.clock.now())
    t = counted(sandbox)
    old = t[
        t["billable"].astype(bool)
        & ~t["billed"].astype(bool)
        & (t["started_at"] < now - pd.Timedelta(days=30))
    ]
    found = everything.fbtime.audit(["old_unbilled"], now=now)
    assert sorted(found["id"].tolist()) == sorted(old.index.tolist())


def test_missing_days_are_the_days_off_the_sandbox_gave(sandbox, everything):
    found = everything.fbtime.audit(["missing_day"])
    # no names loaded: a teammate reads as a labelled id ("teammate 5594905")
    ids = found["teammate"].str.removeprefix("teammate ").astype(int)
    seen = {(t, d[-10:]) for t, d in zip(ids, found["detail"], strict=True)}
    t = counted(sandbox)
    first = t.groupby("identity_id")["started_at"].min().dt.tz_convert(sandbox.dataset.timezone)
    expected = {
        (i, day.isoformat())
        for i, day in sandbox.dataset.days_off
        if day.isoformat() > first[i].date().isoformat()
    }
    assert seen == expected


def test_names_come_from_the_clients_and_projects_endpoints(sandbox, everything, cache_dir):
    client = sandbox.client()
    clients = fbtime.load_clients(client)
    projects = fbtime.load_projects(client)
    services = fbtime.load_services(client)
    assert dict(clients["name"]) == {c["id"]: c["organization"] for c in sandbox.dataset.clients}
    assert dict(projects["name"]) == {p["id"]: p["title"] for p in sandbox.dataset.projects}
    assert len(services) == len(sandbox.dataset.services)
    named = everything.fbtime.with_names(clients=clients, projects=projects)
    with_client = named[named["client_id"].notna()]
    assert with_client["client_name"].notna().all()
    assert "client_name" in named.fbtime.by_client().columns
    sandbox.reset_stats()
    fbtime.load_clients(client)
    fbtime.load_projects(client)
    assert sum(sandbox.stats().values()) == 0  # cached like entries


def test_plots_render_sandbox_data(everything, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    for name in ("hours_by_client", "weekly_hours", "weekday_heatmap", "unbilled_aging"):
        ax = getattr(everything.fbtime.plot, name)()
        path = tmp_path / f"{name}.png"
        ax.figure.savefig(path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert ax.get_title()


def test_the_planted_timers_are_whole_timers_with_their_time(sandbox, everything):
    now = pd.Timestamp(fbtime.clock.now())
    table = everything.fbtime.timers()
    t = truth(sandbox)
    segments = t.loc[sandbox.planted["timer_segments"]]
    segments = segments.assign(timer_id=segments["timer"].map(lambda timer: timer["id"]))
    firsts = segments.reset_index().groupby("timer_id")["id"].min()
    assert sorted(table["first_id"]) == sorted(firsts)  # one row per planted timer, no more
    for _, timer in table.iterrows():
        mine = segments[segments["timer_id"] == timer["timer_id"]]
        closed = mine["duration"].fillna(0).sum()
        running = mine["duration"].isna()
        open_seconds = (now - mine.loc[running, "started_at"]).dt.total_seconds().sum()
        assert timer["hours"] == pytest.approx((closed + open_seconds) / 3600)
        assert timer["segments"] == len(mine)
        assert timer["state"] == ("running" if running.any() else "paused")
    running = everything.fbtime.audit("running")
    assert "in 3 segments" in " ".join(running["detail"])
