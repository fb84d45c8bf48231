"""The shared pacer keeps to its rate, to the window a server publishes, and holds everyone
during a Retry-After."""

import threading
import time

import pytest

from fbtime.api.ratelimit import RateLimiter, published_window
from fbtime.errors import RateLimitError


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_token_bucket_keeps_to_the_rate():
    clock = FakeClock()
    limiter = RateLimiter(10, burst=1, clock=clock, sleep=clock.sleep)
    for _ in range(51):
        limiter.acquire()
    assert 4.9 <= clock.now <= 5.1


def test_a_pause_holds_the_next_request():
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    limiter.pause(3)
    limiter.acquire()
    assert clock.now == 3 and limiter.pauses == 1


class FakeWall(FakeClock):
    """A clock whose time is also the wall clock (epoch seconds), for published windows."""

    def __init__(self, start: float = 1_800_000_000.5):
        self.now = start


def window(limit, remaining, reset):
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }


def test_requests_in_flight_count_against_the_published_remaining():
    clock = FakeWall()
    limiter = RateLimiter(clock=clock, wall=clock, sleep=clock.sleep)
    end = 1_800_000_001  # the window ends half a second from now
    limiter.release(limiter.acquire(), window(10, 6, end))  # 6 left after this answer
    started = clock.now
    flying = [limiter.acquire() for _ in range(6)]  # room for exactly six, none answered yet
    assert clock.now == started and limiter.in_flight == 6 and limiter.held == 0
    probe = limiter.acquire()  # the seventh waits for the window to end, then goes alone
    assert clock.now == end and probe.held and probe.probe
    for grant in flying:
        limiter.release(grant, window(10, 0, end))  # late answers of the old window
    limiter.release(probe, window(10, 9, end + 1))  # the new window: 9 left
    assert limiter.window.reset == end + 1 and limiter.window.remaining == 9
    for _ in range(9):
        limiter.acquire()
    assert clock.now == end  # nine more at once, no waiting


def test_the_next_window_is_probed_by_one_request_only():
    limiter = RateLimiter()  # real clocks and threads: the others wait for the probe's answer
    over = int(time.time()) - 1  # the window we heard of is already over
    limiter.release(limiter.acquire(), window(5, 0, over))
    probe = limiter.acquire()
    assert probe.probe
    granted: list = []
    other = threading.Thread(target=lambda: granted.append(limiter.acquire()))
    other.start()
    other.join(timeout=0.3)
    assert other.is_alive() and not granted  # held while the probe is out
    limiter.release(probe, window(5, 4, int(time.time()) + 30))  # room in the new window
    other.join(timeout=5)
    assert granted and not granted[0].probe


def test_a_server_clock_behind_ours_makes_the_next_probe_wait_longer():
    clock = FakeWall()
    limiter = RateLimiter(clock=clock, wall=clock, sleep=clock.sleep)
    end = 1_800_000_001
    limiter.release(limiter.acquire(), window(5, 0, end))
    probe = limiter.acquire()  # sent when our clock says the window is over...
    clock.now += 0.2
    limiter.release(probe, window(5, 0, end))  # ...yet the server still counted it in it
    following = limiter.acquire()
    assert following.probe and clock.now >= end + 0.2


def test_a_window_reopening_after_max_wait_raises_with_nothing_sent():
    clock = FakeWall()
    limiter = RateLimiter(max_wait=60, clock=clock, wall=clock, sleep=clock.sleep)
    limiter.release(limiter.acquire(), window(100, 0, clock.now + 3600))
    with pytest.raises(RateLimitError, match="reopens in 3600 s"):
        limiter.acquire()
    assert limiter.granted == 1 and clock.now == 1_800_000_000.5


def test_a_reset_in_seconds_from_now_is_read_as_such():
    clock = FakeWall()
    limiter = RateLimiter(clock=clock, wall=clock, sleep=clock.sleep)
    limiter.release(limiter.acquire(), window(3, 0, 2))  # "2": seconds, not 1970
    limiter.acquire()
    assert clock.now == 1_800_000_002.5


@pytest.mark.parametrize(
    "headers",
    [
        {},
        window(0, 0, 1),
        window(10, -1, 1),
        window(10, "1.5", 1),
        window(10, 5, "nan"),
        window(10, 5, "-3"),
        {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "5"},
    ],
)
def test_headers_that_are_missing_or_make_no_sense_publish_nothing(headers):
    assert published_window(headers, 0.0, 1_800_000_000.0) is None


def test_remaining_above_the_limit_is_read_as_the_limit():
    assert published_window(window(10, 50, 1_800_000_001), 0.0, 1_800_000_000.0)[1] == 10


def test_one_far_off_reset_does_not_block_the_client_for_good():
    # one answer said "Remaining: 0, reset in an hour" (a glitch, or another window's):
    # the calls then in flight are refused at once, but a later call asks the server again
    clock = FakeWall()
    limiter = RateLimiter(clock=clock, wall=clock, sleep=clock.sleep, max_wait=60)
    limiter.release(limiter.acquire(), window(600, 0, clock.now + 3600))
    for _ in range(3):  # the workers of the same load
        with pytest.raises(RateLimitError, match="reopens in 3600 s"):
            limiter.acquire()
    clock.now += 5  # the user tries again a few seconds later
    probe = limiter.acquire()
    assert probe.probe and limiter.granted == 2  # one request goes out alone
    limiter.release(probe, window(600, 599, clock.now + 40))  # the server's real window
    limiter.release(limiter.acquire(), window(600, 598, clock.now + 40))
    assert limiter.granted == 3 and limiter.window.remaining == 598
