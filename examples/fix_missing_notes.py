"""Give entries without a note a default one: a dry run first, then --apply.

Finds the entries the audit's ``missing_note`` rule reports (logged, active, with a blank
or missing note), plans ``note=<--note>`` for them, prints the plan and saves it with the
list of entries. Only ``--apply`` writes, journaled under ``<out>/journals`` (undo with
``fbtime.undo(journal)``). Runs against a local sandbox unless ``--no-sandbox``.

Example:
    python examples/fix_missing_notes.py --note "Work (no note given)"
    python examples/fix_missing_notes.py --note "Work (no note given)" --apply
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import fbtime
from fbtime.cli.options import add_connection_options
from fbtime.export import to_csv

DEFAULT_NOTE = "(no note given)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--note", default=DEFAULT_NOTE, help=f"note to set ({DEFAULT_NOTE!r})")
    parser.add_argument(
        "--since", type=dt.date.fromisoformat, help="only entries started on or after (UTC)"
    )
    parser.add_argument("--apply", action="store_true", help="write the changes (default: dry run)")
    parser.add_argument("--out", type=Path, default=Path("missing-notes"), help="output dir")
    add_connection_options(parser, sandbox_default=True, entries=2000)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.note.strip():
        raise SystemExit("--note must not be blank: that is what this script fixes")
    args.out.mkdir(parents=True, exist_ok=True)
    with fbtime.connect(
        sandbox=args.sandbox, entries=args.entries, seed=args.seed, end=args.end
    ) as (client, _):
        df = fbtime.load_time_entries(client, team=True, started_from=args.since)
        findings = df.fbtime.audit("missing_note")
        to_csv(findings, args.out / "missing_notes.csv", index=False)  # formulas neutralised
        plan = df.loc[findings["id"].tolist()].fbtime.update(note=args.note)
        print(plan)
        plan.save(args.out / "plan.json")
        if not args.apply:
            print(
                f"\ndry run: nothing was written. {len(plan)} entries would get the note "
                f"{args.note!r}; run again with --apply to write."
            )
            return 0
        if not len(plan):
            print("\nno entry lacks a note")
            return 0
        result = plan.apply(client, confirm=len(plan), journal=args.out / "journals")
        to_csv(result.rows, args.out / "result.csv")
        print(result)
        return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
