"""Unbilled time of one month, per client: a summary CSV, and a CSV and a chart per client.

Runs against a local sandbox with synthetic data unless ``--no-sandbox`` is given, in
which case it reads FRESHBOOKS_ACCESS_TOKEN and FRESHBOOKS_BUSINESS_ID (and
FRESHBOOKS_API_URL) from the environment. It only reads; nothing is written to FreshBooks.

Example:
    python examples/monthly_unbilled_report.py --month 2026-09 --out report
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure  # a bare Figure: files only, never a window

import fbtime
from fbtime.cli.options import add_connection_options


def month_bounds(month: str | None, reference: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start of ``month`` (YYYY-MM; default: the month before ``reference``) and of the next."""
    if month is None:
        start = (pd.Timestamp(reference).to_period("M") - 1).to_timestamp()
    else:
        start = pd.Period(month, freq="M").to_timestamp()
    return start.tz_localize("UTC"), (start + pd.offsets.MonthBegin(1)).tz_localize("UTC")


def client_file(client_id: object) -> str:
    return "client-none" if pd.isna(client_id) else f"client-{int(client_id)}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--month", help="YYYY-MM, in UTC (default: last month)")
    parser.add_argument("--out", type=Path, default=Path("unbilled-report"), help="output dir")
    add_connection_options(parser, sandbox_default=True, entries=2000)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    start, stop = month_bounds(args.month, args.end or dt.date.today())
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
    summary.to_csv(out / "summary.csv")
    for client_id, row in summary.iterrows():
        rows = unbilled[
            unbilled["client_id"].isna()
            if pd.isna(client_id)
            else (unbilled["client_id"] == client_id).fillna(False)
        ]
        rows.sort_values("started_at").to_csv(out / f"{row['file']}.csv")
        by_project = rows.fbtime.by_project()
        fig = Figure(figsize=(7, 0.4 * len(by_project) + 1.5), layout="constrained")
        ax = fig.subplots()
        labels = by_project["project_name"].fillna("<no project>")
        ax.barh(labels.astype(str), by_project["unbilled_hours"].astype(float), color="#dd8452")
        ax.set_xlabel("unbilled hours")
        ax.set_title(f"{row['client_name']}: unbilled {start:%B %Y}")
        fig.savefig(out / f"{row['file']}.png", dpi=100)
    columns = ["client_name", "entries", "unbilled_hours"]
    print(f"Unbilled time, {start:%B %Y} (UTC):")
    print(summary[columns].to_string(float_format=lambda x: f"{x:,.2f}"))
    print(f"\n{summary['unbilled_hours'].sum():,.2f} h unbilled; files in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
