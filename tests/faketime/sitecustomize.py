"""Loaded by every Python process of ``make test-dates`` (PYTHONPATH), never otherwise.

libfaketime 0.9.10 moves the calendar but, told to leave the monotonic clock alone
(``FAKETIME_DONT_FAKE_MONOTONIC=1``, or a thread's timed wait never returns), still
shifts the absolute deadline of ``clock_nanosleep``, so ``time.sleep`` fails with EINVAL.
Sleep with ``select`` instead: a relative timeout, which libfaketime leaves as it is.
"""

import select
import time


def _sleep(seconds: float) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        select.select([], [], [], left)


time.sleep = _sleep
