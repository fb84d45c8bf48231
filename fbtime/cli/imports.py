"""CLI for imports: ``fbtime import FILE --format toggl --tz Europe/Paris``.

A dry run by default: the file is read and checked (every bad row listed), names are
matched and the plan of creates is printed. ``--apply`` applies it with the same
confirmation, journal, resume and undo as ``mark-billed``. Names with no FreshBooks match
stop the command and write a mapping template (``FILE.mapping.json``, or the
``--mapping`` file given) to fill in and pass back with ``--mapping``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from fbtime.bulk.imports import ImportNotice, import_time
from fbtime.cli.bulk import add_apply_options, review
from fbtime.cli.options import add_connection_options, connect_from
from fbtime.errors import UnmatchedNamesError
from fbtime.imports.layouts import FORMATS
from fbtime.imports.template import save_mapping
from fbtime.imports.values import check_zone
from fbtime.text import for_terminal


def template_path(args: argparse.Namespace) -> Path:
    """Where an unmatched import writes its mapping template."""
    return args.mapping or args.file.with_name(args.file.name + ".mapping.json")


def cmd_import(args: argparse.Namespace) -> int:
    check_zone(args.tz)  # a bad zone fails before any client or request
    with connect_from(args) as (client, _):
        try:
            with warnings.catch_warnings(record=True) as notices:
                warnings.simplefilter("always", ImportNotice)
                plan = import_time(
                    args.file, args.format, tz=args.tz, client=client, mapping=args.mapping,
                    date_order=args.date_order, decimal=args.decimal, day_start=args.day_start,
                    tags_in_note=args.tags_in_note,
                    billed_from_invoiced=args.billed_from_invoiced,
                )  # fmt: skip
        except UnmatchedNamesError as unmatched:
            path = save_mapping(unmatched.template, template_path(args))
            print(f"fbtime: error: {for_terminal(unmatched, keep_newlines=True)}", file=sys.stderr)
            print(
                f"fbtime: wrote the mapping template {for_terminal(path)}: fill in each "
                f'"to", then run again with --mapping {for_terminal(path)}',
                file=sys.stderr,
            )
            return 2
        for notice in notices:
            if issubclass(notice.category, ImportNotice):
                print(f"fbtime: note: {for_terminal(notice.message)}", file=sys.stderr)
        return review(plan, args, lambda: client)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``fbtime import``."""
    p = sub.add_parser(
        "import",
        help="plan (and with --apply, apply) creating the entries of a Toggl, Harvest or "
        "Clockify export",
    )
    p.add_argument("file", type=Path, help="the detailed-report CSV")
    p.add_argument("--format", required=True, choices=FORMATS, help="the tool that exported it")
    p.add_argument(
        "--tz",
        required=True,
        metavar="ZONE",
        help="IANA zone the file's times are in (the exporting account's setting), "
        "e.g. Europe/Paris",
    )
    p.add_argument("--mapping", type=Path, help="a filled mapping template for unmatched names")
    p.add_argument(
        "--date-order",
        choices=("MDY", "DMY"),
        help="for numeric dates whose order the file cannot show (every day <= 12)",
    )
    p.add_argument("--decimal", choices=(".", ","), help="Harvest: the decimal mark of Hours")
    p.add_argument(
        "--day-start",
        default="09:00",
        metavar="HH:MM",
        help="Harvest: where rows without a clock time start (default 09:00)",
    )
    p.add_argument("--tags-in-note", action="store_true", help="append each row's tags to its note")
    p.add_argument(
        "--billed-from-invoiced",
        action="store_true",
        help="mark rows the other tool invoiced as billed (default: not billed)",
    )
    p.add_argument("--apply", action="store_true", help="apply the plan (default: dry run)")
    p.add_argument("--save", type=Path, help="save the plan to this file")
    add_apply_options(p)
    add_connection_options(p)
    p.set_defaults(func=cmd_import)
