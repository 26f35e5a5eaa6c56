"""Google-style error bodies: plain objects (front end), one-element lists (backend), HTML 404."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

JSON_CT = "application/json; charset=UTF-8"
GOOGLE_HEADERS = {
    "vary": "Origin, X-Origin, Referer",
    "x-xss-protection": "0",
    "x-frame-options": "SAMEORIGIN",
    "x-content-type-options": "nosniff",
    "server": "ESF",
}
CHAT_METHOD = "google.cloud.aiplatform.v1.PredictionService.ChatCompletions"

UNAUTHENTICATED_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON with Google's content type and alphabetically sorted keys (protobuf JSON)."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, indent=2)
    return Response(
        text.encode("utf-8"),
        status_code=status,
        media_type=JSON_CT,
        headers={**GOOGLE_HEADERS, **(headers or {})},
    )


def error_object(
    code: int, message: str, status: str | None = None, details: list[Any] | None = None
) -> dict[str, Any]:
    err: dict[str, Any] = {
        "code": code,
        "message": message,
        "status": status or STATUS_NAMES.get(code, "UNKNOWN"),
    }
    if details:
        err["details"] = details
    return {"error": err}


def google_error(
    code: int, message: str, status: str | None = None, details: list[Any] | None = None
) -> Response:
    """Plain-object error, as Google's front end (ESF) sends it."""
    return json_response(error_object(code, message, status, details), code)


def list_error(
    code: int, message: str, status: str | None = None, details: list[Any] | None = None
) -> Response:
    """One-element JSON list, as errors from behind the compat handler come."""
    return json_response([error_object(code, message, status, details)], code)


def unauthenticated_body(
    method: str = CHAT_METHOD,
    service: str = "aiplatform.googleapis.com",
    reason: str = "ACCESS_TOKEN_TYPE_UNSUPPORTED",
) -> dict[str, Any]:
    return error_object(
        401,
        UNAUTHENTICATED_MESSAGE,
        "UNAUTHENTICATED",
        [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "domain": "googleapis.com",
                "metadata": {"method": method, "service": service},
                "reason": reason,
            }
        ],
    )


def unauthenticated_response(
    method: str = CHAT_METHOD,
    service: str = "aiplatform.googleapis.com",
    reason: str = "ACCESS_TOKEN_TYPE_UNSUPPORTED",
) -> Response:
    return json_response(
        unauthenticated_body(method, service, reason),
        401,
        headers={"www-authenticate": 'Bearer realm="https://accounts.google.com/"'},
    )


def html_404(path: str) -> Response:
    page = (
        "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n"
        '  <meta name=viewport content="initial-scale=1, minimum-scale=1, width=device-width">\n'
        "  <title>Error 404 (Not Found)!!1</title>\n"
        "  <a href=//www.google.com/><span id=logo aria-label=Google></span></a>\n"
        "  <p><b>404.</b> <ins>That\u2019s an error.</ins>\n"
        f"  <p>The requested URL <code>{_html_escape(path)}</code> was not found on this server."
        "  <ins>That\u2019s all we know.</ins>\n"
    )
    return Response(
        page,
        status_code=404,
        media_type="text/html; charset=UTF-8",
        headers={"x-content-type-options": "nosniff", "x-xss-protection": "0"},
    )


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
