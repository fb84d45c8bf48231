"""A new user's first hour, in JupyterLab 4 and headless chromium: the three notebooks.

Every cell of every notebook runs; every explorer control is changed and what the panel
says is compared with plain pandas on the same seeded data; the export is downloaded (a
real browser download) and compared with the frame; in notebook 03 two rows are unticked
and the review widget applies the rest, then the rest of the notebook runs to its end;
then Run All, after which the panel shows the code cell's apply and offers no Apply.
One test, so one worker drives the one JupyterLab server; a screenshot per step lands in
``test-artifacts/browser/``.
"""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from browser.servers import ARTIFACTS, Server
from fbtime import analysis

pytestmark = pytest.mark.browser  # `make check` leaves these out

NOTEBOOK = "window.jupyterapp.shell.currentWidget"
# JupyterLab sets window.jupyterapp only once it has booted: until then, not ready
KERNEL_IDLE = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell
        && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session
        && w.sessionContext.session.kernel;
    return !!(w && w.content && w.context.isReady && k && k.status === 'idle');
}"""
CELLS = f"""() => {NOTEBOOK}.content.widgets.map(c => ({{
    id: c.model.id, type: c.model.type,
    count: c.model.type === 'code' ? c.model.executionCount : null,
    outputs: c.model.type === 'code' ? c.model.outputs.toJSON() : [],
}}))"""
RUN = f"""([command, index]) => {{
    if (index !== null) {{ {NOTEBOOK}.content.activeCellIndex = index; }}
    return window.jupyterapp.commands.execute(command);
}}"""
KERNEL_RUN = f"""(code) => {NOTEBOOK}.sessionContext.session.kernel
    .requestExecute({{code, store_history: false}}).done.then(m => m.content.status)"""
BOM = "\ufeff"


# -- driving JupyterLab -------------------------------------------------------------------
def kernel(page: Any, code: str) -> str:
    """Run ``code`` in the notebook's kernel (as a colleague's edit would happen)."""
    return page.evaluate(KERNEL_RUN, code)


def open_notebook(page: Any, lab: Server, name: str) -> None:
    page.goto(f"{lab.url}lab/tree/{name}.ipynb?reset&token={lab.token}", timeout=90_000)
    page.wait_for_function(KERNEL_IDLE, timeout=90_000, polling=250)


def cells(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(CELLS)


def index_of(page: Any, cell_id: str) -> int:
    return next(i for i, c in enumerate(cells(page)) if c["id"] == cell_id)


def run(page: Any, command: str, index: int | None = None) -> None:
    """Run a notebook command (it resolves once its cells ran) and wait for the kernel."""
    page.evaluate(RUN, [command, index])
    page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=250)


def no_errors(page: Any, name: str, upto: int | None = None) -> list[dict[str, Any]]:
    """Every code cell (up to index ``upto``) ran and none raised; returns the cells."""
    found = cells(page)
    code = [c for c in found[: None if upto is None else upto + 1] if c["type"] == "code"]
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert errors == [], f"{name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    assert all(c["count"] is not None for c in code), f"{name}: a cell did not run"
    assert "Error displaying widget" not in page.locator(".jp-Notebook").inner_text()
    return found


def text_of(cell: dict[str, Any]) -> str:
    parts = []
    for out in cell["outputs"]:
        if out["output_type"] == "stream":
            parts.append("".join(out["text"]))
        elif "text/plain" in out.get("data", {}):
            parts.append("".join(out["data"]["text/plain"]))
    return "".join(parts)


def shot(target: Any, name: str) -> None:
    target.screenshot(path=str(ARTIFACTS / f"{name}.png"))


# -- the explorer's controls, as ipywidgets draws them --------------------------------------
def labelled(root: Any, kind: str, label: str) -> Any:
    exact = re.compile(rf"^\s*{re.escape(label)}\s*$")
    return root.locator(f".widget-{kind}", has=root.page.locator(".widget-label", has_text=exact))


def toggle(root: Any, label: str, choice: str) -> Any:
    button = re.compile(rf"^\s*{re.escape(choice)}\s*$")
    return labelled(root, "toggle-buttons", label).locator("button", has_text=button)


def button(root: Any, text: str) -> Any:
    return root.locator("button", has_text=re.compile(rf"^\s*{re.escape(text)}\s*$"))


def status(root: Any) -> str:
    return root.locator(".widget-html-content").first.inner_text()


def entries(root: Any) -> int:
    return int(re.match(r"([\d,]+) entries", status(root)).group(1).replace(",", ""))


def table(root: Any) -> str:
    """The table's text (headings without their wrap points)."""
    return root.locator("table.fbtime-explorer-table").inner_text().replace("\u200b", "")


MARK = """() => {
    const t = document.querySelector('.fbtime-explorer table.fbtime-explorer-table');
    if (t) { t.dataset.seen = '1'; }
}"""
REDRAWN = """() => {
    const t = document.querySelector('.fbtime-explorer table.fbtime-explorer-table');
    return !t || t.dataset.seen !== '1';
}"""


def settle(root: Any, action: Any, *, redraws: bool = True) -> None:
    """Do ``action`` and wait until the panel has drawn a new table.

    A change that leaves the table as it was draws nothing new (``redraws=False``): then
    wait out the debounce and the kernel's work.
    """
    root.page.evaluate(MARK)
    action()
    if redraws:
        root.page.wait_for_function(REDRAWN, timeout=30_000, polling=100)
    else:
        time.sleep(1.0)
        root.page.wait_for_function(KERNEL_IDLE, timeout=30_000, polling=100)
    time.sleep(0.2)  # the status line and chart land in the same update as the table


def download(page: Any, root: Any, label: str, folder: Path) -> Path:
    suffix = "xlsx" if "Excel" in label else "csv"
    button(root, label).click()
    link = root.locator(f"a.fbtime-download[download$='.{suffix}']")
    link.wait_for(timeout=60_000)
    with page.expect_download(timeout=30_000) as info:
        link.click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


# -- the three notebooks --------------------------------------------------------------------
def explore_01(page: Any, lab: Server, truth: pd.DataFrame, folder: Path) -> None:
    open_notebook(page, lab, "01-explore")
    run(page, "notebook:run-all-cells")
    found = no_errors(page, "01-explore")
    described = text_of(next(c for c in found if c["id"] == "01-03"))
    assert f"df.fbtime: {len(truth):,} time entries of business" in described
    shot(page, "01-after-run-all")
    page.locator(".jp-Cell").nth(index_of(page, "01-12")).screenshot(
        path=str(ARTIFACTS / "01-chart-grid.png")
    )
    root = page.locator(".fbtime-explorer")
    root.scroll_into_view_if_needed()
    assert entries(root) == len(truth)
    tz = analysis.resolve_tz(truth)
    day = analysis.local_day(truth, tz)

    # dates: local days in the business's zone
    middle = day.sort_values().iloc[len(day) // 2]
    start_box = labelled(root, "datepicker", "from").locator("input")
    settle(root, lambda: start_box.fill(f"{middle:%Y-%m-%d}"))
    assert entries(root) == int((day >= middle).sum())
    end_box = labelled(root, "datepicker", "to").locator("input")
    last = middle + pd.Timedelta(days=30)
    settle(root, lambda: end_box.fill(f"{last:%Y-%m-%d}"))
    assert entries(root) == int(((day >= middle) & (day <= last)).sum())
    shot(root, "01-explorer-dates")
    settle(root, lambda: button(root, "reset").click())
    assert entries(root) == len(truth)

    # a client: the projects narrow to its own; then a project, a teammate, the flags
    top = truth["client_name"].value_counts().index[0]
    clients, projects = root.locator(".widget-select-multiple select").all()
    settle(root, lambda: clients.select_option(label=top))
    mine = truth[truth["client_name"] == top]
    assert entries(root) == len(mine)
    # option labels use no-break spaces; a name two projects share gets " (#id)"
    offered = [t.replace("\xa0", " ").strip() for t in projects.locator("option").all_inner_texts()]
    names = mine.groupby("project_id")["project_name"].first()
    assert sorted(re.sub(r" \(#\d+\)$", "", t) for t in offered) == sorted(names)
    assert len(offered) == mine["project_id"].nunique()
    settle(root, lambda: projects.select_option(index=0))
    repeated = re.search(r"\(#(\d+)\)$", offered[0])
    if repeated:
        mine = mine[mine["project_id"] == int(repeated.group(1))]
    else:
        mine = mine[mine["project_name"] == offered[0]]
    assert entries(root) == len(mine)
    person = mine["teammate_name"].value_counts().index[0]
    teammate = labelled(root, "dropdown", "teammate").locator("select")
    settle(root, lambda: teammate.select_option(label=person))
    mine = mine[mine["teammate_name"] == person]
    assert entries(root) == len(mine)
    # (this client's projects are all billable: the table stays as it is)
    same = bool(mine["billable"].all())
    settle(root, lambda: toggle(root, "billable", "Yes").click(), redraws=not same)
    settle(root, lambda: toggle(root, "billed", "No").click())
    mine = mine.fbtime.unbilled()
    assert entries(root) == len(mine) > 0
    shot(root, "01-explorer-filters")
    for group in ("project", "teammate", "week", "entries"):
        settle(root, lambda group=group: toggle(root, "group by", group).click())
    assert f"start ({tz})" in table(root) and "started at (UTC)" in table(root)
    settle(root, lambda: button(root, "reset").click())
    assert entries(root) == len(truth) and toggle(root, "group by", "client").count() == 1

    # the entries view: sorted, paged, the notes wrapped inside the output
    settle(root, lambda: toggle(root, "group by", "entries").click())
    sort_by = labelled(root, "dropdown", "sort by").locator("select")
    settle(root, lambda: sort_by.select_option(label="hours"))
    settle(
        root,
        lambda: root.locator(".widget-checkbox", has_text="descending").locator("input").check(),
    )
    first = root.locator("table.fbtime-explorer-table tbody tr").first.inner_text()
    assert f"{truth['hours'].max():.2f}" in first
    rows = labelled(root, "dropdown", "rows").locator("select")
    settle(root, lambda: rows.select_option(label="25"))
    settle(root, lambda: button(root, "▶").click())
    assert f"rows 26–50 of {len(truth):,}" in root.inner_text()
    width = page.evaluate(
        "() => { const t = document.querySelector('table.fbtime-explorer-table');"
        " return [t.scrollWidth, t.closest('.jp-OutputArea').clientWidth]; }"
    )
    assert width[0] <= width[1], f"the table is wider than the output: {width}"
    shot(root, "01-explorer-entries")
    settle(root, lambda: button(root, "unbilled only").click())
    assert entries(root) == len(truth.fbtime.unbilled())
    settle(root, lambda: button(root, "reset").click())

    # the download: one teammate's entries, every row, as shown, in display units
    settle(root, lambda: toggle(root, "group by", "entries").click())
    settle(root, lambda: teammate.select_option(label=person))
    saved = download(page, root, "export CSV", folder)
    shot(root, "01-explorer-download")
    text = saved.read_text(encoding="utf-8")
    assert text.startswith(BOM) and saved.suffix == ".csv"
    got = list(csv.reader(io.StringIO(text[1:], newline="")))
    expected = truth[truth["teammate_name"] == person].sort_values("started_at", ascending=False)
    assert got[0][:2] == ["id", f"start ({tz})"] and got[0][-1] == "started at (UTC)"
    assert [int(r[0]) for r in got[1:]] == expected.index.tolist()
    local = expected["started_at"].dt.tz_convert(tz).dt.strftime("%Y-%m-%d %H:%M")
    assert [r[1] for r in got[1:]] == local.tolist()
    hours = got[0].index("hours")
    # the file says what the panel says, cell for cell (its first page), and its hours
    # add up to the total in the panel's status line (largest-remainder rounding)
    panel = root.locator("table.fbtime-explorer-table tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    for shown, row in zip(panel, got[1:], strict=False):
        assert [shown[0], shown[1], shown[hours]] == [row[0], row[1], row[hours]]
    total = re.search(r"entries, ([\d,]+\.\d\d) h", status(root)).group(1)
    assert f"{sum(float(r[hours]) for r in got[1:] if r[hours]):,.2f}" == total
    for h, row in zip(expected["hours"], got[1:], strict=True):
        assert abs(float(row[hours]) - h) < 0.0101  # each within a cent of the exact hours
    client = got[0].index("client")
    assert [r[client] for r in got[1:]] == expected["client_name"].fillna("<no client>").tolist()
    book = openpyxl.load_workbook(download(page, root, "export Excel", folder))
    assert len(list(book.active.values)) == len(expected) + 1


def audit_02(page: Any, lab: Server) -> None:
    open_notebook(page, lab, "02-billing-audit")
    run(page, "notebook:run-all-cells")
    no_errors(page, "02-billing-audit")
    shot(page, "02-after-run-all")
    assert (lab.folder / "audit-output" / "findings.csv").exists()


def cleanup_03(page: Any, lab: Server) -> None:
    open_notebook(page, lab, "03-bulk-cleanup")
    review_at = index_of(page, "03-07")
    run(page, "notebook:run-all-above", review_at + 1)  # up to the review widget
    by_id_above = {c["id"]: c for c in no_errors(page, "03-bulk-cleanup", upto=review_at)}
    review = page.locator(".jp-Cell").nth(review_at)
    review.scroll_into_view_if_needed()
    boxes = review.locator(".widget-checkbox input")
    total = int(re.search(r"Will change (\d+) entries", review.inner_text()).group(1))
    totals = review.locator(".widget-html-content", has_text="Will change").first
    money = re.search(r"h, \d+ clients, ([\d,]+\.\d\d) CAD", totals.inner_text())
    assert money, totals.inner_text()  # the money at stake, in the business's currency
    exact = re.search(r"'CAD': Decimal\('([\d.]+)'\)", text_of(by_id_above["03-04"])).group(1)
    assert money.group(1) == f"{float(exact):,.2f}"  # plan.totals()' exact amount, shown
    assert "without an amount" in totals.inner_text()  # and how many have none, and why
    subtotals = review.locator(".fbtime-subtotals")
    assert "by client" in subtotals.inner_text() and "by teammate" in subtotals.inner_text()
    boxes.nth(0).uncheck()
    boxes.nth(2).uncheck()
    review.get_by_text(f"Will change {total - 2} entries").wait_for(timeout=10_000)
    shot(review, "03-review-unticked")
    button(review, "Apply…").click()
    review.get_by_text(f"Apply {total - 2} changes?").wait_for(timeout=10_000)
    # a colleague edits a ticked entry meanwhile: the apply leaves it alone, itemised
    assert kernel(page, "sandbox.update_entry(plan.ids[1], note='edited meanwhile')") == "ok"
    button(review, "Confirm").click()
    review.get_by_text("Done:").wait_for(timeout=120_000)
    assert f"{total - 3} applied, 1 conflict" in review.inner_text()
    trouble = review.locator("table.fbtime-trouble")
    assert "1 entry needs a look" in review.inner_text()
    assert "changed on the server since the plan: note" in trouble.inner_text()
    assert button(review, "Apply…").is_disabled()  # no second Apply: plan them again
    shot(review, "03-review-applied")
    button(review, "Plan these again").click()
    again = review.locator(".fbtime-review .fbtime-review")
    again.get_by_text("Will change 1 entries").wait_for(timeout=30_000)
    assert "edited meanwhile" in again.inner_text()  # as the server holds it now
    shot(review, "03-review-planned-again")

    run(page, "notebook:run-all-below", review_at + 1)  # the rest, as its text says
    found = no_errors(page, "03-bulk-cleanup")
    by_id = {c["id"]: c for c in found}
    assert "the review widget applied these changes" in text_of(by_id["03-09"])
    checked = text_of(by_id["03-11"])
    assert f"billed now: {total - 3} entries" in checked  # the conflict is not billed
    assert len(re.search(r"left out: \[(.*)\]", checked).group(1).split(",")) == 3
    assert f"'applied': {total - 3}" in text_of(by_id["03-15"])  # the widget's apply undone
    shot(page, "03-after-undo")
    assert len(list((lab.folder / "journals").glob("*.jsonl"))) == 2

    # Run All (a new sandbox and plan): the code cell applies, and the panel above it then
    # shows that result (the same counts) and no Apply, which could only be refused
    run(page, "notebook:run-all-cells")
    by_id = {c["id"]: c for c in no_errors(page, "03-bulk-cleanup")}
    counts = re.search(r"ApplyResult \S+: (.+)", text_of(by_id["03-09"])).group(1)
    review = page.locator(".jp-Cell").nth(review_at)
    review.scroll_into_view_if_needed()
    shown = review.locator(".fbtime-review").first.inner_text()
    assert "applied in code or in another panel" in shown, shown
    assert f"Done: {counts}; journal" in shown and " applied" in counts
    assert button(review, "Apply…").first.is_hidden()
    assert all(box.is_disabled() for box in review.locator(".widget-checkbox input").all())
    shot(review, "03-review-after-run-all")
    assert len(list((lab.folder / "journals").glob("*.jsonl"))) == 4  # its apply and undo


def test_a_new_user_runs_the_three_notebooks_in_jupyterlab(
    jupyterlab, chromium, explored, tmp_path
):
    context = chromium.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        explore_01(page, jupyterlab, explored, tmp_path)
        audit_02(page, jupyterlab)
        cleanup_03(page, jupyterlab)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "failure.png"))
        raise
    finally:
        context.close()
