"""``repr(df.fbtime)`` says what the frame holds and what it offers; ``df.fbtime.plot()``.

Like ``df.plot()``, ``df.fbtime.plot()`` draws a default chart and ``kind=`` picks
another; ``df.fbtime.plot.<kind>()`` stays.
"""

from __future__ import annotations

import os
import re
import warnings
from decimal import Decimal

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from conftest import TZ
from pandas.testing import assert_frame_equal

import fbtime
from fbtime.accessor import METHODS, PLOT_KINDS, PlotMethods, TimeEntriesAccessor
from fbtime.errors import QueryError


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_repr_says_what_the_frame_holds(small_frame):
    small_frame.attrs["fbtime"] = {"business_id": 4242, "meta": {}}
    lines = repr(small_frame.fbtime).splitlines()
    # 2026-03-02 14:00Z .. 2026-03-04 15:00Z, local days in Toronto; 1 + 0.5 + 2 hours
    span = f"2026-03-02 to 2026-03-04 ({TZ})"
    assert lines[0] == f"df.fbtime: 3 time entries of business 4242, {span}"
    assert lines[1] == "  3 counted: 3.50 h, 1.00 h unbilled; 2 teammates, 2 clients"


def test_repr_lists_every_method_and_only_real_ones(small_frame):
    text = repr(small_frame.fbtime)
    listed = set(re.findall(r"([a-z_.]+)\(\)", text))
    public = {n for n in dir(TimeEntriesAccessor) if not n.startswith("_")}
    kinds = {f"plot.{k}" for k in PLOT_KINDS}
    assert listed == public | kinds
    assert [line.split()[0] for line in text.splitlines()[2:]] == [k for k, _ in METHODS]
    assert max(len(line) for line in text.splitlines()[:2]) <= 100


def test_repr_of_a_frame_read_back_and_of_an_empty_one(small_frame, tmp_path):
    small_frame.to_csv(tmp_path / "entries.csv")
    back = fbtime.as_time_entries(pd.read_csv(tmp_path / "entries.csv"))
    assert "3 time entries of business unknown," in repr(back.fbtime)
    empty = repr(small_frame.iloc[:0].fbtime).splitlines()
    assert empty[0].endswith("0 time entries of business unknown, no dates")
    assert empty[1] == "  0 counted: 0.00 h, 0.00 h unbilled; 0 teammates, 0 clients"


def test_repr_shows_the_unbilled_value_after_with_rates(make_frame, one_project_rates):
    frame = make_frame([{"duration": 3601, "project_id": 100}])
    priced = frame.fbtime.with_rates(one_project_rates)
    assert priced.fbtime.totals().unbilled_amount == Decimal("95.58")
    second = repr(priced.fbtime).splitlines()[1]
    assert second == "  1 counted: 1.00 h, 1.00 h unbilled (95.58 CAD); 1 teammate, 1 client"


def test_plot_draws_the_weekly_chart_by_default(small_frame):
    before = small_frame.copy()
    ax = small_frame.fbtime.plot()
    same = small_frame.fbtime.plot.weekly_hours()
    assert ax.get_title() == same.get_title() == "Hours per week by client"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        t.get_text() for t in same.get_legend().get_texts()
    ]
    assert_frame_equal(small_frame, before)


@pytest.mark.parametrize("kind", PLOT_KINDS)
def test_plot_kind_is_the_named_chart(small_frame, kind):
    _, (left, right) = plt.subplots(1, 2)
    assert small_frame.fbtime.plot(kind, ax=left) is left
    getattr(small_frame.fbtime.plot, kind)(ax=right)
    assert left.get_title() == right.get_title() and left.get_title()
    assert [t.get_text() for t in left.get_yticklabels()] == [
        t.get_text() for t in right.get_yticklabels()
    ]


def test_plot_passes_options_on_and_refuses_an_unknown_kind(small_frame):
    with pytest.raises(QueryError, match="kind must be one of weekly_hours, hours_by_client"):
        small_frame.fbtime.plot("pie")
    with pytest.raises(QueryError, match="needs amounts"):
        small_frame.fbtime.plot("unbilled_aging", values="amount")
    assert "weekly_hours" in repr(small_frame.fbtime.plot)
    assert isinstance(small_frame.fbtime.plot, PlotMethods)


def test_a_chart_drawn_later_keeps_the_fonts_for_the_names(make_frame, tmp_path):
    # Jupyter's inline backend draws after the cell, outside fbtime's chart style; tick
    # labels are made then. With a font for the name installed, no glyph may go missing.
    from fbtime import plots

    name = "株式会社山田デザイン"
    frame = make_frame([{"client_id": 1}]).fbtime.with_names(clients={1: name})
    _, ax = plt.subplots()  # the user's Axes, made outside the style (notebook 01's grid)
    frame.fbtime.plot("hours_by_client", ax=ax)
    if plots.missing_glyphs(ax):
        reason = "no installed font draws CJK (apt-get install fonts-wqy-microhei)"
        if os.environ.get("FBTIME_REQUIRE_CJK_FONT") == "1":  # .ci/run installs one
            pytest.fail(f"the CJK chart test must run here: {reason}")
        pytest.skip(reason)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns once per glyph it cannot draw
        ax.figure.savefig(tmp_path / "later.png")
    assert [t.get_text() for t in ax.get_yticklabels()] == [name]
