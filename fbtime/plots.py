"""Charts of a time-entry frame with matplotlib.

Every function takes the frame and ``ax=None``: it draws into ``ax`` when given, else
into a new figure, and returns the Axes. None calls ``plt.show()`` or
``matplotlib.use`` (the caller or Jupyter decides how figures are shown), so they run
headless. Hours come from the same counted entries as the summaries in
:mod:`fbtime.analysis` (logged, active); the frame is never modified.

Readability: dates on the weekly chart are placed by matplotlib's date locators
(``AutoDateLocator`` + ``ConciseDateFormatter``), so ticks never crowd whatever the
range; weeks the data covers only in part are hatched and named in the legend;
legends sit outside the bars.

Scripts: a font installed after matplotlib built its font cache (``fonts-noto-cjk``, say)
is added at the first chart (:func:`refresh_fonts`), so Japanese or Chinese names render
where a font exists. Where none does, matplotlib's "Glyph ... missing" warning per glyph
is silenced and one :class:`MissingGlyphsWarning` names the characters and the fix,
once per process (:func:`missing_glyphs` says the same for one chart).
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import matplotlib
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from matplotlib.typing import RcKeyType

from fbtime.analysis import (
    AGE_BUCKETS,
    aging,
    by_period,
    clock,
    hours_frame,
    local_day,
    resolve_tz,
    summarize_by,
)
from fbtime.display import money, no_group
from fbtime.errors import QueryError
from fbtime.text import CHART_RC, for_chart
from fbtime.weeks import frame_week_start

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
COLORS = {"billed": "#4c72b0", "unbilled": "#dd8452", "non-billable": "#a5a5a5"}
AGE_COLORS = {"future": "#8172b3", "0–30": "#55a868", "31–60": "#ccb974", "61–90": "#dd8452",
              "90+": "#c44e52"}  # fmt: skip
#: Hatch of the bars of a week the data covers only in part.
PARTIAL_HATCH = "//"
#: The heatmap's colour bar: its width and gap, as shares of the heatmap's width.
COLORBAR_WIDTH = 0.03
#: Where every legend goes: beside the plot, never over the bars.
LEGEND_OUTSIDE: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)}
_GLYPH_WARNING = r"Glyph \d+ .*missing from font"


class MissingGlyphsWarning(UserWarning):
    """Some names use characters that no installed font can draw (they show as boxes)."""


#: Tried after DejaVu Sans for glyphs it lacks (client names in Japanese, Chinese, ...).
FALLBACK_FONTS = (
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Source Han Sans",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "IPAGothic",
    "Droid Sans Fallback",
    "Arial Unicode MS",
)
#: Families found at draw time to cover characters the list above lacks (see _cover).
_found_families: list[str] = []
#: Longest name drawn in full: a 5,000-character name collapses a constrained layout (the
#: bars vanish) and makes a tight-cropped PNG ~45,000 px wide; longer ones end in "…".
MAX_LABEL = 80
F = TypeVar("F", bound=Callable[..., Axes])


_FONTS_LOCK = threading.Lock()
_fonts_checked = False
_hinted = False


def refresh_fonts(paths: Iterable[str | Path] | None = None) -> list[str]:
    """Add fonts matplotlib's cached font list lacks; return the files added.

    matplotlib builds its font list once and caches it on disk, so a font installed later
    (``apt-get install fonts-noto-cjk``) is unknown to it and names in that script show
    as boxes. ``paths`` defaults to the system's font files; only new ones are read.
    """
    known = {str(Path(f.fname)) for f in font_manager.fontManager.ttflist}
    files = font_manager.findSystemFonts() if paths is None else paths
    added = []
    for path in files:
        name = str(Path(path))
        if name in known:
            continue
        try:
            font_manager.fontManager.addfont(name)
        except (OSError, RuntimeError, ValueError):  # an unreadable font file is skipped
            continue
        known.add(name)
        added.append(name)
    if added:
        _font_family.cache_clear()
        _charmap.cache_clear()  # findfont may now pick another file for a family
    return added


def _check_fonts_once() -> None:
    global _fonts_checked
    with _FONTS_LOCK:
        if not _fonts_checked:
            _fonts_checked = True
            refresh_fonts()


@functools.cache
def _font_family() -> list[str]:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    known = [name for name in FALLBACK_FONTS if name in installed]
    return list(dict.fromkeys(["DejaVu Sans", *known, *_found_families]))


def chart_style() -> dict[RcKeyType, Any]:
    """The rcParams every fbtime chart is drawn under.

    Names are drawn literally: no mathtext (``$5 and $6`` is text and ``$^_$`` cannot
    fail the draw) and no LaTeX even where a user's matplotlibrc turns ``usetex`` on (a
    name would be LaTeX source). Fonts fall back per glyph, so non-Latin names render
    where a font exists (fonts installed after matplotlib's cache are added first).
    """
    _check_fonts_once()
    literal = CHART_RC["text.parse_math"]  # False: the one setting fbtime.text names
    return {"text.parse_math": literal, "text.usetex": False, "font.family": _font_family()}


@functools.cache
def _file_charmap(path: str) -> frozenset[int]:
    try:
        return frozenset(matplotlib.ft2font.FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
        return frozenset()


@functools.cache
def _charmap(family: str) -> frozenset[int]:
    try:
        path = font_manager.findfont(family, fallback_to_default=False)
    except ValueError:
        return frozenset()
    return _file_charmap(path)


def _texts(ax: Axes) -> list[Any]:
    texts = [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(),
             *ax.get_yticklabels(), *ax.texts]  # fmt: skip
    legend = ax.get_legend()
    if legend is not None:
        texts += [*legend.get_texts(), legend.get_title()]
    return texts


def missing_glyphs(ax: Axes) -> set[str]:
    """Characters in the chart's texts that no font of :func:`chart_style` can draw."""
    chars = {c for t in _texts(ax) for c in t.get_text() if not c.isspace()}
    if not chars:
        return set()
    covered: set[int] = set()
    for family in _font_family():
        covered |= _charmap(family)
    return {c for c in chars if ord(c) not in covered}


def _cover(ax: Axes) -> None:
    """Give the chart's texts installed fonts that draw the characters the list lacks.

    Any installed font may cover a script the fallback list does not name; it is found
    by its character map (read once per file) and kept for later charts.
    """
    lost = missing_glyphs(ax)
    if not lost:
        return
    family = _font_family()
    for entry in font_manager.fontManager.ttflist:
        if entry.name in family or entry.name in _found_families or "Last Resort" in entry.name:
            continue  # Last Resort draws every character as a box: no help
        if any(ord(c) in _file_charmap(entry.fname) for c in lost):
            _found_families.append(entry.name)
            lost = {c for c in lost if ord(c) not in _file_charmap(entry.fname)}
            if not lost:
                break
    if _found_families:
        _font_family.cache_clear()
        family = _font_family()
        for text in _texts(ax):
            text.set_fontfamily(family)


def _hint(ax: Axes) -> None:
    """One warning per process when a chart has characters no font draws; never a flood."""
    global _hinted
    if _hinted:
        return
    lost = missing_glyphs(ax)
    if lost:
        _hinted = True
        # told once, here: matplotlib's own warning per glyph and per draw would flood
        warnings.filterwarnings("ignore", message=_GLYPH_WARNING, category=UserWarning)
        sample = "".join(sorted(lost)[:8])
        warnings.warn(
            f"{len(lost)} character(s) in names ({sample!r}...) have no installed font and "
            "show as boxes; install a font for them (Debian: apt-get install "
            "fonts-noto-cjk) and restart Python",
            MissingGlyphsWarning,
            stacklevel=3,
        )


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
        style = chart_style()
        with matplotlib.rc_context(style):
            ax = plot(*args, **kwargs)
        # pyplot draws the figure later (plt.show, Jupyter's inline backend), outside the
        # style, and makes tick labels then: they keep the style's fonts (CJK names)
        ax.tick_params(labelfontfamily=style["font.family"])
        # a caller's Axes made its title, axis labels and first ticks under its own rcParams
        texts = (ax.title, ax.xaxis.label, ax.yaxis.label)
        for text in (*texts, *ax.get_xticklabels(), *ax.get_yticklabels()):
            text.set_parse_math(False)
        _cover(ax)
        _hint(ax)
        return ax

    return wrapper  # type: ignore[return-value]


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


#: Room left past the longest bar, as a share of it: a bar never touches the frame.
HEADROOM = 0.06


def fit_values(ax: Axes, totals: Any, *, horizontal: bool = False) -> None:
    """Let the value axis run from 0 (or the lowest total) to past the longest stack.

    Stacked bars leave matplotlib's margins no room: a zero-length segment on top of a
    stack pins the axis to the stack's end (a "sticky edge"), so the longest bar would
    touch the frame, or be clipped by it.
    """
    values = np.asarray(totals, dtype=float)
    values = values[np.isfinite(values)]
    high = float(values.max()) if len(values) else 0.0
    low = min(0.0, float(values.min())) if len(values) else 0.0
    span = (high - low) or 1.0
    limits = (low - (HEADROOM * span if low < 0 else 0.0), high + HEADROOM * span)
    (ax.set_xlim if horizontal else ax.set_ylim)(*limits)


def thousands(ax: Axes, *, horizontal: bool = False) -> None:
    """Tick labels of the value axis with thousands separators (``30,000``)."""
    axis = ax.xaxis if horizontal else ax.yaxis
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))


def legend_handles(containers: Sequence[Any]) -> list[Patch]:
    """One plain swatch per stack, in its colour: a stack's first bar may be hatched (a
    partial week), and a legend that copied it would say every stack is partial."""
    return [
        Patch(facecolor=bars.patches[0].get_facecolor(), edgecolor="none")
        for bars in containers
        if len(bars.patches)
    ]


def status_bars(
    ax: Axes,
    positions: Any,
    stacks: Sequence[tuple[str, np.ndarray]],
    *,
    horizontal: bool = False,
    width: float = 0.8,
) -> list[Any]:
    """Stacked bars (billed, unbilled, non-billable...) at ``positions``, in their colours,
    with the value axis fitted (:func:`fit_values`); returns the bar containers."""
    base = np.zeros(len(positions))
    drawn = []
    for label, values in stacks:
        color = COLORS.get(label)
        if horizontal:
            bars = ax.barh(positions, values, left=base, label=label, color=color, height=width)
        else:
            bars = ax.bar(positions, values, bottom=base, label=label, color=color, width=width)
        drawn.append(bars)
        base = base + values
    fit_values(ax, base, horizontal=horizontal)
    return drawn


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
                          no_group("client"))  # fmt: skip
    billed = table["billed_hours"].to_numpy(dtype=float)
    unbilled = table["unbilled_hours"].to_numpy(dtype=float)
    other = table["hours"].to_numpy(dtype=float) - billed - unbilled
    y = np.arange(len(table))
    stacks = [("billed", billed), ("unbilled", unbilled), ("non-billable", other)]
    status_bars(ax, y, stacks, horizontal=True)
    ax.set_yticks(y, labels)
    ax.set_xlabel("hours (h)")
    ax.set_ylabel("client")
    ax.set_title("Hours by client")
    ax.legend(title="status", **LEGEND_OUTSIDE)
    return ax


def partial_weeks(frame: pd.DataFrame, weeks: pd.DatetimeIndex, tz: str,
                  now: Any = None) -> np.ndarray:  # fmt: skip
    """Which weeks the data covers only in part (they would look like slow weeks).

    The first week is partial when the data starts after its first day (the first
    entry's day, or the load's ``started_from`` if later); the last one when it has not
    ended yet (it holds ``now``) or the load's ``started_to`` cuts it.
    """
    partial = np.zeros(len(weeks), dtype=bool)
    if not len(weeks):
        return partial
    attrs = frame.attrs.get("fbtime")
    info: dict[str, Any] = attrs if isinstance(attrs, dict) else {}
    filters = info.get("filters") or {}

    def local(value: Any) -> pd.Timestamp | None:
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError):
            return None
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
        return stamp.tz_convert(tz).tz_localize(None).normalize()

    days = local_day(frame.loc[frame["started_at"].notna().to_numpy()], tz)
    starts = [days.min()] if len(days) else []
    if filters.get("started_from") and local(filters["started_from"]) is not None:
        starts.append(local(filters["started_from"]))
    start = max(starts) if starts else None  # data begins at the later of the two
    if start is not None and start > weeks[0]:
        partial[0] = True
    end = local(filters["started_to"]) if filters.get("started_to") else None
    today = clock(now).tz_convert(tz).tz_localize(None).normalize()
    last_day = weeks[-1] + pd.Timedelta(days=6)
    if today <= last_day or (end is not None and end < last_day):
        partial[-1] = True
    return partial


@_literal
def weekly_hours(
    frame: pd.DataFrame,
    ax: Axes | None = None,
    *,
    top: int = 5,
    tz: str | None = None,
    now: Any = None,
    week_start: str | None = None,
) -> Axes:
    """Stacked bars of hours per local week, by top-``top`` clients + other.

    Weeks start as ``by_period`` says (the business's week start, or ``week_start``),
    and the x label names it. Dates are placed by matplotlib's date locators, so ticks
    stay readable for a week or for years; weeks the data covers only in part are hatched
    (:func:`partial_weeks`, ``now`` is the clock) and named "partial week" in the legend,
    which sits beside the plot.

    Returns:
        The Axes; one container of bars per client shown (and "other").
    """
    zone = resolve_tz(frame, tz)
    start = frame_week_start(frame, week_start)
    # grouped by id, labelled by name: two clients may share a name
    table = by_period(frame.drop(columns="client_name", errors="ignore"), "W", by="client",
                      tz=zone, week_start=start)  # fmt: skip
    names = None
    if "client_name" in frame:
        pairs = frame.loc[frame["client_id"].notna().to_numpy(), ["client_id", "client_name"]]
        lookup: dict[Any, Any] = dict(pairs.drop_duplicates("client_id").itertuples(index=False))
        names = [None if pd.isna(key) else lookup.get(key) for key in table.columns]
    labels = label_groups(list(table.columns), names, no_group("client"))
    hours = table.to_numpy(dtype=float, na_value=0.0)
    order = np.argsort(-hours.sum(axis=0), kind="stable")
    stacks = [(labels[i], hours[:, i]) for i in order[:top]]
    if len(order) > top:
        rest = "other" if "other" not in labels else f"other ({len(order) - top} clients)"
        stacks.append((rest, hours[:, order[top:]].sum(axis=1)))
    ax = _axes(ax, (10, 4.5))
    weeks = pd.DatetimeIndex(table.index)
    x = mdates.date2num(weeks.to_pydatetime() + pd.Timedelta(days=3.5)) if len(weeks) else []
    partial = partial_weeks(frame, weeks, zone, now)
    bottom = np.zeros(len(table))
    bars = []
    for label, values in stacks:
        drawn = ax.bar(x, values, width=6.0, bottom=bottom, label=label)
        for bar, cut in zip(drawn, partial, strict=True):
            if cut:
                bar.set_hatch(PARTIAL_HATCH)
                bar.set_alpha(0.55)
        bars.append(drawn)
        bottom = bottom + values
    fit_values(ax, bottom)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel(f"week ({start.title()} start, {zone})")
    ax.set_ylabel("hours (h)")
    ax.set_title("Hours per week by client")
    handles: list[Any] = legend_handles(bars)
    texts = [label for label, _ in stacks]
    if partial.any():
        handles.append(Patch(facecolor="white", edgecolor="black", hatch=PARTIAL_HATCH))
        texts.append("partial week")
    if bars:  # labels given explicitly: a name starting with "_" would be left out otherwise
        ax.legend(handles, texts, title="client", fontsize="small", **LEGEND_OUTSIDE)
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
        .unstack(fill_value=0)
        .reindex(columns=range(7), fill_value=0)
        .astype(float)
    )
    names: list[Any] | None = None
    if "teammate_name" in work:
        first = work.groupby("identity_id", dropna=False)["teammate_name"].first()
        names = first.reindex(table.index).tolist()
    ax = _axes(ax, (8, 1.5 + 0.45 * max(len(table), 1)))
    ax.set_title("Hours by teammate and weekday")
    if table.empty:  # imshow of an empty array warns and draws nothing useful
        ax.text(0.5, 0.5, "no logged time", ha="center", va="center", transform=ax.transAxes)
        return ax
    image = ax.imshow(table.to_numpy(dtype=float), aspect="auto", cmap="viridis")
    # the bar hangs on the heatmap itself: placed by the grid (colorbar(ax=...)), it sits
    # past whatever else that grid column holds, such as another chart's legend
    scale = ax.inset_axes((1.02, 0.0, COLORBAR_WIDTH, 1.0))
    ax.figure.colorbar(image, cax=scale, label="hours (h)")
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


@_literal
def unbilled_aging(
    frame: pd.DataFrame,
    ax: Axes | None = None,
    *,
    now: Any = None,
    values: Literal["hours", "amount"] = "hours",
) -> Axes:
    """Bars of unbilled billable time by age: 0–30, 31–60, 61–90 and 90+ days.

    ``values="amount"`` draws money (after ``with_rates``). Entries dated after ``now``
    get a "future" bar, drawn only when there are some. The bars add up to
    :func:`fbtime.analysis.aging` and ``totals()``.

    Returns:
        The Axes; one bar per bucket.
    """
    column = "unbilled_hours" if values == "hours" else "unbilled_amount"
    table = aging(frame, now)
    if column not in table:
        raise QueryError("values='amount' needs amounts; add them with df.fbtime.with_rates()")
    heights = table[column]
    shown = [b for b in AGE_BUCKETS if b != "future" or heights[b] != 0]
    ax = _axes(ax, (6, 4))
    numbers = [float(heights[b]) for b in shown]
    bars = ax.bar(shown, numbers, color=[AGE_COLORS[b] for b in shown])
    fit_values(ax, np.array(numbers) * 1.06)  # and room for the labels above the bars
    thousands(ax)
    if values == "hours":
        ax.bar_label(bars, labels=[f"{v:,.1f} h" for v in numbers])
        ax.set_ylabel("unbilled hours (h)")
        ax.set_title("Unbilled billable hours by age")
    else:
        code: Any = frame["currency"].dropna().unique() if "currency" in frame else []
        unit = str(code[0]) if len(code) == 1 else "currency unknown"
        ax.bar_label(bars, labels=[money(heights[b]) for b in shown])
        ax.set_ylabel(f"unbilled amount ({unit})")
        ax.set_title("Unbilled billable amount by age")
    ax.set_xlabel("age of unbilled time (days since start)")
    return ax
