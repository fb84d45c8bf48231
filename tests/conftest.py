"""Shared time-entry frames: small hand-made ones with known answers, and a synthetic one.

``make_frame(rows)`` turns a list of dicts (only the fields that matter to the test) into
a typed frame through :func:`fbtime.schema.as_time_entries`, filling the rest with
:data:`DEFAULTS`. ``synthetic_frame`` is a 5,000-row numpy frame for ground-truth checks
against plain pandas.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest

import fbtime
from fbtime.schema import DTYPES, FRAME_COLUMNS, as_time_entries

matplotlib.use("Agg")

TZ = "America/Toronto"
#: The audit clock used by the hand-made frames.
NOW = pd.Timestamp("2026-03-20T12:00:00Z")

DEFAULTS: dict[str, Any] = {
    "identity_id": 1,
    "is_logged": True,
    "started_at": "2026-03-09T14:00:00Z",
    "created_at": "2026-03-09T14:00:00Z",
    "duration": 3600,
    "client_id": 10,
    "project_id": 100,
    "service_id": 1000,
    "task_id": None,
    "retainer_id": None,
    "pending_client": None,
    "pending_project": None,
    "pending_task": None,
    "note": "work",
    "active": True,
    "billable": True,
    "billed": False,
    "internal": False,
    "timer_id": None,
    "timer_is_running": False,
    "local_started_at": None,
    "local_timezone": TZ,
    "source": None,
}

MakeFrame = Callable[..., pd.DataFrame]


def build_frame(rows: list[dict[str, Any]], meta: dict[str, int] | None = None) -> pd.DataFrame:
    """Typed frame from partial rows; ids default to 1..n."""
    records = [{"id": i, **DEFAULTS, **row} for i, row in enumerate(rows, start=1)]
    raw = pd.DataFrame(records, columns=["id", *DEFAULTS]) if records else None
    if raw is None:
        raw = pd.DataFrame({"id": [], **{c: [] for c in DEFAULTS}})
    frame = as_time_entries(raw.astype({c: object for c in DEFAULTS}))
    if meta is not None:
        frame.attrs["fbtime"] = {"business_id": 1, "filters": {}, "fetched_at": None, "meta": meta}
    return frame


@pytest.fixture
def make_frame() -> MakeFrame:
    """The :func:`build_frame` helper, for tests that write their own rows."""
    return build_frame


@pytest.fixture
def one_project_rates() -> fbtime.Rates:
    """Project 100 ("Site", client 10) billed at its own rate of 95.55 CAD an hour."""
    return fbtime.Rates.from_api(
        projects=[{"id": 100, "title": "Site", "project_type": "hourly_rate", "client_id": 10,
                   "billing_method": "project_rate", "rate": "95.55", "budget": None,
                   "billed_amount": "0.00"}],
        team_member_rates=[], service_rates=[], clients=[{"id": 10, "currency_code": "CAD"}],
        currency="CAD",
    )  # fmt: skip


@pytest.fixture
def small_frame() -> pd.DataFrame:
    """3 entries: client 10 has 1.0 + 0.5 h (0.5 billed), client 20 has 2.0 h non-billable."""
    return build_frame(
        [
            {"client_id": 10, "duration": 3600, "started_at": "2026-03-02T14:00:00Z"},
            {
                "client_id": 10,
                "duration": 1800,
                "billed": True,
                "started_at": "2026-03-04T15:00:00Z",
            },
            {
                "client_id": 20,
                "duration": 7200,
                "billable": False,
                "identity_id": 2,
                "started_at": "2026-03-03T16:00:00Z",
            },
        ]
    )


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    """Running timers, deleted rows, NA durations and an entry without client.

    Counted (logged, active): ids 1 (client 10, 1 h billable), 2 (client 10, 2 h billed),
    3 (no client, 0.5 h internal), 7 (client 20, 1.5 h billable, billed NA).
    Not counted: 4 running timer, 5 deleted (client 10, 4 h), 6 not logged without timer.
    """
    return build_frame(
        [
            {"client_id": 10, "duration": 3600},
            {"client_id": 10, "duration": 7200, "billed": True},
            {"client_id": None, "duration": 1800, "billable": False, "internal": True},
            {"duration": None, "is_logged": False, "timer_id": 9, "timer_is_running": True},
            {"client_id": 10, "duration": 14400, "active": False},
            {"duration": None, "is_logged": False, "timer_is_running": None},
            {"client_id": 20, "duration": 5400, "billed": None, "identity_id": 2},
        ],
        meta={"total": 7, "total_logged": 32400, "total_unbilled": 23400},
    )


def _clean_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for day in range(9, 14):  # Mon 2026-03-09 .. Fri 2026-03-13
        rows.append(
            {"identity_id": 1, "client_id": 10, "billed": True,
             "started_at": f"2026-03-{day:02d}T14:00:00Z", "duration": 7200, "note": "design"}
        )  # fmt: skip
    for day in range(9, 14):
        rows.append(
            {"identity_id": 2, "client_id": 20, "billable": False, "project_id": 200,
             "started_at": f"2026-03-{day:02d}T15:00:00Z", "duration": 10800, "note": "ops"}
        )  # fmt: skip
    # a deleted entry full of problems: deleted entries are never findings
    rows.append(
        {"identity_id": 1, "started_at": "2026-03-09T14:30:00Z", "duration": 0, "note": None,
         "active": False, "billable": True, "client_id": None, "internal": True}
    )  # fmt: skip
    return rows


@pytest.fixture
def clean_frame() -> pd.DataFrame:
    """Two teammates, one entry each weekday of 2026-03-09..13, nothing to report (ids 1-11)."""
    return build_frame(_clean_rows())


#: Planted anomalies of :func:`anomaly_frame`: id -> (rule, row).
PLANTED: dict[int, tuple[str, dict[str, Any]]] = {
    101: ("running", {"identity_id": 1, "is_logged": False, "duration": None, "note": None,
                      "timer_is_running": True, "started_at": "2026-03-13T20:00:00Z"}),
    102: ("billable_no_client", {"identity_id": 2, "client_id": None,
                                 "started_at": "2026-03-12T20:00:00Z"}),
    103: ("internal_billable", {"identity_id": 1, "internal": True, "billed": True,
                                "started_at": "2026-03-11T20:00:00Z"}),
    104: ("missing_note", {"identity_id": 1, "note": "  ", "billed": True,
                           "started_at": "2026-03-10T20:00:00Z"}),
    105: ("missing_note", {"identity_id": 2, "note": None, "billable": False,
                           "started_at": "2026-03-10T20:00:00Z"}),
    106: ("zero_duration", {"identity_id": 1, "duration": 0, "billed": True,
                            "started_at": "2026-03-09T20:00:00Z"}),
    107: ("negative_duration", {"identity_id": 2, "duration": -600, "billable": False,
                                "started_at": "2026-03-09T20:00:00Z"}),
    108: ("over_12h", {"identity_id": 3, "duration": 13 * 3600, "billable": False,
                       "started_at": "2026-03-12T13:00:00Z"}),
    109: ("overlap", {"identity_id": 1, "billed": True, "started_at": "2026-03-09T15:00:00Z"}),
    111: ("duplicate", {"identity_id": 2, "note": "call", "billable": False,
                        "started_at": "2026-03-13T20:00:00Z"}),
    112: ("duplicate", {"identity_id": 2, "note": "call ", "billable": False,
                        "started_at": "2026-03-13T20:00:00Z"}),
    113: ("future", {"identity_id": 4, "started_at": "2026-04-01T14:00:00Z"}),
    114: ("old_unbilled", {"identity_id": 5, "started_at": "2026-01-15T15:00:00Z"}),
    # teammate 6: Mon 2026-03-09 and Thu 2026-03-12 23:30 Toronto (Fri 03:30 UTC)
    115: ("missing_day", {"identity_id": 6, "billable": False,
                          "started_at": "2026-03-09T15:00:00Z"}),
    116: ("missing_day", {"identity_id": 6, "billable": False,
                          "started_at": "2026-03-13T03:30:00Z"}),
    # deleted and wrong in every way: never a finding
    117: ("none", {"identity_id": 1, "active": False, "duration": 0, "note": None,
                   "client_id": None, "internal": True, "started_at": "2026-03-09T14:10:00Z"}),
    # a timer paused, never logged (no note, overlapping logged work): only paused_timer
    118: ("paused_timer", {"identity_id": 1, "is_logged": False, "duration": 1800,
                           "timer_id": 99, "timer_is_running": False, "note": None,
                           "started_at": "2026-03-12T14:30:00Z"}),
}  # fmt: skip


@pytest.fixture
def anomaly_frame() -> pd.DataFrame:
    """The clean frame plus the :data:`PLANTED` anomalies (ids 101-118)."""
    clean = build_frame(_clean_rows())
    planted = build_frame([row for _, row in PLANTED.values()])
    planted.index = pd.Index(list(PLANTED), dtype="Int64", name="id")
    return pd.concat([clean, planted])


def synthetic(n: int, seed: int = 7) -> pd.DataFrame:
    """A typed frame of ``n`` random entries (2% running timers, 3% deleted)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-01T00:00:00Z").value // 1000
    started = start + rng.integers(0, 180 * 86400, n) * 1_000_000
    duration = rng.integers(0, 4 * 3600, n)
    running = rng.random(n) < 0.02
    client = rng.integers(1, 13, n).astype(float)
    client[rng.random(n) < 0.1] = np.nan
    billable = (rng.random(n) < 0.7) & ~np.isnan(client)
    notes = np.array(["design", "review", "", "call", "ops"], dtype=object)[rng.integers(0, 5, n)]
    zones = np.where(rng.random(n) < 0.8, TZ, "Europe/London")
    data = {
        "identity_id": rng.integers(1, 9, n),
        "is_logged": ~running,
        "started_at": pd.to_datetime(started, unit="us", utc=True),
        "created_at": pd.to_datetime(started, unit="us", utc=True),
        "duration": pd.array(np.where(running, 0, duration), dtype="Int64"),
        "client_id": client,
        "project_id": rng.integers(1, 30, n),
        "service_id": rng.integers(1, 6, n),
        "note": notes,
        "active": rng.random(n) > 0.03,
        "billable": billable,
        "billed": billable & (rng.random(n) < 0.4),
        "internal": np.isnan(client),
        "timer_is_running": running,
        "local_timezone": zones,
    }
    frame = pd.DataFrame(data)
    frame.loc[running, "duration"] = pd.NA
    for column in FRAME_COLUMNS:
        if column not in frame:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype=DTYPES[column])
    frame.insert(0, "id", np.arange(1, n + 1))
    return as_time_entries(frame)


@pytest.fixture(scope="session")
def synthetic_frame() -> pd.DataFrame:
    """5,000 random entries; tests must not modify it (compare against copies)."""
    return synthetic(5000)


# -- integration: a real sandbox server on 127.0.0.1 ---------------------------------


@pytest.fixture(scope="module")
def sandbox():
    """One sandbox per test module (2,000 entries, fixed data); tests must not write to it.

    No rate limit: a module's loads of 2,000 entries (one at 1 per page) send more than
    the live 600 a minute; the limit is tested with sandboxes of those tests' own.
    """
    with fbtime.Sandbox(entries=2000, seed=7, rate_limit=None) as sb:
        yield sb


@pytest.fixture
def fresh_sandbox():
    """A sandbox of the test's own, for tests that write."""
    with fbtime.Sandbox(entries=300, seed=3) as sb:
        yield sb


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(directory))
    return directory


# -- chaos suite: one results table per session ----------------------------------------
def _chaos():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "chaos", Path(__file__).parent / "chaos" / "chaos.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tree_status() -> str | None:
    """``git status`` of the checkout (None outside a git checkout)."""
    import subprocess
    from pathlib import Path

    top = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=top, capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the controller, before any worker
        _chaos().start_session()
        session.config._fbtime_tree = _tree_status()


def pytest_sessionfinish(session, exitstatus):
    """A test run leaves the working tree as it found it: fail the run if it did not."""
    if hasattr(session.config, "workerinput"):
        return
    before = getattr(session.config, "_fbtime_tree", None)
    after = _tree_status()
    if before is None or after is None or before == after:
        return
    changed = sorted(set(after.splitlines()) ^ set(before.splitlines()))
    session.config._fbtime_tree_changes = changed
    session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, config):
    if hasattr(config, "workerinput"):
        return
    changed = getattr(config, "_fbtime_tree_changes", None)
    if changed:
        terminalreporter.write_sep("=", "the test run changed the working tree", red=True)
        for line in changed:
            terminalreporter.write_line(line)
    chaos = _chaos()
    table = chaos.table()
    if table:
        # the committed table is rewritten only on purpose (`make chaos-report`), never as a
        # side effect of a test run: a test run leaves the working tree as it found it
        if chaos.complete() and os.environ.get("FBTIME_WRITE_CHAOS_RESULTS") == "1":
            chaos.RESULTS_MD.write_text(table + "\n")
        terminalreporter.write_sep("=", "chaos suite")
        terminalreporter.write_line(table)
