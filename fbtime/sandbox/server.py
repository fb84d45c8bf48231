"""``Sandbox``: the fake FreshBooks API on a real, threaded HTTP server on 127.0.0.1.

The server speaks HTTP/1.1 with keep-alive (every response has a ``Content-Length``), so a
client paging thousands of times reuses its connections, as against the real API. Each
connection gets its own daemon thread; :meth:`Sandbox.stop` also closes idle keep-alive
connections, so nothing answers after a stop.

Example::

    with Sandbox(entries=2000, seed=1) as sb:
        requests.get(f"{sb.url}/auth/api/v1/users/me",
                     headers={"Authorization": f"Bearer {sb.token}"})
"""

from __future__ import annotations

import contextlib
import io
import secrets
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pandas as pd

from fbtime.sandbox.app import RATE_LIMIT, RATE_WINDOW, WRITE_KEYS, Injection, SandboxApp
from fbtime.sandbox.data import ENTRY_FIELDS, Dataset, generate
from fbtime.sandbox.faults import ENVIRON_KEY as FAULT_KEY
from fbtime.sandbox.faults import Faults
from fbtime.sandbox.oauth import ACCESS_TOKEN_TTL, OAuthKnobs
from fbtime.sandbox.store import META_TOTALS, ORDERS, Store

#: ``live`` as recorded (left-out client/project cleared), then the two test modes.
PUT_MODES = ("live", "partial", "full")
_INT_COLUMNS = ("id", "identity_id", "duration", "client_id", "project_id", "service_id",
                "task_id", "retainer_id")  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    """Minimal WSGI gateway with HTTP/1.1 keep-alive."""

    protocol_version = "HTTP/1.1"
    server_version = "fbtime-sandbox/0.1"
    timeout = 120  # idle keep-alive connections are dropped after this many seconds
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def _serve(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command, "PATH_INFO": unquote(path), "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(self.server.server_port),
            "SERVER_PROTOCOL": self.request_version, "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http", "wsgi.version": (1, 0), "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        }  # fmt: skip
        for name, value in self.headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info=None) -> None:
            started[:] = [status, headers]

        data = b"".join(self.server.app(environ, start_response))
        fault = environ.get(FAULT_KEY)
        if fault == "drop":  # close the connection with no answer at all
            self.close_connection = True
            return
        if fault == "truncate":
            data = data[: len(data) // 2]
        code = int(started[0].split(" ", 1)[0])
        self.send_response(code, started[0].split(" ", 1)[1])
        for name, value in started[1]:
            self.send_header(name, value)
        if code not in (204, 304):
            self.send_header("Content-Length", str(len(data)))
        if code in (204, 304) or self.command == "HEAD":
            data = b""
        # Headers and body in one send: avoids Nagle/delayed-ACK stalls on keep-alive.
        self._headers_buffer.append(b"\r\n" + data)  # type: ignore[attr-defined]  # http.server's
        self.flush_headers()

    def _read_chunked(self) -> bytes:
        # Read the whole body so the keep-alive connection stays in sync.
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and benchmarks send thousands of requests."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._conns_lock:
            (self._conns.add if alive else self._conns.discard)(conn)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (e.g. timed out on a slow answer) is not a server error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Sandbox(OAuthKnobs):
    """A local stand-in for FreshBooks' time-entries API, with ground truth and knobs.

    Data is generated from ``(entries, seed, end)`` (see :func:`fbtime.sandbox.generate`);
    the owner's token is random per instance. Start it with ``with`` or :meth:`start`.
    It also plays FreshBooks' OAuth server (:mod:`fbtime.sandbox.oauth`): ``authorize_url``,
    ``token_url``, ``oauth_client_id``/``oauth_client_secret``, ``access_token_ttl``
    (seconds, settable), ``advance_clock(seconds)`` and ``add_business(name)``.

    By default it answers as the live recordings do (:mod:`fbtime.sandbox.app`); the
    options keep the sandbox's earlier behaviours for tests that need them:
    ``put_mode`` (``"live"``, ``"partial"``, ``"full"``), ``list_order`` (``"created"``,
    ``"started"``), ``meta_totals`` (``"nested"``, ``"flat"``) and ``rate_limit`` /
    ``rate_window`` (600 per 60 s rolling; None for no limit and no limit headers, what a
    test that sends more than 600 requests a minute, or a benchmark, chooses).
    ``first_day_of_week`` is the business's week start (0 Monday, 6 Sunday).

    Example:
        >>> with fbtime.Sandbox(entries=300, seed=2) as sb:
        ...     df = fbtime.load_time_entries(sb.client(), team=True)
        ...     truth, requests = sb.entries(), sb.stats()
        >>> len(truth), len(df)  # every stored row; the logged, active ones
        (300, 290)
        >>> requests["GET time_entries"]  # 3 pages, and one look for changes made meanwhile
        4
    """

    def __init__(
        self,
        entries: int = 2000,
        seed: int = 1,
        *,
        business_id: int | None = None,
        latency: float = 0.0,
        rate_limit: int | None = RATE_LIMIT,
        rate_window: float = RATE_WINDOW,
        put_mode: str = "live",
        list_order: str = "created",
        meta_totals: str = "nested",
        first_day_of_week: int = 0,
        port: int = 0,
        teammates: int | None = None,
        end: date | None = None,
        timezone: str = "America/Toronto",
        db_path: str | None = None,
        access_token_ttl: int = ACCESS_TOKEN_TTL,
    ) -> None:
        for name, value, allowed in (("put_mode", put_mode, PUT_MODES),
                                     ("list_order", list_order, tuple(ORDERS)),
                                     ("meta_totals", meta_totals, META_TOTALS)):  # fmt: skip
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {value!r}")
        self.dataset: Dataset = generate(
            entries, seed, end=end, teammates=teammates, timezone=timezone,
            business_id=business_id, first_day_of_week=first_day_of_week,
        )  # fmt: skip
        self._store = Store(db_path)
        # the seeded updates are at least an hour old by the real clock, even when the data
        # was made for a calendar ahead of it (a fixed fbtime.clock): none looks just changed
        self._store.load(self.dataset.entries, now=datetime.now(UTC) - timedelta(hours=1))
        self._app = SandboxApp(
            self._store, self.dataset, latency=latency, rate_limit=rate_limit,
            rate_window=rate_window, put_mode=put_mode, list_order=list_order,
            meta_totals=meta_totals,
        )  # fmt: skip
        self._app.oauth.access_token_ttl = access_token_ttl
        self.business_id: int = self.dataset.business["id"]
        self.account_id: str = self.dataset.business["account_id"]
        self.identity_id: int = self.dataset.owner["id"]
        self.planted: dict[str, list[int]] = self.dataset.planted
        self.token: str = self.token_for(self.identity_id)
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._restarting = False

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> Sandbox:
        """Start serving on 127.0.0.1 in a daemon thread (no-op if running)."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", self._port), self._app)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                name=f"fbtime-sandbox-{self._server.server_port}", daemon=True,
            )  # fmt: skip
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)

    def restart(self) -> None:
        """Stop and start again on the same port, keeping every entry (a server restart)."""
        if self._server is not None:
            self._port = self._server.server_port
        self._restarting = True
        try:
            self.stop()
            self.start()
        finally:
            self._restarting = False

    @property
    def faults(self) -> Faults | None:
        """Seeded fault injection (:class:`~fbtime.sandbox.faults.Faults`); None for none."""
        return self._app.faults

    @faults.setter
    def faults(self, faults: Faults | None) -> None:
        self._app.faults = faults
        self._app.restart_hook = self.restart

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._server else "stopped"
        return f"<Sandbox business_id={self.business_id} entries={len(self._store)} {where}>"

    @property
    def url(self) -> str:
        """Base URL of the API, like ``https://api.freshbooks.com``."""
        if self._restarting:
            return f"http://127.0.0.1:{self._port}"
        if self._server is None:
            raise RuntimeError("the sandbox is not running: use `with Sandbox() as sb` or start()")
        return f"http://127.0.0.1:{self._server.server_port}"

    # -- auth --------------------------------------------------------------------------
    def token_for(self, identity_id: int) -> str:
        """A bearer token whose default scope is ``identity_id`` (reused if one exists)."""
        if identity_id not in self._app.identities:
            raise ValueError(f"identity {identity_id} is not a member of this business")
        for token, ident in self._app.tokens.items():
            revoked, expiring = token in self._app.revoked, self._app.oauth.issued(token)
            if ident == identity_id and not revoked and not expiring:  # OAuth tokens expire
                return token
        token = secrets.token_urlsafe(32)
        self._app.tokens[token] = identity_id
        return token

    def revoke(self, token: str) -> None:
        """Make later requests with ``token`` answer 401 (revoked); revokes its OAuth grant too."""
        self._app.oauth.revoke(token)
        self._app.revoked.add(token)
        self._app.tokens.pop(token, None)

    def client(self, **kw: Any) -> Any:
        """An ``fbtime.Client`` for the owner, pointed at this sandbox."""
        from fbtime.api.client import Client  # the sandbox uses the library only when asked

        return Client(token=self.token, business_id=self.business_id, base_url=self.url, **kw)

    # -- knobs -------------------------------------------------------------------------
    @property
    def latency(self) -> float:
        """Seconds slept before answering each request."""
        return self._app.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._app.latency = float(seconds)

    @property
    def put_mode(self) -> str:
        """``"live"`` (left-out ``client_id``/``project_id`` clear, the rest is kept, as
        live), ``"partial"`` (only given fields change) or ``"full"`` (left-out fields clear)."""
        return self._app.put_mode

    @put_mode.setter
    def put_mode(self, mode: str) -> None:
        if mode not in PUT_MODES:
            raise ValueError(f"put_mode must be one of {PUT_MODES}, not {mode!r}")
        self._app.put_mode = mode

    @property
    def on_request(self) -> Callable[[str, int], None] | None:
        """Hook called with ``(endpoint key, page)`` before a list page is answered."""
        return self._app.on_request

    @on_request.setter
    def on_request(self, hook: Callable[[str, int], None] | None) -> None:
        self._app.on_request = hook

    def set_rate_limit(
        self, limit: int | None, per: float = RATE_WINDOW, *, rolling: bool = True
    ) -> None:
        """Allow ``limit`` requests in any ``per`` seconds (all tokens and families
        together; accounting POSTs at most 250 of their own); None: no limit and no limit
        headers. ``rolling=False`` counts fixed windows (a new count at every multiple of
        ``per``) instead of the live rolling one. The count starts afresh."""
        self._app.set_rate_limit(limit, per, rolling=rolling)

    def inject(
        self,
        status: int,
        *,
        times: int = 1,
        method: str | None = None,
        endpoint: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with this error instead.

        ``endpoint`` is a stats endpoint (``"time_entries"``) or a full key
        (``"GET time_entries"``); ``raw`` is a non-JSON body such as an HTML 502 page.
        """
        fault = Injection(status, times, method, endpoint, body, dict(headers or {}), raw)
        with self._app._lock:
            self._app.injections.append(fault)

    def clear_injections(self) -> None:
        """Drop every injected error not yet served."""
        with self._app._lock:
            self._app.injections.clear()

    # -- counters and ground truth -----------------------------------------------------
    def stats(self) -> Counter[str]:
        """Requests received per ``"METHOD endpoint"`` (a copy), errors included."""
        with self._app._lock:
            return Counter(self._app.stats)

    def reset_stats(self) -> None:
        """Zero the request counters."""
        with self._app._lock:
            self._app.stats.clear()

    def wait_idle(self, quiet: float = 0.05, timeout: float = 30.0) -> None:
        """Wait until no request is being answered and none was for ``quiet`` seconds.

        A client that gave up on a slow answer (or was killed) leaves that request running
        here; a test waits it out before reading the ground truth, rather than sleeping a
        guess. Raises TimeoutError after ``timeout`` seconds of traffic.
        """
        if not self._app.wait_idle(quiet, timeout):
            raise TimeoutError(f"the sandbox was still answering requests after {timeout} s")

    def entry_writes(self) -> Counter[int]:
        """API writes that changed an entry (create, update, delete), per entry id."""
        with self._app._lock:
            return Counter(self._app.entry_writes)

    def writes(self) -> int:
        """POST, PUT and DELETE requests received on time entries, errors included."""
        stats = self.stats()
        return sum(stats[k] for k in WRITE_KEYS)

    def entries(self) -> pd.DataFrame:
        """Every stored entry (deleted and running ones too) plus the hidden ``updated_at``."""
        frame = pd.DataFrame(self._store.all_entries(), columns=[*ENTRY_FIELDS, "updated_at"])
        for name in _INT_COLUMNS:
            frame[name] = frame[name].astype("Int64")
        return frame

    # -- direct writes for tests (no HTTP, not counted) --------------------------------
    def create_entry(self, **fields: Any) -> dict[str, Any]:
        """Create an entry as the API would (default: owner, now, 1 hour); returns it.

        "Now" is :func:`fbtime.clock.now`, the calendar the data was made for.
        """
        from fbtime.clock import now as current_time  # the library's clock, asked lazily

        now = current_time().strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"started_at": now, "duration": 3600, **fields}
        return self._app.create(self.identity_id, body)

    def update_entry(self, entry_id: int, **fields: Any) -> dict[str, Any]:
        """Change the given fields of an active entry (partial update); returns it."""
        return self._app.update(entry_id, fields, "partial")

    def delete_entry(self, entry_id: int) -> None:
        """Soft-delete an entry (KeyError if unknown or already deleted)."""
        self._app.delete(entry_id)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def serve(sandbox: Sandbox) -> None:
    """Run ``sandbox`` in the foreground until Ctrl-C or SIGTERM (``fbtime sandbox``)."""
    # A parent may have started us with SIGINT ignored (Python then installs no handler);
    # Ctrl-C and `kill` must both stop the server cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with sandbox:
            print(f"FreshBooks sandbox at {sandbox.url}")
            print(f"  business id: {sandbox.business_id}")
            print(f"  token:       {sandbox.token}")
            print("Press Ctrl-C to stop.", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped", flush=True)
