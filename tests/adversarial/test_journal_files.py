"""Journals are untrusted input: undo and resume act only on what the journal's plan named.

Each attack edits a real journal (most recompute the ``prev`` chain, as anyone can) and
asserts the safe outcome: a PlanError naming the line, from ``read_state``, ``undo``,
``resume`` and the CLI alike, with no request sent and no file changed.
"""

import dataclasses
import hashlib
import itertools
import json
import shutil

import pytest

import fbtime
from adversarial.tamper import cli_env, lines, plan_hash, snapshot_tree, write_lines
from fbtime.bulk.journal import read_state
from fbtime.cli import main


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    """A sandbox and the journal of a six-entry mark_billed apply to it."""
    with fbtime.Sandbox(entries=120, seed=8) as sb:
        df = fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False)
        plan = df.fbtime.unbilled().fbtime.mark_billed()
        plan = plan.select(plan.ids[:6])
        folder = tmp_path_factory.mktemp("journals")
        result = plan.apply(
            sb.client(cache=False), confirm=True, journal=folder, progress=False, workers=1
        )
        assert result.ok
        yield sb, plan, df, result.journal_path


@pytest.fixture
def sb(applied):
    return applied[0]


@pytest.fixture
def journal(applied, tmp_path):
    """A copy of the journal to tamper with."""
    return shutil.copy(applied[3], tmp_path / "run.jsonl")


@pytest.fixture
def records(journal):
    return lines(journal)


def other_entry(applied):
    """An entry of the business that the plan does not name."""
    _, plan, df, _ = applied
    return int(next(i for i in df.index if i not in plan.ids))


def refused(sb, monkeypatch, tmp_path, path, match):
    """read_state, undo, resume and the CLI all refuse ``path``: PlanError matching
    ``match``, no request, no file written or changed."""
    before = snapshot_tree(tmp_path)
    sb.reset_stats()
    with pytest.raises(fbtime.PlanError, match=match) as info:
        read_state(path)
    with pytest.raises(fbtime.PlanError, match=match):
        fbtime.undo(path)
    with pytest.raises(fbtime.PlanError, match=match):
        fbtime.resume(path, sb.client(cache=False), progress=False)
    cli_env(monkeypatch, sb, tmp_path)
    journals = str(tmp_path / "new-journals")
    assert main(["undo", str(path), "--apply", "--yes", "--journal-dir", journals]) == 2
    assert main(["resume", str(path)]) == 2
    assert sum(sb.stats().values()) == 0, "a request was sent"
    assert snapshot_tree(tmp_path) == before
    return str(info.value)


def forged_outcome(records, entry_id, **over):
    """An outcome line as fbtime writes them, for ``entry_id``, restoring a note on undo."""
    template = next(r for r in records if r["type"] == "outcome")
    return {
        **template,
        "entry_id": entry_id,
        "before": {**template["before"], "note": "written by the attacker"},
        "after": {"note": "x"},
        **over,
    }


# -- the brief's attack: one appended line turned undo into an arbitrary write --------------
def test_an_appended_outcome_for_another_entry_is_refused(
    applied, sb, journal, records, monkeypatch, tmp_path
):
    victim = other_entry(applied)
    write_lines(journal, [*records, forged_outcome(records, victim)])
    refused(sb, monkeypatch, tmp_path, journal, rf"line {len(records) + 1}: outcome line after")
    write_lines(journal, [*records[:-1], forged_outcome(records, victim), records[-1]])
    message = refused(sb, monkeypatch, tmp_path, journal, rf"line {len(records)}: entry")
    assert f"entry {victim} is not in the journal's plan" in message


def test_an_appended_line_without_the_chain_is_refused(
    applied, sb, journal, records, monkeypatch, tmp_path
):
    with open(journal, "a") as handle:
        handle.write(json.dumps(forged_outcome(records, other_entry(applied))) + "\n")
    refused(sb, monkeypatch, tmp_path, journal, rf"line {len(records) + 1} does not follow")


def test_an_outcome_with_fields_the_plan_does_not_hold_is_refused(
    sb, journal, records, monkeypatch, tmp_path
):
    index = next(i for i, r in enumerate(records) if r["type"] == "outcome")
    records[index] = forged_outcome(records, records[index]["entry_id"])
    write_lines(journal, records)
    refused(sb, monkeypatch, tmp_path, journal, rf"line {index + 1}: the fields of entry")


def test_a_bool_where_the_plan_says_true_is_not_the_same(
    sb, journal, records, monkeypatch, tmp_path
):
    index = next(i for i, r in enumerate(records) if r["type"] == "intent")
    records[index]["after"] = {"billed": 1}  # 1 == True in Python, not in the plan
    write_lines(journal, records)
    refused(sb, monkeypatch, tmp_path, journal, rf"line {index + 1}: the fields of entry")


# -- the chain: added, removed, reordered, duplicated lines --------------------------------
def _raw(journal):
    return journal.read_text().splitlines(keepends=True)


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (lambda raw: [raw[0], raw[2], raw[1], *raw[3:]], 2),  # swapped
        (lambda raw: [*raw[:3], raw[2], *raw[3:]], 4),  # duplicated
        (lambda raw: [*raw[:2], *raw[3:]], 3),  # removed
        (lambda raw: [raw[0], *raw[1:-1][::-1], raw[-1]], 2),  # reversed
        (lambda raw: [*raw, raw[-1]], None),  # the end line twice
    ],
    ids=["swapped", "duplicated", "removed", "reversed", "end-twice"],
)
def test_lines_out_of_the_chain_are_refused(sb, journal, monkeypatch, tmp_path, edit, line):
    raw = _raw(journal)
    edited = edit(raw)
    journal.write_text("".join(edited))
    line = line or len(edited)
    refused(sb, monkeypatch, tmp_path, journal, rf"line {line} does not follow line {line - 1}")


def test_an_outcome_moved_before_its_intent_is_refused_even_rechained(
    sb, journal, records, monkeypatch, tmp_path
):
    intent = next(i for i, r in enumerate(records) if r["type"] == "intent")
    records[intent], records[intent + 1] = records[intent + 1], records[intent]
    write_lines(journal, records)
    refused(sb, monkeypatch, tmp_path, journal, rf"line {intent + 1}: .*applied without an intent")


def test_a_duplicated_outcome_is_refused_even_rechained(
    sb, journal, records, monkeypatch, tmp_path
):
    outcome = next(r for r in records if r["type"] == "outcome")
    write_lines(journal, [*records[:-1], outcome, records[-1]])
    refused(sb, monkeypatch, tmp_path, journal, rf"line {len(records)}: .*already has an outcome")


# -- malformed lines -------------------------------------------------------------------------
@pytest.mark.parametrize("line", ["42", '"outcome"', "[1, 2]", "null", "true"])
def test_a_line_that_is_not_an_object_is_refused(sb, journal, records, monkeypatch, tmp_path, line):
    with open(journal, "a") as handle:
        handle.write(line + "\n")
    refused(sb, monkeypatch, tmp_path, journal, rf"line {len(records) + 1} is not an object")


@pytest.mark.parametrize("entry_id", [None, "5049", True, 0, -1, 2**64, 1.5, [1]])
def test_an_entry_id_that_is_not_an_id_is_refused(
    sb, journal, records, monkeypatch, tmp_path, entry_id
):
    index = next(i for i, r in enumerate(records) if r["type"] == "outcome")
    records[index]["entry_id"] = entry_id
    write_lines(journal, records)
    refused(sb, monkeypatch, tmp_path, journal, rf"line {index + 1}: entry_id must be a positive")


EDITS = [
    (lambda r: r.update(type="exec"), "unknown line type 'exec'"),
    (lambda r: r.pop("type"), "unknown line type None"),
    (lambda r: r.update(url="https://evil.example"), r"unknown key\(s\) \['url'\]"),
    (lambda r: r.update(status="pwned"), "status 'pwned' is not an outcome"),
    (lambda r: r.update(status=None), "is not an outcome"),
    (lambda r: r.update(new_id=4242), "belongs to no re-created entry"),
    (lambda r: r.update(result={"timer": {"id": 1}}), "result must hold entry fields only"),
    (lambda r: r.update(result={"note": ["x"]}), "result must hold entry fields only"),
    (lambda r: r.update(http_status="200"), "is not an HTTP status"),
    (lambda r: r.update(reason=["x"]), "reason must be text"),
    (lambda r: r.update(run_id="0" * 12), "belongs to another run"),
    (lambda r: r.update(business_id=1), "belongs to another run or business"),
    (lambda r: r.update(action="delete"), "is planned as update"),
    (lambda r: r.update(at=None), "'at' must be a time"),
]


@pytest.mark.parametrize(("edit", "match"), EDITS, ids=[m for _, m in EDITS])
def test_a_malformed_outcome_line_is_refused(
    sb, journal, records, monkeypatch, tmp_path, edit, match
):
    index = next(i for i, r in enumerate(records) if r["type"] == "outcome")
    edit(records[index])
    write_lines(journal, records)
    refused(sb, monkeypatch, tmp_path, journal, rf"line {index + 1}\b.*{match}")


def test_a_line_after_the_end_is_refused(sb, journal, records, monkeypatch, tmp_path):
    intent = next(r for r in records if r["type"] == "intent")
    write_lines(journal, [*records, {**intent, "entry_id": intent["entry_id"]}])
    refused(sb, monkeypatch, tmp_path, journal, rf"line {len(records) + 1}: intent line after")


def test_a_stop_line_needs_a_known_cause(sb, journal, records, monkeypatch, tmp_path):
    stop = {**records[-1], "type": "stop", "cause": "because", "reason": "x"}
    stop.pop("counts")
    write_lines(journal, [*records[:-1], stop, records[-1]])
    refused(sb, monkeypatch, tmp_path, journal, rf"line {len(records)}: a stop line needs")


# -- the header: the plan everything else is checked against ------------------------------
def test_a_header_plan_widened_past_its_kind_is_refused(
    sb, journal, records, monkeypatch, tmp_path
):
    plan = records[0]["plan"]
    plan["changes"][0]["after"]["note"] = "rewritten"
    plan["sha256"] = plan_hash(plan)
    write_lines(journal, records)
    refused(sb, monkeypatch, tmp_path, journal, r"line 1 \(its plan\).*cannot change note")


def test_a_header_plan_edited_without_its_hash_is_refused(
    sb, journal, records, monkeypatch, tmp_path
):
    records[0]["plan"]["changes"].append(
        {**records[0]["plan"]["changes"][0], "id": records[0]["plan"]["changes"][0]["id"] + 99}
    )
    write_lines(journal, records)
    refused(sb, monkeypatch, tmp_path, journal, r"line 1 \(its plan\) does not match its integrity")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda r: r.update(version=1), "journal version 1"),
        (lambda r: r.update(format="other"), "not an fbtime journal"),
        (lambda r: r.update(business_id=True), "lacks business_id or plan"),
        (lambda r: r.update(plan=None), "lacks business_id or plan"),
        (lambda r: r.update(run_id="../../etc"), "is not a run id"),
        (lambda r: r.update(kind="update"), "business or kind differs"),
        (lambda r: r.update(token="secret"), r"unknown key\(s\) \['token'\]"),
    ],
)
def test_a_damaged_header_is_refused(sb, journal, records, monkeypatch, tmp_path, edit, match):
    edit(records[0])
    write_lines(journal, records)
    refused(sb, monkeypatch, tmp_path, journal, match)


def test_a_header_that_claims_a_line_before_it_is_refused(sb, journal, monkeypatch, tmp_path):
    raw = _raw(journal)
    header = json.loads(raw[0])
    header["prev"] = hashlib.sha256(b"").hexdigest()
    journal.write_text(json.dumps(header) + "\n" + "".join(raw[1:]))
    refused(sb, monkeypatch, tmp_path, journal, "not a run header fbtime wrote")


# -- damage, size ------------------------------------------------------------------------
def test_a_damaged_line_inside_is_refused(sb, journal, monkeypatch, tmp_path):
    raw = _raw(journal)
    raw[2] = raw[2][: len(raw[2]) // 2] + "\n"
    journal.write_text("".join(raw))
    refused(sb, monkeypatch, tmp_path, journal, "line 3 is damaged")


def test_a_blank_line_inside_is_refused(sb, journal, monkeypatch, tmp_path):
    raw = _raw(journal)
    journal.write_text("".join([*raw[:2], "\n", *raw[2:]]))
    refused(sb, monkeypatch, tmp_path, journal, "line 3 is damaged")


def test_a_journal_over_the_size_limit_is_refused_unread(sb, monkeypatch, tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as handle:
        handle.truncate(fbtime.bulk.journal.MAX_JOURNAL_BYTES + 1)  # sparse: costs no disk
    refused(sb, monkeypatch, tmp_path, path, "larger than 268,435,456 bytes")


# -- what is tolerated: a crash mid-write ---------------------------------------------------
def test_a_last_line_cut_short_by_a_crash_is_tolerated_and_cut_off_by_resume(
    sb, journal, monkeypatch, tmp_path
):
    raw = _raw(journal)
    lost = json.loads(raw[-2])  # the last outcome: its write landed, its line half did
    assert lost["type"] == "outcome"
    journal.write_text("".join(raw[:-2]) + raw[-2][: len(raw[-2]) // 2])
    state = read_state(journal)
    assert state.in_doubt() == [lost["entry_id"]] and not state.finished
    sb.reset_stats()
    result = fbtime.resume(journal, sb.client(cache=False), progress=False)
    assert result.ok and result.rows.loc[lost["entry_id"], "reason"].startswith("already applied")
    assert sb.writes() == 0  # checked on the server, not written again
    again = read_state(journal)
    assert again.finished and again.in_doubt() == []
    assert all(line.endswith("}\n") for line in _raw(journal))


def test_a_last_line_without_its_newline_is_kept(sb, journal, monkeypatch, tmp_path):
    journal.write_text(journal.read_text().removesuffix("\n"))
    state = read_state(journal)
    assert state.finished and len(state.outcomes) == 6
    result = fbtime.resume(journal, sb.client(cache=False), progress=False)
    assert result.ok and read_state(journal).finished


# -- writing a journal: the header first, then the file -------------------------------------
def test_a_plan_that_cannot_be_journaled_leaves_no_journal_and_sends_nothing(applied, tmp_path):
    sb, _, df, _ = applied
    update = df.fbtime.unbilled().head(3).fbtime.update(note="ok")
    with pytest.raises(TypeError):  # a plan cannot be edited in place
        update.changes[1].after["note"] = "lone \udc80 surrogate"
    bad = dataclasses.replace(update.changes[1], after={"note": "lone \udc80 surrogate"})
    update = dataclasses.replace(update, changes=[update.changes[0], bad, update.changes[2]])
    folder = tmp_path / "journals"
    sb.reset_stats()
    with pytest.raises(fbtime.PlanError, match=r"change #2 \(entry \d+\) after\.note"):
        update.apply(sb.client(cache=False), confirm=True, journal=folder, progress=False)
    assert sum(sb.stats().values()) == 0
    assert not folder.exists()


def test_journals_are_private_and_every_line_is_chained(applied):
    journal = applied[3]
    assert oct(journal.stat().st_mode & 0o777) == "0o600"
    raw = journal.read_bytes().splitlines()
    assert json.loads(raw[0])["prev"] is None
    for before, line in itertools.pairwise(raw):
        assert json.loads(line)["prev"] == hashlib.sha256(before).hexdigest()


def test_a_server_message_no_file_can_hold_is_journaled_escaped(applied, tmp_path):
    sb, _, df, _ = applied
    plan = df.fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[-2:])
    raw = b'{"message": "rejected \\udc80 \\u001b[2J"}'  # JSON escapes: valid JSON
    sb.inject(422, times=1, method="PUT", raw=raw)
    result = plan.apply(sb.client(cache=False), confirm=True, journal=tmp_path, workers=1,
                        progress=False)  # fmt: skip
    assert result.counts == {**result.counts, "failed": 1, "applied": 1}
    assert "rejected \\udc80" in result.rows.loc[plan.ids[0], "reason"]
    assert "\\x1b[2J" in repr(result) and "\x1b" not in repr(result)
    state = read_state(result.journal_path)
    assert state.finished and state.outcomes[plan.ids[0]]["status"] == "failed"
