"""Failover across locations (issue 23) over real HTTP: both chat classes against the emulator.

Every contract line of docs/failover.md has a test here or in test_failover_core.py /
test_failover_embeddings.py. The emulator's `location_behaviour` makes a location answer
429 / 503 / cut a stream; the requests it records show which locations were contacted.
"""

from __future__ import annotations

import asyncio
import logging
import pathlib
import time
from typing import Any

import openai
import pydantic
import pytest

pytest.importorskip("langchain_openai")
pytest.importorskip("llama_index.core")

from langchain_openai import ChatOpenAI  # noqa: E402
from llama_index.core.llms import ChatMessage  # noqa: E402

from langchain_vertex_openai import ChatVertexOpenAI as LCChat  # noqa: E402
from llama_index_vertex_openai import ChatVertexOpenAI as LIChat  # noqa: E402
from vertex_openai._errors import VertexConfigError  # noqa: E402
from vertex_openai._failover import COOLING, DEFAULT_COOLDOWN  # noqa: E402
from vertex_openai.emulator import Emulator  # noqa: E402

PRIMARY = "us-central1"
FALLBACKS = ["europe-west4", "global"]


def _params(emu: Emulator, sa_file: pathlib.Path | None, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": "gemini-2.5-flash",
        "project": emu.project,
        "location": PRIMARY,
        "api_endpoint": emu.url,
        "credentials": str(sa_file),
        "max_retries": 0,
        "timeout": 30,
        "fallback_locations": list(FALLBACKS),
    }
    params.update(overrides)
    if params["model"] is None:  # a self-deployed endpoint serves its own model
        del params["model"]
    return params


def lc(emu: Emulator, sa_file: pathlib.Path | None, **overrides: Any) -> LCChat:
    return LCChat(**_params(emu, sa_file, **overrides))


def li(emu: Emulator, sa_file: pathlib.Path, **overrides: Any) -> LIChat:
    return LIChat(**_params(emu, sa_file, **overrides))


def behave(emu: Emulator, **locations: Any) -> None:
    """`behave(emu, us_central1="quota")`: per-location behaviour (underscores -> dashes)."""
    emu.config.update(
        {"location_behaviour": {k.replace("_", "-"): v for k, v in locations.items()}}
    )


def chat_locations(emu: Emulator) -> list[tuple[str, int | None]]:
    """(location, status) of every chat request the emulator saw, in order."""
    out = []
    for rec in emu.requests:
        if rec.path.endswith("/chat/completions"):
            location = rec.path.split("/locations/")[1].split("/")[0]
            out.append((location, rec.status))
    return out


MSG = [ChatMessage(role="user", content="hello there")]


# -- the resend ---------------------------------------------------------------------------


def test_lc_invoke_fails_over_on_429_with_same_body_and_credentials(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    behave(emulator, us_central1="quota")
    message = lc(emulator, sa_file).invoke("hello there")
    assert message.response_metadata["vertex_location"] == "europe-west4"
    assert "hello there" in message.text
    assert chat_locations(emulator) == [(PRIMARY, 429), ("europe-west4", 200)]
    first, second = emulator.requests
    assert first.json == second.json
    assert first.token_id is not None
    assert first.token_id == second.token_id


def test_lc_fails_over_on_503_to_the_next_listed(emulator: Emulator, sa_file: pathlib.Path) -> None:
    behave(emulator, us_central1="unavailable", europe_west4="unavailable")
    message = lc(emulator, sa_file).invoke("hello there")
    assert message.response_metadata["vertex_location"] == "global"
    assert chat_locations(emulator) == [
        (PRIMARY, 503),
        ("europe-west4", 503),
        ("global", 200),
    ]


async def test_lc_ainvoke_fails_over(emulator: Emulator, sa_file: pathlib.Path) -> None:
    behave(emulator, us_central1="quota")
    message = await lc(emulator, sa_file).ainvoke("hello there")
    assert message.response_metadata["vertex_location"] == "europe-west4"
    assert chat_locations(emulator) == [(PRIMARY, 429), ("europe-west4", 200)]


def test_lc_stream_fails_over_before_first_byte(emulator: Emulator, sa_file: pathlib.Path) -> None:
    behave(emulator, us_central1="quota")
    chunks = list(lc(emulator, sa_file).stream("hello there"))
    tagged = [c for c in chunks if "vertex_location" in c.response_metadata]
    assert len(tagged) == 1
    assert tagged[0].response_metadata["finish_reason"] == "stop"
    assert tagged[0].response_metadata["vertex_location"] == "europe-west4"
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    assert whole.response_metadata["vertex_location"] == "europe-west4"
    assert "hello there" in whole.text
    assert chat_locations(emulator) == [(PRIMARY, 429), ("europe-west4", 200)]


async def test_lc_astream_fails_over(emulator: Emulator, sa_file: pathlib.Path) -> None:
    behave(emulator, us_central1="unavailable")
    chunks = [c async for c in lc(emulator, sa_file).astream("hello there")]
    assert [
        c.response_metadata["vertex_location"]
        for c in chunks
        if "vertex_location" in c.response_metadata
    ] == ["europe-west4"]
    assert chat_locations(emulator) == [(PRIMARY, 503), ("europe-west4", 200)]


def test_li_chat_fails_over(emulator: Emulator, sa_file: pathlib.Path) -> None:
    behave(emulator, us_central1="quota")
    response = li(emulator, sa_file).chat(MSG)
    assert response.additional_kwargs["vertex_location"] == "europe-west4"
    assert "hello there" in (response.message.content or "")
    assert chat_locations(emulator) == [(PRIMARY, 429), ("europe-west4", 200)]


async def test_li_achat_and_astream_fail_over(emulator: Emulator, sa_file: pathlib.Path) -> None:
    behave(emulator, us_central1="quota")
    llm = li(emulator, sa_file)
    response = await llm.achat(MSG)
    assert response.additional_kwargs["vertex_location"] == "europe-west4"
    emulator.reset()
    COOLING.clear()
    last = None
    async for last in await llm.astream_chat(MSG):
        assert last.additional_kwargs["vertex_location"] == "europe-west4"
    assert last is not None
    assert "hello there" in (last.message.content or "")
    assert chat_locations(emulator) == [(PRIMARY, 429), ("europe-west4", 200)]


def test_li_stream_chat_fails_over(emulator: Emulator, sa_file: pathlib.Path) -> None:
    behave(emulator, us_central1="unavailable")
    responses = list(li(emulator, sa_file).stream_chat(MSG))
    assert responses[-1].additional_kwargs["vertex_location"] == "europe-west4"
    assert chat_locations(emulator) == [(PRIMARY, 503), ("europe-west4", 200)]


# -- what does not fail over --------------------------------------------------------------


def test_default_is_no_failover_and_no_location_key(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    behave(emulator, us_central1="quota")
    with pytest.raises(openai.RateLimitError):
        lc(emulator, sa_file, fallback_locations=None).invoke("hello there")
    assert chat_locations(emulator) == [(PRIMARY, 429)]
    behave(emulator)
    message = lc(emulator, sa_file, fallback_locations=None).invoke("hello there")
    assert "vertex_location" not in message.response_metadata


@pytest.mark.parametrize("kind", ["403", "500"])
def test_other_statuses_are_returned_as_today(
    emulator: Emulator, sa_file: pathlib.Path, kind: str
) -> None:
    expected = openai.PermissionDeniedError if kind == "403" else openai.InternalServerError
    emulator.inject_fault(kind)
    with pytest.raises(expected):
        lc(emulator, sa_file).invoke("hello there")
    assert chat_locations(emulator) == [(PRIMARY, int(kind))]


def test_400_is_returned_as_today(emulator: Emulator, sa_file: pathlib.Path) -> None:
    with pytest.raises(openai.NotFoundError):
        lc(emulator, sa_file, model="google/gemini-no-such-model").invoke("hello there")
    assert [loc for loc, _ in chat_locations(emulator)] == [PRIMARY]


def test_stream_cut_after_first_byte_is_not_resent(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    behave(emulator, us_central1={"kind": "stream_cut", "after_chunks": 1})
    stream = lc(emulator, sa_file).stream("hello there, a longer prompt to stream")
    with pytest.raises(openai.APIError):
        list(stream)
    # One request only: never a duplicated or spliced answer from another location.
    assert [loc for loc, _ in chat_locations(emulator)] == [PRIMARY]


def test_all_locations_429_gives_the_last_error_to_the_sdk_retries(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    behave(emulator, us_central1="quota", europe_west4="quota", **{"global": "quota"})
    with pytest.raises(openai.RateLimitError):
        lc(emulator, sa_file).invoke("hello there")
    assert chat_locations(emulator) == [
        (PRIMARY, 429),
        ("europe-west4", 429),
        ("global", 429),
    ]
    emulator.reset()
    # Every location now cools: a new request still tries each once, in listed order.
    with pytest.raises(openai.RateLimitError):
        lc(emulator, sa_file).invoke("hello there")
    assert [loc for loc, _ in chat_locations(emulator)] == [PRIMARY, "europe-west4", "global"]
    emulator.reset()
    COOLING.clear()
    # max_retries applies as today: each SDK attempt tries every location once more.
    behave(
        emulator,
        us_central1={"kind": "quota", "retry_after": 0},
        europe_west4={"kind": "quota", "retry_after": 0},
        **{"global": {"kind": "quota", "retry_after": 0}},
    )
    with pytest.raises(openai.RateLimitError):
        lc(emulator, sa_file, max_retries=1).invoke("hello there")
    assert [loc for loc, _ in chat_locations(emulator)] == [
        PRIMARY,
        "europe-west4",
        "global",
        PRIMARY,
        "europe-west4",
        "global",
    ]


def test_only_listed_locations_are_contacted(emulator: Emulator, sa_file: pathlib.Path) -> None:
    behave(emulator, us_central1="quota", europe_west4="quota")
    with pytest.raises(openai.RateLimitError):
        lc(emulator, sa_file, fallback_locations=["europe-west4"]).invoke("hello there")
    assert {loc for loc, _ in chat_locations(emulator)} == {PRIMARY, "europe-west4"}


def test_global_may_be_listed(emulator: Emulator, sa_file: pathlib.Path) -> None:
    behave(emulator, europe_west4="quota")
    message = lc(emulator, sa_file, location="europe-west4", fallback_locations=["global"]).invoke(
        "hello there"
    )
    assert message.response_metadata["vertex_location"] == "global"
    assert chat_locations(emulator) == [("europe-west4", 429), ("global", 200)]


# -- cooling ------------------------------------------------------------------------------


def test_cooling_skips_the_location_then_returns_to_it(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    # Retry-After 3 s: the second request must come within it, even on a busy machine.
    behave(emulator, us_central1={"kind": "quota", "retry_after": 3})
    llm = lc(emulator, sa_file)
    llm.invoke("hello there")
    started = time.monotonic()
    assert llm.invoke("hello there").response_metadata["vertex_location"] == "europe-west4"
    # The second request skipped the cooling primary.
    assert chat_locations(emulator) == [
        (PRIMARY, 429),
        ("europe-west4", 200),
        ("europe-west4", 200),
    ]
    behave(emulator)  # the primary's quota is back
    time.sleep(max(0.0, 3.2 - (time.monotonic() - started)))
    assert llm.invoke("hello there").response_metadata["vertex_location"] == PRIMARY


def test_default_cooling_without_retry_after(emulator: Emulator, sa_file: pathlib.Path) -> None:
    behave(emulator, us_central1="quota")
    lc(emulator, sa_file).invoke("hello there")
    left = COOLING.cooling((f"{emulator.url}", emulator.project, PRIMARY))
    assert DEFAULT_COOLDOWN - 5 < left <= DEFAULT_COOLDOWN


def test_cooling_is_shared_across_objects_and_kept_per_project(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    emulator.config.update({"check_project": False})
    behave(emulator, us_central1="quota")
    lc(emulator, sa_file).invoke("hello there")
    behave(emulator)
    emulator.reset()
    # Another object, another framework, same project: the primary is still cooling.
    assert li(emulator, sa_file).chat(MSG).additional_kwargs["vertex_location"] == "europe-west4"
    # Another project has its own quota: its primary is tried.
    other = lc(emulator, sa_file, project="other-project").invoke("hello there")
    assert other.response_metadata["vertex_location"] == PRIMARY
    assert chat_locations(emulator) == [("europe-west4", 200), (PRIMARY, 200)]


def test_cooling_is_thread_and_loop_safe(emulator: Emulator, sa_file: pathlib.Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    behave(emulator, us_central1={"kind": "quota", "share": 0.5, "retry_after": 0})
    llm = lc(emulator, sa_file)

    def one(_: int) -> str:
        return str(llm.invoke("hello there").response_metadata["vertex_location"])

    async def many() -> list[Any]:
        return list(await asyncio.gather(*(llm.ainvoke("hello there") for _ in range(8))))

    with ThreadPoolExecutor(4) as pool:
        answered = list(pool.map(one, range(16)))
        loops = list(pool.map(lambda _: asyncio.run(many()), range(2)))
    assert set(answered) <= {PRIMARY, "europe-west4"}
    assert all(m.response_metadata["vertex_location"] for batch in loops for m in batch)
    statuses = [s for _, s in chat_locations(emulator)]
    assert statuses.count(200) == 32


# -- visibility and secrets ---------------------------------------------------------------


def test_debug_log_per_failover_without_secrets(
    emulator: Emulator, sa_file: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    behave(emulator, us_central1="quota", europe_west4="unavailable")
    key_llm = lc(
        emulator, None, credentials=None, api_key=emulator.api_key, api_key_transport="query"
    )
    with caplog.at_level(logging.DEBUG, logger="vertex_openai.failover"):
        message = key_llm.invoke("hello there")
    assert message.response_metadata["vertex_location"] == "global"
    lines = [r.getMessage() for r in caplog.records if r.name == "vertex_openai.failover"]
    assert len(lines) == 2
    assert "us-central1 answered 429" in lines[0]
    assert "europe-west4" in lines[0]
    assert "europe-west4 answered 503" in lines[1]
    assert "global" in lines[1]
    assert all(emulator.api_key not in line for line in caplog.text.splitlines())
    # The express key went with every resend (same credentials), by query as configured.
    assert [r.auth_kind for r in emulator.requests] == ["api_key"] * 3


# -- refused at construction ---------------------------------------------------------------


@pytest.mark.parametrize("make", [lc, li], ids=["langchain", "llama_index"])
@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"fallback_locations": ["Europe-West4"]}, "malformed location"),
        ({"fallback_locations": ["europe-west4-a.googleapis.com"]}, "malformed location"),
        ({"fallback_locations": "europe-west4"}, "list"),
        ({"fallback_locations": [PRIMARY]}, "already the primary"),
        ({"fallback_locations": ["global", "global"]}, "twice"),
        ({"endpoint_id": "1234567890", "model": None}, "self-deployed or dedicated"),
        ({"dedicated_endpoint_dns": "localhost"}, "self-deployed or dedicated"),
        (
            {"cached_content": "projects/p/locations/us-central1/cachedContents/1"},
            "context cache exists only",
        ),
    ],
)
def test_refused_at_construction(
    emulator: Emulator, sa_file: pathlib.Path, make: Any, overrides: dict[str, Any], words: str
) -> None:
    # LlamaIndex raises VertexConfigError itself; LangChain's pydantic validators wrap it
    # in a ValidationError (a ValueError) carrying its text, as for every other setting.
    with pytest.raises((VertexConfigError, pydantic.ValidationError)) as info:
        make(emulator, sa_file, **overrides)
    text = str(info.value)
    assert "fallback_locations" in text
    assert words in text
    if make is li and words != "list":
        assert isinstance(info.value, VertexConfigError)
    assert emulator.requests == []


def test_cached_content_per_request_refused_before_sending(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    cache = "projects/p/locations/us-central1/cachedContents/1"
    with pytest.raises(VertexConfigError, match="fallback_locations"):
        lc(emulator, sa_file).invoke(
            "hello there", extra_body={"google": {"cached_content": cache}}
        )
    with pytest.raises(VertexConfigError, match="fallback_locations"):
        li(emulator, sa_file).chat(MSG, extra_body={"google": {"cached_content": cache}})
    assert emulator.requests == []


# -- against the plain parent -------------------------------------------------------------


def test_plain_chat_openai_fails_where_ours_fails_over(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    behave(emulator, us_central1="quota")
    plain = ChatOpenAI(
        model="google/gemini-2.5-flash",
        base_url=emulator.base_url(PRIMARY),
        api_key=pydantic.SecretStr(emulator.issue_token()),
        max_retries=1,
    )
    with pytest.raises(openai.RateLimitError):
        plain.invoke("hello there")
    emulator.reset()
    ours = lc(emulator, sa_file, max_retries=1).invoke("hello there")
    assert ours.response_metadata["vertex_location"] == "europe-west4"


# -- the user's own http client, pickles --------------------------------------------------


def test_fails_over_through_the_users_own_http_client(
    emulator: Emulator, sa_file: pathlib.Path
) -> None:
    import httpx

    seen: list[str] = []
    with httpx.Client(event_hooks={"request": [lambda r: seen.append(r.url.path)]}) as client:
        behave(emulator, us_central1="quota")
        message = lc(emulator, sa_file, http_client=client).invoke("hello there")
    assert message.response_metadata["vertex_location"] == "europe-west4"
    # Both sends went through the app's client (its hooks saw each location).
    assert [p.split("/locations/")[1].split("/")[0] for p in seen] == [PRIMARY, "europe-west4"]


def test_fallback_locations_survive_pickling(emulator: Emulator, sa_file: pathlib.Path) -> None:
    import pickle

    behave(emulator, us_central1="quota")
    for model in (lc(emulator, sa_file), li(emulator, sa_file)):
        COOLING.clear()
        copy = pickle.loads(pickle.dumps(model))  # noqa: S301 - our own object
        assert copy.fallback_locations == FALLBACKS
        if isinstance(copy, LCChat):
            where = copy.invoke("hello there").response_metadata["vertex_location"]
        else:
            where = copy.chat(MSG).additional_kwargs["vertex_location"]
        assert where == "europe-west4"
