"""Charts of a time-entry frame with matplotlib.

Every function takes the frame and ``ax=None``: it draws into ``ax`` when given, else
into a new figure, and returns the Axes. None calls ``plt.show()`` or
``matplotlib.use`` (the caller or Jupyter decides how figures are shown), so they run
headless. Hours come from the same counted entries as the summaries in
:mod:`fbtime.analysis` (logged, active); the frame is never modified.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from fbtime.analysis import (
    by_period,
    hours_frame,
    resolve_tz,
    select,
    summarize_by,
    unbilled_mask,
)
from fbtime.text import CHART_RC, for_chart

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
AGE_BUCKETS = ("0–30", "31–60", "61–90", "90+")
COLORS = {"billed": "#4c72b0", "unbilled": "#dd8452", "non-billable": "#a5a5a5"}


#: Tried after DejaVu Sans for glyphs it lacks (client names in Japanese, Chinese, ...).
FALLBACK_FONTS = (
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Source Han Sans",
    "WenQuanYi Zen Hei",
    "IPAGothic",
    "Droid Sans Fallback",
    "Arial Unicode MS",
)
#: Longest name drawn in full: a 5,000-character name collapses a constrained layout (the
#: bars vanish) and makes a tight-cropped PNG ~45,000 px wide; longer ones end in "…".
MAX_LABEL = 80
F = TypeVar("F", bound=Callable[..., Axes])


@functools.cache
def _font_family() -> list[str]:
    installed = {f.name for f in matplotlib.font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *(name for name in FALLBACK_FONTS if name in installed)]


def chart_style() -> dict[str, Any]:
    """The rcParams every fbtime chart is drawn under.

    Names are drawn literally: no mathtext (``$5 and $6`` is text and ``$^_$`` cannot
    fail the draw) and no LaTeX even where a user's matplotlibrc turns ``usetex`` on (a
    name would be LaTeX source). Fonts fall back per glyph, so non-Latin names render
    where a font exists.
    """
    return {**CHART_RC, "text.usetex": False, "font.family": _font_family()}


def chart_label(value: Any) -> str:
    """``value`` as chart text: controls removed (:func:`fbtime.text.for_chart`), cut short."""
    text = for_chart(value)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def label_groups(
    ids: Sequence[Any], names: Sequence[Any] | None, none: str, id_text: str = "{}"
) -> list[str]:
    """One label per group: its name, else ``id_text`` with its id, else ``none`` (NA id).

    A name that repeats (two clients called "Acme", or a name equal to another group's
    id) gets `` (#id)``, so the chart never shows two groups as one.
    """
    labels = []
    for i, key in enumerate(ids):  # one per group shown, not per entry
        name = chart_label(names[i]) if names is not None and isinstance(names[i], str) else ""
        if name.strip():
            labels.append(name)
        else:
            labels.append(none if pd.isna(key) else id_text.format(key))
    counts = Counter(labels)
    return [
        f"{label} (#{key})" if counts[label] > 1 and not pd.isna(key) else label
        for label, key in zip(labels, ids, strict=True)
    ]


def _literal(plot: F) -> F:
    """Draw under :func:`chart_style`; texts of an Axes made elsewhere are made literal too."""

    @functools.wraps(plot)
    def wrapper(*args: Any, **kwargs: Any) -> Axes:
        with matplotlib.rc_context(chart_style()):
            ax = plot(*args, **kwargs)
        # a caller's Axes made its title, axis labels and first ticks under its own rcParams
        texts = (ax.title, ax.xaxis.label, ax.yaxis.label)
        for text in (*texts, *ax.get_xticklabels(), *ax.get_yticklabels()):
            text.set_parse_math(False)
        return ax

    return wrapper  # type: ignore[return-value]


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


@_literal
def hours_by_client(frame: pd.DataFrame, ax: Axes | None = None, *, top: int | None = 15) -> Axes:
    """Horizontal stacked bars per client: billed, unbilled (billable) and non-billable.

    Args:
        frame: time-entry frame.
        ax: Axes to draw into; a new figure when None.
        top: show the clients with most hours (None: all).

    Returns:
        The Axes. One bar per shown client in each of the three stacks; the stacks of a
        bar add up to the client's hours.
    """
    table = summarize_by(frame, "client")
    if top is not None:
        table = table.head(top)
    ax = _axes(ax, (8, 1.2 + 0.4 * max(len(table), 1)))
    table = table.iloc[::-1]  # largest at the top
    names = table.get("client_name")
    labels = label_groups(list(table.index), None if names is None else names.tolist(),
                          "<no client>")  # fmt: skip
    billed = table["billed_hours"].to_numpy(dtype=float)
    unbilled = table["unbilled_hours"].to_numpy(dtype=float)
    other = table["hours"].to_numpy(dtype=float) - billed - unbilled
    y = np.arange(len(table))
    left = np.zeros(len(table))
    for label, values in (("billed", billed), ("unbilled", unbilled), ("non-billable", other)):
        ax.barh(y, values, left=left, label=label, color=COLORS[label])
        left = left + values
    ax.set_yticks(y, labels)
    ax.set_xlabel("hours (h)")
    ax.set_ylabel("client")
    ax.set_title("Hours by client")
    ax.legend(title="status", loc="lower right")
    return ax


@_literal
def weekly_hours(
    frame: pd.DataFrame, ax: Axes | None = None, *, top: int = 5, tz: str | None = None
) -> Axes:
    """Stacked bars of hours per local week (Monday start), by top-``top`` clients + other.

    Returns:
        The Axes; one container of bars per client shown (and "other").
    """
    # grouped by id, labelled by name: two clients may share a name
    table = by_period(frame.drop(columns="client_name", errors="ignore"), "W", by="client", tz=tz)
    names = None
    if "client_name" in frame:
        pairs = frame.loc[frame["client_id"].notna().to_numpy(), ["client_id", "client_name"]]
        lookup = dict(pairs.drop_duplicates("client_id").itertuples(index=False))
        names = [None if pd.isna(key) else lookup.get(key) for key in table.columns]
    labels = label_groups(list(table.columns), names, "<no client>")
    hours = table.to_numpy(dtype=float, na_value=0.0)
    order = np.argsort(-hours.sum(axis=0), kind="stable")
    stacks = [(labels[i], hours[:, i]) for i in order[:top]]
    if len(order) > top:
        rest = "other" if "other" not in labels else f"other ({len(order) - top} clients)"
        stacks.append((rest, hours[:, order[top:]].sum(axis=1)))
    ax = _axes(ax, (10, 4.5))
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    bars = []
    for label, values in stacks:
        bars.append(ax.bar(x, values, bottom=bottom, label=label))
        bottom = bottom + values
    step = max(1, len(table) // 12)
    ax.set_xticks(x[::step], [d.strftime("%Y-%m-%d") for d in table.index[::step]])
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel(f"week starting (Monday, {resolve_tz(frame, tz)})")
    ax.set_ylabel("hours (h)")
    ax.set_title("Hours per week by client")
    if bars:  # labels given explicitly: a name starting with "_" would be left out otherwise
        ax.legend(bars, [label for label, _ in stacks], title="client", fontsize="small",
                  loc="upper left", bbox_to_anchor=(1.01, 1))  # fmt: skip
    return ax


@_literal
def weekday_heatmap(frame: pd.DataFrame, ax: Axes | None = None, *, tz: str | None = None) -> Axes:
    """Heatmap of hours per teammate (rows) and local weekday (columns), with a colorbar.

    Returns:
        The Axes; its image holds the teammate x weekday hours table.
    """
    zone = resolve_tz(frame, tz)
    work = hours_frame(frame, zone, keep=("identity_id", "teammate_name"))
    work["weekday"] = work["day"].dt.day_of_week
    table = (
        work.groupby(["identity_id", "weekday"], dropna=False)["hours"]
        .sum()
        .unstack(fill_value=0.0)
        .reindex(columns=range(7), fill_value=0.0)
    )
    names = None
    if "teammate_name" in work:
        names = work.groupby("identity_id", dropna=False)["teammate_name"].first()
        names = names.reindex(table.index).tolist()
    ax = _axes(ax, (8, 1.5 + 0.45 * max(len(table), 1)))
    ax.set_title("Hours by teammate and weekday")
    if table.empty:  # imshow of an empty array warns and draws nothing useful
        ax.text(0.5, 0.5, "no logged time", ha="center", va="center", transform=ax.transAxes)
        return ax
    image = ax.imshow(table.to_numpy(dtype=float), aspect="auto", cmap="viridis")
    ax.figure.colorbar(image, ax=ax, label="hours (h)")
    ax.set_xticks(range(7), WEEKDAYS)
    ax.set_yticks(range(len(table)), label_groups(list(table.index), names, "<no teammate>"))
    if table.size <= 200:  # values are readable only on small tables
        peak = float(table.to_numpy().max()) if table.size else 0.0
        for (row, col), value in np.ndenumerate(table.to_numpy(dtype=float)):
            color = "black" if value > peak * 0.6 else "white"
            ax.text(col, row, f"{value:.1f}", ha="center", va="center", color=color, fontsize=8)
    ax.set_xlabel(f"weekday ({zone})")
    ax.set_ylabel("teammate")
    return ax


def aging(frame: pd.DataFrame, now: Any = None) -> pd.Series:
    """Unbilled billable hours per age bucket (days since the entry started)."""
    clock = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    clock = clock.tz_localize("UTC") if clock.tzinfo is None else clock.tz_convert("UTC")
    rows = select(frame, unbilled_mask(frame))
    age = (clock - rows["started_at"]).dt.days.to_numpy(dtype=float)
    bucket = pd.cut(age, [-np.inf, 30, 60, 90, np.inf], labels=list(AGE_BUCKETS))
    hours = rows["duration"].to_numpy(dtype=float) / 3600.0
    return pd.Series(hours).groupby(bucket, observed=False).sum().rename("hours")


@_literal
def unbilled_aging(frame: pd.DataFrame, ax: Axes | None = None, *, now: Any = None) -> Axes:
    """Bars of unbilled billable hours by age: 0–30, 31–60, 61–90 and 90+ days.

    Returns:
        The Axes; one bar per bucket, heights summing to the unbilled hours.
    """
    table = aging(frame, now)
    ax = _axes(ax, (6, 4))
    colors = ["#55a868", "#ccb974", "#dd8452", "#c44e52"]
    bars = ax.bar(list(table.index), table.to_numpy(dtype=float), color=colors)
    ax.bar_label(bars, fmt="%.1f h")
    ax.set_xlabel("age of unbilled time (days since start)")
    ax.set_ylabel("unbilled hours (h)")
    ax.set_title("Unbilled billable hours by age")
    return ax
