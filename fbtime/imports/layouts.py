"""The three export layouts, and a CSV file read into text columns by header name.

Facts: ``import-formats.md`` (Toggl Track, Harvest and Clockify detailed reports). Column
sets and order change between product versions, plans and settings, so a column is found
by its header, never by its position; header case is ignored (Clockify's 2019 export
wrote ``Start date`` where the 2024 one writes ``Start Date``). Columns fbtime does not
use (amounts, rates, groups) are ignored; a file without a required header is refused
with the expected headers listed, and with the format it looks like, when it looks like
another.

Encodings: UTF-8 with or without a BOM, and UTF-16 with a BOM (Clockify's 2019 export).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from fbtime.errors import ImportFileError
from fbtime.files import FileTooLarge, read_limited
from fbtime.text import for_terminal

#: The largest export read: a 200-person team's year of Toggl rows is about 60 MB.
MAX_IMPORT_BYTES = 256 * 2**20
#: Problems listed in an error message (all of them are in ``ImportFileError.problems``).
SHOWN_PROBLEMS = 20


@dataclass(frozen=True)
class Layout:
    """One export format: fbtime's field names -> the header names that carry them.

    Attributes:
        name: ``toggl``, ``harvest`` or ``clockify``.
        title: the product and report, for messages.
        required: fields every file of this format has, with their header name(s).
        optional: fields read when present.
    """

    name: str
    title: str
    required: dict[str, tuple[str, ...]]
    optional: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def headers(self) -> list[str]:
        """The required headers, as the format's own export spells them."""
        return [names[0] for names in self.required.values()]


TOGGL = Layout(
    "toggl",
    "Toggl Track detailed report (Download as CSV)",
    required={
        "email": ("Email",), "client": ("Client",), "project": ("Project",),
        "note": ("Description",), "billable": ("Billable",),
        "start_date": ("Start date",), "start_time": ("Start time",),
        "duration": ("Duration",),
    },
    optional={
        "user": ("User",), "task": ("Task",), "end_date": ("End date",),
        "end_time": ("End time",), "tags": ("Tags",),
    },
)  # fmt: skip
HARVEST = Layout(
    "harvest",
    "Harvest detailed time report (Export)",
    required={
        "date": ("Date",), "client": ("Client",), "project": ("Project",),
        "task": ("Task",), "note": ("Notes",), "hours": ("Hours",),
        "billable": ("Billable?",), "first_name": ("First Name",),
        "last_name": ("Last Name",),
    },
    # start/end columns: shown when the account tracks them; their header names are
    # not captured in any sample, these are Harvest's own words for them [I]
    optional={
        "invoiced": ("Invoiced?",), "start_time": ("Start Time",),
        "end_time": ("End Time",),
    },
)  # fmt: skip
CLOCKIFY = Layout(
    "clockify",
    "Clockify detailed report (Export > Save as CSV)",
    required={
        "project": ("Project",), "client": ("Client",), "note": ("Description",),
        "user": ("User",), "email": ("Email",), "billable": ("Billable",),
        "start_date": ("Start Date",), "start_time": ("Start Time",),
        "duration": ("Duration (h)",),
    },
    optional={
        "task": ("Task", "Activity"), "end_date": ("End Date",),
        "end_time": ("End Time",), "tags": ("Tags",), "invoiced": ("Invoiced",),
    },
)  # fmt: skip
LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (TOGGL, HARVEST, CLOCKIFY)}
FORMATS = tuple(LAYOUTS)


@dataclass
class Table:
    """A CSV file's rows as text columns, by fbtime field name.

    Attributes:
        path: the file read.
        columns: field -> one string per data row ("" where the cell is empty).
        rows: the row number a spreadsheet shows for each data row (header = 1).
        problems: rows that could not be split into the header's fields.
    """

    path: str
    columns: dict[str, list[str]]
    rows: list[int]
    problems: list[dict[str, object]]


def layout_for(format: str) -> Layout:
    """The layout of ``format``; ImportFileError for an unknown one."""
    if format not in LAYOUTS:
        raise ImportFileError(
            f"unknown format {for_terminal(repr(format))}; fbtime reads {', '.join(FORMATS)}"
        )
    return LAYOUTS[format]


def decode(raw: bytes, path: str) -> str:
    """The file's text: UTF-8 (a BOM is dropped), or UTF-16 announced by its BOM."""
    try:
        if raw.startswith(b"\xef\xbb\xbf"):
            return raw[3:].decode("utf-8")
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            return raw.decode("utf-16")  # the BOM says the byte order; it is not kept
        if b"\x00" in raw[:1024]:
            raise ImportFileError(
                f"{for_terminal(path)} looks like UTF-16 without a byte-order mark; "
                "save it as UTF-8 (or UTF-16 with a BOM) and import it again",
                path=path,
            )
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{for_terminal(path)} is not UTF-8 text (byte {exc.start}: {exc.reason}); "
            "export it again, or save it as UTF-8, and import it again",
            path=path,
        ) from None


def read_file(path: str | Path) -> str:
    """A whole export as text (size-limited, decoded)."""
    where = str(path)
    try:
        raw = read_limited(path, MAX_IMPORT_BYTES)
    except FileNotFoundError:
        raise ImportFileError(f"no file at {for_terminal(where)}", path=where) from None
    except FileTooLarge:
        raise ImportFileError(
            f"{for_terminal(where)} is larger than {MAX_IMPORT_BYTES:,} bytes; "
            "export a shorter period at a time",
            path=where,
        ) from None
    except OSError as exc:
        raise ImportFileError(
            f"cannot read {for_terminal(where)}: {exc.strerror}", path=where
        ) from None
    return decode(raw, where)


def _key(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").split()).casefold()


def find_columns(header: list[str], layout: Layout, path: str) -> dict[str, int]:
    """Field -> column index, by header name; ImportFileError for an unknown layout."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        positions.setdefault(_key(name), []).append(i)
    found: dict[str, int] = {}
    missing: list[str] = []
    for fields, required in ((layout.required, True), (layout.optional, False)):
        for name, spellings in fields.items():
            hits = [i for s in spellings for i in positions.get(_key(s), [])]
            if len(hits) > 1:
                raise ImportFileError(
                    f"{for_terminal(path)} has {len(hits)} columns for {spellings[0]!r}; "
                    "a column must appear once",
                    path=path,
                )
            if hits:
                found[name] = hits[0]
            elif required:
                missing.append(spellings[0])
    if missing:
        shown = ", ".join(for_terminal(h) for h in header[:30]) or "(no header)"
        hint = _looks_like(header, layout)
        raise ImportFileError(
            f"{for_terminal(path)} is not a {layout.title}: missing column(s) "
            f"{', '.join(missing)}. Expected headers (by name, in any order): "
            f"{', '.join(layout.headers)}. The file has: {shown}.{hint}",
            path=path,
        )
    return found


def _looks_like(header: list[str], asked: Layout) -> str:
    keys = {_key(h) for h in header}
    for layout in LAYOUTS.values():
        if layout is not asked and all(
            any(_key(s) in keys for s in names) for names in layout.required.values()
        ):
            return f" It looks like a {layout.title}: use format={layout.name!r}."
    if asked.name == "toggl" and {"start time", "end time", "duration"} <= keys:
        return " (Toggl's 2011 layout, with dates in 'Start time', is not read: export again.)"
    if asked.name == "clockify" and "start date" not in keys:
        return " Clockify writes headers in its interface language: switch it to English first."
    return ""


def read_table(path: str | Path, layout: Layout) -> Table:
    """Split an export into the layout's columns, keeping each row's number.

    Blank lines are skipped (they still count as rows, as in a spreadsheet); a row with
    more or fewer fields than the header is a problem, not a guess.
    """
    where = str(path)
    text = read_file(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    number = 0
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFileError(f"{for_terminal(where)} is empty", path=where)
        number = 1
        found = find_columns(header, layout, where)
        columns: dict[str, list[str]] = {name: [] for name in found}
        rows: list[int] = []
        problems: list[dict[str, object]] = []
        for record in reader:
            number += 1
            if not record or record == [""]:
                continue
            if len(record) != len(header):
                problems.append({
                    "row": number, "column": None, "value": None,
                    "message": f"has {len(record)} fields, the header has {len(header)}",
                })  # fmt: skip
                continue
            rows.append(number)
            for name, i in found.items():
                columns[name].append(record[i])
    except csv.Error as exc:
        raise ImportFileError(
            f"{for_terminal(where)} is not a readable CSV file at row {number + 1}: "
            f"{for_terminal(exc)}",
            path=where,
        ) from None
    return Table(where, columns, rows, problems)


def problem_message(path: str, problems: list[dict[str, object]], what: str) -> str:
    """One message listing the first :data:`SHOWN_PROBLEMS` bad rows of ``path``."""
    ordered = sorted(problems, key=lambda p: (int(str(p["row"])), str(p.get("column") or "")))
    lines = []
    for p in ordered[:SHOWN_PROBLEMS]:
        column = f" {p['column']}" if p.get("column") else ""
        value = p.get("value")
        shown = f" {for_terminal(repr(str(value)[:60]))}" if value not in (None, "") else ""
        lines.append(f"  row {p['row']}{column}{shown}: {for_terminal(p['message'])}")
    more = len(ordered) - SHOWN_PROBLEMS
    if more > 0:
        lines.append(f"  ... and {more} more (all in the error's .problems)")
    rows = len({p["row"] for p in problems})
    return f"{for_terminal(path)}: {rows} {what} (rows as a spreadsheet numbers them):\n" + (
        "\n".join(lines)
    )
