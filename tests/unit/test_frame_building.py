"""Fast frame building gives exactly the frame of the plain-Python path, page by page."""

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from fbtime import schema
from fbtime.api.paging import reconcile
from fbtime.frame import (
    _python_frame,
    apply_changes,
    chunks_to_frame,
    page_chunk,
    records_to_frame,
    sort_entries,
)
from fbtime.sandbox.data import generate


def api_rows(n: int, seed: int) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "updated_at"} for e in generate(n, seed).entries]


def pages(rows: list[dict], size: int = 100) -> list:
    return [page_chunk(rows[i : i + size]) for i in range(0, len(rows), size)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_arrow_pages_equal_the_plain_python_frame(seed):
    rows = api_rows(1500, seed)
    expected = _python_frame(rows)
    assert expected["timer_id"].notna().any() and expected["duration"].isna().any()
    assert_frame_equal(chunks_to_frame(pages(rows)), expected)
    assert_frame_equal(records_to_frame(rows), expected)
    assert dict(expected.dtypes.astype(str)) == {c: schema.DTYPES[c] for c in expected.columns}


def test_unknown_fields_and_odd_timestamps_are_kept():
    rows = api_rows(400, 4)
    for row in rows[120:130]:
        row["highlight"] = {"note": "<em>x</em>"}
    rows[5]["started_at"] = "2026-01-01T10:00:00.000Z"  # ms fractions, as the API accepts
    rows[250]["local_timezone"] = None
    del rows[300]["local_started_at"]
    frame = chunks_to_frame(pages(rows))
    assert_frame_equal(frame, _python_frame(rows))
    assert list(frame.columns) == [*schema.FRAME_COLUMNS, "highlight"]
    assert frame["highlight"].iloc[0] is None
    assert frame.loc[rows[120]["id"], "highlight"] == {"note": "<em>x</em>"}
    assert frame.loc[rows[5]["id"], "started_at"] == pd.Timestamp("2026-01-01T10:00:00Z")


def test_no_rows_give_the_empty_typed_frame():
    assert_frame_equal(records_to_frame([]), schema.empty_frame())
    assert_frame_equal(chunks_to_frame([page_chunk([]), None]), schema.empty_frame())


def test_changes_drop_deleted_upsert_changed_and_keep_the_api_order():
    rows = api_rows(300, 5)
    frame = sort_entries(records_to_frame(rows))
    active = [r for r in rows if r["active"]]  # an edit of a deleted entry is a drop
    gone, edited = active[10], dict(active[20], note="edited")
    new = dict(rows[0], id=999_999, started_at="2099-01-01T00:00:00Z")
    changes = reconcile(
        [dict(gone, active=False), dict(active[20], note="first"), edited, new], keep_deleted=False
    )
    assert changes.drop == {gone["id"]}
    assert {r["id"]: r["note"] for r in changes.upsert}[edited["id"]] == "edited"  # last wins
    out = apply_changes(frame, changes)
    assert gone["id"] not in out.index and out.index[0] == 999_999
    assert out.loc[edited["id"], "note"] == "edited" and len(out) == len(frame)
    expected = sort_entries(
        records_to_frame([r for r in [*rows, new] if r["id"] != gone["id"]]).assign(
            note=lambda f: f["note"].where(f.index != edited["id"], "edited")
        )
    )
    assert_frame_equal(out, expected)
    kept = apply_changes(frame, reconcile([dict(gone, active=False)], keep_deleted=True))
    assert kept.loc[gone["id"], "active"] == False  # noqa: E712  (nullable boolean)


@pytest.mark.parametrize("moved", [False, True])
def test_edits_in_place_give_the_same_frame_as_a_full_merge(moved):
    rows = [dict(r) for r in generate(400, seed=5).entries]
    for row in rows:
        row.pop("updated_at", None)
    frame = sort_entries(records_to_frame(rows))
    changed = [
        dict(rows[i], note=f"edited {i}", billed=not rows[i]["billed"]) for i in (3, 77, 250)
    ]
    if moved:  # a start time moved: the order changes, so the full merge must run
        changed[1]["started_at"] = "2020-01-01T00:00:00Z"
    merged = apply_changes(frame, reconcile(changed, keep_deleted=False))
    expected = sort_entries(pd.concat([frame.drop(index=[r["id"] for r in changed]),
                                       records_to_frame(changed)]))  # fmt: skip
    assert_frame_equal(merged, expected)
    assert merged.loc[changed[0]["id"], "note"] == "edited 3"
    assert frame.loc[changed[0]["id"], "note"] != "edited 3"  # the input is not modified
