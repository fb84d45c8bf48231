"""Time the notebook widgets as a user drives them: the explorer at 30,000 entries and the
review panel's live totals at 2,000 changes.

Each step sets a real ipywidgets control (or clicks a button) with the debounce off, so
the time is the whole refresh: filter, summary, chart PNG, table HTML. Every step runs
``REPEATS`` times on fresh panels; the table gives the median and the worst. The frame
has names and amounts (``with_rates``), as a billing notebook would.

Run: ``python bench/widgets.py`` (prints a table; nothing is written).
"""

from __future__ import annotations

import datetime as dt
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from accessor import STANDARD_RATE, synthetic, synthetic_rates

import fbtime
from fbtime.bulk.builders import plan_mark_billed
from fbtime.widgets import Explorer, PlanReview

ENTRIES = 30_000
CHANGES = 2_000
REPEATS = 5


def frame(n: int = ENTRIES) -> pd.DataFrame:
    """``n`` synthetic entries with client, project and teammate names, and amounts."""
    df = synthetic(n, seed=3)
    names = {
        "clients": {i: f"Client {i:02d} Société" for i in range(1, 51)},
        "projects": {i: f"Project {i:03d}" for i in range(1, 200)},
        "teammates": {i: f"Teammate {i:04d}" for i in range(1, 1001)},
    }
    df = df.fbtime.with_names(**names)
    return df.fbtime.with_rates(synthetic_rates(), standard_rate=STANDARD_RATE)


def timed(step: Callable[[], Any]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def explore_once(df: pd.DataFrame, found: dict[str, list[float]]) -> int:
    """One fresh explorer, driven step by step; returns the rows a download held."""
    made: list[Explorer] = []
    found.setdefault("open the panel", []).append(
        timed(lambda: made.append(Explorer(df, debounce=0)))
    )
    e = made[0]
    later = e.start.value + dt.timedelta(days=90)
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("date from", lambda: setattr(e.start, "value", later)),
        ("two clients (projects narrow)", lambda: setattr(e.clients, "value", (3, 7))),
        ("a teammate", lambda: setattr(e.teammate, "value", e.teammate.options[1][1])),
        ("billable = Yes", lambda: setattr(e.billable, "value", "Yes")),
        ("billed = No", lambda: setattr(e.billed, "value", "No")),
        ("reset", e.reset),
        ("group by project", lambda: setattr(e.group_by, "value", "project")),
        ("group by week", lambda: setattr(e.group_by, "value", "week")),
        ("group by entries (30,000 rows)", lambda: setattr(e.group_by, "value", "entries")),
        ("sort entries by hours", lambda: setattr(e.sort_by, "value", "hours")),
        ("next page", e.next_button.click),
        ("200 rows a page", lambda: setattr(e.page_size, "value", 200)),
        ("unbilled only", e.unbilled_button.click),
        ("CSV download of the unbilled entries", lambda: e.download("csv")),
        ("Excel download of the unbilled entries", lambda: e.download("xlsx")),
    ]
    for name, step in steps:
        found.setdefault(name, []).append(timed(step))
    rows = len(e.table) if e.table is not None else 0
    e.close()
    return rows


def review_once(plan: Any, found: dict[str, list[float]]) -> None:
    """One fresh review panel on ``plan``, driven step by step (nothing is applied)."""
    made: list[PlanReview] = []
    found.setdefault("open the review", []).append(
        timed(lambda: made.append(PlanReview(plan, background=False)))
    )
    r = made[0]
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("untick a row (totals update)", lambda: setattr(r.checkboxes[3], "value", False)),
        ("tick it again", lambda: setattr(r.checkboxes[3], "value", True)),
        ("next page", r.next_button.click),
        ("select none", r.none_button.click),
        ("select all", r.all_button.click),
        ("Apply… (asks for the count)", r.apply_button.click),
    ]
    for name, step in steps:
        found.setdefault(name, []).append(timed(step))
    assert "Will change" in r.totals.value
    r.close()


def table(title: str, found: dict[str, list[float]]) -> str:
    lines = [f"| {title} | median ms | worst ms |", "| --- | ---: | ---: |"]
    for name, seconds in found.items():
        median, worst = statistics.median(seconds) * 1000, max(seconds) * 1000
        lines.append(f"| {name} | {median:,.1f} | {worst:,.1f} |")
    return "\n".join(lines)


def main() -> str:
    """Time the explorer and the review widget; print the tables and return them (markdown)."""
    df = frame()
    cpus = len(__import__("os").sched_getaffinity(0))
    head = (
        f"fbtime {fbtime.__version__}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {cpus} CPUs; {len(df):,} entries "
        f"(names and amounts), {REPEATS} runs per step, debounce off"
    )
    print(head + "\n")
    steps: dict[str, list[float]] = {}
    rows = [explore_once(df, steps) for _ in range(REPEATS)][-1]
    explorer = table(f"explorer, {len(df):,} entries", steps)
    note = f"the downloads hold the {rows:,} unbilled entries shown, every column of the view"
    print(explorer + "\n\n" + note)
    plan = plan_mark_billed(df.fbtime.unbilled().iloc[:CHANGES], business_id=1)
    assert len(plan) == CHANGES, len(plan)
    check = PlanReview(plan, background=False)  # the totals really follow a tick
    check.checkboxes[3].value = False
    assert f"<b>{CHANGES - 1}</b> entries" in check.totals.value, check.totals.value
    check.close()
    found: dict[str, list[float]] = {}
    for _ in range(REPEATS):
        review_once(plan, found)
    review = table(f"review, {CHANGES:,} changes", found)
    print("\n" + review)
    return f"## Widgets\n\n{head}.\n\n{explorer}\n\n{note}.\n\n{review}\n"


if __name__ == "__main__":
    main()
