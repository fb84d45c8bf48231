"""A timesheet: hours per teammate, local week and project, as CSV and Excel.

Weeks are local (Monday first, in the data's time zone) and count logged, active time,
as ``df.fbtime.by_period`` does. Writes ``timesheet.csv`` (one row per teammate, week and
project) and ``timesheet.xlsx`` (that table, plus one sheet with a column per week).
Names come from the account, so both files go through :mod:`fbtime.export`: text that a
spreadsheet would run as a formula is neutralised, and Excel cells hold strings, never
formulas. Runs against a local sandbox unless ``--no-sandbox``; it only reads.

Example:
    python examples/export_timesheet.py --from 2026-09-01 --to 2026-09-30 --out timesheet
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pandas as pd

import fbtime
from fbtime import clock
from fbtime.cli.options import add_connection_options
from fbtime.display import to_text
from fbtime.export import to_csv, to_excel


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--from", dest="start", type=dt.date.fromisoformat, help="first day (default: 4 weeks ago)"
    )
    parser.add_argument("--to", dest="stop", type=dt.date.fromisoformat, help="last day (UTC)")
    parser.add_argument(
        "--format", choices=("csv", "xlsx", "both"), default="both", help="files to write"
    )
    parser.add_argument("--out", type=Path, default=Path("timesheet"), help="output dir")
    add_connection_options(parser, sandbox_default=True, entries=2000)
    return parser


def timesheet(df: pd.DataFrame) -> pd.DataFrame:
    """Long table: teammate_id, teammate, week, project, hours (non-zero cells only)."""
    parts = []
    for teammate_id in df["identity_id"].dropna().unique():
        mine = df.fbtime.for_teammate(int(teammate_id))
        weeks = mine.fbtime.by_period("W", by="project")  # a column per project (names)
        long = weeks.stack().rename("hours").reset_index()
        long = long[long["hours"] > 0]
        name = mine["teammate_name"].iloc[0] if "teammate_name" in mine else str(teammate_id)
        parts.append(long.assign(teammate_id=int(teammate_id), teammate=name))
    columns = ["teammate_id", "teammate", "week", "project", "hours"]
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True).rename(columns={"period": "week"})
    table["hours"] = table["hours"].astype(float)  # exact: the writer rounds to the total
    return table[columns].sort_values(["teammate", "week", "project"], ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stop = args.stop or (args.end or clock.today())
    start = args.start or stop - dt.timedelta(days=27)
    with fbtime.connect(
        sandbox=args.sandbox, entries=args.entries, seed=args.seed, end=args.end
    ) as (client, sandbox):
        teammates = None
        if sandbox is not None:
            people = sandbox.dataset.identities
            teammates = {p["id"]: f"{p['first_name']} {p['last_name']}" for p in people}
        df = fbtime.load_time_entries(
            client,
            team=True,
            started_from=start.isoformat(),
            started_to=f"{stop.isoformat()}T23:59:59Z",
        )
        df = df.fbtime.with_names(projects=fbtime.load_projects(client), teammates=teammates)
    table = timesheet(df)
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    if args.format in ("csv", "both"):
        written.append(to_csv(table, args.out / "timesheet.csv", index=False))
    if args.format in ("xlsx", "both"):
        wide = table.pivot_table(
            index=["teammate", "project"], columns="week", values="hours", aggfunc="sum"
        ).fillna(0.0)
        wide.columns = [f"{c:%Y-%m-%d}" for c in wide.columns]
        sheets = {"timesheet": table, "by week": wide.reset_index()}
        written.append(to_excel(sheets, args.out / "timesheet.xlsx", index=False))
    totals = table.groupby("teammate")["hours"].sum()
    print(f"Hours per teammate, {start} to {stop}:")
    print(to_text(totals, float_format=lambda x: f"{x:,.2f}"))  # names escaped for terminals
    print("\nWrote " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
