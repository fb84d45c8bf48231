"""A process applying invoices is killed (SIGKILL: no cleanup, no last journal line) at three
points; ``fbtime.resume`` then ends with one draft per client and every entry billed once.

The apply runs in a child process against the test's sandbox; the test watches the
sandbox (its counters, its held answer) to kill the child at the chosen moment.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import fbtime
from fbtime.bulk.invoice_journal import read_invoice_journal
from tests.integration.invoicing import END, assert_billed_once, plan_for

CHILD = Path(__file__).with_name("invoicing.py")


@pytest.fixture
def sb():
    with fbtime.Sandbox(entries=150, seed=1, end=END) as sandbox:
        yield sandbox


def run_and_kill(sb, tmp_path: Path, until: Callable[[], bool]) -> tuple[Path, Path]:
    """Apply the sandbox's plan in a child process; SIGKILL it once ``until()`` holds."""
    plan_path = plan_for(sb).save(tmp_path / "plan.json")
    journals = tmp_path / "journals"
    sb.reset_stats()
    child = subprocess.Popen(
        [sys.executable, str(CHILD), sb.url, sb.token, str(sb.business_id), str(plan_path),
         str(journals)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not until():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the child never got there"
            time.sleep(0.005)
        child.kill()
    finally:
        child.wait(30)
    assert child.returncode == -9
    (journal,) = journals.glob("*-invoice-*.jsonl")
    return plan_path, journal


def finish(sb, plan_path: Path, journal: Path) -> fbtime.InvoiceResult:
    sb.latency = 0.0
    sb.wait_idle()
    result = fbtime.resume(journal, sb.client(cache=False))
    assert result.ok, result
    plan = fbtime.InvoicePlan.load(plan_path)
    assert_billed_once(sb, plan)
    assert max(sb.entry_writes().values()) == 1  # each entry marked billed once
    assert sb.stats()["POST invoices"] == len(plan)  # never a second create
    return result


def test_killed_before_any_post(sb, tmp_path):
    sb.latency = 0.2
    plan_path, journal = run_and_kill(sb, tmp_path, lambda: sb.stats()["GET clients"] >= 1)
    assert sb.invoices() == []
    finish(sb, plan_path, journal)


def test_killed_while_the_created_draft_answer_is_on_its_way(sb, tmp_path):
    hold = threading.Event()
    sb.invoice_faults.hold = hold
    plan_path, journal = run_and_kill(sb, tmp_path, sb.invoice_faults.holding.is_set)
    sb.invoice_faults.hold = None
    hold.set()
    sb.wait_idle()
    state = read_invoice_journal(journal)
    assert len(state.intents) == 1 and not state.outcomes and len(sb.invoices()) == 1
    result = finish(sb, plan_path, journal)
    assert result.counts["adopted"] == 1


def test_killed_while_marking_entries_billed(sb, tmp_path):
    sb.latency = 0.02
    plan_path, journal = run_and_kill(sb, tmp_path, lambda: sb.stats()["PUT time_entry"] >= 3)
    made = len(sb.invoices())
    assert made >= 1
    result = finish(sb, plan_path, journal)
    assert result.counts["created"] == len(result.invoices)
