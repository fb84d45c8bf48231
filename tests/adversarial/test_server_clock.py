"""A server whose clock runs a day ahead cannot poison the watermark.

The answers' ``Date`` header is the server's time of a fetch, and a watermark is taken
from it (a cached load's revalidation, a sync). One server of a fleet with its clock a
day ahead, or a proxy that rewrites ``Date``, would make every later ``updated_since``
query start tomorrow: reloads would say "revalidated" and show old data for a day. The
proxy here forwards to a real sandbox and moves ``Date`` a day ahead; changes are made
in the sandbox's store, as FreshBooks' web app would.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
import requests
from pandas.testing import assert_frame_equal

import fbtime

AHEAD = dt.timedelta(days=1)


class ClockAhead:
    """A proxy to ``upstream`` whose ``Date`` header runs ``AHEAD`` of the real time."""

    def __init__(self, upstream: str) -> None:
        session = requests.Session()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = session.get(upstream + self.path, headers=headers, timeout=10)
                date = email.utils.format_datetime(dt.datetime.now(dt.UTC) + AHEAD, usegmt=True)
                self.send_response_only(answer.status_code)
                self.send_header("Date", date)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ClockAhead:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.attrs = {}
    return frame


def test_a_server_clock_a_day_ahead_does_not_hide_changes_from_a_revalidated_load(
    fresh_sandbox, cache_dir, caplog
):
    sb = fresh_sandbox
    caplog.set_level(logging.WARNING, logger="fbtime")
    with ClockAhead(sb.url) as proxy:
        client = fbtime.Client(token=sb.token, business_id=sb.business_id, base_url=proxy.url)
        before = fbtime.load_time_entries(client, team=True, progress=False)
        entry = int(before.index[4])
        sb.update_entry(entry, note="fixed in the web app")
        sb.delete_entry(int(before.index[5]))
        after = fbtime.load_time_entries(client, team=True, progress=False)
    assert after.attrs["fbtime"]["source"] == "revalidated"
    assert after.loc[entry, "note"] == "fixed in the web app"
    truth = fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False)
    assert_frame_equal(plain(after), plain(truth))
    assert "ahead of this machine's" in caplog.text  # and it says so


def test_a_server_clock_a_day_ahead_does_not_break_or_blind_a_sync(fresh_sandbox, tmp_path):
    sb = fresh_sandbox
    path = tmp_path / "team.parquet"
    with ClockAhead(sb.url) as proxy:
        client = fbtime.Client(token=sb.token, business_id=sb.business_id, base_url=proxy.url,
                               cache=False)  # fmt: skip
        first = fbtime.sync(path, client=client, team=True)
        assert first.new_watermark <= dt.datetime.now(dt.UTC)
        entry = int(pd.read_parquet(path).index[3])
        sb.update_entry(entry, note="fixed in the web app")
        report = fbtime.sync(path, client=client, team=True)
    assert not report.full and report.changed == 1
    assert pd.read_parquet(path).loc[entry, "note"] == "fixed in the web app"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(directory))
    return directory
