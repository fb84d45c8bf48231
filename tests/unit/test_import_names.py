"""An export's names matched to FreshBooks ids: exact, case-only with a warning, never fuzzy.

The reference frames have the shapes ``load_team``, ``load_clients``, ``load_projects`` and
``load_services`` return, with the sandbox's traps: project names repeated across clients,
accented names, an invitation without an ``identity_id``.
"""

from __future__ import annotations

import json
import os
import unicodedata

import pandas as pd
import pytest
from time_exports import harvest, toggl

import fbtime
from fbtime.imports import read_time_export
from fbtime.imports.mapping import Reference, match_names
from fbtime.imports.template import read_mapping, save_mapping
from fbtime.load import TEAM_COLUMNS
from fbtime.rates import projects_frame

OLIVIA, LIAM, ZOE = 6677846, 6677905, 6677943
CAFE, ACME, NORTHWIND = 78745, 78995, 78930
DESIGN, DEVELOPMENT, ADMIN = 19536, 19560, 19788


def team(rows=None) -> pd.DataFrame:
    rows = rows or [
        (OLIVIA, "Olivia", "Tremblay", "olivia.tremblay@example.com"),
        (LIAM, "Liam", "Gagnon", "liam.gagnon@example.com"),
        (ZOE, "Zoë", "Roy", "zo.roy@example.com"),
    ]
    frame = pd.DataFrame(
        [{"name": f"{f} {last}", "first_name": f, "last_name": last, "email": e, "role": None,
          "job_title": None, "active": True, "source": "team_members"}
         for _, f, last, e in rows],
        index=pd.Index([r[0] for r in rows], dtype="Int64", name="identity_id"),
    )  # fmt: skip
    return frame.astype(TEAM_COLUMNS)


def reference(**kw) -> Reference:
    clients = pd.DataFrame(
        {"name": ["Société Générale Café", "Northwind Traders", "Acme Robotics"]},
        index=pd.Index([CAFE, NORTHWIND, ACME], dtype="Int64", name="id"),
    ).astype("str")
    services = lambda *ids: [{"id": i, "name": "x"} for i in ids]  # noqa: E731
    projects = projects_frame([
        {"id": 2318281, "title": "Mobile App", "client_id": NORTHWIND,
         "services": services(DESIGN, DEVELOPMENT)},
        {"id": 2318572, "title": "Mobile App", "client_id": CAFE, "services": services(DESIGN)},
        {"id": 2318774, "title": "Support Retainer", "client_id": ACME,
         "services": services(DESIGN, DEVELOPMENT)},
        {"id": 2318860, "title": "Internal — Operations", "client_id": None,
         "services": services(ADMIN)},
    ])  # fmt: skip
    service_frame = pd.DataFrame(
        {"name": ["Design", "Development", "Admin"], "billable": [True, True, False]},
        index=pd.Index([DESIGN, DEVELOPMENT, ADMIN], dtype="Int64", name="id"),
    ).astype({"name": "str", "billable": "boolean"})
    parts = {
        "team": team(), "clients": clients, "projects": projects, "services": service_frame,
        "pending": [{"name": "Sofia Rossi", "email": "sofia.rossi@example.com"}],
    }  # fmt: skip
    return Reference(**{**parts, **kw})


def row(**kw):
    base = {
        "User": "Olivia Tremblay", "Email": "olivia.tremblay@example.com",
        "Client": "Northwind Traders", "Project": "Mobile App", "Task": "Design",
        "Description": "Wireframes", "Billable": "Yes", "Start date": "2026-03-09",
        "Start time": "09:00:00", "End date": "", "End time": "", "Duration": "01:00:00",
    }  # fmt: skip
    return {**base, **kw}


def rows_of(tmp_path, *rows, name="t.csv"):
    return read_time_export(toggl(tmp_path / name, list(rows)), "toggl", tz="UTC").rows


def test_every_name_is_matched_and_projects_are_looked_for_under_their_client(tmp_path):
    rows = rows_of(
        tmp_path,
        row(),
        row(Client="Société Générale Café", Email="liam.gagnon@example.com"),
        row(Client="Acme Robotics", Project="Support Retainer", Task="Development"),
        row(Client="", Project="Internal — Operations", Task="Admin"),
        row(Client="Acme Robotics", Project="", Task=""),
    )
    matched = match_names(rows, reference())
    out = matched.rows
    assert list(out["identity_id"]) == [OLIVIA, LIAM, OLIVIA, OLIVIA, OLIVIA]
    assert list(out["project_id"])[:4] == [2318281, 2318572, 2318774, 2318860]
    assert pd.isna(out["project_id"][4])
    assert list(out["client_id"])[:3] == [NORTHWIND, CAFE, ACME]
    assert pd.isna(out["client_id"][3]) and out["client_id"][4] == ACME
    assert list(out["service_id"])[:4] == [DESIGN, DESIGN, DEVELOPMENT, ADMIN]
    assert list(out["teammate"]) == ["Olivia Tremblay", "Liam Gagnon", *["Olivia Tremblay"] * 3]
    assert list(out["project_name"])[:2] == ["Mobile App", "Mobile App"]
    assert list(out["client_name"])[1] == "Société Générale Café"
    assert {c: str(out.dtypes[c]) for c in ("identity_id", "client_id", "project_id")} == {
        "identity_id": "Int64", "client_id": "Int64", "project_id": "Int64",
    }  # fmt: skip
    assert matched.warnings == [] and matched.skipped == []


def test_case_only_differences_match_with_a_warning_and_nfd_text_is_the_same_name(tmp_path):
    decomposed = unicodedata.normalize("NFD", "Société Générale Café")
    rows = rows_of(
        tmp_path,
        row(Email="Olivia.Tremblay@Example.com", Client="northwind traders"),
        row(Client=decomposed, Project="Mobile  App"),  # two spaces: the same name
    )
    matched = match_names(rows, reference())
    assert list(matched.rows["identity_id"]) == [OLIVIA, OLIVIA]
    assert list(matched.rows["client_id"]) == [NORTHWIND, CAFE]
    assert list(matched.rows["project_id"]) == [2318281, 2318572]
    assert matched.warnings == [
        "teammate 'Olivia.Tremblay@Example.com' matched FreshBooks' "
        "'olivia.tremblay@example.com' (the case differs)",
        "client 'northwind traders' matched FreshBooks' 'Northwind Traders' (the case differs)",
    ]


def test_every_unmatched_name_is_listed_with_a_template(tmp_path):
    rows = rows_of(
        tmp_path,
        row(Email="ana@elsewhere.org"),
        row(Email="sofia.rossi@example.com"),
        row(Client="Acme Robotics", Project="Mobile App"),
        row(Client="Initech"),
        row(Task="Dev"),
        row(Email="ana@elsewhere.org", Task="Dev"),
    )
    with pytest.raises(fbtime.UnmatchedNamesError) as info:
        match_names(rows, reference())
    found = [(u["kind"], u["file"], u["client"], u["rows"]) for u in info.value.unmatched]
    assert found == [
        ("teammates", "ana@elsewhere.org", None, [2, 7]),
        ("teammates", "sofia.rossi@example.com", None, [3]),
        ("clients", "Initech", None, [5]),
        ("projects", "Mobile App", "Acme Robotics", [4]),
        ("services", "Dev", None, [6, 7]),
    ]
    reasons = {u["file"]: u["reason"] for u in info.value.unmatched}
    assert reasons["sofia.rossi@example.com"].startswith("invited to FreshBooks but has not")
    assert "it exists for Northwind Traders, Société Générale Café" in reasons["Mobile App"]
    assert "FreshBooks has: 'Admin', 'Design', 'Development'" in reasons["Dev"]
    assert info.value.template == {
        "format": "fbtime-import-mapping", "version": 1,
        "teammates": [{"file": "ana@elsewhere.org", "to": None},
                      {"file": "sofia.rossi@example.com", "to": None}],
        "clients": [{"file": "Initech", "to": None}],
        "projects": [{"file": "Mobile App", "client": "Acme Robotics", "to": None}],
        "services": [{"file": "Dev", "to": None}],
    }  # fmt: skip
    assert "5 name(s) in the export match nothing in FreshBooks" in str(info.value)


def test_a_filled_template_maps_names_ids_and_leaves_rows_out(tmp_path):
    rows = rows_of(
        tmp_path,
        row(Email="ana@elsewhere.org"),
        row(Email="bob@elsewhere.org"),
        row(Client="Initech", Project=""),
        row(Client="Acme Robotics", Project="Mobile App", Task="Dev"),
    )
    template = {
        "teammates": [{"file": "ana@elsewhere.org", "to": "liam.gagnon@example.com"},
                      {"file": "bob@elsewhere.org", "to": False}],
        "clients": [{"file": "Initech", "to": ACME}],
        "projects": [{"file": "Mobile App", "client": "Acme Robotics", "to": "Support Retainer"}],
        "services": [{"file": "Dev", "to": "development"}],
    }  # fmt: skip
    path = save_mapping(template, tmp_path / "mapping.json")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    matched = match_names(rows, reference(), mapping=path)
    out = matched.rows
    assert list(out["row"]) == [2, 4, 5]
    assert list(out["identity_id"]) == [LIAM, OLIVIA, OLIVIA]
    assert list(out["client_id"]) == [NORTHWIND, ACME, ACME]
    assert list(out["project_id"])[2] == 2318774 and pd.isna(out["project_id"][1])
    assert list(out["service_id"])[2] == DEVELOPMENT
    assert matched.skipped == [{"row": 3, "reason": "left out by the mapping"}]
    assert matched.warnings == [
        "service 'development' matched FreshBooks' 'Development' (the case differs)"
    ]


def test_a_mapping_to_an_unknown_id_or_name_stays_unmatched(tmp_path):
    rows = rows_of(tmp_path, row(Client="Initech"), row(Task="Dev"))
    mapping = {"clients": [{"file": "Initech", "to": 999}],
               "services": [{"file": "Dev", "to": "Devops"}]}  # fmt: skip
    with pytest.raises(fbtime.UnmatchedNamesError) as info:
        match_names(rows, reference(), mapping=mapping)
    reasons = [u["reason"] for u in info.value.unmatched]
    assert reasons[0] == "the mapping's id 999 is not a FreshBooks client"
    assert reasons[1].startswith("the mapping's 'Devops': no FreshBooks service has it")
    kept = {i["file"]: i["to"] for i in info.value.template["clients"]}
    assert kept == {"Initech": None}  # the wrong answer is asked again


def test_two_freshbooks_records_with_one_name_are_never_guessed(tmp_path):
    clients = pd.DataFrame(
        {"name": ["Northwind Traders", "Northwind Traders", "Acme Robotics"]},
        index=pd.Index([NORTHWIND, 1, ACME], dtype="Int64", name="id"),
    ).astype("str")
    rows = rows_of(tmp_path, row(Project=""))
    with pytest.raises(fbtime.UnmatchedNamesError, match=r"2 FreshBooks clients have this name"):
        match_names(rows, reference(clients=clients))


def test_harvest_people_are_matched_by_first_and_last_name(tmp_path):
    path = harvest(tmp_path / "h.csv", [
        {"Date": "2026-03-09", "Client": "Acme Robotics", "Project": "Support Retainer",
         "Task": "Design", "Notes": "n", "Hours": "1", "Billable?": "Yes",
         "First Name": first, "Last Name": last}
        for first, last in (("Zoë", "Roy"), ("Olivia", " Tremblay"), ("Sofia", "Rossi"))
    ])  # fmt: skip
    rows = read_time_export(path, "harvest", tz="UTC").rows
    with pytest.raises(fbtime.UnmatchedNamesError) as info:
        match_names(rows, reference(), by_email=False)
    assert [(u["file"], u["rows"]) for u in info.value.unmatched] == [("Sofia Rossi", [4])]
    left_out = {"teammates": [{"file": "Sofia Rossi", "to": False}]}
    matched = match_names(rows, reference(), by_email=False, mapping=left_out)
    assert list(matched.rows["identity_id"]) == [ZOE, OLIVIA]


def test_a_service_outside_its_project_is_a_warning(tmp_path):
    rows = rows_of(tmp_path, row(Client="Société Générale Café", Task="Development"))
    matched = match_names(rows, reference())
    assert matched.warnings == [
        "service 'Development' is not one of project 'Mobile App''s services in FreshBooks"
        + " (rows 2)"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        ('{"format": "fbtime-plan"}', "is not an fbtime import mapping"),
        ('{"people": []}', "unknown key"),
        ('{"clients": {"Acme": 1}}', "clients must be a list"),
        ('{"clients": [{"file": "Acme", "to": true}]}', "to must be a FreshBooks name"),
        ('{"clients": [{"file": "Acme", "to": -3}]}', "to must be a FreshBooks name"),
        ('{"clients": [{"file": "Acme", "client": "x"}]}', "must be an object with file, to"),
        ('{"projects": [{"file": 5}]}', "file must be the name"),
    ],
)
def test_a_bad_mapping_file_is_refused(tmp_path, content, message):
    path = tmp_path / "mapping.json"
    path.write_text(content)
    with pytest.raises(fbtime.ImportFileError, match=message):
        read_mapping(path)


def test_a_template_round_trips_through_its_file(tmp_path):
    template = {
        "format": "fbtime-import-mapping", "version": 1, "teammates": [],
        "clients": [{"file": "Café", "to": None}], "projects": [], "services": [],
    }  # fmt: skip
    path = save_mapping(template, tmp_path / "m.json")
    assert json.loads(path.read_text(encoding="utf-8")) == template
    assert read_mapping(path) == template
