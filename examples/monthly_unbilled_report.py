"""Unbilled time of one month, per client: a summary CSV, and a CSV and a chart per client.

Runs against a local sandbox with synthetic data unless ``--no-sandbox`` is given, in
which case it reads FRESHBOOKS_ACCESS_TOKEN and FRESHBOOKS_BUSINESS_ID (and
FRESHBOOKS_API_URL) from the environment. It only reads; nothing is written to FreshBooks.
Client and project names come from the account: the CSV files neutralise text that a
spreadsheet would run as a formula, the charts draw names literally, and the printed
table shows control characters escaped (:mod:`fbtime.export`, :mod:`fbtime.plots`).

Example:
    python examples/monthly_unbilled_report.py --month 2026-09 --out report
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # a bare Figure: files only, never a window

import fbtime
from fbtime import clock
from fbtime.cli.options import add_connection_options
from fbtime.display import to_text
from fbtime.export import to_csv
from fbtime.plots import chart_label, chart_style, label_groups


def month_bounds(month: str | None, reference: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start of ``month`` (YYYY-MM; default: the month before ``reference``) and of the next."""
    if month is None:
        start = (pd.Timestamp(reference).to_period("M") - 1).to_timestamp()
    else:
        start = pd.Period(month, freq="M").to_timestamp()
    return start.tz_localize("UTC"), (start + pd.offsets.MonthBegin(1)).tz_localize("UTC")


def client_file(client_id: object) -> str:
    return "client-none" if pd.isna(client_id) else f"client-{int(client_id)}"


def chart(rows: pd.DataFrame, client_name: object, month: pd.Timestamp, path: Path) -> None:
    """A PNG of one client's unbilled hours per project; names are drawn as plain text."""
    by_project = rows.fbtime.by_project()
    # bars by position, not by name: two projects with one name stay two bars
    labels = label_groups(
        list(by_project.index), by_project["project_name"].tolist(), "<no project>"
    )
    with matplotlib.rc_context(chart_style()):
        fig = Figure(figsize=(7, 0.4 * len(by_project) + 1.5), layout="constrained")
        ax = fig.subplots()
        y = np.arange(len(by_project))
        ax.barh(y, by_project["unbilled_hours"].to_numpy(dtype=float), color="#dd8452")
        ax.set_yticks(y, labels)
        ax.set_xlabel("unbilled hours")
        name = chart_label(client_name) if isinstance(client_name, str) else "<no client>"
        ax.set_title(f"{name}: unbilled {month:%B %Y}")
        fig.savefig(path, dpi=100)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--month", help="YYYY-MM, in UTC (default: last month)")
    parser.add_argument("--out", type=Path, default=Path("unbilled-report"), help="output dir")
    add_connection_options(parser, sandbox_default=True, entries=2000)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    start, stop = month_bounds(args.month, args.end or clock.today())
    with fbtime.connect(
        sandbox=args.sandbox, entries=args.entries, seed=args.seed, end=args.end
    ) as (client, _):
        df = fbtime.load_time_entries(
            client, team=True, started_from=start, started_to=stop - pd.Timedelta(seconds=1)
        )
        df = df.fbtime.with_names(
            clients=fbtime.load_clients(client), projects=fbtime.load_projects(client)
        )
    unbilled = df.fbtime.unbilled()
    summary = unbilled.fbtime.by_client()
    out = args.out / f"unbilled-{start:%Y-%m}"
    out.mkdir(parents=True, exist_ok=True)
    summary.insert(0, "file", [client_file(i) for i in summary.index])
    to_csv(summary, out / "summary.csv")
    for client_id, row in summary.iterrows():
        rows = unbilled[
            unbilled["client_id"].isna()
            if pd.isna(client_id)
            else (unbilled["client_id"] == client_id).fillna(False)
        ]
        to_csv(rows.sort_values("started_at"), out / f"{row['file']}.csv")
        chart(rows, row["client_name"], start, out / f"{row['file']}.png")
    columns = ["client_name", "entries", "unbilled_hours"]
    print(f"Unbilled time, {start:%B %Y} (UTC):")
    print(to_text(summary[columns], float_format=lambda x: f"{x:,.2f}"))
    print(f"\n{summary['unbilled_hours'].sum():,.2f} h unbilled; files in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
