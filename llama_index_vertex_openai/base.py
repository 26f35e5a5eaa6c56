"""LlamaIndex LLM for Gemini and partner models on Vertex AI's OpenAI-compatible endpoint."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Literal

from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    LLMMetadata,
    MessageRole,
    TextBlock,
    ThinkingBlock,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.llms.openai.utils import from_openai_message, to_openai_message_dict
from llama_index.llms.openai_like import OpenAILike
from openai import AsyncOpenAI

from vertex_openai._clients import VertexConnection
from vertex_openai._constants import (
    EXPRESS_KEY_DROPPED,
    MESSAGE_SIGNATURE_KEY,
    PLACEHOLDER_API_KEY,
    SIGNATURES_KEY,
    THOUGHTS_WIRE_KEY,
)
from vertex_openai._credential_policy import warn_principal_switch
from vertex_openai._errors import (
    VertexConfigError,
    incomplete_stream_error,
    translated_errors,
)
from vertex_openai._gemini import (
    VertexRequestSettings,
    deep_merge,
    effective_thought_marker,
    prepare_chat_request,
)
from vertex_openai._keys import split_api_key
from vertex_openai._messages import (
    ParsedMessage,
    attach_signatures,
    normalize_usage,
    parse_message,
    with_unique_tool_call_ids,
)
from vertex_openai._models import model_info
from vertex_openai._pickling import picklable_state, private_attr
from vertex_openai._sdk_objects import SdkChunkRewriter, ShapedChatClient

__all__ = ["ChatVertexOpenAI", "VertexOpenAI"]

DEFAULT_MODEL = "google/gemini-2.5-flash"
_PRIVATE_KEYS = (SIGNATURES_KEY, MESSAGE_SIGNATURE_KEY)
_EXPRESS_KEY_DROPPED = EXPRESS_KEY_DROPPED
_AUDIO_MIME = {"mp3": "audio/mpeg", "wav": "audio/wav"}


class ChatVertexOpenAI(OpenAILike):
    """Gemini and partner (MaaS) models on Vertex AI, through its OpenAI-compatible API.

    Requests are signed with Google credentials (Application Default Credentials unless
    `credentials` or an express-mode `api_key` is given), refreshed per request.
    Thoughts come back as `ThinkingBlock`s, and Gemini 3 thought signatures are replayed
    automatically, so `FunctionAgent` tool loops need no extra code.

    Examples:
        `pip install "vertex-openai[llama-index]"` and `gcloud auth application-default login`

        ```python
        from llama_index_vertex_openai import ChatVertexOpenAI

        llm = ChatVertexOpenAI(model="google/gemini-2.5-flash", project="my-project")
        print(llm.complete("Hello"))
        ```
    """

    model: str = Field(
        default=DEFAULT_MODEL,
        description="Model id, publisher-prefixed ('google/gemini-2.5-flash', "
        "'meta/llama-3.3-70b-instruct-maas'); optional on a self-deployed endpoint.",
    )
    project: str | None = Field(
        default=None,
        description="Google Cloud project. Env: GOOGLE_CLOUD_PROJECT (GCLOUD_PROJECT, "
        "CLOUD_ML_PROJECT_ID); else the credentials' project.",
    )
    location: str | None = Field(
        default=None,
        description="Region such as 'us-central1', or 'global'. Env: GOOGLE_CLOUD_LOCATION "
        "(GOOGLE_CLOUD_REGION, CLOUD_ML_REGION); default 'global'.",
    )
    endpoint_id: str | None = Field(
        default=None, description="'openapi' (default) or a self-deployed endpoint id."
    )
    api_version: str | None = Field(default=None, description="'v1' (default) or 'v1beta1'.")
    api_endpoint: str | None = Field(
        default=None,
        description="Host or scheme://host:port override (Private Service Connect, proxies, "
        "the local emulator).",
    )
    base_url: str | None = Field(
        default=None, description="Full base URL; wins over every other endpoint setting."
    )
    dedicated_endpoint_dns: str | None = Field(
        default=None, description="Host of a dedicated endpoint."
    )
    credentials: Any = Field(
        default=None,
        exclude=True,
        repr=False,
        description="google.auth Credentials, a key file path or an info dict. Default: "
        "Application Default Credentials (env: GOOGLE_APPLICATION_CREDENTIALS).",
    )
    quota_project: str | None = Field(
        default=None, description="Project billed for quota (x-goog-user-project header)."
    )
    api_key_transport: Literal["header", "query"] = Field(
        default="header",
        description="How an express-mode api_key is sent: 'header' (x-goog-api-key, in no "
        "URL) or 'query' (?key=, visible in URLs that tracing records).",
    )
    allow_non_google_token_urls: bool = Field(
        default=False,
        description="Accept external_account credentials whose token / impersonation URL is "
        "not a Google STS / IAM Credentials host (refused by default).",
    )
    thought_tag_marker: str | None = Field(
        default=None,
        description="Tag Gemini wraps thoughts in; set to 'thought' automatically when "
        "thinking_config.include_thoughts is on.",
    )
    thinking_config: dict[str, Any] | None = Field(
        default=None,
        description="Gemini ThinkingConfig: include_thoughts, thinking_budget or thinking_level.",
    )
    safety_settings: Any = Field(
        default=None,
        description="Gemini safety settings: [{'category': ..., 'threshold': ...}] or "
        "{category: threshold}.",
    )
    cached_content: str | None = Field(
        default=None, description="Context cache resource name (regional locations only)."
    )
    reasoning_effort: str | None = Field(  # type: ignore[assignment]
        default=None,
        description="none, minimal, low, medium or high ('none' turns thinking off where the "
        "model allows it). Not together with thinking_config.",
    )
    api_key: str | None = Field(
        default=None,
        description="Vertex express-mode API key; never read from OPENAI_API_KEY. Stored "
        "privately: this field only ever shows a placeholder.",
    )
    is_chat_model: bool = Field(default=True, description="Always a chat model on Vertex.")
    temperature: float | None = Field(  # type: ignore[assignment]
        default=None,
        ge=0.0,
        le=2.0,
        description="Sampling temperature; None (default) sends none, so the model's own "
        "default applies (Google recommends Gemini 3's default of 1.0: lower values can "
        "cause looping).",
    )

    _connection: VertexConnection = PrivateAttr()
    _settings: VertexRequestSettings = PrivateAttr()
    _express_key_dropped: bool = PrivateAttr(default=False)

    def __init__(
        self,
        model: str | None = None,
        *,
        project: str | None = None,
        location: str | None = None,
        endpoint_id: str | None = None,
        api_version: str | None = None,
        api_endpoint: str | None = None,
        base_url: str | None = None,
        dedicated_endpoint_dns: str | None = None,
        credentials: Any = None,
        api_key: str | None = None,
        quota_project: str | None = None,
        api_key_transport: Literal["header", "query"] = "header",
        allow_non_google_token_urls: bool = False,
        **kwargs: Any,
    ) -> None:
        express_key_dropped = api_key == _EXPRESS_KEY_DROPPED
        if api_key in (PLACEHOLDER_API_KEY, _EXPRESS_KEY_DROPPED):
            api_key = None  # a from_dict / unpickle round trip: the key is not stored
        # An OAuth access token as api_key: a static Bearer token (vertex_openai._keys).
        api_key, credentials = split_api_key(api_key, credentials)
        endpoint_args: dict[str, Any] = {
            "project": project,
            "location": location,
            "endpoint_id": endpoint_id,
            "api_version": api_version,
            "api_endpoint": api_endpoint,
            "dedicated_endpoint_dns": dedicated_endpoint_dns,
            "credentials": credentials,
            "api_key": api_key,
            "quota_project": quota_project,
            "timeout": kwargs.get("timeout", 60.0),
            "api_key_transport": api_key_transport,
            "allow_non_google_token_urls": allow_non_google_token_urls,
        }
        connection = VertexConnection(base_url=base_url, **endpoint_args)
        # `api_base` is LlamaIndex's name for the base URL (OpenAILike users pass it); after
        # a to_dict() round trip it holds the derived URL, which changes nothing.
        api_base = kwargs.pop("api_base", None)
        if api_base and not base_url and api_base.rstrip("/") != connection.base_url:
            base_url = api_base
            connection = VertexConnection(base_url=base_url, **endpoint_args)
        endpoint = connection.endpoint_at_start
        if model is None:
            # A self-deployed endpoint serves its own model: send none rather than Gemini.
            model = "" if endpoint.is_self_deployed else DEFAULT_MODEL
        info = model_info(model)
        kwargs.setdefault("is_function_calling_model", info.supports_function_calling)
        kwargs.setdefault("context_window", info.context_window)
        kwargs.setdefault("is_chat_model", True)
        # The parent defaults to 0.1 and sends it on every request; send none unless set.
        kwargs.setdefault("temperature", None)
        super().__init__(
            model=model,
            project=project,
            location=location,
            endpoint_id=endpoint_id,
            api_version=api_version or endpoint.api_version,
            api_endpoint=api_endpoint,
            base_url=base_url,
            dedicated_endpoint_dns=dedicated_endpoint_dns,
            credentials=credentials,
            quota_project=quota_project,
            api_key_transport=api_key_transport,
            allow_non_google_token_urls=allow_non_google_token_urls,
            # The SDK needs some key; VertexAuth replaces it on every request, and passing
            # one keeps LlamaIndex from reading OPENAI_API_KEY / OPENAI_API_BASE. An
            # express-mode model stores the marker instead, so a to_dict() / from_dict()
            # copy stays an express model that asks for its key, never one signing with
            # the machine's ADC (issue 22).
            api_key=_EXPRESS_KEY_DROPPED
            if api_key is not None or express_key_dropped
            else PLACEHOLDER_API_KEY,
            api_base=connection.base_url,
            **kwargs,
        )
        self._connection = connection
        self._express_key_dropped = express_key_dropped
        self._settings = VertexRequestSettings(
            model=model or None,
            endpoint_id=endpoint.endpoint_id,
            location=endpoint.location,
            thought_tag_marker=self.thought_tag_marker,
            thinking_config=self.thinking_config,
            safety_settings=self.safety_settings,
            cached_content=self.cached_content,
            reasoning_effort=self.reasoning_effort,
        )

    @classmethod
    def class_name(cls) -> str:
        return "ChatVertexOpenAI"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_tokens or model_info(self.model).max_output_tokens,
            is_chat_model=self.is_chat_model,
            is_function_calling_model=self.is_function_calling_model,
            model_name=self.model,
        )

    def describe_credentials(self) -> str:
        """What signs the requests (never a secret)."""
        return self._connection.describe_credentials()

    def _chat_url(self) -> str:
        return f"{self._connection.endpoint.base_url}/chat/completions"

    # -- pickling: never a key, a token or live credentials ------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = picklable_state(
            super().__getstate__(),
            clear_private=("_connection", "_client", "_aclient", "_http_client",
                           "_async_http_client"),
        )
        if self._connection.token_provider is None and not self._express_key_dropped:
            state["__dict__"]["api_key"] = _EXPRESS_KEY_DROPPED
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        warn_principal_switch(state, type(self).__name__)

    # -- clients and request params ------------------------------------------------------

    def _get_credential_kwargs(self, is_async: bool = False) -> dict[str, Any]:
        if self._express_key_dropped:
            msg = (
                "This ChatVertexOpenAI was unpickled (or rebuilt by from_dict) from an "
                "express-mode instance; API keys are never written out. Create it again with "
                "api_key=..."
            )
            raise VertexConfigError(msg)
        conn = self._connection
        # A fresh signing client per SDK client: with reuse_client=False LlamaIndex closes
        # the SDK client (and so its http client) after each call. A user's own
        # http_client / async_http_client is sent through, never modified or closed.
        if is_async:
            http_client = conn.async_http_client(self._async_http_client)
        else:
            http_client = conn.http_client(self._http_client)
        return {
            "api_key": PLACEHOLDER_API_KEY,
            "base_url": conn.base_url,
            "max_retries": self.max_retries,
            "timeout": self.timeout,
            "default_headers": self.default_headers,
            "http_client": http_client,
        }

    def _get_model_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        # Precedence: instance fields < additional_kwargs < per-call kwargs (the parent
        # lets additional_kwargs override per-call kwargs), merged deeply so extra_body
        # from different levels combines.
        params = super()._get_model_kwargs()
        params = deep_merge(params, kwargs)
        if not params.get("stream"):
            params.pop("stream_options", None)
        for key in ("tools", "tool_choice", "temperature"):
            if key in params and params[key] is None:
                del params[key]
        return params

    def _request(
        self, messages: Sequence[ChatMessage], stream: bool, kwargs: dict[str, Any]
    ) -> tuple[dict[str, Any], str | None]:
        """The create() kwargs for `messages`, and the thought marker in effect."""
        params = {
            "messages": [self._to_wire(m) for m in messages],
            **self._get_model_kwargs(stream=stream, **kwargs),
        }
        params = prepare_chat_request(params, private_attr(self, "_settings"))
        return params, effective_thought_marker(params)

    def _chat_response(self, response: Any, marker: str | None) -> ChatResponse:
        """Parse a ChatCompletion as `_chat` does, without a server (tests use it).

        The same steps as `_chat`: our normalisation, the parent's `from_openai_message`
        and token counts, then what only we know.
        """
        call = _Call([])
        call.marker = marker
        response = call.normalize(response)
        message = from_openai_message(response.choices[0].message, modalities=["text"])
        counts = self._get_response_token_counts(response)
        parsed = ChatResponse(message=message, raw=response, additional_kwargs=counts)
        return call.finish_response(parsed)

    def _to_wire(self, message: ChatMessage) -> dict[str, Any]:
        extras = message.additional_kwargs
        update: dict[str, Any] = {}
        if any(key in extras for key in _PRIVATE_KEYS):
            update["additional_kwargs"] = {
                k: v for k, v in extras.items() if k not in _PRIVATE_KEYS
            }
        clean = message.model_copy(update=update) if update else message
        url_blocks = any(_is_url_only(b) for b in message.blocks)
        if url_blocks and message.role != MessageRole.ASSISTANT:
            wire: dict[str, Any] = {
                "role": message.role.value,
                "content": [self._part(b) for b in message.blocks],
            }
        else:
            wire = dict(to_openai_message_dict(clean, model=self.model))
        if message.role == MessageRole.ASSISTANT:
            wire = attach_signatures(
                wire, extras.get(SIGNATURES_KEY), extras.get(MESSAGE_SIGNATURE_KEY)
            )
            thoughts = "".join(
                b.content or "" for b in message.blocks if isinstance(b, ThinkingBlock)
            )
            if thoughts:
                wire[THOUGHTS_WIRE_KEY] = thoughts  # the core tags them or drops them
        return wire

    def _part(self, block: ContentBlock) -> dict[str, Any]:
        """One content part; URL-only audio/documents go by reference (gs://, https)."""
        if isinstance(block, AudioBlock) and _is_url_only(block):
            fmt = block.format or "mp3"
            mime = fmt if "/" in fmt else _AUDIO_MIME.get(fmt, f"audio/{fmt}")
            return {"type": "input_audio", "input_audio": {"data": str(block.url), "format": mime}}
        if isinstance(block, DocumentBlock) and _is_url_only(block):
            return {"type": "image_url", "image_url": {"url": str(block.url)}}
        if isinstance(block, TextBlock):
            return {"type": "text", "text": block.text}
        part = to_openai_message_dict(ChatMessage(role=MessageRole.USER, blocks=[block, _EMPTY]))
        content: Any = part["content"]
        return dict(content[0])

    # -- the parent's conversion points ---------------------------------------------------
    #
    # The parent's _chat / _stream_chat (with its retry decorator, additional_kwargs
    # tool_calls, ToolCallBlocks, token counts, thinking_delta) run unchanged. They get
    # their client from _get_client(); ours wraps it so that create() sends the request
    # Vertex needs (built from the original ChatMessages) and hands the parent a response
    # already normalised: thoughts moved to reasoning_content, unique tool-call ids, one
    # tool call per stream chunk. _chat / _stream_chat then only add what the parent
    # cannot know (signatures, images, thought token counts). The parent is handed no
    # messages (_CONVERTED_BY_US): it would only convert them with
    # to_openai_message_dicts, which cannot take gs:// audio/documents and drops
    # signatures; create() converts the call's own messages instead.

    def _get_client(self) -> Any:
        return _vertex_client(super()._get_client(), self, _CALL.get())

    def _get_aclient(self) -> Any:
        return _vertex_client(super()._get_aclient(), self, _CALL.get())

    def _get_response_token_counts(self, raw_response: Any) -> dict[str, Any]:
        call = _CALL.get()
        if call is not None and call.normalized is raw_response:
            return _usage_kwargs(call.usage)  # normalised already, by create()
        usage = getattr(raw_response, "usage", None)
        if usage is None and isinstance(raw_response, Mapping):
            usage = raw_response.get("usage")
        return _usage_kwargs(normalize_usage(usage))

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        call = _Call(messages)
        with call:
            response = super()._chat(_CONVERTED_BY_US, **kwargs)
        return call.finish_response(response)

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        call = _Call(messages)
        with call:
            response = await super()._achat(_CONVERTED_BY_US, **kwargs)
        return call.finish_response(response)

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        call = _Call(messages)
        with call:
            parent = super()._stream_chat(_CONVERTED_BY_US, **kwargs)

        def gen() -> Generator[ChatResponse, None, None]:
            for response in parent:
                yield call.finish_chunk_response(response)

        return gen()

    async def _astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        call = _Call(messages)
        with call:
            parent = await super()._astream_chat(_CONVERTED_BY_US, **kwargs)

        async def gen() -> AsyncGenerator[ChatResponse, None]:
            async for response in parent:
                yield call.finish_chunk_response(response)

        return gen()


VertexOpenAI = ChatVertexOpenAI
"""Alias in LlamaIndex's naming style (`OpenAI`, `AzureOpenAI`, `OpenAILike`)."""

_EMPTY = TextBlock(text="")


def _is_url_only(block: ContentBlock) -> bool:
    if isinstance(block, AudioBlock):
        return block.url is not None and block.audio is None and block.path is None
    if isinstance(block, DocumentBlock):
        return block.url is not None and block.data is None and block.path is None
    return False


def _signature_kwargs(signatures: Mapping[str, str], message_sig: str | None) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    if signatures:
        extras[SIGNATURES_KEY] = dict(signatures)
    if message_sig:
        extras[MESSAGE_SIGNATURE_KEY] = message_sig
    return extras


def _usage_kwargs(usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """LlamaIndex's token-count keys; completion includes reasoning (what is billed)."""
    if not usage:
        return {}
    return {
        "prompt_tokens": usage["input_tokens"],
        "completion_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
        "reasoning_tokens": usage["reasoning_tokens"],
        "cached_tokens": usage["cached_tokens"],
    }


class _Call:
    """One chat call: its ChatMessages, and what the response held for _chat to add."""

    def __init__(self, messages: Sequence[ChatMessage]) -> None:
        self.messages = list(messages)
        self.marker: str | None = None
        self.parsed: ParsedMessage | None = None
        self.usage: dict[str, Any] | None = None
        self.chunks: SdkChunkRewriter | None = None
        self.normalized: Any = None  # the response normalize() returned
        self._token: Any = None

    def __enter__(self) -> _Call:
        # The current call, for the client our _get_client() hands the parent (a class,
        # not a generator context manager: this runs on every call).
        self._token = _CALL.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _CALL.reset(self._token)

    # -- non-stream ----------------------------------------------------------------------

    def normalize(self, response: Any) -> Any:
        """The ChatCompletion as the parent should parse it (a copy when changed)."""
        response = with_unique_tool_call_ids(response)
        choices = getattr(response, "choices", None)
        if not choices:
            return response
        parsed = parse_message(choices[0].message, self.marker)
        self.parsed = parsed
        self.usage = normalize_usage(getattr(response, "usage", None))
        message = choices[0].message
        answer = parsed.content or (None if parsed.tool_calls or parsed.images else "")
        if message.content != answer or parsed.thoughts:
            response = response.model_copy(deep=True)
            message = response.choices[0].message
            message.content = answer
            if parsed.thoughts:
                message.reasoning_content = parsed.thoughts  # what the parent reads as thinking
        self.normalized = response
        return response

    def finish_response(self, response: ChatResponse) -> ChatResponse:
        parsed = self.parsed
        if parsed is None:
            return response
        message = response.message
        message.additional_kwargs.update(
            _signature_kwargs(parsed.tool_call_signatures, parsed.message_signature)
        )
        if parsed.thoughts:
            response.additional_kwargs["thinking"] = parsed.thoughts
            reasoning = (self.usage or {}).get("reasoning_tokens")
            for block in message.blocks:
                if isinstance(block, ThinkingBlock) and block.num_tokens is None:
                    block.num_tokens = reasoning
        message.blocks.extend(
            ImageBlock(image=i["data"].encode(), image_mimetype=i["mime_type"])
            for i in parsed.images
        )
        if not message.blocks:
            message.blocks.append(TextBlock(text=""))
        return response

    # -- stream --------------------------------------------------------------------------

    def finish_chunk_response(self, response: ChatResponse) -> ChatResponse:
        if self.chunks is not None:
            acc = self.chunks.acc
            response.message.additional_kwargs.update(
                _signature_kwargs(acc.signatures, acc.message_signature)
            )
        return response


_CONVERTED_BY_US: tuple[ChatMessage, ...] = ()
"""What the parent's _chat is given as messages: create() sends the call's own."""

_CALL: ContextVar[_Call | None] = ContextVar("vertex_llama_index_call", default=None)


class _VertexCompletions:
    """`client.chat.completions` whose create() sends what Vertex needs."""

    def __init__(self, inner: Any, llm: ChatVertexOpenAI, call: _Call | None) -> None:
        self._inner = inner
        self._llm = llm
        self._call = call

    def _params(self, kwargs: dict[str, Any]) -> tuple[_Call, dict[str, Any]]:
        call = self._call
        params = dict(kwargs)
        settings = private_attr(self._llm, "_settings")
        if call is None:  # a parent path that did not go through _chat: dicts as given
            call = _Call([])
            messages = params.pop("messages", [])
            params = prepare_chat_request({"messages": messages, **params}, settings)
            call.marker = effective_thought_marker(params)
            return call, params
        params.pop("messages", None)
        # The parent built these kwargs with our _get_model_kwargs already.
        wire = [self._llm._to_wire(m) for m in call.messages]
        params = prepare_chat_request({"messages": wire, **params}, settings)
        call.marker = effective_thought_marker(params)
        return call, params

    def create(self, **kwargs: Any) -> Any:
        call, params = self._params(kwargs)
        url = self._llm._chat_url
        with translated_errors(url):
            response = self._inner.create(**params)
        if not params.get("stream"):
            return call.normalize(response)
        rewriter = call.chunks = SdkChunkRewriter(call.marker, getattr(response, "response", None))

        def chunks() -> Generator[Any, None, None]:
            with translated_errors(url):
                for chunk in response:
                    yield from rewriter.rewrite(chunk)
            if not rewriter.finished:
                raise incomplete_stream_error(url())
            yield from rewriter.rest()

        return chunks()


class _AsyncVertexCompletions(_VertexCompletions):
    async def create(self, **kwargs: Any) -> Any:  # type: ignore[override]
        call, params = self._params(kwargs)
        url = self._llm._chat_url
        with translated_errors(url):
            response = await self._inner.create(**params)
        if not params.get("stream"):
            return call.normalize(response)
        rewriter = call.chunks = SdkChunkRewriter(call.marker, getattr(response, "response", None))

        async def chunks() -> AsyncGenerator[Any, None]:
            with translated_errors(url):
                async for chunk in response:
                    for piece in rewriter.rewrite(chunk):
                        yield piece
            if not rewriter.finished:
                raise incomplete_stream_error(url())
            for piece in rewriter.rest():
                yield piece

        return chunks()


def _vertex_client(inner: Any, llm: ChatVertexOpenAI, call: _Call | None) -> Any:
    """The parent's openai client, with `chat.completions.create` shaped for Vertex."""
    kind = _AsyncVertexCompletions if isinstance(inner, AsyncOpenAI) else _VertexCompletions
    return ShapedChatClient(inner, kind(inner.chat.completions, llm, call))
