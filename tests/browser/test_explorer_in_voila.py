"""Notebook 01 as a Voila app in headless chromium: every widget renders (no "model not
found" left by the load's progress bar), the client filter changes the table, and the
export is a real download (Voila refuses links into its file tree: 403 "not allowlisted")."""

from __future__ import annotations

import csv
import io
import re

import pytest

from browser.servers import ARTIFACTS

pytestmark = pytest.mark.browser  # `make check` leaves these out

TABLE = "table.fbtime-explorer-table"


def test_the_explorer_works_in_voila(voila, chromium, explored, tmp_path):
    context = chromium.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1600})
    page = context.new_page()
    try:
        page.goto(voila.url, timeout=90_000)
        table = page.locator(TABLE)
        table.wait_for(state="visible", timeout=90_000)
        page.wait_for_load_state("networkidle")
        # the page looks up each output's widget after the first ones render: a closed
        # one (the load's progress bar, once) shows its error a moment later
        page.wait_for_timeout(3_000)
        assert "Error displaying widget" not in page.content()
        assert table.locator("tbody tr").count() == explored["client_id"].nunique(dropna=False)

        name = explored["client_name"].value_counts().index[0]
        before = table.inner_text()
        page.locator(".fbtime-explorer .widget-select-multiple select").first.select_option(
            label=name
        )
        page.wait_for_function(
            "([sel, old]) => { const t = document.querySelector(sel);"
            " return t && t.innerText !== old; }",
            arg=[TABLE, before],
            timeout=30_000,
        )
        assert table.locator("tbody tr").count() == 1 and name in table.inner_text()
        page.locator(".fbtime-explorer button", has_text=re.compile(r"^\s*export CSV")).click()
        link = page.locator("a.fbtime-download[download$='.csv']")
        link.wait_for(timeout=60_000)
        with page.expect_download(timeout=30_000) as info:
            link.click()
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        headings = table.locator("thead th").evaluate_all(
            "cs => cs.map(c => c.innerText.replace(/\\u200b/g, '').replace(/\\s+/g, ' ').trim())"
        )
        shown = table.locator("tbody tr").first.evaluate(
            "r => Array.from(r.cells, c => c.innerText.trim())"
        )
        page.screenshot(path=str(ARTIFACTS / "voila-explorer.png"), full_page=True)
        # checked last: by now every output has had its widget looked up
        assert "Error displaying widget" not in page.content()
    finally:
        context.close()
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the names' accents
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    truth = explored.fbtime.for_client(name).fbtime.by_client()
    (row,) = rows[1:]
    assert int(row[0]) == int(truth.index[0]) and row[1] == name
    assert row[2] == str(truth["entries"].iloc[0]) and row[3] == f"{truth['hours'].iloc[0]:.2f}"
    # the file says what the panel shows: the same headings and cells, as Excel opens it
    assert rows[0] == ["client id", *headings], (rows[0], headings)
    # numbers without the panel's thousands separators: Excel reads them as numbers
    plain = [re.sub(r"(?<=\d),(?=\d{3})", "", cell) for cell in shown]
    assert row[1:] == plain, (row, shown)
