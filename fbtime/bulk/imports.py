"""Plans of creates: time from another tracker (:func:`import_time`), or a frame that
already holds FreshBooks ids (:func:`plan_create`).

Building a plan sends nothing but reads: the business's names (to match and to show the
reviewer names, not ids) and its entries over the rows' span (a ``team=True`` load), so
a row that is already an entry is skipped and reported, and importing a file twice plans
nothing. Each change is a ``create`` with the entry's whole writable set; its id is the
file's row number (``plan_create``: the frame's ``row`` column, else 1, 2, ...), and its
review context names the file and row, so the journal records where every created entry
came from. Applying, resuming and undoing are every plan's (:mod:`fbtime.bulk.apply`): a
create is never sent blind (:mod:`fbtime.bulk.once`), and undo deletes what was created.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from fbtime.api.client import Client
from fbtime.api.query import MAX_INT
from fbtime.bulk.builders import api_values
from fbtime.bulk.change import Change, Fields
from fbtime.bulk.plan import UpdatePlan
from fbtime.errors import ImportFileError, PlanError
from fbtime.imports.account import load_existing, load_reference, usual_zone
from fbtime.imports.duplicates import split_duplicates
from fbtime.imports.mapping import Reference, match_names
from fbtime.imports.read import DEFAULT_DAY_START, read_time_export
from fbtime.imports.template import read_mapping
from fbtime.text import for_terminal

#: The columns :func:`plan_create` needs, with the FreshBooks field each one is.
CREATE_COLUMNS = ("started_at", "duration", "identity_id", "client_id", "project_id",
                  "service_id", "note", "billable")  # fmt: skip
_IDS = ("identity_id", "client_id", "project_id", "service_id")


class ImportNotice(UserWarning):
    """Something a reviewer of an import should know (rows left out, case-only matches,
    synthetic start times); the plan is built all the same."""


def import_time(
    path: str | Path,
    format: str,
    *,
    tz: str,
    client: Client | None = None,
    mapping: str | Path | Mapping[str, Any] | None = None,
    date_order: str | None = None,
    decimal: str | None = None,
    day_start: dt.time | str = DEFAULT_DAY_START,
    tags_in_note: bool = False,
    billed_from_invoiced: bool = False,
) -> UpdatePlan:
    """Plan creating the entries of a Toggl Track, Harvest or Clockify export; nothing sent.

    The file is read first (every bad row listed, before any request). Then people are
    matched by e-mail (Harvest: by name), clients, projects and services by exact name;
    anything unmatched stops with :class:`~fbtime.UnmatchedNamesError` and a mapping
    template to fill and pass back as ``mapping``. Rows already in FreshBooks (same
    teammate, start, duration and note) are skipped and listed in ``plan.skipped``.
    What a reviewer should know is issued as :class:`ImportNotice` warnings.

    Args:
        path: the detailed-report CSV.
        format: ``"toggl"``, ``"harvest"`` or ``"clockify"``.
        tz: the IANA zone the file's times are in (the exporting account's setting).
        client: the FreshBooks connection (default ``fbtime.Client()``).
        mapping: a filled mapping template (file or dict) for names that do not match.
        date_order: ``"MDY"`` or ``"DMY"`` when the file's dates cannot show it.
        decimal: Harvest's decimal mark when a file mixes ``","`` and ``"."``.
        day_start: where Harvest rows without a clock time start, one after another.
        tags_in_note: append the row's tags to the note (``"note [tag, tag]"``).
        billed_from_invoiced: mark rows the other tool invoiced as billed (default: not
            billed; those invoices live in the other tool).

    Returns:
        An :class:`~fbtime.UpdatePlan` of kind ``import``: review it, apply it.

    Raises:
        ImportFileError: the file, the zone or the mapping cannot be read (nothing sent).
        UnmatchedNamesError: names with no FreshBooks match (nothing written).

    Example:
        >>> _ = open("toggl.csv", "w", encoding="utf-8").write(
        ...     "User,Email,Client,Project,Task,Description,Billable,Start date,Start time,"
        ...     "End date,End time,Duration\\n"
        ...     "Zoë Roy,zo.roy@example.com,Acme Robotics,Support Retainer,Consulting,Call,"
        ...     "Yes,2026-12-01,10:00:00,2026-12-01,10:30:00,00:30:00\\n"
        ... )
        >>> plan = fbtime.import_time("toggl.csv", "toggl", tz="America/Toronto", client=client)
        >>> plan.kind, plan.ids, plan.changes[0].after["started_at"], plan.skipped
        ('import', [2], '2026-12-01T15:00:00Z', ())
    """
    export = read_time_export(
        path, format, tz=tz, date_order=date_order, decimal=decimal, day_start=day_start
    )
    checked = read_mapping(mapping)  # a bad mapping fails before any request
    client = client or Client()
    reference = load_reference(client)
    matched = match_names(export.rows, reference, by_email=format != "harvest", mapping=checked)
    rows = matched.rows
    if tags_in_note:
        tags = rows["tags"].fillna("")
        joined = rows["note"].str.cat(" [" + tags + "]")
        rows = rows.assign(note=joined.where(tags.ne(""), rows["note"]))
    billed = rows["invoiced"].fillna(False) if billed_from_invoiced else False
    rows = rows.assign(billed=billed, local_timezone=export.timezone)
    notices = [*export.warnings, *matched.warnings]
    skipped = [*export.skipped, *matched.skipped]
    return _plan(rows, "import", client, skipped, notices, export.timezone)


def plan_create(
    frame: pd.DataFrame, *, client: Client | None = None, business_id: int | None = None
) -> UpdatePlan:
    """Plan creating one entry per row of a frame that holds FreshBooks ids; nothing sent.

    The frame needs :data:`CREATE_COLUMNS`: ``started_at`` (aware, or naive UTC),
    ``duration`` (whole seconds), ``identity_id``, ``client_id``, ``project_id``,
    ``service_id`` (ids or missing), ``note`` and ``billable``; ``billed`` and ``row`` (the
    change ids; default 1, 2, ...) are read when present. Rows already in FreshBooks are
    skipped as for :func:`import_time`.

    Raises:
        PlanError: a missing column or a value of the wrong type (naming the rows).
    """
    rows = _checked_frame(frame)
    client = client or Client()
    if business_id is not None and int(business_id) != client.business_id:
        raise PlanError(f"the client is for business {client.business_id}, not {business_id}")
    reference = load_reference(client)
    rows = _with_names(rows, reference)
    return _plan(rows, "create", client, [], [], None)


def _checked_frame(frame: Any) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise PlanError(f"plan_create needs a DataFrame, got {type(frame).__name__}")
    missing = [c for c in CREATE_COLUMNS if c not in frame.columns]
    if missing:
        raise PlanError(
            f"the frame has no column(s) {', '.join(missing)}; plan_create needs "
            f"{', '.join(CREATE_COLUMNS)}"
        )
    rows = frame.reset_index(drop=True)
    try:
        started = pd.to_datetime(rows["started_at"], utc=True)
    except (TypeError, ValueError) as exc:
        raise PlanError(f"started_at cannot be read as times: {for_terminal(exc)}") from None
    numbers: dict[str, pd.Series] = {}
    for name in ("duration", *_IDS):
        try:
            numbers[name] = pd.to_numeric(rows[name]).astype("Int64")
        except (TypeError, ValueError):
            raise PlanError(f"{name} must hold whole numbers (ids, seconds)") from None
    problems = {
        "started_at": started.isna(),
        "duration": numbers["duration"].isna() | ~numbers["duration"].between(0, MAX_INT),
        "identity_id": numbers["identity_id"].isna() | (numbers["identity_id"] <= 0),
        **{name: numbers[name] <= 0 for name in _IDS[1:]},
    }
    row_ids = (
        pd.to_numeric(rows["row"]).astype("Int64")
        if "row" in rows
        else pd.Series(range(1, len(rows) + 1), dtype="Int64")
    )
    if row_ids.isna().any() or (row_ids <= 0).any() or row_ids.duplicated().any():
        raise PlanError("the 'row' column must hold distinct positive numbers (the change ids)")
    for name, bad in problems.items():
        bad = bad.fillna(False).astype(bool)
        if bad.any():
            shown = ", ".join(map(str, row_ids[bad].head(10).tolist()))
            raise PlanError(f"{name} is missing or out of range in row(s) {shown}")
    billable = rows["billable"].astype("boolean")
    if billable.isna().any():
        raise PlanError("billable must be True or False in every row")
    note = rows["note"].astype("str").fillna("")
    out = pd.DataFrame({
        "row": row_ids, "started_at": started.astype("datetime64[us, UTC]").dt.floor("s"),
        **numbers, "note": note, "billable": billable,
        "billed": rows["billed"].astype("boolean").fillna(False) if "billed" in rows else False,
    })  # fmt: skip
    if "source_file" in rows:
        out["source_file"] = rows["source_file"].astype("str")
    return out


def _with_names(rows: pd.DataFrame, reference: Reference) -> pd.DataFrame:
    """FreshBooks' names of the rows' ids (the reviewer reads names); unknown ids refused."""
    named: dict[str, pd.Series] = {}
    for column, ids, frame in (("teammate", "identity_id", reference.team),
                               ("client_name", "client_id", reference.clients),
                               ("project_name", "project_id", reference.projects),
                               ("service_name", "service_id", reference.services)):  # fmt: skip
        names = frame["name"].to_dict()
        unknown = rows[ids].notna() & ~rows[ids].isin(list(names))
        if unknown.any():
            listed = ", ".join(map(str, sorted(set(rows.loc[unknown, ids].tolist()))[:10]))
            where = ", ".join(map(str, rows.loc[unknown, "row"].head(10)))
            raise PlanError(f"{ids} {listed} is not in this business (rows {where})")
        named[column] = rows[ids].map(names).astype("str")
    return rows.assign(**named)


def _plan(rows: pd.DataFrame, kind: str, client: Client, skipped: list[dict[str, Any]],
          notices: list[str], zone: str | None) -> UpdatePlan:  # fmt: skip
    existing = load_existing(client, rows)
    kept, duplicates = split_duplicates(rows, existing)
    usual = usual_zone(existing)
    if zone is not None and usual is not None and usual != zone:
        notices.append(
            f"the file was read in {zone}; this account's entries in that span were mostly "
            f"logged in {usual}: check the zone if the starts look shifted"
        )
    if len(duplicates):
        notices.append(f"{len(duplicates)} row(s) already in FreshBooks are skipped")
    for notice in notices:
        warnings.warn(for_terminal(notice), ImportNotice, stacklevel=3)
    left = [{"id": s["row"], "reason": s["reason"]} for s in [*skipped, *duplicates]]
    left.sort(key=lambda s: s["id"])
    return UpdatePlan(
        kind,
        client.business_id,
        _changes(kept, zone),
        left,
        api_url=client.base_url,
        connection=client.connection_id,
    )


def _changes(rows: pd.DataFrame, zone: str | None) -> list[Change]:
    """One create per row: the entry's whole writable set, and what a reviewer reads
    (built on columns, as :func:`fbtime.bulk.builders.build_plan` builds its changes)."""
    count = len(rows)
    none: list[Any] = [None] * count
    started = rows["started_at"]
    clients = api_values(rows["client_id"])
    after: dict[str, list[Any]] = {
        "identity_id": api_values(rows["identity_id"]), "is_logged": [True] * count,
        "started_at": api_values(started), "duration": api_values(rows["duration"]),
        "client_id": clients, "project_id": api_values(rows["project_id"]),
        "service_id": api_values(rows["service_id"]), "task_id": none, "retainer_id": none,
        "pending_client": none, "pending_project": none, "pending_task": none,
        "note": api_values(rows["note"]), "billable": api_values(rows["billable"]),
        "billed": api_values(rows["billed"]), "internal": [c is None for c in clients],
    }  # fmt: skip
    local = started.dt.tz_convert(zone or "UTC")
    if zone is not None:
        after["local_started_at"] = local.dt.strftime("%Y-%m-%dT%H:%M:%S").tolist()
        after["local_timezone"] = [zone] * count
    records = rows.to_dict("records")
    context = {
        "date": local.dt.strftime("%Y-%m-%d").tolist(),
        "teammate": [_text(r.get("teammate")) for r in records],
        "client": [_text(r.get("client_name")) for r in records],
        "project": [_text(r.get("project_name")) for r in records],
        "amount": none,
        "note": [_text(n) for n in after["note"]],
        "source": [_source(r) for r in records],
    }
    hours = (rows["duration"].astype("Float64") / 3600).round(4).tolist()
    names, keys = list(after), list(context)
    return [
        Change.made(
            int(row),
            "create",
            Fields(),
            Fields(zip(names, fields, strict=True)),
            h,
            c,
            Fields(zip(keys, shown, strict=True)),
        )
        for row, fields, h, c, shown in zip(
            api_values(rows["row"]),
            zip(*after.values(), strict=True),
            hours,
            clients,
            zip(*context.values(), strict=True),
            strict=True,
        )
    ]


def _source(row: Mapping[Any, Any]) -> str:
    """Where a create comes from: ``"toggl.csv row 12"`` (and whether fbtime placed it)."""
    where = (
        f"{row['source_file']} row {row['row']}" if "source_file" in row else f"row {row['row']}"
    )
    if row.get("synthetic_start") is True:
        where += " (no clock time: start placed by fbtime)"
    return where


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value) or None


__all__ = ["CREATE_COLUMNS", "ImportFileError", "ImportNotice", "import_time", "plan_create"]
