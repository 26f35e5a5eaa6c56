"""The failover core (`vertex_openai._failover`): hosts per location, Retry-After, the
cooling registry under threads and fork, and the emulator's per-location switch."""

from __future__ import annotations

import os
import threading
import time

import httpx
import pytest

from vertex_openai import VertexConnection
from vertex_openai._errors import VertexConfigError
from vertex_openai._failover import (
    COOLING,
    DEFAULT_COOLDOWN,
    MAX_COOLDOWN,
    failover_plan,
    retry_after_seconds,
)
from vertex_openai.emulator import Emulator

PATH = "/v1/projects/p/locations/{}/endpoints/openapi/chat/completions"


def _url_after_route(connection: VertexConnection, location: str) -> httpx.URL:
    plan = connection.failover
    assert plan is not None
    request = httpx.Request("POST", connection.base_url + "/chat/completions", content=b"{}")
    started = plan._start(request)
    assert started is not None
    match, project, _ = started
    plan._route(request, location, project, match)
    assert request.headers["Host"] == request.url.netloc.decode()
    return request.url


@pytest.mark.parametrize(
    ("location", "host"),
    [
        ("europe-west4", "europe-west4-aiplatform.googleapis.com"),
        ("global", "aiplatform.googleapis.com"),
        ("us", "aiplatform.us.rep.googleapis.com"),
        ("eu", "aiplatform.eu.rep.googleapis.com"),
    ],
)
def test_hosts_follow_the_location(location: str, host: str) -> None:
    conn = VertexConnection(
        project="p",
        location="us-central1",
        credentials={"type": "x"},
        fallback_locations=[loc for loc in ("europe-west4", "global", "us", "eu")],
    )
    url = _url_after_route(conn, location)
    assert url.host == host
    assert url.path == PATH.format(location)


def test_api_endpoint_keeps_the_host_and_changes_the_path() -> None:
    conn = VertexConnection(
        project="p",
        location="us-central1",
        api_endpoint="https://vertex.internal.example:8443",
        credentials={"type": "x"},
        fallback_locations=["eu"],
    )
    url = _url_after_route(conn, "eu")
    assert (url.host, url.port) == ("vertex.internal.example", 8443)
    assert url.path == PATH.format("eu")


def test_base_url_without_location_is_refused() -> None:
    with pytest.raises(VertexConfigError, match="fallback_locations needs a base_url"):
        VertexConnection(
            base_url="https://proxy.example/v1/chat",
            fallback_locations=["europe-west4"],
            credentials={"type": "x"},
        )


def test_empty_list_is_no_failover() -> None:
    conn = VertexConnection(
        project="p", location="us-central1", credentials={"type": "x"}, fallback_locations=[]
    )
    assert conn.failover is None


def test_plan_refuses_non_lists_and_bad_names() -> None:
    conn = VertexConnection(project="p", location="us-central1", credentials={"type": "x"})
    for bad in ("global", 3, [None], ["us-central1-a"]):
        with pytest.raises(VertexConfigError, match="fallback_locations"):
            failover_plan(conn.endpoint_at_start, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DEFAULT_COOLDOWN),
        ("7", 7.0),
        ("1.5", 1.5),
        ("nonsense", DEFAULT_COOLDOWN),
        ("999999", MAX_COOLDOWN),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
    ],
)
def test_retry_after(value: str | None, expected: float) -> None:
    headers = httpx.Headers({} if value is None else {"Retry-After": value})
    assert retry_after_seconds(headers) == expected


def test_retry_after_http_date_in_the_future() -> None:
    from email.utils import formatdate

    headers = httpx.Headers({"Retry-After": formatdate(time.time() + 60, usegmt=True)})
    assert 55 <= retry_after_seconds(headers) <= 61


def test_cooling_keeps_the_later_deadline_and_expires() -> None:
    key = ("origin", "p", "us-central1")
    COOLING.cool(key, 1.0)
    COOLING.cool(key, 0.01)  # an earlier deadline does not shorten it
    assert COOLING.cooling(key) > 0.5
    time.sleep(1.05)
    assert COOLING.cooling(key) == 0.0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() only")
def test_forked_child_can_use_the_registry_while_a_parent_thread_held_its_lock() -> None:
    key = ("origin", "p", "europe-west4")
    COOLING.cool(key, 60)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with COOLING._lock:
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    pid = os.fork()
    if pid == 0:  # the child: the inherited lock is held by a thread that does not exist here
        code = 1
        try:
            done = threading.Event()

            def use() -> None:
                COOLING.cool(("origin", "p", "global"), 1)
                if COOLING.cooling(key) > 0:  # what the parent knew is kept
                    done.set()

            worker = threading.Thread(target=use, daemon=True)
            worker.start()
            worker.join(5)
            code = 0 if done.is_set() else 2
        finally:
            os._exit(code)
    release.set()
    thread.join()
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


# -- the emulator's per-location switch ---------------------------------------------------


def _post(emu: Emulator, location: str, *, stream: bool = False) -> httpx.Response:
    return httpx.post(
        emu.base_url(location) + "/chat/completions",
        headers={"Authorization": f"Bearer {emu.issue_token()}"},
        json={
            "model": "google/gemini-2.5-flash",
            "messages": [{"role": "user", "content": "hello"}],
            "stream": stream,
        },
        timeout=30,
    )


def test_emulator_location_behaviour_over_its_admin_route(emulator: Emulator) -> None:
    config = {
        "location_behaviour": {
            "us-central1": {"kind": "quota", "retry_after": 12},
            "europe-west4": "quota",
            "asia-northeast1": "unavailable",
            "global": "ok",
        }
    }
    answer = httpx.post(f"{emulator.url}/_emulator/config", json=config, timeout=10)
    assert answer.status_code == 200
    quota = _post(emulator, "us-central1")
    assert quota.status_code == 429
    assert quota.headers["retry-after"] == "12"
    assert quota.json()[0]["error"]["status"] == "RESOURCE_EXHAUSTED"
    plain = _post(emulator, "europe-west4")
    assert plain.status_code == 429
    assert "retry-after" not in plain.headers
    down = _post(emulator, "asia-northeast1")
    assert down.status_code == 503
    assert down.json()[0]["error"]["status"] == "UNAVAILABLE"
    assert _post(emulator, "global").status_code == 200
    assert _post(emulator, "us-east4").status_code == 200  # not listed: normal


def test_emulator_share_is_spread_evenly(emulator: Emulator) -> None:
    emulator.config.update({"location_behaviour": {"us-central1": {"kind": "quota", "share": 0.3}}})
    statuses = [_post(emulator, "us-central1").status_code for _ in range(10)]
    assert statuses.count(429) == 3
    assert statuses[:4] == [200, 200, 200, 429]


def test_emulator_stream_cut_closes_midway(emulator: Emulator) -> None:
    emulator.config.update(
        {"location_behaviour": {"us-central1": {"kind": "stream_cut", "after_chunks": 1}}}
    )
    with pytest.raises(httpx.HTTPError):
        _post(emulator, "us-central1", stream=True)


def test_emulator_refuses_unknown_kinds(emulator: Emulator) -> None:
    answer = httpx.post(
        f"{emulator.url}/_emulator/config",
        json={"location_behaviour": {"us-central1": "sometimes"}},
        timeout=10,
    )
    assert answer.status_code == 400
    assert "sometimes" in answer.json()["error"]
