"""``make demo``: a year of team time on a local sandbox, reported and charted."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pandas as pd

import fbtime.accessor  # noqa: F401  (registers df.fbtime)
from fbtime.export import to_csv
from fbtime.load import load_clients, load_projects, load_services, load_time_entries
from fbtime.sandbox import Sandbox

PLOTS = ("hours_by_client", "weekly_hours", "weekday_heatmap", "unbilled_aging")


def run_demo(out: Path, *, entries: int = 6000, seed: int = 1) -> dict[str, Path]:
    """Start a sandbox, load a year of team entries, print a report, write CSV and PNGs.

    Returns the files written, by name.
    """
    import matplotlib

    matplotlib.use("Agg")  # the demo writes files; it never opens a window
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    with Sandbox(entries=entries, seed=seed) as sb:
        client = sb.client(cache=False)
        since = pd.Timestamp.now(tz="UTC").normalize() - pd.DateOffset(years=1)
        started = time.perf_counter()
        df = load_time_entries(client, team=True, started_from=since, include_unlogged=True)
        seconds = time.perf_counter() - started
        df = df.fbtime.with_names(
            clients=load_clients(client),
            projects=load_projects(client),
            services=load_services(client),
        )
    info = df.attrs["fbtime"]
    print(
        f"Loaded {len(df):,} entries ({info['requests']} requests, {seconds:.2f} s) "
        f"from sandbox business {info['business_id']}, since {since:%Y-%m-%d}.\n"
    )
    print(df.fbtime.summary())
    files: dict[str, Path] = {"csv": out / "time_entries.csv"}
    to_csv(df, files["csv"])  # for opening in a spreadsheet: formulas neutralised
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", message="Glyph .* missing from font")
        for name in PLOTS:
            ax = getattr(df.fbtime.plot, name)()
            files[name] = out / f"{name}.png"
            ax.figure.savefig(files[name], dpi=110, bbox_inches="tight")
            plt.close(ax.figure)
    if any("Glyph" in str(w.message) for w in caught):
        print("\nnote: some client names use characters no installed font has (install a CJK")
        print("font such as Debian's fonts-noto-cjk to see them in the charts)")
    print("\nWrote:")
    for path in files.values():
        print(f"  {path}")
    return files
