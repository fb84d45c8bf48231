"""An apply stops when the API is unreachable, when cancelled, and on Ctrl-C.

In each case no new request starts, the ones in flight finish, the journal says where and
why it stopped, the rest is ``not_attempted``, and ``resume`` finishes the job with every
planned entry written exactly once. Request counts come from the servers themselves.
"""

import signal
import subprocess
import sys
import threading
import time

import pytest

import fbtime
from adversarial.hostile_api import Hostile, dead_url
from adversarial.tamper import child_env
from fbtime.bulk.apply import MAX_TRANSPORT_FAILURES
from fbtime.bulk.journal import read_state

K = MAX_TRANSPORT_FAILURES


def load(sb):
    return fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False)


@pytest.fixture
def sb(fresh_sandbox):
    return fresh_sandbox


@pytest.fixture
def plan(sb):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    return plan.select(plan.ids[:10])


def client_at(sb, url, **kw):
    return fbtime.Client(token=sb.token, business_id=sb.business_id, base_url=url,
                         cache=False, **kw)  # fmt: skip


def resumed_exactly_once(sb, journal, plan):
    """Resume against the real sandbox: every planned entry billed, each written once."""
    result = fbtime.resume(journal, sb.client(cache=False), progress=False)
    assert result.ok, result
    writes = sb.entry_writes()
    assert set(writes) == set(plan.ids) and set(writes.values()) == {1}
    assert sb.entries().set_index("id")["billed"].loc[plan.ids].all()
    return result


# -- unreachable ------------------------------------------------------------------------
def test_three_unreadable_answers_in_a_row_stop_the_run(sb, plan, tmp_path):
    with Hostile("unreadable") as api:
        client = client_at(sb, api.url, retries=1)
        with pytest.raises(fbtime.PartialApplyError, match="the API is unreachable") as info:
            plan.apply(client, confirm=True, journal=tmp_path, progress=False, workers=1)
        # each entry's GET was tried 1 + retries times; then nothing more was sent
        assert len(api.requests) == K * 2
        time.sleep(0.3)
        assert len(api.requests) == K * 2
    result = info.value.result
    assert result.counts["failed"] == K and result.counts["not_attempted"] == len(plan) - K
    assert result.ids("failed") == sorted(plan.ids[:K])
    assert result.stopped and "unreachable" in result.stopped
    message = str(info.value)
    assert str(result.journal_path) in message and "fbtime resume" in message
    assert f"fbtime.resume({str(result.journal_path)!r}, client)" in message  # the form that works
    state = read_state(info.value.journal_path)
    assert [s["cause"] for s in state.stops] == ["unreachable"]
    assert sb.writes() == 0
    resumed_exactly_once(sb, result.journal_path, plan)


def test_answers_that_never_come_stop_the_run(sb, plan, tmp_path):
    with Hostile("hang") as api:
        client = client_at(sb, api.url, retries=0, timeout=0.3)
        with pytest.raises(fbtime.PartialApplyError, match="no answer within") as info:
            plan.apply(client, confirm=True, journal=tmp_path, progress=False, workers=1)
        assert len(api.requests) == K
    assert info.value.result.counts["not_attempted"] == len(plan) - K
    resumed_exactly_once(sb, info.value.journal_path, plan)


def test_a_refused_connection_stops_the_run(sb, plan, tmp_path):
    client = client_at(sb, dead_url(), retries=0)
    with pytest.raises(fbtime.PartialApplyError, match="unreachable") as info:
        plan.apply(client, confirm=True, journal=tmp_path, progress=False, workers=1)
    counts = info.value.result.counts
    assert counts["failed"] == K and counts["not_attempted"] == len(plan) - K
    resumed_exactly_once(sb, info.value.journal_path, plan)


def test_with_many_workers_only_those_in_flight_finish(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:40])
    with Hostile("unreadable") as api:
        client = client_at(sb, api.url, retries=0)
        with pytest.raises(fbtime.PartialApplyError) as info:
            plan.apply(client, confirm=True, journal=tmp_path, progress=False, workers=4)
        sent = len(api.requests)
    assert K <= sent <= K + 4 - 1  # the K-th failure, plus the others then in flight
    counts = info.value.result.counts
    assert counts["failed"] == sent and counts["not_attempted"] == len(plan) - sent


def test_failures_with_answers_in_between_do_not_stop_the_run(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:9])
    failing = {plan.ids[i] for i in (0, 1, 3, 4, 6, 7)}  # never three in a row
    with Hostile("forward", upstream=sb.url, fail=failing) as api:
        result = plan.apply(
            client_at(sb, api.url, retries=0), confirm=True, journal=tmp_path,
            progress=False, workers=1,
        )  # fmt: skip
    assert result.stopped is None and not read_state(result.journal_path).stops
    assert result.ids("failed") == sorted(failing)
    assert result.ids("applied") == sorted(set(plan.ids) - failing)
    resumed_exactly_once(sb, result.journal_path, plan)


# -- cancel -----------------------------------------------------------------------------
def test_cancel_stops_within_the_requests_in_flight(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:24])
    sb.latency = 0.2
    sb.reset_stats()
    cancel, seen = threading.Event(), {}

    def press_cancel():
        while sb.stats()["PUT time_entry"] < 2:
            time.sleep(0.005)
        seen.update(sb.stats())
        cancel.set()

    threading.Thread(target=press_cancel, daemon=True).start()
    with pytest.raises(fbtime.PartialApplyError, match="cancelled") as info:
        plan.apply(sb.client(cache=False), confirm=True, journal=tmp_path, progress=False,
                   workers=2, cancel=cancel)  # fmt: skip
    after = sb.stats()
    assert sum(after.values()) <= sum(seen.values()) + 2  # at most one request per worker
    time.sleep(0.5)
    assert sb.stats() == after  # nothing runs on in the background
    result = info.value.result
    assert result.counts["not_attempted"] >= len(plan) - after["PUT time_entry"] - 2
    assert [s["cause"] for s in read_state(result.journal_path).stops] == ["cancelled"]
    sb.latency = 0
    resumed_exactly_once(sb, result.journal_path, plan)


def test_a_cancel_set_before_the_start_sends_nothing(sb, plan, tmp_path):
    cancel = threading.Event()
    cancel.set()
    sb.reset_stats()
    with pytest.raises(fbtime.PartialApplyError, match="cancelled") as info:
        plan.apply(sb.client(cache=False), confirm=True, journal=tmp_path, cancel=cancel)
    assert sum(sb.stats().values()) == 0
    assert info.value.result.counts["not_attempted"] == len(plan)


def test_partial_apply_error_declares_its_result():
    assert "result" in fbtime.PartialApplyError.__annotations__
    assert fbtime.PartialApplyError("x").result is None


# -- Ctrl-C in the CLI: a real process, a real SIGINT -------------------------------------
def start(sb, tmp_path, *argv):
    return subprocess.Popen(
        [sys.executable, "-m", "fbtime", *argv],
        env=child_env(sb, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def interrupt(child, sb, *, after_writes):
    """SIGINT ``child`` once the sandbox got ``after_writes`` more writes; return what the
    sandbox had counted by then, and the child's exit code and stderr."""
    target = sb.writes() + after_writes
    deadline = time.monotonic() + 60
    while sb.writes() < target and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert child.poll() is None, child.communicate()
    at = sum(sb.stats().values())
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    return at, child.returncode, err


def assert_stopped_cleanly(sb, at, code, err, journal):
    assert code == 130, err
    assert "fbtime resume" in err and str(journal) in err and "interrupted" in err
    assert "Traceback" not in err
    now = sum(sb.stats().values())
    assert now <= at + 4  # only the requests then in flight (4 workers)
    time.sleep(1.0)
    assert sum(sb.stats().values()) == now  # the count stopped growing
    state = read_state(journal)
    assert state.stops[-1]["cause"] == "interrupted" and state.finished


@pytest.mark.slow
def test_ctrl_c_stops_apply_and_resume_cleanly_and_resume_finishes(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:30])
    path = plan.save(tmp_path / "plan.json")
    journals = tmp_path / "journals"
    sb.latency = 0.3
    sb.reset_stats()
    child = start(sb, tmp_path, "apply", str(path), "--yes", "--journal-dir", str(journals))
    at, code, err = interrupt(child, sb, after_writes=2)
    journal = next(journals.glob("*.jsonl"))
    assert_stopped_cleanly(sb, at, code, err, journal)
    assert 2 <= sb.writes() < len(plan)

    child = start(sb, tmp_path, "resume", str(journal))  # interrupted again
    at, code, err = interrupt(child, sb, after_writes=2)
    assert_stopped_cleanly(sb, at, code, err, journal)
    assert sb.writes() < len(plan)

    sb.latency = 0
    resumed_exactly_once(sb, journal, plan)

    sb.latency = 0.3
    child = start(sb, tmp_path, "undo", str(journal), "--apply", "--yes",
                  "--journal-dir", str(tmp_path / "undo"))  # fmt: skip
    at, code, err = interrupt(child, sb, after_writes=2)
    undo_journal = next((tmp_path / "undo").glob("*.jsonl"))
    assert_stopped_cleanly(sb, at, code, err, undo_journal)
    sb.latency = 0
    assert fbtime.resume(undo_journal, sb.client(cache=False), progress=False).ok
    assert not sb.entries().set_index("id")["billed"].loc[plan.ids].any()
    assert set(sb.entry_writes().values()) == {2}  # billed once, unbilled once


@pytest.mark.slow
def test_ctrl_c_pressed_again_closes_the_journal_only_after_the_requests_in_flight(sb, tmp_path):
    """Ctrl-C mashed while an apply waits for its requests in flight: the journal's end line
    is never written before their outcomes, and the message does not claim they finished."""
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    plan = plan.select(plan.ids[:30])
    path = plan.save(tmp_path / "plan.json")
    journals = tmp_path / "journals"
    sb.latency = 0.5  # each request takes 0.5 s: the presses land while 4 are in flight
    child = start(sb, tmp_path, "apply", str(path), "--yes", "--journal-dir", str(journals))
    deadline = time.monotonic() + 60
    while sb.writes() < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    for _ in range(3):
        child.send_signal(signal.SIGINT)
        time.sleep(0.05)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert "still in flight" in err and "fbtime resume" in err
    sb.wait_idle()
    journal = next(journals.glob("*.jsonl"))
    state = read_state(journal)  # no outcome after an end line: resume and undo accept it
    assert state.stops[-1]["cause"] == "interrupted"
    assert "finished" not in state.stops[-1]["reason"]
    sb.latency = 0
    resumed_exactly_once(sb, journal, plan)


@pytest.mark.slow
def test_ctrl_c_stops_mark_billed_apply_cleanly(sb, tmp_path):
    journals = tmp_path / "journals"
    sb.latency = 0.3
    child = start(sb, tmp_path, "mark-billed", "--team", "--apply", "--yes",
                  "--journal-dir", str(journals))  # fmt: skip
    at, code, err = interrupt(child, sb, after_writes=2)
    journal = next(journals.glob("*.jsonl"))
    assert_stopped_cleanly(sb, at, code, err, journal)
    plan = read_state(journal).plan
    assert sb.writes() < len(plan) / 4
    sb.latency = 0
    resumed_exactly_once(sb, journal, plan)
