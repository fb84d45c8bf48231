"""``fbtime audit``: the audit for cron and CI, with an exit status a script can act on.

It loads time entries with the filters of ``fbtime export``, names them (clients and the
team), optionally rounds them and prices them, runs :func:`fbtime.audit.audit` and says
what it found: a short table on stdout, and ``--report PATH`` as HTML (a page of its own,
every account text escaped, no script allowed), CSV (for spreadsheets, formulas
neutralised, with a BOM for Excel) or JSON (typed, :data:`JSON_FORMAT`).

Exit status: :data:`EXIT_CLEAN` (0) when no finding is at or above ``--fail-on``,
:data:`EXIT_FINDINGS` (1) when some are, :data:`EXIT_PROBLEM` (2) for a usage,
connection, sign-in or file problem, with one line on stderr and no traceback (fbtime's
messages never hold a token). It never prompts, and shows no progress bar unless both
stdout and stderr are terminals, so cron and CI logs stay clean.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
import zoneinfo
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from fbtime import clock
from fbtime.analysis import with_names
from fbtime.api.query import encode_filters
from fbtime.audit import (
    DEFAULT_MAX_HOURS,
    DEFAULT_UNBILLED_DAYS,
    FINDING_COLUMNS,
    MONEY_RULES,
    OPT_IN_RULES,
    RULES,
    SEVERITY,
    ExpectedHours,
    Summary,
    audit,
    check_expected,
    summarize,
)
from fbtime.cli.options import add_connection_options, add_filters, connect_from, filters
from fbtime.display import formatted, to_text
from fbtime.errors import AuthError, FBTimeError, NotFoundError, QueryError
from fbtime.export import to_csv
from fbtime.files import write_private_with
from fbtime.load import load_time_entries
from fbtime.rates import check_inputs, with_rates
from fbtime.reference import load_clients, load_rates, load_team
from fbtime.rounding import HOW, check_how, describe, rounding_of, step_seconds
from fbtime.rounding import round_time as round_frame
from fbtime.text import for_html, for_terminal
from fbtime.weeks import WEEK_STARTS

EXIT_CLEAN, EXIT_FINDINGS, EXIT_PROBLEM = 0, 1, 2
#: ``--fail-on`` levels: a finding at or above the level fails the run; ``never`` never does.
FAIL_ON: tuple[str, ...] = ("error", "warning", "info", "never")
#: Report formats, chosen by the file's suffix.
REPORTS: dict[str, str] = {".html": "html", ".csv": "csv", ".json": "json"}
#: The ``format`` field of a JSON report; it changes when a field changes meaning.
JSON_FORMAT = "fbtime-audit/1"
#: Findings shown on stdout; the report holds them all.
SHOWN = 50


@dataclass(frozen=True)
class Options:
    """Everything ``fbtime audit`` was asked, checked before any request is sent."""

    filters: dict[str, Any]
    rules: list[str] | None
    fail_on: str
    report: Path | None
    step: int | None
    how: str
    now: Any
    expected: ExpectedHours
    rates: bool
    rule_options: dict[str, Any] = field(default_factory=dict)


def add_commands(sub: Any) -> None:
    """``fbtime audit [filters] [--rules ...] [--fail-on ...] [--report PATH] ...``."""
    p = sub.add_parser(
        "audit",
        help="audit time entries: exit 1 on findings at --fail-on or above (cron, CI)",
        description="Load time entries, run the audit rules and exit 0 (clean), 1 "
        "(findings at or above --fail-on) or 2 (a usage, connection or sign-in problem).",
    )
    p.error = _one_line
    p.add_argument(
        "--rules",
        metavar="NAMES",
        help=f"comma-separated rules (default: all that can run but "
        f"{', '.join(OPT_IN_RULES)}); one of: {', '.join(RULES)}",
    )
    p.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="error",
        help="exit 1 when a finding is at least this severe (default: error)",
    )
    p.add_argument(
        "--report",
        type=Path,
        metavar="PATH",
        help="also write every finding to PATH: .html, .csv or .json",
    )
    p.add_argument(
        "--round",
        metavar="STEP[:HOW]",
        help="round each entry's time first, e.g. 15min:up (HOW: "
        f"{', '.join(HOW)}; default nearest); amounts use it",
    )
    p.add_argument(
        "--now", metavar="DATETIME", help="the audit's clock, e.g. 2026-12-01T12:00Z (default: now)"
    )
    p.add_argument("--refresh", action="store_true", help="read every page again")
    rules = p.add_argument_group("rule options")
    rules.add_argument(
        "--unbilled-days",
        type=int,
        default=DEFAULT_UNBILLED_DAYS,
        metavar="DAYS",
        help="old_unbilled: age of unbilled time to report",
    )
    rules.add_argument(
        "--max-hours",
        type=float,
        default=DEFAULT_MAX_HOURS,
        metavar="HOURS",
        help="over_12h: the longest plausible entry",
    )
    rules.add_argument(
        "--expected-hours",
        type=float,
        metavar="HOURS",
        help="under_logged (runs it): hours expected each workday (default 8)",
    )
    rules.add_argument(
        "--expected-hours-for",
        action="append",
        default=[],
        metavar="TEAMMATE=HOURS",
        help="under_logged (runs it): one teammate's hours a day, by identity "
        "id or name; repeat for several",
    )
    rules.add_argument(
        "--week-start",
        choices=tuple(WEEK_STARTS),
        help="under_logged: first day of a week (default: the business's)",
    )
    rules.add_argument("--tz", help="zone of local days (default: the entries' own)")
    rules.add_argument(
        "--rates",
        action="store_true",
        help="load rates: amounts in the report, and the money rules",
    )
    rules.add_argument(
        "--standard-rate", metavar="AMOUNT", help="with --rates: the business standard rate"
    )
    rules.add_argument("--currency", help="with --rates: the amounts' currency")
    add_connection_options(p)
    add_filters(p)
    p.set_defaults(func=cmd_audit, usage_error=_one_line)


def _one_line(message: str) -> NoReturn:
    """A usage error as one line on stderr, exit 2 (argparse prints the usage too)."""
    print(f"fbtime audit: error: {for_terminal(message)} (see fbtime audit --help)",
          file=sys.stderr)  # fmt: skip
    sys.exit(EXIT_PROBLEM)


def cmd_audit(args: argparse.Namespace) -> int:
    """Run the audit; 0, 1 or 2 (see the module docstring), one line on stderr for 2."""
    try:
        options = check_options(args)
        fixed = clock.fixed(options.now) if options.now is not None else contextlib.nullcontext()
        with fixed:
            return _run(args, options)
    except FBTimeError as exc:
        return _problem(str(exc))
    except OSError as exc:  # the report could not be written
        return _problem(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
    except Exception as exc:  # a cron job must not read a crash as "findings" (exit 1)
        return _problem(f"unexpected {type(exc).__name__}: {exc}")


def _problem(message: str) -> int:
    print(f"fbtime audit: error: {for_terminal(message)}", file=sys.stderr)
    return EXIT_PROBLEM


def _rule_names(text: str | None, expected_given: bool, rates: bool) -> list[str] | None:
    if text is None:
        if not expected_given:
            return None  # audit()'s default: every rule that can run
        priced = (*MONEY_RULES, "over_budget")
        runnable = [n for n in RULES if n not in OPT_IN_RULES and (rates or n not in priced)]
        return [*runnable, *OPT_IN_RULES]
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in RULES]
    if not names or unknown:
        raise QueryError(
            f"unknown audit rule(s): {', '.join(unknown) or '(none given)'}; "
            f"valid rules: {', '.join(RULES)}"
        )
    needs = [name for name in names if name in (*MONEY_RULES, "over_budget")]
    if needs and not rates:
        raise QueryError(f"rule(s) {', '.join(needs)} need amounts: add --rates")
    return names


def _expected(args: argparse.Namespace) -> ExpectedHours:
    table: dict[int | str | None, Any] = {}
    if args.expected_hours is not None:
        table[None] = args.expected_hours
    for item in args.expected_hours_for:
        who, sep, hours = item.rpartition("=")
        try:
            value = float(hours)
        except ValueError:
            value = None
        if not sep or not who.strip() or value is None:
            raise QueryError(f"--expected-hours-for wants TEAMMATE=HOURS, got {item!r}")
        key: int | str = int(who) if who.strip().isdigit() else who.strip()
        table[key] = value
    if list(table) == [None]:
        return check_expected(table[None])
    return check_expected(table) if table else check_expected(8.0)


def check_options(args: argparse.Namespace) -> Options:
    """Every option checked before a client, a file or a request exists.

    Raises:
        FBTimeError: a bad filter, rule, step, date, number or report name.
    """
    chosen = filters(args)
    encode_filters(chosen)
    report = args.report
    if report is not None and report.suffix.lower() not in REPORTS:
        raise QueryError(
            f"cannot tell how to write {str(report)!r}: a report ends in {', '.join(REPORTS)}"
        )
    step, how = None, "nearest"
    if args.round is not None:
        text, _, asked = args.round.partition(":")
        step, how = step_seconds(text.strip()), check_how(asked.strip() or "nearest")
    now = clock.as_utc(args.now, "--now") if args.now is not None else None
    if args.unbilled_days < 0 or not 0 < args.max_hours <= 24 * 366:
        raise QueryError("--unbilled-days must be 0 or more and --max-hours from 0 to a year")
    if args.tz is not None:
        try:
            zoneinfo.ZoneInfo(args.tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise QueryError(f"--tz {args.tz[:40]!r} is no time zone; use an IANA name "
                             "such as America/Toronto") from None  # fmt: skip
    given = args.expected_hours is not None or bool(args.expected_hours_for)
    if (args.standard_rate or args.currency) and not args.rates:
        raise QueryError("--standard-rate and --currency go with --rates")
    check_inputs(args.standard_rate, None, args.currency)
    return Options(
        filters=chosen,
        rules=_rule_names(args.rules, given, args.rates),
        fail_on=args.fail_on,
        report=report,
        step=step,
        how=how,
        now=now,
        expected=_expected(args),
        rates=args.rates,
        rule_options={
            "unbilled_days": args.unbilled_days,
            "max_hours": args.max_hours,
            "tz": args.tz,
            "week_start": args.week_start,
        },
    )


def _interactive() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


def _run(args: argparse.Namespace, options: Options) -> int:
    with connect_from(args) as (client, _):
        frame = load_time_entries(
            client, **options.filters, refresh=args.refresh,
            progress=None if _interactive() else False,
        )  # fmt: skip
        team, clients = _names(lambda: load_team(client)), _names(lambda: load_clients(client))
        rates = load_rates(client) if options.rates else None
    frame = with_names(frame, clients=clients, team=team)
    if options.step is not None:
        step = pd.Timedelta(seconds=options.step)
        frame = round_frame(frame, step, options.how)  # type: ignore[arg-type]
    if rates is not None:
        frame = with_rates(frame, rates, standard_rate=args.standard_rate, currency=args.currency)
    found = audit(
        frame, options.rules, now=clock.now(), rates=rates, team=team,
        expected_hours_per_day=options.expected, **options.rule_options,
    )  # fmt: skip
    status = exit_status(found, options.fail_on)
    summary = summarize(frame, now=clock.now(), tz=options.rule_options["tz"], rates=rates,
                        found=found)  # fmt: skip
    if options.report is not None:
        write_report(options.report, frame, found, summary, options, status)
    _print(frame, found, options, status)
    return status


def _names(load: Callable[[], pd.DataFrame]) -> pd.DataFrame | None:
    """A name list, or None when the token may not read it (ids are shown instead)."""
    try:
        return load()
    except (AuthError, NotFoundError) as exc:
        print(f"fbtime audit: names not shown ({for_terminal(exc)})", file=sys.stderr)
        return None


def exit_status(found: pd.DataFrame, fail_on: str) -> int:
    """1 when a finding is at or above ``fail_on`` (never, for ``"never"``), else 0."""
    if fail_on == "never" or found.empty:
        return EXIT_CLEAN
    levels = list(SEVERITY.categories)  # ordered: compare ranks, never the words
    worst = found["severity"].astype(SEVERITY).cat.codes.max()
    return EXIT_FINDINGS if worst >= levels.index(fail_on) else EXIT_CLEAN


def counts(found: pd.DataFrame) -> dict[str, int]:
    """Findings per severity, the worst first: ``{"error": 2, "warning": 5, "info": 0}``."""
    table = found["severity"].astype(SEVERITY).value_counts()
    return {level: int(table.get(level, 0)) for level in reversed(SEVERITY.categories)}


def _print(frame: pd.DataFrame, found: pd.DataFrame, options: Options, status: int) -> None:
    tally = ", ".join(f"{n} {level}" for level, n in counts(found).items())
    verdict = "fails" if status == EXIT_FINDINGS else "passes"
    level = (
        "never fails" if options.fail_on == "never" else f"{verdict} --fail-on {options.fail_on}"
    )
    print(f"fbtime audit: {len(frame):,} entries, {len(found):,} findings ({tally}); {level}")
    rounding = rounding_of(frame)
    if rounding is not None:
        print(f"  {describe(rounding)}")
    if len(found):
        print(to_text(formatted(found.head(SHOWN)), index=False))  # one spelling everywhere
        if len(found) > SHOWN:
            print(f"... and {len(found) - SHOWN:,} more (all in --report)")
    if options.report is not None:
        print(f"report: {for_terminal(options.report)}")


# -- reports ------------------------------------------------------------------------------
def write_report(
    path: Path,
    frame: pd.DataFrame,
    found: pd.DataFrame,
    summary: Summary,
    options: Options,
    status: int,
) -> Path:
    """Write the report ``path``'s suffix asks for (atomically, mode 0600)."""
    kind = REPORTS[path.suffix.lower()]
    if kind == "csv":
        # the one writer of files for people: display units, formulas neutralised, a BOM
        return to_csv(found, path, index=False)
    document = report_json(frame, found, summary, options, status)
    if kind == "json":
        text = json.dumps(document, indent=2, ensure_ascii=False)
    else:
        text = report_html(found, summary, document)
    return write_private_with(path, lambda temporary: temporary.write_text(text, "utf-8"))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):  # a finding's day
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, dt.date) else value


def report_json(
    frame: pd.DataFrame, found: pd.DataFrame, summary: Summary, options: Options, status: int
) -> dict[str, Any]:
    """The JSON report as a dict (documented in docs/scheduled-audits.md)."""
    info = frame.attrs.get("fbtime")
    loaded = info.get("filters", {}) if isinstance(info, dict) else {}
    table = found.astype({"severity": "str"})
    columns = [
        table[c].to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[call-overload]
        for c in FINDING_COLUMNS
    ]
    rows = [
        {c: _plain(v) for c, v in zip(FINDING_COLUMNS, row, strict=True)}
        for row in zip(*columns, strict=True)
    ]
    return {
        "format": JSON_FORMAT,
        "now": clock.now().isoformat().replace("+00:00", "Z"),
        "filters": dict(loaded),
        "rules": options.rules,
        "fail_on": options.fail_on,
        "exit_status": status,
        "rounded": rounding_of(frame),
        "counts": counts(found),
        "totals": {k: _plain(v) for k, v in asdict(summary.totals).items()},
        "findings": rows,
    }


_STYLE = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;"
    "padding:4px 8px;text-align:left;vertical-align:top;white-space:nowrap}"
    "th{background:#f3f3f3}.findings td:nth-child(5){white-space:normal;min-width:30em}"
    ".status{font-weight:bold}"
)


def report_html(found: pd.DataFrame, summary: Summary, document: dict[str, Any]) -> str:
    """A page of its own: the verdict, the summary and every finding, all text escaped.

    Its Content-Security-Policy allows no script, image or request at all: a name that
    slipped through escaping still could not run or call out.
    """
    tally = ", ".join(f"{n} {level}" for level, n in document["counts"].items())
    table = (
        formatted(found).to_html(index=False, escape=True, border=0, classes="findings")
        if len(found)
        else "<p>no findings</p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\"><title>fbtime audit</title>"
        f"<style>{_STYLE}</style></head><body><h1>fbtime audit</h1>"
        f'<p class="status">exit status {document["exit_status"]} (--fail-on '
        f"{for_html(document['fail_on'])}): {len(found):,} findings ({for_html(tally)})</p>"
        f"<p>now {for_html(document['now'])}</p>"
        f"{summary._repr_html_()}<h2>Findings</h2>{table}</body></html>\n"
    )
