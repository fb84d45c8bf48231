"""Docstring examples in fbtime/ run as doctests, against one sandbox per test session.

``pytest fbtime`` (and ``make test``, whose paths include fbtime/) collects every module's
examples. The calendar is fixed (:data:`FIXED_NOW`, :mod:`fbtime.clock`) for every test,
doctest and docs page. Each example sees ``fbtime``, ``pd``, ``sb`` (a running
:class:`fbtime.Sandbox` of 500 entries whose data ends on 2026-11-30), ``client`` (its
owner's :class:`fbtime.Client`) and ``df`` (``fbtime.load_time_entries(client, team=True)``,
loaded once before any example writes). Each example runs in a temporary directory with
fbtime's cache, config, keyring and journal locations pointed inside it and no
``FRESHBOOKS_*`` variable set, so nothing reaches the working tree, the user's home or a
real account.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest.doctest import DoctestItem, DoctestModule

from fbtime import clock
from fbtime.config import ENV_NOW

PACKAGE = Path(__file__).parent / "fbtime"
#: The data of the examples' sandbox ends here, so every figure they show is fixed.
DATA_END = dt.date(2026, 11, 30)
#: "Now" for every test, doctest and docs page (fbtime.clock): the day after DATA_END, so
#: a sandbox without ``end=`` makes the same data and the audit the same findings on any
#: date. Set in the environment too, for the notebooks' kernels and the example scripts.
FIXED_NOW = "2026-12-01T12:00:00Z"


def pytest_configure(config: pytest.Config) -> None:
    """Fix the calendar before anything is collected (in every xdist worker too)."""
    os.environ[ENV_NOW] = FIXED_NOW
    clock.fix(FIXED_NOW)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect the examples of every module of the package (``--doctest-modules`` does too)."""
    if (
        file_path.suffix == ".py"
        and PACKAGE in file_path.parents
        and file_path.name != "__main__.py"
        and not parent.config.getoption("doctestmodules")
    ):
        return DoctestModule.from_parent(parent, path=file_path)
    return None


@pytest.fixture(scope="session")
def doctest_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The names every example may use; the sandbox is started only if an example runs."""
    import matplotlib
    import pandas as pd

    import fbtime

    matplotlib.use("Agg")  # plot examples draw off screen
    cache = tmp_path_factory.mktemp("doctest-cache")
    with fbtime.Sandbox(entries=500, seed=1, end=DATA_END) as sb:
        client = sb.client(cache=cache)
        df = fbtime.load_time_entries(client, team=True, progress=False)
        yield {"fbtime": fbtime, "pd": pd, "sb": sb, "client": client, "df": df}


# the variables that would point an example at a real account or the user's own files
_OUTSIDE = (
    "FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_BUSINESS_ID", "FRESHBOOKS_API_URL",
    "FRESHBOOKS_CLIENT_ID", "FRESHBOOKS_CLIENT_SECRET", "FRESHBOOKS_REDIRECT_URI",
    "FBTIME_PROFILE",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _doctest_isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    """For a doctest: the namespace, a temporary cwd and private fbtime directories."""
    if not isinstance(request.node, DoctestItem):  # the test suite's own tests: untouched
        yield
        return
    tmp_path: Path = request.getfixturevalue("tmp_path")
    request.getfixturevalue("doctest_namespace").update(request.getfixturevalue("doctest_world"))
    saved = dict(os.environ)
    with pytest.MonkeyPatch.context() as mp:
        for name in _OUTSIDE:
            mp.delenv(name, raising=False)
        for name, sub in [
            ("FBTIME_CACHE_DIR", "cache"),
            ("FBTIME_CONFIG_DIR", "config"),
            ("XDG_DATA_HOME", "data"),  # journals: platformdirs' user data dir
            ("XDG_CACHE_HOME", "xdg-cache"),
            ("XDG_CONFIG_HOME", "xdg-config"),
        ]:
            mp.setenv(name, str(tmp_path / sub))
        mp.setenv("FBTIME_KEYRING", "0")  # never the user's keyring
        mp.chdir(tmp_path)
        yield
    # an example may set variables itself (as a user would); none outlives it
    os.environ.clear()
    os.environ.update(saved)
