"""Token endpoints that stall, drip, answer HTML or fail, and workload identity federation.

Real google-auth flows against small local servers (tests/reliability/fault_servers.py)
and the emulator; nothing is patched. Each test is bounded by the model's own timeout.
"""

from __future__ import annotations

import json
import pathlib
import time
from typing import Any

import httpx
import pytest
from fault_servers import LocalServer, json_body, token_server
from rel_support import ANSWER, PROMPT, chat_requests, lc_model, li_messages, li_model

from vertex_openai import VertexAuthError
from vertex_openai.emulator import Emulator


def _sa_file(emu: Emulator, tmp_path: pathlib.Path, token_uri: str) -> pathlib.Path:
    info = emu.service_account_info()
    info["token_uri"] = token_uri
    path = tmp_path / "sa-faulty.json"
    path.write_text(json.dumps(info))
    return path


def _call(framework: str, model: Any) -> Any:
    if framework == "langchain":
        return model.invoke(PROMPT)
    return model.chat(li_messages())


FRAMEWORKS = ["langchain", "llama_index"]


def _model(framework: str, emu: Emulator, sa: pathlib.Path, **kw: Any) -> Any:
    return (lc_model if framework == "langchain" else li_model)(emu, sa, **kw)


# -- item 5: the user's timeout bounds a refresh ----------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("behaviour", ["stall", "drip"])
def test_refresh_is_bounded_by_the_model_timeout(
    emulator: Emulator, tmp_path: pathlib.Path, framework: str, behaviour: str
) -> None:
    # stall: headers, then nothing for 60 s; drip: one byte every 0.5 s (a per-read
    # timeout never fires). google-auth alone waits 120 s per attempt here.
    params = {"seconds": 60} if behaviour == "stall" else {"every": 0.5}
    with token_server(behaviour, **params) as server:
        sa = _sa_file(emulator, tmp_path, f"{server.url}/token")
        model = _model(framework, emulator, sa, timeout=2, max_retries=0)
        started = time.monotonic()
        with pytest.raises(VertexAuthError) as info:
            _call(framework, model)
        elapsed = time.monotonic() - started
    text = str(info.value)
    assert "Timed out after 2 s" in text
    assert server.url in text  # which endpoint timed out
    assert "sa-faulty.json" in text  # which credentials
    # 2 s budget; a generous multiple for a loaded machine, far below google-auth's 120 s
    assert elapsed < 20, elapsed
    assert chat_requests(emulator) == []


# -- item 10: a 200 with HTML is a VertexAuthError, not retried -------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_token_endpoint_html_200_is_an_auth_error(
    emulator: Emulator, tmp_path: pathlib.Path, framework: str
) -> None:
    with token_server("html") as server:
        sa = _sa_file(emulator, tmp_path, f"{server.url}/token")
        model = _model(framework, emulator, sa, max_retries=2)
        with pytest.raises(VertexAuthError) as info:
            _call(framework, model)
        assert len(server.requests) == 1  # not retried by the SDK (max_retries=2)
    text = str(info.value)
    assert "answered 200 with text/html" in text
    assert "Sign in to the network" in text  # the first bytes, to recognise the portal
    assert "Connection error" not in text
    assert chat_requests(emulator) == []


# -- item 12: hints that fit the credential kind and the status -------------------------


def test_token_endpoint_500_for_a_service_account_is_called_transient(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    with token_server("status", status=500) as server:
        sa = _sa_file(emulator, tmp_path, f"{server.url}/token")
        model = lc_model(emulator, sa, max_retries=0, timeout=20)
        with pytest.raises(VertexAuthError) as info:
            model.invoke(PROMPT)
    text = str(info.value)
    assert "500" in text
    assert "temporary" in text
    assert "application-default login" not in text  # wrong for a service account


def test_rejected_service_account_key_hint(emulator: Emulator, tmp_path: pathlib.Path) -> None:
    body = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    with token_server("status", status=400, body=body) as server:
        sa = _sa_file(emulator, tmp_path, f"{server.url}/token")
        model = lc_model(emulator, sa, max_retries=0)
        with pytest.raises(VertexAuthError) as info:
            model.invoke(PROMPT)
    text = str(info.value)
    assert "service-account key was rejected" in text
    assert "keys create" in text
    assert "application-default login" not in text


def test_rejected_user_session_hint(emulator: Emulator, tmp_path: pathlib.Path) -> None:
    emulator.revoke_refresh_token()
    path = emulator.write_authorized_user_file(tmp_path / "adc.json")
    model = lc_model(emulator, path, max_retries=0)
    with pytest.raises(VertexAuthError) as info:
        model.invoke(PROMPT)
    assert "gcloud auth application-default login" in str(info.value)


# -- item 7: workload identity federation with an unreachable Cloud Resource Manager ----


@pytest.fixture
def wif_file(emulator: Emulator, tmp_path: pathlib.Path) -> Any:
    """An external_account file whose STS is a local server minting emulator tokens."""
    subject = tmp_path / "subject.jwt"
    subject.write_text("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")

    def sts(req: Any) -> tuple[int, dict[str, str], bytes]:
        minted = httpx.post(f"{emulator.url}/_emulator/token", json={}).json()
        return (
            200,
            {"content-type": "application/json"},
            json_body(
                {
                    "access_token": minted["access_token"],
                    "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }
            ),
        )

    with LocalServer(sts) as server:
        info = {
            "type": "external_account",
            "audience": "//iam.googleapis.com/projects/123456789012/locations/global/"
            "workloadIdentityPools/pool/providers/provider",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": f"{server.url}/v1/token",
            "credential_source": {"file": str(subject)},
        }
        path = tmp_path / "wif.json"
        path.write_text(json.dumps(info))
        yield path, server


@pytest.fixture
def crm_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every https:// request goes through a proxy on a closed local port: Cloud Resource
    # Manager (https://cloudresourcemanager.googleapis.com) is unreachable, locally.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_workload_identity_with_project_needs_no_project_lookup(
    emulator: Emulator, wif_file: Any, crm_unreachable: None, framework: str
) -> None:
    path, sts = wif_file
    # The local STS is not Google's: the explicit opt-in (issue 22).
    model = _model(framework, emulator, path, allow_non_google_token_urls=True)
    result = _call(framework, model)
    text = result.text if framework == "langchain" else result.message.content
    assert text == ANSWER
    assert len(sts.requests) == 1  # one token exchange, made for the request itself
    assert chat_requests(emulator)[0].auth_kind == "bearer"


def test_workload_identity_without_project_names_the_unreachable_host(
    emulator: Emulator, wif_file: Any, crm_unreachable: None
) -> None:
    path, _ = wif_file
    model = lc_model(emulator, path, project=None, allow_non_google_token_urls=True)
    with pytest.raises(VertexAuthError) as info:
        model.invoke(PROMPT)
    text = str(info.value)
    assert "Network failure" in text
    assert "cloudresourcemanager.googleapis.com" in text
    assert "malformed" not in text
    assert "project=" in text
    assert chat_requests(emulator) == []
