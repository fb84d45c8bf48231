"""Time exports shaped like the facts sheet's samples (``import-formats.md``), written by tests.

Headers are the sheet's, copied from the exports it cites: Toggl Track 2024 (UTF-8 with
BOM; one layout quoting every field, without ``Amount``), Harvest 2025 (no BOM, quoted only
when needed, decimal comma), Clockify 2024 (every field quoted; a later layout with
``Type``, ``Invoiced``, ``Invoice ID`` and ``Date of creation``) and Clockify 2019 (UTF-16,
lower-case headers). Rows are dicts by header; a missing cell is empty.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

TOGGL = [
    "User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date",
    "Start time", "End date", "End time", "Duration", "Tags", "Amount (EUR)",
]  # fmt: skip
TOGGL_QUOTED = [h for h in TOGGL if not h.startswith("Amount")]
TOGGL_2011 = [
    "User", "Client", "Project", "Description", "Billable", "Start time", "End time", "Duration",
    "Tags", "Task", "Amount (USD)",
]  # fmt: skip
HARVEST = [
    "Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours", "Billable?",
    "Invoiced?", "Approved?", "First Name", "Last Name", "Roles", "Employee?", "Billable Rate",
    "Billable Amount", "Cost Rate", "Cost Amount", "Currency", "External Reference URL",
]  # fmt: skip
CLOCKIFY = [
    "Project", "Client", "Description", "Task", "User", "Group", "Email", "Tags", "Billable",
    "Start Date", "Start Time", "End Date", "End Time", "Duration (h)", "Duration (decimal)",
    "Billable Rate (USD)", "Billable Amount (USD)",
]  # fmt: skip
CLOCKIFY_LATER = [
    "Project", "Client", "Description", "Activity", "User", "Group", "Email", "Tags", "Type",
    "Billable", "Invoiced", "Invoice ID", "Start Date", "Start Time", "End Date", "End Time",
    "Duration (h)", "Duration (decimal)", "Billable Rate (EUR)", "Billable Amount (EUR)",
    "Date of creation",
]  # fmt: skip
CLOCKIFY_2019 = [
    "Project", "Client", "Description", "Task", "User", "Email", "Tags", "Billable", "Start date",
    "Start time", "End time", "Duration (h)", "Duration (decimal)",
]  # fmt: skip


def csv_text(header: list[str], rows: list[dict[str, Any]], *, quote_all: bool = False) -> str:
    """The CSV text of ``rows`` under ``header`` (``\\r\\n`` line ends, as exporters write)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for row in rows:
        unknown = set(row) - set(header)
        assert not unknown, f"not in the header: {unknown}"
        writer.writerow(["" if row.get(h) is None else str(row.get(h)) for h in header])
    return out.getvalue()


def write_export(
    path: Path,
    header: list[str],
    rows: list[dict[str, Any]],
    *,
    encoding: str = "utf-8",
    bom: bool = False,
    quote_all: bool = False,
) -> Path:
    """Write an export; ``encoding="utf-16"`` writes a BOM as Python does (little-endian)."""
    text = csv_text(header, rows, quote_all=quote_all)
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def toggl(path: Path, rows: list[dict[str, Any]], **kw: Any) -> Path:
    """A Toggl Track detailed report, 2024 layout, UTF-8 with BOM."""
    return write_export(path, TOGGL, rows, bom=True, **kw)


def harvest(path: Path, rows: list[dict[str, Any]], **kw: Any) -> Path:
    """A Harvest detailed time report, 2025 layout, no BOM, quoted only when needed."""
    filled = [
        {"Approved?": "No", "Employee?": "Yes", "Billable Rate": "2.000,0", "Cost Rate": "0,0",
         "Currency": "Euro - EUR", "Invoiced?": "No", **row}
        for row in rows
    ]  # fmt: skip
    return write_export(path, HARVEST, filled, **kw)


def clockify(path: Path, rows: list[dict[str, Any]], **kw: Any) -> Path:
    """A Clockify detailed report, 2024 layout, every field quoted."""
    return write_export(path, CLOCKIFY, rows, quote_all=True, **kw)
