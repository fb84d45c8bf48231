"""A hostile or broken server: lying page counts, wrong types, bombs. fbtime stays bounded.

Each attack asserts a bounded number of requests and a typed error (a TransportError, in
fact an UnexpectedAnswerError) naming the request and the field, never a raw ValueError,
TypeError, KeyError or AttributeError, and never a frame with an NA index.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import fbtime
from adversarial.servers import Hostile, Reply, entries_page, gzip_bomb
from adversarial.test_token_travels import ROW, TOKEN, env
from fbtime.api.paging import IncompleteListWarning

LIST = "/timetracking/business/1/time_entries"


def client_for(server: Hostile, **kw) -> fbtime.Client:
    return fbtime.Client(token=TOKEN, business_id=1, base_url=server.url, cache=False,
                         retries=kw.pop("retries", 0), **kw)  # fmt: skip


def row(entry_id: int, **changes) -> dict:
    return {**ROW, "id": entry_id, **changes}


def serve_list(pages: dict[int, Reply]):
    def answer(method, path, headers):
        number = int(path.split("page=")[1].split("&")[0]) if "page=" in path else 1
        return pages.get(number, entries_page([], total=0))

    return answer


def test_a_one_entry_list_claiming_a_billion_pages_is_read_as_one(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    lie = entries_page([row(1)], total=1, pages=10**9)
    with Hostile(serve_list({1: lie})) as server:
        df = fbtime.load_time_entries(client_for(server), progress=False)
    assert df.index.tolist() == [1]
    assert server.requests == 1


def test_a_list_whose_total_lies_stops_at_the_first_empty_page(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    lie = entries_page([row(1)], total=10**9, pages=10**9)
    with (
        Hostile(serve_list({1: lie})) as server,
        pytest.raises(fbtime.TransportError, match="kept changing"),
    ):
        fbtime.load_time_entries(client_for(server, workers=4), progress=False)
    # the load's one pass, then the updated_since query's four, each of: page 1 and at most
    # 2 x 4 pages asked ahead before the empty one
    assert server.requests <= 5 * (1 + 8)


def test_reference_lists_are_bounded_too(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)

    def answer(method, path, headers):
        if path.startswith("/projects/"):
            return Reply.json({"projects": [{"id": 3, "title": "P"}],
                               "meta": {"page": 1, "pages": 10**9, "total": 1}})  # fmt: skip
        return Reply.json({}, status=404)

    with Hostile(answer) as server:
        projects = fbtime.load_projects(client_for(server))
    assert projects.index.tolist() == [3]
    assert server.requests == 1


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([row(1, id="1")], "id"),
        ([row(1, id=None)], "id"),
        ([{k: v for k, v in row(1).items() if k != "id"}], "id"),
        ([row(1, id=True)], "id"),
        ([row(1, id=2**64)], "id"),
        ([row(1, duration="abc")], "duration"),
        ([row(1, duration=True)], "duration"),
        ([row(1, client_id="12")], "client_id"),
        ([row(1, billable="yes")], "billable"),
        ([row(1, note=5)], "note"),
        ([row(1, timer=[1])], "timer"),
        ([row(1, timer={"id": "x", "is_running": True})], "timer_id"),
        ([row(1, started_at="yesterday")], "time"),
        ([row(1, duration=2**70)], "duration"),
        (["not an object"], "row 1"),
        ([[1, 2]], "row 1"),
    ],
)
def test_a_wrongly_typed_entry_is_a_typed_error_naming_the_field(
    monkeypatch, tmp_path, rows, field
):
    env(monkeypatch, tmp_path)
    with (
        Hostile(serve_list({1: entries_page(rows)})) as server,
        pytest.raises(fbtime.TransportError) as info,
    ):
        fbtime.load_time_entries(client_for(server), progress=False)
    assert field in str(info.value)
    assert LIST in str(info.value)
    assert type(info.value).__name__ == "UnexpectedAnswerError"


@pytest.mark.parametrize(
    "body",
    [
        {"time_entries": {}, "meta": {}},
        {"time_entries": "x", "meta": {}},
        {"time_entries": [], "meta": []},
        {"time_entries": [], "meta": {"total": "7"}},
        {"time_entries": [], "meta": {"pages": -1, "total": 0}},
        [1, 2, 3],
        "just text",
    ],
)
def test_objects_where_lists_belong_and_other_shapes_are_typed_errors(monkeypatch, tmp_path, body):
    env(monkeypatch, tmp_path)
    with (
        Hostile(serve_list({1: Reply.json(body)})) as server,
        pytest.raises(fbtime.TransportError) as info,
    ):
        fbtime.load_time_entries(client_for(server), progress=False)
    assert type(info.value).__name__ == "UnexpectedAnswerError"
    assert "page 1" in str(info.value)


@pytest.mark.parametrize("body", [{}, {"time_entry": None}, {"time_entry": {"id": "7"}}, [7]])
def test_a_single_entry_answer_without_an_entry_is_a_typed_error(monkeypatch, tmp_path, body):
    env(monkeypatch, tmp_path)
    with (
        Hostile(lambda m, p, h: Reply.json(body)) as server,
        pytest.raises(fbtime.TransportError, match=r"time_entry|id"),
    ):
        client_for(server).time_entries.get(7)


def test_more_rows_than_the_page_size_asked_is_a_typed_error(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    rows = [row(i) for i in range(1, 6)]
    with (
        Hostile(serve_list({1: entries_page(rows, total=5)})) as server,
        pytest.raises(fbtime.TransportError, match="5 rows on a page of 2"),
    ):
        fbtime.load_time_entries(client_for(server), per_page=2, progress=False)


BOMB = """
import sys
sys.path[:0] = {paths!r}
import fbtime
client = fbtime.Client(token="t0k", business_id=1, base_url={url!r}, cache=False, retries=0)
try:
    fbtime.load_time_entries(client, progress=False)
    print("loaded")
except fbtime.TransportError as exc:
    print(type(exc).__name__, str(exc).replace(chr(10), " "))
# VmHWM, not getrusage: ru_maxrss survives exec, so it would hold the parent's peak
print(next(int(l.split()[1]) // 1024 for l in open("/proc/self/status") if l.startswith("VmHWM")))
"""


@pytest.mark.parametrize("size", [200 * 1024 * 1024])
@pytest.mark.slow
def test_a_gzip_bomb_is_refused_without_inflating_it(monkeypatch, tmp_path, size):
    env(monkeypatch, tmp_path)
    bomb = gzip_bomb(size)
    assert len(bomb.body) < 300 * 1024  # about 200 KB on the wire
    with Hostile(lambda m, p, h: bomb) as server:
        code = BOMB.format(paths=sys.path, url=server.url)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("TransportError") and "larger than" in lines[0], out.stderr
    assert int(lines[1]) < 400  # peak MB of the whole process: the 200 MB never existed


def test_a_huge_plain_answer_is_capped_too(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    body = json.dumps({"time_entries": [], "meta": {}, "pad": "x" * (2 * 1024 * 1024)}).encode()
    with (
        Hostile(lambda m, p, h: Reply(200, {"Content-Type": "application/json"}, body)) as s,
        pytest.raises(fbtime.TransportError, match="larger than"),
    ):
        fbtime.load_time_entries(client_for(s, max_answer_bytes=1024 * 1024), progress=False)


def test_the_bomb_helper_is_what_it_claims():
    import gzip

    assert len(gzip.decompress(gzip_bomb(10**6).body)) > 10**6


def counting_more_than_it_shows(rows: list[dict], hidden: int, per_page: int):
    """A list whose every page agrees on a ``meta.total`` counting ``hidden`` rows no page
    shows (as live accounting lists do for records the token cannot read)."""

    def answer(method, path, headers):
        query = dict(part.split("=", 1) for part in path.partition("?")[2].split("&") if part)
        number, size = int(query.get("page", 1)), int(query.get("per_page", per_page))
        shown = [] if "updated_since" in query else rows
        total = len(shown) + hidden
        return entries_page(shown[(number - 1) * size : number * size], total=total,
                            pages=-(-total // size), page=number, per_page=size)  # fmt: skip

    return answer


@pytest.mark.parametrize("hidden", [1, 3, 250])
def test_a_total_counting_rows_the_token_cannot_read_ends_with_every_readable_row(
    monkeypatch, tmp_path, hidden
):
    env(monkeypatch, tmp_path)
    rows = [row(i) for i in range(12, 0, -1)]
    with (
        Hostile(counting_more_than_it_shows(rows, hidden, 5)) as server,
        pytest.warns(IncompleteListWarning, match=rf"counts {12 + hidden:,} rows but 12 could"),
    ):
        df = fbtime.load_time_entries(client_for(server, workers=2), per_page=5, progress=False)
    assert df.index.tolist() == list(range(12, 0, -1))
    assert df.attrs["fbtime"]["meta"]["total"] == 12 + hidden  # the server's number, as sent
    # one pass: 3 pages with rows, the empty ones asked ahead (2 x workers at most), and the
    # updated_since check; never a second pass, never an error
    assert server.requests <= 3 + 2 * 2 + 1


def test_a_cached_load_of_such_a_list_revalidates_instead_of_reloading(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    rows = [row(i) for i in range(12, 0, -1)]
    with Hostile(counting_more_than_it_shows(rows, 3, 5)) as server:
        client = fbtime.Client(token=TOKEN, business_id=1, base_url=server.url, retries=0)
        with pytest.warns(IncompleteListWarning):
            first = fbtime.load_time_entries(client, per_page=5, progress=False)
        before = server.requests
        with pytest.warns(IncompleteListWarning, match="counts 15 rows but 12 could"):
            again = fbtime.load_time_entries(client, per_page=5, progress=False)
    assert again.attrs["fbtime"]["source"] == "revalidated"
    assert server.requests - before == 2  # updated_since and the count, not every page
    assert again.index.equals(first.index)
