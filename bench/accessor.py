"""Time df.fbtime on 1,000,000 synthetic entries against naive groupby().apply versions.

The naive versions are what one writes first: a Python function per group
(``groupby(...).apply(f)``). Both sides run in the same process on the same frame, and the
results are checked equal before timings are reported.

Money: ``with_rates`` + ``by_client`` (amounts by billing method, exact cents) against a
naive per-row merge: merge the rate tables onto the entries, pick each row's rate and
compute its Decimal amount in a Python loop, then sum per client. Both must give the same
cents per client before the ratio is printed.

Run: ``python bench/accessor.py`` (prints a table). ``bench/run.py`` calls :func:`main`
and puts :func:`write_markdown` into ``bench/RESULTS.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

import fbtime.accessor  # noqa: F401  (registers df.fbtime)
from fbtime.rates import Rates
from fbtime.schema import DTYPES, FRAME_COLUMNS, as_time_entries

ROWS = 1_000_000
TZ = "America/Toronto"
NOW = pd.Timestamp("2026-07-01T00:00:00Z")
#: The naive audit loops over every row in Python; it is limited to these rules.
NAIVE_AUDIT_RULES = ["overlap", "duplicate"]


def synthetic(n: int = ROWS, seed: int = 1) -> pd.DataFrame:
    """A typed frame of ``n`` random entries over 365 days, 1,000 teammates, 50 clients."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-01T00:00:00Z").value // 1000
    started = start + rng.integers(0, 365 * 86400, n) * 1_000_000
    running = rng.random(n) < 0.01
    client = rng.integers(1, 51, n).astype(float)
    client[rng.random(n) < 0.05] = np.nan
    billable = (rng.random(n) < 0.7) & ~np.isnan(client)
    frame = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "identity_id": rng.integers(1, 1001, n),
            "is_logged": ~running,
            "started_at": pd.to_datetime(started, unit="us", utc=True),
            "created_at": pd.to_datetime(started, unit="us", utc=True),
            "duration": pd.array(rng.integers(300, 4 * 3600, n), dtype="Int64"),
            "client_id": client,
            "project_id": rng.integers(1, 200, n),
            "service_id": rng.integers(1, 10, n),
            "note": np.array(["design", "review", "", "call"], dtype=object)[rng.integers(0, 4, n)],
            "active": rng.random(n) > 0.02,
            "billable": billable,
            "billed": billable & (rng.random(n) < 0.5),
            "internal": np.isnan(client),
            "timer_is_running": running,
            "local_timezone": TZ,
        }
    )
    frame.loc[running, "duration"] = pd.NA
    for column in FRAME_COLUMNS:
        if column not in frame:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype=DTYPES[column])
    return as_time_entries(frame)


#: Billing of the synthetic projects 1..199, by ``project_id % 6``.
_BILLING = (
    ("hourly_rate", "project_rate"), ("hourly_rate", "team_member_rate"),
    ("hourly_rate", "service_rate"), ("hourly_rate", "business_rate"),
    ("fixed_price", None), ("hourly_rate", None),
)  # fmt: skip
STANDARD_RATE = "100.00"


def synthetic_rates() -> Rates:
    """Rates for :func:`synthetic`: every billing method, some teammates and services unrated."""
    projects = [
        {"id": pid, "title": f"P{pid}", "project_type": _BILLING[pid % 6][0],
         "billing_method": _BILLING[pid % 6][1], "rate": f"{50 + pid % 7 * 10}.00",
         "fixed_price": "5000.00" if pid % 6 == 4 else None, "billed_amount": "0.00"}
        for pid in range(1, 200)
    ]  # fmt: skip
    team = [{"identity_id": i, "rate": f"{60 + i % 50}.50"} for i in range(1, 1001) if i % 17]
    services = [{"service_id": s, "rate": f"{s * 11}.25"} for s in range(1, 10) if s != 4]
    return Rates.from_api(projects=projects, team_member_rates=team, service_rates=services,
                          currency="CAD")  # fmt: skip


def naive_amounts_by_client(frame: pd.DataFrame) -> dict[Any, int]:
    """Per-row merge: rate tables merged onto the entries, then one Python step per row."""
    projects = pd.DataFrame(
        [(pid, *_BILLING[pid % 6], Decimal(f"{50 + pid % 7 * 10}.00")) for pid in range(1, 200)],
        columns=["project_id", "project_type", "billing_method", "project_rate"],
    )
    team = pd.DataFrame([(i, Decimal(f"{60 + i % 50}.50")) for i in range(1, 1001) if i % 17],
                        columns=["identity_id", "team_rate"])  # fmt: skip
    services = pd.DataFrame([(s, Decimal(f"{s * 11}.25")) for s in range(1, 10) if s != 4],
                            columns=["service_id", "service_rate"])  # fmt: skip
    rows = frame.reset_index()
    rows = _counted(rows)
    rows = rows[rows["billable"].fillna(False).astype(bool)]
    merged = rows.astype({"project_id": "int64", "identity_id": "int64", "service_id": "int64"})
    merged = merged.merge(projects, on="project_id", how="left")
    merged = merged.merge(team, on="identity_id", how="left")
    merged = merged.merge(services, on="service_id", how="left")
    standard = Decimal(STANDARD_RATE)
    sums: dict[Any, int] = {}
    for row in merged.itertuples(index=False):
        method = row.billing_method if isinstance(row.billing_method, str) else None
        if row.project_type == "fixed_price":
            continue
        service = row.service_rate if isinstance(row.service_rate, Decimal) else None
        rate = {
            "project_rate": row.project_rate,
            "team_member_rate": row.team_rate if isinstance(row.team_rate, Decimal) else None,
            "service_rate": service,
            "business_rate": standard,
            None: service if service is not None else standard,
        }[method]
        if rate is None:
            continue
        amount = (rate * int(row.duration) / 3600).quantize(Decimal("0.01"), ROUND_HALF_UP)
        key = None if pd.isna(row.client_id) else int(row.client_id)
        sums[key] = sums.get(key, 0) + int(amount * 100)
    return sums


# -- naive baselines ------------------------------------------------------------------------
def _counted(group: pd.DataFrame) -> pd.DataFrame:
    keep = (group["is_logged"] == True) & (group["active"] != False)  # noqa: E712
    return group[keep.fillna(False) & group["duration"].notna()]


def naive_by_client(frame: pd.DataFrame) -> pd.DataFrame:
    """by_client as a per-client Python function."""

    def summarize(group: pd.DataFrame) -> pd.Series:
        rows = _counted(group)
        hours = rows["duration"].astype(float) / 3600
        billable = rows["billable"].fillna(False).astype(bool)
        billed = rows["billed"].fillna(False).astype(bool)
        local = rows["started_at"].dt.tz_convert(TZ)
        return pd.Series(
            {
                "entries": len(rows),
                "hours": hours.sum(),
                "billable_hours": hours[billable].sum(),
                "unbilled_hours": hours[billable & ~billed].sum(),
                "billed_hours": hours[billed].sum(),
                "first_date": local.min().date() if len(rows) else None,
                "last_date": local.max().date() if len(rows) else None,
            }
        )

    return frame.groupby("client_id", dropna=False).apply(summarize)


def naive_by_period(frame: pd.DataFrame) -> pd.Series:
    """by_period("W") as a per-week Python function (weeks from to_period)."""
    local = frame["started_at"].dt.tz_convert(TZ).dt.tz_localize(None)
    week = local.dt.to_period("W-SUN").dt.start_time
    return frame.groupby(week).apply(lambda g: _counted(g)["duration"].sum() / 3600)


def naive_audit(frame: pd.DataFrame) -> set[int]:
    """Overlap + duplicate ids with a Python loop per teammate (the first thing one writes)."""

    def check(group: pd.DataFrame) -> list[int]:
        rows = group[group["duration"] > 0].sort_values("started_at")
        found: set[int] = set()
        latest_end, latest_id = None, None
        starts = rows["started_at"].tolist()
        ends = (rows["started_at"] + pd.to_timedelta(rows["duration"], unit="s")).tolist()
        for entry, start, end in zip(rows.index, starts, ends, strict=True):
            if latest_end is not None and start < latest_end:
                found.update((entry, latest_id))
            if latest_end is None or end > latest_end:
                latest_end, latest_id = end, entry
        seen: dict[tuple, list[int]] = {}
        for entry, row in zip(group.index, group.itertuples(index=False), strict=True):
            key = (row.started_at, row.duration, row.client_id, row.project_id, row.service_id,
                   (row.note if isinstance(row.note, str) else "").strip())  # fmt: skip
            seen.setdefault(key, []).append(entry)
        found.update(i for ids in seen.values() if len(ids) > 1 for i in ids)
        return sorted(found)

    live = frame[frame["active"].fillna(True) & frame["duration"].notna()]
    per_teammate = live.groupby("identity_id").apply(check)
    return {int(i) for ids in per_teammate for i in ids}


# -- timing -------------------------------------------------------------------------------
def _time(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def main(rows: int = ROWS) -> list[dict[str, Any]]:
    """Build ``rows`` entries, time fbtime and naive versions, print and return the table."""
    built, frame = _time(lambda: synthetic(rows))
    print(f"built {rows:,} typed rows in {built:.2f} s")
    warm = frame.head(2000)  # first calls pay one-off import and cache costs; keep them out
    warm.fbtime.by_client(), warm.fbtime.by_period("W"), warm.fbtime.audit(now=NOW)
    naive_by_client(warm), naive_by_period(warm), naive_audit(warm)
    acc = frame.fbtime
    results: list[dict[str, Any]] = []

    def record(operation: str, fast: float, slow: float | None, note: str = "") -> None:
        ratio = None if slow is None else round(slow / fast, 1)
        results.append(
            {
                "operation": operation,
                "fbtime_s": round(fast, 3),
                "naive_s": None if slow is None else round(slow, 3),
                "speedup": ratio,
                "note": note,
            }
        )

    fast, table = _time(acc.by_client)
    slow, naive = _time(lambda: naive_by_client(frame))
    assert np.allclose(table["hours"].sort_index(), naive["hours"].astype(float).sort_index())
    record("by_client()", fast, slow)

    fast, weeks = _time(lambda: acc.by_period("W", tz=TZ))
    slow, naive = _time(lambda: naive_by_period(frame))
    assert np.allclose(weeks["hours"].to_numpy(dtype=float), naive.to_numpy(dtype=float))
    record('by_period("W")', fast, slow)

    fast, found = _time(lambda: acc.audit(NAIVE_AUDIT_RULES, now=NOW, tz=TZ))
    slow, naive_ids = _time(lambda: naive_audit(frame))
    assert set(found["id"].astype(int)) == naive_ids
    record("audit(['overlap', 'duplicate'])", fast, slow)

    full, _ = _time(lambda: acc.audit(now=NOW, tz=TZ))
    record("audit() all 12 rules", full, None, "no naive run: too slow in Python (capped)")

    rates = synthetic_rates()
    warm.fbtime.with_rates(rates, standard_rate=STANDARD_RATE).fbtime.by_client()
    fast, table = _time(
        lambda: frame.fbtime.with_rates(rates, standard_rate=STANDARD_RATE).fbtime.by_client()
    )
    slow, naive_sums = _time(lambda: naive_amounts_by_client(frame))
    mine = {
        (None if pd.isna(k) else int(k)): int(v * 100) for k, v in table["billable_amount"].items()
    }
    assert {k: v for k, v in mine.items() if v} == {k: v for k, v in naive_sums.items() if v}
    record("with_rates() + by_client()", fast, slow, "naive: merge + Decimal per row")

    print(f"{'operation':34} {'fbtime s':>9} {'naive s':>9} {'speed-up':>9}")
    for row in results:
        naive_s = "-" if row["naive_s"] is None else f"{row['naive_s']:.3f}"
        speedup = "-" if row["speedup"] is None else f"{row['speedup']:.1f}x"
        print(f"{row['operation']:34} {row['fbtime_s']:9.3f} {naive_s:>9} {speedup:>9}")
    return results


def write_markdown(rows: list[dict[str, Any]]) -> str:
    """Return the results as the markdown section for ``bench/RESULTS.md``."""
    lines = [
        "## Accessor on 1,000,000 rows",
        "",
        "Synthetic typed frame (1,000 teammates, 50 clients, 365 days). Naive = "
        "`groupby().apply` with a Python function per group, run in the same process; "
        "results are checked equal before timing is reported. The naive audit covers only "
        "the per-teammate overlap and duplicate rules (a full per-row Python audit would "
        "take minutes).",
        "",
        "| operation | fbtime (s) | naive (s) | speed-up | note |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        naive = "-" if row["naive_s"] is None else f"{row['naive_s']:.3f}"
        speedup = "-" if row["speedup"] is None else f"{row['speedup']:.1f}×"
        lines.append(
            f"| `{row['operation']}` | {row['fbtime_s']:.3f} | {naive} | {speedup} "
            f"| {row.get('note', '')} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(write_markdown(main()))
