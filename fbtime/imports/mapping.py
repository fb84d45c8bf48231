"""The names of an export matched to FreshBooks ids: teammates, clients, projects, services.

Rules (``import-formats.md`` §4): teammates by e-mail (Harvest, which has none: by first
and last name), clients, projects and services by exact name; a difference of case only
matches with a warning; nothing is ever fuzzy. Names compare in Unicode NFC with runs of
spaces collapsed, so the same name typed on two systems is the same name. A project is
looked for among its row's client's projects (a project name may repeat across clients);
the project's client is the entry's client. A team member whose invitation is pending has
no ``identity_id`` and cannot receive entries.

Anything unmatched stops the import with an :class:`~fbtime.UnmatchedNamesError` that
lists every name and carries a mapping template: for each name, ``"to"`` takes a
FreshBooks name (an e-mail for a teammate), an id, or ``false`` to leave its rows out.
An import never creates a client, project or service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fbtime.errors import UnmatchedNamesError
from fbtime.imports.template import KINDS, is_id, read_mapping, same, template
from fbtime.text import for_terminal

#: FreshBooks names shown as choices in the message, per kind.
SHOWN_CHOICES = 12
_ROWS_SHOWN = 8


@dataclass
class Reference:
    """What a name is matched against: FreshBooks' team, clients, projects and services.

    Attributes:
        team: :func:`fbtime.load_team`'s frame (index ``identity_id``; ``name``, ``email``).
        clients: :func:`fbtime.load_clients`'s frame (index ``id``; ``name``).
        projects: :func:`fbtime.load_projects`'s frame (index ``id``; ``name``,
            ``client_id``, and ``services`` as the API lists them).
        services: :func:`fbtime.load_services`'s frame (index ``id``; ``name``).
        pending: invited team members without an ``identity_id`` (``name``, ``email``).
    """

    team: pd.DataFrame
    clients: pd.DataFrame
    projects: pd.DataFrame
    services: pd.DataFrame
    pending: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Matched:
    """Rows with their FreshBooks ids and names, and what matching noticed.

    Attributes:
        rows: the input rows plus ``identity_id``, ``client_id``, ``project_id``,
            ``service_id`` (``Int64``) and ``teammate``, ``client_name``,
            ``project_name``, ``service_name`` (FreshBooks' names, for review).
        skipped: ``{"row", "reason"}`` for rows the mapping leaves out (``"to": false``).
        warnings: case-only matches and services outside their project.
    """

    rows: pd.DataFrame
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# -- matching ---------------------------------------------------------------------------
class _Names:
    """FreshBooks names of one kind: exact (NFC, spaces) first, then case-only."""

    def __init__(self, names: pd.Series) -> None:
        self.names = names.dropna()
        self.exact: dict[str, list[int]] = {}
        self.folded: dict[str, list[int]] = {}
        for ident, name in zip(self.names.index.tolist(), self.names.tolist(), strict=True):
            key = same(name)
            self.exact.setdefault(key, []).append(int(ident))
            self.folded.setdefault(key.casefold(), []).append(int(ident))

    def find(self, name: str, among: set[int] | None = None) -> tuple[list[int], bool]:
        """Ids named ``name`` (restricted to ``among``), and whether only case matched."""
        key = same(name)
        exact = [i for i in self.exact.get(key, []) if among is None or i in among]
        if exact:
            return exact, False
        folded = [i for i in self.folded.get(key.casefold(), []) if among is None or i in among]
        return folded, bool(folded)

    def choices(self) -> str:
        names = sorted({same(n) for n in self.names})
        shown = ", ".join(for_terminal(repr(n)) for n in names[:SHOWN_CHOICES])
        more = f" and {len(names) - SHOWN_CHOICES} more" if len(names) > SHOWN_CHOICES else ""
        return (shown + more) or "none"


class _Matcher:
    def __init__(self, rows: pd.DataFrame, ref: Reference, mapping: dict[str, Any],
                 by_email: bool) -> None:  # fmt: skip
        self.rows, self.ref, self.by_email = rows, ref, by_email
        self.mapping = {
            kind: {(same(i["file"]), same(i.get("client") or "")): i["to"] for i in items}
            for kind, items in mapping.items()
            if kind in KINDS
        }
        self.kept = mapping
        self.unmatched: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.left_out: dict[str, pd.Series] = {}
        team = ref.team
        self.emails = _Names(team["email"])
        self.people = _Names(team["name"])
        self.clients = _Names(ref.clients["name"])
        self.projects = _Names(ref.projects["name"])
        self.services = _Names(ref.services["name"])

    def rows_of(self, mask: pd.Series) -> list[int]:
        return [int(r) for r in self.rows.loc[mask, "row"]]

    def miss(self, kind: str, name: str, reason: str, mask: pd.Series,
             client: str | None = None) -> None:  # fmt: skip
        self.unmatched.append({
            "kind": kind, "file": name, "client": client, "reason": reason,
            "rows": self.rows_of(mask),
        })  # fmt: skip

    def case_note(self, kind: str, name: str, found: str) -> None:
        self.warnings.append(
            f"{kind[:-1]} {for_terminal(repr(name))} matched FreshBooks' "
            f"{for_terminal(repr(found))} (the case differs)"
        )

    def resolve(self, kind: str, name: str, names: _Names, mask: pd.Series, *,
                among: set[int] | None = None, client: str | None = None,
                valid: set[int] | None = None,
                absent: str | None = None) -> int | None:  # fmt: skip
        """The id for the file's ``name``: the mapping's answer first, else the name."""
        to = self.mapping[kind].get((same(name), same(client or "")), None)
        if to is False:
            self.left_out[f"{kind}:{client}:{name}"] = mask
            return None
        if isinstance(to, int):  # an id (read_mapping checked it)
            if valid is not None and to not in valid:
                scope = " of this client" if among is not None else ""
                self.miss(kind, name, f"the mapping's id {to} is not a FreshBooks {kind[:-1]}"
                          f"{scope}", mask, client)  # fmt: skip
                return None
            return int(to)
        target = to if isinstance(to, str) else name
        if kind == "teammates" and isinstance(to, str) and "@" in to:
            names = self.emails
        ids, case_only = names.find(target, among)
        if len(ids) == 1:
            if case_only:
                self.case_note(kind, target, str(names.names[ids[0]]))
            return ids[0]
        if len(ids) > 1:
            reason = f"{len(ids)} FreshBooks {kind} have this name (ids {', '.join(map(str, ids))})"
            self.miss(kind, name, reason + ": give one id in the mapping", mask, client)
            return None
        what = "e-mail" if names is self.emails else "name"
        reason = absent or f"no FreshBooks {kind[:-1]} has this {what}"
        if isinstance(to, str):
            reason = f"the mapping's {for_terminal(repr(to))}: no FreshBooks {kind[:-1]} has it"
        self.miss(kind, name, reason + f"; FreshBooks has: {names.choices()}", mask, client)
        return None

    def teammates(self) -> pd.Series:
        person = self.rows["person"]
        ids: dict[str, int | None] = {}
        pending = {same(p.get("email") if self.by_email else p.get("name") or "").casefold()
                   for p in self.ref.pending}  # fmt: skip
        names = self.emails if self.by_email else self.people
        for name in person.dropna().unique():
            mask = person.eq(name).fillna(False)
            mapped = self.mapping["teammates"].get((same(name), ""))
            if mapped is None and not names.find(name)[0] and same(name).casefold() in pending:
                self.miss("teammates", name, "invited to FreshBooks but has not accepted: no "
                          "identity_id, so no entry can be theirs", mask)  # fmt: skip
                ids[name] = None
                continue
            ids[name] = self.resolve("teammates", name, names, mask,
                                     valid={int(i) for i in self.ref.team.index})  # fmt: skip
        return person.map(ids).astype("Int64")

    def simple(self, kind: str, column: str, names: _Names, frame: pd.DataFrame) -> pd.Series:
        values = self.rows[column]
        ids: dict[str, int | None] = {}
        valid = {int(i) for i in frame.index}
        for name in values.dropna().unique():
            ids[name] = self.resolve(kind, name, names, values.eq(name).fillna(False),
                                     valid=valid)  # fmt: skip
        return values.map(ids).astype("Int64")

    def projects_of(self, client_ids: pd.Series) -> tuple[pd.Series, pd.Series]:
        """Project ids, and each row's client id (the project's client when it has one)."""
        frame = self.ref.projects
        owner = frame["client_id"]
        project, client = self.rows["project"], self.rows["client"]
        out = pd.Series(pd.NA, index=self.rows.index, dtype="Int64")
        pairs = pd.DataFrame({"p": project, "c": client.fillna(""), "id": client_ids})
        named = pairs.dropna(subset=["p"])
        for (name, file_client), group in named.groupby(["p", "c"], sort=False):
            cid = group["id"].iloc[0]
            among = None if pd.isna(cid) else {int(i) for i in owner.index[owner.eq(cid)]}
            mask = pd.Series(False, index=self.rows.index)
            mask[group.index] = True
            if file_client and among is None:  # its client is unmatched (or left out)
                mapped = self.mapping["projects"].get((same(name), same(file_client)))
                if mapped is None and not self.projects.find(str(name))[0]:
                    self.miss("projects", str(name), "no FreshBooks project has this name; "
                              f"FreshBooks has: {self.projects.choices()}", mask,
                              str(file_client))  # fmt: skip
                continue
            absent = None
            if among is not None and not self.projects.find(str(name), among)[0]:
                elsewhere, _ = self.projects.find(str(name))
                if elsewhere:
                    clients = ", ".join(sorted({self.client_name(owner.get(i)) for i in elsewhere}))
                    absent = (
                        f"no project of this name for client {for_terminal(repr(file_client))} "
                        f"in FreshBooks (it exists for {for_terminal(clients)})"
                    )
            valid = among if among is not None else {int(i) for i in frame.index}
            found = self.resolve(
                "projects",
                str(name),
                self.projects,
                mask,
                among=among,
                client=str(file_client) or None,
                valid=valid,
                absent=absent,
            )
            out[group.index] = found
        project_client = out.map(owner.to_dict()).astype("Int64")
        client_ids = project_client.where(out.notna(), client_ids)
        return out, client_ids

    def client_name(self, ident: Any) -> str:
        if ident is None or pd.isna(ident):
            return "no client"
        return str(self.ref.clients["name"].get(ident, f"client {ident}"))

    def service_warnings(self, project_ids: pd.Series, service_ids: pd.Series) -> None:
        frame = self.ref.projects
        if "services" not in frame.columns:
            return
        allowed = dict(zip(frame.index.tolist(), map(_service_ids, frame["services"]), strict=True))
        pairs = pd.DataFrame({"p": project_ids, "s": service_ids}).dropna()
        for (p, s), group in pairs.groupby(["p", "s"]):
            if s not in allowed.get(p, {s}):
                rows = [int(r) for r in self.rows.loc[group.index, "row"]]
                self.warnings.append(
                    f"service {for_terminal(repr(self.ref.services['name'].get(s)))} is not one "
                    f"of project {for_terminal(repr(frame['name'].get(p)))}'s services in "
                    f"FreshBooks (rows {_shown(rows)})"
                )


def _service_ids(value: Any) -> set[int]:
    if not isinstance(value, list):
        return set()
    return {int(s["id"]) for s in value if isinstance(s, dict) and is_id(s.get("id"))}


def _shown(rows: list[int]) -> str:
    return ", ".join(map(str, rows[:_ROWS_SHOWN])) + (" ..." if len(rows) > _ROWS_SHOWN else "")


def match_names(
    rows: pd.DataFrame,
    reference: Reference,
    *,
    by_email: bool = True,
    mapping: str | Path | Mapping[str, Any] | None = None,
) -> Matched:
    """Give each row its FreshBooks teammate, client, project and service ids.

    Args:
        rows: a :class:`~fbtime.imports.read.TimeExport`'s ``rows``.
        reference: FreshBooks' names (:class:`Reference`).
        by_email: match people by e-mail (Toggl, Clockify), else by first and last name
            (Harvest).
        mapping: a filled template (file or dict) naming what the export's names are.

    Raises:
        UnmatchedNamesError: every name with no (or no single) match, and a template.
        ImportFileError: the mapping cannot be read.
    """
    checked = read_mapping(mapping)
    m = _Matcher(rows, reference, checked, by_email)
    identity = m.teammates()
    client_ids = m.simple("clients", "client", m.clients, reference.clients)
    project_ids, client_ids = m.projects_of(client_ids)
    service_ids = m.simple("services", "task", m.services, reference.services)
    if m.unmatched:
        raise UnmatchedNamesError(
            _unmatched_message(m.unmatched),
            unmatched=m.unmatched,
            template=template(checked, m.unmatched),
        )
    m.service_warnings(project_ids, service_ids)
    out = rows.copy()
    for column, values in (("identity_id", identity), ("client_id", client_ids),
                           ("project_id", project_ids), ("service_id", service_ids)):  # fmt: skip
        out[column] = values
    for column, ids, frame in (("teammate", identity, reference.team),
                               ("client_name", client_ids, reference.clients),
                               ("project_name", project_ids, reference.projects),
                               ("service_name", service_ids, reference.services)):  # fmt: skip
        out[column] = ids.map(frame["name"].to_dict()).astype("str").to_numpy()
    left = pd.Series(False, index=rows.index)
    for mask in m.left_out.values():
        left |= mask
    skipped = [{"row": int(r), "reason": "left out by the mapping"} for r in rows.loc[left, "row"]]
    return Matched(out[~left.to_numpy()].reset_index(drop=True), skipped, m.warnings)


def _unmatched_message(unmatched: list[dict[str, Any]]) -> str:
    lines = [
        f"{len(unmatched)} name(s) in the export match nothing in FreshBooks (an import "
        "creates no teammate, client, project or service):"
    ]
    for u in unmatched:
        client = f" (client {for_terminal(repr(u['client']))})" if u.get("client") else ""
        lines.append(
            f"  {u['kind'][:-1]} {for_terminal(repr(u['file']))}{client}, rows "
            f"{_shown(u['rows'])}: {u['reason']}"
        )
    lines.append(
        "Fill the template (error.template; the CLI writes it next to the file): for each "
        'name, "to" is a FreshBooks name (a teammate\'s e-mail), an id, or false to leave '
        "its rows out; then pass it back with mapping=... (--mapping FILE)."
    )
    return "\n".join(lines)
