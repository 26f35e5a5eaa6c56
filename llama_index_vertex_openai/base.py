"""LlamaIndex LLM for Gemini and partner models on Vertex AI's OpenAI-compatible endpoint."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Sequence
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
    VideoBlock,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.llms.openai.utils import to_openai_message_dict
from llama_index.llms.openai_like import OpenAILike

from vertex_openai import _call_shaping as shaping
from vertex_openai._call_shaping import FinishingCall
from vertex_openai._clients import VertexConnection
from vertex_openai._constants import EXPRESS_KEY_DROPPED, PLACEHOLDER_API_KEY
from vertex_openai._credential_policy import warn_principal_switch
from vertex_openai._errors import VertexConfigError
from vertex_openai._gemini import (
    VertexRequestSettings,
    effective_thought_marker,
    prepare_chat_request,
)
from vertex_openai._keys import split_api_key
from vertex_openai._messages import replay_fields
from vertex_openai._models import model_info
from vertex_openai._options import ConnectionOptions, request_settings
from vertex_openai._pickling import picklable_state, private_attr
from vertex_openai._sdk_objects import CALL_KWARG, SdkCall, ShapedChatClient, shaped_client
from vertex_openai._token_count import acount_message_tokens, count_message_tokens

__all__ = ["ChatVertexOpenAI", "VertexOpenAI"]

DEFAULT_MODEL = "google/gemini-2.5-flash"
_EXPRESS_KEY_DROPPED = EXPRESS_KEY_DROPPED
_MEDIA = {ImageBlock: "image", AudioBlock: "audio", DocumentBlock: "file", VideoBlock: "video"}


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
    fallback_locations: list[str] | None = Field(
        default=None,
        description="Locations that get the same request, in order, when the one in use "
        "answers 429 RESOURCE_EXHAUSTED or 503 UNAVAILABLE (e.g. ['europe-west4', 'global']). "
        "Default None: requests never leave `location` (data residency). The answering "
        "location is in ChatResponse.additional_kwargs['vertex_location']. See "
        "docs/failover.md.",
    )
    reasoning_effort: str | None = Field(  # type: ignore[assignment]
        default=None,
        description="none, minimal, low, medium or high ('none' turns thinking off where the "
        "model allows it). Not together with thinking_config.",
    )
    shared_request_type: Literal["priority"] | None = Field(
        default=None,
        description="'priority' for Priority pay-as-you-go (header "
        "X-Vertex-AI-LLM-Shared-Request-Type; global endpoint only).",
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

    require_finish_reason: bool | None = Field(
        default=None,
        description="Raise when a stream ends without a finish_reason (it was cut off). "
        "None (default): for Google-managed models, which always send one; not for "
        "self-deployed endpoints, which may end with [DONE] alone.",
    )

    _connection: VertexConnection = PrivateAttr()
    _settings: VertexRequestSettings = PrivateAttr()
    _shaped: dict[bool, ShapedChatClient] = PrivateAttr(default_factory=dict)
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
        api_key: str | Callable[[], Any] | None = None,
        quota_project: str | None = None,
        api_key_transport: Literal["header", "query"] = "header",
        fallback_locations: list[str] | None = None,
        allow_non_google_token_urls: bool = False,
        **kwargs: Any,
    ) -> None:
        express_key_dropped = api_key == _EXPRESS_KEY_DROPPED
        if api_key in (PLACEHOLDER_API_KEY, _EXPRESS_KEY_DROPPED):
            api_key = None  # a from_dict / unpickle round trip: the key is not stored
        # An OAuth access token as api_key: a static Bearer token (vertex_openai._keys).
        if not callable(api_key):
            api_key, credentials = split_api_key(api_key, credentials)
        fields: dict[str, Any] = {  # for the connection and the parent alike
            "project": project,
            "location": location,
            "endpoint_id": endpoint_id,
            "api_version": api_version,
            "api_endpoint": api_endpoint,
            "dedicated_endpoint_dns": dedicated_endpoint_dns,
            "credentials": credentials,
            "quota_project": quota_project,
            "api_key_transport": api_key_transport,
            "fallback_locations": fallback_locations,
            "allow_non_google_token_urls": allow_non_google_token_urls,
        }
        options = {**fields, "api_key": api_key, "timeout": kwargs.get("timeout", 60.0)}
        connection = ConnectionOptions.build(base_url=base_url, **options).connect()
        # `api_base` is LlamaIndex's name for the base URL (OpenAILike users pass it); after
        # a to_dict() round trip it holds the derived URL, which changes nothing.
        api_base = kwargs.pop("api_base", None)
        if api_base and not base_url and api_base.rstrip("/") != connection.base_url:
            base_url = api_base
            connection = ConnectionOptions.build(base_url=base_url, **options).connect()
        endpoint = connection.endpoint_at_start
        kwargs = shaping.constructor_kwargs(kwargs, type(self).model_fields, type(self).__name__)
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
            **{**fields, "api_version": api_version or endpoint.api_version},
            model=model,
            base_url=base_url,
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
        self._settings = request_settings(self, model=model or None, endpoint=endpoint)

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this class under."""
        return "ChatVertexOpenAI"

    @property
    def metadata(self) -> LLMMetadata:
        """Context window and output limit from the model table (not OpenAI's list)."""
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_tokens or model_info(self.model).max_output_tokens,
            is_chat_model=self.is_chat_model,
            is_function_calling_model=self.is_function_calling_model,
            model_name=self.model,
        )

    # -- token counting: Vertex countTokens for Gemini, offline else (no tiktoken) -------

    def count_tokens(
        self, messages: Sequence[ChatMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Count the input tokens of `messages` (and OpenAI-style `tools`).

        Gemini: one request to Vertex's ``countTokens`` (text, images, tool calls, tools
        and system messages, counted by Vertex); partner and self-deployed models: an
        offline estimate. No tokenizer is downloaded and no other host is contacted.
        """
        client = super()._get_client()
        wire = [self._to_wire(m) for m in messages]
        return count_message_tokens(
            client, self._connection.endpoint, self.model, wire, shaping.tool_dicts(tools)
        )

    async def acount_tokens(
        self, messages: Sequence[ChatMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Async :meth:`count_tokens`."""
        client = super()._get_aclient()
        wire = [self._to_wire(m) for m in messages]
        return await acount_message_tokens(
            client, self._connection.endpoint, self.model, wire, shaping.tool_dicts(tools)
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
            clear_private=(
                "_connection",
                "_client",
                "_aclient",
                "_http_client",
                "_async_http_client",
                "_shaped",
            ),
        )
        if self._connection.options.token_function is not None:
            raise shaping.callable_key_pickle_error(type(self).__name__)
        if self._connection.token_provider is None and not self._express_key_dropped:
            state["__dict__"]["api_key"] = _EXPRESS_KEY_DROPPED
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        warn_principal_switch(state, type(self).__name__)

    # -- clients and request params ------------------------------------------------------

    def _get_credential_kwargs(self, is_async: bool = False) -> dict[str, Any]:
        if self._express_key_dropped:
            raise shaping.express_key_dropped_error(type(self).__name__)
        conn = self._connection
        # A fresh signing client per SDK client: with reuse_client=False LlamaIndex closes
        # the SDK client (and so its http client) after each call. A user's own
        # http_client / async_http_client is sent through, never modified or closed.
        user_client = self._async_http_client if is_async else self._http_client
        return {
            **conn.sdk_client_kwargs(is_async, http_client=user_client),
            "max_retries": self.max_retries,
            "timeout": self.timeout,
            "default_headers": self.default_headers,
        }

    def _get_model_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        # Per-call kwargs win over additional_kwargs (the parent has it the other way).
        return shaping.merge_model_kwargs(super()._get_model_kwargs(), kwargs)

    def _to_wire(self, message: ChatMessage) -> dict[str, Any]:
        extras = message.additional_kwargs
        public = shaping.without_private_keys(extras)
        update = {} if public is None else {"additional_kwargs": public}
        clean = message.model_copy(update=update) if update else message
        media = any(isinstance(b, tuple(_MEDIA)) for b in message.blocks)
        if media and message.role != MessageRole.ASSISTANT:
            # Media by the core's one rule (the same parts as the LangChain class sends).
            wire: dict[str, Any] = {
                "role": message.role.value,
                "content": [_media_part(b) for b in message.blocks],
            }
        else:
            wire = dict(to_openai_message_dict(clean, model=self.model))
        if message.role == MessageRole.ASSISTANT:
            thoughts = "".join(
                b.content or "" for b in message.blocks if isinstance(b, ThinkingBlock)
            )
            wire = replay_fields(extras, wire, thoughts)  # the core tags thoughts or drops them
        return wire

    # -- the parent's conversion points ---------------------------------------------------
    #
    # The parent's _chat / _stream_chat (retry decorator, additional_kwargs tool_calls,
    # ToolCallBlocks, token counts, thinking_delta) run unchanged. Ours pass them the call
    # (a _Call) as a keyword argument, which the parent forwards through _get_model_kwargs
    # to chat.completions.create(); the client _get_client() returns (built once per SDK
    # client) builds the request from the call's own ChatMessages (_shape) and hands the
    # parent a normalised response. The parent gets no messages to convert: its
    # to_openai_message_dicts would fetch URL-only documents and drop signatures.

    def _shape(self, call: SdkCall, params: dict[str, Any]) -> dict[str, Any]:
        """The create() kwargs for one call: its messages converted, the request shaped."""
        wire = [self._to_wire(m) for m in call.messages]
        params = prepare_chat_request({"messages": wire, **params}, private_attr(self, "_settings"))
        call.marker = effective_thought_marker(params)
        return params

    def _stream_cut_off(self) -> bool:
        if self.require_finish_reason is not None:
            return self.require_finish_reason
        return not self._connection.endpoint.is_self_deployed

    def _shaped_client(self, inner: Any, is_async: bool) -> Any:
        cache = self._shaped if self._shaped is not None else {}  # None after unpickling
        shaped = cache.get(is_async)
        if shaped is None or shaped._inner is not inner:
            shaped = shaped_client(inner, self._shape, self._chat_url, self._stream_cut_off)
            if self.reuse_client:
                self._shaped = {**cache, is_async: shaped}
        return shaped

    def _get_client(self) -> Any:
        return self._shaped_client(super()._get_client(), False)

    def _get_aclient(self) -> Any:
        return self._shaped_client(super()._get_aclient(), True)

    def _get_response_token_counts(self, raw_response: Any) -> dict[str, Any]:
        return shaping.response_usage_counts(raw_response)

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        call = _Call(messages)
        return call.finish_response(super()._chat([], **{CALL_KWARG: call}, **kwargs))

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        call = _Call(messages)
        return call.finish_response(await super()._achat([], **{CALL_KWARG: call}, **kwargs))

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        call = _Call(messages)
        parent = super()._stream_chat([], **{CALL_KWARG: call}, **kwargs)

        def gen() -> Generator[ChatResponse, None, None]:
            for response in parent:
                yield call.finish_chunk_response(response)

        return gen()

    async def _astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        call = _Call(messages)
        parent = await super()._astream_chat([], **{CALL_KWARG: call}, **kwargs)

        async def gen() -> AsyncGenerator[ChatResponse, None]:
            async for response in parent:
                yield call.finish_chunk_response(response)

        return gen()


VertexOpenAI = ChatVertexOpenAI
"""Alias in LlamaIndex's naming style (`OpenAI`, `AzureOpenAI`, `OpenAILike`)."""


def _media_part(block: ContentBlock) -> dict[str, Any]:
    """One content part, by the core's rule (`media_part`); blocks only supply fields."""
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    kind = next((v for cls, v in _MEDIA.items() if isinstance(block, cls)), None)
    if kind is None:
        msg = f"{type(block).__name__} cannot be sent to Vertex in a user message."
        raise VertexConfigError(msg)
    return shaping.block_part(kind, block)


class _Call(FinishingCall):
    """One chat call: its ChatMessages, and what the response held for _chat to add."""

    def finish_response(self, response: ChatResponse) -> ChatResponse:
        response.additional_kwargs.update(self.response_extras())
        if self.parsed is None:
            return response
        message = response.message
        message.additional_kwargs.update(self.message_extras())
        for block in message.blocks:
            if isinstance(block, ThinkingBlock) and block.num_tokens is None:
                block.num_tokens = self.reasoning_tokens
        message.blocks.extend(
            ImageBlock(image=i["data"].encode(), image_mimetype=i["mime_type"]) for i in self.images
        )
        if not message.blocks:
            message.blocks.append(TextBlock(text=""))
        return response

    def finish_chunk_response(self, response: ChatResponse) -> ChatResponse:
        response.additional_kwargs.update(self.response_extras())
        response.message.additional_kwargs.update(self.message_extras())
        return response
