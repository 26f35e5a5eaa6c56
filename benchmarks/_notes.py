"""Hand-written analysis shown under "Goals not met" (keyed by ``Row.bench``).

Keep these in step with the code: they explain measured gaps (with the profile that
found them) and the plan to close them. The tables printed under sections 1 and 2 are
regenerated on every run; these words are not.
"""

from __future__ import annotations

NOTES: dict[str, str] = {
    "1 per-call overhead": """\
The client path of one call costs about 1.2-1.8 ms of CPU on this machine; ours adds about
60-90 µs to it (all CPU: the token is cached, nothing is refreshed or fetched on this
path). The attribution table in section 1 times each of our steps alone against the
parent's implementation on the same object (about 35 µs in all: payload +8, result +11,
invocation params +2, auth flow +11); a cProfile diff of the whole call against the
parent's (CPU timer, both classes alternating) finds the rest outside our functions:

- httpx validates the request path character by character (`httpx/_urlparse.py`, 100
  vs 42 steps per call: `/v1/projects/P/locations/L/endpoints/openapi/chat/completions`
  against `/v1/chat/completions`), about 10 µs. Inherent to the endpoint.
- The `openai-*` header scan in `VertexAuth._target` (a generator over all raw headers,
  9 per request) and the Authorization redaction after the response: ~5 µs.
- Pydantic private attributes (`self._settings`, `self._connection`) served by
  `BaseModel.__getattr__`, ~1 µs per read, 5 reads per call.

Done after the first profiles (each measured): no second `model_dump` of the response;
the model table, model-id normalisation and the endpoint's trusted hosts cached; the
project placeholder tested on `raw_path`; the OpenAI-only headers stripped only when
present; the Gemini identity params computed once per model; `prepare_chat_request`
skips its merges when a request carries no Google keys (now 2.7 µs in all); the LangChain
payload no longer re-parses a message list; error translation is a class-based context
manager; the emulator's 40 ms delayed-ACK stall is gone (tests).

What is left, and the plan (each item is in a file another branch is rewriting this
round, so none was done here; measure again after those merges):

1. `VertexAuth._target` (`vertex_openai/_auth.py`): test `b"openai-"` headers with one
   `bytes.join` + `in` instead of a generator per header; skip the trust check for the
   origin vetted at construction (it cannot change without `_target` itself). ~5 µs.
2. LangChain `_create_chat_result` (`langchain_vertex_openai/chat_models.py`, ~11 µs):
   skip `parse_message` when the content has no `<` and the message no
   `extra_content` / audio (the common answer), and normalise usage only when present.
3. Read the pydantic private attributes once per call into locals (both classes).
4. LlamaIndex `_request` (~9 µs): skip the signature/thought re-attachment for
   non-assistant messages early (the class is being refactored to let the parent parse,
   which should remove most of `_chat_response`'s +4 µs too).

Items 1-4 are worth about 25-35 µs per call: the ratios would be about 1.03-1.04.""",
    "2 streaming": """\
LangChain streaming adds about 10 µs of CPU per chunk on top of ~93 µs (1.11x; the table
under section 2). This round the thought-tag parser got a fast path (a chunk without
`<` can hold no tag nor tag prefix): `ThoughtParser.feed` went from 0.54 to 0.12 µs per
chunk on this stream and `rewrite_chunk` from 8 to ~3 µs. The parent's converter is not
slower on our rewritten chunks (last row of the table).

Done after the first profiles: one conversion per chunk (no placeholder chunk per delta;
the per-stream state reaches `_convert_chunk_to_generation_chunk` through a context
variable set around each step of the parent's stream); plain-dict checks without the
`Mapping` ABC; no copies of the chunk dict in `feed()`; a chunk whose delta is plain
answer text is passed on unchanged; the parser's fast path.

Where the remaining ~7 µs per chunk go (cProfile diff of `stream()` against the
parent's): `StreamAccumulator.feed` / `rewrite_chunk` and their helpers (`_is_map`
10 calls per chunk, `google_extra` twice, `_signature`, `_reasoning_text`), about 3-4
µs; the override of `_convert_chunk_to_generation_chunk` (response metadata, kwargs),
~1.5 µs; the wrapper around the parent's generator (a context variable set and reset
per step, one more generator frame), ~1 µs. Plan: in `StreamAccumulator` (being
rewritten in another branch) look at the delta once (one `get` of `extra_content`,
thoughts and signatures together) instead of one helper per field, and return the chunk
untouched when it has none of them (60 % of this stream's chunks carry thought text, so
that alone does not apply to them); set the context variable once per stream when the
stream is consumed in one context. That should bring LangChain to about 1.06-1.08x.

The first answer token is emitted in the very chunk that carries it (lag 0 chunks): the
parser holds back at most `len("</thought>") - 1` characters and never a whole chunk.
LlamaIndex streaming and LangChain `astream` meet the goal: they feed the same
`StreamAccumulator`.""",
    "3 concurrency": """\
This ratio is noisy (0.8-1.2 between runs on this machine): at concurrency 100 both
classes spend most of their CPU in httpx's connection pool (`httpcore`
`_assign_requests_to_connections` is O(connections x waiting requests) per event, plus
a `poll()` per idle connection in `has_expired`), and a round in which the pooled
connections have to be re-opened (the emulator closes idle keep-alive connections after
5 s) costs seconds for either class. The table therefore uses the fastest of many short
alternating rounds; medians and totals are in the notes.

What is ours, and what was done about it: with 2 s tokens every round meets a token past
its refresh point. The first profiles showed each of the ~100 waiting coroutines hopping
to a worker thread to queue on the refresh lock; now one coroutine per event loop
refreshes and the others await it (sharing its error too). The refresh margin is half
of a short token's life (google-auth's 3 min 45 s for real one-hour tokens), and a 401
resend never reuses a token obtained before the failed request was signed; on the
loaded machine this took the run from 15 errors and 78 re-sent 401s to 0 errors and a
handful of 401s, each recovered by its one resend.""",
    "4 import": """\
`import vertex_openai` loads its public names lazily (PEP 562): it imports neither the
openai SDK nor google-auth, and google-auth's `requests` transport and the emulator stay
unloaded until first use (tests/core/test_imports.py asserts this). The row
`vertex_openai._clients` is what a user of the core really imports (the client and the
SDK). The framework packages add a dozen small modules to their parents (the `-X
importtime` lines above: about 15-30 ms of module time on 0.9-1.3 s). Across runs on this
busy machine these ratios move by several per cent with n=15 while the module time
stays at a few ms: importing `openai` itself varies by +-100 ms from one process to the
next (one full garbage collection of its ~1,200 modules' objects falls inside the
import), so a result just above 1.10x for these pairs is noise, not our code. The
LangChain class costs about 20-25 ms of its own because pydantic builds the schema of the
`ChatVertexOpenAI` subclass at import (`langchain_vertex_openai.chat_models` in the list
above); `model_config["defer_build"]` could move that to the first instantiation (that
file is being refactored in another branch; not touched here).""",
    "4 memory": """\
See the RSS figures under section 4b.""",
    "6 alternatives": """\
Per call and per stream chunk we are the cheapest of all (rows above). Where we are not
the first, it is the cold start, and the cold-start table in section 6 says why: our
classes cost what their parents cost (`langchain_openai.ChatOpenAI`, `OpenAILike`,
within a few per cent and ~10 MB of RSS), and the parents are built on the openai SDK,
whose import plus the resource modules it loads when the first client is made is
~0.4 s + ~0.3 s of CPU and ~50 MB (about 1,200 modules of generated types). The
google-genai SDK behind `ChatGoogleGenerativeAI` and `GoogleGenAI` is smaller
(`langchain_google_genai` imports in ~0.35 s on top of `langchain_core`; `import
langchain_openai` is ~0.85 s because it imports the SDK). That gap is the price of
being a drop-in `ChatOpenAI` / `OpenAILike` subclass, which is the product; it is not in
our code (`-X importtime` in section 4a: ~15-30 ms of our own modules).

What is ours in the cold start: the first request imports google-auth's `requests`
transport (it imports `google.oauth2.service_account`, hence `cryptography`): about
20-40 ms and ~10 MB more than the parent's first call (the cold-start table: import +
first call minus import, ours against our parent), because the token provider refreshes
once before trusting a token.
ChatGoogleGenerativeAI given the same valid static credentials sends them as they are.
With real credentials (service account, ADC) every client pays that refresh.

The install size: `vertex-openai[langchain]` is ~10 % larger than
`langchain-google-genai` (the openai SDK, `tiktoken` and `requests` for google-auth's
transport against google-genai and its `websockets`); `[llama-index]` is the same size
as `llama-index-llms-google-genai` (llama-index-core dominates both). `ChatVertexAI`
(google-cloud-aiplatform, BigQuery, Storage, ...) and LiteLLM are 3-6x larger.

Plan (not done here): a lazy `openai` inside `langchain_openai` is not ours to change;
what we can do is (1) let `TokenProvider` use a credentials object's own valid token
for its first request (refreshing only when it nears expiry), so the transport import
moves to the first refresh, and (2) `defer_build` on the LangChain class (section 4a).
Both are in files other branches are rewriting this round (`_auth.py`,
`langchain_vertex_openai/chat_models.py`).""",
}
