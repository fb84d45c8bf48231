"""Seeded fault injection: the bad days of a real network and a real API, on demand.

A :class:`Faults` set on a sandbox decides, request by request and from its own seeded
random stream, whether to answer with a 5xx, start a burst of 429s with ``Retry-After``,
drop the connection (before or after doing the work), answer slower than the client's
timeout, cut the JSON body short, or restart the whole server after a number of
requests. ``Faults.injected`` counts what was done, for the chaos suite's table.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field

#: Kinds of fault, as counted in :attr:`Faults.injected`.
KINDS = ("5xx", "429", "drop_before", "drop_after", "slow", "truncate", "restart")
#: What the HTTP layer must do with the answer (passed through the WSGI environ).
ENVIRON_KEY = "fbtime.fault"


@dataclass
class Faults:
    """Fault rates (each a probability per request) and knobs, with a seed.

    Attributes:
        seed: seed of the fault stream (same seed and request order, same faults).
        error_rate: answer 500/502/503/504 (JSON or an HTML page).
        burst_rate: start a burst of ``burst_length`` 429 answers with ``Retry-After``.
        drop_rate: close the connection with no answer; half of them after the work
            was done (the client cannot tell which).
        slow_rate: wait ``slow_seconds`` (more than the client's timeout) before answering.
        truncate_rate: send only part of the JSON body (with a matching Content-Length).
        restart_after: restart the server once, after this many requests.
        methods: only requests with these methods are hit (all when empty).
    """

    seed: int = 0
    error_rate: float = 0.0
    burst_rate: float = 0.0
    burst_length: tuple[int, int] = (2, 4)
    retry_after: int = 1
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 2.0
    truncate_rate: float = 0.0
    restart_after: int | None = None
    methods: frozenset[str] = frozenset()
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._burst_left = 0
        self._seen = 0

    def decide(self, method: str) -> str | None:
        """The fault for the next request (None: answer normally)."""
        with self._lock:
            self._seen += 1
            if self.restart_after is not None and self._seen == self.restart_after:
                self.injected["restart"] += 1
                return "restart"
            if self.methods and method not in self.methods:
                return None
            if self._burst_left > 0:
                self._burst_left -= 1
                self.injected["429"] += 1
                return "429"
            roll = self._rng.random()
            for kind, rate in (
                ("5xx", self.error_rate),
                ("429", self.burst_rate),
                ("drop", self.drop_rate),
                ("slow", self.slow_rate),
                ("truncate", self.truncate_rate),
            ):
                if roll < rate:
                    if kind == "429":
                        self._burst_left = self._rng.randint(*self.burst_length) - 1
                    if kind == "drop":
                        kind = self._rng.choice(("drop_before", "drop_after"))
                    self.injected[kind] += 1
                    return kind
                roll -= rate
            return None

    def error_status(self) -> tuple[int, bool]:
        """A 5xx status, and whether its body is an HTML page rather than JSON."""
        with self._lock:
            return self._rng.choice((500, 502, 503, 504)), self._rng.random() < 0.5

    def total(self) -> int:
        return sum(self.injected.values())
