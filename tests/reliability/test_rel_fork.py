"""Fork safety: a parent and 4 forked children calling concurrently, sync and async.

The fork happens while another thread of the parent is inside a token refresh (the token
endpoint is slowed by a local forwarder) and after calls warmed the connection pools, as
with gunicorn --preload, Celery prefork or multiprocessing's fork start method. Each
process sends its own prompts; an answer for another prompt would mean two processes
shared a pooled connection. Everything is bounded by a deadline; stuck children are
killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fault_servers import LocalServer
from rel_support import ANSWER, chat_requests, lc_model, li_messages, li_model

from vertex_openai.emulator import Emulator

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

CHILDREN = 4
DEADLINE = 90.0  # generous: the whole scenario takes a few seconds on a quiet machine
TOKEN_DELAY = 1.5


def _answer(prompt: str) -> str:
    return ANSWER.replace("hello there", prompt)


def _slow_token_forwarder(emu: Emulator, started: threading.Event) -> LocalServer:
    client = httpx.Client(timeout=30)

    def handle(req: Any) -> tuple[int, dict[str, str], bytes]:
        started.set()
        time.sleep(TOKEN_DELAY)  # a refresh in progress while the parent forks
        resp = client.post(
            f"{emu.url}/token",
            content=req.body,
            headers={"content-type": req.headers.get("content-type", "")},
        )
        return resp.status_code, {"content-type": "application/json"}, resp.content

    return LocalServer(handle)


def _work(lc: Any, li: Any, tag: str) -> list[tuple[str, str]]:
    """Concurrent sync (threads) and async calls through both classes; (want, got) pairs."""
    prompts = [f"{tag} sync {i}" for i in range(4)]

    def sync_one(i: int) -> tuple[str, str]:
        p = prompts[i]
        got = lc.invoke(p).text if i % 2 == 0 else li.chat(li_messages(p)).message.content
        return _answer(p), got

    async def async_all() -> list[tuple[str, str]]:
        async def one(i: int) -> tuple[str, str]:
            p = f"{tag} async {i}"
            if i % 2 == 0:
                got = (await lc.ainvoke(p)).text
            else:
                got = (await li.achat(li_messages(p))).message.content
            return _answer(p), got

        return list(await asyncio.gather(*(one(i) for i in range(4))))

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(sync_one, i) for i in range(4)]
        pairs = asyncio.run(async_all())
        pairs += [f.result(timeout=DEADLINE) for f in futures]
    return pairs


# Forking a multi-threaded process is the scenario itself (Python 3.12+ warns about it).
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_fork_during_refresh_parent_and_children(
    emulator: Emulator, tmp_path: pathlib.Path
) -> None:
    refresh_started = threading.Event()
    with _slow_token_forwarder(emulator, refresh_started) as tokens:
        info = emulator.service_account_info()
        info["token_uri"] = f"{tokens.url}/token"
        sa = tmp_path / "sa-slow.json"
        sa.write_text(json.dumps(info))
        lc = lc_model(emulator, sa, timeout=60)
        li = li_model(emulator, sa, timeout=60)
        # Warm both pools (sync and async keep-alive connections) and the token.
        assert all(want == got for want, got in _work(lc, li, "warm"))
        emulator.revoke_all_tokens()  # the next call must refresh (slowly)
        refresh_started.clear()
        refresher = threading.Thread(target=lambda: lc.invoke("during refresh"), daemon=True)
        refresher.start()
        assert refresh_started.wait(30), "the refresh did not start"

        pids: list[tuple[int, int]] = []
        for n in range(CHILDREN):
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # child: never return into pytest
                code = 1
                try:
                    os.close(read_fd)
                    pairs = _work(lc, li, f"child{n}")
                    os.write(write_fd, json.dumps(pairs).encode())
                    code = 0
                except BaseException as err:  # report anything, then exit
                    try:
                        os.write(write_fd, json.dumps({"error": repr(err)[:500]}).encode())
                    except OSError:
                        pass
                finally:
                    os._exit(code)
            os.close(write_fd)
            pids.append((pid, read_fd))

        parent_pairs = _work(lc, li, "parent")  # concurrently with the children
        refresher.join(DEADLINE)

        results: dict[int, Any] = {}
        deadline = time.monotonic() + DEADLINE
        pending = dict(pids)
        while pending and time.monotonic() < deadline:
            for pid in list(pending):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    fd = pending.pop(pid)
                    with os.fdopen(fd, "rb") as f:
                        raw = f.read()
                    results[pid] = (os.waitstatus_to_exitcode(status), raw)
            time.sleep(0.05)
        for pid, fd in pending.items():  # stuck (deadlocked) children
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(fd)
        assert not pending, f"{len(pending)} children did not finish in {DEADLINE:.0f} s"

    assert not refresher.is_alive()
    assert all(want == got for want, got in parent_pairs), parent_pairs
    for code, raw in results.values():
        payload = json.loads(raw or b"{}")
        assert code == 0, payload
        assert len(payload) == 8
        assert all(want == got for want, got in payload), payload  # no crossed answers
    statuses = [r.status for r in chat_requests(emulator)]
    assert set(statuses) <= {200, 401}  # no "Invalid JSON payload" from interleaving
    assert statuses.count(200) == 8 * (CHILDREN + 2) + 1
