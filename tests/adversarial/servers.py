"""Hostile and broken HTTP servers of the tests' own, on 127.0.0.1 (real sockets).

:class:`Hostile` answers each request with whatever its ``answer`` function returns
(status, headers, body), or misbehaves on purpose: it can hang without answering, drip a
body one byte at a time, close the connection early, or accept and drop at once. Every
request it receives is recorded (method, path, headers), so a test can assert exactly
what reached it, for instance that no ``Authorization`` header ever did.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Reply:
    """What to send: a status, headers and a body, or a misbehaviour."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hang: float = 0.0  # seconds to wait before answering at all
    drip: float = 0.0  # seconds between body bytes
    cut: bool = False  # promise more body than is sent, then close
    drip_head: float = 0.0  # seconds between bytes of the status line and headers

    @classmethod
    def json(cls, data: Any, status: int = 200, **headers: str) -> Reply:
        body = json.dumps(data).encode()
        return cls(status, {"Content-Type": "application/json", **headers}, body)


def entries_page(rows: list[dict], *, total: int | None = None, pages: int | None = None,
                 page: int = 1, per_page: int = 100) -> Reply:  # fmt: skip
    """A time-entries list page with the meta a server claims."""
    total = len(rows) if total is None else total
    meta = {"page": page, "pages": pages if pages is not None else 1, "per_page": per_page,
            "total": total, "total_logged": 0, "total_unbilled": 0}  # fmt: skip
    return Reply.json({"time_entries": rows, "meta": meta})


def gzip_bomb(size: int) -> Reply:
    """``size`` bytes of JSON-looking zeros, gzip-compressed (about 1000:1)."""
    raw = b'{"time_entries": [' + b"0" * size + b"]}"
    return Reply(200, {"Content-Type": "application/json", "Content-Encoding": "gzip"},
                 gzip.compress(raw, compresslevel=9))  # fmt: skip


class Hostile:
    """A server on a free port of 127.0.0.1; ``answer(method, path, headers) -> Reply``."""

    def __init__(self, answer: Callable[[str, str, dict[str, str]], Reply]) -> None:
        self.answer = answer
        self.seen: list[Seen] = []
        self.head_bytes = 0  # status and header bytes sent by ``drip_head`` replies
        self._lock = threading.Lock()
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                headers = {k: v for k, v in self.headers.items()}
                with hostile._lock:
                    hostile.seen.append(Seen(self.command, self.path, headers))
                reply = hostile.answer(self.command, self.path, headers)
                if reply.hang:
                    time.sleep(reply.hang)
                    self.close_connection = True
                    return
                if reply.drip_head:
                    self._drip_head(reply)
                    return
                self.send_response(reply.status)
                promised = len(reply.body) + (1000 if reply.cut else 0)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(promised))
                self.end_headers()
                try:
                    if reply.drip:
                        for byte in reply.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(reply.drip)
                    else:
                        self.wfile.write(reply.body)
                except OSError:
                    return
                if reply.cut:
                    self.close_connection = True

            def _drip_head(self, reply: Reply) -> None:
                """Send the status line and headers one byte at a time, then the body."""
                lines = [f"HTTP/1.1 {reply.status} OK", f"Content-Length: {len(reply.body)}"]
                lines += [f"{name}: {value}" for name, value in reply.headers.items()]
                head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
                try:
                    for byte in head:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        hostile.head_bytes += 1
                        time.sleep(reply.drip_head)
                    self.wfile.write(reply.body)
                except OSError:  # the client gave up
                    pass
                self.close_connection = True

            do_GET = do_PUT = do_POST = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False  # a hanging or dripping handler must not hold up a test
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Hostile:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def requests(self) -> int:
        return len(self.seen)

    def authorizations(self) -> list[str]:
        return [s.headers["Authorization"] for s in self.seen if "Authorization" in s.headers]


class Dropper:
    """Accepts each connection and closes it at once; counts the connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepted = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def __enter__(self) -> Dropper:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(2)
        self.sock.close()


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (a dead port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
