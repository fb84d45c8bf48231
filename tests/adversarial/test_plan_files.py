"""Saved plans are untrusted input: an edited plan file is refused before any request.

Each attack edits a real saved plan the way someone with access to the file could, most
of them recomputing the integrity hash (it is not a signature), and asserts the safe
outcome: a PlanError naming the change and the field, no request sent, nothing written.
"""

import contextlib
import dataclasses
import datetime as dt
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fbtime
from adversarial.tamper import cli_env, edit_plan, plan_hash, snapshot_tree
from fbtime.bulk import UpdatePlan
from fbtime.cli import main

WRITABLE = fbtime.api.fields.WRITABLE


@pytest.fixture(scope="module")
def sb():
    with fbtime.Sandbox(entries=120, seed=5) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def frame(sb):
    return fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False)


@pytest.fixture
def billed_plan(frame, tmp_path):
    """A saved mark_billed plan of five entries."""
    plan = frame.fbtime.unbilled().fbtime.mark_billed()
    return plan.select(plan.ids[:5]).save(tmp_path / "plan.json")


@pytest.fixture
def update_plan(frame, tmp_path):
    plan = frame.fbtime.unbilled().head(5).fbtime.update(note="reviewed")
    return plan.save(tmp_path / "update.json")


def refused(sb, monkeypatch, tmp_path, path, match):
    """The plan at ``path`` is refused by load, ``plan show`` and ``apply``: PlanError
    matching ``match``, no request, no journal, the file itself untouched."""
    before = snapshot_tree(tmp_path)
    sb.reset_stats()
    with pytest.raises(fbtime.PlanError, match=match) as info:
        UpdatePlan.load(path)
    cli_env(monkeypatch, sb, tmp_path)
    journals = tmp_path / "journals"
    assert main(["plan", "show", str(path)]) == 2
    assert main(["apply", str(path), "--yes", "--journal-dir", str(journals)]) == 2
    assert sum(sb.stats().values()) == 0, "a request was sent"
    assert not journals.exists()
    assert snapshot_tree(tmp_path) == before
    return str(info.value)


# -- the integrity hash ------------------------------------------------------------------
def test_plan_show_and_the_repr_print_the_hash_apply_checks(sb, billed_plan, capsys, monkeypatch):
    data = json.loads(billed_plan.read_text())
    assert data["sha256"] == plan_hash(data)
    plan = UpdatePlan.load(billed_plan)
    assert plan.sha256 == data["sha256"]
    assert f"sha256 {data['sha256']}" in repr(plan)
    assert data["sha256"] in plan._repr_html_()
    cli_env(monkeypatch, sb, billed_plan.parent)
    assert main(["plan", "show", str(billed_plan)]) == 0
    assert f"sha256 {data['sha256']}" in capsys.readouterr().out


def test_the_hash_is_over_canonical_json_so_formatting_does_not_matter(billed_plan):
    data = json.loads(billed_plan.read_text())
    billed_plan.write_text(json.dumps(dict(reversed(list(data.items()))), indent=7))
    assert UpdatePlan.load(billed_plan).sha256 == data["sha256"]


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d["changes"][0]["after"].update(billed=True), None),  # same value: no-op
        (lambda d: d["changes"].pop(), "does not match its integrity hash"),
        (lambda d: d["changes"][0]["before"].update(note="other"), "does not match"),
        (lambda d: d["skipped"].append({"id": 1, "reason": "x"}), "does not match"),
        (lambda d: d.update(created_at=dt.datetime.now(dt.UTC).isoformat()), "does not match"),
        (lambda d: d.pop("sha256"), "no integrity hash"),
        (lambda d: d.update(sha256="0" * 63), "no integrity hash"),
        (lambda d: d.update(sha256=None), "no integrity hash"),
    ],
)
def test_a_plan_edited_without_its_hash_is_refused(
    sb, billed_plan, monkeypatch, tmp_path, edit, match
):
    edit_plan(billed_plan, edit, rehash=False)
    if match is None:
        UpdatePlan.load(billed_plan)
        return
    refused(sb, monkeypatch, tmp_path, billed_plan, match)


# -- what a plan's kind may change (hash recomputed: the checks must hold alone) ----------
def _add_note(d):
    d["changes"][0]["after"]["note"] = "rewritten"


@pytest.mark.parametrize(
    ("fixture", "edit", "match"),
    [
        (
            "billed_plan",
            _add_note,
            r"change #1 \(entry \d+\): a mark_billed plan cannot change note",
        ),
        (
            "billed_plan",
            lambda d: d["changes"][0]["after"].update(billed=False),
            r"change #1 .*sets billed to True",
        ),
        (
            "billed_plan",
            lambda d: d["changes"][1].update(action="delete", after={}),
            "cannot delete",
        ),
        (
            "billed_plan",
            lambda d: d["changes"][0].update(action="create", before={}),
            "cannot create",
        ),
        (
            "update_plan",
            lambda d: d["changes"][0]["after"].update(timer={"id": 1}),
            "writable fields are",
        ),
        ("update_plan", lambda d: d.update(kind="nuke"), "unknown plan kind 'nuke'"),
        ("update_plan", lambda d: d.update(kind=None), "unknown plan kind"),
        ("update_plan", lambda d: d.update(source_journal="/tmp/x.jsonl"), "only undo plans"),
        (
            "update_plan",
            lambda d: d.update(kind="undo", source_journal=None),
            "must name the journal",
        ),
        ("update_plan", lambda d: d.update(kind="delete"), "cannot update"),
    ],
)
def test_a_plan_changes_only_what_its_kind_allows(
    sb, request, monkeypatch, tmp_path, fixture, edit, match
):
    path = edit_plan(request.getfixturevalue(fixture), edit)
    refused(sb, monkeypatch, tmp_path, path, match)


def test_a_delete_plan_deletes_only(sb, frame, monkeypatch, tmp_path):
    path = frame.head(3).fbtime.delete().save(tmp_path / "delete.json")
    edit_plan(path, lambda d: d["changes"][2]["after"].update(billed=True))
    message = refused(sb, monkeypatch, tmp_path, path, "a delete changes no field")
    assert "change #3" in message


# -- every change records the whole entry -------------------------------------------------
def test_an_empty_before_cannot_rewrite_an_entry_unchecked(sb, update_plan, monkeypatch, tmp_path):
    """The attack of the brief: ``before: {}`` and a new duration and teammate."""

    def rewrite(d):
        change = d["changes"][0]
        change["before"] = {}
        change["after"] = {"duration": 60, "identity_id": 1}

    edit_plan(update_plan, rewrite)
    message = refused(sb, monkeypatch, tmp_path, update_plan, r"change #1 \(entry \d+\) before")
    assert "incomplete" in message and "duration" in message


@pytest.mark.parametrize("name", ["note", "duration", "identity_id", "billed", "started_at"])
def test_a_before_missing_one_field_is_refused(sb, billed_plan, monkeypatch, tmp_path, name):
    edit_plan(billed_plan, lambda d: d["changes"][0]["before"].pop(name))
    message = refused(sb, monkeypatch, tmp_path, billed_plan, "is incomplete")
    assert f"lacks {name}" in message


def test_a_field_written_must_have_been_compared(sb, update_plan, monkeypatch, tmp_path):
    def write_unseen(d):
        d["changes"][0]["before"].pop("local_timezone")
        d["changes"][0]["after"]["local_timezone"] = "Europe/Paris"

    edit_plan(update_plan, write_unseen)
    refused(sb, monkeypatch, tmp_path, update_plan, "local_timezone was never compared")


# -- when it was built -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("created_at", "match"),
    [
        (lambda now: (now + dt.timedelta(days=2)).isoformat(), "in the future"),
        (lambda now: (now + dt.timedelta(minutes=6)).isoformat(), "in the future"),
        (lambda now: now.replace(tzinfo=None).isoformat(), "has no time zone"),
        (lambda now: 1767225600, "is not a time"),
        (lambda now: "yesterday", "is not a time"),
        (lambda now: None, "is not a time"),
    ],
)
def test_created_at_must_be_a_past_aware_time(
    sb, billed_plan, monkeypatch, tmp_path, created_at, match
):
    stamp = created_at(dt.datetime.now(dt.UTC))
    edit_plan(billed_plan, lambda d: d.update(created_at=stamp))
    refused(sb, monkeypatch, tmp_path, billed_plan, match)


def test_a_future_plan_is_refused_by_apply_too(sb, frame, tmp_path):
    """Before: a future plan never counted as stale, so it could wait forever."""
    plan = frame.fbtime.unbilled().fbtime.mark_billed()
    ahead = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat()
    plan = dataclasses.replace(plan, created_at=ahead)  # (a plan cannot be edited in place)
    sb.reset_stats()
    with pytest.raises(fbtime.PlanError, match="in the future"):
        plan.apply(sb.client(cache=False), confirm=len(plan), max_changes=len(plan),
                   journal=tmp_path / "j")  # fmt: skip
    assert sum(sb.stats().values()) == 0 and not (tmp_path / "j").exists()


def test_a_plan_a_few_minutes_ahead_is_within_the_clock_skew(billed_plan):
    ahead = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)).isoformat()
    edit_plan(billed_plan, lambda d: d.update(created_at=ahead))
    assert UpdatePlan.load(billed_plan).created_at == ahead


# -- every field is checked --------------------------------------------------------------
def _set(*path_and_value):
    *path, value = path_and_value

    def edit(d):
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


JUNK = [
    (_set("changes", 0, "id", True), r"change #1: id must be a positive integer, got True"),
    (_set("changes", 0, "id", 2**64), r"change #1: id must be a positive integer"),
    (_set("changes", 0, "id", "5049"), r"change #1: id must be a positive integer, got '5049'"),
    (_set("changes", 0, "id", None), r"change #1: id must be a positive integer, got None"),
    (_set("changes", 0, "id", 0), "id must be a positive integer"),
    (_set("changes", 0, "action", None), r"change #1 \(entry \d+\): action must be"),
    (_set("changes", 0, "action", ["update"]), "action must be"),
    (_set("changes", 0, "before", []), r"before must be an object, got list"),
    (_set("changes", 0, "after", "billed"), r"after must be an object, got str"),
    (lambda d: d["changes"][0].pop("after"), "before and after must be objects"),
    (_set("changes", 0, "hours", "3"), r"hours must be a number"),
    (_set("changes", 0, "hours", -1), r"hours must be a number"),
    (_set("changes", 0, "hours", 10**30), r"hours must be a number"),
    (_set("changes", 0, "client_id", True), "client_id must be a positive integer"),
    (_set("changes", 0, "context", {"evil": "x"}), r"context: unknown key 'evil'"),
    (_set("changes", 0, "context", {"note": 5}), r"context\.note must be text"),
    (_set("changes", 0, "context", []), "context must be an object"),
    (_set("changes", 0, "headers", {"Authorization": "x"}), r"unknown key\(s\) \['headers'\]"),
    (_set("changes", 0, "before", "duration", -1), r"before\.duration: duration must be whole"),
    (_set("changes", 0, "before", "duration", 2**64), r"before\.duration is out of range"),
    (_set("changes", 0, "before", "duration", 1.5), r"before\.duration: duration must be whole"),
    (_set("changes", 0, "before", "duration", True), r"before\.duration: duration must be whole"),
    (_set("changes", 0, "before", "identity_id", True), r"before\.identity_id: identity_id must"),
    (_set("changes", 0, "before", "client_id", "68655"), r"before\.client_id is not in the form"),
    (_set("changes", 0, "before", "client_id", -3), r"before\.client_id: client_id must be"),
    (
        _set("changes", 0, "before", "started_at", "now"),
        r"before\.started_at: .* is not a date or time",
    ),
    (_set("changes", 0, "before", "started_at", "2026-13-45"), r"before\.started_at"),
    (_set("changes", 0, "before", "started_at", 1767225600), r"before\.started_at"),
    (_set("changes", 0, "before", "note", 123), r"before\.note: note must be a string"),
    (_set("changes", 0, "before", "note", {"$gt": ""}), r"before\.note: note must be a string"),
    (_set("changes", 0, "before", "billed", "false"), r"before\.billed: billed must be True"),
    (_set("changes", 0, "before", "billed", 0), r"before\.billed: billed must be True"),
    (_set("changes", 0, "before", "evil", 1), r"before: unknown or read-only .*'evil'"),
    (_set("changes", 0, "after", "billed", None), "sets billed to True, not None"),
    (_set("changes", 0, "after", "billed", 1), r"after\.billed: billed must be True or False"),
    (_set("business_id", True), "business_id must be a positive integer"),
    (_set("business_id", 2**70), "business_id must be a positive integer"),
    (_set("business_id", "349523"), "business_id must be a positive integer"),
    (_set("changes", None), "changes must be a list"),
    (_set("changes", {"0": {}}), "changes must be a list"),
    (_set("changes", [None]), r"change #1 is not an object"),
    (_set("skipped", "none"), "skipped must be a list"),
    (_set("skipped", [{"id": "a", "reason": "x"}]), r"skipped #1 must be"),
    (_set("skipped", [{"id": 3, "reason": "x", "after": {}}]), r"skipped #1 must be"),
    (_set("version", "2"), r"plan version '2'"),
    (_set("version", 1), "plan version 1"),
    (lambda d: d.pop("format"), "not an fbtime plan"),
    (_set("exec", "rm -rf /"), r"unknown key\(s\) \['exec'\]"),
]


@pytest.mark.parametrize(("edit", "match"), JUNK, ids=[m for _, m in JUNK])
def test_every_field_is_checked_and_named(sb, billed_plan, monkeypatch, tmp_path, edit, match):
    edit_plan(billed_plan, edit)
    refused(sb, monkeypatch, tmp_path, billed_plan, match)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"note": NaN}', "not JSON"),
        ('{"a": Infinity}', "not JSON"),
        ('{"format": "fbtime-plan", "format": "x"}', "appears twice"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ("\xff\xfe{}", "not JSON"),
        ("", "not JSON"),
        ("[]", "is not an fbtime plan"),
    ],
)
def test_a_file_that_is_not_plan_json_is_refused(sb, tmp_path, monkeypatch, text, match):
    path = tmp_path / "plan.json"
    path.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
    refused(sb, monkeypatch, tmp_path, path, match)


def test_a_lone_surrogate_written_as_an_escape_is_refused(sb, billed_plan, monkeypatch, tmp_path):
    text = billed_plan.read_text().replace('"note": "', '"note": "\\ud800', 1)
    billed_plan.write_text(text)
    edit_plan(billed_plan, lambda d: None)
    refused(sb, monkeypatch, tmp_path, billed_plan, r"before\.note is not valid Unicode")


@pytest.mark.parametrize("name", ["note", "client_id", "started_at", "billed", "duration"])
def test_deep_junk_inside_a_field_is_a_short_plan_error(billed_plan, name):
    deep = json.loads("[" * 400 + "]" * 400)  # deep, yet within any worker's recursion limit
    edit_plan(billed_plan, _set("changes", 0, "before", name, deep))
    with pytest.raises(fbtime.PlanError, match=rf"before\.{name}") as info:
        UpdatePlan.load(billed_plan)
    assert len(str(info.value)) < 600


# -- hypothesis: any mutation of a valid plan is a PlanError or a valid plan ---------------
JUNK_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=8)
    | st.sampled_from(["\ud800", "2026-01-01T00:00:00Z", "update", "mark_billed", "billed"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _mutated(data, path, how, junk):
    data = json.loads(json.dumps(data))
    if not path:
        return junk
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if how == "delete":
        del parent[path[-1]]
    elif how == "nest":
        parent[path[-1]] = [parent[path[-1]], junk]
    else:
        parent[path[-1]] = junk
    return data


@pytest.fixture(scope="module")
def valid_plan(frame):
    plan = frame.fbtime.unbilled().fbtime.update(note="hypothesis")
    return plan.select(plan.ids[:3]).to_dict()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_mutation_of_a_saved_plan_is_refused_as_a_plan_error(valid_plan, data):
    path = data.draw(st.sampled_from(list(_paths(valid_plan))))
    how = data.draw(st.sampled_from(["replace", "delete", "nest"] if path else ["replace"]))
    mutated = _mutated(valid_plan, path, how, data.draw(JUNK_VALUES))
    if isinstance(mutated, dict) and data.draw(st.booleans()):
        with contextlib.suppress(TypeError, ValueError):  # NaN: no JSON hash exists
            mutated["sha256"] = plan_hash(mutated)
    try:
        plan = UpdatePlan.from_dict(mutated)
    except fbtime.PlanError as exc:
        assert "Traceback" not in str(exc)
        return
    assert plan.sha256 == mutated["sha256"]  # only an intact plan gets through


# -- files: size, symlinks, temporary names, unsavable text ------------------------------
def test_a_plan_file_over_the_size_limit_is_refused_unread(sb, monkeypatch, tmp_path):
    path = tmp_path / "plan.json"
    with open(path, "wb") as handle:
        handle.truncate(fbtime.bulk.change.MAX_PLAN_BYTES + 1)  # sparse: costs no disk
    refused(sb, monkeypatch, tmp_path, path, "larger than 67,108,864 bytes")


def test_a_folder_instead_of_a_plan_is_refused(sb, monkeypatch, tmp_path):
    (tmp_path / "plan.json").mkdir()
    refused(sb, monkeypatch, tmp_path, tmp_path / "plan.json", "cannot read plan file")


def test_saving_over_a_planted_symlink_replaces_it_and_never_writes_through(frame, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    target = tmp_path / "plan.json"
    target.symlink_to(victim)
    plan = frame.fbtime.unbilled().fbtime.mark_billed()
    plan.save(target)
    assert victim.read_text() == "keep me"
    assert not target.is_symlink() and oct(target.stat().st_mode & 0o777) == "0o600"
    assert UpdatePlan.load(target).ids == plan.ids


def test_saving_never_uses_a_predictable_temporary_name(frame, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    for name in ("plan.json.tmp", ".plan.json.tmp", "plan.json~", "plan.tmp"):
        (tmp_path / name).symlink_to(victim)
    plan = frame.fbtime.unbilled().fbtime.mark_billed()
    plan.save(tmp_path / "plan.json")
    assert victim.read_text() == "keep me"
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["plan.json", "victim.txt", "plan.json.tmp", ".plan.json.tmp",
                            "plan.json~", "plan.tmp"])  # fmt: skip
    assert all((tmp_path / n).is_symlink() for n in names if n not in ("plan.json", "victim.txt"))


def test_a_plan_that_cannot_be_saved_writes_nothing(frame, tmp_path):
    plan = frame.fbtime.unbilled().head(4).fbtime.update(note="x")
    bad = dataclasses.replace(plan.changes[2], after={"note": "half an emoji \ud83d"})
    plan = dataclasses.replace(plan, changes=[*plan.changes[:2], bad, *plan.changes[3:]])
    with pytest.raises(fbtime.PlanError, match=r"change #3 \(entry \d+\) after\.note is not valid"):
        plan.save(tmp_path / "plan.json")
    assert os.listdir(tmp_path) == []


# -- undo plans: only what the journal they undo changed -----------------------------------
@pytest.fixture
def undo_setup(fresh_sandbox, tmp_path):
    """A fresh sandbox, the journal of a four-entry mark_billed apply, its undo plan saved,
    and an entry of the business that apply did not touch."""
    sb = fresh_sandbox
    df = fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False)
    plan = df.fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:4])
    result = plan.apply(sb.client(cache=False), confirm=True, journal=tmp_path / "runs",
                        progress=False)  # fmt: skip
    path = fbtime.undo(result.journal_path).save(tmp_path / "undo.json")
    untouched = int(next(i for i in df.fbtime.unbilled().index if i not in plan.ids))
    return sb, path, result.journal_path, untouched


def test_an_undo_plan_as_built_loads_and_restores(undo_setup, tmp_path):
    sb, path, _, _ = undo_setup
    plan = UpdatePlan.load(path)
    assert plan.kind == "undo" and len(plan) == 4
    assert plan.apply(sb.client(cache=False), confirm=True, journal=tmp_path, progress=False).ok


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (_add_note, r"undo plan change #1 \(entry \d+\): .* did not change note"),
        (_set("changes", 0, "after", "billed", True), "restores billed to its value before"),
        (lambda d: d["changes"][0].update(action="delete", after={}), "did not create this entry"),
    ],
)
def test_an_undo_plan_writes_only_what_its_journal_changed(
    undo_setup, monkeypatch, tmp_path, edit, match
):
    sb, path, _, _ = undo_setup
    edit_plan(path, edit)
    refused(sb, monkeypatch, tmp_path, path, match)


def test_an_undo_plan_cannot_reach_an_entry_its_journal_did_not_touch(
    undo_setup, monkeypatch, tmp_path
):
    sb, path, _, untouched = undo_setup
    edit_plan(path, _set("changes", 0, "id", untouched))
    message = refused(sb, monkeypatch, tmp_path, path, "did not update this entry")
    assert f"(entry {untouched})" in message


def test_an_undo_plan_pointed_at_another_journal_is_refused(undo_setup, monkeypatch, tmp_path):
    sb, path, _, _ = undo_setup
    other = fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False)
    other = other.fbtime.unbilled().head(2).fbtime.mark_billed()
    elsewhere = other.apply(sb.client(cache=False), confirm=True, journal=tmp_path / "other",
                            progress=False).journal_path  # fmt: skip
    edit_plan(path, _set("source_journal", str(elsewhere)))
    refused(sb, monkeypatch, tmp_path, path, "did not update this entry")
    edit_plan(path, _set("source_journal", str(tmp_path / "gone.jsonl")))
    refused(sb, monkeypatch, tmp_path, path, "no journal file at")


def test_an_undo_plan_whose_journal_was_tampered_with_is_refused(undo_setup, monkeypatch, tmp_path):
    sb, path, journal, _ = undo_setup
    raw = journal.read_text().splitlines(keepends=True)
    journal.write_text("".join([raw[0], raw[2], raw[1], *raw[3:]]))
    refused(sb, monkeypatch, tmp_path, path, "line 2 does not follow line 1")


def test_an_undo_plan_edited_in_memory_is_refused_before_any_request(undo_setup, tmp_path):
    sb, _, journal, _ = undo_setup
    plan = fbtime.undo(journal)
    with pytest.raises(TypeError):  # a plan cannot be edited in place; a copy can be made
        plan.changes[0].after["note"] = "not what the apply changed"
    first = plan.changes[0]
    edited = dataclasses.replace(first, after={**first.after, "note": "not what it changed"},
                                 before={"note": "x", **first.before})  # fmt: skip
    plan = dataclasses.replace(plan, changes=[edited, *plan.changes[1:]])
    sb.reset_stats()
    with pytest.raises(fbtime.PlanError, match="did not change note"):
        plan.apply(sb.client(cache=False), confirm=True, journal=tmp_path / "j")
    assert sum(sb.stats().values()) == 0 and not (tmp_path / "j").exists()
