"""The notebooks run top to bottom against a sandbox, and are stored without outputs.

Notebook 03 is run the two ways its text offers: applying with the review widget first
(its buttons clicked in the kernel, as a person would), and applying in code (Run All),
after which the widget shows the code's result and offers no Apply. Either way it runs to
its end, and the undo cell undoes the apply. After every run, each widget an output shows
is still alive in the kernel, so Voila or a reopened notebook never shows "Error displaying
widget: model not found".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

import fbtime

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ("01-explore", "02-billing-audit", "03-bulk-cleanup", "04-invoice")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: The last cell of every run: the widget models the kernel still holds.
LIVE_WIDGETS = """
import json, comm
print(json.dumps(sorted(comm.get_comm_manager().comms)))
"""
#: Clicked in the kernel after the review cell: untick entry 3, Apply..., Confirm, wait.
WIDGET_APPLIES = """
review.checkboxes[3].value = False
review.apply_button.click()
review.confirm_button.click()
review.wait(120)
assert review.result is not None and review.result.ok, review.result_html.value
"""
#: Checked after the code cell applied: the widget shows that result, and offers no Apply.
WIDGET_SHOWS_THE_CODE = """
from fbtime.bulk.views import counts_line
from fbtime.text import for_html
assert review.result is result and review.followed == result.journal_path
assert review.apply_button.disabled and review.apply_button.layout.display == "none"
assert all(box.disabled for box in review.checkboxes)
assert f"<b>Done:</b> {for_html(counts_line(result))}" in review.result_html.value
print("the widget shows", counts_line(result))
"""


def test_the_four_notebooks_are_there():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs; clear them"
            assert cell.execution_count is None, f"{path.name}: a cell has an execution count"


@pytest.fixture
def kernel_manager(tmp_path) -> KernelManager:
    """A kernel of this very interpreter, whatever kernelspecs the machine has installed."""
    spec_dir = tmp_path / "kernels" / "fbtime-test"
    spec_dir.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "fbtime test", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    specs = KernelSpecManager(kernel_dirs=[str(spec_dir.parent)])
    return KernelManager(kernel_name="fbtime-test", kernel_spec_manager=specs)


@pytest.fixture
def run(tmp_path, monkeypatch, kernel_manager):
    """Run a notebook (with cells inserted after given cell ids) in a temp dir; return it."""
    # always the sandbox: a developer's real credentials must not be used by the suite
    for var in ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_BUSINESS_ID", "FBTIME_ALLOW_WRITES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    folder = tmp_path / "run"
    folder.mkdir()

    def execute(name: str, after: dict[str, str] | None = None) -> nbformat.NotebookNode:
        book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        cells = []
        for cell in book.cells:
            cells.append(cell)
            if after and cell.get("id") in after:
                cells.append(nbformat.v4.new_code_cell(after[cell["id"]]))
        cells.append(nbformat.v4.new_code_cell(LIVE_WIDGETS))
        book.cells = cells
        client = NotebookClient(
            book, km=kernel_manager, timeout=180, resources={"metadata": {"path": str(folder)}}
        )
        client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
        shown = {
            o["data"][WIDGET_VIEW]["model_id"]
            for c in book.cells[:-1]
            for o in c.get("outputs", [])
            if WIDGET_VIEW in o.get("data", {})
        }
        alive = set(json.loads(book.cells[-1].outputs[0]["text"]))
        assert shown - alive == set(), "an output shows a widget the kernel has closed"
        return book

    execute.folder = folder  # type: ignore[attr-defined]
    return execute


def images(book: nbformat.NotebookNode) -> list[dict]:
    return [o for c in book.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]


def printed(book: nbformat.NotebookNode) -> str:
    """What the notebook's cells printed."""
    return "".join(
        o.get("text", "") for c in book.cells if c.cell_type == "code" for o in c.outputs
        if o.output_type == "stream"
    )  # fmt: skip


def journals(folder: Path) -> list:
    """Each journal the run wrote, as fbtime.read_journal reads it, oldest first."""
    return [fbtime.read_journal(p) for p in sorted((folder / "journals").glob("*.jsonl"))]


def outcomes(journal) -> dict[str, int]:
    statuses = journal.loc[journal["type"] == "outcome", "status"].value_counts()
    return {str(k): int(v) for k, v in statuses.items()}


@pytest.mark.slow  # a kernel executes the notebook
def test_notebook_01_explores_and_charts(run):
    book = run("01-explore")
    assert len(images(book)) >= 1
    explorer = next(c for c in book.cells if "df.fbtime.explore()" in c.source)
    assert any(WIDGET_VIEW in o.get("data", {}) for o in explorer.outputs)
    repr_cell = next(c for c in book.cells if c.source.endswith("df.fbtime offers"))
    (result,) = [o for o in repr_cell.outputs if o["output_type"] == "execute_result"]
    text = result["data"]["text/plain"]
    assert text.startswith("df.fbtime: ") and "time entries of business" in text


@pytest.mark.slow  # a kernel executes the notebook
def test_notebook_02_writes_its_exports(run):
    book = run("02-billing-audit")
    assert images(book)
    written = sorted(p.name for p in (run.folder / "audit-output").iterdir())
    assert written == [
        "findings.csv",
        "unbilled_aging.csv",
        "unbilled_by_client.csv",
        "unbilled_entries.csv",
    ]


@pytest.mark.slow  # a kernel executes the notebook
def test_notebook_03_code_first(run):
    book = run("03-bulk-cleanup", after={"03-09": WIDGET_SHOWS_THE_CODE})
    applied, undo = journals(run.folder)  # the apply and its undo, nothing else
    assert applied.attrs["fbtime_journal"]["kind"] == "mark_billed"
    assert undo.attrs["fbtime_journal"]["kind"] == "undo"
    count = outcomes(applied)["applied"]
    assert count > 200 and outcomes(undo) == {"applied": count}
    assert applied["http_status"].dtype == "Int64" and applied["entry_id"].dtype == "Int64"
    assert f"the widget shows {count:,} applied" in printed(book)


@pytest.mark.slow  # a kernel executes the notebook
def test_notebook_03_widget_first(run):
    run("03-bulk-cleanup", after={"03-07": WIDGET_APPLIES})
    applied, undo = journals(run.folder)  # the code cell sent nothing after the widget
    count = outcomes(applied)["applied"]
    assert count > 200 and set(outcomes(applied)) == {"applied"}
    assert outcomes(undo) == {"applied": count}  # the undo cell undid the widget's apply


#: Clicked in the kernel after notebook 04's review cell: untick nothing, Apply..., Confirm.
INVOICE_WIDGET_APPLIES = """
review.apply_button.click()
review.confirm_button.click()
review.wait(180)
assert review.result is not None and review.result.ok, review.result_html.value
"""


def invoice_journals(folder: Path) -> list:
    """Each invoice (or invoice-undo) journal the run wrote, read back, oldest first."""
    from fbtime.bulk.invoice_journal import read_invoice_journal

    return [read_invoice_journal(p) for p in sorted((folder / "journals").glob("*.jsonl"))]


@pytest.mark.parametrize("after", [None, {"04-10": INVOICE_WIDGET_APPLIES}],
                         ids=["code", "widget"])  # fmt: skip
def test_notebook_04_drafts_applies_and_undoes_invoices(run, after):
    run("04-invoice", after=after)
    applied, undo = invoice_journals(run.folder)  # one apply (code or widget), its undo
    assert (applied.kind, undo.kind) == ("invoice", "invoice_undo")
    drafts = len(applied.plan.drafts)
    assert drafts >= 3 and {o["status"] for o in applied.outcomes.values()} == {"created"}
    assert len(undo.outcomes) == drafts
    assert {o["status"] for o in undo.outcomes.values()} == {"deleted"}
