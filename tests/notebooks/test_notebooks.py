"""The notebooks run top to bottom against a sandbox, and are stored without outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ("01-explore", "02-billing-audit", "03-bulk-cleanup")


def test_the_three_notebooks_are_there():
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


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(name, tmp_path, monkeypatch, kernel_manager):
    # always the sandbox: a developer's real credentials must not be used by the suite
    for var in ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_BUSINESS_ID", "FBTIME_ALLOW_WRITES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    run = tmp_path / "run"
    run.mkdir()
    client = NotebookClient(
        book,
        km=kernel_manager,
        timeout=120,
        resources={"metadata": {"path": str(run)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    images = [
        o for c in book.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    if name != "03-bulk-cleanup":
        assert images, f"{name} drew no chart"
    if name == "02-billing-audit":
        written = sorted(p.name for p in (run / "audit-output").iterdir())
        assert written == [
            "findings.csv",
            "unbilled_aging.csv",
            "unbilled_by_client.csv",
            "unbilled_entries.csv",
        ]
    if name == "03-bulk-cleanup":
        assert len(list((run / "journals").glob("*.jsonl"))) == 2  # the apply and its undo
