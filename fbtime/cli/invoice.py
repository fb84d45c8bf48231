"""``fbtime invoice``: draft invoices from unbilled time (a dry run by default).

The entries are chosen with the filters of ``fbtime export``; names are loaded so the plan
reads as a person expects (clients, projects, services, teammates). The plan is printed
(every cell escaped); ``--save`` writes it; nothing is sent without ``--apply``, which asks
for the number of entries to bill, as ``mark-billed`` does (or ``--yes`` in scripts), and
reports like every apply (:func:`fbtime.cli.bulk.apply_invoices`: the journal shown as it
starts, exit 130 after Ctrl-C). A plan saved with ``--save`` is shown and applied by
``fbtime plan show`` and ``fbtime apply``; ``fbtime resume`` and ``fbtime undo`` take its
journal.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from fbtime.api.query import encode_filters
from fbtime.cli.bulk import apply_invoices
from fbtime.cli.options import add_connection_options, add_filters, connect_from, filters
from fbtime.drafts import GROUPINGS
from fbtime.load import load_time_entries
from fbtime.reference import load_clients, load_projects, load_rates, load_services, load_team
from fbtime.text import for_terminal


def cmd_invoice(args: argparse.Namespace) -> int:
    chosen = filters(args)
    encode_filters(chosen)  # bad input fails before any client, file or request
    with connect_from(args) as (client, _):
        df = load_time_entries(client, **chosen, refresh=True)
        df = df.fbtime.with_names(
            clients=load_clients(client),
            projects=load_projects(client),
            services=load_services(client),
            team=load_team(client),
        )
        plan = df.fbtime.invoice(
            load_rates(client),
            group_by=args.group_by,
            standard_rate=args.standard_rate,
            currency=args.currency,
            qty_places=args.qty_places,
            lump=args.lump,
            create_date=args.date,
            due_offset_days=args.due_days,
            notes=args.notes,
        )
        print(plan)
        if args.save:
            print(f"plan saved to {for_terminal(plan.save(args.save))}")
        if not args.apply:
            print("dry run: nothing was sent (add --apply to create the drafts)")
            return 0
        return apply_invoices(plan, client, args)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``fbtime invoice``."""
    p = sub.add_parser(
        "invoice",
        help="plan (and with --apply, create) one draft invoice per client from unbilled time",
    )
    add_connection_options(p)
    add_filters(p)
    group = p.add_argument_group("drafts")
    group.add_argument(
        "--group-by",
        choices=GROUPINGS,
        default="project",
        help="what each line groups (split by rate): default project",
    )
    group.add_argument(
        "--standard-rate",
        default=None,
        metavar="RATE",
        help="the business standard rate (the API does not expose it)",
    )
    group.add_argument("--currency", default=None, help="the rates' currency, if unreadable")
    group.add_argument(
        "--qty-places",
        type=int,
        default=2,
        choices=range(5),
        help="fewest decimal places of a line's hours (see docs: rounding)",
    )
    group.add_argument(
        "--lump",
        action="store_true",
        help="one amount per line (qty 1), its hours in the description",
    )
    group.add_argument(
        "--date",
        type=date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="the invoices' date (default: today)",
    )
    group.add_argument("--due-days", type=int, default=0, help="days until due (default 0)")
    group.add_argument("--notes", default=None, help="notes printed on every invoice")
    p.add_argument("--save", type=Path, help="save the plan to this file")
    p.add_argument("--apply", action="store_true", help="create the drafts (default: dry run)")
    p.add_argument(
        "--yes",
        action="store_true",
        help="confirm without a prompt (scripts), also for plans over 24 h old",
    )
    p.add_argument(
        "--journal-dir",
        default=None,
        type=Path,
        help="where to write the journal (default: the user data dir)",
    )
    p.set_defaults(func=cmd_invoice)
