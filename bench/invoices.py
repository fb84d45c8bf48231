"""Time drafting invoices from 2,000 sandbox entries: requests and seconds, end to end.

Steps, on a sandbox of 2,000 entries (seed 1, data to 2026-11-30) answering every request
after ``LATENCY`` seconds, as a network would:

* **load**: the entries, client and team names, and the rates (``load_rates``);
* **plan**: ``df.fbtime.invoice(rates)`` (nothing sent), against the baseline
  ``unbilled.fbtime.mark_billed()`` of the same entries (a plan that marks them billed
  without invoicing: what drafting adds is the ratio);
* **apply**: create the drafts, verify them and mark their entries billed, against the
  baseline ``mark_billed`` apply of the same entries on a fresh, identical sandbox.

Requests are the sandbox's own counts. Plan steps run ``REPEATS`` times in turn with their
baseline (a busy machine slows both alike): seconds are medians, the ratio the median of
the pairs'. Applies run once each (they change the sandbox).

Run: ``python bench/invoices.py`` (prints the table and writes its section,
``## Invoices``, into ``bench/RESULTS.md``).
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from plans import write_section

import fbtime

HERE = Path(__file__).parent
ENTRIES = 2_000
END = dt.date(2026, 11, 30)  # the sandbox's data ends here: the same entries every run
DAY = dt.date(2026, 12, 1)
LATENCY = 0.02
REPEATS = 5
RATE = 100  # the business standard rate (the API does not expose it)


def timed(step: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = step()
    return time.perf_counter() - start, result


def loaded(sb: fbtime.Sandbox) -> tuple[Any, pd.DataFrame, fbtime.Rates]:
    client = sb.client(cache=False)
    df = fbtime.load_time_entries(client, team=True, progress=False)
    df = df.fbtime.with_names(clients=fbtime.load_clients(client), team=fbtime.load_team(client))
    return client, df, fbtime.load_rates(client)


#: The bench's own sandbox settings, as bench/run.py's and bench/plans.py's: no rate limit
#: (it measures speed, as these figures were measured) and one-level meta totals.
SETTINGS: dict[str, Any] = {"rate_limit": None, "meta_totals": "flat"}


def requests(sb: fbtime.Sandbox) -> str:
    stats = sb.stats()
    parts = [f"{n:,} {k}" for k, n in sorted(stats.items(), key=lambda kv: -kv[1])]
    return f"{sum(stats.values()):,} ({', '.join(parts)})"


def measure() -> tuple[str, list[tuple[str, str, float, float | None, float | None]]]:
    rows: list[tuple[str, str, float, float | None, float | None]] = []
    with fbtime.Sandbox(entries=ENTRIES, seed=1, end=END, latency=LATENCY, **SETTINGS) as sb:
        seconds, (client, df, rates) = timed(lambda: loaded(sb))
        rows.append(("load entries, names and rates", requests(sb), seconds, None, None))
        unbilled = df.fbtime.unbilled()
        pairs, plan = [], None
        for _ in range(REPEATS):
            gc.collect()
            base, _ = timed(unbilled.fbtime.mark_billed)
            gc.collect()
            took, plan = timed(
                lambda: df.fbtime.invoice(rates, standard_rate=RATE, create_date=DAY)
            )
            pairs.append((took, base))
        assert plan is not None
        rows.append(
            (
                f"plan: `df.fbtime.invoice(rates)`: {len(plan)} drafts, "
                f"{len(plan.lines)} lines, {plan.entry_count} entries",
                "0",
                statistics.median(p[0] for p in pairs),
                statistics.median(p[1] for p in pairs),
                statistics.median(p[0] / p[1] for p in pairs),
            )
        )
        sb.reset_stats()
        with tempfile.TemporaryDirectory() as folder:
            took, result = timed(
                lambda: plan.apply(client, confirm=plan.entry_count, journal=folder, progress=False)
            )
        assert result.ok, result
        made = requests(sb)
    billed_ids = list(plan.entries.index)
    with fbtime.Sandbox(entries=ENTRIES, seed=1, end=END, latency=LATENCY, **SETTINGS) as sb:
        base_client, base_df, _ = loaded(sb)
        marks = base_df.loc[billed_ids].fbtime.mark_billed()
        sb.reset_stats()
        with tempfile.TemporaryDirectory() as folder:
            base, done = timed(
                lambda: marks.apply(base_client, confirm=len(marks), journal=folder, progress=False)
            )
        assert done.ok
    rows.append(
        (
            f"apply: create and verify {len(plan)} drafts, mark {plan.entry_count} entries "
            f"billed (baseline: mark_billed apply, {requests(sb).split(' ')[0]} requests)",
            made,
            took,
            base,
            took / base,
        )
    )
    cpus = len(os.sched_getaffinity(0))
    head = (
        f"fbtime {fbtime.__version__}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {cpus} CPUs (1-minute load "
        f"{os.getloadavg()[0]:.1f} at the end); a sandbox of {ENTRIES:,} entries (seed 1, "
        f"data to {END}) answering each request after {LATENCY * 1000:.0f} ms; "
        f"{len(unbilled):,} unbilled, {plan.entry_count} of them billable at a rate. "
        f"Plan: median of {REPEATS} runs, each in turn with its baseline "
        "(`unbilled.fbtime.mark_billed()`); apply: one run each, the baseline on a fresh "
        "identical sandbox"
    )
    return head, rows


def table(rows: list[tuple[str, str, float, float | None, float | None]]) -> str:
    lines = [
        "| step | requests | seconds | baseline s | ratio |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, sent, seconds, base, ratio in rows:
        base_text = "-" if base is None else f"{base:.3f}"
        ratio_text = "-" if ratio is None else f"{ratio:.2f}x"
        lines.append(f"| {name} | {sent} | {seconds:.3f} | {base_text} | {ratio_text} |")
    return "\n".join(lines)


def main(write: bool = True) -> str:
    """Measure, print the table, write the section; return it (markdown)."""
    head, rows = measure()
    body = table(rows)
    print(head + "\n\n" + body)
    section = f"## Invoices\n\n{head}.\n\n{body}\n"
    if write:
        write_section(section)
    return section


if __name__ == "__main__":
    main()
