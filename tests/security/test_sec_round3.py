"""Issue 22: hostile or broken input (manifests, credentials, ids with a trailing newline).

Both framework classes against the emulator over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from test_sec_round2 import FRAMEWORKS, _ask, _chat, _model

from vertex_openai import VertexConfigError
from vertex_openai._endpoint import validate_project
from vertex_openai._thoughts import validate_marker
from vertex_openai.emulator import Emulator

pytest.importorskip("langchain_openai")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_project_with_a_trailing_newline_from_the_key_file_is_refused(
    emulator: Emulator, tmp_path: pathlib.Path, framework: str
) -> None:
    # `$` matches before a final newline; the patterns end in `\Z`.
    info = emulator.service_account_info()
    info["project_id"] = emulator.project + "\n"
    path = tmp_path / "sa-newline.json"
    path.write_text(json.dumps(info))
    model = _model(framework, emulator, project=None, credentials=str(path), max_retries=2)
    with pytest.raises(VertexConfigError, match="Malformed Google Cloud project"):
        _ask(framework, model)
    assert _chat(emulator) == []


@pytest.mark.parametrize("value", ["my-project\n", "123\n"])
def test_project_argument_with_a_trailing_newline_is_refused(value: str) -> None:
    with pytest.raises(VertexConfigError, match="Malformed Google Cloud project"):
        validate_project(value, "argument `project`")


def test_thought_marker_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(VertexConfigError, match="thought_tag_marker"):
        validate_marker("thought\n")


# -- manifests and external_account credentials ------------------------------------------


def _wif_info(tmp_path: pathlib.Path, token_url: str, **extra: Any) -> dict[str, Any]:
    subject = tmp_path / "subject.jwt"
    subject.write_text("local-secret-subject-token")
    return {
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/"
        "p/providers/q",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": token_url,
        "credential_source": {"file": str(subject)},
        **extra,
    }


@pytest.fixture
def catcher() -> Any:
    from fault_servers import LocalServer

    with LocalServer(lambda req: (500, {"content-type": "application/json"}, b"{}")) as srv:
        yield srv


def _loads(text: str, cls: Any) -> Any:
    import warnings

    from langchain_core.load import loads

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loads() is beta
        return loads(text, valid_namespaces=["langchain_vertex_openai"], allowed_objects=[cls])


# The embedding classes are not langchain Serializable: loads() cannot revive them.
@pytest.mark.parametrize("cls_name", ["ChatVertexOpenAI"])
def test_loads_refuses_a_manifest_carrying_a_credentials_dict(
    emulator: Emulator, tmp_path: pathlib.Path, catcher: Any, cls_name: str
) -> None:
    import langchain_vertex_openai as lvo

    cls = getattr(lvo, cls_name)
    kwargs: dict[str, Any] = {
        "model": "gemini-2.5-flash" if cls_name == "ChatVertexOpenAI" else "text-embedding-005",
        "project": emulator.project,
        "location": "us-central1",
        "api_endpoint": emulator.url,
    }
    manifest = {
        "lc": 1,
        "type": "constructor",
        "id": [*cls.__module__.split("."), cls_name],
        "kwargs": dict(kwargs),
    }
    manifest["kwargs"]["credentials"] = _wif_info(tmp_path, f"{catcher.url}/v1/token")
    with pytest.raises(ValueError, match="may not carry a `credentials` dict"):
        _loads(json.dumps(manifest), cls)
    manifest["kwargs"]["credentials"] = str(tmp_path / "sa.json")
    manifest["kwargs"]["allow_non_google_token_urls"] = True
    with pytest.raises(ValueError, match="may not switch on allow_non_google_token_urls"):
        _loads(json.dumps(manifest), cls)
    assert catcher.requests == []
    # A path (what dumpd writes) still loads; a dict passed in code still works.
    manifest["kwargs"].pop("allow_non_google_token_urls")
    assert _loads(json.dumps(manifest), cls).credentials == str(tmp_path / "sa.json")
    cls(**kwargs, credentials=emulator.service_account_info())


def test_dumpd_writes_no_credentials_dict(emulator: Emulator) -> None:
    from langchain_core.load import dumpd, dumps

    from langchain_vertex_openai import ChatVertexOpenAI

    model = ChatVertexOpenAI(
        project="p",
        location="us-central1",
        api_endpoint=emulator.url,
        credentials=emulator.service_account_info(),
    )
    assert "credentials" not in dumpd(model)["kwargs"]
    assert _loads(dumps(model), ChatVertexOpenAI).project == "p"


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("field", ["token_url", "service_account_impersonation_url"])
@pytest.mark.parametrize("as_file", [False, True])
def test_external_account_urls_off_google_are_refused(
    emulator: Emulator,
    tmp_path: pathlib.Path,
    catcher: Any,
    framework: str,
    field: str,
    as_file: bool,
) -> None:
    from vertex_openai import VertexAuthError

    if field == "token_url":
        info = _wif_info(tmp_path, f"{catcher.url}/v1/token")
    else:
        info = _wif_info(
            tmp_path,
            "https://sts.googleapis.com/v1/token",
            service_account_impersonation_url=f"{catcher.url}/v1/x:generateAccessToken",
        )
    credentials: Any = info
    if as_file:
        credentials = tmp_path / "wif.json"
        credentials.write_text(json.dumps(info))
        credentials = str(credentials)
    model = _model(framework, emulator, credentials=credentials, max_retries=2)
    with pytest.raises(VertexAuthError, match=f"{field} host '127.0.0.1:") as err:
        _ask(framework, model)
    assert "allow_non_google_token_urls=True" in str(err.value)
    assert catcher.requests == []
    assert _chat(emulator) == []


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_external_account_off_google_works_with_the_explicit_opt_in(
    emulator: Emulator, tmp_path: pathlib.Path, framework: str
) -> None:
    import httpx
    from fault_servers import LocalServer, json_body

    def sts(req: Any) -> tuple[int, dict[str, str], bytes]:
        minted = httpx.post(f"{emulator.url}/_emulator/token", json={}).json()
        return (
            200,
            {"content-type": "application/json"},
            json_body(
                {
                    "access_token": minted["access_token"],
                    "token_type": "Bearer",
                    "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                    "expires_in": 3600,
                }
            ),
        )

    with LocalServer(sts) as server:
        info = _wif_info(tmp_path, f"{server.url}/v1/token")
        model = _model(framework, emulator, credentials=info, allow_non_google_token_urls=True)
        assert _ask(framework, model)
        assert len(server.requests) == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://sts.googleapis.com/v1/token",
        "https://sts.us-east1.rep.googleapis.com/v1/token",
        "https://us-east1-sts.googleapis.com/v1/token",
        "https://sts.mtls.googleapis.com/v1/token",
    ],
)
def test_google_sts_hosts_pass_the_check(url: str) -> None:
    from vertex_openai._credential_policy import check_external_account_urls

    check_external_account_urls({"token_url": url}, "test", allow=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://sts.googleapis.com.evil.example/v1/token",
        "http://sts.googleapis.com/v1/token",
        "https://evil.example#sts.googleapis.com",
        "https://sts.evil.example/v1/token",
    ],
)
def test_lookalike_hosts_fail_the_check(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from vertex_openai import VertexAuthError
    from vertex_openai._credential_policy import check_external_account_urls

    # A universe domain counts only when the user sets it, never from the file.
    monkeypatch.delenv("GOOGLE_CLOUD_UNIVERSE_DOMAIN", raising=False)
    with pytest.raises(VertexAuthError):
        check_external_account_urls(
            {"token_url": url, "universe_domain": "evil.example"}, "test", allow=False
        )
    monkeypatch.setenv("GOOGLE_CLOUD_UNIVERSE_DOMAIN", "my-universe.example")
    check_external_account_urls(
        {"token_url": "https://sts.my-universe.example/v1/token"}, "test", allow=False
    )


# -- express mode and pickles never switch the principal silently --------------------------


def test_llama_index_express_model_after_from_dict_never_signs_with_adc(
    emulator: Emulator, sa_file: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("llama_index.core")
    from llama_index_vertex_openai import ChatVertexOpenAI, VertexOpenAIEmbedding

    # The machine's ADC is a working service account: a silent switch would succeed.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(sa_file))
    model = _model("llama_index", emulator, api_key=emulator.api_key)
    data = model.to_dict()
    assert emulator.api_key not in json.dumps(data, default=str)
    copy = ChatVertexOpenAI.from_dict(data)
    with pytest.raises(VertexConfigError, match="api_key"):
        _ask("llama_index", copy)
    assert _chat(emulator) == []
    assert "Bearer" not in copy.describe_credentials()
    emb = VertexOpenAIEmbedding(
        model="text-embedding-005",
        project=emulator.project,
        location="us-central1",
        api_endpoint=emulator.url,
        api_key=emulator.api_key,
    )
    assert emulator.api_key not in emb.to_json()
    emb_copy = VertexOpenAIEmbedding.from_dict(emb.to_dict())
    with pytest.raises(VertexConfigError, match="api_key"):
        emb_copy.get_query_embedding("x")
    with pytest.raises(VertexConfigError, match="api_key"):
        emb_copy.get_text_embedding_batch(["x", "y"])
    assert emulator.requests == []


def test_llama_index_callable_key_model_after_from_dict_never_signs_with_adc(
    emulator: Emulator, sa_file: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("llama_index.core")
    from llama_index_vertex_openai import ChatVertexOpenAI

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(sa_file))
    token = emulator.issue_token()
    model = _model("llama_index", emulator, api_key=lambda: token)
    _ask("llama_index", model)  # the callable signs the original
    assert len(_chat(emulator)) == 1
    data = model.to_dict()
    assert token not in json.dumps(data, default=str)
    copy = ChatVertexOpenAI.from_dict(data)
    with pytest.raises(VertexConfigError, match="callable"):
        _ask("llama_index", copy)
    assert len(_chat(emulator)) == 1  # the copy sent nothing, with ADC or otherwise


def _unpickle_cases(emulator: Emulator) -> list[Any]:
    pytest.importorskip("llama_index.core")
    from langchain_vertex_openai import ChatVertexOpenAI, VertexOpenAIEmbeddings
    from llama_index_vertex_openai import ChatVertexOpenAI as LIChat
    from llama_index_vertex_openai import VertexOpenAIEmbedding

    common = {"project": emulator.project, "location": "us-central1", "api_endpoint": emulator.url}
    return [
        lambda c: ChatVertexOpenAI(model="gemini-2.5-flash", credentials=c, **common),
        lambda c: LIChat(model="gemini-2.5-flash", credentials=c, **common),
        lambda c: VertexOpenAIEmbeddings(model="text-embedding-005", credentials=c, **common),
        lambda c: VertexOpenAIEmbedding(model="text-embedding-005", credentials=c, **common),
    ]


@pytest.mark.parametrize("index", range(4), ids=["lc-chat", "li-chat", "lc-emb", "li-emb"])
def test_unpickling_without_the_credentials_warns_of_the_principal_switch(
    emulator: Emulator, sa_file: pathlib.Path, caplog: pytest.LogCaptureFixture, index: int
) -> None:
    import logging
    import pickle

    import google.auth.credentials

    make = _unpickle_cases(emulator)[index]
    info = emulator.service_account_info()
    for credentials, kind in (
        (info, "service_account credentials dict"),
        (google.auth.credentials.AnonymousCredentials(), "AnonymousCredentials"),
    ):
        blob = pickle.dumps(make(credentials))
        assert info["private_key"].encode() not in blob
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="vertex_openai"):
            pickle.loads(blob)
        text = caplog.text
        assert kind in text, text
        assert "Application Default Credentials" in text
        assert "another principal" in text
    # A key file path is pickled as it is: same principal, no warning.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="vertex_openai"):
        pickle.loads(pickle.dumps(make(str(sa_file))))
    assert "principal" not in caplog.text
