"""Rounded time: each entry's duration rounded to a step, as invoices and reports show it.

Harvest and most billing tools round time per entry (6, 15 or 30 minutes) while keeping
what was logged; :func:`round_time` does the same on a frame:

* ``duration`` and ``hours`` are rounded per entry, so ``with_rates`` (amounts are
  ``rate x duration``), every summary and any plan built from the amounts use the rounded
  time; the logged seconds stay in :data:`LOGGED_COLUMN`;
* ``how="up"`` rounds any part of a step up, ``"down"`` drops it, ``"nearest"`` goes to
  the closer step and a half step goes **up** (7 min 30 s at 15 min is 15 min);
* only logged entries with a duration of 0 s or more are rounded: running timers (no
  duration), unlogged timer segments (a timer's segments add up before it is logged) and
  corrupt negative durations keep their value;
* the frame remembers it (``attrs["fbtime"]["rounded"]``: ``{"step": seconds, "how":
  ...}``), so reports can say so and bulk plans compare against the logged time: a
  plan never writes a rounded duration back (:func:`fbtime.bulk.builders.build_plan`);
* rounding a rounded frame rounds the logged time again, never the rounded one: the same
  step twice gives the same frame, another step gives what that step alone would.

The frame given is not modified.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import numpy as np
import pandas as pd

from fbtime.errors import QueryError

#: The column that keeps each entry's logged seconds in a rounded frame.
LOGGED_COLUMN = "logged_duration"
#: The ways to round, as ``round_time(how=...)`` takes them.
HOW: tuple[str, ...] = ("up", "nearest", "down")
#: The longest step: a day (longer would round a working day to nothing or two days).
MAX_STEP = 86_400

How = Literal["up", "nearest", "down"]


def step_seconds(step: Any) -> int:
    """A rounding step in whole seconds, from ``"15min"``, ``"0.1h"`` or a timedelta.

    A bare number is refused: minutes or seconds? The unit is part of the step.

    Raises:
        QueryError: not a duration, not whole seconds, or outside 1 s to a day.
    """
    bare = isinstance(step, str) and step.strip().replace(".", "", 1).isdigit()
    if bare or isinstance(step, int | float | np.integer | np.floating):
        raise QueryError(
            f"give the step with its unit, e.g. '{str(step).strip()[:10]}min', not {step!r}"
        )
    try:
        if isinstance(step, str | dt.timedelta | pd.Timedelta):
            delta = pd.Timedelta(step)
        else:
            raise TypeError(type(step).__name__)
    except (TypeError, ValueError, OverflowError):
        raise QueryError(
            f"step must be a duration such as '6min', '15min', '30min' or a timedelta, "
            f"got {str(step)[:40]!r}"
        ) from None
    seconds = delta.total_seconds()
    if delta is pd.NaT or seconds != int(seconds) or not 1 <= seconds <= MAX_STEP:
        raise QueryError(f"step must be whole seconds from 1 s to a day, got {str(step)[:40]!r}")
    return int(seconds)


def check_how(how: Any) -> str:
    """``"up"``, ``"nearest"`` or ``"down"``, else a QueryError."""
    if how not in HOW:
        raise QueryError(f"how must be one of {', '.join(HOW)}, got {how!r}")
    return str(how)


def rounded_seconds(seconds: np.ndarray, step: int, how: str) -> np.ndarray:
    """Whole seconds rounded to ``step`` (integers; halves go up with ``"nearest"``).

    Example:
        >>> rounded_seconds(np.array([0, 1, 449, 450, 900]), 900, "nearest").tolist()
        [0, 0, 0, 900, 900]
    """
    if how == "up":
        return -(-seconds // step) * step
    if how == "down":
        return seconds // step * step
    return (seconds + step // 2) // step * step  # whole seconds: only an even step has a half


def rounding_of(frame: pd.DataFrame) -> dict[str, Any] | None:
    """``{"step": seconds, "how": ...}`` when ``frame`` was rounded by :func:`round_time`."""
    info = frame.attrs.get("fbtime")
    rounded = info.get("rounded") if isinstance(info, dict) else None
    return dict(rounded) if isinstance(rounded, dict) and LOGGED_COLUMN in frame else None


def describe(rounding: dict[str, Any]) -> str:
    """``"rounded up to 15 min per entry"``: how a report says the time it shows was rounded."""
    step = int(rounding["step"])
    size = f"{step // 60} min" if step % 60 == 0 else f"{step} s"
    how = {"up": "up to", "down": "down to", "nearest": "to the nearest"}[rounding["how"]]
    return f"time rounded {how} {size} per entry (logged time in {LOGGED_COLUMN})"


def round_time(frame: pd.DataFrame, step: Any = "15min", how: How = "nearest") -> pd.DataFrame:
    """A copy whose ``duration`` and ``hours`` are rounded per entry to ``step``.

    Args:
        frame: a time-entry frame; it is not modified.
        step: ``"6min"``, ``"15min"``, ``"30min"``, any ``pd.Timedelta`` or timedelta;
            whole seconds from 1 s to a day.
        how: ``"up"``, ``"down"`` or ``"nearest"`` (a half step goes up).

    Returns:
        The frame with rounded ``duration``/``hours``, the logged seconds in
        ``logged_duration`` (``Int64``) and ``attrs["fbtime"]["rounded"]`` set. Running
        timers, unlogged segments and negative durations keep their value.

    Raises:
        QueryError: a bad ``step`` or ``how``.

    Example:
        >>> rounded = df.fbtime.round_time("15min", how="up")
        >>> rounded[["logged_duration", "duration", "hours"]].head(3)
              logged_duration  duration  hours
        id
        5479             3600      3600    1.0
        5478             3600      3600    1.0
        5499              652       900   0.25
    """
    seconds = step_seconds(step)
    how = check_how(how)  # type: ignore[assignment]
    logged = frame[LOGGED_COLUMN] if rounding_of(frame) is not None else frame["duration"]
    logged = logged.astype("Int64")
    values = logged.to_numpy(dtype="int64", na_value=-1)
    is_logged = frame["is_logged"].to_numpy(dtype=bool, na_value=False)
    valid = logged.notna().to_numpy() & (values >= 0) & is_logged
    rounded = np.where(valid, rounded_seconds(values, seconds, how), values)
    out = frame.copy()
    out["duration"] = pd.array(rounded, dtype="Int64")
    out.loc[logged.isna().to_numpy(), "duration"] = pd.NA
    out["hours"] = (out["duration"].astype("Float64") / 3600).astype("Float64")
    out[LOGGED_COLUMN] = logged
    info = frame.attrs.get("fbtime")
    out.attrs = {
        **frame.attrs,
        "fbtime": {**(info if isinstance(info, dict) else {}),
                   "rounded": {"step": seconds, "how": how}},
    }  # fmt: skip
    return out
