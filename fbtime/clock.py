"""The one "now" of fbtime's calendar, which a test or a reproducible report can fix.

Calendar questions ask here: how old unbilled time is and what lies in the future (the
audit and ``aging``), where a demo's year starts, what day a sandbox's data ends. A
test, a doctest or a report that must print the same figures every day fixes it::

    with fbtime.clock.fixed("2026-12-01T12:00:00Z"):
        findings = df.fbtime.audit()

or sets ``FBTIME_NOW`` (an ISO date or datetime; naive means UTC), which child processes
inherit: notebooks, example scripts, ``fbtime demo``. A fixed clock does not tick.

Durations measured on the wall clock keep the real one: token expiry, cache ages,
journal and plan timestamps, rate-limit windows and the sandbox's own update times. Fixing
the calendar must not stop time.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from fbtime.config import ENV_NOW
from fbtime.errors import ConfigError

_fixed: dt.datetime | None = None


def as_utc(when: dt.datetime | dt.date | str, what: str = "now") -> dt.datetime:
    """An aware UTC datetime from a datetime, a date (midnight UTC) or ISO text.

    Raises:
        ConfigError: the value is not a date or datetime.
    """
    if isinstance(when, str):
        text = when.strip()
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ConfigError(
                f"{what} must be an ISO date or datetime such as 2026-12-01T12:00:00Z, "
                f"got {text[:40]!r}"
            ) from None
    if isinstance(when, dt.datetime):
        return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    if isinstance(when, dt.date):
        return dt.datetime.combine(when, dt.time(), dt.UTC)
    raise ConfigError(f"{what} must be a date, a datetime or ISO text, not {type(when).__name__}")


@lru_cache(maxsize=8)
def _from_environment(text: str) -> dt.datetime:
    return as_utc(text, ENV_NOW)


def now() -> dt.datetime:
    """The current time, aware UTC: the fixed one if fixed, else ``FBTIME_NOW``, else real."""
    if _fixed is not None:
        return _fixed
    text = os.environ.get(ENV_NOW, "").strip()
    return _from_environment(text) if text else dt.datetime.now(dt.UTC)


def today(tz: str | dt.tzinfo | None = None) -> dt.date:
    """Today's date in zone ``tz`` (an IANA name or tzinfo; default UTC)."""
    zone = zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else (tz or dt.UTC)
    return now().astimezone(zone).date()


def fix(when: dt.datetime | dt.date | str | None) -> dt.datetime | None:
    """Fix the clock at ``when`` for this process (None: back to ``FBTIME_NOW``/real time).

    Returns the previous fixed time, so a caller can put it back.
    """
    global _fixed
    previous, _fixed = _fixed, None if when is None else as_utc(when)
    return previous


@contextmanager
def fixed(when: dt.datetime | dt.date | str) -> Iterator[dt.datetime]:
    """Within the block, :func:`now` is ``when``; the previous setting comes back after."""
    previous = fix(when)
    try:
        yield now()
    finally:
        fix(previous)
