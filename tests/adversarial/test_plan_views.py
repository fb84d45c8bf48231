"""Notes, names and server messages are shown escaped: in the terminal and in notebooks.

A note like ``"\\x1b[2J\\x1b[1A..."`` must not clear the screen or move the cursor above
the confirmation prompt; a name like ``<img onerror=...>`` must not run in a notebook.
Each test prints through the real CLI (or renders the real HTML) and looks for the raw
bytes.
"""

import json
import re

import pytest

import fbtime
from adversarial.tamper import cli_env
from fbtime.bulk import Change, UpdatePlan
from fbtime.cli import main
from fbtime.widgets import PlanReview

ESCAPES = "\x1b[2J\x1b[1A\x1b]0;owned\x07\u202edesrever\r\nfake row\x9b31m"
RAW = ("\x1b", "\x07", "\u202e", "\r", "\x9b")
MARKUP = '<img src=x onerror=alert(1)><script>alert(2)</script>" onmouseover="alert(3)'


def assert_no_raw_controls(text):
    found = [c for c in RAW if c in text]
    assert not found, f"raw control characters reached the output: {found!r}"


def load(sb, **kw):
    return fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False, **kw)


@pytest.fixture
def sb(fresh_sandbox):
    return fresh_sandbox


@pytest.fixture
def victim(sb):
    """An unbilled billable entry whose note is a terminal attack."""
    entry = load(sb).fbtime.unbilled().fbtime.mark_billed().ids[0]  # not a future date
    sb.update_entry(entry, note=ESCAPES)
    return entry


def test_plan_printed_by_mark_billed_and_plan_show_has_no_control_bytes(
    sb, victim, tmp_path, monkeypatch, capsys
):
    cli_env(monkeypatch, sb, tmp_path)
    path = tmp_path / "plan.json"
    assert main(["mark-billed", "--team", "--save", str(path)]) == 0
    out = capsys.readouterr().out
    assert_no_raw_controls(out)
    assert "\\x1b[2J\\x1b[1A" in out  # shown, escaped
    assert main(["plan", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert_no_raw_controls(out)
    assert str(victim) in out and "\\x1b[2J" in out
    assert UpdatePlan.load(path).changes[0].context["note"] == ESCAPES  # kept as is


def test_an_update_plan_shows_the_note_it_writes_escaped(sb, victim, capsys):
    plan = load(sb).loc[[victim]].fbtime.update(note="clean " + ESCAPES)
    text = repr(plan)
    assert_no_raw_controls(text)
    assert text.count("\\x1b[2J") == 3  # before, after and the note column
    print(plan)
    assert_no_raw_controls(capsys.readouterr().out)


def test_apply_and_undo_output_has_no_control_bytes(sb, victim, tmp_path, monkeypatch, capsys):
    # one PUT fails: keep some in the undo
    for entry in load(sb).fbtime.unbilled().fbtime.mark_billed().ids[1:3]:
        sb.update_entry(int(entry), note=ESCAPES)
    cli_env(monkeypatch, sb, tmp_path)
    path = load(sb).fbtime.unbilled().fbtime.mark_billed().save(tmp_path / "plan.json")
    sb.inject(422, times=1, method="PUT", body={"message": "rejected \x1b[2J\x1b[H" + ESCAPES})
    journals = tmp_path / "journals"
    assert main(["apply", str(path), "--yes", "--journal-dir", str(journals)]) == 1
    out = capsys.readouterr().out
    assert_no_raw_controls(out)
    assert "1 failed" in out and "rejected \\x1b[2J\\x1b[H" in out  # the server's message
    journal = next(journals.glob("*.jsonl"))
    assert main(["undo", str(journal)]) == 0
    out = capsys.readouterr().out
    assert_no_raw_controls(out)
    assert "UpdatePlan undo" in out and "\\x1b[2J" in out


def test_an_error_message_from_the_server_reaches_stderr_escaped(
    sb, victim, tmp_path, monkeypatch, capsys
):
    cli_env(monkeypatch, sb, tmp_path)
    path = load(sb).fbtime.unbilled().fbtime.mark_billed().save(tmp_path / "plan.json")
    sb.inject(401, times=1, method="GET", endpoint="time_entry",
              body={"message": "revoked\x1b[2J\x1b[1A" + ESCAPES})  # fmt: skip
    code = main(["apply", str(path), "--yes", "--journal-dir", str(tmp_path / "j")])
    assert code == 1
    captured = capsys.readouterr()
    error = captured.err.split("fbtime: error:")[1]  # before it: the progress bar's own \r
    assert_no_raw_controls(captured.out + error)
    assert "revoked\\x1b[2J" in error and "fbtime resume" in error
    said = captured.out + error
    assert said.count("not attempted") == 1 and said.count("fbtime resume") == 1  # once
    assert sb.writes() <= 3  # only what the other three workers had under way


def test_a_plan_file_with_control_bytes_in_its_path_fields_is_shown_escaped(
    sb, tmp_path, monkeypatch, capsys
):
    plan = load(sb).head(2).fbtime.mark_billed()
    path = plan.save(tmp_path / "plan.json")
    data = json.loads(path.read_text())
    data["kind"] = "\x1b[2Jmark_billed"
    path.write_text(json.dumps(data))
    cli_env(monkeypatch, sb, tmp_path)
    assert main(["plan", "show", str(path)]) == 2
    captured = capsys.readouterr()
    assert_no_raw_controls(captured.out + captured.err)
    assert "unknown plan kind '\\x1b[2Jmark_billed'" in captured.err


# -- HTML ------------------------------------------------------------------------------
@pytest.fixture
def named_plan(sb):
    df = load(sb).fbtime.unbilled().head(3)
    first = df.iloc[0]
    named = df.fbtime.with_names(
        teammates={int(first["identity_id"]): MARKUP},
        clients={int(first["client_id"]): MARKUP},
        projects={int(first["project_id"]): MARKUP},
    )
    named.loc[named.index[0], "note"] = "was " + MARKUP
    return named.fbtime.update(note=MARKUP)


def assert_no_markup(html):
    assert not re.search(r"<(img|script)\b", html), html
    assert 'onmouseover="' not in html and 'onmouseover=\\"' not in html


def test_the_plan_html_escapes_every_value(named_plan):
    html = named_plan._repr_html_()
    assert_no_markup(html)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&quot; onmouseover=&quot;" in html


def test_the_review_widget_escapes_every_value(sb, named_plan):
    review = PlanReview(named_plan, sb.client(cache=False))
    label = review.labels[0].value
    assert_no_markup(label)
    assert label.count("&lt;img src=x onerror=alert(1)&gt;") >= 4  # teammate, client, project, note


HOSTILE_FIELD = "<svg/onload=alert(1)>"


@pytest.fixture
def hostile_field_plan():
    """An in-memory plan whose field name is markup (a loaded plan could not hold it)."""
    before = {"note": "a", HOSTILE_FIELD: "b"}
    change = Change(7, "update", before, {HOSTILE_FIELD: "<b>x</b>", "note": "c"}, 1.0, 3)
    return UpdatePlan("update", 1, [change])


def test_field_names_are_escaped_in_the_plan_html(hostile_field_plan):
    html = hostile_field_plan._repr_html_()
    assert "<svg" not in html and "&lt;svg/onload=alert(1)&gt;" in html
    assert "<b>x</b>" not in html


def test_field_names_are_escaped_in_the_review_widget(hostile_field_plan):
    review = PlanReview(hostile_field_plan)
    label = review.labels[0].value
    assert "<svg" not in label and "&lt;svg/onload=alert(1)&gt;" in label
    assert "<b>x</b>" not in label


def test_a_plan_with_a_hostile_field_cannot_be_saved_or_applied(hostile_field_plan, tmp_path):
    with pytest.raises(fbtime.PlanError, match="unknown or read-only"):
        hostile_field_plan.save(tmp_path / "plan.json")
    with pytest.raises(fbtime.PlanError, match="unknown or read-only"):
        hostile_field_plan.apply(confirm=True, journal=tmp_path / "j")
    assert list(tmp_path.iterdir()) == []
