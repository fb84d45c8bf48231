"""One request pacer shared by every thread of a client.

A token bucket keeps the client under a configured rate, and a shared pause makes all
threads back off together when any of them is told ``Retry-After`` by a 429: one
worker's warning holds the whole pool, instead of each worker hitting the limit in turn.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """Token bucket (``rate`` requests/second, bursts up to ``burst``) plus a shared pause.

    ``rate=None`` paces nothing but still honours pauses.

    It keeps its own accounting, so a caller (or a test) can check the promise without
    timing anything: :attr:`granted` counts requests let through, :meth:`grants` gives
    their clock times (the last ``history`` of them), :attr:`pause_log` the pause windows.
    """

    def __init__(
        self,
        rate: float | None = None,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        history: int = 100_000,
    ) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate or 1.0)
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0
        self.pauses = 0
        self.granted = 0
        self._grants: deque[float] = deque(maxlen=history)
        self.pause_log: list[tuple[float, float]] = []

    def pause(self, seconds: float) -> None:
        """Hold every caller of :meth:`acquire` for ``seconds`` from now."""
        with self._lock:
            now = self._clock()
            until = now + seconds
            if until > self._paused_until:
                self._paused_until = until
                self.pauses += 1
                self.pause_log.append((now, until))

    def acquire(self) -> None:
        """Block until a request may be sent."""
        while True:
            with self._lock:
                now = self._clock()
                wait = self._paused_until - now
                if wait <= 0 and self.rate is not None:
                    self._tokens = min(
                        self.capacity, self._tokens + (now - self._updated) * self.rate
                    )
                    self._updated = now
                    if self._tokens >= 1 - 1e-9:  # float error must not stall a caller
                        self._tokens = max(0.0, self._tokens - 1)
                        self._grant(now)
                        return
                    wait = max((1 - self._tokens) / self.rate, 1e-6)
                elif wait <= 0:
                    self._grant(now)
                    return
            self.waited += wait
            self._sleep(wait)

    def _grant(self, now: float) -> None:
        self.granted += 1
        self._grants.append(now)

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
