"""Time building bulk-change plans on 20,000 sandbox entries, against ``to_dict("records")``.

A plan holds one change per entry (its whole writable set before, the fields to write,
what the reviewer sees), so turning the frame into Python records is the floor any plan
builder pays: ``df.to_dict("records")`` on the same rows is the baseline, timed in the
same run, and the table gives each step as a ratio of it (target: at most 1x).

Steps: ``df.fbtime.update(note=...)`` on every entry; ``mark_billed()`` on the unbilled
ones, alone and with the ``checked()`` an apply makes before its first request (a built
plan was checked as it was built); the full check of a plan made by hand; loading the
plan saved (every part checked); and reading the journal of an apply of the mark_billed
plan back as a frame (``fbtime.read_journal``: read, parsed and checked once).

Run: ``python bench/plans.py`` (prints the table and writes its section, ``## Plans``,
into ``bench/RESULTS.md``; ``bench/run.py`` includes it too).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import os
import platform
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

import fbtime
from fbtime.bulk.journal import Journal

HERE = Path(__file__).parent
ENTRIES = 20_000
REPEATS = 7
END = dt.date(2026, 11, 30)  # the sandbox's data ends here: the same frame every run
#: The figures before plans were built on columns (this bench on commit 64e0ffc).
BEFORE = (
    "Before plans were built on columns and checked once (commit 64e0ffc, the same bench "
    "run in blocks): `update` 11.77 s against 1.03 s (11.4x), `mark_billed` 0.662 s "
    "against 0.049 s (13.4x), and an apply re-checked and re-hashed a built plan (0.24 s)."
)


def timed(step: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = step()
    return time.perf_counter() - start, result


def paired(step: Callable[[], Any], base: Callable[[], Any]) -> tuple[float, float, float, Any]:
    """Run ``base`` and ``step`` in turn ``REPEATS`` times (so a busy machine slows both
    alike); return the median seconds of each, the median of the pairs' ratios, and the
    step's last result."""
    pairs, result = [], None
    for _ in range(REPEATS):
        gc.collect()
        base_seconds, _ = timed(base)
        gc.collect()
        seconds, result = timed(step)
        pairs.append((seconds, base_seconds))
    return (statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs),
            statistics.median(p[0] / p[1] for p in pairs), result)  # fmt: skip


def journal_of(plan: Any, directory: Path) -> Path:
    """A journal as an apply of ``plan`` writes it: the header, an intent and an outcome
    per change, the end line (written here, so no server is needed)."""
    log = Journal.create(directory, kind=plan.kind, business_id=plan.business_id,
                         header={"base_url": plan.api_url, "plan": plan.to_dict()})  # fmt: skip
    for change in plan.changes:
        fields = {"entry_id": change.id, "action": change.action, "before": change.before,
                  "after": change.after}  # fmt: skip
        log.write("intent", **fields)
        log.write("outcome", **fields, status="applied", reason="", http_status=200,
                  result={**change.before, **change.after}, new_id=None)  # fmt: skip
    log.write("end", counts={"applied": len(plan)})
    return log.path


def measure() -> tuple[str, list[tuple[str, int, float, float, float]]]:
    """(head, rows): each row is (step, rows, seconds, baseline seconds, ratio)."""
    # set-up only: the bench's own settings (no limit; live's per-day meta is 0.9 MB a page here)
    with fbtime.Sandbox(
        entries=ENTRIES, seed=1, end=END, rate_limit=None, meta_totals="flat"
    ) as sb:
        df = fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False)
    unbilled = df.fbtime.unbilled()
    every, few = (lambda: df.to_dict("records")), (lambda: unbilled.to_dict("records"))
    rows = []

    def row(name: str, step: Callable[[], Any], base: Callable[[], Any]) -> Any:
        seconds, base_seconds, ratio, result = paired(step, base)
        rows.append((name, len(result), seconds, base_seconds, ratio))
        return result

    row('`df.fbtime.update(note="Reviewed")`', lambda: df.fbtime.update(note="Reviewed"), every)
    billed = row("`unbilled.fbtime.mark_billed()`", unbilled.fbtime.mark_billed, few)
    row("the same, then `checked()` as apply calls it (not checked again)",
        lambda: unbilled.fbtime.mark_billed().checked(), few)  # fmt: skip
    row("`checked()` of a plan made by hand (every part, once)",
        lambda: dataclasses.replace(billed, kind="mark_billed").checked(), few)  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        saved = billed.save(Path(folder) / "plan.json")
        row("`UpdatePlan.load` (every part checked)", lambda: fbtime.UpdatePlan.load(saved), few)
        journal = journal_of(billed, Path(folder) / "journals")
        row("`fbtime.read_journal` (read, parsed, checked once; typed)",
            lambda: fbtime.read_journal(journal), few)  # fmt: skip
    cpus = len(__import__("os").sched_getaffinity(0))
    load = os.getloadavg()[0]
    head = (
        f"fbtime {fbtime.__version__}, Python {platform.python_version()}, pandas "
        f"{pd.__version__}, {platform.system()} {platform.machine()}, {cpus} CPUs (1-minute "
        f"load {load:.1f} at the end); {len(df):,} sandbox entries (seed 1, data to {END}), "
        f'{len(unbilled):,} of them unbilled. Baseline: `to_dict("records")` of the same '
        "rows (every entry for `update`, the unbilled ones otherwise), run in turn with each "
        f"step {REPEATS} times; seconds are medians, the ratio is the median of the pairs' "
        "ratios"
    )
    return head, rows


def table(rows: list[tuple[str, int, float, float, float]]) -> str:
    lines = [
        "| step | rows | seconds | baseline s | ratio |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, n, seconds, base, ratio in rows:
        lines.append(f"| {name} | {n:,} | {seconds:.3f} | {base:.3f} | {ratio:.2f}x |")
    return "\n".join(lines)


def write_section(section: str, path: Path = HERE / "RESULTS.md") -> None:
    """Replace the ``## Plans`` section of ``path`` (or add it at the end)."""
    text = path.read_text() if path.exists() else "# fbtime benchmark results\n"
    pattern = re.compile(r"^## Plans\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


def main(write: bool = True) -> str:
    """Measure, print the table, write the section; return it (markdown)."""
    head, rows = measure()
    body = table(rows)
    print(head + "\n\n" + body)
    section = f"## Plans\n\n{head}.\n\n{body}\n\n{BEFORE}\n"
    if write:
        write_section(section)
    return section


if __name__ == "__main__":
    main()
