"""Every error fbtime raises, in one tree.

::

    FBTimeError                      base of everything below
    ├── ConfigError                  no token / business id / base URL, or an unsafe one
    │   └── LoginError               sign-in could not finish (state, denied, expired code)
    ├── QueryError (ValueError)      a bad filter, date, id or page size; raised before any request
    ├── SchemaError (ValueError)     a frame that does not fit the time-entry schema
    ├── TransportError               connection refused/reset, timeout, unreadable body
    │   ├── InconsistentPagesError   the list kept changing while it was paged
    │   └── UnexpectedAnswerError    an answer without the documented shape or types
    ├── APIError                     the API answered with an error status
    │   ├── AuthError                401 / 403: token missing, expired, revoked or not allowed
    │   ├── NotFoundError            404: no such entry (or deleted) in this business
    │   ├── ValidationError          400 / 422: the API rejected fields (``field_errors``)
    │   ├── RateLimitError           429 after the retry budget (``retry_after``)
    │   └── ServerError              5xx after the retry budget
    ├── SyncError                    a snapshot cannot be synced (unreadable state)
    │   └── SyncFiltersError (ValueError)  other filters or business than the snapshot's
    ├── ImportFileError (ValueError) a time export that cannot be read (``problems``: rows)
    ├── UnmatchedNamesError (ValueError)  names in an export with no FreshBooks match
    └── BulkError                    plans, apply, journal, resume and undo
        ├── PlanError (ValueError)   a plan that cannot be built or a plan file that is invalid
        ├── ConfirmationError        apply without the confirmation it needs
        ├── AlreadyAppliedError      this plan was already applied in this process
        ├── JournalLockedError       another apply, resume or undo holds the journal
        └── PartialApplyError        apply stopped part way (``journal_path`` says where)

    KeyboardInterrupt
    └── ApplyInterrupted             Ctrl-C stopped an apply (``journal_path``, ``result``)

Messages say what was wrong and what to do about it. None of them ever contains an
access or refresh token.

FreshBooks' API families answer errors in different shapes (facts sheet, section 8):
:func:`parse_error_body` reads all of them, and a body that is not JSON at all;
:func:`error_for_status` maps a status to its class.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fbtime.bulk.result import ApplyResult


class FBTimeError(Exception):
    """Base class of every fbtime error."""


class ConfigError(FBTimeError):
    """Settings are missing or unsafe (no token, no business id, plain HTTP to a remote host)."""


class LoginError(ConfigError):
    """Sign-in could not finish (wrong ``state``, denied, expired code); nothing was saved."""


class QueryError(FBTimeError, ValueError):
    """A filter, date, id or page size is invalid. Raised before any request is sent."""


class SchemaError(FBTimeError, ValueError):
    """A frame does not have the columns or dtypes of a time-entry frame."""


class TransportError(FBTimeError):
    """The request never got a usable answer: connection error, timeout, truncated body."""


class InconsistentPagesError(TransportError):
    """The list kept changing while it was paged; no consistent snapshot was seen."""


class UnexpectedAnswerError(TransportError):
    """An answer does not have the shape or types the API documents (a broken or hostile
    server): the message names the request and the field."""


class APIError(FBTimeError):
    """The API answered with an error status.

    Attributes:
        status: HTTP status code.
        message: the API's message, or a summary of the body.
        error_code: FreshBooks ``errno`` when the body has one.
        field_errors: ``{field: message}`` for validation errors.
        body: the parsed JSON body (or the raw text when it was not JSON).
        method, url: the request that failed (the URL never holds a token).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        error_code: int | None = None,
        field_errors: dict[str, str] | None = None,
        body: Any = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.error_code = error_code
        self.field_errors = dict(field_errors or {})
        self.body = body
        self.method = method
        self.url = url
        where = f" ({method} {url})" if method and url else ""
        super().__init__(f"HTTP {status}: {message}{where}")


class AuthError(APIError):
    """401/403: the token is missing, expired, revoked or lacks permission."""


class NotFoundError(APIError):
    """404: the resource does not exist in this business (or was deleted)."""


class ValidationError(APIError):
    """400/422: the API rejected the request; ``field_errors`` says which fields and why."""


class RateLimitError(APIError):
    """429 after the retry budget was spent; ``retry_after`` is the server's advice (s)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ServerError(APIError):
    """5xx after the retry budget was spent."""


class SyncError(FBTimeError):
    """A snapshot cannot be synced as asked: its state is unreadable or does not match."""


class SyncFiltersError(SyncError, ValueError):
    """The filters (or business) differ from the snapshot's; sync with ``full=True``."""


class ImportFileError(FBTimeError, ValueError):
    """A time export (Toggl, Harvest, Clockify CSV) cannot be read as asked.

    Raised before any request: an unknown layout (the expected headers are listed), an
    encoding that is not UTF-8 or UTF-16 with a BOM, a time zone that is not an IANA name,
    or rows that cannot be read (a bad date, clock time or duration, a local time that
    does not exist or occurs twice at a DST change).

    Attributes:
        path: the file.
        problems: ``{"row", "column", "value", "message"}`` for every bad row; ``row`` is
            the row number a spreadsheet shows (the header is row 1).
    """

    def __init__(
        self, message: str, *, path: str | None = None, problems: list[dict[str, Any]] | None = None
    ) -> None:
        self.path = path
        self.problems = list(problems or [])
        super().__init__(message)


class UnmatchedNamesError(FBTimeError, ValueError):
    """Names in a time export match no FreshBooks teammate, client, project or service.

    An import never creates any of them: every unmatched name is listed, with a mapping
    template to fill in and pass back (``mapping=``; ``fbtime import --mapping``).

    Attributes:
        unmatched: ``{"kind", "file", "client", "reason", "rows"}`` for each name.
        template: the mapping (a JSON-ready dict) with a ``"to": null`` to fill per name.
    """

    def __init__(
        self,
        message: str,
        *,
        unmatched: list[dict[str, Any]] | None = None,
        template: dict[str, Any] | None = None,
    ) -> None:
        self.unmatched = list(unmatched or [])
        self.template = dict(template or {})
        super().__init__(message)


class BulkError(FBTimeError):
    """Base class of errors from plans, apply, journals, resume and undo."""


class PlanError(BulkError, ValueError):
    """A plan cannot be built from this input, or a saved plan file is invalid."""


class ConfirmationError(BulkError):
    """``apply`` was called without the confirmation the plan needs."""


class AlreadyAppliedError(BulkError):
    """The same plan (same content, same hash) was already applied, or is being applied,
    in this process: a double-click, a cell run twice. Nothing was sent.

    Attributes:
        journal_path: the journal of that apply; ``fbtime.resume`` finishes it.
    """

    journal_path: str

    def __init__(self, message: str, *, journal_path: str) -> None:
        self.journal_path = journal_path
        super().__init__(message)


class JournalLockedError(BulkError):
    """Another apply, resume or undo is writing this journal (or undoing it) right now, in
    this process or another; nothing was sent. Try again once it has finished."""


class PartialApplyError(BulkError):
    """An apply stopped part way (auth error, unreachable API, cancelled).

    Attributes:
        journal_path: the journal recording what happened; ``fbtime.resume`` finishes it.
        result: the row-by-row result up to the stop (``not_attempted`` for the rest).
    """

    journal_path: str | None
    result: ApplyResult | None

    def __init__(
        self, message: str, *, journal_path: str | None = None, result: ApplyResult | None = None
    ) -> None:
        self.journal_path = journal_path
        self.result = result
        super().__init__(message)


class ApplyInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped an apply once the requests in flight had finished.

    A ``KeyboardInterrupt`` (so ``except Exception`` does not swallow it) carrying what
    :class:`PartialApplyError` carries: ``journal_path`` and ``result``.
    """

    journal_path: str
    result: ApplyResult

    def __init__(self, message: str, *, journal_path: str, result: ApplyResult) -> None:
        self.journal_path = journal_path
        self.result = result
        super().__init__(message)


# -- answers -> errors -------------------------------------------------------------------


def parse_error_body(text: str) -> tuple[str, int | None, dict[str, str], Any]:
    """Return ``(message, errno, field_errors, body)`` for any FreshBooks error body."""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        plain = re.sub(r"<[^>]+>", " ", text or "")
        plain = " ".join(plain.split())[:200]
        return (f"non-JSON answer: {plain}" if plain else "empty answer"), None, {}, text
    errno = body.get("errno") if isinstance(body.get("errno"), int) else None
    fields: dict[str, str] = {}
    message = ""
    error = body.get("error")
    if isinstance(error, dict):  # timetracking/projects 422
        fields = {str(k): str(v) for k, v in error.items()}
    elif isinstance(error, str):  # 404, and auth endpoints ({"error", "error_description"})
        message = error
        if body.get("error_description"):
            message = f"{error}: {body['error_description']}"
    response = body.get("response")
    if isinstance(response, dict) and isinstance(response.get("errors"), list):  # accounting
        for item in response["errors"]:
            if isinstance(item, dict):
                errno = errno or item.get("errno")
                key = str(item.get("field") or "__root__")
                fields[key] = str(item.get("message", ""))
    errors = body.get("errors")
    if isinstance(errors, dict):  # ledger family
        message = message or str(errors.get("message", ""))
        for detail in errors.get("details") or []:
            meta = (detail or {}).get("metadata") or {}
            if meta.get("field"):
                fields[str(meta["field"])] = str(meta.get("message", ""))
    for detail in body.get("details") or []:  # accounting, API versions >= 2022-10-31
        meta = (detail or {}).get("metadata") or {} if isinstance(detail, dict) else {}
        for key, value in meta.items():
            if key not in ("object",):
                fields.setdefault(str(key), str(value))
    if not message and isinstance(body.get("message"), str):
        message = body["message"]
    if fields and not message:
        message = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return message or "no error message in the answer", errno, fields, body


def error_for_status(
    status: int,
    text: str,
    *,
    method: str | None = None,
    url: str | None = None,
    retry_after: str | None = None,
) -> APIError:
    """Build the :class:`APIError` subclass for ``status`` from the answer's body."""
    message, errno, fields, body = parse_error_body(text)
    kw: dict[str, Any] = dict(
        status=status, error_code=errno, field_errors=fields, body=body, method=method, url=url
    )
    if status in (401, 403):
        hint = (
            " The access token is missing, expired or revoked, or lacks permission; "
            "get a new one (fbtime login) or check FRESHBOOKS_ACCESS_TOKEN."
        )
        return AuthError(message + hint, **kw)
    if status == 404:
        return NotFoundError(message, **kw)
    if status in (400, 422):
        return ValidationError(message, **kw)
    if status == 429:
        after = _seconds(retry_after)
        wait = f" (server asks to wait {after:g} s)" if after is not None else ""
        return RateLimitError(f"rate limited{wait}: {message}", retry_after=after, **kw)
    if status >= 500:
        return ServerError(message, **kw)
    return APIError(message, **kw)


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
