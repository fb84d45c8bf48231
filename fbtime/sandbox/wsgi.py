"""Calling the sandbox's WSGI app: the one call both ways in share, and the in-process adapter.

Over HTTP, :mod:`fbtime.sandbox.server` reads a request off a socket and hands it to
:func:`call`. In process, :class:`InProcessAdapter` hands it over straight from a
:class:`requests.Session`, as httpx's ``WSGITransport`` calls an app: no socket, no
thread, no port, so a request costs the app's own work. ``Sandbox(in_process=True)``
mounts one for every session fbtime builds (:func:`fbtime.transport.mount_in_process`),
at an origin under ``.invalid`` that no network can reach; unit tests use it, integration
tests keep the real server.

Not a dependency: requests-wsgi-adapter does this, but its last release is 0.4.1 of 2019,
and fbtime needs the sandbox's faults (an answer dropped or cut short) to come out as they
do over a socket, which takes :func:`call` anyway.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3 import HTTPHeaderDict, HTTPResponse

from fbtime.sandbox.faults import ENVIRON_KEY as FAULT_KEY

#: Statuses whose answer has no body, whatever the app returned.
NO_BODY = (204, 304)


@dataclass(frozen=True)
class Reply:
    """What the app answered, as a gateway sends it; ``dropped``: send nothing at all."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    dropped: bool = False


def call(
    app: Callable[..., Iterable[bytes]],
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    scheme: str,
    host: str,
    port: int,
    protocol: str = "HTTP/1.1",
) -> Reply:
    """Answer one request (``target``: the path and query, as sent) with the WSGI ``app``.

    The sandbox's faults are carried out here, so both gateways show them alike: ``drop``
    gives a reply marked dropped, ``truncate`` half the body under a length that matches it.
    """
    path, _, query = target.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method.upper(), "PATH_INFO": unquote(path), "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "",
        "SERVER_NAME": host, "SERVER_PORT": str(port), "SERVER_PROTOCOL": protocol,
        "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": scheme, "wsgi.version": (1, 0),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }  # fmt: skip
    for name, value in headers:
        key = name.upper().replace("-", "_")
        environ["HTTP_" + key] = value
        if key == "CONTENT_TYPE":
            environ[key] = value
    started: list[Any] = []

    def start_response(status: str, answer: list[tuple[str, str]], exc_info: Any = None) -> None:
        started[:] = [status, answer]

    data = b"".join(app(environ, start_response))
    fault = environ.get(FAULT_KEY)
    if fault == "truncate":
        data = data[: len(data) // 2]
    code, _, reason = started[0].partition(" ")
    status = int(code)
    if status in NO_BODY:
        data = b""
    return Reply(status, reason, list(started[1]), data, dropped=fault == "drop")


class InProcessAdapter(BaseAdapter):
    """A requests transport adapter that answers from a WSGI app in this process.

    Mount it on a session for an origin (``session.mount("https://x.invalid/", adapter)``);
    every request to that origin is answered by :func:`call`, in the caller's thread. A
    fault that drops the connection raises requests' ``ConnectionError``, as a closed
    socket does; while :attr:`serving` is False (the sandbox stopped), every request is
    refused, as by a stopped server. The timeout is not applied: the app answers (or
    sleeps its latency) in the caller's thread, and deadlines are tested over real HTTP.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        super().__init__()
        self.app = app
        self.serving = True

    def close(self) -> None:
        """Nothing to release (a session closing calls it; the app is the sandbox's)."""

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        if not self.serving:
            raise requests.exceptions.ConnectionError(
                f"connection refused: the sandbox at {url.scheme}://{url.netloc} is stopped",
                request=request,
            )
        reply = call(
            self.app,
            request.method or "GET",
            url.path + (f"?{url.query}" if url.query else ""),
            request.headers.items(),
            _body_bytes(request.body),
            scheme=url.scheme,
            host=url.hostname or "",
            port=url.port or (443 if url.scheme == "https" else 80),
        )
        if reply.dropped:
            raise requests.exceptions.ConnectionError(
                "Connection aborted: the sandbox closed the connection without answering",
                request=request,
            )
        body = b"" if request.method == "HEAD" else reply.body
        raw = HTTPResponse(
            body=io.BytesIO(body),
            headers=HTTPHeaderDict(reply.headers),
            status=reply.status,
            reason=reply.reason,
            preload_content=False,
            decode_content=False,
            request_method=request.method,
            request_url=request.url,
            version=11,
        )
        response = requests.Response()
        response.status_code, response.reason = reply.status, reply.reason
        response.headers = CaseInsensitiveDict(raw.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw, response.url, response.request = raw, request.url or "", request
        return response


def _body_bytes(body: Any) -> bytes:
    """A prepared request's body (None, text, bytes, a file or an iterable of chunks) as bytes."""
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    return b"".join(part.encode("utf-8") if isinstance(part, str) else part for part in body)
