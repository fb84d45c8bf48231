"""How many requests a client keeps in flight: a fixed number, or one adapted to the API.

The right number depends on the API's latency and limit, which a client can observe:
every attempt of :meth:`fbtime.api.client.Client.send` holds a *slot* of its client's
:class:`Concurrency` while it is on the wire and reports how long it took and how it
ended. With ``Client(workers=N)`` the number is N; with ``workers=None`` (the default) it
starts at :data:`~fbtime.config.START_WORKERS` and is decided again after every *round*
(as many answers as requests allowed in flight: about one round trip):

* a 429, a 5xx or a failed connection in the round: halve it (the API is telling us);
* the round's median latency twice the lowest seen, two rounds running (the API or the
  network is queueing our requests): take a quarter off;
* the rate limiter held requests back (:mod:`fbtime.api.ratelimit`): the published limit,
  not concurrency, sets the pace, so leave it;
* otherwise grow. At first it doubles, as long as each doubling raises throughput by at
  least a third ("slow start"); once one does not, it settles halfway back and then adds
  one per round while latency stays within 1.5x of the lowest seen (one more request in
  flight then means more answers per second), and takes one off above that.

The lowest latency seen is a round's median; at 2 or fewer in flight the client cannot be
what queues, so the latency seen there becomes the lowest (a network that became slower
is relearned).

It never grows past :data:`~fbtime.config.ADAPTIVE_MAX_WORKERS` (16), within the hard
cap of any setting, :data:`~fbtime.config.MAX_WORKERS` (32, the connection pool's size):
on the benchmark (a 20 ms API on 2 CPUs) 16 workers were the fastest and 32 slower, each
request in flight holds a page in memory, and FreshBooks does not document how many
parallel requests it tolerates (bench/RESULTS.md). Concurrency control is not part of the
retry budget: a 429 is still one attempt of its request.
"""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
from collections.abc import Callable, Iterator

from fbtime.config import ADAPTIVE_MAX_WORKERS, START_WORKERS

#: A round's throughput must grow this much for slow start to keep doubling.
SLOW_START_GAIN = 1.33
#: Latency over the lowest seen above which concurrency shrinks (two rounds running).
LATENCY_RISE = 2.0
#: Latency over the lowest seen below which one more request may be added per round.
LATENCY_ROOM = 1.5
#: At this few requests in flight the client cannot be what queues: the latency it sees is
#: the network's and the API's own, and becomes the lowest seen (a slower network relearned).
RELEARN_AT = 2
#: Fewest answers that make a round (a round of one answer says little).
MIN_ROUND = 4


class Concurrency:
    """The number of requests one client keeps in flight, shared by all its threads.

    Args:
        workers: a fixed number (1..cap), or None to adapt (see the module docstring).
        cap: the most adaptive mode grows to.
        start: where adaptive mode starts.
        clock: a monotonic clock (tests pass a fake one).

    Attributes:
        limit: requests allowed in flight now.
        peak: the highest ``limit`` so far.
        history: ``(reason, limit)`` for every change, oldest first (for tests and the
            benchmark; a few hundred entries at most in a long load).
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        cap: int = ADAPTIVE_MAX_WORKERS,
        start: int = START_WORKERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.adaptive = workers is None
        self.cap = cap if workers is None else workers
        self.limit = min(start, cap) if workers is None else workers
        self.peak = self.limit
        self.history: list[tuple[str, int]] = []
        self.completed = 0
        self.overloads = 0
        self._clock = clock
        self._cond = threading.Condition()
        self._in_flight = 0
        self._baseline: float | None = None
        self._slow_start = True
        self._rising = 0
        self._previous: tuple[int, float] | None = None  # (limit, throughput) of last round
        self._rate = 0.0
        self._new_round(clock())

    def __repr__(self) -> str:
        mode = "adaptive" if self.adaptive else "fixed"
        return f"Concurrency({mode}, limit={self.limit}, cap={self.cap})"

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def rate(self) -> float:
        """Answers per second in the last complete round (0 before the first)."""
        return self._rate

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the ``limit`` places in flight while the block runs."""
        with self._cond:
            while self._in_flight >= self.limit:
                self._cond.wait()
            self._in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    def record(self, seconds: float, status: int | None, *, held: bool = False) -> None:
        """One attempt ended after ``seconds`` on the wire.

        Args:
            seconds: time from sending to the whole answer (or to the failure).
            status: the HTTP status, or None when no answer came (a connection failure).
            held: the rate limiter made this request wait before it was sent.
        """
        with self._cond:
            self.completed += 1
            overload = status is None or status == 429 or status >= 500
            self.overloads += overload
            self._trouble |= overload
            self._held |= held
            if not overload:
                self._latencies.append(seconds)
            self._done += 1
            now = self._clock()
            if self._done >= max(self.limit, MIN_ROUND) and now > self._started:
                self._end_round(now)

    # -- rounds ------------------------------------------------------------------------
    def _new_round(self, now: float) -> None:
        self._started, self._done = now, 0
        self._latencies: list[float] = []
        self._trouble = self._held = False

    def _end_round(self, now: float) -> None:
        throughput = self._done / (now - self._started)
        self._rate = throughput
        latency = statistics.median(self._latencies) if self._latencies else None
        if latency is not None:
            relearn = self._baseline is None or self.limit <= RELEARN_AT
            self._baseline = (
                latency if relearn or self._baseline is None else min(latency, self._baseline)
            )
        if self.adaptive:
            self._decide(throughput, latency)
        self._new_round(now)

    def _decide(self, throughput: float, latency: float | None) -> None:
        limit, previous = self.limit, self._previous
        self._previous = (limit, throughput)
        ratio = latency / self._baseline if latency is not None and self._baseline else 1.0
        self._rising = self._rising + 1 if ratio > LATENCY_RISE else 0
        if self._trouble:
            self._slow_start = False
            self._set(max(1, limit // 2), "429, 5xx or a failed connection")
        elif self._rising >= 2:
            self._slow_start, self._rising = False, 0
            self._set(max(1, limit - max(1, limit // 4)), "latency rising")
        elif self._held:
            return  # the published limit sets the pace; more in flight would only wait
        elif self._slow_start:
            grew = previous is not None and previous[0] < limit
            if previous is not None and grew and throughput < previous[1] * SLOW_START_GAIN:
                self._slow_start = False
                self._set((previous[0] + limit + 1) // 2, "throughput stopped improving")
            else:
                self._slow_start = limit * 2 < self.cap  # at the cap: no more doubling
                self._set(min(self.cap, limit * 2), "slow start")
        elif ratio <= LATENCY_ROOM:
            self._set(min(self.cap, limit + 1), "latency near the lowest seen")
        else:
            self._set(max(1, limit - 1), "latency above the lowest seen")

    def _set(self, limit: int, reason: str) -> None:
        if limit != self.limit:
            self.limit = limit
            self.peak = max(self.peak, limit)
            self.history.append((reason, limit))
            self._cond.notify_all()
