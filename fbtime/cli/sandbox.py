"""``fbtime sandbox``: run a local FreshBooks stand-in in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from fbtime.sandbox import PUT_MODES, Sandbox, serve
from fbtime.sandbox.app import RATE_LIMIT, RATE_WINDOW


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fbtime sandbox", description="Run a local FreshBooks time-tracking sandbox."
    )
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--entries", type=int, default=2000, help="number of time entries")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the data")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument(
        "--rate-limit", type=int, default=RATE_LIMIT,
        help=f"requests in any --rate-window seconds, as live (default {RATE_LIMIT}; 0: none)",
    )  # fmt: skip
    parser.add_argument("--rate-window", type=float, default=RATE_WINDOW, help="seconds")
    parser.add_argument(
        "--put-mode", choices=PUT_MODES, default="live",
        help="live: a PUT clears the client and project it leaves out, as FreshBooks does",
    )  # fmt: skip
    parser.add_argument(
        "--first-day-of-week", type=int, choices=(0, 6), default=0,
        help="the business's week start: 0 Monday, 6 Sunday",
    )  # fmt: skip
    parser.add_argument("--business-id", type=int, default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the sandbox's own options and serve it; return the exit code."""
    args = build_parser().parse_args(argv)
    sandbox = Sandbox(
        args.entries,
        args.seed,
        business_id=args.business_id,
        latency=args.latency,
        rate_limit=args.rate_limit or None,
        rate_window=args.rate_window,
        put_mode=args.put_mode,
        first_day_of_week=args.first_day_of_week,
        port=args.port,
    )
    serve(sandbox)
    return 0
