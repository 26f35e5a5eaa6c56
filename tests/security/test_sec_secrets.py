"""No access token, refresh token, private key or API key leaks from either class.

Each test makes real requests (so live tokens exist in memory), captures every surface
listed in issue 6 and searches them for every secret the emulator handed out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import traceback
from typing import Any

import openai
import pytest

from vertex_openai.emulator import Emulator

pytest.importorskip("langchain_openai")

PROMPT = "hello there"


def secrets_of(emu: Emulator) -> list[str]:
    """Every live secret: issued access tokens, private key body, refresh token, API key."""
    key_lines = [
        line
        for line in emu.service_account_info()["private_key"].splitlines()
        if line and "PRIVATE KEY" not in line
    ]
    user = emu.authorized_user_info()
    with emu._state.lock:  # the emulator's own record of the tokens it issued
        tokens = list(emu._state.tokens)
    return [*tokens, *key_lines, user["refresh_token"], user["client_secret"], emu.api_key]


def assert_clean(emu: Emulator, *texts: Any) -> None:
    blob = "\n".join(t.decode("latin-1") if isinstance(t, bytes) else str(t) for t in texts)
    secrets = secrets_of(emu)
    for secret in secrets:
        assert secret not in blob, f"secret {secret[:10]}... leaked"


def _credentials(kind: str, emu: Emulator, tmp_path: Any) -> dict[str, Any]:
    if kind == "sa-file":
        return {"credentials": str(emu.write_service_account_file(tmp_path / "sa.json"))}
    if kind == "sa-dict":
        return {"credentials": emu.service_account_info()}
    if kind == "user-dict":
        return {"credentials": emu.authorized_user_info()}
    return {"api_key": emu.api_key}


KINDS = ["sa-file", "sa-dict", "user-dict", "api-key"]


def _surfaces_common(model: Any) -> list[Any]:
    out: list[Any] = [repr(model), str(model), model.model_dump(), model.model_dump_json()]
    try:
        out.append(pickle.dumps(model))
    except TypeError as err:  # express-mode LangChain models refuse to pickle
        out.append(str(err))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_langchain_surfaces(
    emulator: Emulator,
    tmp_path: Any,
    kind: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.globals import set_debug
    from langchain_core.load import dumpd, dumps

    from langchain_vertex_openai import ChatVertexOpenAI

    monkeypatch.setenv("OPENAI_LOG", "debug")
    for name in ("openai", "httpx", "httpcore", "vertex_openai", "langchain"):
        caplog.set_level(logging.DEBUG, logger=name)
    seen: list[Any] = []

    class Spy(BaseCallbackHandler):
        def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
            seen.extend([serialized, messages, kw])

        def on_llm_end(self, response: Any, **kw: Any) -> None:
            seen.extend([response, kw])

        def on_llm_error(self, error: BaseException, **kw: Any) -> None:
            seen.extend([error, "".join(traceback.format_exception(error)), kw])

        def __reduce__(self) -> Any:  # picklable with the model
            return (BaseCallbackHandler, ())

    model = ChatVertexOpenAI(
        model="gemini-2.5-flash",
        project=emulator.project,
        location="us-central1",
        api_endpoint=emulator.url,
        max_retries=0,
        timeout=5,
        callbacks=[Spy()],
        **_credentials(kind, emulator, tmp_path),
    )
    set_debug(True)
    try:
        model.invoke(PROMPT)
        asyncio.run(model.ainvoke(PROMPT))
        list(model.stream(PROMPT))
    finally:
        set_debug(False)
    # errors: a readable 403 and a timeout carry the request (and, in express mode, the URL)
    errors: list[Any] = []
    emulator.inject_fault("permission_denied", 1)
    emulator.inject_fault("stall", 1, seconds=2)
    for _ in range(2):
        try:
            ChatVertexOpenAI(
                model="gemini-2.5-flash",
                project=emulator.project,
                location="us-central1",
                api_endpoint=emulator.url,
                max_retries=0,
                timeout=0.5,
                **_credentials(kind, emulator, tmp_path),
            ).invoke(PROMPT)
        except openai.OpenAIError as err:
            errors += [err, repr(err), "".join(traceback.format_exception(err))]
    assert len(errors) >= 2
    surfaces = [
        *_surfaces_common(model),
        model.to_json(),
        dumps(model),
        json.dumps(dumpd(model)),
        model._get_ls_params(),
        model._identifying_params,
        model._get_invocation_params(),
        *seen,
        *errors,
        caplog.text,
        *(r.getMessage() for r in caplog.records),
        capsys.readouterr().out,
    ]
    assert_clean(emulator, *surfaces)


@pytest.mark.parametrize("kind", KINDS)
def test_llama_index_surfaces(
    emulator: Emulator,
    tmp_path: Any,
    kind: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("llama_index.core")
    from llama_index.core.callbacks import CallbackManager
    from llama_index.core.callbacks.base_handler import BaseCallbackHandler
    from llama_index.core.instrumentation import get_dispatcher
    from llama_index.core.instrumentation.event_handlers import BaseEventHandler
    from llama_index.core.llms import ChatMessage

    from llama_index_vertex_openai import ChatVertexOpenAI

    monkeypatch.setenv("OPENAI_LOG", "debug")
    for name in ("openai", "httpx", "httpcore", "vertex_openai", "llama_index"):
        caplog.set_level(logging.DEBUG, logger=name)
    seen: list[Any] = []

    class Events(BaseEventHandler):
        @classmethod
        def class_name(cls) -> str:
            return "Events"

        def handle(self, event: Any, **kwargs: Any) -> None:
            seen.append(event.model_dump_json())

    class Callbacks(BaseCallbackHandler):
        def __init__(self) -> None:
            super().__init__([], [])

        def on_event_start(self, event_type: Any, payload: Any = None, **kw: Any) -> str:
            seen.append(repr(payload))
            return ""

        def on_event_end(self, event_type: Any, payload: Any = None, **kw: Any) -> None:
            seen.append(repr(payload))

        def start_trace(self, trace_id: Any = None) -> None:
            return None

        def end_trace(self, trace_id: Any = None, trace_map: Any = None) -> None:
            return None

    handler = Events()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(handler)
    try:
        params = dict(
            model="gemini-2.5-flash",
            project=emulator.project,
            location="us-central1",
            api_endpoint=emulator.url,
            max_retries=0,
            timeout=5,
            callback_manager=CallbackManager([Callbacks()]),
            **_credentials(kind, emulator, tmp_path),
        )
        model = ChatVertexOpenAI(**params)
        msgs = [ChatMessage(role="user", content=PROMPT)]
        model.chat(msgs)
        asyncio.run(model.achat(msgs))
        list(model.stream_chat(msgs))
        model.complete(PROMPT)
        errors: list[Any] = []
        emulator.inject_fault("permission_denied", 1)
        emulator.inject_fault("stall", 1, seconds=2)
        for _ in range(2):
            try:
                ChatVertexOpenAI(**{**params, "timeout": 0.5}).chat(msgs)
            except openai.OpenAIError as err:
                errors += [err, repr(err), "".join(traceback.format_exception(err))]
        assert len(errors) >= 2
    finally:
        dispatcher.event_handlers.remove(handler)
    surfaces = [
        *_surfaces_common(model),
        model.to_dict(),
        model.to_json(),
        model.metadata,
        *seen,
        *errors,
        caplog.text,
        *(r.getMessage() for r in caplog.records),
    ]
    assert_clean(emulator, *surfaces)


KEY_IN_TIMEOUT_BUG = (
    "vertex_openai/_auth_flow.py VertexAuth._flow: when no response "
    "arrives (timeout, connection error) the flow is closed at `response = yield request` "
    "and _unsign() never runs, so APITimeoutError.request / httpx.ReadTimeout.request keep "
    "the URL with ?key=<express API key> (visible in repr(err.request)); fix: wrap each "
    "`yield request` in try/finally that calls _unsign()"
)


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_express_key_not_in_timeout_error_request(emulator: Emulator, framework: str) -> None:
    params = dict(
        model="gemini-2.5-flash",
        project=emulator.project,
        location="us-central1",
        api_endpoint=emulator.url,
        max_retries=0,
        timeout=0.5,
        api_key=emulator.api_key,
    )
    emulator.inject_fault("stall", 1, seconds=2)
    if framework == "langchain":
        from langchain_vertex_openai import ChatVertexOpenAI

        lc = ChatVertexOpenAI(**params)
        with pytest.raises(openai.APITimeoutError) as info:
            lc.invoke(PROMPT)
    else:
        pytest.importorskip("llama_index.core")
        from llama_index.core.llms import ChatMessage

        from llama_index_vertex_openai import ChatVertexOpenAI as LIChat

        li = LIChat(**params)
        with pytest.raises(openai.APITimeoutError) as info:
            li.chat([ChatMessage(role="user", content=PROMPT)])
    err = info.value
    cause = err.__cause__
    assert_clean(
        emulator,
        repr(err.request),
        repr(getattr(cause, "request", None)),
        "".join(traceback.format_exception(err)),
    )
