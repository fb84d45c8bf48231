"""The ``fbtime`` command: demo, sandbox, export, cache, and bulk changes.

Every command that talks to an API reads the same settings as :class:`fbtime.Client`
(``FRESHBOOKS_ACCESS_TOKEN``, ``FRESHBOOKS_BUSINESS_ID``, ``FRESHBOOKS_API_URL``), or
``--sandbox`` to run against a fresh local sandbox.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from fbtime import cache
from fbtime.errors import FBTimeError
from fbtime.query import FILTERS, encode_filters


def _add_filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters (the API's ten)")
    for name in ("billable", "billed", "include_deleted", "team", "include_unlogged"):
        group.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            default=None,
            action=argparse.BooleanOptionalAction,
        )
    for name in ("client_id", "identity_id"):
        group.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None)
    for name in ("started_from", "started_to", "updated_since"):
        group.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None, metavar="DATE")


def _filters(args: argparse.Namespace) -> dict[str, object]:
    return {k: getattr(args, k) for k in FILTERS if getattr(args, k, None) is not None}


class Connection(NamedTuple):
    """What a script talks to: a client, and the sandbox behind it (None for FreshBooks)."""

    client: Any
    sandbox: Any


def add_connection_options(
    parser: argparse.ArgumentParser, *, sandbox_default: bool = False, entries: int = 6000
) -> None:
    """Add ``--sandbox/--no-sandbox --entries --seed --end``: where a script's data comes from.

    Shared by the ``fbtime`` commands (FreshBooks by default) and the example scripts
    (a sandbox by default).
    """
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--sandbox",
        action=argparse.BooleanOptionalAction,
        default=sandbox_default,
        help="use a fresh local sandbox with synthetic data; --no-sandbox uses FreshBooks "
        "(FRESHBOOKS_ACCESS_TOKEN / FRESHBOOKS_BUSINESS_ID, or a saved login)",
    )
    group.add_argument("--entries", type=int, default=entries, help="sandbox: number of entries")
    group.add_argument("--seed", type=int, default=1, help="sandbox: random seed of the data")
    group.add_argument(
        "--end", type=date.fromisoformat, help="sandbox: last day of data (default: yesterday)"
    )


@contextlib.contextmanager
def connect(args: argparse.Namespace) -> Iterator[Connection]:
    """Yield the :class:`Connection` that :func:`add_connection_options` asked for."""
    from fbtime.client import Client

    if getattr(args, "sandbox", False):
        from fbtime.sandbox import Sandbox

        with Sandbox(entries=args.entries, seed=args.seed, end=args.end) as sb:
            yield Connection(sb.client(cache=False), sb)
    else:
        yield Connection(Client(), None)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from fbtime.sandbox.server import main as sandbox_main

    return sandbox_main(args.sandbox_args) or 0


def cmd_demo(args: argparse.Namespace) -> int:
    from fbtime.demo import run_demo

    run_demo(Path(args.out), entries=args.entries, seed=args.seed)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from fbtime.frame import load_time_entries

    encode_filters(_filters(args))  # bad input fails before any client, file or request
    with connect(args) as (client, _):
        df = load_time_entries(client, **_filters(args), refresh=args.refresh)  # type: ignore[arg-type]
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        df.to_parquet(out)
    else:
        df.to_csv(out)
    print(f"wrote {len(df)} entries to {out}")
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

    p = sub.add_parser("export", help="load time entries and write CSV or Parquet")
    p.add_argument("output", help="file to write (.csv or .parquet)")
    p.add_argument("--refresh", action="store_true", help="ignore cached answers")
    add_connection_options(p)
    _add_filters(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("cache", help="show or clear fbtime's HTTP cache")
    p.add_argument("action", choices=["info", "clear"])
    p.add_argument("--dir", help="cache directory (default: the user cache dir)")
    p.set_defaults(func=cmd_cache)

    from fbtime.bulk.commands import add_commands as add_bulk_commands
    from fbtime.identity import add_commands as add_login_commands
    from fbtime.sync import add_commands as add_sync_commands

    add_bulk_commands(sub)  # mark-billed, plan show, apply, resume, undo
    add_sync_commands(sub)  # sync
    add_login_commands(sub)  # login, whoami, use
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (2 for bad input, 1 for API errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except FBTimeError as exc:
        print(f"fbtime: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
