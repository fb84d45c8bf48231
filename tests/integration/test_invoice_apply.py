"""Bill the time on the sandbox, end to end: plan, apply, verify, resume, undo.

Every outcome is checked against the sandbox's ground truth: its invoices (deleted ones
too), its entries, and its request counters (a create is POSTed once, never twice).
"""

from __future__ import annotations

import signal
import threading

import pytest

import fbtime
from fbtime.bulk.invoice_journal import read_invoice_journal
from fbtime.bulk.invoice_once import Pacer
from fbtime.errors import ApplyInterrupted, ConfirmationError
from tests.integration.invoicing import END, assert_billed_once, live_invoices, plan_for


@pytest.fixture
def sb():
    with fbtime.Sandbox(entries=150, seed=1, end=END) as sandbox:
        yield sandbox


@pytest.fixture
def plan(sb):
    return plan_for(sb)


def apply(plan, sb, tmp_path, **kw):
    return plan.apply(sb.client(cache=False), confirm=plan.entry_count, journal=tmp_path,
                      progress=False, **kw)  # fmt: skip


def test_the_plan_sends_nothing_and_says_what_it_bills(sb, plan):
    sb.reset_stats()
    truth = sb.entries().set_index("id")
    unbilled = truth[truth.active & truth.is_logged & truth.billable & ~truth.billed
                     & (truth.duration > 0)]  # fmt: skip
    assert set(plan.entries.index) <= set(unbilled.index)
    assert set(plan.entries.index) | set(plan.skipped_frame.index) >= set(unbilled.index)
    assert list(plan.invoices.columns[:3]) == ["client_name", "currency", "create_date"]
    names = {c["id"]: c["organization"] for c in sb.dataset.clients}
    assert list(plan.invoices["client_name"]) == [names[c] for c in plan.invoices.index]
    assert plan.invoices["amount"].sum() == plan.lines["amount"].sum()
    text = repr(plan)
    assert all(name in text for name in plan.invoices["client_name"])
    assert "<details open>" in plan._repr_html_()
    assert sum(sb.stats().values()) == 0


def test_apply_makes_one_draft_per_client_and_bills_every_entry(sb, plan, tmp_path):
    sb.put_mode = "full"  # as live: a PUT without client_id/project_id clears them
    sb.reset_stats()
    result = apply(plan, sb, tmp_path)
    assert result.ok and result.counts["created"] == len(plan)
    assert_billed_once(sb, plan)
    stats = sb.stats()
    assert stats["POST invoices"] == len(plan)
    assert stats["PUT time_entry"] == plan.entry_count
    made = live_invoices(sb)
    assert all(i["v3_status"] == "draft" for i in made)
    assert sorted(result.invoices["invoice_id"]) == sorted(i["id"] for i in made)
    assert list(result.invoices["billed"]) == list(plan.invoices["entries"])
    written = [p.read_text() for p in tmp_path.rglob("*.jsonl")]
    assert len(written) == 1 + len(plan)  # the invoice journal, a mark_billed one per draft
    assert all(sb.token not in text for text in written)


def test_confirmation_is_needed_before_anything_is_sent(sb, plan, tmp_path):
    sb.reset_stats()
    with pytest.raises(ConfirmationError, match="confirm=True"):
        plan.apply(sb.client(cache=False), journal=tmp_path)
    with pytest.raises(ConfirmationError, match=f"confirm={plan.entry_count}"):
        plan.apply(sb.client(cache=False), confirm=True, max_changes=10, journal=tmp_path)
    assert sum(sb.stats().values()) == 0 and not list(tmp_path.iterdir())


def test_a_stale_entry_stops_its_draft_before_the_post(sb, plan, tmp_path):
    first, other = plan.drafts[0], plan.drafts[1]
    sb.update_entry(first.entry_ids[0], note="changed after the plan")
    other_entry = other.entry_ids[-1]
    sb.update_entry(other_entry, billed=True)  # billed by someone else meanwhile
    assert not apply(plan, sb, tmp_path).ok
    result = read_invoice_journal(next(tmp_path.glob("*-invoice-*.jsonl")))
    assert result.outcomes[first.client_id]["status"] == "conflict"
    assert (
        f"entry {first.entry_ids[0]} changed since the plan (note)"
        in (result.outcomes[first.client_id]["reason"])
    )
    assert result.outcomes[other.client_id]["status"] == "conflict"
    made = {i["customerid"] for i in sb.invoices()}
    assert first.client_id not in made and other.client_id not in made
    assert len(made) == len(plan) - 2
    truth = sb.entries().set_index("id")
    assert not truth.loc[[i for i in first.entry_ids[1:]], "billed"].any()


def test_a_server_that_changes_a_quantity_gets_its_draft_deleted(sb, tmp_path):
    plan = plan_for(sb, group_by="entry")
    sb.invoice_faults.qty = "truncate"
    result = apply(plan, sb, tmp_path)
    assert set(result.invoices["status"]) == {"mismatch"}
    assert all(i["vis_state"] == 1 for i in sb.invoices())  # each deleted again
    assert "qty" in result.invoices["reason"].iloc[0]
    truth = sb.entries().set_index("id")
    assert not truth.loc[plan.entries.index, "billed"].any()
    assert not result.ok


def test_a_lost_answer_is_found_again_not_posted_twice(sb, plan, tmp_path):
    sb.invoice_faults.lost_answers = 2
    result = apply(plan, sb, tmp_path)
    sb.wait_idle()
    assert result.ok
    assert result.counts["adopted"] == 2 and result.counts["created"] == len(plan) - 2
    assert sb.stats()["POST invoices"] == len(plan)
    assert_billed_once(sb, plan)


def test_a_409_is_not_retried_and_resume_creates_it(sb, plan, tmp_path):
    sb.invoice_faults.conflicts = 1
    result = apply(plan, sb, tmp_path)
    first = plan.drafts[0].client_id
    assert result.invoices.loc[first, "status"] == "failed"
    assert "409" in result.invoices.loc[first, "reason"] or "Conflict" in result.invoices.loc[
        first, "reason"]  # fmt: skip
    assert sb.stats()["POST invoices"] == len(plan)  # the 409 was not sent again
    again = fbtime.resume(result.journal_path, sb.client(cache=False))
    assert again.ok and again.invoices.loc[first, "status"] == "created"
    assert sb.stats()["POST invoices"] == len(plan) + 1
    assert_billed_once(sb, plan)


def test_ctrl_c_while_the_answer_is_on_its_way_then_resume_adopts(sb, plan, tmp_path):
    hold = interrupt_at_the_held_answer(sb)
    with pytest.raises(ApplyInterrupted) as stopped:
        apply(plan, sb, tmp_path)
    release(sb, hold)
    journal = read_invoice_journal(stopped.value.journal_path)
    first = plan.drafts[0].client_id
    assert first in journal.intents and first not in journal.outcomes
    assert len(sb.invoices()) == 1  # made, and nobody heard
    result = fbtime.resume(stopped.value.journal_path, sb.client(cache=False))
    assert result.ok and result.invoices.loc[first, "status"] == "adopted"
    assert sb.stats()["POST invoices"] == len(plan)
    assert_billed_once(sb, plan)


def interrupt_at_the_held_answer(sb) -> threading.Event:
    """Hold the next create's answer, and press Ctrl-C (SIGINT) while the client waits."""
    hold = threading.Event()
    sb.invoice_faults.hold = hold
    main = threading.main_thread().ident

    def interrupt() -> None:
        if sb.invoice_faults.holding.wait(30):
            signal.pthread_kill(main, signal.SIGINT)  # type: ignore[arg-type]

    threading.Thread(target=interrupt, daemon=True).start()
    return hold


def release(sb, hold: threading.Event) -> None:
    sb.invoice_faults.hold = None
    hold.set()
    sb.wait_idle()


def test_two_drafts_made_since_the_post_stop_and_ask(sb, plan, tmp_path):
    hold = interrupt_at_the_held_answer(sb)
    with pytest.raises(ApplyInterrupted) as stopped:
        apply(plan, sb, tmp_path)
    release(sb, hold)
    first = plan.drafts[0].client_id
    sb.create_invoice(**plan.drafts[0].draft.payload())  # someone made the same draft meanwhile
    result = fbtime.resume(stopped.value.journal_path, sb.client(cache=False))
    assert not result.ok
    assert result.invoices.loc[first, "status"] == "ambiguous"
    reason = result.invoices.loc[first, "reason"]
    assert "0000001" in reason and "0000002" in reason and "none is exactly" in reason
    assert sum(1 for i in sb.invoices() if i["customerid"] == first) == 2  # never a third
    assert (result.invoices["status"] == "created").sum() == len(plan) - 1
    truth = sb.entries().set_index("id")
    assert not truth.loc[plan.drafts[0].entry_ids, "billed"].any()


def test_undo_deletes_untouched_drafts_and_unbills_their_entries(sb, plan, tmp_path):
    result = apply(plan, sb, tmp_path)
    ids = list(result.invoices["invoice_id"])
    sent, paid, edited = ids[0], ids[1], ids[2]
    sb.mark_invoice_sent(sent)
    sb.pay_invoice(paid)
    sb.edit_invoice(edited, notes="Thanks!")
    undo = fbtime.undo(result.journal_path)
    assert len(undo) == len(plan) and "InvoiceUndo" in repr(undo)
    with pytest.raises(ConfirmationError):
        undo.apply(sb.client(cache=False), journal=tmp_path)
    done = undo.apply(sb.client(cache=False), confirm=undo.entry_count, journal=tmp_path)
    rows = done.invoices.set_index("invoice_id")
    assert rows.loc[sent, "reason"].startswith("sent")
    assert rows.loc[paid, "reason"].startswith("paid")
    assert rows.loc[edited, "reason"].startswith("edited")
    assert list(rows["status"]) == ["conflict", "conflict", "conflict", "deleted"]
    state = {i["id"]: i["vis_state"] for i in sb.invoices()}
    assert [state[i] for i in ids] == [0, 0, 0, 1]
    truth = sb.entries().set_index("id")
    for d, invoice_id in zip(plan.drafts, ids, strict=True):
        assert truth.loc[d.entry_ids, "billed"].all() == (invoice_id != ids[3])
    again = fbtime.resume(done.journal_path, sb.client(cache=False))  # repeatable
    assert list(again.invoices["status"]) == list(done.invoices["status"])


def test_the_saved_plan_applies_like_the_one_in_memory(sb, plan, tmp_path):
    path = plan.save(tmp_path / "plan.json")
    loaded = fbtime.InvoicePlan.load(path)
    assert loaded.sha256 == plan.sha256
    assert loaded.lines["amount"].tolist() == plan.lines["amount"].tolist()
    assert apply(loaded, sb, tmp_path).ok
    assert_billed_once(sb, plan)


def test_the_same_invoice_plan_applied_again_in_one_process_is_refused(sb, plan, tmp_path):
    # the registry of update plans serves invoice plans too (fbtime.bulk.apply.claim)
    client = sb.client(cache=False)
    first = plan.apply(client, confirm=True, journal=tmp_path, progress=False)
    assert first.ok
    sb.reset_stats()
    saved = fbtime.InvoicePlan.load(plan.save(tmp_path / "plan.json"))
    for again in (plan, saved):
        with pytest.raises(fbtime.AlreadyAppliedError, match="already applied") as info:
            apply(again, sb, tmp_path)
        assert str(first.journal_path) in str(info.value) and "resume" in str(info.value)
    assert sum(sb.stats().values()) == 0
    assert len(live_invoices(sb)) == len(plan)
    # a resume in the same process writes with the client that applied it (given none)
    assert fbtime.resume(first.journal_path).ok
    assert len(live_invoices(sb)) == len(plan)


def test_accounting_posts_are_paced_under_their_limit():
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    pacer = Pacer(limit=3, window=60.0, clock=lambda: now[0], sleep=sleep)
    sent = []
    for _ in range(7):
        pacer.wait()
        sent.append(now[0])
        now[0] += 1.0
    # 3 at t=0, 1, 2; the 4th waits to t=60, then 61, 62; the 7th waits to t=120
    assert sent == [0, 1, 2, 60, 61, 62, 120] and waits == [57, 57]
    assert all(sent[i + 3] - sent[i] >= 60 for i in range(len(sent) - 3))
