"""``fbtime.read_journal``: a journal read back as a typed frame, after every check.

``pd.read_json(path, lines=True)`` shows entry ids and HTTP statuses as floats and checks
nothing; ``fbtime.read_journal`` gives ``Int64`` ids and statuses, UTC times, and refuses a
journal the undo and resume checks refuse.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

import fbtime
from fbtime.bulk import change
from fbtime.bulk.journal_frame import COLUMNS, LINE_TYPES


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    """A sandbox, the plan and the result of applying it (one entry already billed)."""
    with fbtime.Sandbox(entries=150, seed=5) as sb:
        df = fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False)
        plan = df.fbtime.unbilled().fbtime.mark_billed()
        plan = plan.select(plan.ids[:8])
        sb.update_entry(plan.ids[0], billed=True)  # billed elsewhere meanwhile
        sb.reset_stats()
        folder = tmp_path_factory.mktemp("journals")
        result = plan.apply(
            sb.client(cache=False), confirm=True, journal=folder, progress=False, workers=1
        )
        yield sb, plan, result, sb.stats()


def test_a_journal_reads_back_typed(applied):
    sb, plan, result, stats = applied
    frame = fbtime.read_journal(result.journal_path)
    assert {name: str(frame[name].dtype) for name in COLUMNS} == {
        name: str(dtype) if not isinstance(dtype, pd.CategoricalDtype) else "category"
        for name, dtype in COLUMNS.items()
    }
    assert frame.index.name == "line" and frame.index.tolist() == list(range(1, len(frame) + 1))
    assert list(frame["type"].cat.categories) == list(LINE_TYPES)
    # one header, an intent and an outcome per written entry, one for the one found billed
    counts = frame["type"].value_counts()
    assert counts["run"] == counts["end"] == 1
    assert counts["intent"] == stats["PUT time_entry"] == 7 and counts["outcome"] == 8
    outcomes = frame[frame["type"] == "outcome"].set_index("entry_id")
    assert sorted(outcomes.index) == sorted(plan.ids)
    assert outcomes.loc[plan.ids[0], "status"] == "already_applied"
    written = outcomes[outcomes["status"] == "applied"]
    assert sorted(written.index) == result.ids("applied") and len(written) == 7
    assert written["http_status"].tolist() == [200] * 7
    assert all(after == {"billed": True} for after in written["after"])
    assert frame["at"].is_monotonic_increasing and str(frame["at"].dt.tz) == "UTC"
    assert frame.loc[len(frame), "counts"]["applied"] == 7
    assert frame.attrs["fbtime_journal"] == {
        "path": str(result.journal_path),
        "run_id": result.run_id,
        "business_id": sb.business_id,
        "kind": "mark_billed",
        "base_url": sb.url,
        "finished": True,
        "in_doubt": [],
    }


def test_pandas_alone_reads_ids_as_floats(applied):
    path = applied[2].journal_path
    guessed = pd.read_json(path, lines=True)
    assert guessed["entry_id"].dtype == "float64"  # the problem read_journal solves
    typed = fbtime.read_journal(path)
    assert typed["entry_id"].dropna().tolist() == [int(i) for i in guessed["entry_id"].dropna()]


def test_a_tampered_journal_is_refused_naming_the_line(applied, tmp_path):
    path = shutil.copy(applied[2].journal_path, tmp_path / "run.jsonl")
    lines = path.read_text().splitlines()
    record = json.loads(lines[3])
    record["entry_id"] = 1  # an entry the plan does not name, chain kept as it was
    lines[3] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(fbtime.PlanError, match=r"line 4"):
        fbtime.read_journal(path)


def test_a_crash_cut_last_line_is_left_out(applied, tmp_path):
    path = shutil.copy(applied[2].journal_path, tmp_path / "run.jsonl")
    whole = fbtime.read_journal(path)
    data = path.read_bytes()
    path.write_bytes(data + b'{"type": "outcome", "entry_')  # a crash mid-write
    cut = fbtime.read_journal(path)
    whole.attrs["fbtime_journal"]["path"] = cut.attrs["fbtime_journal"]["path"]
    pd.testing.assert_frame_equal(cut, whole)


def test_the_frame_is_made_from_the_one_read_the_checks_accepted(applied, tmp_path, monkeypatch):
    path = shutil.copy(applied[2].journal_path, tmp_path / "run.jsonl")
    checked = path.read_bytes()
    swapped = checked.replace(b'"billed": true', b'"billed": false', 1)
    assert swapped != checked
    # the file is read once: what the checks see is what the frame shows, so other bytes
    # (someone writing the file as it is read) are refused, never shown unchecked
    reads = []
    monkeypatch.setattr(change, "read_limited", lambda *a: reads.append(a) or swapped)
    with pytest.raises(fbtime.PlanError):
        fbtime.read_journal(path)
    assert len(reads) == 1
