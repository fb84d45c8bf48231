"""An API of the test's own on 127.0.0.1 that misbehaves: unreadable answers, answers that
never come, or a sandbox behind it with chosen entries failing. It counts what it got."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

#: A complete HTTP body that is not JSON: the client reads it all, then cannot parse it.
UNREADABLE = b'{"time_entry": {"id": 1, "note": "cut he'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _any(self) -> None:
        self.server.owner.handle(self)  # type: ignore[attr-defined]

    do_GET = do_PUT = do_POST = do_DELETE = _any

    def log_message(self, format: str, *args: object) -> None:
        pass


class Hostile:
    """``with Hostile("unreadable") as api: Client(base_url=api.url, ...)``.

    Modes: ``unreadable`` (200 with a body that is not JSON), ``hang`` (never answers
    until the server closes), ``forward`` (to ``upstream``, except that GETs of the
    entries in ``fail`` get an unreadable answer, and the answers to the first
    ``lose_posts`` POSTs are lost: the POST is carried out, then the connection closes).
    """

    def __init__(self, mode: str, *, upstream: str | None = None, fail: set[int] = frozenset(),
                 lose_posts: int = 0):  # fmt: skip
        self.mode, self.upstream, self.fail = mode, upstream, set(fail)
        self.lose_posts = lose_posts
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.owner = self  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> Hostile:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append((handler.command, handler.path))
        if self.mode == "hang":
            self._release.wait(30)
            handler.close_connection = True
            return
        entry = re.search(r"/time_entries/(\d+)", handler.path)
        failing = handler.command == "GET" and entry and int(entry.group(1)) in self.fail
        if self.mode == "unreadable" or failing:
            self._send(handler, 200, UNREADABLE)
            return
        answer = requests.request(
            handler.command,
            f"{self.upstream}{handler.path}",
            data=body or None,
            headers={k: v for k, v in handler.headers.items() if k.lower() != "host"},
            timeout=10,
        )
        with self._lock:
            lose = handler.command == "POST" and self.lose_posts > 0
            self.lose_posts -= lose
        if lose:
            handler.close_connection = True  # done upstream, the answer never comes back
            return
        self._send(handler, answer.status_code, answer.content)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
