"""Runs inside the alternatives' virtualenv (see ``alternatives_setup.py``); prints JSON.

    python _alt_worker.py probe
    python _alt_worker.py calls ORIGIN N STREAM_N
    python _alt_worker.py cold ORIGIN CLIENT
    python _alt_worker.py sizes

``calls``: per-call and per-stream CPU of every client available here, interleaved in
this one process (order shuffled each round, medians). ``cold``: import + construct +
first call of one client in this fresh interpreter. ``sizes``: installed size of each
package's dependency closure. A socket guard refuses every connection that is not to
the loopback address: if a client tries to reach Google, it fails and the row says so.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

MODEL_ID = "gemini-2.5-flash"
PROJECT, LOCATION = "bench-project", "us-central1"
API_KEY = "bench-gemini-api-key"
BLOCKED: list[str] = []

# ------------------------------------------------------------------ network guard


def _loopback(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def install_socket_guard() -> None:
    """Refuse any non-loopback connection and any name lookup other than localhost."""
    connect, connect_ex, getaddrinfo = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.getaddrinfo,
    )

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _loopback(address):
            BLOCKED.append(repr(address))
            raise ConnectionRefusedError(f"benchmark socket guard: {address!r} is not loopback")
        return connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        if not _loopback(address):
            BLOCKED.append(repr(address))
            return 111  # ECONNREFUSED
        return connect_ex(self, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in (None, "localhost") and not _loopback((name, 0)):
            BLOCKED.append(f"lookup {name}")
            raise socket.gaierror(f"benchmark socket guard: no lookup of {name!r}")
        return getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = guarded_getaddrinfo


def sanitize_env(origin: str | None = None) -> None:
    for var in list(os.environ):
        if var.lower() in ("http_proxy", "https_proxy", "all_proxy") or var.startswith(
            ("GOOGLE_", "GEMINI_", "VERTEX", "LITELLM_", "LANGSMITH_", "LANGCHAIN_", "CLOUDSDK_")
        ):
            del os.environ[var]
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "*"
    os.environ["NO_GCE_CHECK"] = "True"  # google-auth: do not probe the metadata server
    os.environ["GCE_METADATA_HOST"] = os.environ["GCE_METADATA_IP"] = "127.0.0.1:9"
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no download of the cost map
    os.environ["LITELLM_TELEMETRY"] = "False"
    os.environ["CLOUDSDK_CONFIG"] = os.path.join(HERE, "out", "no-gcloud-config")
    os.environ["GOOGLE_CLOUD_PROJECT"] = PROJECT  # some clients read only the env


# ------------------------------------------------------------------ clients

# name -> (module to import, family, what it is)
CLIENTS: dict[str, tuple[str, str, str]] = {
    "ours_lc": (
        "langchain_vertex_openai",
        "langchain",
        "langchain_vertex_openai.ChatVertexOpenAI (OpenAI-compatible route)",
    ),
    "genai_lc": (
        "langchain_google_genai",
        "langchain",
        "langchain_google_genai.ChatGoogleGenerativeAI(vertexai=True)",
    ),
    "vertexai_lc": (
        "langchain_google_vertexai",
        "langchain",
        "langchain_google_vertexai.ChatVertexAI (REST transport)",
    ),
    "ours_li": (
        "llama_index_vertex_openai",
        "llama_index",
        "llama_index_vertex_openai.ChatVertexOpenAI",
    ),
    "genai_li": (
        "llama_index.llms.google_genai",
        "llama_index",
        "llama_index.llms.google_genai.GoogleGenAI (vertexai_config)",
    ),
    # The core's names load lazily: time the module that holds the client (and the SDK).
    "ours_core": (
        "vertex_openai._clients",
        "sdk",
        "vertex_openai.VertexConnection().openai_client() chat.completions.create",
    ),
    "litellm_vertex": ("litellm", "sdk", "litellm.completion('vertex_ai/gemini-2.5-flash')"),
    "litellm_gemini": ("litellm", "sdk", "litellm.completion('gemini/gemini-2.5-flash')"),
    # References for the cold start only (section 1 compares them per call):
    "plain_lc": ("langchain_openai", "langchain", "langchain_openai.ChatOpenAI (static key)"),
    "plain_li": (
        "llama_index.llms.openai_like",
        "llama_index",
        "llama_index.llms.openai_like.OpenAILike (static key)",
    ),
    "plain_sdk": ("openai", "sdk", "openai.OpenAI chat.completions.create (static key)"),
}
COLD_ONLY = ("plain_lc", "plain_li", "plain_sdk")


def _creds() -> Any:
    from _common import static_credentials

    return static_credentials()


def _service_account(origin: str) -> dict[str, str]:
    """Service-account JSON whose ``token_uri`` is the fake (a throwaway key, made here).

    Not ``authorized_user``: google-auth always sends those to Google's token endpoint.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "bench",
        "private_key": pem,
        "client_email": f"bench@{PROJECT}.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"{origin}/token",
    }


def build(name: str, origin: str) -> tuple[Callable[[], Any], Callable[[], int]]:
    """(one call, one whole stream returning its chunk count) for client ``name``."""
    if name == "ours_lc":
        from _models import lc_vertex

        return _lc(lc_vertex(origin))
    if name == "genai_lc":
        from langchain_google_genai import ChatGoogleGenerativeAI

        m = ChatGoogleGenerativeAI(
            model=MODEL_ID,
            vertexai=True,
            project=PROJECT,
            location=LOCATION,
            credentials=_creds(),
            base_url=origin,
            max_retries=0,
        )
        return _lc(m)
    if name == "vertexai_lc":
        from langchain_google_vertexai import ChatVertexAI

        m = ChatVertexAI(
            model=MODEL_ID,
            project=PROJECT,
            location=LOCATION,
            credentials=_creds(),
            api_endpoint=origin,
            api_transport="rest",
            max_retries=0,
        )
        return _lc(m)
    if name == "ours_li":
        from _models import li_vertex

        return _li(li_vertex(origin))
    if name == "genai_li":
        from llama_index.llms.google_genai import GoogleGenAI

        m = GoogleGenAI(
            model=MODEL_ID,
            vertexai_config={"project": PROJECT, "location": LOCATION, "credentials": _creds()},
            http_options={"base_url": origin},
            max_tokens=8192,
            context_window=1_048_576,
            max_retries=0,
        )
        return _li(m)
    if name == "ours_core":
        from _common import MODEL

        from vertex_openai import VertexConnection

        client = VertexConnection(
            project=PROJECT, location=LOCATION, api_endpoint=origin, credentials=_creds()
        ).openai_client(max_retries=0)
        msgs = [{"role": "user", "content": "hi"}]

        def call() -> Any:
            return client.chat.completions.create(model=MODEL, messages=msgs)  # type: ignore[arg-type]

        def stream() -> int:
            n = 0
            for chunk in client.chat.completions.create(
                model=MODEL,
                messages=msgs,
                stream=True,  # type: ignore[arg-type]
                stream_options={"include_usage": True},
            ):
                if chunk.choices and chunk.choices[0].delta.content:
                    n += 1
            return n

        return call, stream
    if name == "plain_lc":
        from _models import lc_openai

        return _lc(lc_openai(origin))
    if name == "plain_li":
        from _models import li_openai_like

        return _li(li_openai_like(origin))
    if name == "plain_sdk":
        from _models import raw_sdk

        sdk = raw_sdk(origin)
        return (
            lambda: sdk.create(
                model="google/" + MODEL_ID,
                messages=[  # type: ignore[arg-type]
                    {"role": "user", "content": "hi"}
                ],
            ),
            lambda: 0,
        )
    if name in ("litellm_vertex", "litellm_gemini"):
        import litellm

        litellm.telemetry = False
        litellm.suppress_debug_info = True
        msgs = [{"role": "user", "content": "hi"}]
        if name == "litellm_vertex":
            kw: dict[str, Any] = {
                "model": f"vertex_ai/{MODEL_ID}",
                "vertex_project": PROJECT,
                "vertex_location": LOCATION,
                "vertex_credentials": _service_account(origin),
                "api_base": origin,
            }
        else:
            kw = {"model": f"gemini/{MODEL_ID}", "api_key": API_KEY, "api_base": f"{origin}/v1beta"}

        def call() -> Any:
            return litellm.completion(messages=msgs, num_retries=0, **kw)

        def stream() -> int:
            n = 0
            for chunk in litellm.completion(messages=msgs, stream=True, num_retries=0, **kw):
                if chunk.choices and chunk.choices[0].delta.content:
                    n += 1
            return n

        return call, stream
    raise KeyError(name)


def _lc(m: Any) -> tuple[Callable[[], Any], Callable[[], int]]:
    msgs = [("human", "hi")]

    def call() -> Any:
        return m.invoke(msgs)

    def stream() -> int:
        return sum(1 for c in m.stream(msgs) if c.content)

    return call, stream


def _li(m: Any) -> tuple[Callable[[], Any], Callable[[], int]]:
    from llama_index.core.llms import ChatMessage

    msgs = [ChatMessage(role="user", content="hi")]

    def call() -> Any:
        return m.chat(msgs)

    def stream() -> int:
        return sum(1 for r in m.stream_chat(msgs) if r.delta)

    return call, stream


def _text(name: str, result: Any) -> str:
    if name.endswith("_lc"):
        return str(result.content)
    if name.endswith("_li"):
        return str(result.message.content)
    return str(result.choices[0].message.content)


def available(name: str) -> str | None:
    """None if the client's package imports here, else why not."""
    import importlib.util

    module = CLIENTS[name][0]
    try:
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed"
    except ModuleNotFoundError as exc:
        return str(exc)
    return None


# ------------------------------------------------------------------ modes


def mode_probe() -> dict[str, Any]:
    import importlib.metadata

    out: dict[str, Any] = {"missing": {n: why for n in CLIENTS if (why := available(n))}}
    versions = {}
    for dist in (
        "vertex-openai",
        "openai",
        "langchain-core",
        "langchain-openai",
        "langchain-google-genai",
        "langchain-google-vertexai",
        "google-genai",
        "google-cloud-aiplatform",
        "llama-index-core",
        "llama-index-llms-openai-like",
        "llama-index-llms-google-genai",
        "litellm",
        "httpx",
        "google-auth",
    ):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    out["versions"] = versions
    out["python"] = sys.version.split()[0]
    return out


def mode_calls(origin: str, n: int, stream_n: int) -> dict[str, Any]:
    from _common import interleaved, median
    from _fake_google import ANSWER

    names = [c for c in CLIENTS if available(c) is None and c not in COLD_ONLY]
    calls: dict[str, Callable[[], Any]] = {}
    streams: dict[str, Callable[[], int]] = {}
    errors: dict[str, str] = {}
    chunks: dict[str, int] = {}
    for name in names:
        try:
            call, stream = build(name, origin)
            text = _text(name, call())
            if text != ANSWER:
                raise AssertionError(f"unexpected answer {text[:60]!r}")
            chunks[name] = stream()
        except Exception as exc:  # report, do not stop the others
            errors[name] = f"{type(exc).__name__}: {str(exc)[:300]}"
            continue
        calls[name], streams[name] = call, stream
    call_t = interleaved(calls, n, warmup=10)
    stream_t = interleaved(streams, stream_n, warmup=2, collect_every=1)
    return {
        "call_cpu": {k: median(v.cpu) for k, v in call_t.items()},
        "call_wall": {k: median(v.wall) for k, v in call_t.items()},
        "stream_cpu": {k: median(v.cpu) for k, v in stream_t.items()},
        "stream_wall": {k: median(v.wall) for k, v in stream_t.items()},
        "chunks": chunks,
        "errors": errors,
        "blocked": BLOCKED,
        "n": n,
        "stream_n": stream_n,
    }


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def mode_cold(origin: str, name: str) -> dict[str, Any]:
    """Import, then construct and make the first call, in this fresh interpreter.

    The import is timed with the cyclic collector paused, as in section 4a (a full
    collection falls in whichever import crosses the threshold); it runs again for the
    first call, which so pays whatever collection the import ran up.
    """
    import gc
    import importlib

    module = CLIENTS[name][0]
    gc.disable()
    c0, t0 = time.process_time(), time.perf_counter()
    importlib.import_module(module)
    c1, t1 = time.process_time(), time.perf_counter()
    gc.enable()
    rss_import = _peak_rss_mb()
    call, _ = build(name, origin)
    call()
    c2, t2 = time.process_time(), time.perf_counter()
    return {
        "import_cpu": c1 - c0,
        "import_wall": t1 - t0,
        "rss_import": rss_import,
        "first_cpu": c2 - c0,
        "first_wall": t2 - t0,
        "rss_first": _peak_rss_mb(),
        "blocked": BLOCKED,
    }


# What each row's install-size closure starts from (distribution, extras).
ROOTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ours_lc": ("vertex-openai", ("langchain",)),
    "ours_li": ("vertex-openai", ("llama-index",)),
    "ours_core": ("vertex-openai", ()),
    "genai_lc": ("langchain-google-genai", ()),
    "vertexai_lc": ("langchain-google-vertexai", ()),
    "genai_li": ("llama-index-llms-google-genai", ()),
    "litellm_vertex": ("litellm", ()),
    "plain_lc": ("langchain-openai", ()),
    "plain_li": ("llama-index-llms-openai-like", ()),
    "plain_sdk": ("openai", ()),
}


def mode_sizes() -> dict[str, Any]:
    import importlib.metadata as md

    try:
        from packaging.requirements import Requirement
        from packaging.utils import canonicalize_name
    except ImportError:  # pragma: no cover
        from pip._vendor.packaging.requirements import Requirement
        from pip._vendor.packaging.utils import canonicalize_name

    dists = {canonicalize_name(d.metadata["Name"]): d for d in md.distributions()}
    size_cache: dict[str, float] = {}

    def dist_size(name: str) -> float:
        if name in size_cache:
            return size_cache[name]
        d = dists[name]
        total = 0
        direct = json.loads(d.read_text("direct_url.json") or "{}")
        if direct.get("dir_info", {}).get("editable"):
            # Editable (this repository): count our package folders as a wheel would.
            url = direct["url"].removeprefix("file://")
            for pkg in ("vertex_openai", "langchain_vertex_openai", "llama_index_vertex_openai"):
                for root, _dirs, files in os.walk(os.path.join(url, pkg)):
                    total += sum(
                        os.path.getsize(os.path.join(root, f))
                        for f in files
                        if not f.endswith(".pyc")
                    )
            total *= 2  # + byte code, about the size of the sources
        for f in d.files or []:
            path = d.locate_file(f)
            with contextlib.suppress(OSError):
                total += os.path.getsize(path)
        size_cache[name] = total / 1e6
        return size_cache[name]

    def closure(root: str, extras: tuple[str, ...]) -> set[str]:
        seen: set[str] = set()
        todo = [(canonicalize_name(root), extras)]
        while todo:
            name, ex = todo.pop()
            if name not in dists:
                continue
            new_extras = tuple(e for e in ex if (name, e) not in seen)  # type: ignore[comparison-overlap]
            if name in seen and not new_extras:
                continue
            seen.add(name)
            for e in new_extras:
                seen.add((name, e))  # type: ignore[arg-type]
            for spec in dists[name].requires or []:
                req = Requirement(spec)
                if req.marker is not None and not any(
                    req.marker.evaluate({"extra": e}) for e in ("", *ex)
                ):
                    continue
                todo.append((canonicalize_name(req.name), tuple(req.extras)))
        return {s for s in seen if isinstance(s, str)}

    out: dict[str, Any] = {}
    for key, (root, extras) in ROOTS.items():
        if canonicalize_name(root) not in dists:
            continue
        names = closure(root, extras)
        out[key] = {"mb": sum(dist_size(n) for n in names), "packages": len(names)}
    return out


def main() -> None:
    mode = sys.argv[1]
    if mode == "sizes":
        print(json.dumps(mode_sizes()))
        return
    if mode == "probe":
        print(json.dumps(mode_probe()))
        return
    origin = sys.argv[2]
    sanitize_env(origin)
    install_socket_guard()
    if mode == "calls":
        result = mode_calls(origin, int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "cold":
        result = mode_cold(origin, sys.argv[3])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
