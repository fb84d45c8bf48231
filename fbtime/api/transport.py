"""What one HTTP attempt may cost, and how its failure is told.

A server can be hostile or broken: it may never answer, drip one byte a minute, or send
190 KB of gzip that inflates to 200 MB. :class:`BoundedAdapter` reads every answer as a
stream and decompresses it itself (zlib with ``max_length``, so no chunk inflates past
the budget), counting the *decompressed* bytes against a cap and the time against the
timeout, so one attempt costs at most ``timeout`` to connect plus ``timeout`` to get the
whole answer, and at most :data:`~fbtime.config.DEFAULT_MAX_ANSWER_BYTES` of memory.

:func:`describe` turns what requests and urllib3 raise into one line a person can act on
("cannot reach http://127.0.0.1:8765: connection refused; is the server running?"),
without the chained urllib3 traceback.
"""

from __future__ import annotations

import time
import zlib
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

from fbtime.config import origin

CHUNK = 64 * 1024


class AnswerTooLarge(requests.exceptions.RequestException):
    """The answer grew past the size cap (counted after decompression)."""


class AnswerTooSlow(requests.exceptions.Timeout):
    """The whole answer did not arrive within the timeout (a server dripping bytes)."""


class BoundedAdapter(HTTPAdapter):
    """An HTTPAdapter that reads each answer in full, within a size cap and a deadline.

    requests would read the body after the adapter returns, without a cap or a total
    deadline (its read timeout is per chunk). Reading it here, as a stream, bounds both;
    the body is then in memory like any non-streamed answer, so requests-cache and the
    client see an ordinary response.
    """

    def __init__(self, *, max_bytes: int, **kwargs: Any) -> None:
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
        **kwargs: Any,
    ) -> requests.Response:  # fmt: skip
        started = time.monotonic()
        response = super().send(request, stream=True, timeout=timeout, **kwargs)
        limit = timeout[1] if isinstance(timeout, tuple) else timeout
        deadline = started + float(limit) if limit else None
        try:
            body = self._read(response, deadline, limit)
        except (AnswerTooLarge, AnswerTooSlow, requests.exceptions.ContentDecodingError):
            response.close()
            raise
        except ReadTimeoutError as exc:
            response.close()
            raise requests.exceptions.ReadTimeout(str(exc)) from None
        except (ProtocolError, DecodeError, OSError) as exc:
            response.close()
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
