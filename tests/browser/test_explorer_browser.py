"""Notebook 01 in a real browser: Voila renders it, headless Chromium changes the explorer.

Needs Debian's ``chromium`` (never a downloaded browser) and the ``browser`` extra
(``pip install -e '.[dev,browser]'``); ``.ci/run`` installs both. Without them the test
is skipped with the reason, unless FBTIME_REQUIRE_BROWSER=1 (set by CI) makes it fail.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "01-explore.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TABLE = "table.fbtime-explorer-table"


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    for module in ("playwright", "voila"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is missing (pip install -e '.[dev,browser]')"
    return None


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory):
    reason = _missing()
    if reason:
        if os.environ.get("FBTIME_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the browser test must run here: {reason}")
        pytest.skip(reason)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    work = tmp_path_factory.mktemp("voila")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRESHBOOKS_")}
    env["FBTIME_CACHE_DIR"] = str(work / "cache")
    log = (work / "voila.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "voila", str(NOTEBOOK), "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", "--Voila.tornado_settings={'autoreload': False}"],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:  # listening is enough: the page itself runs the notebook when loaded
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"voila did not start: {(work / 'voila.log').read_text()}"
                    ) from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_client_filter_changes_the_rendered_table(voila_url):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(voila_url, timeout=60_000)
            table = page.locator(TABLE)
            table.wait_for(state="visible", timeout=45_000)
            before = table.inner_text()
            rows_before = table.locator("tbody tr").count()
            assert rows_before > 2  # one row per client

            clients = page.locator(".widget-select-multiple select").first
            labels = [t.strip() for t in clients.locator("option").all_inner_texts()]
            label = next(t for t in labels if not t.startswith("<"))  # a named client
            clients.select_option(label=label)
            page.wait_for_function(
                "([sel, old]) => { const t = document.querySelector(sel);"
                " return t && t.innerText !== old; }",
                arg=[TABLE, before],
                timeout=20_000,
            )
            after = page.locator(TABLE)
            assert after.locator("tbody tr").count() == 1
            assert label.replace("\xa0", " ") in after.inner_text()  # options use nbsp
            after.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "explorer-browser.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "explorer-browser.png").stat().st_size > 10_000
