"""``fbtime sync PATH [filters] [--full]``: keep a Parquet snapshot up to date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fbtime.api.query import encode_filters
from fbtime.cli.options import add_filters, filters
from fbtime.sync import sync


def add_commands(sub: Any) -> None:
    """``fbtime sync PATH [filters] [--full]``: keep a Parquet snapshot up to date."""
    p = sub.add_parser("sync", help="bring a Parquet snapshot of time entries up to date")
    p.add_argument("path", type=Path, help="the snapshot (.parquet); state beside it")
    p.add_argument("--full", action="store_true", help="reload everything (also new filters)")
    add_filters(p)
    p.set_defaults(func=_cmd_sync)


def _cmd_sync(args: Any) -> int:
    chosen = filters(args)
    encode_filters(chosen)  # bad input fails before any client or request
    report = sync(args.path, full=args.full, **chosen)
    kind = f"full load ({report.reason})" if report.full else "incremental"
    print(
        f"{args.path}: {kind}, {report.requests} requests, {report.new} new, "
        f"{report.changed} changed, {report.deleted} deleted, {report.rows} rows; "
        f"watermark {report.new_watermark.isoformat()}"
    )
    return 0
