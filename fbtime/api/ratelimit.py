"""One request pacer shared by every thread of a client.

Two ways to keep under a limit, and one way to back off together:

* **A published limit.** When answers carry ``X-RateLimit-Limit``, ``-Remaining`` and
  ``-Reset`` (epoch seconds, or seconds from now), no request is sent that the current
  window has no room for: requests in flight are counted against ``Remaining`` (each may
  still be counted by the server), and when the window is used up everyone waits for
  ``Reset``. The first request into a new window goes alone, and the others follow once
  its answer says how much room that window has (another client of the same account may
  have used some). A window that would reopen only after ``max_wait`` raises
  :class:`~fbtime.RateLimitError` at once, with nothing sent; a call a moment later
  asks the server again (:data:`REFUSAL_HOLD`).
* **A token bucket** (``Client(rate_limit=...)``): at most ``rate`` requests a second,
  published limit or not.
* **A shared pause**: a 429 with ``Retry-After`` holds every thread, so one worker's
  warning stops the whole pool instead of each worker hitting the limit in turn.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from fbtime.errors import RateLimitError

#: A ``Reset`` below this is seconds from now, above it an epoch time (2001-09-09).
EPOCH_THRESHOLD = 1e9
#: How long a window that reopens too late is refused at once (the calls in flight when
#: it was seen); a later call sends one request alone to ask the server again, so one
#: answer with a far-off reset never blocks a client for good.
REFUSAL_HOLD = 1.0


@dataclass
class Window:
    """What the server last said about its current rate-limit window.

    Attributes:
        limit: requests the window allows.
        remaining: the fewest ``Remaining`` any answer of this window reported.
        reset: the server's ``Reset``, as epoch seconds (the window's identity).
        ends: when the window ends, on the limiter's clock.
    """

    limit: int
    remaining: int
    reset: float
    ends: float


def published_window(
    headers: Mapping[str, str], now: float, wall: float
) -> tuple[int, int, float, float] | None:
    """``(limit, remaining, reset epoch, end on the local clock)`` from ``X-RateLimit-*``.

    None when the headers are absent or not sensible numbers (they come from a server:
    a negative, fractional or NaN count is ignored, not trusted).
    """
    try:
        limit = int(headers["X-RateLimit-Limit"])
        remaining = int(headers["X-RateLimit-Remaining"])
        reset = float(headers["X-RateLimit-Reset"])
    except (KeyError, TypeError, ValueError):
        return None
    if limit <= 0 or remaining < 0 or not math.isfinite(reset) or reset < 0:
        return None
    epoch = reset if reset >= EPOCH_THRESHOLD else wall + reset
    return limit, min(remaining, limit), epoch, now + (epoch - wall)


class Grant(NamedTuple):
    """One request let through: when, whether a limit made it wait (a published window or
    the token bucket, not a ``Retry-After`` pause), and whether it probes a new window."""

    at: float
    held: bool = False
    probe: bool = False


class RateLimiter:
    """Published-limit pacing, a token bucket and a shared pause, for one client.

    ``rate=None`` leaves out the token bucket; a published limit and pauses still apply.

    It keeps its own accounting, so a caller (or a test) can check the promise without
    timing anything: :attr:`granted` counts requests let through, :meth:`grants` gives
    their clock times (the last ``history`` of them), :attr:`pause_log` the pause windows,
    :attr:`held` the requests a limit made wait.

    Every :meth:`acquire` must be followed by one :meth:`release` (with the answer's
    headers, or None when no answer came): that is how requests in flight are counted.
    """

    def __init__(
        self,
        rate: float | None = None,
        *,
        burst: float | None = None,
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        history: int = 100_000,
    ) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate or 1.0)
        self.max_wait = max_wait
        self._tokens = self.capacity
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.waited = 0.0
        self.pauses = 0
        self.granted = 0
        self.held = 0
        self._grants: deque[float] = deque(maxlen=history)
        self.pause_log: list[tuple[float, float]] = []
        self.window: Window | None = None
        self.in_flight = 0
        self._probe = False  # a request is out into a window we know nothing about yet
        self._skew = 0.0  # how far our clock runs ahead of the server's window ends
        self._refused: float | None = None  # when a far-off reset was first refused

    def pause(self, seconds: float) -> None:
        """Hold every caller of :meth:`acquire` for ``seconds`` from now."""
        with self._lock:
            now = self._clock()
            until = now + seconds
            if until > self._paused_until:
                self._paused_until = until
                self.pauses += 1
                self.pause_log.append((now, until))

    def acquire(self) -> Grant:
        """Block until a request may be sent; say when, and if it waited for a window.

        Raises:
            RateLimitError: the published window reopens only after ``max_wait`` seconds.
        """
        held = False
        while True:
            with self._lock:
                now = self._clock()
                wait = self._paused_until - now
                probe = False
                if wait <= 0:
                    wait, probe = self._window_wait(now)
                    held |= wait > 0
                if wait <= 0:
                    wait = self._bucket_wait(now)
                    held |= wait > 0
                if wait <= 0:
                    return self._grant(now, held, probe)
                self.waited += wait
                if self._sleep is None:
                    self._changed.wait(wait)  # an answer may open room before then
                    continue
            self._sleep(wait)

    def release(self, grant: Grant, headers: Mapping[str, str] | None) -> None:
        """The request of ``grant`` ended; read its answer's headers (None: no answer)."""
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)
            if grant.probe:
                self._probe = False
            now, window = self._clock(), self.window
            seen = published_window(headers, now, self._wall()) if headers is not None else None
            if seen is not None:
                limit, remaining, reset, ends = seen
                if window is None or reset > window.reset:
                    self.window, self._refused = Window(limit, remaining, reset, ends), None
                elif reset == window.reset:
                    window.remaining = min(window.remaining, remaining)
                    if grant.at >= window.ends + self._skew:
                        # sent after the window should have ended, yet counted in it: our
                        # clock runs ahead of the server's; wait that much longer next time
                        self._skew = max(self._skew, now - window.ends) + 0.05
            self._changed.notify_all()

    def _window_wait(self, now: float) -> tuple[float, bool]:
        """Seconds to wait for room in the published window, and whether the request
        would be the one probing a new window."""
        window = self.window
        if window is None:
            return 0.0, False
        opens = window.ends + self._skew
        if now >= opens:  # the window we knew is over; the next one's room is unknown
            if self._probe:
                return 0.05, False  # until the probe's answer (release wakes us sooner)
            return 0.0, True
        if window.remaining - self.in_flight > 0:
            return 0.0, False
        if opens - now > self.max_wait:
            self._refused = self._refused if self._refused is not None else now
            if now - self._refused > REFUSAL_HOLD:  # a later call: ask the server again
                self.window, self._refused = None, None
                return 0.0, True
            raise RateLimitError(
                f"rate limited: the API's request window reopens in {opens - now:.0f} s "
                f"(X-RateLimit-Reset), longer than max_retry_after={self.max_wait:g} s; "
                "try again later",
                retry_after=opens - now,
                status=429,
            )
        return opens - now, False

    def _bucket_wait(self, now: float) -> float:
        if self.rate is None:
            return 0.0
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1 - 1e-9:  # float error must not stall a caller
            return 0.0
        return max((1 - self._tokens) / self.rate, 1e-6)

    def _grant(self, now: float, held: bool, probe: bool) -> Grant:
        if self.rate is not None:
            self._tokens = max(0.0, self._tokens - 1)
        self._probe |= probe
        self.in_flight += 1
        self.granted += 1
        self.held += held
        self._grants.append(now)
        return Grant(now, held, probe)

    def grants(self) -> list[float]:
        """Clock times at which requests were let through (oldest first)."""
        with self._lock:
            return list(self._grants)

    def max_in_window(self, seconds: float) -> int:
        """Most grants inside any window of ``seconds`` (the bucket allows burst + rate x it)."""
        times = self.grants()
        best, start = 0, 0
        for end, stamp in enumerate(times):
            while stamp - times[start] > seconds:
                start += 1
            best = max(best, end - start + 1)
        return best
