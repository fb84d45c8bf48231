"""Plots render headless to PNG and draw the numbers the summaries report."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.image import AxesImage

import fbtime.accessor  # noqa: F401  (registers df.fbtime)

NOW = "2026-03-20T12:00:00Z"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def save(ax: Axes, tmp_path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 1000


def test_hours_by_client(small_frame, tmp_path):
    named = small_frame.fbtime.with_names(clients={10: "Acme", 20: "Globex"})
    ax = named.fbtime.plot.hours_by_client()
    save(ax, tmp_path, "hours_by_client")
    assert len(ax.containers) == 3  # billed, unbilled, non-billable
    assert all(len(bars) == 2 for bars in ax.containers)  # one bar per client
    widths = [bar.get_width() for bars in ax.containers for bar in bars]
    assert np.isclose(sum(widths), 3.5)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Acme", "Globex"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "billed",
        "unbilled",
        "non-billable",
    ]
    assert ax.get_title() and "(h)" in ax.get_xlabel()


def test_hours_by_client_draws_into_given_axes(mixed_frame, tmp_path):
    _, given = plt.subplots()
    ax = mixed_frame.fbtime.plot.hours_by_client(ax=given)
    assert ax is given
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "<no client>" in labels and len(labels) == 3
    save(ax, tmp_path, "given")


def test_weekly_hours_top_clients_and_other(synthetic_frame, tmp_path):
    ax = synthetic_frame.fbtime.plot.weekly_hours(top=3, now=NOW)
    save(ax, tmp_path, "weekly_hours")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    # the data starts on Thursday 2026-01-01: its first week is marked partial
    assert len(labels) == 5 and labels[-2:] == ["other", "partial week"]
    heights = sum(bar.get_height() for bars in ax.containers for bar in bars)
    assert np.isclose(heights, synthetic_frame.fbtime.totals().hours)
    assert ax.get_ylabel() == "hours (h)" and "week" in ax.get_xlabel()


def test_weekday_heatmap(small_frame, tmp_path):
    ax = small_frame.fbtime.with_names(teammates={1: "Ann", 2: "Bo"}).fbtime.plot.weekday_heatmap()
    save(ax, tmp_path, "weekday_heatmap")
    image = next(child for child in ax.get_children() if isinstance(child, AxesImage))
    data = image.get_array()
    assert data.shape == (2, 7)
    assert np.isclose(data.sum(), 3.5)
    assert data[0, 0] == 1.0 and data[0, 2] == 0.5 and data[1, 1] == 2.0  # Mon, Wed / Tue
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Ann", "Bo"]
    (scale,) = ax.child_axes  # the colour bar hangs on the heatmap, not placed apart
    ax.figure.canvas.draw()
    heat, bar = ax.get_position(), scale.get_position()
    assert 0 < bar.x0 - heat.x1 < 0.05 and (bar.y0, bar.y1) == pytest.approx((heat.y0, heat.y1))


def test_unbilled_aging(make_frame, tmp_path):
    frame = make_frame(
        [
            {"started_at": "2026-03-10T12:00:00Z", "duration": 3600},  # 10 days
            {"started_at": "2026-02-01T12:00:00Z", "duration": 7200},  # 47 days
            {"started_at": "2025-11-01T12:00:00Z", "duration": 1800},  # 139 days
            {"started_at": "2025-11-01T12:00:00Z", "duration": 1800, "billed": True},
        ]
    )
    ax = frame.fbtime.plot.unbilled_aging(now=NOW)
    save(ax, tmp_path, "unbilled_aging")
    bars = ax.containers[0]
    assert [bar.get_height() for bar in bars] == [1.0, 2.0, 0.0, 0.5]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0–30", "31–60", "61–90", "90+"]
    assert "(h)" in ax.get_ylabel() and "days" in ax.get_xlabel()
