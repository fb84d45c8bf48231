"""Money on hand-made frames: rounding per entry, no float drift, the fallback rules, honest
totals across every view, one display style and readable charts."""

from __future__ import annotations

import warnings
from decimal import Decimal

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from conftest import NOW, build_frame

import fbtime
from fbtime import display
from fbtime.money import MONEY
from fbtime.plots import PARTIAL_HATCH, MissingGlyphsWarning, refresh_fonts
from fbtime.rates import Rates, amounts_in_cents


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def rates_for(**projects) -> Rates:
    """Projects 1.. as (project_type, billing_method, rate); teammate 1 at 80, service 1 at 60."""
    rows = [
        {"id": pid, "title": f"P{pid}", "project_type": kind, "billing_method": method,
         "rate": rate, "client_id": 10, "budget": None, "billed_amount": "0.00"}
        for pid, (kind, method, rate) in ((int(k[1:]), v) for k, v in projects.items())
    ]  # fmt: skip
    return Rates.from_api(
        projects=rows,
        team_member_rates=[{"identity_id": 1, "rate": "80.00"}],
        service_rates=[{"service_id": 1, "rate": "60.00"}, {"service_id": 2, "rate": "0.00"}],
        clients=[{"id": 10, "currency_code": "CAD"}, {"id": 20, "currency_code": "EUR"}],
        currency="CAD",
    )


def test_each_entry_is_rounded_once_half_away_from_zero():
    rate = np.array([100, 100, 100, 1000, 100])  # cents per hour
    seconds = np.array([18, 54, 90, 1, -18])  # 0.5, 1.5, 2.5 cents; 0.28 c; -0.5 c
    assert amounts_in_cents(rate, seconds).tolist() == [1, 2, 3, 0, -1]


def test_money_does_not_drift_where_floats_do():
    # 100,000 entries of 36 s at 1.00/h: a cent each; summed as floats they drift
    frame = build_frame([{"duration": 36, "project_id": 1}] * 100_000)
    priced = frame.fbtime.with_rates(rates_for(p1=("hourly_rate", "project_rate", "1.00")))
    assert sum([0.01] * 100_000) != 1000.0
    assert priced.fbtime.totals().billable_amount == Decimal("1000.00")
    assert priced["amount"].dtype == MONEY and priced.fbtime.by_client()["billable_amount"].sum()\
        == Decimal("1000.00")  # fmt: skip


def test_fallbacks_zero_rates_and_unknown_projects(make_frame):
    rates = rates_for(p1=("hourly_rate", None, None), p2=("fixed_price", "project_rate", None),
                      p3=("hourly_rate", "service_rate", "50.00"))  # fmt: skip
    frame = make_frame([
        {"project_id": 1, "service_id": 1},  # no method: the service's rate
        {"project_id": 1, "service_id": 9},  # no method, unrated service: the standard rate
        {"project_id": None, "service_id": 2},  # no project, a 0.00 service: a rate of 0
        {"project_id": 2},  # fixed price: no per-entry amount, whatever its billing_method
        {"project_id": 3, "service_id": 9},  # service_rate, unrated service: missing
        {"project_id": 99},  # a project the list does not have: missing
        {"project_id": 1, "service_id": 1, "duration": None, "is_logged": False},  # running
    ])  # fmt: skip
    priced = frame.fbtime.with_rates(rates, standard_rate=100)
    assert priced["rate_source"].astype(str).tolist() == [
        "service_rate", "standard_rate", "service_rate", "fixed_price", "missing", "missing",
        "service_rate",
    ]  # fmt: skip
    assert priced["amount"].astype(object).where(priced["amount"].notna(), None).tolist() == [
        Decimal("60.00"), Decimal("100.00"), Decimal("0.00"), None, None, None, None,
    ]  # fmt: skip
    assert priced["client_currency"].tolist() == ["CAD"] * 7
    bare = frame.fbtime.with_rates(rates)  # no standard rate: that entry is missing, not 0
    assert bare["rate_source"].astype(str).tolist()[1] == "missing"


def test_honest_totals_every_view_adds_up_with_no_client_and_future_entries(make_frame):
    rows = [
        {"client_id": 10, "project_id": 1, "duration": 5400, "started_at": "2026-03-02T14:00:00Z"},
        {"client_id": 10, "project_id": 1, "duration": 1000, "started_at": "2025-10-01T14:00:00Z"},
        {"client_id": None, "project_id": None, "duration": 3600, "internal": False},
        {"client_id": 20, "project_id": 1, "duration": 7200, "started_at": "2026-05-01T14:00:00Z"},
        {"client_id": 20, "project_id": 1, "duration": 600, "billed": True},
        {"client_id": 20, "project_id": 1, "duration": 900, "billable": False},
    ]
    frame = make_frame(rows).fbtime.with_names(clients={10: "Acme", 20: "Globex"})
    frame = frame.fbtime.with_rates(rates_for(p1=("hourly_rate", "project_rate", "33.33")),
                                    standard_rate="10")  # fmt: skip
    t = frame.fbtime.totals()
    views = {
        "by_client": frame.fbtime.by_client()["unbilled_amount"].sum(),
        "by_period": frame.fbtime.by_period("W")["unbilled_amount"].sum(),
        "by_period by client": frame.fbtime.by_period("M", by="client", values="unbilled_amount")
        .sum().sum(),
        "aging": frame.fbtime.aging(NOW)["unbilled_amount"].sum(),
        "aging by client": frame.fbtime.aging(NOW, by="client", values="unbilled_amount")[
            "total"].sum(),
    }  # fmt: skip
    assert t.unbilled_amount == Decimal("135.92")  # 50.00 + 9.26 + 10.00 + 66.66, each rounded
    assert all(v == t.unbilled_amount for v in views.values()), views
    hours = frame.fbtime.aging(NOW)
    assert hours.loc["future", "unbilled_hours"] == 2.0  # May 2026: after NOW, not dropped
    assert hours["unbilled_hours"].sum() == pytest.approx(t.unbilled_hours)
    by_client = frame.fbtime.aging(NOW, by="client")
    assert by_client.index.isna().sum() == 1  # the no-client row is kept
    assert by_client["total"].sum() == pytest.approx(t.unbilled_hours)
    weekly = frame.fbtime.by_period("W", by="client")
    assert "<no client>" in weekly.columns
    assert weekly.to_numpy().sum() == pytest.approx(t.hours)


def test_display_rounds_and_spells_no_client_once(make_frame):
    frame = make_frame([{"client_id": 10, "duration": 3601}, {"client_id": None}])
    frame = frame.fbtime.with_names(clients={10: "Acme"})
    frame = frame.fbtime.with_rates(rates_for(p100=("hourly_rate", "project_rate", "95.55")))
    table = frame.fbtime.by_client()
    assert table.loc[10, "hours"] == pytest.approx(3601 / 3600)  # exact in the frame
    shown = display.formatted(table)
    assert shown.loc["10", "hours"] == "1.00" and shown.loc["10", "billable_amount"] == "95.58"
    assert shown.loc["10", "first_date"] == "2026-03-09"  # a date, not 2026-03-09 00:00:00
    assert shown.loc["<no client>", "client_name"] == "<no client>"
    assert shown.loc["10", "billable_ratio"] == "100%"
    html = display.show(table.assign(client_name=["<b>x</b>", None]))._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    text = str(display.show(frame.fbtime.totals()))
    assert "191.13" in text and "2.00" in text and "2.000" not in text
    assert display.unknown_teammate(7) == "Unknown (7)" and display.no_group("client") == (
        "<no client>"
    )
    summary = str(frame.fbtime.summary(now=NOW))
    assert "money (CAD): billable 191.13" in summary and "(none)" not in summary


# -- charts ---------------------------------------------------------------------------------
def _overlaps(labels) -> bool:
    boxes = [t.get_window_extent() for t in labels if t.get_text()]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


@pytest.mark.parametrize("days", [6, 70, 400, 1100])
def test_weekly_ticks_are_readable_whatever_the_range(make_frame, days):
    start = pd.Timestamp("2023-01-02T15:00:00Z")
    rows = [{"started_at": (start + pd.Timedelta(days=d)).isoformat()} for d in range(0, days, 2)]
    ax = make_frame(rows).fbtime.plot.weekly_hours(now=NOW)
    ax.figure.canvas.draw()
    labels = ax.get_xticklabels()
    assert 2 <= len([t for t in labels if t.get_text()]) <= 12
    assert not _overlaps(labels)


def test_partial_weeks_are_marked_and_legends_clear_the_bars(make_frame):
    rows = [{"started_at": f"2026-03-{d:02d}T15:00:00Z"} for d in (4, 5, 9, 10, 16, 18)]
    ax = make_frame(rows).fbtime.plot.weekly_hours(now="2026-03-18T20:00:00Z")
    bars = ax.containers[0]
    assert [bar.get_hatch() for bar in bars] == [PARTIAL_HATCH, None, PARTIAL_HATCH]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[-1] == "partial week"
    for chart in (ax, make_frame(rows).fbtime.plot.hours_by_client()):
        chart.figure.canvas.draw()
        box = chart.get_legend().get_window_extent()
        assert not any(box.overlaps(p.get_window_extent()) for c in chart.containers for p in c)


def test_aging_chart_in_money_adds_up_and_hides_an_empty_future(make_frame):
    frame = make_frame([{"duration": 3600, "started_at": "2026-03-10T12:00:00Z"},
                        {"duration": 1800, "started_at": "2025-11-01T12:00:00Z"}])  # fmt: skip
    frame = frame.fbtime.with_rates(rates_for(p100=("hourly_rate", "project_rate", "90.00")))
    ax = frame.fbtime.plot.unbilled_aging(now=NOW, values="amount")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0–30", "31–60", "61–90", "90+"]
    assert [b.get_height() for b in ax.containers[0]] == [90.0, 0.0, 0.0, 45.0]
    assert "CAD" in ax.get_ylabel()
    with pytest.raises(fbtime.QueryError, match="with_rates"):
        make_frame([{}]).fbtime.plot.unbilled_aging(values="amount")


def test_a_font_installed_after_the_cache_is_added_once(tmp_path):
    import matplotlib

    source = next(p for p in matplotlib.get_data_path().split() if p)
    font = tmp_path / "Copied.ttf"
    font.write_bytes((__import__("pathlib").Path(source) / "fonts/ttf/DejaVuSans.ttf").read_bytes())
    assert refresh_fonts([font]) == [str(font)]
    assert refresh_fonts([font]) == []  # known now
    assert refresh_fonts([tmp_path / "broken.ttf"]) == []  # unreadable: skipped, no error


def test_one_hint_instead_of_a_glyph_warning_flood(make_frame, monkeypatch, tmp_path):
    monkeypatch.setattr(fbtime.plots, "_hinted", False)
    names = {1: "Linear B \U00010000\U00010001", 2: "Acme"}  # no installed font has these
    frame = make_frame([{"client_id": 1}, {"client_id": 2}]).fbtime.with_names(clients=names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            ax = frame.fbtime.plot.hours_by_client()
            ax.figure.savefig(tmp_path / "chart.png")
    ours = [w for w in caught if issubclass(w.category, MissingGlyphsWarning)]
    glyphs = [w for w in caught if "missing from font" in str(w.message)]
    assert len(ours) == 1 and "fonts-noto-cjk" in str(ours[0].message)
    assert glyphs == []
    monkeypatch.setattr(fbtime.plots, "_hinted", False)
    plain = make_frame([{"client_id": 2}]).fbtime.with_names(clients=names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plain.fbtime.plot.hours_by_client()
    assert not [w for w in caught if issubclass(w.category, MissingGlyphsWarning)]
