"""OAuth2 token endpoint, IAM impersonation and GCE metadata server.

Real google-auth flows (service_account, authorized_user, compute_engine,
impersonated_credentials) work against these routes unpatched.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from vertex_openai.emulator._errors import google_error, unauthenticated_response
from vertex_openai.emulator._state import EmulatorState

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFRESH_GRANT = "refresh_token"
METADATA_FLAVOR = {"Metadata-Flavor": "Google"}
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
GOOGLE_TOKEN_AUDIENCES = (
    # google-auth always signs with Google's audience, whatever token_uri says.
    "https://oauth2.googleapis.com/token",
    "https://www.googleapis.com/oauth2/v4/token",
    "https://accounts.google.com/o/oauth2/token",
)


class KeyMaterial:
    """The emulator's service-account RSA key, generated lazily (first use)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: rsa.RSAPrivateKey | None = None
        self.private_key_id = secrets.token_hex(20)
        self.client_id = str(100000000000000000000 + secrets.randbelow(10**20))

    @property
    def key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._key is None:
                self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._key

    def private_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def verify_rs256(self, signing_input: bytes, signature: bytes) -> bool:
        try:
            self.key.public_key().verify(
                signature, signing_input, padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return False
        return True


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _oauth_error(error: str, description: str, status: int = 400, **extra: str) -> JSONResponse:
    body = {"error": error, "error_description": description, **extra}
    return JSONResponse(body, status_code=status)


def _outage_response() -> JSONResponse:
    return _oauth_error("temporarily_unavailable", "The service is currently unavailable.", 503)


class OAuthRoutes:
    def __init__(self, state: EmulatorState, keys: KeyMaterial) -> None:
        self.state = state
        self.keys = keys

    @property
    def token_uri(self) -> str:
        return f"http://127.0.0.1:{self.state.port}/token"

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/token", self.token, methods=["POST"]),
            Route("/oauth2/v4/token", self.token, methods=["POST"]),
            Route(
                "/v1/projects/-/serviceAccounts/{sa}:generateAccessToken",
                self.generate_access_token,
                methods=["POST"],
            ),
            Route("/", self.metadata_ping, methods=["GET"]),
            Route("/computeMetadata/v1/{path:path}", self.metadata, methods=["GET"]),
        ]

    # -- /token ----------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        if self.state.take_token_outage():
            return _outage_response()
        raw = (await request.body()).decode("utf-8", "replace")
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                loaded = json.loads(raw)
            except ValueError:
                return _oauth_error("invalid_request", "Invalid JSON payload.")
            form = {str(k): str(v) for k, v in dict(loaded).items()}
        else:
            form = {k: v[0] for k, v in parse_qs(raw).items()}
        grant = form.get("grant_type", "")
        if grant == JWT_GRANT:
            return self._jwt_grant(form.get("assertion", ""))
        if grant == REFRESH_GRANT:
            return self._refresh_grant(form)
        return _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _jwt_grant(self, assertion: str) -> Response:
        parts = assertion.split(".")
        if len(parts) != 3:
            return _oauth_error("invalid_grant", "Invalid JWT: Malformed token.")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except (ValueError, UnicodeDecodeError):
            return _oauth_error("invalid_grant", "Invalid JWT: Malformed token.")
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return _oauth_error("invalid_grant", "Invalid JWT: Malformed token.")
        if header.get("alg") != "RS256":
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        signing_input = f"{parts[0]}.{parts[1]}".encode()
        if not self.keys.verify_rs256(signing_input, signature):
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        if claims.get("iss") != self.state.config.sa_email:
            return _oauth_error("invalid_grant", "Invalid grant: account not found")
        if claims.get("aud") not in (self.token_uri, *GOOGLE_TOKEN_AUDIENCES):
            return _oauth_error(
                "invalid_grant",
                "Invalid JWT: Failed audience check. The right audience is " + self.token_uri,
            )
        now = time.time()
        iat = float(claims.get("iat", 0))
        exp = float(claims.get("exp", 0))
        if exp < now - 30 or iat > now + 300 or exp - iat > 3600 + 60:
            return _oauth_error(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                "reasonable timeframe. Check your iat and exp values in the JWT claim.",
            )
        token, life = self.state.issue_token("jwt-bearer")
        return JSONResponse(
            {"access_token": token, "expires_in": int(life), "token_type": "Bearer"}
        )

    def _refresh_grant(self, form: dict[str, str]) -> Response:
        st = self.state
        if form.get("client_id") != st.client_id or form.get("client_secret") != st.client_secret:
            return _oauth_error("invalid_client", "The OAuth client was not found.", 401)
        if form.get("refresh_token") != st.refresh_token:
            return _oauth_error("invalid_grant", "Bad Request")
        if st.refresh_token_revoked:
            return _oauth_error(
                "invalid_grant",
                "reauth related error (invalid_rapt)",
                error_uri="https://support.google.com/a/answer/9368756",
                error_subtype="invalid_rapt",
            )
        token, life = st.issue_token("refresh_token")
        return JSONResponse(
            {
                "access_token": token,
                "expires_in": int(life),
                "scope": form.get("scope") or CLOUD_PLATFORM,
                "token_type": "Bearer",
            }
        )

    # -- IAM impersonation -------------------------------------------------------
    async def generate_access_token(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        rec, _reason = self.state.check_token(token)
        if rec is None:
            return unauthenticated_response(
                "google.iam.credentials.v1.IAMCredentials.GenerateAccessToken",
                "iamcredentials.googleapis.com",
            )
        try:
            body: Any = json.loads(await request.body() or b"{}")
        except ValueError:
            body = {}
        lifetime = self.state.config.token_lifetime
        requested = str(body.get("lifetime", "") if isinstance(body, dict) else "")
        if requested.endswith("s"):
            try:
                lifetime = min(lifetime, float(requested[:-1]))
            except ValueError:
                return google_error(400, "Invalid value for lifetime.", "INVALID_ARGUMENT")
        new, life = self.state.issue_token("impersonation", lifetime)
        expire = datetime.fromtimestamp(time.time() + life, tz=timezone.utc)
        return JSONResponse(
            {"accessToken": new, "expireTime": expire.strftime("%Y-%m-%dT%H:%M:%SZ")}
        )

    # -- GCE metadata ------------------------------------------------------------
    async def metadata_ping(self, request: Request) -> Response:
        return PlainTextResponse("computeMetadata/\n", headers=METADATA_FLAVOR)

    async def metadata(self, request: Request) -> Response:
        if request.headers.get("metadata-flavor") != "Google":
            return Response(
                "Missing required header: Metadata-Flavor\n",
                status_code=403,
                media_type="text/html",
                headers=METADATA_FLAVOR,
            )
        if request.headers.get("x-forwarded-for"):
            return Response("Forbidden\n", 403, media_type="text/html", headers=METADATA_FLAVOR)
        path = request.path_params["path"].rstrip("/")
        recursive = request.query_params.get("recursive", "").lower() == "true"
        cfg = self.state.config
        email = cfg.sa_email
        sa_prefix = "instance/service-accounts/"
        text_values = {
            "project/project-id": cfg.project,
            "project/numeric-project-id": cfg.project_number,
            "instance/id": "4520031799277581759",
            "instance/zone": f"projects/{cfg.project_number}/zones/us-central1-a",
            "instance/hostname": "emulator.c.internal",
            "universe/universe-domain": "googleapis.com",
            "universe/universe_domain": "googleapis.com",
        }
        if path in text_values:
            return PlainTextResponse(text_values[path], headers=METADATA_FLAVOR)
        if path.startswith(sa_prefix):
            rest = path[len(sa_prefix) :]
            account, _, leaf = rest.partition("/")
            if account not in ("default", email):
                return self._metadata_404()
            info = {
                "aliases": ["default"],
                "email": email,
                "scopes": [CLOUD_PLATFORM],
            }
            if leaf == "" and recursive:
                return JSONResponse(info, headers=METADATA_FLAVOR)
            if leaf == "":
                return PlainTextResponse(
                    "aliases\nemail\nidentity\nscopes\ntoken\n", headers=METADATA_FLAVOR
                )
            if leaf == "email":
                return PlainTextResponse(email, headers=METADATA_FLAVOR)
            if leaf == "scopes":
                return PlainTextResponse(CLOUD_PLATFORM + "\n", headers=METADATA_FLAVOR)
            if leaf == "token":
                if self.state.take_token_outage():
                    return Response("Service Unavailable\n", 503, headers=METADATA_FLAVOR)
                token, life = self.state.issue_token("metadata")
                return JSONResponse(
                    {"access_token": token, "expires_in": int(life), "token_type": "Bearer"},
                    headers=METADATA_FLAVOR,
                )
        if path == "" and recursive:
            return JSONResponse({"project": {"projectId": cfg.project}}, headers=METADATA_FLAVOR)
        return self._metadata_404()

    @staticmethod
    def _metadata_404() -> Response:
        return Response(
            "Not Found\n", status_code=404, media_type="text/html", headers=METADATA_FLAVOR
        )
