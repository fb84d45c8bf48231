"""``make demo``: a year of team time on a local sandbox, reported in hours and money, charted."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pandas as pd

import fbtime.accessor  # noqa: F401  (registers df.fbtime)
from fbtime import clock
from fbtime.display import show
from fbtime.export import to_csv
from fbtime.load import load_time_entries
from fbtime.reference import load_clients, load_projects, load_rates, load_services, load_team
from fbtime.sandbox import Sandbox

PLOTS = ("hours_by_client", "weekly_hours", "weekday_heatmap", "unbilled_aging")


def run_demo(out: Path, *, entries: int = 6000, seed: int = 1) -> dict[str, Path]:
    """Start a sandbox, load a year of team entries, print a report, write CSV and PNGs.

    The money story: every entry valued by its project's billing method, then what is
    still unbilled, by client and by age. FreshBooks has no endpoint for the business
    standard rate, so the demo passes the sandbox's (a real account's owner knows theirs).

    Returns the files written, by name.
    """
    import matplotlib

    matplotlib.use("Agg")  # the demo writes files; it never opens a window
    import matplotlib.pyplot as plt

    from fbtime.plots import MissingGlyphsWarning  # lazy: matplotlib only after use("Agg")

    out.mkdir(parents=True, exist_ok=True)
    with Sandbox(entries=entries, seed=seed) as sb:
        client = sb.client(cache=False)
        since = pd.Timestamp(clock.today(), tz="UTC") - pd.DateOffset(years=1)
        started = time.perf_counter()
        df = load_time_entries(client, team=True, started_from=since, include_unlogged=True)
        seconds = time.perf_counter() - started
        rates = load_rates(client)
        df = df.fbtime.with_names(
            clients=load_clients(client),
            projects=load_projects(client),
            services=load_services(client),
            team=load_team(client),
        )
        standard_rate = sb.dataset.standard_rate
    df = df.fbtime.with_rates(rates, standard_rate=standard_rate)
    info = df.attrs["fbtime"]
    print(
        f"Loaded {len(df):,} entries ({info['requests']} requests, {seconds:.2f} s) "
        f"from sandbox business {info['business_id']}, since {since:%Y-%m-%d}.\n"
        f"Amounts follow each project's billing method (standard rate {standard_rate} "
        f"{rates.currency or ''}, given: the API has none).\n"
    )
    print(df.fbtime.summary(rates=rates))
    aging = df.fbtime.aging(by="client", values="unbilled_amount")
    print()
    print(show(aging, f"unbilled value by client and age ({rates.currency})"))
    print()
    print(show(df.fbtime.budget(rates), "project budgets and fixed prices"))
    files: dict[str, Path] = {"csv": out / "time_entries.csv"}
    to_csv(df, files["csv"])  # for opening in a spreadsheet: formulas neutralised
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MissingGlyphsWarning)
        for name in PLOTS:
            plot = getattr(df.fbtime.plot, name)
            ax = plot(values="amount") if name == "unbilled_aging" else plot()
            files[name] = out / f"{name}.png"
            ax.figure.savefig(files[name], dpi=110, bbox_inches="tight")
            plt.close(ax.figure)
    if any(issubclass(w.category, MissingGlyphsWarning) for w in caught):
        print("\nnote: some client names use characters no installed font has (install a CJK")
        print("font such as Debian's fonts-noto-cjk to see them in the charts)")
    print("\nWrote:")
    for path in files.values():
        print(f"  {path}")
    return files
