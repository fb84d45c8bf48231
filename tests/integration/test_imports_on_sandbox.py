"""Imports end to end on the sandbox: files shaped like the facts sheet's samples, named
with the sandbox's own teammates, clients, projects and services, planned, applied, read
back from the server, imported again, resumed after lost answers, and undone.

Every created entry is checked field by field against what its row says: teammate,
client, project, service, UTC start and local start, duration, note, billable.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections import Counter

import pandas as pd
import pytest
from time_exports import clockify, harvest, toggl

import fbtime
from fbtime.bulk.imports import ImportNotice, import_time, plan_create
from fbtime.cli import main
from fbtime.sandbox.faults import Faults

END = dt.date(2026, 3, 31)
PARIS, TORONTO = "Europe/Paris", "America/Toronto"


@pytest.fixture
def sb():
    with fbtime.Sandbox(entries=300, seed=5, end=END) as sandbox:
        yield sandbox


@pytest.fixture
def names(sb):
    """The sandbox's people and the projects of client 'Acme Robotics', by name."""
    client = sb.client(cache=False)
    team = fbtime.load_team(client)
    clients = fbtime.load_clients(client)
    projects = fbtime.load_projects(client)
    services = fbtime.load_services(client)
    acme = int(clients.index[clients["name"] == "Acme Robotics"][0])
    people = team.reset_index().to_dict("records")
    return {
        "people": people[:3], "acme": acme,
        "acme_projects": projects[projects["client_id"] == acme]["name"].tolist(),
        "internal": projects[projects["client_id"].isna()]["name"].tolist()[0],
        "project_id": {(r["client_id"] if pd.notna(r["client_id"]) else None, r["name"]): i
                       for i, r in projects.iterrows()},
        "service_id": {r["name"]: i for i, r in services.iterrows()},
    }  # fmt: skip


def server_entries(sb) -> pd.DataFrame:
    frame = sb.entries()
    return frame[frame["active"]].set_index("id")


def created(sb, result) -> pd.DataFrame:
    """The entries an apply created, read back from the server, in the plan's row order."""
    ids = result.rows["new_id"].tolist()
    return server_entries(sb).loc[ids]


def apply(plan, sb, tmp_path, **kw):
    return plan.apply(sb.client(cache=False), confirm=len(plan) or True, journal=tmp_path,
                      progress=False, **kw)  # fmt: skip


def quiet_import(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImportNotice)
        return import_time(*args, **kw)


def toggl_rows(names):
    olivia, liam, zoe = names["people"]
    p1, p2 = names["acme_projects"][:2]
    day = "2026-04-0{}"
    return [
        {"User": olivia["name"], "Email": olivia["email"], "Client": "Acme Robotics",
         "Project": p1, "Task": "Development", "Description": 'Fixed "checkout", again',
         "Billable": "Yes", "Start date": day.format(6), "Start time": "09:15:00",
         "End date": day.format(6), "End time": "10:45:30", "Duration": "01:30:30",
         "Tags": "Backend, Bug", "Amount (EUR)": "150.00"},
        {"User": liam["name"], "Email": liam["email"], "Client": "Acme Robotics",
         "Project": p2, "Task": "Design", "Description": "Réunion 📅", "Billable": "No",
         "Start date": day.format(7), "Start time": "23:30:00", "End date": day.format(8),
         "End time": "00:15:00", "Duration": "00:45:00", "Tags": "", "Amount (EUR)": ""},
        {"User": zoe["name"], "Email": zoe["email"], "Client": "", "Project": names["internal"],
         "Task": "Admin", "Description": "", "Billable": "No", "Start date": day.format(8),
         "Start time": "08:00:00", "End date": day.format(8), "End time": "08:00:59",
         "Duration": "00:00:59", "Tags": "", "Amount (EUR)": ""},
        {"User": olivia["name"], "Email": olivia["email"], "Client": "Acme Robotics",
         "Project": p1, "Task": "Development", "Description": "running", "Billable": "Yes",
         "Start date": day.format(9), "Start time": "10:00:00", "End date": "", "End time": "",
         "Duration": "", "Tags": "", "Amount (EUR)": ""},
    ]  # fmt: skip


def check_created(entries, expected, names):
    """``expected``: (person, client, project, service, UTC start, local start, zone,
    seconds, note, billable) per created entry, in order."""
    got = []
    for (_, e), want in zip(entries.iterrows(), expected, strict=True):
        person, client, project, service = want[:4]
        assert e["identity_id"] == person["identity_id"]
        assert (None if pd.isna(e["client_id"]) else e["client_id"]) == client
        assert e["project_id"] == names["project_id"][(client, project)]
        assert e["service_id"] == names["service_id"][service]
        got.append((e["started_at"], e["local_started_at"], e["local_timezone"],
                    e["duration"], e["note"], e["billable"]))  # fmt: skip
    assert got == [tuple(w[4:]) for w in expected]


def test_a_toggl_export_is_created_exactly_as_its_rows_say(sb, names, tmp_path):
    path = toggl(tmp_path / "toggl.csv", toggl_rows(names))
    with pytest.warns(ImportNotice, match=r"1 row\(s\) without a duration left out \(rows 5\)"):
        plan = import_time(path, "toggl", tz=PARIS, client=sb.client(cache=False))
    assert plan.kind == "import" and plan.ids == [2, 3, 4]
    assert list(plan.skipped) == [{"id": 5, "reason": "no duration (a running timer)"}]
    writes = sb.writes()
    result = apply(plan, sb, tmp_path)
    assert result.counts["applied"] == 3 and sb.stats()["POST time_entries"] == 3
    assert sb.writes() == writes + 3
    olivia, liam, zoe = names["people"]
    p1, p2 = names["acme_projects"][:2]
    acme = names["acme"]
    shown = [label.value for label in plan.review(sb.client(cache=False)).labels]
    assert shown[0].startswith("<code>2</code> create starting 2026-04-06T09:15:00 · 1.51 h")
    assert f"{olivia['name']} · Acme Robotics / {p1}" in shown[0]
    assert str(olivia["identity_id"]) not in "".join(shown)  # names, not ids
    check_created(created(sb, result), [
        (olivia, acme, p1, "Development", "2026-04-06T07:15:00Z", "2026-04-06T09:15:00",
         PARIS, 5430, 'Fixed "checkout", again', True),
        (liam, acme, p2, "Design", "2026-04-07T21:30:00Z", "2026-04-07T23:30:00", PARIS,
         2700, "Réunion 📅", False),
        (zoe, None, names["internal"], "Admin", "2026-04-08T06:00:00Z", "2026-04-08T08:00:00",
         PARIS, 59, "", False),
    ], names)  # fmt: skip
    journal = fbtime.read_journal(result.journal_path)
    assert set(journal["new_id"].dropna()) == set(result.rows["new_id"])
    with open(result.journal_path, encoding="utf-8") as lines:  # the run line holds the plan
        planned = json.loads(next(lines))["plan"]["changes"]
    assert [c["context"]["source"] for c in planned] == [f"{path} row {n}" for n in (2, 3, 4)]


def test_a_harvest_export_with_decimal_comma_is_placed_from_the_day_start(sb, names, tmp_path):
    olivia, liam, _ = names["people"]
    p1 = names["acme_projects"][0]
    row = {"Date": "2026-04-06", "Client": "Acme Robotics", "Project": p1, "Task": "Design",
           "Billable?": "Yes"}  # fmt: skip
    path = harvest(tmp_path / "harvest.csv", [
        {**row, "Notes": "Wireframes", "Hours": "2,5", "First Name": olivia["first_name"],
         "Last Name": olivia["last_name"]},
        {**row, "Notes": "Review", "Hours": "0,01", "First Name": liam["first_name"],
         "Last Name": liam["last_name"], "Billable?": "No"},
        {**row, "Notes": "Copy edits", "Hours": "1,25", "First Name": olivia["first_name"],
         "Last Name": olivia["last_name"]},
    ])  # fmt: skip
    with pytest.warns(ImportNotice, match="synthetic, from 09:00"):
        plan = import_time(path, "harvest", tz=TORONTO, client=sb.client(cache=False))
    assert plan.changes[0].context["source"] == (
        f"{path} row 2 (no clock time: start placed by fbtime)"
    )
    result = apply(plan, sb, tmp_path)
    acme = names["acme"]
    check_created(created(sb, result), [
        (olivia, acme, p1, "Design", "2026-04-06T13:00:00Z", "2026-04-06T09:00:00", TORONTO,
         9000, "Wireframes", True),
        (liam, acme, p1, "Design", "2026-04-06T13:00:00Z", "2026-04-06T09:00:00", TORONTO, 36,
         "Review", False),
        (olivia, acme, p1, "Design", "2026-04-06T15:30:00Z", "2026-04-06T11:30:00", TORONTO,
         4500, "Copy edits", True),
    ], names)  # fmt: skip


def test_a_clockify_export_with_a_12_hour_clock(sb, names, tmp_path):
    olivia = names["people"][0]
    p2 = names["acme_projects"][1]
    base = {"Project": p2, "Client": "Acme Robotics", "Task": "Consulting", "User": olivia["name"],
            "Email": olivia["email"], "Billable": "Yes"}  # fmt: skip
    path = clockify(tmp_path / "clockify.csv", [
        {**base, "Description": "Call", "Start Date": "04/14/2026", "Start Time": "10:23:52 AM",
         "End Date": "04/14/2026", "End Time": "11:23:53 AM", "Duration (h)": "01:00:01",
         "Duration (decimal)": "1.00"},
        {**base, "Description": "Late", "Start Date": "04/14/2026", "Start Time": "11:59 PM",
         "End Date": "04/15/2026", "End Time": "12:30 AM", "Duration (h)": "00:31:00",
         "Duration (decimal)": "0.52"},
    ])  # fmt: skip
    plan = quiet_import(path, "clockify", tz=TORONTO, client=sb.client(cache=False))
    result = apply(plan, sb, tmp_path)
    acme = names["acme"]
    check_created(created(sb, result), [
        (olivia, acme, p2, "Consulting", "2026-04-14T14:23:52Z", "2026-04-14T10:23:52",
         TORONTO, 3601, "Call", True),
        (olivia, acme, p2, "Consulting", "2026-04-15T03:59:00Z", "2026-04-14T23:59:00",
         TORONTO, 1860, "Late", True),
    ], names)  # fmt: skip


def test_importing_the_same_file_twice_plans_nothing(sb, names, tmp_path):
    path = toggl(tmp_path / "toggl.csv", toggl_rows(names)[:3])
    first = apply(quiet_import(path, "toggl", tz=PARIS, client=sb.client()), sb, tmp_path)
    sb.reset_stats()
    with pytest.warns(ImportNotice, match=r"3 row\(s\) already in FreshBooks are skipped"):
        again = import_time(path, "toggl", tz=PARIS, client=sb.client(cache=False))
    assert len(again) == 0
    made = first.rows["new_id"].tolist()
    assert list(again.skipped) == [
        {"id": row, "reason": f"already in FreshBooks as entry {entry} (same teammate, start, "
                              "duration and note)"}
        for row, entry in zip([2, 3, 4], made, strict=True)
    ]  # fmt: skip
    assert sb.stats()["POST time_entries"] == 0


def test_a_row_matching_an_entry_made_in_freshbooks_is_skipped(sb, names, tmp_path):
    olivia = names["people"][0]
    existing = server_entries(sb)
    complete = existing[["duration", "client_id", "project_id", "service_id"]].notna().all(axis=1)
    mine = existing[(existing["identity_id"] == olivia["identity_id"]) & complete
                    & existing["billable"]].iloc[0]  # fmt: skip
    start = pd.Timestamp(mine["started_at"]).tz_convert(TORONTO)
    end = start + pd.Timedelta(seconds=int(mine["duration"]))
    project = fbtime.load_projects(sb.client()).loc[mine["project_id"]]
    client_name = fbtime.load_clients(sb.client()).loc[project["client_id"], "name"]
    service = fbtime.load_services(sb.client()).loc[mine["service_id"], "name"]
    seconds = int(mine["duration"])
    path = toggl(tmp_path / "t.csv", [{
        "User": olivia["name"], "Email": olivia["email"], "Client": client_name,
        "Project": project["name"], "Task": service, "Description": mine["note"] or "",
        "Billable": "Yes", "Start date": f"{start:%Y-%m-%d}", "Start time": f"{start:%H:%M:%S}",
        "End date": f"{end:%Y-%m-%d}", "End time": f"{end:%H:%M:%S}",
        "Duration": f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}",
    }])  # fmt: skip
    plan = quiet_import(path, "toggl", tz=TORONTO, client=sb.client(cache=False))
    assert len(plan) == 0
    assert plan.skipped[0]["reason"].startswith(f"already in FreshBooks as entry {mine.name} ")


def test_unmatched_names_stop_before_any_write_and_a_filled_template_goes_through(
    sb, names, tmp_path
):
    rows = toggl_rows(names)[:3]
    rows[0] = {**rows[0], "Email": "ana@elsewhere.org", "Task": "Dev"}
    rows[1] = {**rows[1], "Client": "Initech", "Project": "Portal"}
    path = toggl(tmp_path / "toggl.csv", rows)
    sb.reset_stats()
    with pytest.raises(fbtime.UnmatchedNamesError) as info:
        quiet_import(path, "toggl", tz=PARIS, client=sb.client(cache=False))
    assert [(u["kind"], u["file"]) for u in info.value.unmatched] == [
        ("teammates", "ana@elsewhere.org"), ("clients", "Initech"), ("projects", "Portal"),
        ("services", "Dev"),
    ]  # fmt: skip
    assert sb.stats()["POST time_entries"] == 0 and sb.stats()["GET time_entries"] == 0
    template = info.value.template
    liam = names["people"][1]
    answers = {"ana@elsewhere.org": liam["email"], "Initech": names["acme"],
               "Portal": names["acme_projects"][0], "Dev": "Development"}  # fmt: skip
    for kind in ("teammates", "clients", "projects", "services"):
        for item in template[kind]:
            item["to"] = answers[item["file"]]
    plan = quiet_import(path, "toggl", tz=PARIS, client=sb.client(cache=False), mapping=template)
    result = apply(plan, sb, tmp_path)
    made = created(sb, result)
    portal = names["project_id"][(names["acme"], names["acme_projects"][0])]
    assert list(made["identity_id"])[:1] == [liam["identity_id"]]
    assert list(made["project_id"])[1] == portal


def test_dst_gaps_and_bad_rows_are_refused_before_any_request(sb, names, tmp_path):
    rows = toggl_rows(names)[:3]
    gap = {"Start date": "2026-03-29", "Start time": "02:30:00", "End date": "2026-03-29",
           "End time": "03:30:00", "Duration": "00:00:00"}  # fmt: skip
    rows[0] = {**rows[0], **gap}
    rows[1] = {**rows[1], "Billable": "Maybe"}
    path = toggl(tmp_path / "toggl.csv", rows)
    sb.reset_stats()
    with pytest.raises(fbtime.ImportFileError) as info:
        import_time(path, "toggl", tz=PARIS, client=sb.client(cache=False))
    assert [(p["row"], p["column"]) for p in info.value.problems] == [
        (2, "Start time"), (3, "Billable"),
    ]  # fmt: skip
    assert sum(sb.stats().values()) == 0


class Script(Faults):
    """Faults by request number: ``{("POST", 1): "drop_after", ("GET", 2): "5xx"}`` loses
    the answer to the first POST (after the entry is made) and fails the second GET."""

    def __init__(self, plan: dict[tuple[str, int], str]) -> None:
        super().__init__()
        self.plan, self.seen = plan, Counter()

    def decide(self, method: str) -> str | None:
        self.seen[method] += 1
        kind = self.plan.get((method, self.seen[method]))
        if kind is not None:
            self.injected[kind] += 1
        return kind


def one_entry_per_row(sb, plan):
    """Each planned create exists exactly once on the server."""
    live = server_entries(sb)
    keys = Counter(zip(live["identity_id"], live["started_at"], live["duration"], live["note"],
                       strict=True))  # fmt: skip
    for change in plan.changes:
        a = change.after
        key = (a["identity_id"], a["started_at"], a["duration"], a["note"])
        assert keys[key] == 1, key


def test_a_lost_answer_is_found_again_not_posted_again(sb, names, tmp_path):
    plan = quiet_import(toggl(tmp_path / "t.csv", toggl_rows(names)[:3]), "toggl", tz=PARIS,
                        client=sb.client(cache=False))  # fmt: skip
    sb.reset_stats()
    sb.faults = Script({("POST", 1): "drop_after", ("POST", 3): "drop_after"})
    result = apply(plan, sb, tmp_path, workers=1)
    sb.faults = None
    assert result.counts["applied"] == 3
    assert sb.stats()["POST time_entries"] == 3  # two answers lost, no POST sent again
    one_entry_per_row(sb, plan)


def test_a_lost_answer_then_resume_leaves_one_entry_per_row(sb, names, tmp_path):
    plan = quiet_import(toggl(tmp_path / "t.csv", toggl_rows(names)[:3]), "toggl", tz=PARIS,
                        client=sb.client(cache=False))  # fmt: skip
    sb.reset_stats()
    # each create: a look (GET), the POST; the first POST's answer is lost, and so is
    # the look that follows it: the row is left in doubt for resume to settle
    sb.faults = Script({("POST", 1): "drop_after", ("GET", 2): "drop_before"})
    client = sb.client(cache=False, retries=0)
    try:
        result = plan.apply(client, confirm=True, journal=tmp_path, progress=False, workers=1)
    except fbtime.PartialApplyError as error:
        result = error.result
    sb.faults = None
    assert result.counts["applied"] == 2 and result.counts["failed"] == 1
    assert sb.stats()["POST time_entries"] == 3
    resumed = fbtime.resume(result.journal_path, sb.client(cache=False), progress=False)
    assert resumed.counts["applied"] == 3
    assert sb.stats()["POST time_entries"] == 3  # found on resume, not posted again
    one_entry_per_row(sb, plan)


def test_two_plans_of_one_file_create_its_entries_once(sb, names, tmp_path):
    path = toggl(tmp_path / "t.csv", toggl_rows(names)[:3])
    first, second = (
        quiet_import(path, "toggl", tz=PARIS, client=sb.client(cache=False)) for _ in range(2)
    )
    made = apply(first, sb, tmp_path)
    sb.reset_stats()
    again = apply(second, sb, tmp_path)
    assert again.counts["already_applied"] == 3
    assert sb.stats()["POST time_entries"] == 0
    assert again.rows["new_id"].tolist() == made.rows["new_id"].tolist()
    one_entry_per_row(sb, first)


def test_undo_deletes_what_the_import_created(sb, names, tmp_path):
    before = set(server_entries(sb).index)
    plan = quiet_import(toggl(tmp_path / "t.csv", toggl_rows(names)), "toggl", tz=PARIS,
                        client=sb.client(cache=False))  # fmt: skip
    result = apply(plan, sb, tmp_path)
    assert len(set(server_entries(sb).index) - before) == 3
    restore = fbtime.undo(result.journal_path)
    assert sorted(restore.ids) == sorted(result.rows["new_id"].tolist())
    assert apply(restore, sb, tmp_path).counts["applied"] == 3
    assert set(server_entries(sb).index) == before


def test_creates_keep_under_a_published_limit(sb, names, tmp_path):
    olivia = names["people"][0]
    p1 = names["acme_projects"][0]
    rows = [
        {"User": olivia["name"], "Email": olivia["email"], "Client": "Acme Robotics",
         "Project": p1, "Task": "Design", "Description": f"block {i}", "Billable": "Yes",
         "Start date": "2026-04-20", "Start time": f"{8 + i // 6:02d}:{i % 6 * 10:02d}:00",
         "End date": "", "End time": "", "Duration": "00:10:00"}
        for i in range(30)
    ]  # fmt: skip
    plan = quiet_import(toggl(tmp_path / "t.csv", rows), "toggl", tz=PARIS,
                        client=sb.client(cache=False))  # fmt: skip
    sb.set_rate_limit(10, per=1.0)
    sb.reset_stats()
    result = apply(plan, sb, tmp_path, workers=4)
    assert result.counts["applied"] == 30
    assert sb.stats()["POST time_entries"] == 30
    assert sb.stats()["GET time_entries"] == 1  # one look ahead, not one look per create
    assert not any(k.startswith("429") for k in sb.stats()), sb.stats()
    one_entry_per_row(sb, plan)


def test_plan_create_takes_a_frame_of_ids(sb, names, tmp_path):
    olivia = names["people"][0]
    project = names["project_id"][(names["acme"], names["acme_projects"][0])]
    frame = pd.DataFrame({
        "started_at": [pd.Timestamp("2026-04-21T13:00:00Z"), pd.Timestamp("2026-04-21T15:00Z")],
        "duration": [3600, 1800], "identity_id": olivia["identity_id"],
        "client_id": names["acme"], "project_id": project,
        "service_id": names["service_id"]["Design"], "note": ["from a frame", None],
        "billable": True,
    })  # fmt: skip
    plan = plan_create(frame, client=sb.client(cache=False))
    assert plan.kind == "create" and plan.ids == [1, 2]
    assert {c.context["teammate"] for c in plan.changes} == {olivia["name"]}
    made = created(sb, apply(plan, sb, tmp_path))
    assert list(made["duration"]) == [3600, 1800] and list(made["note"]) == ["from a frame", ""]
    with pytest.raises(fbtime.PlanError, match="identity_id 12345 is not in this business"):
        plan_create(frame.assign(identity_id=12345), client=sb.client(cache=False))
    with pytest.raises(fbtime.PlanError, match="no column"):
        plan_create(frame.drop(columns="billable"), client=sb.client(cache=False))


def test_the_import_command_dry_runs_by_default_and_applies_with_yes(
    sb, names, tmp_path, monkeypatch, capsys
):
    for name, value in (("FRESHBOOKS_ACCESS_TOKEN", sb.token),
                        ("FRESHBOOKS_BUSINESS_ID", str(sb.business_id)),
                        ("FRESHBOOKS_API_URL", sb.url),
                        ("FBTIME_CACHE_DIR", str(tmp_path / "cache"))):  # fmt: skip
        monkeypatch.setenv(name, value)
    path = toggl(tmp_path / "toggl.csv", toggl_rows(names))
    args = ["import", str(path), "--format", "toggl", "--tz", PARIS]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "dry run: nothing was written" in out
    assert names["people"][1]["name"] in out and "Acme Robotics" in out
    assert "note: 1 row(s) without a duration left out (rows 5)" in err
    assert sb.stats()["POST time_entries"] == 0
    assert main([*args, "--apply", "--yes", "--journal-dir", str(tmp_path)]) == 0
    assert "3 applied" in capsys.readouterr().out
    assert sb.stats()["POST time_entries"] == 3
    bad = toggl(tmp_path / "bad.csv", [{**toggl_rows(names)[0], "Email": "ana@elsewhere.org"}])
    assert main(["import", str(bad), "--format", "toggl", "--tz", PARIS]) == 2
    err = capsys.readouterr().err
    template = tmp_path / "bad.csv.mapping.json"
    assert f"wrote the mapping template {template}" in err
    assert json.loads(template.read_text())["teammates"] == [
        {"file": "ana@elsewhere.org", "to": None}
    ]
    assert main(["import", str(bad), "--format", "toggl", "--tz", "Mars/Base"]) == 2
    assert "unknown time zone" in capsys.readouterr().err
