"""When a week starts: the business's "Start Week On" setting, unless the caller says.

FreshBooks keeps the setting as ``business.first_day_of_week`` in ``users/me`` (facts
sheet section 9a): live answers show 0 and 6, and the web app offers only Monday and
Sunday, so fbtime reads 0 as Monday and 6 as Sunday (the coding of Python's
``weekday()``); any other value is read as Monday, with a :class:`WeekStartWarning`.

``by_period("W")``, ``utilization``, the weekly chart and the explorer ask
:func:`frame_week_start`, and each takes ``week_start="monday"|"sunday"`` to override
it. Without it, a frame's week start is ``df.attrs["fbtime"]["week_start"]`` if set,
else its business's: the client that loaded it (still open in this process) asks
``users/me`` once (:func:`business_week_start`). A load itself sends no request for it
(request budgets count every load); it records the week start when its client already
knows it. A frame with no live client (built by hand, read back from a file) has Monday
weeks. Every output names the start it used.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from typing import Any

import pandas as pd

from fbtime.api.client import Client
from fbtime.api.reference import me
from fbtime.errors import FBTimeError, QueryError

#: The week starts fbtime knows, by ``first_day_of_week`` (= pandas' ``day_of_week``).
WEEK_STARTS: dict[str, int] = {"monday": 0, "sunday": 6}
DEFAULT_WEEK_START = "monday"
_ASKED: weakref.WeakKeyDictionary[Client, str | None] = weakref.WeakKeyDictionary()
_ASKING = threading.Lock()


class WeekStartWarning(UserWarning):
    """The business's ``first_day_of_week`` is neither 0 (Monday) nor 6 (Sunday)."""


def week_start(first_day_of_week: Any) -> str:
    """The week start a business's ``first_day_of_week`` means: 0 Monday, 6 Sunday.

    None (not known) is Monday; any other value is Monday with a :class:`WeekStartWarning`.

    Example:
        >>> from fbtime.weeks import week_start
        >>> week_start(6), week_start(0)
        ('sunday', 'monday')
    """
    for name, number in WEEK_STARTS.items():
        if first_day_of_week == number and not isinstance(first_day_of_week, bool):
            return name
    if first_day_of_week is not None:
        shown = str(first_day_of_week)[:20]
        warnings.warn(
            f"the business's first_day_of_week is {shown!r}, neither 0 (Monday) nor 6 "
            "(Sunday): weeks start on Monday; pass week_start='sunday' if they should not",
            WeekStartWarning,
            stacklevel=2,
        )
    return DEFAULT_WEEK_START


def check_week_start(value: Any) -> str:
    """``"monday"`` or ``"sunday"`` (any case), else a QueryError."""
    name = value.strip().lower() if isinstance(value, str) else value
    if name not in WEEK_STARTS:
        raise QueryError(f"week_start must be 'monday' or 'sunday', got {value!r}")
    return str(name)


def frame_week_start(frame: pd.DataFrame, week_start: str | None = None) -> str:
    """The week start to use for ``frame``: ``week_start`` if given, else the one recorded
    in ``attrs["fbtime"]["week_start"]``, else its business's (asked through the client
    that loaded it, if still open), else Monday.

    Raises:
        QueryError: ``week_start`` is neither ``"monday"`` nor ``"sunday"``.
    """
    if week_start is not None:
        return check_week_start(week_start)
    info = frame.attrs.get("fbtime")
    if not isinstance(info, dict):
        return DEFAULT_WEEK_START
    recorded = info.get("week_start")
    if recorded in WEEK_STARTS:
        return str(recorded)
    connection = info.get("connection")
    client = Client.for_connection(connection) if isinstance(connection, str) else None
    if client is None or client.business_id != info.get("business_id"):
        return DEFAULT_WEEK_START
    return business_week_start(client) or DEFAULT_WEEK_START


def business_week_start(client: Client, *, ask: bool = True) -> str | None:
    """The week start of ``client``'s business, from ``users/me``, asked once per client.

    ``ask=False`` sends nothing: what this client already learnt, or None. The answer
    comes through the client's HTTP cache when it has one. None when ``users/me`` cannot
    say (refused, unreachable, the business not listed): weeks then start on Monday.
    """
    with _ASKING:
        if client in _ASKED or not ask:
            return _ASKED.get(client)
    try:
        identity = me(client)
    except FBTimeError:
        found = None  # a token without the profile scope still loads its entries
    else:
        business = next((b for b in identity.businesses if b.id == client.business_id), None)
        found = None if business is None else week_start(business.first_day_of_week)
    with _ASKING:
        _ASKED[client] = found
    return found


def anchor(start: str) -> str:
    """The pandas weekly frequency whose dates are the week's first days (``W-MON``)."""
    return "W-" + {"monday": "MON", "sunday": "SUN"}[start]
