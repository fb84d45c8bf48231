"""Mark last month's unbilled time as billed: build the plan, print it, apply with --apply.

Without ``--apply`` nothing is written: the plan is printed and saved as ``plan.json``
(apply it later with ``fbtime apply`` or ``UpdatePlan.load``). With ``--apply`` each
change is journaled under ``<out>/journals`` so it can be resumed or undone
(``fbtime.undo(journal)``). Runs against a local sandbox unless ``--no-sandbox``.

Example:
    python examples/mark_last_month_billed.py --month 2026-09            # dry run
    python examples/mark_last_month_billed.py --month 2026-09 --apply
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pandas as pd

import fbtime
from fbtime import clock
from fbtime.cli.options import add_connection_options
from fbtime.export import to_csv


def month_bounds(month: str | None, reference: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start of ``month`` (YYYY-MM; default: the month before ``reference``) and of the next."""
    if month is None:
        start = (pd.Timestamp(reference).to_period("M") - 1).to_timestamp()
    else:
        start = pd.Period(month, freq="M").to_timestamp()
    return start.tz_localize("UTC"), (start + pd.offsets.MonthBegin(1)).tz_localize("UTC")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--month", help="YYYY-MM, in UTC (default: last month)")
    parser.add_argument("--apply", action="store_true", help="write the changes (default: dry run)")
    parser.add_argument("--out", type=Path, default=Path("mark-billed"), help="output dir")
    add_connection_options(parser, sandbox_default=True, entries=2000)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    start, stop = month_bounds(args.month, args.end or clock.today())
    args.out.mkdir(parents=True, exist_ok=True)
    with fbtime.connect(
        sandbox=args.sandbox, entries=args.entries, seed=args.seed, end=args.end
    ) as (client, _):
        df = fbtime.load_time_entries(
            client,
            team=True,
            billed=False,
            started_from=start,
            started_to=stop - pd.Timedelta(seconds=1),
        )
        # names, not ids, in the plan read before --apply (each list loaded once)
        df = df.fbtime.with_names(
            clients=fbtime.load_clients(client),
            projects=fbtime.load_projects(client),
            team=fbtime.load_team(client),
        )
        plan = df.fbtime.unbilled().fbtime.mark_billed()
        print(plan)
        plan.save(args.out / "plan.json")
        if not args.apply:
            print(
                f"\ndry run: nothing was written. {len(plan)} entries would be marked billed; "
                f"the plan is in {args.out / 'plan.json'}. Run again with --apply to write."
            )
            return 0
        if not len(plan):
            print("\nnothing to mark billed")
            return 0
        # --apply is the confirmation; plans over 200 changes need the count itself
        result = plan.apply(client, confirm=len(plan), journal=args.out / "journals")
        to_csv(result.rows, args.out / "result.csv")  # notes in before/after: neutralised
        print(result)
        print(f"\nundo with: fbtime.undo({str(result.journal_path)!r})")
        return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
