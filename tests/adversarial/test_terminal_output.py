"""A client name or note printed in a terminal cannot move the cursor, erase lines or fake rows.

Names carrying ESC/CSI sequences, C1 controls, a bell, backspaces, a carriage return, a
right-to-left override and a newline are planted in a real sandbox; the summary, the
examples' tables and the demo's report print them with every control shown escaped.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from pathlib import Path
from typing import ClassVar

import pandas as pd

import fbtime
from adversarial.hostile import CLIENTS, TERMINAL, plant
from fbtime import demo, display
from fbtime.text import for_terminal

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def controls(text: str) -> list[str]:
    """Control and format characters other than the line breaks between rows."""
    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf")]


def block(text: str, title: str) -> list[str]:
    """The lines of the table under ``title`` (up to the next blank line)."""
    lines = text.split("\n")
    start = lines.index(title) + 1
    return lines[start : lines.index("", start)]


def test_summary_shows_every_control_escaped(hostile_frame):
    text = str(hostile_frame.fbtime.summary())
    assert controls(text) == []
    for name in CLIENTS:
        assert for_terminal(name) in text
    by_client = hostile_frame.fbtime.by_client()
    # a header, the index name, one line per client: no name adds or hides a row
    assert len(block(text, "hours by client:")) == len(by_client) + 2


def test_summary_repr_is_the_same_safe_text(hostile_frame):
    summary = hostile_frame.fbtime.summary()
    assert repr(summary) == str(summary) and controls(repr(summary)) == []


def test_a_newline_in_a_label_cannot_fake_a_row():
    table = pd.DataFrame(
        {"\x1b[31mhours": [1.0, 2.0]},
        index=pd.Index(["two\nlines", "\x1b[1A\x1b[2Kclean"], name="client\r"),
    )
    text = display.to_text(table, float_format="{:.1f}".format)
    assert controls(text) == [] and len(text.split("\n")) == 4  # header, index name, 2 rows
    assert "two\\nlines" in text and "\\x1b[1A\\x1b[2Kclean" in text and "client\\r" in text
    series = display.to_text(table["\x1b[31mhours"].rename("\u202eevil"))
    assert controls(series) == [] and len(series.split("\n")) == 3
    assert table.index[0] == "two\nlines"  # the caller's frame is not relabelled


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_monthly_report_prints_names_escaped(
    hostile_account, hostile_frame, tmp_path, monkeypatch, capsys
):
    sb = hostile_account.sandbox
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.token)
    monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", str(sb.business_id))
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))
    month = hostile_frame["started_at"].dt.strftime("%Y-%m").mode()[0]
    report = load_example("monthly_unbilled_report")
    assert report.main(["--no-sandbox", "--month", month, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert controls(out) == []
    shown = [name for name in CLIENTS if for_terminal(name) in out]
    assert {TERMINAL[0], TERMINAL[1]} <= set(shown)


class HostileSandbox(fbtime.Sandbox):
    """The demo's sandbox, with the attacker's names and notes planted when it starts."""

    started: ClassVar[list[fbtime.Sandbox]] = []

    def start(self) -> fbtime.Sandbox:
        super().start()
        plant(self)
        self.started.append(self)
        return self


def test_demo_report_and_files_survive_a_hostile_account(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "Sandbox", HostileSandbox)
    files = demo.run_demo(tmp_path, entries=300, seed=3)
    out = capsys.readouterr().out
    assert controls(out) == [] and for_terminal(TERMINAL[0]) in out
    csv_text = files["csv"].read_text(encoding="utf-8")
    assert f'"\'{CLIENTS[0].replace(chr(34), 2 * chr(34))}"' in csv_text  # neutralised
    back = pd.read_csv(files["csv"], encoding="utf-8-sig")  # a file for people: BOM, headings
    truth = HostileSandbox.started[-1].entries()
    assert sorted(back["id"]) == sorted(truth.loc[truth["active"].astype(bool), "id"])
    for name in demo.PLOTS:
        assert files[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
