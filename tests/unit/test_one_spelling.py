"""docs/money.md: "a missing group has one spelling everywhere". Every path a person reads
(reports shown as a cell's value, as text and HTML; the files for people; plan views; the
explorer's table and download) spells a missing client ``<no client>`` (and project,
teammate...), never ``<NA>``, ``NaN``, ``—`` or a blank group."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pytest
from conftest import synthetic

import fbtime
from fbtime.widgets import Explorer

WRONG = re.compile(r"<NA>|\bNaN\b|\bnan\b|—|&lt;NA&gt;")
CLIENTS = {c: f"Client {c:02d}" for c in range(1, 13)}


@pytest.fixture(scope="module")
def named() -> pd.DataFrame:
    frame = synthetic(800, seed=11)
    frame.loc[frame.index[:40], "project_id"] = pd.NA  # some entries have no project
    return frame.fbtime.with_names(clients=CLIENTS)


def reports(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    acc = frame.fbtime
    return {
        "by_client": acc.by_client(),
        "by_project": acc.by_project(),
        "by_teammate": acc.by_teammate(),
        "by_period": acc.by_period("M", by="client"),
        "aging": acc.aging("2026-07-01", by="client"),
        "audit": acc.audit(),
    }


GROUPS = ("client", "project", "teammate", "service")


def blank_groups(rows: list[list[str]]) -> list[list[str]]:
    """Rows whose group heading (``client``... not ``client id``) has a blank cell."""
    columns = [i for i, heading in enumerate(rows[0]) if heading in GROUPS]
    return [r for r in rows[1:] if any(not r[i].strip() for i in columns)]


def test_reports_spell_a_missing_group_once(named):
    assert named["client_id"].isna().any() and named["project_id"].isna().any()
    for name, table in reports(named).items():
        for shown in (repr(table), table._repr_html_()):
            assert not WRONG.search(shown), (name, WRONG.search(shown))
    text = repr(named.fbtime.by_client())
    assert "<no client>" in text
    assert "&lt;no project&gt;" in named.fbtime.by_project()._repr_html_()


def test_files_for_people_spell_it_too(named, tmp_path):
    for name, table in reports(named).items():
        if name == "audit" or not len(table):
            continue
        path = fbtime.export.to_csv(table, tmp_path / f"{name}.csv")
        text = path.read_text(encoding="utf-8-sig")
        assert not WRONG.search(text), (name, WRONG.search(text))
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert blank_groups(rows) == [], name
    entries = named.fbtime.to_csv(tmp_path / "entries.csv")
    rows = list(csv.reader(io.StringIO(entries.read_text(encoding="utf-8-sig"), newline="")))
    client = rows[0].index("client")
    assert "<no client>" in {r[client] for r in rows[1:]}
    assert blank_groups(rows) == []


def test_plan_views_and_the_explorer_spell_it_too(named):
    no_client = named[named["client_id"].isna()].head(3)
    chosen = named.loc[named.index.isin(no_client.index) | named.index.isin(named.index[:30])]
    plan = chosen.fbtime.update(note="checked")
    assert any(c.client_id is None for c in plan.changes)
    for shown in (repr(plan), plan._repr_html_()):
        assert not WRONG.search(shown), WRONG.search(shown)
    assert "<no client>" in repr(plan) and "&lt;no client&gt;" in plan._repr_html_()
    frame = plan.to_frame()
    assert (frame.loc[frame["client_id"].isna(), "client"] == "<no client>").all()
    explorer = Explorer(named, debounce=0)
    for group in ("client", "project", "teammate", "entries"):
        explorer.group_by.value = group
        html = explorer.output.outputs[0]["data"]["text/html"]
        assert not WRONG.search(html), (group, WRONG.search(html))
        if group in ("client", "project"):
            assert f"&lt;no {group}&gt;" in html, group
        data = explorer.export_bytes("csv").decode("utf-8-sig")
        assert not WRONG.search(data), (group, WRONG.search(data))


def test_a_plans_html_is_short_and_rounded(named):
    plan = named.fbtime.update(note="checked")  # hundreds of changes
    html = plan._repr_html_()
    changes = html.split("<p>Changes:</p>")[1].split("</table>")[0]
    assert changes.count("<tr>") == 1 + 10  # the heading and ten rows: review() pages
    assert f"... {len(plan) - 10:,} more rows" in html and "plan.review()" in html
    hours = re.findall(r"<td style='padding:2px 8px;'>(\d+\.\d+)</td>", changes)
    assert hours and all(len(h.split(".")[1]) == 2 for h in hours)  # 2 decimals
    assert "By client:" in html and "&lt;no client&gt;" in html  # the subtotals name it
