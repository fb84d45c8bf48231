"""Time an import of 5,000 Toggl rows into the sandbox at FreshBooks' published rate limit.

FreshBooks allows 600 requests per rolling 60 s (``freshbooks-api.md`` §8), one pool for
every request of an account. A create is one POST and nothing can batch it, so 5,000 new
entries need at least 5,000 requests. In a rolling window the first 600 may go at once
and every later one waits for one 60 s older: **440 s (7 min 20 s) at the least**,
whatever the client does (500 s at the average rate of 10 a second). The bench measures
how close an import gets to that floor and what it spends besides the POSTs:

* reading and checking the file (no request);
* planning (``import_time``): the names (team, invitations, clients, projects,
  services) and the entries over the file's span, for the duplicate check;
* applying, with the requests counted by the sandbox (POSTs, the one listing that
  tells which rows already exist, 429 answers) and the floor those requests imply;
* importing the same file again: every row skipped as a duplicate, nothing planned.

The sandbox is told the published limit (``--limit`` per ``--per`` seconds); ``--rows``
and a shorter ``--per`` give a quick run. Prints a table and replaces the ``## Imports``
section of ``bench/RESULTS.md`` (``--out``; ``--no-write`` to only print).

Run: ``python bench/imports.py`` (about 9 minutes at the real limit).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from time_exports import toggl  # the test suite's writer of sample-shaped exports

import fbtime
from fbtime.bulk.imports import ImportNotice
from fbtime.imports import read_time_export

HERE = Path(__file__).parent
TZ = "Europe/Paris"
FIRST_DAY = dt.date(2026, 12, 1)
SECTION = "## Imports"


def export_rows(client: fbtime.Client, rows: int) -> list[dict[str, Any]]:
    """``rows`` Toggl rows for the sandbox's teammates: weekdays from FIRST_DAY, eight
    half-hour blocks a day each, on a project of a client with one of its services."""
    team = fbtime.load_team(client)
    clients = fbtime.load_clients(client)["name"].to_dict()
    projects = fbtime.load_projects(client)
    work = [
        (clients[p["client_id"]], p["name"], s["name"])
        for _, p in projects[projects["client_id"].notna()].iterrows()
        for s in p["services"]
    ]
    people = team.reset_index().to_dict("records")
    out: list[dict[str, Any]] = []
    day, i = FIRST_DAY, 0
    while len(out) < rows:
        if day.weekday() < 5:
            for block in range(8):
                for person in people:
                    if len(out) == rows:
                        break
                    client_name, project, service = work[i % len(work)]
                    start = dt.datetime.combine(day, dt.time(9)) + dt.timedelta(minutes=45 * block)
                    end = start + dt.timedelta(minutes=30)
                    out.append({
                        "User": person["name"], "Email": person["email"], "Client": client_name,
                        "Project": project, "Task": service, "Description": f"Block {i}",
                        "Billable": "Yes" if i % 4 else "No",
                        "Start date": f"{start:%Y-%m-%d}", "Start time": f"{start:%H:%M:%S}",
                        "End date": f"{end:%Y-%m-%d}", "End time": f"{end:%H:%M:%S}",
                        "Duration": "00:30:00", "Tags": "", "Amount (EUR)": "",
                    })  # fmt: skip
                    i += 1
        day += dt.timedelta(days=1)
    return out


def requests_since(sb: fbtime.Sandbox, before: Counter[str]) -> Counter[str]:
    return sb.stats() - before


def run(rows: int, limit: int, per: float, workers: int) -> dict[str, Any]:
    found: dict[str, Any] = {"rows": rows, "limit": limit, "per": per, "workers": workers}
    with tempfile.TemporaryDirectory() as tmp, fbtime.Sandbox(entries=2000, seed=1,
                                                              end=FIRST_DAY) as sb:  # fmt: skip
        path = toggl(Path(tmp) / "toggl.csv", export_rows(sb.client(cache=False), rows))
        found["file MB"] = path.stat().st_size / 2**20
        start = time.perf_counter()
        read_time_export(path, "toggl", tz=TZ)
        found["read s"] = time.perf_counter() - start
        sb.set_rate_limit(limit, per=per)
        client = sb.client(cache=False)
        warnings.simplefilter("ignore", ImportNotice)
        before = sb.stats()
        start = time.perf_counter()
        plan = fbtime.import_time(path, "toggl", tz=TZ, client=client)
        found["plan s"] = time.perf_counter() - start
        found["plan requests"] = sum(requests_since(sb, before).values())
        found["planned"] = len(plan)
        before = sb.stats()
        start = time.perf_counter()
        result = plan.apply(client, confirm=len(plan), journal=tmp, workers=workers)
        found["apply s"] = time.perf_counter() - start
        spent = requests_since(sb, before)
        found["applied"] = result.counts["applied"]
        found["apply requests"] = sum(spent.values())
        found["POST"] = spent["POST time_entries"]
        found["429"] = sum(n for k, n in spent.items() if k.startswith("429"))
        found["apply floor s"] = floor(found["apply requests"], limit, per)
        live = sb.entries()
        made = live[live["id"].isin(result.rows["new_id"].dropna().astype(int))]
        found["entries made"] = len(made)
        before = sb.stats()
        start = time.perf_counter()
        again = fbtime.import_time(path, "toggl", tz=TZ, client=client)
        found["again s"] = time.perf_counter() - start
        found["again requests"] = sum(requests_since(sb, before).values())
        found["again planned"] = len(again)
    return found


def floor(requests: int, limit: int, per: float) -> float:
    """The least time ``requests`` can take under ``limit`` per rolling ``per`` seconds:
    the first ``limit`` at once, then one each ``per / limit`` seconds."""
    return max(0, requests - limit) / limit * per


def table(r: dict[str, Any]) -> list[str]:
    least = floor(r["rows"], r["limit"], r["per"])
    return [
        "| step | seconds | requests | note |",
        "| --- | ---: | ---: | --- |",
        f"| read and check the file ({r['file MB']:.1f} MB) | {r['read s']:.2f} | 0 | "
        f"{r['rows']:,} rows |",
        f"| plan (`import_time`) | {r['plan s']:.2f} | {r['plan requests']:,} | "
        f"{r['planned']:,} creates planned |",
        f"| apply ({r['workers']} workers) | {r['apply s']:.1f} | {r['apply requests']:,} | "
        f"{r['POST']:,} POSTs, {r['429']} answers of 429; {r['entries made']:,} entries made |",
        f"| import the same file again | {r['again s']:.2f} | {r['again requests']:,} | "
        f"{r['again planned']} planned (every row a duplicate) |",
        "",
        f"| limit | floor of {r['rows']:,} POSTs | floor of the apply's requests | apply | "
        "apply / POST floor |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| {r['limit']} per {r['per']:g} s | {least:.0f} s | {r['apply floor s']:.0f} s | "
        f"{r['apply s']:.0f} s | {r['apply s'] / least:.2f} |",
    ]


def section(r: dict[str, Any]) -> str:
    import fbtime as package

    lines = [
        SECTION,
        "",
        f"Generated by `python bench/imports.py` on {dt.date.today().isoformat()} (Python "
        f"{platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, fbtime {package.__version__}; 1-minute load average "
        f"{os.getloadavg()[0]:.1f}). A Toggl export of {r['rows']:,} rows (6 teammates, "
        f"weekdays from {FIRST_DAY}) into a sandbox of 2,000 entries that publishes a limit "
        f"of {r['limit']} requests per {r['per']:g} s. One create is one POST and nothing "
        f"batches it; the first {r['limit']} may go at once, every later one waits for one "
        f"{r['per']:g} s older, so the floor is ({r['rows']:,} - {r['limit']}) / "
        f"{r['limit']} x {r['per']:g} s = {floor(r['rows'], r['limit'], r['per']):.0f} s "
        f"whatever the client does ({r['rows'] / r['limit'] * r['per']:.0f} s at the "
        "average rate). The sandbox counts in fixed windows, where a run that starts late "
        "in one can go a little faster than a rolling window lets it.",
        "",
        *table(r),
        "",
    ]
    return "\n".join(lines)


def section_of(text: str) -> str | None:
    """The ``## Imports`` section of a results file (None if it has none)."""
    if SECTION not in text:
        return None
    rest = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return SECTION + rest.rstrip("\n") + "\n"


def replace_section(text: str, new: str) -> str:
    """``text`` with its ``## Imports`` section replaced by ``new`` (appended if absent)."""
    if SECTION not in text:
        return text.rstrip("\n") + "\n\n" + new
    head, rest = text.split(SECTION, 1)
    tail = rest.split("\n## ", 1)
    after = "\n## " + tail[1] if len(tail) > 1 else ""
    return head + new.rstrip("\n") + "\n" + after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--limit", type=int, default=600)
    parser.add_argument("--per", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    found = run(args.rows, args.limit, args.per, args.workers)
    print("\n".join(table(found)))
    if not args.no_write:
        old = args.out.read_text() if args.out.exists() else "# fbtime benchmark results\n"
        args.out.write_text(replace_section(old, section(found)))
        print(f"\nwrote the {SECTION[3:]} section of {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
