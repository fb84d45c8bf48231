"""Charts draw every name literally, and never fail on one.

``$5 and $6`` is text, not mathtext; ``a$^_$b`` or ``$\\undefined$`` cannot make the
draw raise; a user's ``text.usetex`` cannot turn a name into LaTeX source; controls are
removed, a 5,000-character name is cut, an empty or missing name shows the id. Each test
renders a real PNG with Agg and reads the labels back from the drawn Axes.
"""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from adversarial.hostile import CHART, CLIENTS
from fbtime.plots import MAX_LABEL
from fbtime.text import for_chart
from fbtime.widgets import Explorer, ExplorerState, explore_view
from fbtime.widgets.view import chart_png

# a name no installed font can draw shows as boxes; that is not what these tests are about
pytestmark = pytest.mark.filterwarnings("ignore:Glyph .* missing from font")
PNG = b"\x89PNG\r\n\x1a\n"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LONG = "Very long name " * 334  # 5,010 characters
#: client id -> name; client k logs k hours, so the bars are in id order.
NAMES: dict[int, object] = {
    **dict(enumerate(CHART, start=1)),
    8: "\x1b[31m",
    9: LONG,
    10: "",
    11: None,
    12: np.nan,
    13: "株式会社山田デザイン",
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def expected(client_id: int) -> str:
    """What the tick label must say: the literal name minus controls, cut, or the id."""
    name = NAMES[client_id]
    if not isinstance(name, str) or not for_chart(name):
        return str(client_id)
    text = for_chart(name)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


@pytest.fixture
def named(make_frame) -> pd.DataFrame:
    frame = make_frame([{"client_id": k, "identity_id": k, "duration": 3600 * k} for k in NAMES])
    return frame.fbtime.with_names(clients=NAMES, teammates=NAMES)


def saved(ax, path: Path) -> Path:
    ax.figure.savefig(path)
    assert path.read_bytes()[:8] == PNG
    return path


def literal(texts: list[Text]) -> list[str]:
    assert not [t.get_text() for t in texts if t.get_parse_math()], "drawn as mathtext"
    return [t.get_text() for t in texts]


def test_hours_by_client_labels_are_the_literal_names(named, tmp_path):
    ax = named.fbtime.plot.hours_by_client(top=None)
    saved(ax, tmp_path / "clients.png")
    assert literal(ax.get_yticklabels()) == [expected(k) for k in NAMES]
    assert expected(1) == "$5 and $6" and expected(7) == "ab" and expected(8) == "[31m"
    assert expected(9) == LONG[: MAX_LABEL - 1] + "…" and expected(10) == "10"


def test_weekday_heatmap_labels_are_the_literal_names(named, tmp_path):
    ax = named.fbtime.plot.weekday_heatmap()
    saved(ax, tmp_path / "teammates.png")
    assert literal(ax.get_yticklabels()) == [expected(k) for k in sorted(NAMES)]


def test_weekly_legend_names_every_client_and_other_is_not_overwritten(make_frame, tmp_path):
    names = {1: "other", 2: "_hidden", 3: "$5 and $6", 4: "Acme", 5: "Globex", 6: "Initech"}
    rows = [{"client_id": k, "duration": 3600 * (10 - k)} for k in names for _ in range(2)]
    frame = make_frame(rows).fbtime.with_names(clients=names)
    ax = frame.fbtime.plot.weekly_hours(top=3)
    saved(ax, tmp_path / "weekly.png")
    legend = literal(ax.get_legend().get_texts())
    # a name starting with "_" would be dropped from an automatic legend
    assert legend == ["other", "_hidden", "$5 and $6", "other (3 clients)"]
    heights = [sum(bar.get_height() for bar in bars) for bars in ax.containers]
    assert heights == [18.0, 16.0, 14.0, 12.0 + 10.0 + 8.0]  # the client "other" kept its bars


def test_a_users_usetex_setting_cannot_make_a_name_latex(named, tmp_path):
    with matplotlib.rc_context({"text.usetex": True}):  # no LaTeX here: the draw would raise
        ax = named.fbtime.plot.hours_by_client(top=None)
        saved(ax, tmp_path / "usetex.png")
    assert literal(ax.get_yticklabels())[0] == "$5 and $6"


def test_an_axes_made_by_the_caller_is_drawn_literally_too(named, tmp_path):
    _, given = plt.subplots()  # made under the caller's rcParams: mathtext on
    ax = named.fbtime.plot.hours_by_client(ax=given, top=None)
    saved(ax, tmp_path / "given.png")
    assert ax is given
    literal([ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_yticklabels()])


def test_names_loaded_from_the_account_are_drawn_literally(hostile_frame, tmp_path):
    ax = hostile_frame.fbtime.plot.hours_by_client()
    saved(ax, tmp_path / "account.png")
    labels = literal(ax.get_yticklabels())
    assert set(labels) == {for_chart(name) for name in CLIENTS} | {"<no client>"}
    heat = hostile_frame.fbtime.plot.weekly_hours()
    saved(heat, tmp_path / "weekly.png")
    clients = [t for t in literal(heat.get_legend().get_texts()) if t != "partial week"]
    assert len(clients) == 6  # top 5 clients and "other"


@pytest.mark.parametrize("group_by", ["client", "project", "week", "entries"])
def test_explorer_chart_renders_every_grouping(hostile_frame, group_by):
    view = explore_view(hostile_frame, ExplorerState(group_by=group_by))
    assert chart_png(view, group_by)[:8] == PNG


def test_explorer_panel_opens_on_a_hostile_account(hostile_frame):
    explorer = Explorer(hostile_frame, debounce=0)  # draws the client chart at once
    explorer.group_by.value = "project"
    _, chart = explorer.output.outputs
    assert base64.b64decode(chart["data"]["image/png"])[:8] == PNG
    assert f"<b>{len(hostile_frame):,}</b> entries" in explorer.status.value


def test_monthly_report_charts_every_client(hostile_account, hostile_frame, tmp_path, monkeypatch):
    sb = hostile_account.sandbox
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.token)
    monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", str(sb.business_id))
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))
    month = hostile_frame["started_at"].dt.strftime("%Y-%m").mode()[0]
    spec = importlib.util.spec_from_file_location("report", EXAMPLES / "monthly_unbilled_report.py")
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    assert report.main(["--no-sandbox", "--month", month, "--out", str(tmp_path)]) == 0
    folder = tmp_path / f"unbilled-{month}"
    charts = sorted(folder.glob("client-*.png"))
    assert len(charts) == len(sorted(folder.glob("client-*.csv"))) > 3
    assert all(path.read_bytes()[:8] == PNG for path in charts)
