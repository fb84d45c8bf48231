"""Fixtures: a real sandbox whose names and notes are hostile (see :mod:`hostile`)."""

from __future__ import annotations

import pandas as pd
import pytest

import fbtime
from adversarial.hostile import plant


@pytest.fixture(scope="module")
def hostile_account():
    """A sandbox of this module's own whose names and notes are hostile (see the lists)."""
    with fbtime.Sandbox(entries=300, seed=3) as sb:
        yield plant(sb)


@pytest.fixture(scope="module")
def hostile_frame(hostile_account) -> pd.DataFrame:
    """The hostile account's entries with names; tests must not modify it."""
    return hostile_account.frame()
