"""Audit rules: each finds exactly the hand-planted anomalies and nothing on a clean frame."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import NOW, PLANTED

import fbtime.accessor  # noqa: F401  (registers df.fbtime)
from fbtime.audit import FINDING_COLUMNS, MONEY_RULES, OPT_IN_RULES, RULES
from fbtime.errors import QueryError

#: Rules that read only the entries (the money rules are in test_money_audit.py,
#: under_logged in test_under_logged.py).
ENTRY_RULES = [name for name in RULES if name not in (*MONEY_RULES, "over_budget", *OPT_IN_RULES)]

#: Entry ids each rule must report on the anomaly frame (overlap: 109 overlaps clean
#: entry 1, and the two duplicates 111/112 overlap each other by definition).
EXPECTED: dict[str, set[int]] = {
    "running": {101},
    "paused_timer": {118},
    "billable_no_client": {102},
    "internal_billable": {103},
    "missing_note": {104, 105},
    "zero_duration": {106},
    "negative_duration": {107},
    "over_12h": {108},
    "overlap": {1, 109, 111, 112},
    "duplicate": {111, 112},
    "future": {113},
    "old_unbilled": {114},
    "missing_day": set(),  # day findings have no id; checked below
}


def test_every_rule_is_expected():
    assert set(EXPECTED) == set(ENTRY_RULES)
    assert {rule for rule, _ in PLANTED.values()} - {"none"} == set(ENTRY_RULES)


@pytest.mark.parametrize("rule", ENTRY_RULES)
def test_rule_finds_exactly_the_planted_anomalies(anomaly_frame, rule):
    found = anomaly_frame.fbtime.audit([rule], now=NOW)
    assert list(found.columns) == list(FINDING_COLUMNS)
    assert set(found["rule"]) <= {rule}
    assert set(found["id"].dropna().astype(int)) == EXPECTED[rule]
    assert 117 not in set(found["id"].dropna())  # deleted: never a finding


@pytest.mark.parametrize("rule", ENTRY_RULES)
def test_rule_finds_nothing_on_a_clean_frame(clean_frame, rule):
    assert clean_frame.fbtime.audit([rule], now=NOW).empty


def test_full_audit_on_clean_frame_is_empty_with_dtypes(clean_frame):
    found = clean_frame.fbtime.audit(now=NOW)
    assert found.empty and list(found.columns) == list(FINDING_COLUMNS)
    assert str(found["id"].dtype) == "Int64"


def test_missing_day_uses_local_days(anomaly_frame):
    found = anomaly_frame.fbtime.audit(["missing_day"], now=NOW)
    # teammate 6 logged Mon 03-09 and Thu 03-12 (23:30 Toronto = Fri 03:30 UTC)
    assert found["detail"].tolist() == [
        "no time logged on Tue 2026-03-10",
        "no time logged on Wed 2026-03-11",
    ]
    assert found["id"].isna().all() and (found["teammate"] == "teammate 6").all()
    assert (found["severity"] == "info").all()
    in_utc = anomaly_frame.fbtime.audit(["missing_day"], now=NOW, tz="UTC")
    assert len(in_utc) == 3  # in UTC the second day is Friday, so Thursday is missing too


def test_missing_day_skips_weekends(make_frame):
    frame = make_frame(
        [
            {"started_at": "2026-03-13T15:00:00Z"},  # Fri
            {"started_at": "2026-03-16T15:00:00Z"},  # Mon
        ]
    )
    assert frame.fbtime.audit(["missing_day"], now=NOW).empty


def test_overlap_chain_reports_every_member(make_frame):
    frame = make_frame(
        [
            {"started_at": "2026-03-09T13:00:00Z", "duration": 3 * 3600},  # 1: 13-16
            {"started_at": "2026-03-09T13:30:00Z", "duration": 1800},  # 2: inside 1
            {"started_at": "2026-03-09T14:30:00Z", "duration": 1800},  # 3: inside 1, not 2
            {"started_at": "2026-03-09T16:00:00Z", "duration": 3600},  # 4: touches 1 only
            {"started_at": "2026-03-09T13:30:00Z", "duration": 1800, "identity_id": 2},  # 5
        ]
    )
    found = frame.fbtime.audit(["overlap"], now=NOW)
    assert found["id"].tolist() == [1, 2, 3]
    details = dict(zip(found["id"], found["detail"], strict=True))
    assert details[2] == "overlaps entry 1" and details[3] == "overlaps entry 1"


def test_duplicate_reports_every_member_and_reads_blank_notes_as_equal(make_frame):
    same = {"started_at": "2026-03-09T13:00:00Z", "duration": 1800}
    frame = make_frame(
        [
            {**same, "note": None},
            {**same, "note": ""},
            {**same, "note": " "},
            {**same, "note": "other"},
            {**same, "note": None, "project_id": 7},
        ]
    )
    found = frame.fbtime.audit(["duplicate"], now=NOW)
    assert found["id"].tolist() == [1, 2, 3]
    assert found["detail"].iloc[0] == "1 of 3 identical entries; first id 1"


def test_thresholds_are_options(anomaly_frame):
    long = anomaly_frame.fbtime.audit(["over_12h"], now=NOW, max_hours=2)
    assert set(long["id"]) == {6, 7, 8, 9, 10, 108}  # 3 h entries; 2 h ones are not over
    recent = anomaly_frame.fbtime.audit(["old_unbilled"], now=NOW, unbilled_days=5)
    assert set(recent["id"]) == {102, 114}


def test_names_label_findings(anomaly_frame):
    named = anomaly_frame.fbtime.with_names(clients={10: "Acme"}, teammates={1: "Ann"})
    found = named.fbtime.audit(["running"], now=NOW)
    assert found[["teammate", "client"]].iloc[0].tolist() == ["Ann", "Acme"]
    assert found["detail"].iloc[0] == "timer running for 160.0 h"


def test_unknown_rule_lists_valid_names(clean_frame):
    with pytest.raises(QueryError) as info:
        clean_frame.fbtime.audit(["overlap", "typo"])
    assert "typo" in str(info.value)
    assert all(name in str(info.value) for name in RULES)


def test_severity_is_ordered_and_errors_come_first(anomaly_frame):
    found = anomaly_frame.fbtime.audit(now=NOW)
    assert isinstance(found["severity"].dtype, pd.CategoricalDtype)
    assert found["severity"].cat.ordered
    assert list(found["severity"].cat.categories) == ["info", "warning", "error"]
    assert found["severity"].max() == "error"  # as plain text, "warning" > "error"
    ranks = found["severity"].cat.codes.tolist()
    assert ranks == sorted(ranks, reverse=True)  # errors, then warnings, then info
    errors = found[found["severity"] == "error"]
    assert set(errors["rule"]) == {"billable_no_client", "internal_billable",
                                   "negative_duration", "overlap", "duplicate"}  # fmt: skip
    assert found.iloc[: len(errors)]["severity"].eq("error").all()
    assert str(anomaly_frame.iloc[:0].fbtime.audit(now=NOW)["severity"].dtype) == "category"


def test_money_rules_say_what_they_need_when_asked_for(anomaly_frame):
    for rule in MONEY_RULES:
        with pytest.raises(QueryError, match="with_rates"):
            anomaly_frame.fbtime.audit([rule], now=NOW)
    with pytest.raises(QueryError, match="rates="):
        anomaly_frame.fbtime.audit(["over_budget"], now=NOW)
    assert set(anomaly_frame.fbtime.audit(now=NOW)["rule"]) <= set(ENTRY_RULES)


def test_timers_are_only_reported_as_running_or_paused(anomaly_frame):
    found = anomaly_frame.fbtime.audit(now=NOW)
    assert found.loc[found["id"] == 101, "rule"].tolist() == ["running"]
    # a paused timer with no note that overlaps logged work: no missing_note, no overlap
    assert found.loc[found["id"] == 118, "rule"].tolist() == ["paused_timer"]
    assert set(found["severity"]) <= {"error", "warning", "info"}
    assert isinstance(found, pd.DataFrame) and len(found) == 19
