"""Every error fbtime raises, in one tree.

::

    FBTimeError                      base of everything below
    ├── ConfigError                  no token / business id / base URL, or an unsafe one
    │   └── LoginError               sign-in could not finish (state, denied, expired code)
    ├── QueryError (ValueError)      a bad filter, date, id or page size; raised before any request
    ├── SchemaError (ValueError)     a frame that does not fit the time-entry schema
    ├── TransportError               connection refused/reset, timeout, unreadable body
    ├── APIError                     the API answered with an error status
    │   ├── AuthError                401 / 403: token missing, expired, revoked or not allowed
    │   ├── NotFoundError            404: no such entry (or deleted) in this business
    │   ├── ValidationError          400 / 422: the API rejected fields (``field_errors``)
    │   ├── RateLimitError           429 after the retry budget (``retry_after``)
    │   └── ServerError              5xx after the retry budget
    ├── SyncError                    a snapshot cannot be synced (unreadable state)
    │   └── SyncFiltersError (ValueError)  other filters or business than the snapshot's
    └── BulkError                    plans, apply, journal, resume and undo
        ├── PlanError (ValueError)   a plan that cannot be built or a plan file that is invalid
        ├── ConfirmationError        apply without the confirmation it needs
        └── PartialApplyError        apply stopped part way (``journal_path`` says where)

    KeyboardInterrupt
    └── ApplyInterrupted             Ctrl-C stopped an apply (``journal_path``, ``result``)

Messages say what was wrong and what to do about it. None of them ever contains an
access or refresh token.
"""

from __future__ import annotations

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


class BulkError(FBTimeError):
    """Base class of errors from plans, apply, journals, resume and undo."""


class PlanError(BulkError, ValueError):
    """A plan cannot be built from this input, or a saved plan file is invalid."""


class ConfirmationError(BulkError):
    """``apply`` was called without the confirmation the plan needs."""


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
