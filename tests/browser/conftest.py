"""Fixtures of the browser tests: one JupyterLab server and one chromium per session, Voila
per module, and the frame notebook 01 builds (see :mod:`browser.servers`)."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator

import pandas as pd
import pytest

import fbtime
from browser.servers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    Server,
    copy_notebooks,
    free_port,
    require_browser,
    start,
)


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory) -> Iterator[Server]:
    """One JupyterLab 4 server for the session, serving a copy of the notebooks."""
    require_browser()
    work = tmp_path_factory.mktemp("jupyterlab")
    folder = copy_notebooks(work)
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", "--allow-root",
        "--LabApp.extension_manager=readonly",
        f"--ServerApp.root_dir={folder}", "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=", "--ServerApp.terminals_enabled=False",
    ]  # fmt: skip
    server = start(command, work, f"http://127.0.0.1:{port}/api/status?token={token}", token=token)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def voila(tmp_path_factory) -> Iterator[Server]:
    """Voila serving a copy of notebook 01 as an app."""
    require_browser()
    work = tmp_path_factory.mktemp("voila")
    folder = copy_notebooks(work)
    port = free_port()
    command = [
        sys.executable, "-m", "voila", str(folder / "01-explore.ipynb"), "--no-browser",
        f"--port={port}", "--Voila.ip=127.0.0.1",
        "--Voila.tornado_settings={'autoreload': False}",
    ]  # fmt: skip
    server = start(command, work, f"http://127.0.0.1:{port}/")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Debian's chromium, headless, started once for the session."""
    require_browser()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def explored() -> pd.DataFrame:
    """The frame notebook 01 builds, built here from the same seeded sandbox: the truth
    every download is compared with (plain pandas, not the explorer's code)."""
    with fbtime.Sandbox(entries=2500, seed=1) as sb:
        client = sb.client(cache=False)
        since = pd.Timestamp(fbtime.clock.today(), tz="UTC") - pd.DateOffset(years=1)
        df = fbtime.load_time_entries(client, team=True, started_from=since, progress=False)
        return df.fbtime.with_names(
            clients=fbtime.load_clients(client),
            projects=fbtime.load_projects(client),
            team=fbtime.load_team(client),
        )
