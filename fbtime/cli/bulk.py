"""CLI for bulk changes: ``fbtime mark-billed``, ``plan show``, ``apply``, ``resume``, ``undo``.

Scripts get the same safety as notebooks: a plan is printed first (every cell escaped,
so a note cannot rewrite the screen above the prompt), nothing is written without
``--apply``, and applying asks for the entry count (or ``--yes``). Ctrl-C during an apply
stops it cleanly: requests in flight finish, none starts, the journal records the
interruption, and the command exits 130 saying how to resume.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from fbtime.api.client import Client
from fbtime.api.query import encode_filters
from fbtime.bulk.invoice_plan import InvoicePlan
from fbtime.bulk.invoice_result import InvoiceResult
from fbtime.bulk.invoice_undo import InvoiceUndo, UndoResult
from fbtime.bulk.journal import deferred_interrupts
from fbtime.bulk.journals import load_plan, resume, undo
from fbtime.bulk.plan import UpdatePlan
from fbtime.bulk.result import ApplyResult
from fbtime.bulk.views import result_text
from fbtime.cli.options import add_connection_options, add_filters, connect_from, filters
from fbtime.errors import ApplyInterrupted, ConfirmationError, FBTimeError, PartialApplyError
from fbtime.load import load_time_entries
from fbtime.reference import load_clients, load_projects, load_team
from fbtime.text import for_terminal

#: The exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells expect.
EXIT_INTERRUPTED = 130


def confirmation(count: int, yes: bool, changes: str | None = None) -> int:
    """``--yes`` confirms the count; otherwise a person types it at the prompt.
    ``changes`` says what is confirmed ("create 4 draft invoices and mark 12 entries
    billed"; default: "change <count> entries")."""
    if yes:
        return count
    changes = changes or f"change {count} entries"
    if not sys.stdin.isatty():
        raise ConfirmationError(
            f"refusing to {changes} without confirmation: pass --yes in scripts"
        )
    asked = f"Apply {count} changes" if changes == f"change {count} entries" else changes
    answer = input(f"{asked[0].upper()}{asked[1:]}? Type {count} to confirm: ").strip()
    if answer != str(count):
        raise ConfirmationError("not confirmed; nothing was written")
    return count


def apply_invoices(plan: InvoicePlan, client: Client | None, args: argparse.Namespace) -> int:
    """Confirm the entries to bill, then create the drafts (``fbtime invoice``, ``apply``)."""
    if not len(plan):
        print("nothing to invoice")
        return 0
    count = plan.entry_count
    changes = f"create {len(plan)} draft invoices and mark {count} entries billed"
    confirm = confirmation(count, args.yes, changes)
    return report(
        lambda: plan.apply(
            client, confirm=confirm, max_changes=count, journal=args.journal_dir,
            allow_stale=args.yes,
        )
    )  # fmt: skip


def _apply(plan: UpdatePlan | InvoicePlan, client: Client | None, args: argparse.Namespace) -> int:
    """Confirm, then apply; ``client=None`` lets the plan pick its own API (never another)."""
    if isinstance(plan, InvoicePlan):
        return apply_invoices(plan, client, args)
    if not plan.changes:
        print("nothing to apply")
        return 0
    confirm = confirmation(len(plan), args.yes)
    return report(
        lambda: plan.apply(
            client,
            confirm=confirm,
            max_changes=max(len(plan), 1) if args.yes else 200,
            journal=args.journal_dir,
            allow_stale=args.yes,
        )
    )


@contextlib.contextmanager
def _journal_shown() -> Iterator[None]:
    """Show the journal's path on stderr as the run starts (logger ``fbtime.bulk``), so
    a run killed before its end still says where to resume from."""
    logger = logging.getLogger("fbtime.bulk")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("fbtime: %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def report(run: Callable[[], ApplyResult | InvoiceResult | UndoResult]) -> int:
    """Run an apply or resume and print its result; 130 after Ctrl-C, 1 if it stopped."""
    try:
        with _journal_shown():
            result = run()
    except ApplyInterrupted as stop:
        with deferred_interrupts(
            deliver=False
        ):  # Ctrl-C pressed yet again must not hide where to resume
            print(result_text(stop.result, stop_said=True))  # the counts: once, below
            print(f"fbtime: {for_terminal(stop)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except PartialApplyError as stop:
        if stop.result is not None:
            print(result_text(stop.result, stop_said=True))  # the counts: once, below
        print(f"fbtime: error: {for_terminal(stop)}", file=sys.stderr)
        return 1
    print(result)
    return 0 if result.ok else 1


def review(plan: UpdatePlan, args: argparse.Namespace, client: Callable[[], Client | None]) -> int:
    """Print the plan, save it if asked, and apply it only with ``--apply``."""
    print(plan)
    if args.save:
        print(f"plan saved to {plan.save(args.save)}")
    if not args.apply:
        print("dry run: nothing was written (add --apply to apply it)")
        return 0
    return _apply(plan, client(), args)


def with_names(df: pd.DataFrame, client: Client) -> pd.DataFrame:
    """``df`` with teammate, client and project names (each list loaded once), so the plan
    printed before ``--apply --yes``, and saved for ``plan show`` and ``apply``, names
    them. A list the login may not read leaves labelled ids (``client 78930``), said once.
    """
    sources = {"clients": load_clients, "projects": load_projects, "team": load_team}
    names = {}
    for key, load in sources.items():
        try:
            names[key] = load(client)
        except FBTimeError as exc:
            print(f"fbtime: {key} not named ({for_terminal(exc)}): ids shown", file=sys.stderr)
    return df.fbtime.with_names(**names)


def cmd_mark_billed(args: argparse.Namespace) -> int:
    chosen = filters(args)
    encode_filters(chosen)  # bad input fails before any client, file or request
    with connect_from(args) as (client, _):
        df = with_names(load_time_entries(client, **chosen, refresh=True), client)
        return review(df.fbtime.unbilled().fbtime.mark_billed(), args, lambda: client)


def cmd_plan_show(args: argparse.Namespace) -> int:
    plan = load_plan(args.file)
    print(plan)
    print(f"age: {plan.age()}")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    plan = load_plan(args.file)
    print(plan)
    return _apply(plan, None, args)


def cmd_resume(args: argparse.Namespace) -> int:
    return report(lambda: resume(args.journal))  # the journal is checked before any client


def cmd_undo(args: argparse.Namespace) -> int:
    plan = undo(args.journal)
    if not isinstance(plan, InvoiceUndo):
        return review(plan, args, lambda: None)
    print(plan)  # an invoice apply's: drafts to delete, entries to mark unbilled
    if not args.apply:
        print("dry run: nothing was written (add --apply to apply it)")
        return 0
    count = plan.entry_count
    changes = f"delete {len(plan)} draft invoices and mark {count} entries unbilled"
    confirm = confirmation(count, args.yes, changes)
    return report(lambda: plan.apply(confirm=confirm, max_changes=count, journal=args.journal_dir))


def add_apply_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--yes",
        action="store_true",
        help="confirm without a prompt (scripts), also for plans over 24 h old",
    )
    parser.add_argument(
        "--journal-dir",
        default=None,
        type=Path,
        help="where to write the journal (default: the user data dir)",
    )


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the bulk-change subcommands."""
    p = sub.add_parser(
        "mark-billed",
        help="plan (and with --apply, apply) marking unbilled billable time as billed",
    )
    add_connection_options(p)
    add_filters(p)
    p.add_argument("--apply", action="store_true", help="apply the plan (default: dry run)")
    p.add_argument("--save", type=Path, help="save the plan to this file")
    add_apply_options(p)
    p.set_defaults(func=cmd_mark_billed)

    plan = sub.add_parser("plan", help="inspect saved plans")
    plan_sub = plan.add_subparsers(dest="plan_command", required=True)
    p = plan_sub.add_parser("show", help="print a saved plan")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_plan_show)

    p = sub.add_parser("apply", help="apply a saved plan")
    p.add_argument("file", type=Path)
    add_apply_options(p)
    p.set_defaults(func=cmd_apply)

    p = sub.add_parser("resume", help="finish an interrupted apply from its journal")
    p.add_argument("journal", type=Path)
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("undo", help="plan (and with --apply, apply) undoing a journaled apply")
    p.add_argument("journal", type=Path)
    p.add_argument("--apply", action="store_true", help="apply the undo plan")
    p.add_argument("--save", type=Path, help="save the undo plan to this file")
    add_apply_options(p)
    p.set_defaults(func=cmd_undo)
