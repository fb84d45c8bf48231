"""Adaptive concurrency: grows while throughput improves, shrinks on 429s, 5xx and rising
latency, never past its cap of 16; a fixed count stays fixed.

The API is simulated: a server that answers ``capacity`` requests at a time in ``base``
seconds and queues the rest, so latency rises once concurrency passes its capacity. A
fake clock runs the rounds; nothing here waits for real time.
"""

import threading

import pytest

from fbtime.api.concurrency import Concurrency
from fbtime.config import ADAPTIVE_MAX_WORKERS, START_WORKERS


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def run(concurrency, clock, rounds, *, capacity=1000, base=0.02, status=200, held=False):
    """Let ``concurrency`` send ``rounds`` rounds of requests to the simulated server."""
    limits = []
    for _ in range(rounds):
        limit = concurrency.limit
        latency = base * max(1.0, limit / capacity)
        for _ in range(limit):
            clock.now += latency / limit  # answers arrive spread over one latency
            concurrency.record(latency, status, held=held)
        limits.append(concurrency.limit)
    return limits


def test_a_fixed_count_never_changes():
    clock = FakeClock()
    fixed = Concurrency(6, clock=clock)
    run(fixed, clock, 10)
    run(fixed, clock, 5, status=429)
    assert fixed.limit == 6 == fixed.cap and fixed.history == []


def test_it_starts_at_four_and_doubles_while_throughput_keeps_up_but_never_passes_the_cap():
    clock = FakeClock()
    adaptive = Concurrency(clock=clock)
    assert adaptive.limit == START_WORKERS == 4
    limits = run(adaptive, clock, 12)  # a server that is never the bottleneck
    assert limits[:2] == [8, 16]
    assert max(limits) == ADAPTIVE_MAX_WORKERS == adaptive.peak == 16


@pytest.mark.parametrize("capacity", [3, 5, 6])
def test_it_settles_where_more_requests_stop_bringing_more_answers(capacity):
    clock = FakeClock()
    adaptive = Concurrency(clock=clock)
    limits = run(adaptive, clock, 60, capacity=capacity)
    settled = limits[-20:]
    # at or past the server's capacity (full throughput), and short of twice it (latency
    # at most doubled), however the rounds went on the way
    assert all(capacity <= n <= 2 * capacity for n in settled), limits


def test_a_doubling_that_brings_no_more_answers_is_taken_halfway_back():
    clock = FakeClock()
    adaptive = Concurrency(clock=clock)
    assert run(adaptive, clock, 2, capacity=3) == [8, 6]  # 8 answered no faster than 4
    assert adaptive.history[-1] == ("throughput stopped improving", 6)


@pytest.mark.parametrize("status", [429, 500, 503, None], ids=["429", "500", "503", "no answer"])
def test_overload_halves_it(status):
    clock = FakeClock()
    adaptive = Concurrency(clock=clock)
    run(adaptive, clock, 3)
    assert adaptive.limit == 16
    run(adaptive, clock, 1, status=status)
    assert adaptive.limit == 8
    assert adaptive.history[-1] == ("429, 5xx or a failed connection", 8)
    run(adaptive, clock, 2, status=status)
    assert adaptive.limit == 2


def test_latency_rising_two_rounds_running_takes_a_quarter_off():
    clock = FakeClock()
    adaptive = Concurrency(clock=clock)
    run(adaptive, clock, 30, capacity=6)  # settled near 9 in flight
    before = adaptive.limit
    run(adaptive, clock, 1, capacity=6, base=0.2)  # one slow round: one request off
    assert adaptive.limit == before - 1
    run(adaptive, clock, 1, capacity=6, base=0.2)  # a second: a quarter off
    assert adaptive.limit == (before - 1) - (before - 1) // 4
    assert adaptive.history[-1][0] == "latency rising"


def test_a_network_that_became_slower_is_relearned_at_the_bottom():
    clock = FakeClock()
    adaptive = Concurrency(clock=clock)
    run(adaptive, clock, 30, capacity=6)
    limits = run(adaptive, clock, 80, capacity=6, base=0.2)  # ten times slower from now on
    assert min(limits) <= 2  # it backed off all the way...
    assert limits[-1] >= 6  # ...then learned the new latency and grew back


def test_it_does_not_grow_while_a_rate_limit_holds_requests_back():
    clock = FakeClock()
    adaptive = Concurrency(clock=clock)
    run(adaptive, clock, 10, held=True)
    assert adaptive.limit == START_WORKERS and adaptive.history == []


def test_never_more_requests_in_flight_than_the_limit():
    concurrency = Concurrency(3)
    inside, most, lock = 0, 0, threading.Lock()
    release = threading.Event()

    def work():
        nonlocal inside, most
        with concurrency.slot():
            with lock:
                inside += 1
                most = max(most, inside)
            release.wait(0.05)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 3 and concurrency.in_flight == 0
