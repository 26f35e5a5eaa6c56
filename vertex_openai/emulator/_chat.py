"""Vertex routes: chat completions and the endpoint resource (auth, routing, recording)."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from vertex_openai.emulator._errors import (
    error_object,
    google_error,
    html_404,
    json_response,
    list_error,
    unauthenticated_response,
)
from vertex_openai.emulator._state import TOKEN_PREFIX, EmulatorState, RecordedRequest, token_id_of

API_VERSIONS = ("v1", "v1beta1")
REDACTED = "<redacted>"
_SECRET_HEADERS = ("authorization", "x-goog-api-key", "cookie", "proxy-authorization")


class ChatRoutes:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        base = "/{version}/projects/{project}/locations/{location}/endpoints/{endpoint}"
        return [
            Route(base + "/chat/completions", self.chat, methods=["POST"]),
            Route(base, self.get_endpoint, methods=["GET"]),
        ]

    # -- common prologue ---------------------------------------------------------------
    def _record(self, request: Request, body: Any) -> RecordedRequest:
        headers = {
            k: (_redact_auth(v) if k in _SECRET_HEADERS else v) for k, v in request.headers.items()
        }
        query = {k: (REDACTED if k == "key" else v) for k, v in request.query_params.items()}
        rec = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=query,
            host=request.headers.get("host", ""),
            headers=headers,
            json=body,
        )
        with self.state.lock:
            self.state.requests.append(rec)
        return rec

    def _authenticate(self, request: Request, rec: RecordedRequest) -> Response | None:
        """Check credentials; fills rec.auth_kind/token_id. Returns an error response or None."""
        key = request.query_params.get("key")
        header_key = request.headers.get("x-goog-api-key")
        if header_key and not key and not self.state.config.api_key_header:
            # The third-party report this models: the header is not read on this route.
            return google_error(
                401,
                "API keys are not supported by this API. Expected OAuth2 access token or "
                "other authentication credentials that assert a principal. See "
                "https://cloud.google.com/docs/authentication",
                "UNAUTHENTICATED",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "domain": "googleapis.com",
                        "metadata": {"service": "aiplatform.googleapis.com"},
                        "reason": "CREDENTIALS_MISSING",
                    }
                ],
            )
        key = key or header_key
        if key:
            if key == self.state.api_key:
                rec.auth_kind = "api_key"
                return None
            return google_error(
                400,
                "API key not valid. Please pass a valid API key.",
                "INVALID_ARGUMENT",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "domain": "googleapis.com",
                        "metadata": {"service": "aiplatform.googleapis.com"},
                        "reason": "API_KEY_INVALID",
                    }
                ],
            )
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            return json_response(
                error_object(
                    401,
                    "Request is missing required authentication credential. Expected OAuth 2 "
                    "access token, login cookie or other valid authentication credential. See "
                    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                    "UNAUTHENTICATED",
                    [
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "domain": "googleapis.com",
                            "metadata": {
                                "method": "google.cloud.aiplatform.v1.PredictionService."
                                "ChatCompletions",
                                "service": "aiplatform.googleapis.com",
                            },
                            "reason": "CREDENTIALS_MISSING",
                        }
                    ],
                ),
                401,
            )
        token = auth[7:].strip()
        rec.token_id = token_id_of(token)
        record, _reason = self.state.check_token(token)
        if record is None:
            rec.auth_kind = "bearer"
            return unauthenticated_response()
        rec.auth_kind = "bearer"
        rec.token_remaining_s = round(record.expiry - time.time(), 3)
        return None

    def _route_checks(self, request: Request) -> Response | None:
        """Version, project and dedicated-endpoint checks (after auth)."""
        p = request.path_params
        if p["version"] not in API_VERSIONS:
            return html_404(request.url.path)
        unknown = self.location_error(request)
        if unknown is not None:
            return unknown
        cfg = self.state.config
        if cfg.check_project and p["project"] not in (cfg.project, cfg.project_number):
            return list_error(
                403,
                f"Permission 'aiplatform.endpoints.predict' denied on resource "
                f"'//aiplatform.googleapis.com/projects/{p['project']}/locations/"
                f"{p['location']}/endpoints/{p['endpoint']}' (or it may not exist).",
                "PERMISSION_DENIED",
            )
        endpoint = p["endpoint"]
        dedicated = cfg.dedicated_endpoints.get(endpoint)
        if dedicated is not None:
            host = request.headers.get("host", "").rsplit(":", 1)[0]
            if host != dedicated:
                return google_error(
                    400,
                    "This endpoint is a dedicated endpoint via CloudESF and cannot be accessed "
                    "through the Vertex AI API. Please access the endpoint using its dedicated "
                    f"dns name '{self.dedicated_dns(endpoint)}'",
                    "FAILED_PRECONDITION",
                )
        return None

    def location_error(self, request: Request) -> Response | None:
        """404 for a location Vertex does not serve (``EmulatorConfig.locations``).

        [INF] Vertex has no route for an unknown location: a plain 404 page, as for any
        unknown path (a typo such as ``us-centrall1`` in the path of the global host).
        """
        if request.path_params["location"] in self.state.config.locations:
            return None
        return html_404(request.url.path)

    def dedicated_dns(self, endpoint: str) -> str:
        return f"{self.state.config.dedicated_endpoints[endpoint]}:{self.state.port}"

    # -- GET endpoint resource -------------------------------------------------------------
    async def get_endpoint(self, request: Request) -> Response:
        p = request.path_params
        if p["version"] not in API_VERSIONS:
            return html_404(request.url.path)
        rec = self._record(request, None)
        resp = self._authenticate(request, rec) or self._endpoint_resource(request)
        rec.status = resp.status_code
        return resp

    def _endpoint_resource(self, request: Request) -> Response:
        p = request.path_params
        cfg = self.state.config
        endpoint = p["endpoint"]
        name = f"projects/{cfg.project_number}/locations/{p['location']}/endpoints/{endpoint}"
        if cfg.check_project and p["project"] not in (cfg.project, cfg.project_number):
            return google_error(
                403,
                f"Permission 'aiplatform.endpoints.get' denied on resource "
                f"'//aiplatform.googleapis.com/{name}' (or it may not exist).",
            )
        served = cfg.self_deployed_endpoints.get(endpoint)
        if served is None and endpoint not in cfg.dedicated_endpoints:
            return google_error(404, f"Endpoint `{name}` not found.", "NOT_FOUND")
        served = served or "emulated-model"
        resource: dict[str, Any] = {
            "createTime": "2025-01-01T00:00:00.000000Z",
            "deployedModels": [
                {
                    "createTime": "2025-01-01T00:00:00.000000Z",
                    "dedicatedResources": {
                        "machineSpec": {"machineType": "g2-standard-12"},
                        "maxReplicaCount": 1,
                        "minReplicaCount": 1,
                    },
                    "displayName": served,
                    "id": "1" + endpoint[-8:].replace("-", "0") if endpoint else "1",
                    "model": f"projects/{cfg.project_number}/locations/{p['location']}/models/"
                    f"{served.replace('/', '-')}",
                }
            ],
            "displayName": f"{served.split('/')[-1]}-endpoint",
            "etag": "AMEw9yN" + endpoint[-6:],
            "name": name,
            "trafficSplit": {},
            "updateTime": "2025-01-01T00:00:00.000000Z",
        }
        if endpoint in cfg.dedicated_endpoints:
            resource["dedicatedEndpointEnabled"] = True
            resource["dedicatedEndpointDns"] = self.dedicated_dns(endpoint)
        return json_response(resource)

    # -- POST chat/completions ---------------------------------------------------------------
    async def chat(self, request: Request) -> Response:
        p = request.path_params
        if p["version"] not in API_VERSIONS:
            return html_404(request.url.path)
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
            parse_error = True
        else:
            parse_error = False
        rec = self._record(request, body)
        resp = self._authenticate(request, rec) or self._route_checks(request)
        if resp is None:
            from vertex_openai.emulator._completion import handle_chat

            resp = await handle_chat(self.state, request, rec, body, parse_error)
        if rec.status is None:
            rec.status = resp.status_code
        return resp


def _redact_auth(value: str) -> str:
    if value.lower().startswith("bearer "):
        token = value[7:].strip()
        if token.startswith(TOKEN_PREFIX):
            return f"Bearer {REDACTED}({token_id_of(token)})"
        return f"Bearer {REDACTED}"
    return REDACTED
