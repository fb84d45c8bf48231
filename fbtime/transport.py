"""What one HTTP attempt may cost, and how its failure is told (used by api/ and auth/).

A server can be hostile or broken: it may never answer, drip one byte a minute (into its
headers too), or send 190 KB of gzip that inflates to 200 MB. :class:`BoundedAdapter`
gives each attempt a deadline that starts with the request: a watchdog thread shuts the
attempt's socket down when it passes, which ends a read blocked on a dripping server
wherever it is (status line, headers or body), and an attempt whose deadline passed
fails even if a cut-short answer parsed. The body is read as a stream and decompressed
here (zlib with ``max_length``, so no chunk inflates past the budget), counting the
*decompressed* bytes against a cap. So one attempt costs at most ``timeout`` to connect
plus ``timeout`` from the request to the whole answer, and at most
:data:`~fbtime.config.DEFAULT_MAX_ANSWER_BYTES` of memory. Every answer fbtime reads
goes through it: the API client's, and sign-in's (``users/me``, the token exchange).

:func:`describe` turns what requests and urllib3 raise into one line a person can act on
("cannot reach http://127.0.0.1:8765: connection refused; is the server running?"),
without the chained urllib3 traceback.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
import zlib
from typing import Any

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

from fbtime.config import DEFAULT_MAX_ANSWER_BYTES, origin

CHUNK = 64 * 1024
#: How often a deadline that passed before the connection existed is tried again.
_RECHECK = 0.05


class AnswerTooLarge(requests.exceptions.RequestException):
    """The answer grew past the size cap (counted after decompression)."""


class AnswerTooSlow(requests.exceptions.Timeout):
    """The whole answer did not arrive within the timeout (a server dripping bytes)."""


class _Deadline:
    """One attempt's deadline: once it passes, the attempt's socket is shut down."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.passed = False
        self._conn: HTTPConnection | None = None
        self._over = False
        self._lock = threading.Lock()

    def attach(self, conn: HTTPConnection) -> None:
        with self._lock:
            self._conn = conn

    def end(self) -> None:
        """The attempt is over (or its connection went back to the pool): never fire."""
        with self._lock:
            self._over, self._conn = True, None

    def fire(self) -> bool:
        """Called when the deadline passes; True to be called again (no socket yet)."""
        with self._lock:
            if self._over:
                return False
            self.passed = True
            sock = getattr(self._conn, "sock", None)
            if sock is None:
                return True
            with contextlib.suppress(OSError):  # ends a recv blocked in another thread
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            return False


class _Watchdog:
    """One daemon thread that fires every attempt's deadline (a heap of them)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start with no deadline and no thread (also in a child made by fork)."""
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: _Deadline) -> None:
        with self._wake:
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():  # first use, or a fork
                self._thread = threading.Thread(
                    target=self._run, name="fbtime-deadlines", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._wake.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                deadline = heapq.heappop(self._heap)[2]
            if deadline.fire():
                deadline.at = time.monotonic() + _RECHECK
                self.watch(deadline)


_WATCHDOG = _Watchdog()
# a child made by fork has no watchdog thread, and its lock may be held by one: start anew
os.register_at_fork(after_in_child=_WATCHDOG.reset)
_CURRENT = threading.local()  # the deadline of the attempt this thread is making


class _WatchedHTTPPool(HTTPConnectionPool):
    """A connection pool that tells the current attempt's deadline which connection it
    uses, and ends the deadline when the connection comes back to the pool."""

    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        deadline = getattr(_CURRENT, "deadline", None)
        if deadline is not None:
            deadline.attach(conn)
        return super()._make_request(conn, *args, **kwargs)

    def _put_conn(self, conn: Any) -> None:
        deadline = getattr(_CURRENT, "deadline", None)
        if deadline is not None:
            deadline.end()
        super()._put_conn(conn)


class _WatchedHTTPSPool(_WatchedHTTPPool, HTTPSConnectionPool):
    pass


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class BoundedAdapter(HTTPAdapter):
    """An HTTPAdapter that reads each answer in full, within a size cap and a deadline.

    requests would read the body after the adapter returns, without a cap or a total
    deadline (its read timeout is per chunk). Reading it here, as a stream, bounds both;
    the body is then in memory like any non-streamed answer, so requests-cache and the
    client see an ordinary response.
    """

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_ANSWER_BYTES, **kwargs: Any) -> None:
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools: the body deadline only
            manager.pool_classes_by_scheme = _POOLS
        return manager

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        **kwargs: Any,
    ) -> requests.Response:
        started = time.monotonic()
        limit = timeout[1] if isinstance(timeout, tuple) else timeout
        deadline = _Deadline(started + float(limit)) if limit else None
        if deadline is not None:
            _WATCHDOG.watch(deadline)
        _CURRENT.deadline = deadline
        try:
            try:
                response = super().send(request, stream=True, timeout=timeout, **kwargs)
            except requests.exceptions.ConnectionError as exc:
                if deadline is not None and deadline.passed:  # cut off before the headers
                    raise requests.exceptions.ReadTimeout(str(exc)) from None
                raise
            return self._finish(response, deadline, limit)
        finally:
            _CURRENT.deadline = None
            if deadline is not None:
                deadline.end()

    def _finish(
        self, response: requests.Response, deadline: _Deadline | None, limit: Any
    ) -> requests.Response:
        """Read the body within the cap and the deadline; an ordinary response then."""
        try:
            body = self._read(response, deadline.at if deadline else None, limit)
            if deadline is not None and deadline.passed:  # whatever parsed was cut short
                raise AnswerTooSlow(f"the whole answer did not arrive within {limit} s")
        except (AnswerTooLarge, AnswerTooSlow, requests.exceptions.ContentDecodingError):
            response.close()
            raise
        except ReadTimeoutError as exc:
            response.close()
            raise requests.exceptions.ReadTimeout(str(exc)) from None
        except (ProtocolError, DecodeError, OSError) as exc:
            response.close()
            if deadline is not None and deadline.passed:
                raise AnswerTooSlow(f"the whole answer did not arrive within {limit} s") from None
            raise requests.exceptions.ChunkedEncodingError(str(exc)) from None
        response._content = body
        response._content_consumed = True  # type: ignore[attr-defined]
        # the body is decoded now; a cache or a reader must not decode it again
        response.headers.pop("Content-Encoding", None)
        response.headers.pop("Content-Length", None)
        return response

    def _read(self, response: requests.Response, deadline: float | None, limit: Any) -> bytes:
        """The whole body, decompressed here with ``max_length`` so a bomb never inflates."""
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        if encoding in ("", "identity"):
            decoder = None
        elif encoding in ("gzip", "x-gzip"):
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            decoder = zlib.decompressobj()
        else:
            raise requests.exceptions.ContentDecodingError(
                f"the answer is encoded as {encoding!r}, which fbtime does not accept"
            )
        chunks: list[bytes] = []
        size = 0
        # read1: whatever has arrived, so the deadline holds against a server dripping bytes
        while data := response.raw.read1(CHUNK, decode_content=False):
            while data:
                if decoder is None:
                    out, data = data, b""
                else:
                    try:
                        out = decoder.decompress(data, self.max_bytes + 1 - size)
                    except zlib.error as exc:
                        raise requests.exceptions.ContentDecodingError(str(exc)) from None
                    data = decoder.unconsumed_tail
                size += len(out)
                if size > self.max_bytes:
                    raise AnswerTooLarge(f"the answer is larger than {self.max_bytes:,} bytes")
                chunks.append(out)
            if deadline is not None and time.monotonic() > deadline:
                raise AnswerTooSlow(f"the whole answer did not arrive within {limit} s")
        if decoder is not None:
            tail = decoder.flush()
            size += len(tail)
            if size > self.max_bytes:
                raise AnswerTooLarge(f"the answer is larger than {self.max_bytes:,} bytes")
            chunks.append(tail)
        return b"".join(chunks)


#: Origins answered in this process instead of over a network, each by its requests
#: adapter: ``fbtime.Sandbox(in_process=True)`` registers its own (the unit tests' seam).
_IN_PROCESS: dict[str, BaseAdapter] = {}
_IN_PROCESS_LOCK = threading.Lock()


def mount_in_process(url: str, adapter: BaseAdapter | None) -> None:
    """Have every session built from now on send requests for ``url``'s origin to ``adapter``
    (None: no longer). Only a host under ``.invalid`` is accepted: that name never resolves
    (RFC 6761), so an adapter can never stand in for a real API or catch a token meant for one.

    Raises:
        ValueError: ``url`` is not an http(s) origin under ``.invalid``.
    """
    scheme, host, port = origin(url)
    if scheme not in ("http", "https") or not host.endswith(".invalid"):
        raise ValueError(
            f"only an http(s) origin under .invalid is answered in process, not {url!r}"
        )
    default = port == {"http": 80, "https": 443}[scheme]
    prefix = f"{scheme}://{host}/" if default else f"{scheme}://{host}:{port}/"
    with _IN_PROCESS_LOCK:
        if adapter is None:
            _IN_PROCESS.pop(prefix, None)
        else:
            _IN_PROCESS[prefix] = adapter


def bounded(
    session: requests.Session, max_bytes: int = DEFAULT_MAX_ANSWER_BYTES, **adapter: Any
) -> requests.Session:
    """``session`` reading every answer through a :class:`BoundedAdapter` (cap, deadline),
    asking only for the encodings it decodes itself; origins registered with
    :func:`mount_in_process` go to their own adapter."""
    bounded_adapter = BoundedAdapter(max_bytes=max_bytes, **adapter)
    session.mount("http://", bounded_adapter)
    session.mount("https://", bounded_adapter)
    with _IN_PROCESS_LOCK:
        for prefix, in_process in _IN_PROCESS.items():
            session.mount(prefix, in_process)  # the longest prefix wins in requests
    session.headers["Accept-Encoding"] = "gzip, deflate"
    return session


def describe(exc: BaseException, method: str, url: str, timeout: float) -> str:
    """One line saying what failed and what to try, for a requests/urllib3 exception."""
    scheme, host, port = origin(url)
    where = f"{scheme}://{host}:{port}"
    text = str(exc)
    if isinstance(exc, AnswerTooLarge):
        return f"{method} {url}: {exc}; refusing to read more (is this the FreshBooks API?)"
    if isinstance(exc, AnswerTooSlow | requests.exceptions.ContentDecodingError):
        return f"{method} {url}: {exc}"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"cannot reach {where}: no connection within {timeout:g} s; check the network"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"{method} {url} got no answer within {timeout:g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"cannot reach {where}: the TLS handshake failed (certificate or proxy?)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return f"{method} {url}: the answer was cut short"
    if isinstance(exc, requests.exceptions.ConnectionError):
        if "refused" in text.lower():
            return f"cannot reach {where}: connection refused; is the server running there?"
        if "name or service not known" in text.lower() or "resolve" in text.lower():
            return f"cannot reach {where}: the host name is unknown; check the API URL"
        if "reset" in text.lower() or "aborted" in text.lower() or "closed" in text.lower():
            return f"{method} {url}: the server closed the connection before answering"
        return f"cannot reach {where}: {type(exc).__name__}"
    return f"{method} {url} failed: {type(exc).__name__}"
