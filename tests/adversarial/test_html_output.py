"""Every HTML fbtime shows escapes every value and every key; option labels stay text.

Names such as ``<img src=x onerror=alert(1)>`` are planted in a real sandbox; the
explorer's table (values, index and column labels), its status line and the summary's
``_repr_html_`` must show them as text. ipywidgets 8 sets a Select's option labels with
``textContent`` (never as HTML), so those are shown literally, with controls escaped.
"""

from __future__ import annotations

import html
import re
import unicodedata

import pandas as pd
import pytest

from adversarial.hostile import CLIENTS, HTML, TERMINAL
from fbtime.analysis import totals
from fbtime.audit import Summary
from fbtime.text import for_terminal
from fbtime.widgets import Explorer
from fbtime.widgets.view import table_html

#: A tag an attacker's text could open: anything but the tags the table itself uses.
FOREIGN_TAG = re.compile(r"<(?!/?(?:table|thead|tbody|tr|th|td|p|div|h3|h4|b|br|span|a)\b)")


def no_markup_from(text: str, *names: str) -> None:
    assert not FOREIGN_TAG.search(text), FOREIGN_TAG.search(text)
    for name in names:
        assert name not in text
        assert html.escape(name, quote=False) in text or html.escape(name) in text


@pytest.mark.parametrize("group_by", ["client", "project", "entries"])
def test_explorer_table_escapes_names_and_notes(hostile_account, hostile_frame, group_by):
    explorer = Explorer(hostile_frame, debounce=0)
    explorer.group_by.value = group_by
    table, _ = explorer.output.outputs
    shown = table["data"]["text/html"]
    planted = {"client": (HTML[0],), "project": (HTML[1],), "entries": (HTML[0],)}[group_by]
    no_markup_from(shown, *planted)


def test_explorer_table_escapes_keys(hostile_frame):
    table = pd.DataFrame(
        {"<script>alert('col')</script>": [1.5], HTML[2]: ["<b>bold</b>"]},
        index=pd.Index([HTML[0]], name="<script>alert('index')</script>"),
    )
    table.columns.name = "<img src=y onerror=alert(2)>"
    shown = table_html(table)
    no_markup_from(shown, "<script>alert('col')</script>", HTML[2], HTML[0], "<b>bold</b>")
    assert "&lt;script&gt;alert(&#x27;index&#x27;)&lt;/script&gt;" in shown or (
        "&lt;script&gt;alert('index')&lt;/script&gt;" in shown
    )


def test_explorer_status_line_is_escaped(hostile_frame, tmp_path):
    folder = tmp_path / "<script>alert(1)</script>"
    explorer = Explorer(hostile_frame, debounce=0, export_dir=folder)
    explorer.export()
    status = explorer.status.value
    no_markup_from(status, "<script>alert(1)</script>")
    assert html.escape(str(explorer.last_export)) in status


def test_option_labels_are_the_names_with_controls_shown(hostile_frame):
    explorer = Explorer(hostile_frame, debounce=0)
    clients = dict(explorer.clients.options)
    for name in CLIENTS:  # textContent: "<img ...>" is shown as typed, never run
        assert for_terminal(name) in clients
    assert HTML[0] in clients and for_terminal(TERMINAL[5]) == "\\u202eemaN"
    projects = [label for label, _ in explorer.projects.options]
    labels = [label for label, _ in explorer.clients.options] + projects
    assert not [c for label in labels for c in label if unicodedata.category(c) in ("Cc", "Cf")]
    assert len(set(projects)) == len(projects)  # two "Website" projects are told apart
    assert sum(label.startswith("Website (#") for label in projects) == 2


def test_summary_html_escapes_names(hostile_frame):
    shown = hostile_frame.fbtime.summary()._repr_html_()
    no_markup_from(shown, HTML[0])


def test_summary_html_escapes_keys(hostile_frame):
    by_client = pd.DataFrame(
        {"<script>alert('k')</script>": [1.0]}, index=pd.Index([HTML[0]], name=HTML[2])
    )
    counts = pd.DataFrame({"rule": ["<b>rule</b>"], "severity": [HTML[1]], "findings": [1]})
    shown = Summary(totals(hostile_frame), by_client, counts)._repr_html_()
    no_markup_from(shown, "<script>alert('k')</script>", HTML[0], HTML[2], "<b>rule</b>", HTML[1])
