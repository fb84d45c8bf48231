"""The explorer and plan-review widgets: the pure view, then every control of the real panels.

The explorer's tests drive real ipywidgets objects (set a control's value, click a
button) and compare what the panel shows and exports with plain pandas on the frame.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import re
import time
from decimal import Decimal

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import TZ
from pandas.testing import assert_frame_equal

import fbtime
from fbtime.errors import QueryError
from fbtime.widgets import Explorer, ExplorerState, PlanReview, explore_view
from fbtime.widgets.view import TABLE_CLASS

CLIENT_NAMES = {c: f"Client {c:02d}" for c in range(1, 13)} | {5: "Société Générale Café"}
PNG = b"\x89PNG\r\n\x1a\n"
BOM = b"\xef\xbb\xbf"


@pytest.fixture
def named(synthetic_frame) -> pd.DataFrame:
    return synthetic_frame.fbtime.with_names(clients=CLIENT_NAMES)


def same(table: pd.DataFrame, report: pd.DataFrame) -> None:
    """The explorer's table holds the accessor's report, value for value (a report is
    a DataFrame shown rounded: compare the exact values)."""
    assert_frame_equal(pd.DataFrame(table), pd.DataFrame(report))


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
    same(view.table, named.fbtime.by_client())
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
    # the start in the business's zone (the data's most common one); UTC kept as a column
    assert str(entries["start"].dt.tz) == TZ and str(entries["started_at"].dt.tz) == "UTC"
    assert (entries["start"] == entries["started_at"]).all()  # the same instants


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (ExplorerState(start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 1)), "before the start"),
        (ExplorerState(group_by="service"), "group_by must be one of"),
        (ExplorerState(billed="yes"), "billed must be one of"),
        (ExplorerState(sort_by="colour"), "cannot sort by 'colour'"),
    ],
)
def test_bad_state_is_a_query_error(small_frame, state, message):
    with pytest.raises(QueryError, match=message):
        explore_view(small_frame, state)


# -- Explorer: the real widgets ---------------------------------------------------------
def shown(explorer: Explorer) -> tuple[str, bytes]:
    """The HTML table (headings without their wrap points) and PNG chart in the Output."""
    table, chart = explorer.output.outputs
    html = table["data"]["text/html"].replace("\u200b", "")
    return html, base64.b64decode(chart["data"]["image/png"])


def body_rows(html: str) -> list[list[str]]:
    """The table's body rows as cell texts (the index cell first)."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<t[hd][^>]*>.*?</t[hd]>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body)
    ]


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM)  # Excel reads the file as UTF-8 only with it
    return list(csv.reader(io.StringIO(data[len(BOM) :].decode("utf-8"), newline="")))


def test_every_control_changes_the_table(named, tmp_path):
    before = named.copy()
    explorer = named.fbtime.explore(debounce=0, export_dir=tmp_path)
    html, png = shown(explorer)
    assert TABLE_CLASS in html and "Client 01" in html and png.startswith(PNG)
    same(explorer.table, pd.DataFrame(named.fbtime.by_client()))

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
    same(explorer.table, rows.fbtime.by_project())
    html, _ = shown(explorer)
    assert f">{explorer.table['hours'].iloc[0]:,.2f}</td>" in html  # hours to 2 decimals
    assert f"<b>{len(rows):,}</b> entries" in explorer.status.value

    for group in ("teammate", "week", "entries", "client"):
        explorer.group_by.value = group
        same(explorer.table, explore_view(named, explorer.state).table)
        assert shown(explorer)[1].startswith(PNG)
    assert_frame_equal(named, before)  # the caller's frame is not modified


def test_client_selection_shows_names_and_filters(named):
    explorer = Explorer(named, debounce=0)
    labels = dict(explorer.clients.options)
    assert labels["Client 07"] == 7 and labels["<no client>"] is None
    explorer.clients.value = (7,)
    html, _ = shown(explorer)
    assert "Client 07" in html and "Client 08" not in html
    same(explorer.table, named.fbtime.for_client(7).fbtime.by_client())


def test_projects_narrow_to_the_chosen_clients(named):
    lone = named.copy()
    lone.loc[lone["client_id"] == 3, "project_id"] = 99  # project 99: client 3's only
    explorer = Explorer(lone, debounce=0)
    explorer.projects.value = (99, 1)
    explorer.clients.value = (3,)
    assert [key for _, key in explorer.projects.options] == [99]
    assert explorer.projects.value == (99,)  # project 1 has no entry of client 3: dropped
    assert ids(explorer.view.rows) == ids(lone[lone["client_id"] == 3])
    explorer.clients.value = (4, None)  # no client counts as a choice too
    expected = set(lone.loc[lone["client_id"].isin([4]).fillna(True), "project_id"])
    assert {key for _, key in explorer.projects.options} == expected
    assert 99 not in expected and explorer.projects.value == ()
    explorer.clients.value = ()
    assert len(explorer.projects.options) == len(Explorer(lone, debounce=0).projects.options)


def test_the_entries_view_pages(named):
    explorer = Explorer(named, debounce=0)
    explorer.group_by.value = "entries"
    table = explorer.table
    assert explorer.page_label.value == f"rows 1–50 of {len(named):,} · page 1 of 100"
    assert explorer.prev_button.disabled and not explorer.next_button.disabled
    assert len(body_rows(shown(explorer)[0])) == 50
    explorer.next_button.click()
    explorer.next_button.click()
    assert_frame_equal(explorer.shown, table.iloc[100:150])
    assert [int(r[0]) for r in body_rows(shown(explorer)[0])] == table.index[100:150].tolist()
    explorer.page_size.value = 200
    assert explorer.page == 0 and explorer.page_label.value.endswith("page 1 of 25")
    explorer.show_page(99)  # clamped to the last page
    assert explorer.page == 24 and explorer.next_button.disabled
    assert_frame_equal(explorer.shown, table.iloc[4800:])
    explorer.teammate.value = 2  # a new filter starts again on page 1
    assert explorer.page == 0 and len(explorer.table) == (named["identity_id"] == 2).sum()


def test_the_table_sorts_and_the_chart_stays(named):
    explorer = Explorer(named, debounce=0)
    explorer.group_by.value = "entries"
    _, chart = shown(explorer)
    labels = dict((key, label) for label, key in explorer.sort_by.options)
    assert labels["start"] == f"start ({TZ})" and labels["started_at"] == "started at (UTC)"
    explorer.sort_by.value = "hours"
    explorer.descending.value = True
    expected = named["hours"].sort_values(ascending=False, kind="stable", na_position="last")
    assert explorer.table["hours"].tolist()[:50] == expected.tolist()[:50]
    assert shown(explorer)[1] == chart  # sorting redraws no chart
    explorer.sort_by.value = "note"
    explorer.descending.value = False
    notes = explorer.table["note"].tolist()
    assert notes == sorted(notes, key=lambda n: (pd.isna(n), str(n).casefold()))
    explorer.teammate.value = 4  # the sort holds across a filter change
    assert explorer.sort_by.value == "note" and explorer.table["note"].is_monotonic_increasing
    explorer.group_by.value = "week"  # weeks have no note column: back to their own order
    assert explorer.sort_by.value == "" and explorer.table.index.is_monotonic_increasing
    explorer.sort_by.value = "week"
    explorer.descending.value = True
    assert explorer.table.index.is_monotonic_decreasing


def test_reset_puts_every_control_back(named):
    explorer = Explorer(named, debounce=0)
    opened = explorer.state
    explorer.start.value = dt.date(2026, 3, 1)
    explorer.clients.value = (3,)
    explorer.teammate.value = 2
    explorer.billable.value, explorer.billed.value = "Yes", "No"
    explorer.group_by.value = "entries"
    explorer.sort_by.value, explorer.descending.value = "hours", True
    explorer.page_size.value = 25
    explorer.next_button.click()
    calls = []
    refresh = explorer.refresh
    explorer.refresh = lambda: (calls.append(1), refresh())  # type: ignore[method-assign]
    explorer.reset_button.click()
    assert calls == [1]  # one refresh, not one per control
    assert explorer.state == opened and explorer.page == 0 and explorer.rows == 50
    # what the dropdowns show, not only their values (a None value would show a blank)
    assert (explorer.teammate.label, explorer.sort_by.label) == ("everyone", "default order")
    assert len(explorer.projects.options) == len(Explorer(named, debounce=0).projects.options)
    same(explorer.table, pd.DataFrame(named.fbtime.by_client()))


def test_a_bad_range_shows_one_error(named):
    explorer = Explorer(named, debounce=0)
    explorer.end.value = explorer.start.value - dt.timedelta(days=1)
    assert explorer.table is None and explorer.output.outputs == ()
    assert explorer.status.value.count("before the start date") == 1
    explorer.csv_button.click()  # nothing to export: the status says so, still once
    assert explorer.status.value.count("before the start date") == 1
    assert explorer.download_link.value == ""
    explorer.reset_button.click()
    assert "before the start date" not in explorer.status.value and explorer.table is not None


def test_entries_show_the_start_in_the_business_zone(make_frame):
    # 03:30 UTC on the 13th is 23:30 on the 12th in Toronto, the day the filters use
    frame = make_frame([{"started_at": "2026-03-13T03:30:00Z", "note": "late call"}])
    explorer = Explorer(frame, debounce=0)
    explorer.group_by.value = "entries"
    html, _ = shown(explorer)
    assert f"start ({TZ})" in html and "started at (UTC)" in html  # human headings
    (row,) = body_rows(html)
    assert row[1] == "2026-03-12 23:30" and row[-1] == "2026-03-13 03:30"
    explorer.start.value = explorer.end.value = dt.date(2026, 3, 12)
    assert len(explorer.table) == 1


def test_long_notes_wrap_inside_the_output(make_frame):
    note = "word " * 200
    frame = make_frame([{"note": note}])
    explorer = Explorer(frame, debounce=0)
    explorer.group_by.value = "entries"
    html, _ = shown(explorer)
    assert "width:100%" in html and "overflow-x:auto" in html
    cell = re.search(r"<td style='([^']*)'>(word [^<]*)</td>", html)
    assert "white-space:normal" in cell.group(1) and "overflow-wrap:anywhere" in cell.group(1)
    assert cell.group(2).endswith("…") and len(cell.group(2)) == 300
    assert explorer.export_frame()["note"].iloc[0] == note  # the export keeps it whole


def test_unbilled_shortcut_matches_the_accessor(named):
    explorer = Explorer(named, debounce=0)
    explorer.unbilled_button.click()
    assert (explorer.billable.value, explorer.billed.value) == ("Yes", "No")
    unbilled = named.fbtime.unbilled()
    assert explorer.table["hours"].sum() == pytest.approx(hours(unbilled))
    same(explorer.table, unbilled.fbtime.by_client())


def test_the_csv_download_holds_the_entries_shown(named):
    explorer = Explorer(named, debounce=0)
    explorer.group_by.value = "entries"
    explorer.teammate.value = 3
    explorer.sort_by.value = "hours"
    explorer.csv_button.click()
    link = explorer.download_link.value
    href = re.search(r"href='data:text/csv;charset=utf-8;base64,([^']+)'", link).group(1)
    assert re.search(r"download='fbtime-entries-\d{8}-\d{6}\.csv'", link)
    data = base64.b64decode(href)
    assert data == explorer.export_bytes("csv")  # the link carries the file itself
    rows = read_csv(data)
    expected = named.fbtime.for_teammate(3).sort_values("started_at", ascending=False)
    expected = expected.loc[expected["hours"].sort_values(kind="stable").index]
    assert rows[0] == ["id", f"start ({TZ})", "teammate id", "client", "project id",
                       "hours", "billable", "billed", "note", "started at (UTC)"]  # fmt: skip
    assert len(rows) == len(expected) + 1  # every row, not the page
    assert [int(r[0]) for r in rows[1:]] == expected.index.tolist()  # sorted as shown
    local = expected["started_at"].dt.tz_convert(TZ).dt.strftime("%Y-%m-%d %H:%M")
    assert [r[1] for r in rows[1:]] == local.tolist()
    exported = [r[5] for r in rows[1:]]
    assert all(
        (s == "") if pd.isna(h) else (len(s.split(".")[1]) == 2 and abs(float(s) - h) < 0.0101)
        for s, h in zip(exported, expected["hours"], strict=True)
    )  # hours to 2 decimals, each within a cent of the exact value
    total = Decimal(f"{expected['hours'].sum():.2f}")
    assert sum(Decimal(s) for s in exported if s) == total  # they add up to the total shown
    explorer.billed.value = "No"  # the link no longer matches the table: it goes
    assert explorer.download_link.value == ""


def test_a_summary_download_is_the_summary_in_display_units(named):
    explorer = Explorer(named, debounce=0)
    rows = read_csv(explorer.download("csv"))
    table = named.fbtime.by_client()
    assert rows[0] == [
        "client id", "client", "entries", "hours", "billable hours", "unbilled hours",
        "billed hours", "billable ratio", "first date", "last date",
    ]  # human headings, as the panel shows them  # fmt: skip
    by_name = {r[1]: r for r in rows[1:]}
    assert set(by_name) == {*CLIENT_NAMES.values(), "<no client>"} - {"Client 05"}
    assert by_name["<no client>"][0] == ""
    acme = table.loc[5]
    row = by_name["Société Générale Café"]  # the accent survives: UTF-8 with a BOM
    assert row[2] == str(acme["entries"]) and row[3] == f"{acme['hours']:.2f}"
    assert row[-2] == f"{acme['first_date']:%Y-%m-%d}"  # a date, not midnight
    assert "Société".encode() in explorer.download("csv")


def test_the_excel_download(named):
    explorer = Explorer(named, debounce=0)
    explorer.group_by.value = "entries"
    explorer.clients.value = (5,)
    explorer.excel_button.click()
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"href='data:{mime};base64," in explorer.download_link.value
    sheet = openpyxl.load_workbook(io.BytesIO(explorer.download("xlsx"))).active
    values = list(sheet.values)
    assert sheet.title == "by entries"
    assert values[0][:2] == ("id", f"start ({TZ})") and len(values) == len(explorer.table) + 1
    first = explorer.table.iloc[0]
    assert values[1][0] == int(explorer.table.index[0])
    assert values[1][1] == first["start"].tz_localize(None).floor("min").to_pydatetime()
    assert values[1][3] == "Société Générale Café"


def test_export_writes_a_file_too(named, tmp_path):
    explorer = Explorer(named, debounce=0, export_dir=tmp_path / "out")
    explorer.teammate.value = 3
    path = explorer.export()
    assert path.parent == tmp_path / "out" and path.suffix == ".csv"
    assert path.read_bytes() == explorer.export_bytes("csv")
    assert str(path) in explorer.status.value
    xlsx = explorer.export(tmp_path / "table.xlsx")
    assert openpyxl.load_workbook(xlsx).active.title == "by client"
    with pytest.raises(QueryError, match="kind must be one of"):
        explorer.export(tmp_path / "table.csv", kind="pdf")  # type: ignore[arg-type]


def test_amounts_show_when_the_frame_has_them(make_frame, one_project_rates):
    frame = make_frame([
        {"client_id": 10, "duration": 3601, "project_id": 100},
        {"client_id": 10, "duration": 1800, "project_id": 100, "billed": True},
        {"client_id": None, "duration": 900, "project_id": 100, "billable": False},
    ])  # fmt: skip
    priced = frame.fbtime.with_rates(one_project_rates)
    explorer = Explorer(priced, debounce=0)
    unbilled = priced.fbtime.totals().unbilled_amount
    assert unbilled == Decimal("95.58")
    assert "95.58 CAD unbilled value" in explorer.status.value
    html, _ = shown(explorer)
    assert ">95.58</td>" in html and "unbilled amount" in html and "amounts in CAD" in html
    explorer.group_by.value = "entries"
    assert {"amount", "currency"} <= set(explorer.table.columns)
    rows = read_csv(explorer.download("csv"))
    assert "amount (CAD)" in rows[0] and "currency" not in rows[0]  # the heading names it
    amount = rows[0].index("amount (CAD)")
    assert {r[0]: r[amount] for r in rows[1:]} == {"1": "95.58", "2": "47.78", "3": "23.89"}


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
    same(explorer.table, expected)


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
