"""``df.fbtime.explore()``: the explorer panel (controls -> state -> one table and chart)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import tempfile
import threading
from pathlib import Path
from typing import Any, Literal

import ipywidgets as w
import pandas as pd

from fbtime import analysis, display
from fbtime.audit import foreign_clients
from fbtime.errors import FBTimeError, QueryError
from fbtime.export import to_csv, to_excel
from fbtime.schema import check_frame
from fbtime.text import for_html, for_terminal
from fbtime.weeks import frame_week_start
from fbtime.widgets.view import (
    DEFAULT_PAGE_SIZE,
    FLAG_CHOICES,
    GROUP_BYS,
    PAGE_SIZES,
    ExplorerState,
    ExplorerView,
    chart_png,
    column_label,
    explore_view,
    export_frame,
    page_count,
    page_of,
    shown_table,
    sort_keys,
    sort_table,
    table_html,
)

Kind = Literal["csv", "xlsx"]
#: What a download is announced as, by kind.
MIME_TYPES: dict[str, str] = {
    "csv": "text/csv;charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_ERROR = "<span style='color:#b00020'>{}</span>"


def _display(text_html: str, png: bytes | None = None) -> tuple[dict[str, Any], ...]:
    items: list[dict[str, Any]] = [
        {"output_type": "display_data", "metadata": {},
         "data": {"text/html": text_html, "text/plain": "fbtime table"}},
    ]  # fmt: skip
    if png is not None:
        data = {"image/png": base64.b64encode(png).decode(), "text/plain": "fbtime chart"}
        items.append({"output_type": "display_data", "metadata": {}, "data": data})
    return tuple(items)


def _key(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def _options(frame: pd.DataFrame, group: str) -> list[tuple[str, Any]]:
    """(label, id) choices: names where the frame has them; a repeated label gets its id."""
    id_col, name_col = analysis.GROUPS[group]
    cols = [id_col, name_col] if name_col in frame else [id_col]
    pairs = frame[cols].drop_duplicates(id_col)
    labels: dict[Any, str] = {}
    for row in pairs.itertuples(index=False):
        key = _key(row[0])
        name = row[1] if len(row) > 1 else None
        if key is None:
            labels[key] = display.no_group(group)
        else:
            # ipywidgets shows labels as text (not HTML): controls and bidi marks are what
            # could make one name pass for another, so they are shown escaped
            ok = isinstance(name, str) and name.strip() not in ("", "nan")
            labels[key] = for_terminal(name) if ok else f"{group} {key}"
    repeated = pd.Series(list(labels.values())).value_counts()
    options = [
        (f"{label} (#{key})" if repeated[label] > 1 and key is not None else label, key)
        for key, label in labels.items()
    ]
    return sorted(options, key=lambda o: o[0].lower())


def _projects_of(frame: pd.DataFrame) -> dict[int | None, set[int | None]]:
    """client id (None: no client) -> the projects its entries were logged on."""
    pairs = frame[["client_id", "project_id"]].drop_duplicates()
    found: dict[int | None, set[int | None]] = {}
    for client, project in zip(pairs["client_id"].tolist(), pairs["project_id"].tolist()):  # noqa: B905
        found.setdefault(_key(client), set()).add(_key(project))
    return found


class Explorer(w.VBox):
    """Filter, group, sort and chart a time-entry frame with widgets; download what you see.

    Controls: a date range (local days in the business's zone), client and project
    multi-selects (by name when the frame has ``client_name``/``project_name``; the
    projects narrow to the chosen clients'), a teammate, billable and billed toggles, a
    group-by choice, an "unbilled only" shortcut and a reset. The table pages and sorts;
    entry rows show their start in the business's zone with the UTC start kept, and
    amounts when the frame has them (``with_rates``). "export CSV" / "export Excel" make
    a download link in the panel holding the table shown, every row, in display units.
    Filter changes are debounced by ``debounce`` seconds (0 = refresh at once). The
    caller's frame is not modified.

    Example:
        >>> named = df.fbtime.with_names(clients=fbtime.load_clients(client))
        >>> panel = named.fbtime.explore(debounce=0)  # in a notebook, show `panel`
        >>> panel.clients.value = (79201,)  # what ticking a client in the panel does
        >>> panel.status.value
        '<b>16</b> entries, 20.75 h (10.49 h unbilled)'
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        debounce: float = 0.3,
        page_size: int = DEFAULT_PAGE_SIZE,
        export_dir: str | Path = "exports",
        week_start: str | None = None,
    ) -> None:
        check_frame(frame)
        self.frame = frame
        self.debounce = debounce
        self.export_dir = Path(export_dir)
        self.tz = analysis.resolve_tz(frame)
        money = analysis.has_amounts(frame)
        #: the currency of the amounts, and the clients billed in another one
        self.info = display.ReportInfo(
            currency=analysis.amounts_currency(frame) if money else None,
            foreign=foreign_clients(frame) if money else (),
        )
        #: the day weeks start on: ``week_start``, else the business's (fbtime.weeks)
        self.week_start = frame_week_start(frame, week_start)
        self.view: ExplorerView | None = None
        self._shown: tuple[list[str], pd.DataFrame, list[str]] | None = None
        self.page = 0
        self.last_export: Path | None = None
        self._base: pd.DataFrame | None = None  # the view's table in its own order
        self._png: bytes | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._refresh_lock = threading.RLock()
        self._quiet = False
        days = analysis.local_day(frame, self.tz).dropna()
        self._first = days.min().date() if len(days) else None
        self._last = days.max().date() if len(days) else None
        self._all_projects = _options(frame, "project")
        self._projects_of = _projects_of(frame)
        wide = {"layout": w.Layout(width="auto")}
        self.start = w.DatePicker(value=self._first, description="from")
        self.end = w.DatePicker(value=self._last, description="to")
        self.clients = w.SelectMultiple(options=_options(frame, "client"), rows=6,
                                        description="clients")  # fmt: skip
        self.projects = w.SelectMultiple(options=self._all_projects, rows=6,
                                         description="projects")  # fmt: skip
        people = [o for o in _options(frame, "teammate") if o[1] is not None]
        # 0 (no identity has it) is "everyone": a Dropdown reads a None value as no selection
        self.teammate = w.Dropdown(options=[("everyone", 0), *people], description="teammate")
        self.billable = w.ToggleButtons(options=FLAG_CHOICES, description="billable", **wide)
        self.billed = w.ToggleButtons(options=FLAG_CHOICES, description="billed", **wide)
        self.group_by = w.ToggleButtons(options=GROUP_BYS, description="group by", **wide)
        self.unbilled_button = w.Button(description="unbilled only", icon="filter")
        self.reset_button = w.Button(description="reset", icon="undo")
        self.csv_button = w.Button(description="export CSV", icon="download")
        self.excel_button = w.Button(description="export Excel", icon="download")
        self.export_button = self.csv_button
        # "" is the default order: a Dropdown cannot tell a None value from no selection
        self.sort_by = w.Dropdown(options=[("default order", "")], value="", description="sort by",
                                  layout=w.Layout(width="18em"))  # fmt: skip
        self.descending = w.Checkbox(value=False, description="descending", indent=False)
        # the box fits "200" beside its label: at 10em it showed "5C" for 50 (digit and caret)
        self.page_size = w.Dropdown(
            options=sorted({*PAGE_SIZES, max(1, page_size)}), value=max(1, page_size),
            description="rows", layout=w.Layout(width="12em"),
            style={"description_width": "3em"},
        )  # fmt: skip
        self.prev_button = w.Button(description="◀", layout=w.Layout(width="3em"))
        self.next_button = w.Button(description="▶", layout=w.Layout(width="3em"))
        self.page_label = w.Label(layout=w.Layout(width="auto"))
        self.status = w.HTML()
        self.download_link = w.HTML()
        self.output = w.Output(layout=w.Layout(max_width="100%", overflow="auto"))
        self.file_buttons = (self.csv_button, self.excel_button)
        self.pager = (self.sort_by, self.descending, self.page_size, self.prev_button,
                      self.page_label, self.next_button)  # fmt: skip
        self.controls = (self.start, self.end, self.clients, self.projects, self.teammate,
                         self.billable, self.billed, self.group_by)  # fmt: skip
        self._initial = {c: c.value for c in self.controls} | {self.page_size: self.page_size.value}
        self._set_sort_options(self.group_by.value)
        for control in (self.start, self.end, self.projects, self.teammate, self.billable,
                        self.billed):  # fmt: skip
            control.observe(self._changed, names="value")
        self.clients.observe(self._clients_changed, names="value")
        self.group_by.observe(self._group_changed, names="value")
        for control in (self.sort_by, self.descending):
            control.observe(self._sort_changed, names="value")
        self.page_size.observe(self._page_size_changed, names="value")
        self.unbilled_button.on_click(lambda _: self.unbilled_only())
        self.reset_button.on_click(lambda _: self.reset())
        self.csv_button.on_click(lambda _: self._download_clicked("csv"))
        self.excel_button.on_click(lambda _: self._download_clicked("xlsx"))
        self.prev_button.on_click(lambda _: self.show_page(self.page - 1))
        self.next_button.on_click(lambda _: self.show_page(self.page + 1))
        super().__init__(
            [
                w.HBox([self.start, self.end, self.teammate]),
                w.HBox([self.clients, self.projects]),
                self.billable,
                self.billed,
                self.group_by,
                w.HBox([self.unbilled_button, self.reset_button, *self.file_buttons]),
                self.status,
                self.download_link,
                w.HBox(self.pager),
                self.output,
            ],
            layout=w.Layout(max_width="100%"),
        )
        self.add_class("fbtime-explorer")  # a handle for styles and browser tests
        self.refresh()

    # -- state -------------------------------------------------------------------------------
    @property
    def state(self) -> ExplorerState:
        """The controls' current values as an :class:`ExplorerState`."""
        return ExplorerState(
            start=self.start.value,
            end=self.end.value,
            clients=tuple(self.clients.value),
            projects=tuple(self.projects.value),
            teammate=self.teammate.value or None,
            billable=self.billable.value,
            billed=self.billed.value,
            group_by=self.group_by.value,
            sort_by=self.sort_by.value or None,
            descending=self.descending.value,
        )

    @property
    def table(self) -> pd.DataFrame | None:
        """The whole table, sorted as shown (None before the first refresh or after an error)."""
        return self.view.table if self.view is not None else None

    @property
    def shown(self) -> pd.DataFrame | None:
        """The rows of the page shown now."""
        return None if self.view is None else page_of(self.view.table, self.page, self.rows)

    @property
    def rows(self) -> int:
        """Rows per page."""
        return int(self.page_size.value)

    @property
    def pages(self) -> int:
        return page_count(0 if self.view is None else len(self.view.table), self.rows)

    # -- reacting to the controls ----------------------------------------------------------
    def _quietly(self, *pairs: tuple[w.ValueWidget, Any]) -> None:
        """Set controls without each one refreshing."""
        self._quiet = True
        try:
            for control, value in pairs:
                control.value = value
        finally:
            self._quiet = False

    def _changed(self, _change: Any) -> None:
        if self._quiet:
            return
        if self.debounce <= 0:
            self.refresh()
            return
        with self._lock:  # restart the timer: only the last of a burst of changes refreshes
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.debounce, self.refresh)
            self._timer.daemon = True
            self._timer.start()

    def _narrow_projects(self) -> None:
        chosen = self.clients.value
        if chosen:
            allowed = set().union(*(self._projects_of.get(c, set()) for c in chosen))
            options = [o for o in self._all_projects if o[1] in allowed]
        else:
            options = self._all_projects
        kept = tuple(v for v in self.projects.value if any(v == o[1] for o in options))
        self._quiet = True
        try:
            self.projects.options = options
            self.projects.value = kept
        finally:
            self._quiet = False

    def _clients_changed(self, change: Any) -> None:
        if self._quiet:
            return
        self._narrow_projects()
        self._changed(change)

    def _set_sort_options(self, group_by: str) -> None:
        """Offer the columns of that view's table; a choice it lacks goes back to default."""
        empty = ExplorerState(group_by=group_by)
        table = explore_view(
            self.frame.iloc[:0], empty, tz=self.tz, week_start=self.week_start
        ).table
        labels = {str(c): column_label(c, table[c]) for c in table.columns}
        options = [("default order", "")] + [(labels.get(k, k), k) for k in sort_keys(table)]
        keep = self.sort_by.value if any(self.sort_by.value == o[1] for o in options) else ""
        self._quiet = True
        try:
            self.sort_by.options = options
            self.sort_by.value = keep
        finally:
            self._quiet = False

    def _group_changed(self, change: Any) -> None:
        if self._quiet:
            return
        self._set_sort_options(change["new"])
        self._changed(change)

    def _page_size_changed(self, _change: Any) -> None:
        if not self._quiet:
            self.show_page(0)

    def _sort_changed(self, _change: Any) -> None:
        if self._quiet or self.view is None or self._base is None:
            return
        with self._refresh_lock:
            by, descending = self.sort_by.value, self.descending.value
            table = self._base if not by else sort_table(self._base, by, descending=descending)
            self.view = self.view._replace(table=table)
            self._shown = shown_table(table, self.info)
            self.download_link.value = ""
            self.show_page(0)

    # -- refreshing --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute the view from the controls and replace the table and chart at once."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        with self._refresh_lock:  # a debounce timer and a click may refresh at the same time
            self._refresh()

    def _refresh(self) -> None:
        state = self.state
        self.download_link.value = ""  # a link made before the change no longer matches
        try:
            base = explore_view(
                self.frame, dataclasses.replace(state, sort_by=None), tz=self.tz,
                week_start=self.week_start,
            )  # fmt: skip
            table = base.table
            if state.sort_by is not None:
                table = sort_table(table, state.sort_by, descending=state.descending)
        except FBTimeError as exc:
            self.view = self._base = self._png = self._shown = None
            self.status.value = _ERROR.format(for_html(exc))  # said once, here
            self.page_label.value = ""
            self.output.outputs = ()
            return
        self._base, self.view = base.table, base._replace(table=table)
        self._shown = shown_table(table, self.info)  # rounded over every row, then paged
        self._png = chart_png(base, state.group_by)
        self.status.value = self._status_line(base.rows)
        self.show_page(0)

    def _status_line(self, rows: pd.DataFrame) -> str:
        t = analysis.totals(rows)
        line = (
            f"<b>{len(rows):,}</b> entries, {display.hours(t.hours)} h "
            f"({display.hours(t.unbilled_hours)} h unbilled"
        )
        if t.unbilled_amount is not None:
            line += f", {for_html(display.money(t.unbilled_amount, t.currency))} unbilled value"
        return line + ")"

    def show_page(self, page: int) -> None:
        """Show page ``page`` (0-based, clamped) of the table; the chart stays as it is."""
        with self._refresh_lock:
            if self.view is None:
                return
            self.page = min(max(0, page), self.pages - 1)
            rows, size = len(self.view.table), self.rows
            first = self.page * size
            self.page_label.value = (
                f"rows {min(first + 1, rows):,}–{min(first + size, rows):,} of {rows:,} "
                f"· page {self.page + 1} of {self.pages}"
            )
            self.prev_button.disabled = self.page == 0
            self.next_button.disabled = self.page >= self.pages - 1
            html = table_html(
                self.view.table, page=self.page, page_size=size, info=self.info, shown=self._shown
            )
            self.output.outputs = _display(html, self._png)

    # -- shortcuts ---------------------------------------------------------------------------
    def unbilled_only(self) -> None:
        """Set billable=Yes and billed=No (what can go on the next invoice), refresh once."""
        self._quietly((self.billable, "Yes"), (self.billed, "No"))
        self.refresh()

    def reset(self) -> None:
        """Put every control back as the panel opened (all dates, no filter), refresh once."""
        self._quiet = True
        try:
            self.projects.options = self._all_projects
            for control, value in self._initial.items():
                control.value = value
            self.sort_by.value, self.descending.value = "", False
        finally:
            self._quiet = False
        self._set_sort_options(self.group_by.value)
        self.refresh()

    # -- files ---------------------------------------------------------------------------------
    def export_frame(self) -> pd.DataFrame:
        """What an export holds: the table shown (every row, sorted as shown), display units.

        See :func:`fbtime.widgets.view.export_frame`.

        Raises:
            QueryError: the controls are in error (an end date before the start date).
        """
        view = self.view or explore_view(
            self.frame, self.state, tz=self.tz, week_start=self.week_start
        )
        return export_frame(view.table, self.info)

    def file_name(self, kind: Kind = "csv") -> str:
        """A new file name for an export: ``fbtime-<group>-<local time>.<kind>``."""
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return f"fbtime-{self.group_by.value}-{stamp}.{kind}"

    def _write(self, path: Path, kind: Kind) -> Path:
        view = self.view or explore_view(
            self.frame, self.state, tz=self.tz, week_start=self.week_start
        )
        table = display.report(view.table, currency=self.info.currency)
        if kind == "csv":  # a file for people: what the table shows, a BOM for Excel
            return to_csv(table, path)
        return to_excel(table, path, sheet_name=f"by {self.group_by.value}")

    def export_bytes(self, kind: Kind = "csv") -> bytes:
        """The export file's bytes (formula-safe CSV with a UTF-8 BOM, or .xlsx).

        Written by :func:`fbtime.export.to_csv` / :func:`~fbtime.export.to_excel` in a
        private temporary folder, so a download is the very file an export would be.
        """
        if kind not in MIME_TYPES:
            raise QueryError(f"kind must be one of {', '.join(MIME_TYPES)}, got {kind!r}")
        with tempfile.TemporaryDirectory(prefix="fbtime-export-") as folder:
            return self._write(Path(folder) / f"export.{kind}", kind).read_bytes()

    def download(self, kind: Kind = "csv") -> bytes:
        """Put a download link for the table in the panel; returns the file's bytes.

        The link carries the file itself (a ``data:`` URL), so the browser saves it
        wherever the notebook runs (JupyterLab, Voila) without a path into the server's
        file tree. A change of the controls removes the link.
        """
        data = self.export_bytes(kind)
        name = self.file_name(kind)
        href = f"data:{MIME_TYPES[kind]};base64,{base64.b64encode(data).decode()}"
        rows = len(self.view.table) if self.view is not None else 0
        self.download_link.value = (
            f"<a download='{for_html(name)}' href='{href}' class='fbtime-download' "
            f"style='font-weight:bold'>⬇ {for_html(name)}</a> ({rows:,} rows, "
            f"{len(data) / 1024:,.0f} KB)"
        )
        return data

    def _download_clicked(self, kind: Kind) -> None:
        try:
            self.download(kind)
        except FBTimeError as exc:
            self.status.value = _ERROR.format(for_html(exc))

    def export(self, path: str | Path | None = None, *, kind: Kind | None = None) -> Path:
        """Write the table shown (every row) to ``path``, or to a new file in ``export_dir``.

        ``kind`` ("csv" or "xlsx") defaults to the suffix of ``path``, else CSV. The file
        is what a download holds: formula-safe, display units, CSV with a UTF-8 BOM.
        """
        if path is None:
            kind = kind or "csv"
            path = self.export_dir / self.file_name(kind)
        path = Path(path)
        kind = kind or ("xlsx" if path.suffix.lower() == ".xlsx" else "csv")
        if kind not in MIME_TYPES:
            raise QueryError(f"kind must be one of {', '.join(MIME_TYPES)}, got {kind!r}")
        self.last_export = self._write(path, kind)
        rows = len(self.view.table) if self.view is not None else 0
        self.status.value += f"<br>exported {rows:,} rows to <b>{for_html(path)}</b>"
        return self.last_export
