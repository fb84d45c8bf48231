"""Every error body shape FreshBooks sends maps to the right typed error."""

import json

import pytest

from fbtime.errors import (
    APIError,
    AuthError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ValidationError,
    error_for_status,
)


def test_timetracking_validation_keeps_field_errors():
    body = {"errno": 2001, "error": {"started_at": "field required", "__root__": "bad"}}
    error = error_for_status(422, json.dumps(body))
    assert isinstance(error, ValidationError)
    assert error.field_errors == {"started_at": "field required", "__root__": "bad"}
    assert error.error_code == 2001
    assert "started_at" in str(error)


@pytest.mark.parametrize(
    ("status", "body", "kind", "text"),
    [
        (404, {"error": "Requested resource could not be found."}, NotFoundError, "not be found"),
        (401, {"message": "invalid_token: revoked"}, AuthError, "invalid_token"),
        (400, {"error": "invalid_grant", "error_description": "used"}, ValidationError, "used"),
        (
            400,
            {"response": {"errors": [{"errno": 1012, "field": "userid", "message": "nope"}]}},
            ValidationError,
            "nope",
        ),
        (
            404,
            {
                "code": 5,
                "message": "Request failed with status_code: 404",
                "details": [{"reason": "1012", "metadata": {"object": "client", "id": "9"}}],
            },
            NotFoundError,
            "status_code: 404",
        ),
        (
            422,
            {
                "errors": {
                    "message": "bad",
                    "details": [{"metadata": {"field": "amount", "message": "too big"}}],
                }
            },
            ValidationError,
            "bad",
        ),
        (503, {"message": "down"}, ServerError, "down"),
        (418, {"message": "teapot"}, APIError, "teapot"),
    ],
)
def test_each_family_shape(status, body, kind, text):
    error = error_for_status(status, json.dumps(body))
    assert type(error) is kind
    assert text in str(error)
    assert error.status == status


def test_non_json_body_is_summarised_not_crashed_on():
    error = error_for_status(502, "<html><body><h1>502 Bad Gateway</h1></body></html>")
    assert isinstance(error, ServerError)
    assert "non-JSON answer: 502 Bad Gateway" in str(error)


def test_rate_limit_keeps_retry_after():
    error = error_for_status(429, '{"message": "Too many requests"}', retry_after="7")
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0
    assert "wait 7 s" in str(error)
