"""Invoice plans and journals are untrusted files, and names and notes are untrusted text.

An edited plan file (hash recomputed: it is not a signature) or a forged journal line is
refused with a PlanError naming what is wrong, before any request; hostile client,
project and teammate names and notes are shown escaped in the plan's text, HTML and
review panel, and cut to a length FreshBooks takes before they reach an invoice line.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest

import fbtime
from adversarial.hostile import HTML, NOTES
from adversarial.tamper import edit_plan, lines, write_lines
from fbtime.api.invoices import MAX_TEXT
from fbtime.drafts import MAX_DESCRIPTION

DAY = dt.date(2026, 4, 1)


@pytest.fixture(scope="module")
def sb():
    with fbtime.Sandbox(entries=150, seed=1, end=dt.date(2026, 3, 31)) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def plan(sb):
    client = sb.client(cache=False)
    df = fbtime.load_time_entries(client, team=True, progress=False)
    return df.fbtime.invoice(fbtime.load_rates(client), standard_rate=100, create_date=DAY)


@pytest.fixture
def saved(plan, tmp_path):
    return plan.save(tmp_path / "invoices.json")


def refused(sb, path, match: str) -> None:
    sb.reset_stats()
    with pytest.raises(fbtime.PlanError, match=match):
        fbtime.InvoicePlan.load(path)
    assert sum(sb.stats().values()) == 0


def first_line(data):
    return data["drafts"][0]["lines"][0]


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: first_line(d).update(amount="1.00"), "is not qty x unit_cost"),
        (lambda d: first_line(d).update(unit_cost="9999.00"), "is not qty x unit_cost"),
        (lambda d: first_line(d).update(qty="1.00001", amount="150.00"), "decimal places"),
        (lambda d: first_line(d).update(qty="-1"), "decimal string"),
        (lambda d: first_line(d).update(entries=[]), "non-empty list"),
        (lambda d: first_line(d)["entries"].append(first_line(d)["entries"][0]), "once each"),
        (
            lambda d: d["drafts"][1]["lines"][0]["entries"].append(first_line(d)["entries"][0]),
            "exactly those marks bills",
        ),
        (
            lambda d: d["drafts"][0].update(client_id=d["drafts"][1]["client_id"]),
            "another client's entries",
        ),
        (lambda d: d["drafts"][0].update(currency="C$"), "currency"),
        (lambda d: d["drafts"][0].update(due_offset_days=-5), "due_offset_days"),
        (lambda d: d["drafts"][0]["marks"].update(kind="mark_unbilled"), "marks"),
        (
            lambda d: d["drafts"][0]["marks"]["changes"][0]["after"].update(billed=False),
            "marks",
        ),
        (lambda d: d["drafts"][0].update(lines=[first_line(d)] * 401), "1 to 400 lines"),
        (lambda d: d.update(group_by="day"), "group_by"),
        (
            lambda d: d["skipped"].append(
                {"id": 1, "reason": "trust me", "client_id": None, "hours": None}
            ),
            "not one fbtime gives",
        ),
        (lambda d: d.update(extra=1), "unknown key"),
    ],
)
def test_an_edited_plan_is_refused(sb, saved, edit, match):
    refused(sb, edit_plan(saved, edit), match)


def test_an_edit_without_rehashing_breaks_the_hash(sb, saved):
    refused(sb, edit_plan(saved, lambda d: first_line(d).update(name="Other"), rehash=False),
            "integrity hash")  # fmt: skip


def test_a_forged_journal_line_is_refused_before_any_request(sb, plan, tmp_path):
    hold = plan.select([plan.drafts[0].client_id])
    client = sb.client(cache=False)
    result = hold.apply(client, confirm=True, journal=tmp_path / "j", progress=False)
    journal = result.journal_path
    records = lines(journal)
    other = plan.drafts[1].client_id
    cases = {
        "no draft in the journal's plan": [*records[:-1], {**records[-2], "client_id": other}],
        "without an intent": [records[0], {**records[2], "type": "draft_outcome"}],
        "is not one of": [*records[:2], {**records[2], "status": "paid"}],
        "does not follow": None,
    }
    for match, forged in cases.items():
        path = tmp_path / f"forged-{len(match)}.jsonl"
        if forged is None:
            write_lines(path, [records[0], records[2], records[1]], chain=False)
        else:
            write_lines(path, forged)
        sb.reset_stats()
        with pytest.raises(fbtime.PlanError, match=match):
            fbtime.resume(path, client)
        with pytest.raises(fbtime.PlanError, match=match):
            fbtime.undo(path)
        assert sum(sb.stats().values()) == 0


@pytest.fixture(scope="module")
def hostile_plan(hostile_account, hostile_frame):
    """Entry-by-entry drafts of the hostile account, with hostile notes on entries it bills."""
    sb = hostile_account.sandbox
    rates = fbtime.load_rates(sb.client(cache=False))
    options = {"group_by": "entry", "standard_rate": 100, "create_date": DAY}
    billed = hostile_frame.fbtime.invoice(rates, **options).entries.index[:5]
    for note, entry_id in zip((*HTML, NOTES[0], "x" * 40_000), billed, strict=True):
        sb.update_entry(int(entry_id), note=note)
    return hostile_account.frame().fbtime.invoice(rates, **options)


#: A tag an attacker's text could open: anything but the tags the invoice views use.
FOREIGN_TAG = re.compile(
    r"<(?!/?(?:table|thead|tbody|tr|th|td|p|div|b|i|code|details|summary|ul|li|pre|span)\b)"
)


def test_hostile_names_and_notes_are_escaped_in_every_view(hostile_plan):
    text = repr(hostile_plan)
    assert "\x1b" not in text and "\x9b" not in text and "\u202e" not in text
    assert "\\x1b[" in text  # shown, escaped
    shown = [h for h in HTML if (hostile_plan.lines["description"].str.contains(h, regex=False)
                                 | hostile_plan.entries["note"].eq(h)).any()]  # fmt: skip
    assert shown, "the hostile notes are on the plan"
    panel = hostile_plan.review(background=False)
    views = [hostile_plan._repr_html_(), *(w.value for w in panel_html(panel))]
    for view in views:
        assert not FOREIGN_TAG.search(view), FOREIGN_TAG.search(view)
        assert not any(planted in view for planted in shown)
    assert all(html.escape(planted) in views[0] for planted in shown)  # shown, as text
    assert all(html.escape(planted) in "".join(views[1:]) for planted in shown)


def panel_html(widget) -> list:
    """Every HTML widget inside a panel."""
    found = [widget] if type(widget).__name__ == "HTML" else []
    for child in getattr(widget, "children", ()):
        found += panel_html(child)
    return found


def test_a_huge_note_is_cut_before_it_reaches_a_line(hostile_plan):
    descriptions = hostile_plan.lines["description"]
    assert descriptions.str.len().max() <= MAX_DESCRIPTION <= MAX_TEXT
    assert any(d.endswith("…") and "x" * 100 in d for d in descriptions)
    on_lines = hostile_plan.entries.reset_index().merge(
        hostile_plan.lines, on=["client_id", "line"]
    )
    rows = on_lines[on_lines["note"] == NOTES[0]]  # a formula: FreshBooks gets it as typed
    assert len(rows) and all(NOTES[0] in d for d in rows["description"])
    json.dumps(hostile_plan.to_dict())  # and the plan still saves
