"""Frames written to files: CSV and Excel for people, exact CSV and Parquet for programs.

Two kinds of file, chosen by ``raw``:

* **for people** (the default): what the panels show, in a file a spreadsheet opens as it
  should. :func:`people_frame` turns a table into display units: hours to 2 decimals,
  each column rounded as a whole (largest remainder, :func:`fbtime.display.rounded_hours`)
  so the exported hours add up to the total the panels show; money to the cent with its
  currency in the heading (``unbilled amount (CAD)``); ratios as the percentage shown
  (``92%``, which a spreadsheet reads as the number 0.92); days as dates and times as
  local wall-clock minutes under a heading naming the zone; a missing group as
  ``<no client>`` and a group without a name as ``client 78930``; human headings
  (``client``, ``billable hours``). Numbers stay numbers (no thousands separators), so a
  spreadsheet can add them up. CSV files carry a UTF-8 byte order mark, so Excel on
  Windows reads accents and CJK names as they are.
* **machine-exact** (``raw=True``): every value as the frame holds it (hours as floats,
  money as exact decimals, times as UTC ISO), every string exact, no BOM:
  ``fbtime.as_time_entries(pd.read_csv(path, keep_default_na=False, na_values=[""]))``
  equals the frame, except that CSV cannot tell an empty note from a missing one (with
  read_csv's defaults, notes such as ``"NA"`` or ``"#N/A"`` read back as missing too).
  Parquet (:func:`write_table` with ``.parquet``) is exact and typed.

Notes and client, project and teammate names are typed by whoever can edit the account
(see :mod:`fbtime.text`), so in files for people every string cell and heading that a
spreadsheet would run as a formula (it starts with ``= + - @``, tab or CR) gets a leading
``'`` (:func:`fbtime.text.for_spreadsheet`, OWASP's advice on CSV injection). Every CSV
field is quoted, so a CR or a ``;`` inside a value (a list separator in some locales)
cannot start a row or cell of its own.

In Excel files every string is a string cell, never a formula or an error value
(openpyxl makes ``"=..."`` a formula and ``"#N/A"`` an error). A string cell alone is not
enough: editing it in Excel, or saving the sheet as CSV, runs it again, so the leading
``'`` applies here too; in raw files such cells carry Excel's quote prefix instead, which
keeps an edited cell text. Characters XML cannot hold are shown escaped (``\\x1b``)
rather than failing the export, tz-aware times are written as wall time (Excel has no
time zones: UTC in raw files, the zone of the heading in files for people), and text is
cut at Excel's 32,767-character limit. Files for people get number formats (``0.00`` for
hours, ``#,##0.00`` for money, ``0%`` for ratios).

Files are replaced atomically by :func:`fbtime.files.write_private_with` (mode 0600): an
export holds account data, a crash never leaves half a file, and a symlink planted at
the target is replaced, not written through.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from fbtime import display
from fbtime.errors import ConfigError
from fbtime.files import write_private_with
from fbtime.text import FORMULA_TRIGGERS, for_spreadsheet, for_terminal

__all__ = [
    "DEFAULT_SHEET",
    "EXCEL_CELL_LIMIT",
    "TABLE_FORMATS",
    "neutralize",
    "people_frame",
    "table_format",
    "to_csv",
    "to_excel",
    "write_table",
]

#: Sheet name :func:`to_excel` uses for a single frame.
DEFAULT_SHEET = "time entries"
#: The most characters Excel keeps in one cell; longer text makes Excel "repair" the file.
EXCEL_CELL_LIMIT = 32_767
#: File suffixes :func:`write_table` knows, and the format each one means.
TABLE_FORMATS: dict[str, str] = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
#: Excel number formats of the columns of a file for people, by kind.
EXCEL_FORMATS: dict[str, str] = {
    "hours": "0.00", "money": "#,##0.00", "ratio": "0%", "date": "yyyy-mm-dd",
    "time": "yyyy-mm-dd hh:mm",
}  # fmt: skip

# what openpyxl refuses in a cell (XML 1.0 has no C0 controls but tab, LF and CR)
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

Fix = Callable[[str], Any]


def neutralize(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy where no string cell, index label or column name is a spreadsheet formula.

    Each string starting with ``= + - @``, tab or CR gets a leading ``'``
    (:func:`fbtime.text.for_spreadsheet`); everything else is unchanged.

    Example:
        >>> neutralize(pd.DataFrame({"note": ["=HYPERLINK(...)", "ok"]}))["note"].tolist()
        ["'=HYPERLINK(...)", 'ok']
    """
    return display.map_text(frame, for_spreadsheet)


# -- files for people ---------------------------------------------------------------------
class Column(NamedTuple):
    """One column of a file for people: its heading, its values, and what they are."""

    heading: str
    values: pd.Series
    kind: str  # a kind of fbtime.display.column_kind


def _flat(table: pd.DataFrame, index: bool | None) -> pd.DataFrame:
    """The table with its index as the first column(s): a named index, or ``index=True``."""
    named = any(name is not None for name in table.index.names)
    keep = index if index is not None else named or not isinstance(table.index, pd.RangeIndex)
    return table.reset_index() if keep else table.reset_index(drop=True)


def people_columns(
    table: pd.DataFrame, *, currency: str | None = None, index: bool | None = None
) -> list[Column]:
    """The columns of :func:`people_frame`, each with its kind (for Excel's number formats)."""
    info = table.report_info if isinstance(table, display.Report) else display.ReportInfo()
    frame = pd.DataFrame(table)
    code = display.amounts_currency(frame, currency or info.currency)
    flat = _flat(display.without_currency(frame, code), index)
    out = []
    for position, name in enumerate(flat.columns):
        column = flat.iloc[:, position]
        kind = display.column_kind(name, column)
        group = display.ID_COLUMNS.get(str(name))
        values = column
        if kind == "time":  # wall-clock minutes (in the zone the heading names)
            values = column.dt.tz_localize(None) if column.dt.tz else column
            values = values.dt.floor("min")
        elif kind == "date":
            values = column.dt.normalize()
        elif kind == "hours":
            values = display.rounded_hours(column)
        elif kind == "ratio":
            values = column.astype("Float64")
        elif group and f"{group}_name" not in flat:  # no names: the id column says it
            values = column.astype(object).where(column.notna(), display.no_group(group))
        elif kind in ("text", "mixed"):
            values = display.cells_of(name, column, flat).astype(object)
        heading = display.heading(name, column, code)
        out.append(Column(heading, values.reset_index(drop=True), kind))
    return out


def people_frame(
    table: pd.DataFrame, *, currency: str | None = None, index: bool | None = None
) -> pd.DataFrame:
    """``table`` as a CSV for people holds it: display units and human headings.

    Hours rounded as a column (they add up to the rounded total), money to the cent with
    the currency in the heading (``currency`` if given, else the report's or the
    ``currency`` column's), ratios as the percentage shown, days as dates, times as local
    wall-clock minutes, a missing group as ``<no client>``. The index is the first column
    when it is named (or ``index=True``). The table is not modified.

    Example:
        >>> named = df.fbtime.with_names(clients=fbtime.load_clients(client))
        >>> table = named.fbtime.by_client()[["client_name", "hours", "billable_ratio"]]
        >>> people_frame(table.head(2))
          client id                 client   hours billable ratio
        0     78930      Northwind Traders  211.48           100%
        1     78745  Société Générale Café  108.10           100%
    """
    columns = people_columns(table, currency=currency, index=index)
    out = {}
    for column in columns:
        values = column.values
        if column.kind == "hours":
            values = values.map(lambda v: f"{v:.2f}", na_action="ignore").astype(object)
        elif column.kind == "ratio":
            values = values.map(display.ratio, na_action="ignore").astype(object)
        elif column.kind == "date":
            values = values.dt.strftime("%Y-%m-%d").astype(object)
        elif column.kind == "time":
            values = values.dt.strftime("%Y-%m-%d %H:%M").astype(object)
        out[column.heading] = values.astype(object).where(values.notna(), "")  # never <NA>
    return pd.DataFrame(out, columns=[c.heading for c in columns])


def to_csv(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    raw: bool = False,
    index: bool | None = None,
    **pandas_kwargs: Any,
) -> Path:
    """Write ``frame`` as a CSV for people (the default) or, ``raw=True``, machine-exact.

    For people: :func:`people_frame` (display units, human headings, ``<no client>``),
    formulas neutralised, a UTF-8 BOM for Excel. Machine-exact: the frame's own values
    and column names, strings exact, no BOM (see the module docstring).

    Args:
        frame: any frame (a report too); it is not modified.
        path: the file to replace (atomically, mode 0600); folders are created.
        raw: write the exact values for programs reading the file back, not for a
            spreadsheet.
        index: write the index as the first column(s); default: when it is named (for
            people) or always (``raw=True``, as pandas does).
        **pandas_kwargs: passed to :meth:`pandas.DataFrame.to_csv` (``sep=";"``, ...);
            ``quoting`` defaults to ``csv.QUOTE_ALL`` (see the module docstring).

    Returns:
        The path written.
    """
    options: dict[str, Any] = {"quoting": csv.QUOTE_ALL, **pandas_kwargs}
    if raw:
        table = pd.DataFrame(frame)
        options["index"] = True if index is None else index
    else:
        table = neutralize(people_frame(frame, index=index))
        options |= {"index": False, "encoding": "utf-8-sig"}  # the BOM: Excel reads UTF-8
    return write_private_with(path, lambda temporary: table.to_csv(temporary, **options))


# -- Excel --------------------------------------------------------------------------------
def _for_excel(raw: bool) -> Fix:
    def fix(value: str) -> str:
        value = _XML_ILLEGAL.sub(lambda m: for_terminal(m.group()), value)
        return (value if raw else for_spreadsheet(value))[:EXCEL_CELL_LIMIT]

    return fix


def _naive_utc(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        levels = [_naive_utc(index.get_level_values(i)) for i in range(index.nlevels)]
        return pd.MultiIndex.from_arrays(levels, names=index.names)
    if isinstance(index, pd.DatetimeIndex) and index.tz is not None:
        return index.tz_convert("UTC").tz_localize(None)
    return index


def _excel_ready(frame: pd.DataFrame, raw: bool) -> pd.DataFrame:
    out = display.map_text(frame, _for_excel(raw))
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            out.isetitem(position, column.dt.tz_convert("UTC").dt.tz_localize(None))
    out.index = _naive_utc(out.index)
    out.columns = _naive_utc(out.columns)
    return out


def _excel_people(table: pd.DataFrame, index: bool | None) -> tuple[pd.DataFrame, list[str]]:
    """A file for people as Excel holds it: numbers as numbers, with their formats."""
    columns = people_columns(table, index=index)
    out, formats = {}, []
    for column in columns:
        values = column.values
        if column.kind in ("money", "hours", "ratio"):  # Excel has no exact decimals
            values = values.astype("Float64").astype(object).where(values.notna(), None)
        out[column.heading] = values
        formats.append(EXCEL_FORMATS.get(column.kind, ""))
    return pd.DataFrame(out, columns=[c.heading for c in columns]), formats


def _strings_as_strings(sheet: Any, formats: list[str] | None = None) -> None:
    """Make every string cell a string (openpyxl guessed formulas and error values), and
    give the columns of a file for people their number formats."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
                if cell.value.startswith(FORMULA_TRIGGERS):  # only raw files get here
                    cell.quotePrefix = True
            elif formats and cell.row > 1 and formats[cell.column - 1]:
                cell.number_format = formats[cell.column - 1]


def to_excel(
    frame: pd.DataFrame | Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    raw: bool = False,
    sheet_name: str = DEFAULT_SHEET,
    index: bool | None = None,
) -> Path:
    """Write a frame (or ``{sheet name: frame}``) as an .xlsx file whose strings stay text.

    Args:
        frame: one frame, written to ``sheet_name``, or a mapping of sheet names to frames.
            Frames are not modified.
        path: the file to replace (atomically, mode 0600); folders are created.
        raw: the frame's own values and column names, strings exact (still string cells,
            with Excel's quote prefix where they look like formulas); default: for people
            (:func:`people_frame`'s units and headings, as numbers with number formats).
        sheet_name: the sheet of a single frame.
        index: write the index as the first column(s); default: when it is named (for
            people) or always (``raw=True``).

    Returns:
        The path written.
    """
    sheets = {sheet_name: frame} if isinstance(frame, pd.DataFrame) else dict(frame)
    ready: dict[str, tuple[pd.DataFrame, list[str] | None, bool]] = {}
    for name, table in sheets.items():
        if raw:
            ready[name] = (_excel_ready(pd.DataFrame(table), True), None, index is not False)
        else:
            people, formats = _excel_people(table, index)
            ready[name] = (_excel_ready(people, False), formats, False)

    def write(temporary: Path) -> None:
        # engine by name: the temporary file's suffix says nothing about the format
        with pd.ExcelWriter(temporary, engine="openpyxl") as excel:
            for name, (table, formats, keep_index) in ready.items():
                table.to_excel(excel, sheet_name=name, index=keep_index)
                _strings_as_strings(excel.sheets[name], formats)

    return write_private_with(path, write)


# -- by file name -------------------------------------------------------------------------
def table_format(path: str | Path) -> str:
    """The format :func:`write_table` writes to ``path``: ``"csv"``, ``"xlsx"`` or ``"parquet"``.

    Call it before loading anything, so a wrong file name fails first.

    Raises:
        ConfigError: the suffix is none of :data:`TABLE_FORMATS`.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise ConfigError(
            f"cannot tell how to write {str(path)!r}: the file name must end in "
            f"{', '.join(TABLE_FORMATS)}"
        )
    return TABLE_FORMATS[suffix]


def write_table(frame: pd.DataFrame, path: str | Path, *, raw: bool = False) -> Path:
    """Write ``frame`` as CSV, Excel or Parquet, chosen by the suffix of ``path``.

    CSV and Excel are for people unless ``raw=True`` (see :func:`to_csv`,
    :func:`to_excel`); Parquet is typed and read by programs, so it is always exact (read
    it back with ``fbtime.as_time_entries(pd.read_parquet(path))``).

    Raises:
        ConfigError: the suffix is not ``.csv``, ``.xlsx`` or ``.parquet``.
    """
    kind = table_format(path)
    if kind == "csv":
        return to_csv(frame, path, raw=raw)
    if kind == "xlsx":
        return to_excel(frame, path, raw=raw)
    return write_private_with(path, pd.DataFrame(frame).to_parquet)
