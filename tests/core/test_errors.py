"""Readable Vertex errors: envelopes (dict, list, HTML) and hints."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from vertex_openai._errors import describe_vertex_error, readable_status_error

URL = "https://aiplatform.googleapis.com/v1/projects/p/locations/global/endpoints/openapi/chat/completions"


def err(code: int, message: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, **extra}}


def test_dict_and_list_envelopes_same_text() -> None:
    body = err(400, "Bad Request", "INVALID_ARGUMENT")
    a = describe_vertex_error(400, body)
    assert a == describe_vertex_error(400, [body])
    assert a == describe_vertex_error(400, body["error"])  # openai's exc.body for dict bodies
    assert a == describe_vertex_error(400, json.dumps([body]))
    assert a.startswith("Vertex AI returned 400 INVALID_ARGUMENT: Bad Request.")


def test_html_404() -> None:
    html = (
        "<!DOCTYPE html><html lang=en><title>Error 404 (Not Found)!!1</title><p>The requested URL"
    )
    text = describe_vertex_error(404, html)
    assert text.startswith(
        "Vertex AI returned 404 NOT_FOUND: HTML error page (Error 404 (Not Found)!!1)"
    )
    assert "chat/completions" in text
    assert "base_url" in text


@pytest.mark.parametrize(
    ("status_code", "body", "needles"),
    [
        (
            401,
            err(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login "
                "cookie or other valid authentication credential.",
                "UNAUTHENTICATED",
                details=[{"reason": "ACCESS_TOKEN_TYPE_UNSUPPORTED"}],
            ),
            ["401 UNAUTHENTICATED", "credentials", "gcloud auth application-default login"],
        ),
        (
            400,
            err(
                400,
                "Unable to submit request because function call `default_api:read_file` in the "
                "4. content "
                "block is missing a `thought_signature`. Learn more: https://docs.cloud.google.com/x",
                "INVALID_ARGUMENT",
            ),
            ["thought_signature", "skip_thought_signature_validator"],
        ),
        (
            400,
            [
                err(
                    400,
                    "Function call is missing a thought_signature in functionCall parts.",
                    "INVALID_ARGUMENT",
                )
            ],
            ["replayed"],
        ),
        (400, err(400, "Corrupted thought signature.", "INVALID_ARGUMENT"), ["different model"]),
        (
            404,
            [
                err(
                    404,
                    "Publisher Model `projects/123/locations/global/publishers/openai/models/"
                    "gpt-oss`"
                    " "
                    "was not "
                    "found or your project does not have access to it.",
                    "NOT_FOUND",
                )
            ],
            ["location='global'", "publisher-prefixed", "google/gemini-2.5-flash"],
        ),
        (
            400,
            err(
                400,
                "This endpoint is a dedicated endpoint via CloudESF and cannot be accessed through "
                "the Vertex "
                "AI API. Please access the endpoint using its dedicated dns name "
                "'123.asia-northeast1-456.prediction.vertexai.goog'",
                "FAILED_PRECONDITION",
            ),
            [
                "FAILED_PRECONDITION",
                "dedicated_endpoint_dns",
                "123.asia-northeast1-456.prediction.vertexai.goog",
            ],
        ),
        (
            429,
            [err(429, "Resource exhausted. Please try again later.", "RESOURCE_EXHAUSTED")],
            ["429 RESOURCE_EXHAUSTED", "Retry later", "quota increase", "location='global'"],
        ),
        (
            503,
            err(503, "The service is currently unavailable.", "UNAVAILABLE"),
            ["retry", "max_retries"],
        ),
        (500, None, ["500 INTERNAL", "(no error message)", "retry"]),
        (
            400,
            err(
                400,
                "Expected 'reasoning_effort' to be one of: 'high','low','medium','minimal'",
                "INVALID_ARGUMENT",
            ),
            ["thinking_budget", "minimal"],
        ),
        (
            403,
            err(
                403,
                "Permission 'aiplatform.endpoints.predict' denied on resource",
                "PERMISSION_DENIED",
            ),
            ["aiplatform.endpoints.predict", "roles/aiplatform.user", "billing"],
        ),
        (
            403,
            err(
                403,
                "This API method requires billing to be enabled.",
                "PERMISSION_DENIED",
                details=[{"reason": "BILLING_DISABLED"}],
            ),
            ["enable billing"],
        ),
        (
            400,
            err(400, "Multiple candidates is not enabled for this model", "INVALID_ARGUMENT"),
            ["n=1"],
        ),
        (
            401,
            err(
                401,
                "API keys are not supported by this API. Expected OAuth2 access token",
                "UNAUTHENTICATED",
            ),
            ["express-mode", "api_key="],
        ),
    ],
)
def test_hints(status_code: int, body: Any, needles: list[str]) -> None:
    text = describe_vertex_error(status_code, body)
    assert text.startswith(f"Vertex AI returned {status_code}")
    assert "Hint: " in text
    assert text.endswith(".")
    for needle in needles:
        assert needle in text


def test_no_hint_for_unknown() -> None:
    assert (
        describe_vertex_error(418, {"error": {"message": "teapot"}})
        == "Vertex AI returned 418: teapot."
    )


def make_exc(
    cls: type[openai.APIStatusError], status: int, body: Any, url: str = URL
) -> openai.APIStatusError:
    response = httpx.Response(status, json=body, request=httpx.Request("POST", url))
    data = body.get("error", body) if isinstance(body, dict) else body
    return cls(f"Error code: {status} - {body}", response=response, body=data)


@pytest.mark.parametrize(
    ("cls", "status"),
    [
        (openai.BadRequestError, 400),
        (openai.AuthenticationError, 401),
        (openai.NotFoundError, 404),
        (openai.RateLimitError, 429),
        (openai.InternalServerError, 503),
        (openai.PermissionDeniedError, 403),
    ],
)
def test_readable_status_error_keeps_class_and_body(
    cls: type[openai.APIStatusError], status: int
) -> None:
    body = [err(status, "Something happened", "X")]
    exc = make_exc(cls, status, body)
    new = readable_status_error(exc)
    assert type(new) is cls
    assert new is not exc
    assert new.body == exc.body
    assert new.response is exc.response
    assert new.status_code == status
    assert str(new).startswith(f"Vertex AI returned {status} X: Something happened.")
    assert readable_status_error(new) is new


def test_readable_status_error_redacts() -> None:
    body = err(
        429,
        "Client error for url '" + URL + "?key=AQ.Ab8SECRET' with Bearer ya29.SECRETTOKEN",
        "RESOURCE_EXHAUSTED",
    )
    new = readable_status_error(make_exc(openai.RateLimitError, 429, body))
    assert "SECRET" not in str(new)
    assert "<redacted>" in str(new)


def test_readable_status_error_html_body() -> None:
    response = httpx.Response(
        404,
        text="<html><title>Error 404 (Not Found)!!1</title></html>",
        request=httpx.Request("GET", URL),
    )
    exc = openai.NotFoundError(response.text, response=response, body=response.text)
    assert "HTML error page" in str(readable_status_error(exc))
