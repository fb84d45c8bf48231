"""The shared pacer keeps to its rate and holds everyone during a Retry-After."""

from fbtime.api.ratelimit import RateLimiter


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
