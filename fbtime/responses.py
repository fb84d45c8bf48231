"""Turn an HTTP error answer into the right :class:`~fbtime.errors.APIError`.

FreshBooks' families answer errors in different shapes (see the facts sheet, section 8);
:func:`parse_error_body` reads all of them, and a body that is not JSON at all.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fbtime.errors import (
    APIError,
    AuthError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ValidationError,
)


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
