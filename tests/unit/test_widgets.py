"""The explorer and plan-review widgets: the pure view, then every control of the real panels."""

from __future__ import annotations

import base64
import datetime as dt
import time

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import fbtime
from fbtime.errors import QueryError
from fbtime.widgets import Explorer, ExplorerState, PlanReview, explore_view
from fbtime.widgets.view import TABLE_CLASS

CLIENT_NAMES = {c: f"Client {c:02d}" for c in range(1, 13)}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def named(synthetic_frame) -> pd.DataFrame:
    return synthetic_frame.fbtime.with_names(clients=CLIENT_NAMES)


def ids(frame: pd.DataFrame) -> list[int]:
    return sorted(int(i) for i in frame.index)


def hours(frame: pd.DataFrame) -> float:
    """Counted hours, written out in plain pandas (logged, active, with a duration)."""
    counted = (
        frame["is_logged"].fillna(False) & frame["active"].fillna(True) & frame["duration"].notna()
    )
    return float(frame.loc[counted, "duration"].sum()) / 3600


# -- explore_view: the pure function ----------------------------------------------------
def test_default_state_is_the_accessor_summary(named):
    view = explore_view(named, ExplorerState())
    assert_frame_equal(view.table, named.fbtime.by_client())
    assert len(view.rows) == len(named)


def test_dates_are_local_days_inclusive(make_frame):
    # 03:30 UTC on the 13th is 23:30 on the 12th in Toronto: it belongs to the 12th
    frame = make_frame(
        [
            {"started_at": "2026-03-12T15:00:00Z"},
            {"started_at": "2026-03-13T03:30:00Z"},
            {"started_at": "2026-03-13T15:00:00Z"},
        ]
    )
    day12 = ExplorerState(start=dt.date(2026, 3, 12), end=dt.date(2026, 3, 12), group_by="entries")
    assert ids(explore_view(frame, day12).rows) == [1, 2]
    day13 = ExplorerState(start=dt.date(2026, 3, 13), group_by="entries")
    assert ids(explore_view(frame, day13).rows) == [3]


def test_client_project_and_teammate_filters(named):
    state = ExplorerState(clients=(3, None), projects=(4, 5, 6), teammate=2)
    rows = explore_view(named, state).rows
    expected = named[
        (named["client_id"].isin([3]).fillna(False) | named["client_id"].isna())
        & named["project_id"].isin([4, 5, 6])
        & (named["identity_id"] == 2)
    ]
    assert ids(rows) == ids(expected) and len(rows) > 0


def test_flags_read_missing_as_no(mixed_frame):
    # entry 7 has billed=NA: it is "not billed"
    assert ids(explore_view(mixed_frame, ExplorerState(billed="No")).rows) == [1, 3, 4, 5, 6, 7]
    assert ids(explore_view(mixed_frame, ExplorerState(billed="Yes")).rows) == [2]
    view = explore_view(mixed_frame, ExplorerState(billable="No", group_by="entries"))
    assert ids(view.rows) == [3]


def test_week_and_entries_views_add_up(named):
    week = explore_view(named, ExplorerState(group_by="week")).table
    assert week["hours"].sum() == pytest.approx(hours(named))
    assert int(week["entries"].sum()) == named.fbtime.totals().entries
    assert (pd.Series(week.index).dt.day_of_week == 0).all()  # weeks start on Monday
    entries = explore_view(named, ExplorerState(group_by="entries")).table
    assert entries["started_at"].is_monotonic_decreasing and len(entries) == len(named)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (ExplorerState(start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 1)), "before the start"),
        (ExplorerState(group_by="service"), "group_by must be one of"),
        (ExplorerState(billed="yes"), "billed must be one of"),
    ],
)
def test_bad_state_is_a_query_error(small_frame, state, message):
    with pytest.raises(QueryError, match=message):
        explore_view(small_frame, state)


# -- Explorer: the real widgets ---------------------------------------------------------
def shown(explorer: Explorer) -> tuple[str, bytes]:
    """The HTML table and PNG chart in the explorer's single Output."""
    table, chart = explorer.output.outputs
    return table["data"]["text/html"], base64.b64decode(chart["data"]["image/png"])


def test_every_control_changes_the_table(named, tmp_path):
    before = named.copy()
    explorer = named.fbtime.explore(debounce=0, export_dir=tmp_path)
    html, png = shown(explorer)
    assert TABLE_CLASS in html and "Client 01" in html and png.startswith(PNG)
    assert_frame_equal(explorer.table, named.fbtime.by_client())

    explorer.start.value, explorer.end.value = dt.date(2026, 2, 1), dt.date(2026, 3, 31)
    explorer.clients.value = (3, 4)
    explorer.projects.value = tuple(range(1, 16))
    explorer.teammate.value = 5
    explorer.billable.value = "Yes"
    explorer.billed.value = "No"
    explorer.group_by.value = "project"
    rows = named.fbtime.between("2026-01-31T05:00:00Z", "2026-04-01T04:00:00Z")
    rows = rows.fbtime.for_client(3, 4).fbtime.for_project(list(range(1, 16)))
    rows = rows.fbtime.for_teammate(5)
    rows = rows[rows["billable"].fillna(False) & ~rows["billed"].fillna(False)]
    assert ids(explorer.view.rows) == ids(rows) and len(rows) > 0
    assert_frame_equal(explorer.table, rows.fbtime.by_project())
    html, _ = shown(explorer)
    assert f"<td>{explorer.table['hours'].iloc[0]:,.2f}</td>" in html
    assert f"<b>{len(rows):,}</b> entries" in explorer.status.value

    for group in ("teammate", "week", "entries", "client"):
        explorer.group_by.value = group
        assert_frame_equal(explorer.table, explore_view(named, explorer.state).table)
        assert shown(explorer)[1].startswith(PNG)
    assert_frame_equal(named, before)  # the caller's frame is not modified


def test_client_selection_shows_names_and_filters(named):
    explorer = Explorer(named, debounce=0)
    labels = dict(explorer.clients.options)
    assert labels["Client 07"] == 7 and labels["<no client>"] is None
    explorer.clients.value = (7,)
    html, _ = shown(explorer)
    assert "Client 07" in html and "Client 08" not in html
    assert_frame_equal(explorer.table, named.fbtime.for_client(7).fbtime.by_client())


def test_unbilled_shortcut_matches_the_accessor(named):
    explorer = Explorer(named, debounce=0)
    explorer.unbilled_button.click()
    assert (explorer.billable.value, explorer.billed.value) == ("Yes", "No")
    unbilled = named.fbtime.unbilled()
    assert explorer.table["hours"].sum() == pytest.approx(hours(unbilled))
    assert_frame_equal(explorer.table, unbilled.fbtime.by_client())


def test_export_writes_the_filtered_entries(named, tmp_path):
    explorer = Explorer(named, debounce=0, export_dir=tmp_path / "out")
    explorer.teammate.value = 3
    explorer.export_button.click()
    path = explorer.last_export
    assert path is not None and path.parent == tmp_path / "out"
    back = fbtime.as_time_entries(pd.read_csv(path))
    assert ids(back) == ids(named.fbtime.for_teammate(3))
    assert str(path) in explorer.status.value


def test_changes_are_debounced(named):
    explorer = Explorer(named, debounce=0.2)
    calls = []
    refresh = explorer.refresh
    explorer.refresh = lambda: (calls.append(1), refresh())  # type: ignore[method-assign]
    first = explorer.table
    explorer.billable.value = "Yes"
    explorer.billed.value = "No"
    explorer.teammate.value = 2
    assert explorer.table is first  # nothing yet: the timer is running
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    assert calls == [1]  # one refresh for the burst of three changes
    expected = named.fbtime.unbilled().fbtime.for_teammate(2).fbtime.by_client()
    assert_frame_equal(explorer.table, expected)


def test_a_bad_range_shows_the_error(named):
    explorer = Explorer(named, debounce=0)
    explorer.end.value = explorer.start.value - dt.timedelta(days=1)
    assert explorer.table is None
    assert "before the start date" in explorer.status.value


# -- PlanReview -------------------------------------------------------------------------
@pytest.fixture
def review_setup(fresh_sandbox, tmp_path):
    client = fresh_sandbox.client(cache=False)
    frame = fbtime.load_time_entries(client, team=True)
    plan = frame.fbtime.unbilled().fbtime.mark_billed()
    assert len(plan) > 30
    return fresh_sandbox, client, plan


def test_unticked_rows_are_not_applied(review_setup, tmp_path):
    sb, client, plan = review_setup
    review = plan.review(client, journal=tmp_path, page_size=10, max_changes=5)
    review.checkboxes[0].value = False
    review.checkboxes[3].value = False
    review.next_button.click()
    assert review.page_label.value == f"page 2 of {-(-len(plan) // 10)}"
    review.checkboxes[1].value = False
    left_out = {plan.ids[0], plan.ids[3], plan.ids[11]}
    chosen = [i for i in plan.ids if i not in left_out]
    totals = plan.select(chosen).totals()
    assert f"<b>{len(chosen)}</b> entries, <b>{totals['hours']}</b> h" in review.totals.value
    assert "3 left out" in review.totals.value

    sb.reset_stats()
    review.apply_button.click()
    assert review.confirm_label.value == f"<b>Apply {len(chosen)} changes?</b>"
    assert sb.writes() == 0  # asking is not applying
    review.confirm_button.click()
    assert review.result is not None and review.result.counts["applied"] == len(chosen)
    assert sb.stats()["PUT time_entry"] == len(chosen)
    billed = sb.entries().set_index("id")["billed"].astype(bool)
    assert billed.loc[chosen].all() and not billed.loc[sorted(left_out)].any()
    assert "Done:" in review.result_html.value and str(tmp_path) in review.result_html.value


def test_cancel_and_select_none_write_nothing(review_setup, tmp_path):
    sb, client, plan = review_setup
    review = PlanReview(plan, client, journal=tmp_path)
    sb.reset_stats()
    review.apply_button.click()
    assert review.confirm_box.layout.display == "flex"
    review.cancel_button.click()
    assert review.confirm_box.layout.display == "none" and not review.apply_button.disabled
    review.none_button.click()
    assert "<b>0</b> entries" in review.totals.value
    assert not any(box.value for box in review.checkboxes)
    review.apply_button.click()
    assert "nothing to apply" in review.result_html.value
    assert review.confirm_box.layout.display == "none"
    review.all_button.click()
    assert f"<b>{len(plan)}</b> entries" in review.totals.value
    assert sb.writes() == 0 and review.result is None


def test_review_refuses_a_confirm_argument(review_setup):
    _, client, plan = review_setup
    with pytest.raises(TypeError, match="confirmation itself"):
        PlanReview(plan, client, confirm=True)


def test_labels_show_each_change(review_setup):
    _, client, plan = review_setup
    review = PlanReview(plan, client, page_size=5)
    first = plan.changes[0]
    label = review.labels[0].value
    assert f"<code>{first.id}</code> update billed" in label
    assert "<del>False</del>" in label and "<ins>True</ins>" in label
    assert np.isclose(float(label.split(" · ")[1].removesuffix(" h")), first.hours, atol=0.01)


def test_repeated_names_are_told_apart(make_frame):
    frame = make_frame([{"project_id": 100}, {"project_id": 200}, {"project_id": None}])
    frame = frame.fbtime.with_names(projects={100: "Website", 200: "Website"})
    explorer = Explorer(frame, debounce=0)
    assert explorer.projects.options == (
        ("<no project>", None),
        ("Website (#100)", 100),
        ("Website (#200)", 200),
    )
    explorer.projects.value = (200,)
    assert ids(explorer.view.rows) == [2]
