"""The ``fbtime`` command: demo, sandbox, export, cache, and (from the other modules here)
bulk changes, sign-in and sync.

Every command that talks to an API reads the same settings as :class:`fbtime.Client`
(``FRESHBOOKS_ACCESS_TOKEN``, ``FRESHBOOKS_BUSINESS_ID``, ``FRESHBOOKS_API_URL``, or a saved
login), or ``--sandbox`` to run against a fresh local sandbox.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from fbtime.api import cache
from fbtime.api.query import encode_filters
from fbtime.cli import bulk, imports, login, sync
from fbtime.cli import sandbox as sandbox_cli
from fbtime.cli.options import add_connection_options, add_filters, connect_from, filters
from fbtime.demo import run_demo
from fbtime.errors import FBTimeError
from fbtime.export import table_format, write_table
from fbtime.load import load_time_entries
from fbtime.text import for_terminal


def cmd_sandbox(args: argparse.Namespace) -> int:
    return sandbox_cli.main(args.sandbox_args)


def cmd_demo(args: argparse.Namespace) -> int:
    run_demo(Path(args.out), entries=args.entries, seed=args.seed)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    chosen = filters(args)
    encode_filters(chosen)  # bad input fails before any client, file or request
    kind = table_format(args.output)
    with connect_from(args) as (client, _):
        df = load_time_entries(
            client, **chosen, refresh=args.refresh, accept_stale=args.accept_stale
        )
    out = write_table(df, args.output, raw=args.raw)
    safe = "" if args.raw or kind == "parquet" else " (spreadsheet formulas neutralised)"
    print(f"wrote {len(df)} entries to {for_terminal(out)}{safe}")
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    directory = Path(args.dir) if args.dir else cache.cache_dir()
    if args.action == "clear":
        removed = cache.clear(directory)
        print(f"removed {removed} cache file(s) from {directory}")
        return 0
    files = list(cache.iter_cache_files(directory))
    print(f"cache directory: {directory}")
    if not files:
        print("no cache files")
    for f in files:
        when = datetime.fromtimestamp(f.modified).isoformat(timespec="seconds")
        print(f"  {f.path.name}  {f.size / 1024:.0f} KiB  modified {when}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fbtime", description="FreshBooks time entries as data, and safe bulk changes."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="start a sandbox, load a year of team time, report it")
    p.add_argument("--out", default="demo-output", help="directory for the CSV and PNGs")
    p.add_argument("--entries", type=int, default=6000)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "sandbox", help="run a local FreshBooks time-entries sandbox", add_help=False
    )
    p.add_argument("sandbox_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("export", help="load time entries and write CSV, Excel or Parquet")
    p.add_argument("output", help="file to write (.csv, .xlsx or .parquet)")
    p.add_argument("--refresh", action="store_true", help="read every page again")
    p.add_argument(
        "--accept-stale",
        type=float,
        default=None,
        metavar="SECONDS",
        help="use a cached load checked at most this long ago, with no request "
        "(default: check it with the server: 2 requests when nothing changed)",
    )
    p.add_argument(
        "--raw",
        action="store_true",
        help="keep text exactly (for programs); by default a cell starting with = + - @ is "
        "written with a leading ' so spreadsheets do not run it as a formula",
    )
    add_connection_options(p)
    add_filters(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("cache", help="show or clear fbtime's HTTP cache")
    p.add_argument("action", choices=["info", "clear"])
    p.add_argument("--dir", help="cache directory (default: the user cache dir)")
    p.set_defaults(func=cmd_cache)

    bulk.add_commands(sub)  # mark-billed, plan show, apply, resume, undo
    imports.add_commands(sub)  # import
    sync.add_commands(sub)  # sync
    login.add_commands(sub)  # login, whoami, use
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (2 for bad input, 1 for API errors)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "command", None) == "sandbox":  # its options are its own parser's
        args.sandbox_args = [*extra, *args.sandbox_args]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args) or 0)
    except FBTimeError as exc:
        print(f"fbtime: error: {for_terminal(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
