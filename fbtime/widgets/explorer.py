"""``df.fbtime.explore()``: the explorer panel (controls -> state -> one table and chart)."""

from __future__ import annotations

import base64
import datetime as dt
import threading
from pathlib import Path
from typing import Any

import ipywidgets as w
import pandas as pd

from fbtime import analysis
from fbtime.errors import FBTimeError
from fbtime.export import to_csv
from fbtime.schema import check_frame
from fbtime.text import for_html, for_terminal
from fbtime.widgets.view import (
    FLAG_CHOICES,
    GROUP_BYS,
    ExplorerState,
    ExplorerView,
    chart_png,
    explore_view,
    table_html,
)


def _display(text_html: str, png: bytes | None = None) -> tuple[dict[str, Any], ...]:
    items: list[dict[str, Any]] = [
        {"output_type": "display_data", "metadata": {},
         "data": {"text/html": text_html, "text/plain": "fbtime table"}},
    ]  # fmt: skip
    if png is not None:
        data = {"image/png": base64.b64encode(png).decode(), "text/plain": "fbtime chart"}
        items.append({"output_type": "display_data", "metadata": {}, "data": data})
    return tuple(items)


def _options(frame: pd.DataFrame, group: str) -> list[tuple[str, Any]]:
    """(label, id) choices: names where the frame has them; a repeated label gets its id."""
    id_col, name_col = analysis.GROUPS[group]
    cols = [id_col, name_col] if name_col in frame else [id_col]
    pairs = frame[cols].drop_duplicates(id_col)
    labels: dict[Any, str] = {}
    for row in pairs.itertuples(index=False):
        key = None if pd.isna(row[0]) else int(row[0])
        name = row[1] if len(row) > 1 else None
        if key is None:
            labels[key] = f"<no {group}>"
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


class Explorer(w.VBox):
    """Filter, group and chart a time-entry frame with widgets; export what you see as CSV.

    Controls: a date range, client and project multi-selects (by name when the frame has
    ``client_name``/``project_name``), a teammate, billable and billed toggles, a group-by
    choice and an "unbilled only" shortcut. Changes are debounced by ``debounce`` seconds
    (0 = refresh at once). The caller's frame is not modified.

    Example:
        >>> named = df.fbtime.with_names(clients=fbtime.load_clients(client))
        >>> panel = named.fbtime.explore(debounce=0)  # in a notebook, show `panel`
        >>> panel.clients.value = (79201,)  # what ticking a client in the panel does
        >>> panel.status.value
        '<b>16</b> entries, 20.75 h (10.49 h unbilled)'
    """

    def __init__(
        self, frame: pd.DataFrame, *, debounce: float = 0.3, export_dir: str | Path = "exports"
    ) -> None:
        check_frame(frame)
        self.frame = frame
        self.debounce = debounce
        self.export_dir = Path(export_dir)
        self.view: ExplorerView | None = None
        self.last_export: Path | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._quiet = False
        days = analysis.local_day(frame, analysis.resolve_tz(frame)).dropna()
        first = days.min().date() if len(days) else None
        last = days.max().date() if len(days) else None
        wide = {"layout": w.Layout(width="auto")}
        self.start = w.DatePicker(value=first, description="from")
        self.end = w.DatePicker(value=last, description="to")
        self.clients = w.SelectMultiple(options=_options(frame, "client"), rows=6,
                                        description="clients")  # fmt: skip
        self.projects = w.SelectMultiple(options=_options(frame, "project"), rows=6,
                                         description="projects")  # fmt: skip
        people = [o for o in _options(frame, "teammate") if o[1] is not None]
        self.teammate = w.Dropdown(options=[("everyone", None), *people], description="teammate")
        self.billable = w.ToggleButtons(options=FLAG_CHOICES, description="billable", **wide)
        self.billed = w.ToggleButtons(options=FLAG_CHOICES, description="billed", **wide)
        self.group_by = w.ToggleButtons(options=GROUP_BYS, description="group by", **wide)
        self.unbilled_button = w.Button(description="unbilled only", icon="filter")
        self.export_button = w.Button(description="export CSV", icon="download")
        self.status = w.HTML()
        self.output = w.Output()
        self.controls = (self.start, self.end, self.clients, self.projects, self.teammate,
                         self.billable, self.billed, self.group_by)  # fmt: skip
        for control in self.controls:
            control.observe(self._changed, names="value")
        self.unbilled_button.on_click(lambda _: self.unbilled_only())
        self.export_button.on_click(lambda _: self.export())
        super().__init__(
            [
                w.HBox([self.start, self.end, self.teammate]),
                w.HBox([self.clients, self.projects]),
                self.billable,
                self.billed,
                self.group_by,
                w.HBox([self.unbilled_button, self.export_button]),
                self.status,
                self.output,
            ]
        )
        self.refresh()

    @property
    def state(self) -> ExplorerState:
        """The controls' current values as an :class:`ExplorerState`."""
        return ExplorerState(
            start=self.start.value,
            end=self.end.value,
            clients=tuple(self.clients.value),
            projects=tuple(self.projects.value),
            teammate=self.teammate.value,
            billable=self.billable.value,
            billed=self.billed.value,
            group_by=self.group_by.value,
        )

    @property
    def table(self) -> pd.DataFrame | None:
        """The table shown now (None before the first refresh or after an error)."""
        return self.view.table if self.view is not None else None

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

    def refresh(self) -> None:
        """Recompute the view from the controls and replace the table and chart at once."""
        with self._refresh_lock:  # a debounce timer and a click may refresh at the same time
            self._refresh()

    def _refresh(self) -> None:
        state = self.state
        try:
            view = explore_view(self.frame, state)
        except FBTimeError as exc:
            self.view = None
            self.status.value = f"<span style='color:#b00020'>{for_html(str(exc))}</span>"
            self.output.outputs = _display(f"<p>{for_html(str(exc))}</p>")
            return
        self.view = view
        hours = analysis.hours_frame(view.rows, "UTC")
        self.status.value = (
            f"<b>{len(view.rows):,}</b> entries, {hours['hours'].sum():,.2f} h "
            f"({hours['unbilled_hours'].sum():,.2f} h unbilled)"
        )
        self.output.outputs = _display(table_html(view.table), chart_png(view, state.group_by))

    def unbilled_only(self) -> None:
        """Set billable=Yes and billed=No (what can go on the next invoice), refresh once."""
        self._quiet = True
        try:
            self.billable.value, self.billed.value = "Yes", "No"
        finally:
            self._quiet = False
        self.refresh()

    def export(self, path: str | Path | None = None) -> Path:
        """Write the filtered entries as CSV (to ``path`` or a new file in ``export_dir``).

        The file is for opening in a spreadsheet, so text that would run as a formula is
        neutralised (:func:`fbtime.export.to_csv`); ``fbtime.as_time_entries`` reads it back.
        """
        view = self.view or explore_view(self.frame, self.state)
        if path is None:
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            path = self.export_dir / f"fbtime-explorer-{stamp}.csv"
        path = to_csv(view.rows, path)
        self.last_export = path
        link = for_html(str(path))
        self.status.value += (
            f"<br>exported {len(view.rows):,} entries to <a href='{link}' download>{link}</a>"
        )
        return path
