"""Frames written for people: CSV and Excel files a spreadsheet opens safely, terminal tables.

Notes and client, project and teammate names are typed by whoever can edit the account
(see :mod:`fbtime.text`), so every file and table fbtime makes for a person goes through
here:

* :func:`to_csv`, :func:`to_excel` and :func:`write_table` (chosen by suffix: ``.csv``,
  ``.xlsx``, ``.parquet``). By default every string cell, index label and column name
  that a spreadsheet would run as a formula (it starts with ``= + - @``, tab or CR) gets
  a leading ``'`` (:func:`fbtime.text.for_spreadsheet`, OWASP's advice on CSV injection).
  Every CSV field is quoted, so a CR or a ``;`` inside a value (a list separator in
  some locales) cannot start a row or cell of its own. ``raw=True`` keeps the text exact
  for programs that read the file back: ``fbtime.as_time_entries(pd.read_csv(path,
  keep_default_na=False, na_values=[""]))`` equals the frame, except that CSV cannot tell
  an empty note from a missing one (with read_csv's defaults, notes such as ``"NA"`` or
  ``"#N/A"`` read back as missing too).
* In Excel files every string is a string cell, never a formula or an error value
  (openpyxl makes ``"=..."`` a formula and ``"#N/A"`` an error). A string cell alone is
  not enough: editing it in Excel, or saving the sheet as CSV, runs it again, so the
  default leading ``'`` applies here too; in raw files such cells carry Excel's quote
  prefix instead, which keeps an edited cell text. Characters XML cannot hold are shown
  escaped (``\\x1b``) rather than failing the export, tz-aware times are written as UTC
  wall time (Excel has no time zones), and text is cut at Excel's 32,767-character limit.
* :func:`to_text`: a frame or series as a terminal table with every control character
  in every cell and label shown escaped (:func:`fbtime.text.for_terminal`), so a note
  cannot move the cursor, erase lines or pass for two rows.

Files are replaced atomically by :func:`fbtime.files.write_private_with` (mode 0600): an
export holds account data, a crash never leaves half a file, and a symlink planted at
the target is replaced, not written through.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from fbtime.errors import ConfigError
from fbtime.files import write_private_with
from fbtime.text import FORMULA_TRIGGERS, for_spreadsheet, for_terminal

__all__ = [
    "DEFAULT_SHEET",
    "EXCEL_CELL_LIMIT",
    "TABLE_FORMATS",
    "neutralize",
    "table_format",
    "to_csv",
    "to_excel",
    "to_text",
    "write_table",
]

#: Sheet name :func:`to_excel` uses for a single frame.
DEFAULT_SHEET = "time entries"
#: The most characters Excel keeps in one cell; longer text makes Excel "repair" the file.
EXCEL_CELL_LIMIT = 32_767
#: File suffixes :func:`write_table` knows, and the format each one means.
TABLE_FORMATS: dict[str, str] = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}

# what openpyxl refuses in a cell (XML 1.0 has no C0 controls but tab, LF and CR)
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

Fix = Callable[[str], Any]


def _is_text(dtype: Any) -> bool:
    return (
        pd.api.types.is_object_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _only_strings(fix: Fix) -> Callable[[Any], Any]:
    return lambda value: fix(value) if isinstance(value, str) else value


def _fix_index(index: pd.Index, fix: Fix) -> pd.Index:
    names = [_only_strings(fix)(name) for name in index.names]
    if isinstance(index, pd.MultiIndex):
        levels = [_fix_index(index.get_level_values(i), fix) for i in range(index.nlevels)]
        return pd.MultiIndex.from_arrays(levels, names=names)
    if _is_text(index.dtype):
        index = index.map(_only_strings(fix))
    return index.set_names(names)


def _fix_series(series: pd.Series, fix: Fix) -> pd.Series:
    if not _is_text(series.dtype):
        return series
    values = series.astype(object) if isinstance(series.dtype, pd.CategoricalDtype) else series
    fixed = values.map(_only_strings(fix), na_action="ignore")
    return fixed.astype(series.dtype) if pd.api.types.is_string_dtype(series.dtype) else fixed


def _map_text(frame: pd.DataFrame, fix: Fix) -> pd.DataFrame:
    """A copy of ``frame`` with ``fix`` applied to every string cell, label and axis name.

    Numbers, dates and missing values are left as they are, so dtypes other than text
    do not change. The caller's frame is not modified.
    """
    out = frame.copy()
    for position in range(frame.shape[1]):  # by position: column names may repeat
        out.isetitem(position, _fix_series(frame.iloc[:, position], fix).array)
    out.index = _fix_index(frame.index, fix)
    out.columns = _fix_index(frame.columns, fix)
    return out


def neutralize(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy where no string cell, index label or column name is a spreadsheet formula.

    Each string starting with ``= + - @``, tab or CR gets a leading ``'``
    (:func:`fbtime.text.for_spreadsheet`); everything else is unchanged.

    Example:
        >>> neutralize(pd.DataFrame({"note": ["=HYPERLINK(...)", "ok"]}))["note"].tolist()
        ["'=HYPERLINK(...)", 'ok']
    """
    return _map_text(frame, for_spreadsheet)


def to_csv(
    frame: pd.DataFrame, path: str | Path, *, raw: bool = False, **pandas_kwargs: Any
) -> Path:
    """Write ``frame`` as CSV for people (formulas neutralised) or, ``raw=True``, exactly.

    Args:
        frame: any frame; it is not modified.
        path: the file to replace (atomically, mode 0600); folders are created.
        raw: keep every string exact (for programs reading the file back), not for
            opening in a spreadsheet.
        **pandas_kwargs: passed to :meth:`pandas.DataFrame.to_csv` (``index=False``, ...);
            ``quoting`` defaults to ``csv.QUOTE_ALL`` (see the module docstring).

    Returns:
        The path written.
    """
    table = frame if raw else neutralize(frame)
    options = {"quoting": csv.QUOTE_ALL, **pandas_kwargs}
    return write_private_with(path, lambda temporary: table.to_csv(temporary, **options))


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
    out = _map_text(frame, _for_excel(raw))
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            out.isetitem(position, column.dt.tz_convert("UTC").dt.tz_localize(None))
    out.index = _naive_utc(out.index)
    out.columns = _naive_utc(out.columns)
    return out


def _strings_as_strings(sheet: Any) -> None:
    """Make every string cell a string: openpyxl guessed formulas and error values."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
                if cell.value.startswith(FORMULA_TRIGGERS):  # only raw files get here
                    cell.quotePrefix = True


def to_excel(
    frame: pd.DataFrame | Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    raw: bool = False,
    sheet_name: str = DEFAULT_SHEET,
    index: bool = True,
) -> Path:
    """Write a frame (or ``{sheet name: frame}``) as an .xlsx file whose strings stay text.

    Args:
        frame: one frame, written to ``sheet_name``, or a mapping of sheet names to frames.
            Frames are not modified.
        path: the file to replace (atomically, mode 0600); folders are created.
        raw: keep strings exact (still string cells, with Excel's quote prefix where they
            look like formulas) instead of adding a leading ``'``.
        sheet_name: the sheet of a single frame.
        index: write the index (and its name) as the first column(s).

    Returns:
        The path written.
    """
    sheets = {sheet_name: frame} if isinstance(frame, pd.DataFrame) else dict(frame)
    ready = {name: _excel_ready(table, raw) for name, table in sheets.items()}

    def write(temporary: Path) -> None:
        # engine by name: the temporary file's suffix says nothing about the format
        with pd.ExcelWriter(temporary, engine="openpyxl") as excel:
            for name, table in ready.items():
                table.to_excel(excel, sheet_name=name, index=index)
                _strings_as_strings(excel.sheets[name])

    return write_private_with(path, write)


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

    CSV and Excel are neutralised for spreadsheets unless ``raw=True`` (see
    :func:`to_csv`, :func:`to_excel`); Parquet is typed and read by programs, so its text
    is never changed (read it back with ``fbtime.as_time_entries(pd.read_parquet(path))``).

    Raises:
        ConfigError: the suffix is not ``.csv``, ``.xlsx`` or ``.parquet``.
    """
    kind = table_format(path)
    if kind == "csv":
        return to_csv(frame, path, raw=raw)
    if kind == "xlsx":
        return to_excel(frame, path, raw=raw)
    return write_private_with(path, frame.to_parquet)


def to_text(data: pd.DataFrame | pd.Series, **to_string_kwargs: Any) -> str:
    """``data.to_string(...)`` with control characters in every cell and label escaped.

    A newline inside a cell shows as ``\\n``, so one note cannot look like two rows.

    Example:
        >>> print(to_text(pd.DataFrame({"note": ["line one\\nline two", "ok"]})))
                         note
        0  line one\\nline two
        1                  ok
    """
    if isinstance(data, pd.Series):
        shown = _fix_series(data, for_terminal).copy()  # never relabel the caller's series
        shown.index = _fix_index(data.index, for_terminal)
        shown.name = _only_strings(for_terminal)(data.name)
    else:
        shown = _map_text(data, for_terminal)  # type: ignore[assignment]
    return shown.to_string(**to_string_kwargs)
