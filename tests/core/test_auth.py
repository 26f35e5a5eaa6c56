"""Self-refreshing Google auth, over real HTTP, against the emulator's OAuth side.

Every test drives the real google-auth refresh flows and the real openai SDK; nothing is
patched.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pathlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import google.auth.compute_engine._metadata as gce_metadata
import openai
import pytest
from google.oauth2 import credentials as user_credentials

from vertex_openai import VertexAuthError, VertexConfigError, VertexConnection
from vertex_openai.emulator import Emulator, EmulatorConfig

MODEL = "google/gemini-2.5-flash"
MESSAGES = [{"role": "user", "content": "Say hello"}]


def connect(emu: Emulator, **kwargs: Any) -> VertexConnection:
    kwargs.setdefault("project", emu.project)
    kwargs.setdefault("location", "us-central1")
    return VertexConnection(api_endpoint=emu.url, **kwargs)


def ask(conn: VertexConnection, **kwargs: Any) -> str:
    client = conn.openai_client(max_retries=0)
    result = client.chat.completions.create(model=MODEL, messages=MESSAGES, **kwargs)
    return result.choices[0].message.content or ""


@pytest.fixture(scope="module")
def short_lived() -> Any:
    emu = Emulator(EmulatorConfig(token_lifetime=2.0))
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def fast_emulator(short_lived: Emulator) -> Emulator:
    short_lived.reset()
    short_lived.restore_config()
    return short_lived


# -- credential kinds ---------------------------------------------------------------


def test_service_account_file_refreshes_and_signs(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    conn = connect(emulator, credentials=str(sa_file))
    assert ask(conn)
    recorded = emulator.requests[-1]
    assert recorded.auth_kind == "bearer"
    assert recorded.path.endswith("/locations/us-central1/endpoints/openapi/chat/completions")
    assert emulator.token_grants.get("jwt-bearer") == 1


def test_service_account_dict(emulator: Emulator) -> None:
    conn = connect(emulator, credentials=emulator.service_account_info())
    assert ask(conn)
    assert emulator.token_grants.get("jwt-bearer") == 1


def test_authorized_user_file_honours_its_token_uri(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    path = emulator.write_authorized_user_file(tmp_path / "adc.json")
    conn = connect(emulator, credentials=str(path))
    assert ask(conn)
    assert emulator.token_grants.get("refresh_token") == 1
    # The authorized-user file names a quota project: it is billed via x-goog-user-project.
    assert emulator.requests[-1].headers.get("x-goog-user-project") == emulator.project


def test_adc_from_google_application_credentials(
    emulator: Emulator, sa_file: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(sa_file))
    # No project anywhere but in the key file: learned lazily, on the first request.
    conn = VertexConnection(api_endpoint=emulator.url, location="global")
    assert "-vertex-openai-project-" in conn.base_url
    assert ask(conn)
    assert f"/projects/{emulator.project}/locations/global/" in emulator.requests[-1].path
    assert conn.endpoint.project == emulator.project


def test_metadata_server_credentials(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # GCE_METADATA_HOST is read at import time by google-auth; GCE_METADATA_IP at call time.
    monkeypatch.setattr(gce_metadata, "_GCE_METADATA_HOST", emulator.metadata_host)
    monkeypatch.setenv("GCE_METADATA_IP", emulator.metadata_host)
    conn = VertexConnection(api_endpoint=emulator.url, location="us-central1")
    assert ask(conn)
    assert emulator.token_grants.get("metadata") == 1
    assert f"/projects/{emulator.project}/" in emulator.requests[-1].path


def test_explicit_credentials_object(emulator: Emulator) -> None:
    info = emulator.authorized_user_info()
    creds = user_credentials.Credentials(
        token=None,
        refresh_token=info["refresh_token"],
        token_uri=emulator.token_uri,
        client_id=info["client_id"],
        client_secret=info["client_secret"],
    )
    conn = connect(emulator, credentials=creds)
    assert ask(conn)
    assert creds.token is not None
    assert emulator.token_grants.get("refresh_token") == 1


def test_construction_does_no_io(emulator: Emulator) -> None:
    # A missing file is only read on the first request.
    conn = connect(emulator, credentials="/nonexistent/key.json")
    assert emulator.requests == []
    with pytest.raises(
        VertexAuthError, match=r"Cannot read credentials file /nonexistent/key\.json"
    ):
        ask(conn)
    assert emulator.requests == []


# -- bad input ----------------------------------------------------------------------


def test_no_project_anywhere(emulator: Emulator) -> None:
    creds = user_credentials.Credentials(token=emulator.issue_token())  # no project
    conn = VertexConnection(api_endpoint=emulator.url, credentials=creds)
    with pytest.raises(VertexConfigError, match=r"pass `project=` or set GOOGLE_CLOUD_PROJECT"):
        ask(conn)
    assert emulator.requests == []


def test_malformed_credentials_file(emulator: Emulator, tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(VertexAuthError, match="not valid JSON"):
        ask(connect(emulator, credentials=str(bad)))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"type": "service_account", "client_email": "x@y"}))
    with pytest.raises(VertexAuthError, match="malformed") as info:
        ask(connect(emulator, credentials=str(wrong)))
    assert "gcloud" in str(info.value)


def test_no_adc_says_how_to_fix(emulator: Emulator) -> None:
    conn = connect(emulator)
    with pytest.raises(VertexAuthError, match="gcloud auth application-default login"):
        ask(conn)


def test_refresh_failure_names_the_credentials(emulator: Emulator, tmp_path: pathlib.Path) -> None:
    path = emulator.write_authorized_user_file(tmp_path / "adc.json")
    emulator.revoke_refresh_token()
    with pytest.raises(VertexAuthError) as info:
        ask(connect(emulator, credentials=str(path)))
    message = str(info.value)
    assert str(path) in message
    assert "gcloud auth application-default login" in message
    assert emulator.requests == []


def test_reauth_rereads_adc_from_disk_once(
    emulator: Emulator, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = emulator.write_authorized_user_file(tmp_path / "adc.json")
    good = path.read_text()
    stale = json.loads(good)
    stale["refresh_token"] = "revoked-by-reauth"
    path.write_text(json.dumps(stale))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    conn = connect(emulator)
    assert conn.token_provider is not None
    conn.token_provider.source.load()  # the stale file is loaded first
    path.write_text(good)  # the user re-ran `gcloud auth application-default login`
    assert ask(conn)


def test_express_key_with_credentials_is_rejected() -> None:
    with pytest.raises(VertexConfigError, match="either `api_key`.*or `credentials`"):
        VertexConnection(project="p", api_key="AQ.key", credentials="/x.json")


# -- express mode -------------------------------------------------------------------


def test_express_key_goes_in_query_without_bearer(emulator: Emulator) -> None:
    conn = connect(emulator, api_key=emulator.api_key)
    assert ask(conn)
    recorded = emulator.requests[-1]
    assert recorded.auth_kind == "api_key"
    assert "authorization" not in {k.lower() for k in recorded.headers}
    assert emulator.api_key not in repr(conn)


def test_express_key_never_in_errors_or_logs(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.inject_fault("rate_limit", count=1)
    conn = connect(emulator, api_key=emulator.api_key)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(openai.RateLimitError) as info:
        ask(conn)
    err = info.value
    texts = [str(err), repr(err), str(err.response.request.url), caplog.text]
    cause = err.__cause__ or err.__context__
    if cause is not None:
        texts.append(str(cause))
    for text in texts:
        assert emulator.api_key not in text


# -- headers ------------------------------------------------------------------------


def test_openai_env_never_reaches_google(
    emulator: Emulator, sa_file: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.com/v1")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-leak")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-leak")
    conn = connect(emulator, credentials=str(sa_file), quota_project="billing-proj")
    assert ask(conn)
    headers = {k.lower(): v for k, v in emulator.requests[-1].headers.items()}
    assert "openai-organization" not in headers
    assert "openai-project" not in headers
    assert "sk-should-not-leak" not in json.dumps(headers)
    assert headers["x-goog-user-project"] == "billing-proj"
    assert emulator.requests[-1].host.startswith("127.0.0.1")


def test_untrusted_host_never_gets_a_token(emulator: Emulator, sa_file: pathlib.Path) -> None:
    conn = connect(emulator, credentials=str(sa_file))
    client = conn.openai_client(max_retries=0)
    with pytest.raises(VertexConfigError, match="Refusing to send Google credentials"):
        client.with_options(base_url="http://example.invalid/v1").chat.completions.create(
            model=MODEL, messages=MESSAGES
        )


# -- expiry, concurrency and 401s ----------------------------------------------------


def test_short_lived_tokens_sequential(fast_emulator: Emulator, tmp_path: pathlib.Path) -> None:
    sa = fast_emulator.write_service_account_file(tmp_path / "sa.json")
    conn = connect(fast_emulator, credentials=str(sa))
    client = conn.openai_client(max_retries=0)
    import time

    started = time.monotonic()
    for _ in range(200):
        client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=4)
    elapsed = time.monotonic() - started
    recorded = fast_emulator.requests
    assert len(recorded) == 200
    assert all(r.status == 200 for r in recorded)
    # Refreshed at half of each 2 s lifetime: about one refresh a second, never per request.
    assert 1 <= fast_emulator.token_grants["jwt-bearer"] <= elapsed / 0.9 + 2
    assert min(r.token_remaining_s or 0 for r in recorded) > 0


def test_short_lived_tokens_threads(fast_emulator: Emulator, tmp_path: pathlib.Path) -> None:
    sa = fast_emulator.write_service_account_file(tmp_path / "sa.json")
    conn = connect(fast_emulator, credentials=str(sa))
    client = conn.openai_client(max_retries=0)

    def one(_: int) -> str:
        out = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=4)
        return out.choices[0].message.content or ""

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(200)))
    assert all(results)
    statuses = [r.status for r in fast_emulator.requests]
    assert statuses.count(200) == 200
    assert statuses.count(401) <= 10  # arrived expired after a long stay in flight; resent
    assert fast_emulator.token_grants["jwt-bearer"] <= 12


def test_short_lived_tokens_asyncio(fast_emulator: Emulator, tmp_path: pathlib.Path) -> None:
    sa = fast_emulator.write_service_account_file(tmp_path / "sa.json")
    conn = connect(fast_emulator, credentials=str(sa))

    async def main() -> list[str]:
        client = conn.async_openai_client(max_retries=0)
        sem = asyncio.Semaphore(50)

        async def one() -> str:
            async with sem:
                out = await client.chat.completions.create(
                    model=MODEL, messages=MESSAGES, max_tokens=4
                )
                return out.choices[0].message.content or ""

        return await asyncio.gather(*(one() for _ in range(200)))

    started = time.monotonic()
    assert all(asyncio.run(main()))  # every call succeeded, however slow the machine
    elapsed = time.monotonic() - started
    statuses = [r.status for r in fast_emulator.requests]
    late = statuses.count(401)
    # What the code promises, not how fast the machine is: each call ends in one 200; a
    # request that arrives with an expired token is resent at most twice; a refresh is
    # either due (half a token's 2 s life) or caused by a 401, never one per request.
    assert statuses.count(200) == 200
    assert set(statuses) <= {200, 401}
    assert late <= 2 * 200
    grants = fast_emulator.token_grants["jwt-bearer"]
    assert grants <= elapsed / 1.0 + 2 + late, (grants, elapsed, late)


def test_401_storm_causes_exactly_one_refresh(emulator: Emulator, sa_file: pathlib.Path) -> None:
    conn = connect(emulator, credentials=str(sa_file))
    assert ask(conn)
    emulator.reset()
    emulator.revoke_all_tokens()

    async def main() -> list[str]:
        client = conn.async_openai_client(max_retries=0)
        outs = await asyncio.gather(
            *(client.chat.completions.create(model=MODEL, messages=MESSAGES) for _ in range(100))
        )
        return [o.choices[0].message.content or "" for o in outs]

    assert all(asyncio.run(main()))
    assert emulator.token_grants.get("jwt-bearer") == 1
    statuses = [r.status for r in emulator.requests]
    # Requests signed before the refresh got a 401 and one resend; on a busy machine
    # some are signed only after it (how many is the machine's speed, not behaviour).
    assert statuses.count(200) == 100
    assert 1 <= statuses.count(401) <= 100
    assert set(statuses) == {200, 401}


def test_401_storm_threads(emulator: Emulator, sa_file: pathlib.Path) -> None:
    conn = connect(emulator, credentials=str(sa_file))
    client = conn.openai_client(max_retries=0)
    assert ask(conn)
    emulator.reset()
    emulator.revoke_all_tokens()
    barrier = threading.Barrier(20)

    def one(_: int) -> str:
        barrier.wait()
        out = client.chat.completions.create(model=MODEL, messages=MESSAGES)
        return out.choices[0].message.content or ""

    with ThreadPoolExecutor(20) as pool:
        assert all(pool.map(one, range(20)))
    assert emulator.token_grants.get("jwt-bearer") == 1


def test_streaming_survives_a_401(emulator: Emulator, sa_file: pathlib.Path) -> None:
    conn = connect(emulator, credentials=str(sa_file))
    assert ask(conn)
    emulator.revoke_all_tokens()
    client = conn.openai_client(max_retries=0)
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    text = "".join((c.choices[0].delta.content or "") for c in stream if c.choices)
    assert text
    assert [r.status for r in emulator.requests][-2:] == [401, 200]


def test_token_endpoint_outage_then_recovery(emulator: Emulator, sa_file: pathlib.Path) -> None:
    conn = connect(emulator, credentials=str(sa_file))
    emulator.inject_fault("token_outage", count=50)
    with pytest.raises(VertexAuthError) as info:
        ask(conn)
    assert str(sa_file) in str(info.value)
    attempts = emulator.stats().get("token_requests", None)
    emulator.reset()
    assert ask(conn)
    if attempts is not None:
        assert attempts <= 5


# -- dedicated endpoints ------------------------------------------------------------


def test_dedicated_endpoint_learned_from_the_400(emulator: Emulator, sa_file: pathlib.Path) -> None:
    endpoint_id = next(iter(emulator.config.dedicated_endpoints))
    conn = connect(emulator, credentials=str(sa_file), endpoint_id=endpoint_id)
    client = conn.openai_client(max_retries=0)
    out = client.chat.completions.create(model="", messages=MESSAGES)
    assert out.choices[0].message.content
    first, second = emulator.requests[-2:]
    assert first.status == 400
    assert second.status == 200
    assert second.host.startswith("localhost")
    assert conn.endpoint.dedicated_endpoint_dns == f"http://localhost:{emulator.port}"
    # Remembered: the next request goes straight to the dedicated host.
    emulator.reset()
    client.chat.completions.create(model="", messages=MESSAGES)
    assert [r.status for r in emulator.requests] == [200]


def test_dedicated_endpoint_explicit(emulator: Emulator, sa_file: pathlib.Path) -> None:
    endpoint_id = next(iter(emulator.config.dedicated_endpoints))
    conn = connect(
        emulator,
        credentials=str(sa_file),
        endpoint_id=endpoint_id,
        dedicated_endpoint_dns=f"http://localhost:{emulator.port}",
    )
    assert conn.openai_client(max_retries=0).chat.completions.create(model="", messages=MESSAGES)
    assert [r.status for r in emulator.requests] == [200]


def test_pickled_connection_holds_no_secret(emulator: Emulator, sa_file: pathlib.Path) -> None:
    import pickle

    conn = connect(emulator, credentials=emulator.service_account_info())
    assert ask(conn)
    assert conn.token_provider is not None
    token = conn.token_provider.token()
    blob = pickle.dumps(conn.token_provider)
    assert token.encode() not in blob
    assert b"PRIVATE KEY" not in blob


def test_static_token_credentials_are_used_as_they_are(emulator: Emulator) -> None:
    import datetime

    token = emulator.issue_token(lifetime=3600)
    expiry = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(
        hours=1
    )
    creds = user_credentials.Credentials(token=token, expiry=expiry)  # cannot refresh
    conn = connect(emulator, credentials=creds)
    assert ask(conn)
    assert emulator.token_grants.get("refresh_token", 0) == 0
    # Once revoked, the 401 path tries to refresh and says why it cannot.
    emulator.revoke_all_tokens()
    with pytest.raises(VertexAuthError, match="Could not refresh"):
        ask(conn)


def test_unpickled_provider_refreshes_again(emulator: Emulator, sa_file: pathlib.Path) -> None:
    import pickle

    conn = connect(emulator, credentials=str(sa_file))
    assert ask(conn)
    assert conn.token_provider is not None
    copy = pickle.loads(pickle.dumps(conn.token_provider))

    async def main() -> str:
        return await copy.atoken()

    assert asyncio.run(main())
    assert emulator.token_grants.get("jwt-bearer") == 2
