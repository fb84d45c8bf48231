"""Reviewing a bulk change: what each change is, "already done" versus conflicts, undo
totals, the review widget's Cancel button, and a panel following its plan applied in code,
against the real sandbox."""

import gc
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pandas as pd
import pytest

import fbtime
from fbtime.bulk import apply as applying
from fbtime.bulk.journal import read_state
from fbtime.bulk.plan import UpdatePlan
from fbtime.bulk.views import counts_line
from fbtime.cli import main
from fbtime.widgets import PlanReview

ZONE = "America/Toronto"


def load(sb):
    return fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False)


@pytest.fixture
def sb(fresh_sandbox):
    return fresh_sandbox


def env(monkeypatch, sb, tmp_path):
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.token)
    monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", str(sb.business_id))
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))


# -- already done is not a conflict ---------------------------------------------------------
def test_an_entry_already_in_the_target_state_is_already_applied(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:6])
    done_elsewhere, edited, rest = plan.ids[:2], plan.ids[2], plan.ids[3:]
    for entry in done_elsewhere:
        sb.update_entry(entry, billed=True)  # a colleague billed them meanwhile
    sb.update_entry(edited, billed=True, note="and changed the note")
    sb.reset_stats()
    result = plan.apply(sb.client(cache=False), confirm=True, journal=tmp_path, progress=False)
    assert result.ids("already_applied") == sorted(done_elsewhere)
    assert result.ids("conflict") == [edited]  # a real conflict stays one
    assert "note" in result.rows.loc[edited, "reason"]
    assert result.ids("applied") == sorted(rest)
    assert sb.stats()["PUT time_entry"] == len(rest)
    assert set(sb.entry_writes()) == set(rest)
    assert result.counts["already_applied"] == 2 and "2 already applied" in repr(result)
    # undo restores only what this apply changed, not what the colleague did
    assert sorted(fbtime.undo(result.journal_path).ids) == sorted(rest)


def test_already_applied_rows_count_as_ok_in_the_result_and_the_cli(
    sb, tmp_path, monkeypatch, capsys
):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:4])
    path = plan.save(tmp_path / "plan.json")
    for entry in plan.ids[:2]:
        sb.update_entry(entry, billed=True)
    env(monkeypatch, sb, tmp_path)
    sb.reset_stats()
    assert main(["apply", str(path), "--yes", "--journal-dir", str(tmp_path / "j")]) == 0
    out = capsys.readouterr().out
    assert "2 applied, 2 already applied" in out
    assert sb.stats()["PUT time_entry"] == 2
    # the same saved plan applied again, by another process: nothing left to write
    again = subprocess.run(
        [sys.executable, "-m", "fbtime", "apply", str(path), "--yes", "--journal-dir",
         str(tmp_path / "j2")], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert again.returncode == 0 and "4 already applied" in again.stdout, again.stderr
    assert sb.stats()["PUT time_entry"] == 2


def test_the_review_widget_shows_already_applied(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:3])
    sb.update_entry(plan.ids[0], billed=True)
    review = PlanReview(plan, sb.client(cache=False), journal=tmp_path, background=False)
    review.apply_button.click()
    review.confirm_button.click()
    assert review.result.ok
    assert "2 applied, 1 already applied" in review.result_html.value


# -- undo plans say what they restore -------------------------------------------------------
def test_an_undo_plan_carries_the_hours_and_clients_it_restores(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    result = plan.apply(sb.client(cache=False), confirm=len(plan), max_changes=len(plan),
                        journal=tmp_path, progress=False)  # fmt: skip
    back = fbtime.undo(result.journal_path)
    truth = sb.entries().set_index("id").loc[plan.ids]
    assert back.totals() == {
        "entries": len(plan),
        "hours": round(truth["duration"].sum() / 3600, 2),
        "clients": truth["client_id"].nunique(),
        "skipped": 0,
        "amount": {},  # the entries have no rates: no money at stake is claimed
        "no_amount": {},
        "foreign": {},
    }
    assert back.totals()["hours"] > 0 and back.totals() == {**plan.totals(), "skipped": 0}
    assert [c.context for c in back.changes] == [c.context for c in plan.changes]


def test_undoing_a_delete_carries_hours_clients_and_context(sb, tmp_path):
    doomed = load(sb).fbtime.unbilled().head(3)
    plan = doomed.fbtime.delete()
    result = plan.apply(sb.client(cache=False), confirm=True, journal=tmp_path, progress=False)
    back = fbtime.undo(result.journal_path)
    assert [c.action for c in back.changes] == ["create"] * 3
    assert back.totals()["hours"] == plan.totals()["hours"] > 0
    assert back.totals()["clients"] == doomed["client_id"].nunique()
    assert "UpdatePlan undo: 3 entries" in repr(back)


# -- what each change is --------------------------------------------------------------------
@pytest.fixture
def named(sb):
    """Four unbilled entries with teammate and client names, amounts and a late start."""
    first = int(load(sb).fbtime.unbilled().index[0])
    sb.update_entry(first, started_at="2026-03-13T03:30:00Z")  # Thursday evening in Toronto
    df = load(sb).fbtime.unbilled()
    df = df[df["started_at"] < pd.Timestamp(fbtime.clock.now()) - pd.Timedelta(days=1)]
    df = df.loc[[first, *df.index.drop(first)[:3]]]
    ds = sb.dataset
    named = df.fbtime.with_names(
        teammates={p["id"]: f"{p['first_name']} {p['last_name']}" for p in ds.identities},
        clients={c["id"]: c["organization"] for c in ds.clients},
    )
    named["amount"] = [1.005, 2.5, 1234.5, None]
    named["currency"] = "CAD"
    return named


def local_dates(started_at):
    return pd.to_datetime(started_at, utc=True).dt.tz_convert(ZONE).dt.strftime("%Y-%m-%d")


def expected(sb, named):
    truth = sb.entries().set_index("id").loc[named.index]
    return pd.DataFrame(
        {
            "date": local_dates(truth["started_at"]),
            "teammate": named["teammate_name"],
            "client": named["client_name"],
            "project": "project " + truth["project_id"].astype(str),  # no names: labelled
            "hours": truth["duration"] / 3600,
            "amount": ["1.01 CAD", "2.50 CAD", "1,234.50 CAD", None],  # as shown (half up)
            "exact": [Decimal("1.01"), Decimal("2.50"), Decimal("1234.50"), None],
            "note": truth["note"],
        },
        index=named.index,
    )


def test_each_change_keeps_what_the_entry_is(sb, named):
    plan = named.fbtime.mark_billed()
    want = expected(sb, named)
    frame = plan.to_frame().set_index("id")
    assert frame.loc[named.index[0], "date"] == "2026-03-12"  # the local date, not UTC's
    for column in ("date", "teammate", "client", "project", "note"):
        assert frame[column].tolist() == want[column].tolist(), column
    assert frame["amount"].tolist()[:3] == want["exact"].tolist()[:3]  # money, not text
    assert frame["amount"].dtype == fbtime.money.MONEY and pd.isna(frame["amount"].iloc[3])
    assert frame["currency"].tolist()[:3] == ["CAD"] * 3
    assert frame["hours"].round(4).tolist() == want["hours"].round(4).tolist()
    assert str(frame["hours"].dtype) == "Float64" and str(frame.index.dtype) == "Int64"


def test_the_text_html_and_widget_views_show_it(sb, named):
    plan = named.fbtime.mark_billed()
    want = expected(sb, named)
    text, html = repr(plan), plan._repr_html_()
    review = PlanReview(plan, sb.client(cache=False))
    for entry, row in want.iterrows():
        label = next(lb.value for lb in review.labels if f"<code>{entry}</code>" in lb.value)
        for value in (row["date"], row["teammate"], row["client"]):
            assert value in text and fbtime.text.for_html(value) in html
            assert fbtime.text.for_html(value) in label
        if isinstance(row["amount"], str):
            assert row["amount"] in text and row["amount"] in html and row["amount"] in label


def test_the_context_is_never_compared_or_written(sb, named, tmp_path):
    plan = named.fbtime.mark_billed()
    writable = {*fbtime.api.fields.WRITABLE, "local_started_at", "local_timezone"}
    assert all(set(c.before) == writable and c.after == {"billed": True} for c in plan.changes)
    before = sb.entries().set_index("id")
    result = plan.apply(sb.client(cache=False), confirm=True, journal=tmp_path, progress=False)
    assert result.ok
    after = sb.entries().set_index("id")
    changed = before.compare(after.drop(columns="updated_at").reindex(columns=before.columns))
    assert set(changed.columns.get_level_values(0)) <= {"billed", "updated_at"}
    intents = [r for r in read_state(result.journal_path).intents.values()]
    assert all(set(r) >= {"before", "after"} and "context" not in r for r in intents)


# -- the Cancel button ----------------------------------------------------------------------
def test_the_review_widget_cancel_button_stops_the_apply(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:24])
    sb.latency = 0.2
    review = PlanReview(plan, sb.client(cache=False), journal=tmp_path, background=True,
                        workers=2)  # fmt: skip
    assert review.stop_button.layout.display == "none"
    review.apply_button.click()
    review.confirm_button.click()
    assert review.stop_button.layout.display == "flex"  # visible while applying
    while sb.stats()["PUT time_entry"] < 2:
        time.sleep(0.005)
    at = sum(sb.stats().values())
    review.stop_button.click()
    assert review.wait(30) is not None and not review.thread.is_alive()
    assert sum(sb.stats().values()) <= at + 2  # the two workers' requests in flight
    assert review.stop_button.layout.display == "none"
    assert isinstance(review.error, fbtime.PartialApplyError)
    result = review.result
    assert result.counts["not_attempted"] > 0 and "cancelled" in result.stopped
    shown = review.result_html.value
    assert "Cancelled, as you asked" in shown and "Stopped" not in shown  # not an error
    assert f"fbtime.resume(&#x27;{result.journal_path}&#x27;, client)" in shown
    assert shown.count("not attempted") == 1  # the counts once
    assert review.apply_button.disabled  # no Apply that could only be refused: Resume
    assert review.resume_button.layout.display == "flex"
    sb.latency = 0
    review.resume_button.click()
    assert review.wait(30).ok and "Done:" in review.result_html.value
    assert set(sb.entry_writes()) == set(plan.ids) and set(sb.entry_writes().values()) == {1}


def test_a_background_apply_shows_progress_and_the_result(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:5])
    review = PlanReview(plan, sb.client(cache=False), journal=tmp_path, background=True)
    review.apply_button.click()
    review.confirm_button.click()
    result = review.wait(30)
    assert result is not None and result.ok and result.counts["applied"] == 5
    assert review.bar.value == 5 and review.bar.max == 5
    assert "Done:" in review.result_html.value and "5 applied" in review.result_html.value


# -- conflicts and failures, itemised and planned again -------------------------------------
def test_conflicts_are_itemised_and_planned_again_from_the_server(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:5])
    edited, gone, billed = plan.ids[0], plan.ids[1], plan.ids[2]
    sb.update_entry(edited, note="changed meanwhile")
    sb.update_entry(gone, note="changed, then deleted")
    sb.delete_entry(gone)
    review = PlanReview(plan, sb.client(cache=False), journal=tmp_path, background=False)
    review.apply_button.click()
    review.confirm_button.click()
    result = review.result
    assert result.ids("conflict") == sorted([edited, gone]) and len(result.ids("applied")) == 3
    table = review.trouble_html.value
    assert "2 entries need a look" in table
    for entry in (edited, gone):
        assert f"<code>{entry}</code>" in table
        assert fbtime.text.for_html(result.rows.loc[entry, "reason"]) in table
    assert "changed on the server since the plan: note" in table
    assert review.replan_button.layout.display == "flex"
    assert "2 need a look" in repr(result) and str(edited) in repr(result)
    sb.update_entry(billed, billed=False)  # not in the new plan: it was applied
    sb.reset_stats()
    review.replan_button.click()
    again = review.next_review.plan
    assert sb.stats().get("GET time_entry") == 2  # one fresh read per entry, nothing written
    assert again.ids == [edited] and again.kind == "mark_billed"
    assert again.skipped == ({"id": gone, "reason": "deleted on the server since"},)
    assert again.changes[0].before["note"] == "changed meanwhile"  # as the server holds it
    assert again.changes[0].after == {"billed": True}
    review.next_review.apply_button.click()
    review.next_review.confirm_button.click()
    assert review.next_review.result.ok
    entry = sb.entries().set_index("id").loc[edited]
    assert bool(entry["billed"]) and entry["note"] == "changed meanwhile"


# -- the panel follows its plan: applied in code, it shows that apply and no Apply -----------
def shows_no_apply(review):
    return (
        review.apply_button.disabled
        and review.apply_button.layout.display == "none"
        and review.confirm_box.layout.display == "none"
        and all(box.disabled for box in review.checkboxes)
    )


def test_a_plan_applied_in_code_shows_in_every_panel_of_it(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:6])
    edited = plan.ids[0]
    sb.update_entry(edited, note="changed meanwhile")
    client = sb.client(cache=False)
    review = PlanReview(plan, client, journal=tmp_path, background=False)
    other = plan.review(client, journal=tmp_path, background=True)
    other.apply_button.click()  # one of them was asking to confirm
    assert other.confirm_box.layout.display == "flex" and not shows_no_apply(review)
    result = plan.apply(client, confirm=True, journal=tmp_path, progress=False)
    assert result.counts["applied"] == 5 and result.ids("conflict") == [edited]
    late = PlanReview(plan, client)  # a panel made after the apply shows it as well
    for panel in (review, other, late):
        assert panel.result is result and panel.followed == result.journal_path
        assert shows_no_apply(panel)
        shown = panel.result_html.value
        assert "applied in code or in another panel" in shown
        assert f"<b>Done:</b> {fbtime.text.for_html(counts_line(result))}" in shown
        assert counts_line(result) == "5 applied, 1 conflict"  # the result's counts
        assert shown.count("applied, 1 conflict") == 1
        assert "1 entry needs a look" in panel.trouble_html.value
        assert f"<code>{edited}</code>" in panel.trouble_html.value
        assert panel.replan_button.layout.display == "flex"
    assert len(list(tmp_path.glob("*.jsonl"))) == 1  # no panel applied anything
    sb.reset_stats()
    review.replan_button.click()  # plan these again, from the apply made in code
    assert review.next_review.plan.ids == [edited] and sb.writes() == 0
    assert not shows_no_apply(review.next_review)  # a new plan: it can be applied


def test_the_ticked_rows_applied_in_code_and_stopped_show_resume(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:8])
    client = sb.client(cache=False)
    review = PlanReview(plan, client, journal=tmp_path, background=False)
    review.checkboxes[0].value = False  # as notebook 03's code cell does
    selected = review.selected_plan()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(fbtime.PartialApplyError) as info:
        selected.apply(client, confirm=True, journal=tmp_path, cancel=cancel, progress=False)
    stopped = info.value.result
    assert review.result is stopped and review.applied_plan is selected
    assert shows_no_apply(review) and review.resume_button.layout.display == "flex"
    assert f"{stopped.counts['not_attempted']} not attempted" in review.result_html.value
    assert "Stopped" in review.result_html.value and sb.writes() == 0
    review.resume_button.click()
    assert review.result.ok and review.result.counts["applied"] == 7
    assert "Done:" in review.result_html.value and shows_no_apply(review)
    assert set(sb.entry_writes()) == set(selected.ids) and set(sb.entry_writes().values()) == {1}
    assert plan.ids[0] not in sb.entry_writes()


def test_a_panel_of_another_plan_or_its_own_apply_is_not_taken_for_followed(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    mine, theirs = plan.select(plan.ids[:3]), plan.select(plan.ids[3:6])
    client = sb.client(cache=False)
    review = PlanReview(mine, client, journal=tmp_path, background=False)
    assert theirs.apply(client, confirm=True, journal=tmp_path, progress=False).ok
    assert review.result is None and not shows_no_apply(review)
    review.apply_button.click()
    review.confirm_button.click()
    assert review.result.ok and review.followed is None
    assert "applied in code" not in review.result_html.value


def test_a_follower_is_held_weakly(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:2])
    heard = []

    class Follower:
        def hear(self, news):
            heard.append(news)

    kept, dropped = Follower(), Follower()
    assert applying.follow(plan.sha256, kept.hear) is None
    applying.follow(plan.sha256, dropped.hear)
    del dropped
    gc.collect()
    result = plan.apply(sb.client(cache=False), confirm=True, journal=tmp_path, progress=False)
    assert [(n.journal, n.result) for n in heard] == [
        (result.journal_path, None),  # as it begins
        (result.journal_path, result),  # as it ends
    ]
    assert len(applying._FOLLOWERS[plan.sha256]) == 1  # the dropped one is forgotten
    applying.unfollow(plan.sha256, kept.hear)
    assert plan.sha256 not in applying._FOLLOWERS


def test_the_cli_prints_names_before_apply(sb, tmp_path, monkeypatch, capsys):
    env(monkeypatch, sb, tmp_path)
    path = tmp_path / "plan.json"
    assert main(["mark-billed", "--team", "--save", str(path)]) == 0
    printed = capsys.readouterr().out
    plan = UpdatePlan.load(path)
    first = sb.entries().set_index("id").loc[plan.ids[0]]
    ds = sb.dataset
    teammate = next(
        f"{p['first_name']} {p['last_name']}" for p in ds.identities
        if p["id"] == first["identity_id"]
    )  # fmt: skip
    client = next(c["organization"] for c in ds.clients if c["id"] == first["client_id"])
    project = next(p["title"] for p in ds.projects if p["id"] == first["project_id"])
    shown = {"mark-billed": printed}
    assert main(["plan", "show", str(path)]) == 0
    shown["plan show"] = capsys.readouterr().out
    assert main(["apply", str(path), "--yes", "--journal-dir", str(tmp_path / "j")]) == 0
    shown["apply"] = capsys.readouterr().out  # the plan is printed before it is applied
    for command, out in shown.items():
        line = next(x for x in out.splitlines() if x.startswith(str(plan.ids[0])))
        assert teammate in line and client in line and project in line, (command, line)
        assert f"client {first['client_id']}" not in out, command


# -- the money a plan moves -----------------------------------------------------------------
def test_a_plan_says_its_money_exactly_per_client_and_why_some_has_none(sb):
    client = sb.client(cache=False)
    rated = load(sb).fbtime.with_names(clients=fbtime.load_clients(client))
    rated = rated.fbtime.with_rates(fbtime.load_rates(client), standard_rate=100)
    plan = rated.fbtime.unbilled().fbtime.mark_billed()
    rows = rated.loc[plan.ids]
    totals = plan.totals()
    priced = rows[rows["amount"].notna()]
    assert totals["amount"] == {"CAD": sum(priced["amount"].tolist(), Decimal("0"))}
    why = rows.loc[rows["amount"].isna(), "rate_source"].astype(str).value_counts()
    names = {"fixed_price": "fixed price", "missing": "no rate"}
    assert totals["no_amount"] == {names[k]: int(n) for k, n in why.items() if n}
    foreign = priced[priced["client_currency"].notna() & (priced["client_currency"] != "CAD")]
    assert totals["foreign"] == dict(foreign["client_currency"].astype(str).value_counts())
    assert totals["foreign"]  # the sandbox bills one client in USD
    by_client = plan.subtotals("client")
    assert sum(by_client["amount"].dropna().tolist(), Decimal("0")) == totals["amount"]["CAD"]
    assert by_client["entries"].sum() == len(plan)
    assert by_client["without_amount"].sum() == sum(totals["no_amount"].values())
    frame = plan.to_frame()
    assert frame["amount"].dtype == fbtime.money.MONEY
    text = repr(plan)
    shown = fbtime.display.money(totals["amount"]["CAD"], "CAD")
    assert shown in text and "without an amount" in text and "not converted" in text
    notes = frame.set_index("id")["amount_note"]
    fixed = rows.index[rows["rate_source"] == "fixed_price"]
    assert len(fixed) and (notes.loc[fixed] == "no amount: fixed price (valued per project)").all()
    usd = foreign.index[0]
    assert notes.loc[usd] == "client billed in USD, not converted"
