"""Options shared by the commands (and the example scripts): the API's filters, and where
the data comes from (a sandbox or FreshBooks)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from datetime import date
from typing import Any

from fbtime.api.query import FILTERS
from fbtime.load import Connection, connect


def add_filters(parser: argparse.ArgumentParser) -> None:
    """Add the API's ten filters as ``--billable/--no-billable``, ``--client-id`` ...."""
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


def filters(args: argparse.Namespace) -> dict[str, Any]:
    """The filters given on the command line (unset ones left out)."""
    return {k: getattr(args, k) for k in FILTERS if getattr(args, k, None) is not None}


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
def connect_from(args: argparse.Namespace) -> Iterator[Connection]:
    """The :func:`fbtime.connect` that :func:`add_connection_options` asked for."""
    with connect(
        sandbox=bool(getattr(args, "sandbox", False)),
        entries=getattr(args, "entries", 6000),
        seed=getattr(args, "seed", 1),
        end=getattr(args, "end", None),
    ) as connection:
        yield connection
