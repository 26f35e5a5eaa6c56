"""Real google-auth flows against the emulator's token endpoint and metadata server."""

from __future__ import annotations

import json
import time

import google.auth.transport.requests
import httpx
import pytest
from google.auth import compute_engine, exceptions, impersonated_credentials
from google.auth.compute_engine import _metadata
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from vertex_openai.emulator import Emulator

SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def _chat_ok(emu: Emulator, token: str) -> int:
    """Status of an authenticated GET on a Vertex route (the endpoint resource)."""
    url = f"{emu.url}/v1/projects/{emu.project}/locations/global/endpoints/1234567890"
    return httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code


def test_service_account_refresh(emulator: Emulator, sa_file) -> None:
    creds = service_account.Credentials.from_service_account_file(str(sa_file), scopes=[SCOPE])
    creds.refresh(google.auth.transport.requests.Request())
    assert creds.valid
    assert creds.token
    assert emulator.token_grants["jwt-bearer"] == 1
    assert emulator.token_refresh_count == 1
    assert _chat_ok(emulator, creds.token) == 200


def test_service_account_lifetime_is_configurable(emulator: Emulator, sa_file) -> None:
    emulator.config.token_lifetime = 2
    creds = service_account.Credentials.from_service_account_file(str(sa_file), scopes=[SCOPE])
    creds.refresh(google.auth.transport.requests.Request())
    assert creds.expiry is not None
    # google-auth subtracts its refresh threshold; the token itself dies after 2 s.
    time.sleep(2.1)
    assert _chat_ok(emulator, creds.token) == 401


def test_service_account_wrong_key_rejected(emulator: Emulator, sa_file, tmp_path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info = json.loads(sa_file.read_text())
    info["private_key"] = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    creds = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
    with pytest.raises(exceptions.RefreshError, match="invalid_grant: Invalid JWT Signature"):
        creds.refresh(google.auth.transport.requests.Request())


def test_token_endpoint_checks_audience_and_issuer(emulator: Emulator) -> None:
    from google.auth import crypt, jwt

    info = emulator.service_account_info()
    signer = crypt.RSASigner.from_service_account_info(info)
    now = int(time.time())
    claims = {"iss": info["client_email"], "scope": SCOPE, "iat": now, "exp": now + 3600}
    for extra, fragment in (
        ({"aud": "https://evil.example/token"}, "audience"),
        ({"aud": emulator.token_uri, "iss": "x@y"}, "account not found"),
        ({"aud": emulator.token_uri}, None),
    ):
        assertion = jwt.encode(signer, {**claims, **extra}).decode()
        r = httpx.post(
            emulator.token_uri,
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
            },
        )
        if fragment is None:
            assert r.status_code == 200
            assert r.json()["token_type"] == "Bearer"
        else:
            assert r.status_code == 400
            assert r.json()["error"] == "invalid_grant"
            assert fragment in r.json()["error_description"]


def test_authorized_user_refresh_and_reauth(emulator: Emulator) -> None:
    info = emulator.authorized_user_info()
    creds = user_credentials.Credentials(
        token=None,
        refresh_token=info["refresh_token"],
        token_uri=emulator.token_uri,
        client_id=info["client_id"],
        client_secret=info["client_secret"],
    )
    creds.refresh(google.auth.transport.requests.Request())
    assert creds.valid
    assert emulator.token_grants["refresh_token"] == 1
    assert _chat_ok(emulator, creds.token) == 200

    emulator.revoke_refresh_token()
    with pytest.raises(exceptions.RefreshError, match="Reauthentication is needed"):
        creds.refresh(google.auth.transport.requests.Request())
    emulator.restore_refresh_token()
    creds.refresh(google.auth.transport.requests.Request())
    assert creds.valid


def test_authorized_user_bad_secret(emulator: Emulator) -> None:
    info = emulator.authorized_user_info()
    creds = user_credentials.Credentials(
        token=None,
        refresh_token=info["refresh_token"],
        token_uri=emulator.token_uri,
        client_id=info["client_id"],
        client_secret="nope",
    )
    with pytest.raises(exceptions.RefreshError, match="invalid_client"):
        creds.refresh(google.auth.transport.requests.Request())


def test_metadata_server_credentials(emulator: Emulator, monkeypatch) -> None:
    monkeypatch.setattr(_metadata, "_GCE_METADATA_HOST", emulator.metadata_host)
    monkeypatch.setenv("GCE_METADATA_IP", emulator.metadata_host)
    request = google.auth.transport.requests.Request()
    assert _metadata.ping(request)
    assert _metadata.get_project_id(request) == emulator.project
    creds = compute_engine.Credentials()
    creds.refresh(request)
    assert creds.valid
    assert creds.service_account_email == emulator.config.sa_email
    assert emulator.token_grants["metadata"] == 1
    assert _chat_ok(emulator, creds.token) == 200


def test_metadata_flavor_rules(emulator: Emulator) -> None:
    base = f"{emulator.url}/computeMetadata/v1"
    r = httpx.get(f"{base}/project/project-id")
    assert r.status_code == 403
    r = httpx.get(f"{base}/project/project-id", headers={"Metadata-Flavor": "Google"})
    assert r.status_code == 200
    assert r.text == emulator.project
    assert r.headers["metadata-flavor"] == "Google"
    r = httpx.get(
        f"{base}/instance/service-accounts/default/",
        params={"recursive": "true"},
        headers={"Metadata-Flavor": "Google"},
    )
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["email"] == emulator.config.sa_email
    r = httpx.get(
        f"{base}/instance/service-accounts/default/email", headers={"Metadata-Flavor": "Google"}
    )
    assert r.text == emulator.config.sa_email


def test_impersonated_credentials(emulator: Emulator, sa_file) -> None:
    source = service_account.Credentials.from_service_account_file(str(sa_file), scopes=[SCOPE])
    target = "target@emulator-project.iam.gserviceaccount.com"
    creds = impersonated_credentials.Credentials(
        source_credentials=source,
        target_principal=target,
        target_scopes=[SCOPE],
        lifetime=600,
        iam_endpoint_override=(
            f"{emulator.url}/v1/projects/-/serviceAccounts/{target}:generateAccessToken"
        ),
    )
    creds.refresh(google.auth.transport.requests.Request())
    assert creds.valid
    assert emulator.token_grants == {
        "jwt-bearer": 1,
        "refresh_token": 0,
        "metadata": 0,
        "impersonation": 1,
    }
    assert _chat_ok(emulator, creds.token) == 200


def test_impersonation_requires_bearer(emulator: Emulator) -> None:
    r = httpx.post(f"{emulator.url}/v1/projects/-/serviceAccounts/x@y:generateAccessToken", json={})
    assert r.status_code == 401
    assert r.json()["error"]["status"] == "UNAUTHENTICATED"


def test_token_outage(emulator: Emulator, sa_file) -> None:
    emulator.inject_fault("token_outage", count=1)
    r = httpx.post(emulator.token_uri, data={"grant_type": "refresh_token"})
    assert r.status_code == 503
    # google-auth retries a 503 from the token endpoint and then succeeds.
    emulator.inject_fault("token_outage", count=1)
    creds = service_account.Credentials.from_service_account_file(str(sa_file), scopes=[SCOPE])
    creds.refresh(google.auth.transport.requests.Request())
    assert creds.valid
    assert emulator.stats()["token_outage_remaining"] == 0


def test_unknown_expired_revoked_tokens_get_plain_401(emulator: Emulator) -> None:
    for token in ("garbage", emulator.issue_token(lifetime=-1)):
        url = f"{emulator.url}/v1/projects/{emulator.project}/locations/global/endpoints/1234567890"
        r = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
        body = r.json()
        assert isinstance(body, dict)
        assert body["error"]["status"] == "UNAUTHENTICATED"
        assert body["error"]["message"].startswith("Request had invalid authentication")
    token = emulator.issue_token()
    assert _chat_ok(emulator, token) == 200
    assert emulator.revoke_all_tokens() >= 1
    assert _chat_ok(emulator, token) == 401


def test_admin_routes(emulator: Emulator) -> None:
    emulator.issue_token()
    r = httpx.get(f"{emulator.url}/_emulator/stats")
    assert r.json()["token_grants"]["jwt-bearer"] == 0
    r = httpx.post(f"{emulator.url}/_emulator/config", json={"token_lifetime": 5})
    assert r.json()["token_lifetime"] == 5
    assert emulator.config.token_lifetime == 5
    r = httpx.post(f"{emulator.url}/_emulator/faults", json={"kind": "429", "count": 2})
    assert r.json()["pending_faults"][0]["count"] == 2
    assert httpx.post(f"{emulator.url}/_emulator/faults", json={"kind": "x"}).status_code == 400
    r = httpx.post(f"{emulator.url}/_emulator/revoke")
    assert r.json()["revoked"] >= 1


def test_stop_is_quick_and_context_manager() -> None:
    with Emulator() as emu:
        assert httpx.get(emu.url + "/").status_code == 200
    t0 = time.monotonic()
    emu.stop()  # idempotent
    assert time.monotonic() - t0 < 1


def test_serve_prints_instructions(tmp_path) -> None:
    import subprocess
    import sys

    creds = tmp_path / "creds.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vertex_openai.emulator",
            "--port",
            "0",
            "--write-credentials",
            str(creds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        out = ""
        while "Ctrl-C" not in out:
            line = proc.stdout.readline()
            assert line, out
            out += line
        assert "GOOGLE_APPLICATION_CREDENTIALS" in out
        assert "api_endpoint" in out
        info = json.loads(creds.read_text())
        assert info["type"] == "service_account"
        assert info["token_uri"].startswith("http://127.0.0.1:")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
