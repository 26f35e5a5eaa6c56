"""Gemini and Model Garden chat models on Vertex AI's OpenAI-compatible Chat Completions API."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, cast

import openai
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput, ModelProfile
from langchain_core.language_models.chat_models import LangSmithParams
from langchain_core.load.serializable import SerializedConstructor, SerializedNotImplemented
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_openai import ChatOpenAI
from langchain_openai.chat_models.base import (
    OpenAIContextOverflowError,
)
from pydantic import Field, PrivateAttr, SecretStr, model_validator
from typing_extensions import Self

from langchain_vertex_openai._blocks import MODEL_PROVIDER
from langchain_vertex_openai._connection_fields import VertexConnectionFields
from langchain_vertex_openai._parent_clients import parent_wire, set_signed_clients
from vertex_openai import _chat_calls as calls
from vertex_openai import _chat_fields as fields
from vertex_openai import _chat_results as results
from vertex_openai import _gemini as gemini
from vertex_openai import _messages as msgs
from vertex_openai._errors import VertexContextOverflowError
from vertex_openai._models import model_profile
from vertex_openai._options import request_settings
from vertex_openai._pickling import private_attr
from vertex_openai._token_count import acount_message_tokens, count_message_tokens

__all__ = ["ChatVertexOpenAI", "ContextOverflowError"]


class ContextOverflowError(OpenAIContextOverflowError, VertexContextOverflowError):
    """Vertex's context-overflow 400, as LangChain's context-overflow error.

    Vertex answers "The input token count (N) exceeds the maximum number of tokens allowed
    (M)."; this class is langchain-openai's ``OpenAIContextOverflowError`` (a LangChain
    ``ContextOverflowError``, which ``SummarizationMiddleware`` catches to summarise and
    retry) and the core's ``VertexContextOverflowError``; both are
    ``openai.BadRequestError``.
    """


class ChatVertexOpenAI(VertexConnectionFields, ChatOpenAI):  # type: ignore[override]
    r"""Gemini and Model Garden chat models on Vertex AI (OpenAI-compatible endpoint).

    A drop-in `ChatOpenAI` (``isinstance(llm, ChatOpenAI)`` holds) that signs requests
    with self-refreshing Google credentials and handles what Vertex does differently:
    Gemini extras, tagged thoughts, thought signatures (Gemini 3 tool loops), streamed
    tool-call indices, usage accounting and readable errors.

    Setup:
        ```bash
        pip install "vertex-openai[langchain]"
        gcloud auth application-default login
        export GOOGLE_CLOUD_PROJECT="my-project"   # GOOGLE_CLOUD_LOCATION: default "global"
        ```

    Key init args — completion params:
        model: `"google/gemini-2.5-flash"` (`"gemini-2.5-flash"` works too) or a Model
            Garden id such as `"meta/llama-3.3-70b-instruct-maas"`.
        temperature, max_tokens, top_p, stop, n, seed, ...: As for `ChatOpenAI`.
        reasoning_effort: `"minimal" | "low" | "medium" | "high"`, or `"none"`.
        thinking_config, thought_tag_marker, safety_settings, cached_content: Gemini
            extras, sent as `extra_body.google` (docs/gemini-extras.md).

    Key init args — client params:
        project, location: Env `GOOGLE_CLOUD_PROJECT`, `GOOGLE_CLOUD_LOCATION`.
        credentials: google-auth `Credentials`, a JSON key path or its dict; Application
            Default Credentials when omitted (env `GOOGLE_APPLICATION_CREDENTIALS`).
        api_key: A Vertex express-mode API key (instead of `credentials`).
        endpoint_id, api_version, api_endpoint, dedicated_endpoint_dns, base_url,
        quota_project: Self-deployed / dedicated endpoints, `v1beta1`, PSC, billing.
        fallback_locations: Locations to resend to on 429 / 503, in order (default none:
            requests stay in `location`). See docs/failover.md.
        timeout, max_retries, default_headers, http_client: As for `ChatOpenAI`; a given
            `http_client` is used to send, never modified.

    Instantiate:
        ```python
        from langchain_vertex_openai import ChatVertexOpenAI

        llm = ChatVertexOpenAI(model="google/gemini-2.5-flash", temperature=0)
        ```

    Invoke and stream:
        ```python
        messages = [("system", "Translate to French."), ("human", "I love programming.")]
        llm.invoke(messages).text  # "J'adore la programmation."
        for chunk in llm.stream(messages):
            print(chunk.text, end="")
        ```

    Tool calling and structured output:
        ```python
        from pydantic import BaseModel


        class GetWeather(BaseModel):
            '''Get the current weather in a given location.'''

            location: str


        llm.bind_tools([GetWeather]).invoke("Weather in Paris?").tool_calls
        llm.bind_tools([{"google_search": {}}]).invoke("Who won yesterday?")  # grounding
        llm.with_structured_output(GetWeather).invoke("Paris, please")
        ```

        Gemini 3 thought signatures are kept on the returned `AIMessage` and sent back
        automatically, so `langchain.agents.create_agent` tool loops need no extra code.

    Thoughts and usage:
        ```python
        llm = ChatVertexOpenAI(thinking_config={"include_thoughts": True})
        msg = llm.invoke("Why is the sky blue?")
        [b for b in msg.content_blocks if b["type"] == "reasoning"]  # the thoughts
        msg.usage_metadata  # output_tokens include thinking ("reasoning" detail)
        ```
    """

    model_name: str = Field(default="google/gemini-2.5-flash", alias="model")
    """Model id, e.g. `"google/gemini-2.5-flash"`."""

    # Redeclared so the parent's default never applies: langchain-openai 1.0-1.4 filled
    # this field from OPENAI_API_KEY, which would have sent an OpenAI key to Google as an
    # express-mode `?key=` and switched the auth mode away from the Google credentials.
    openai_api_key: SecretStr | Callable[[], str] | Callable[[], Awaitable[str]] | None = Field(
        default=None, alias="api_key"
    )
    """Vertex AI express-mode API key, or (as for `ChatOpenAI`) a sync or async callable
    returning a Google OAuth access token, called per request and sent as `Bearer`. Never
    read from the environment (in particular not from `OPENAI_API_KEY`); omit it to sign
    with Google credentials."""

    endpoint_id: str | None = None
    """`"openapi"` (default: Gemini and Model Garden MaaS) or a self-deployed endpoint id."""

    dedicated_endpoint_dns: str | None = None
    """Dedicated endpoint host (learned automatically from Vertex's error if omitted)."""

    api_key_transport: Literal["header", "query"] = "header"
    """How an express-mode `api_key` is sent: `"header"` (`x-goog-api-key`, in no URL) or
    `"query"` (`?key=`, visible in URLs that tracing records)."""

    thought_tag_marker: str | None = None
    """Tag Vertex wraps thoughts in (`<marker>...</marker>`); `"thought"` is used
    automatically when `thinking_config.include_thoughts` is on."""

    thinking_config: dict[str, Any] | None = None
    """Gemini `thinking_config` (`include_thoughts`, `thinking_budget`, `thinking_level`)."""

    safety_settings: list[dict[str, Any]] | dict[str, str] | None = None
    """Gemini safety settings: `[{"category": "HARM_CATEGORY_...", "threshold": "BLOCK_..."}]`."""

    cached_content: str | None = None
    """Name of a Vertex context cache (`projects/.../cachedContents/...`)."""

    stream_usage: bool | None = True
    """Report token usage in the last streamed chunk (Vertex supports it)."""

    shared_request_type: Literal["priority"] | None = None
    """`"priority"`: Priority pay-as-you-go, sent as the `X-Vertex-AI-LLM-Shared-Request-Type`
    header (global endpoint only; refused elsewhere before sending)."""

    use_responses_api: bool | None = False
    """Vertex serves Chat Completions only; `True` is rejected."""

    require_finish_reason: bool | None = None
    """Raise when a stream ends without a `finish_reason` (it was cut off). None (default):
    for Google-managed models, which always send one; not for self-deployed endpoints,
    which may end with `[DONE]` alone (as the parent accepts)."""

    _settings: gemini.VertexRequestSettings | None = PrivateAttr(default=None)
    _google_identity: dict[str, Any] = PrivateAttr(default_factory=dict)
    _unpickled_fields = ("client", "async_client", "root_client", "root_async_client")

    @property
    def _llm_type(self) -> str:
        return "vertex-openai-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Serializable with `dumpd` / `loads` (credentials objects are never written)."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """`["langchain_vertex_openai", "chat_models"]`."""
        return ["langchain_vertex_openai", "chat_models"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        """The express-mode key is written as a secret reference (google-genai's env var)."""
        return {"openai_api_key": "GOOGLE_API_KEY"}

    def to_json(self) -> SerializedConstructor | SerializedNotImplemented:
        """`dumpd` form: every setting; the express key as a `GOOGLE_API_KEY` reference.

        The parent's `lc_secrets` (`OPENAI_API_KEY`) is merged over ours by LangChain; an
        OpenAI key name must never be what a loader fills a Google key from.
        """
        return fields.secret_references(super().to_json(), self.lc_secrets, "GOOGLE_API_KEY")

    @property
    def lc_attributes(self) -> dict[str, Any]:
        """A credentials *path* is a setting and is written; objects and dicts never are."""
        attributes = dict(super().lc_attributes)
        if isinstance(self.credentials, str | os.PathLike):
            attributes["credentials"] = os.fspath(self.credentials)
        return attributes

    def _resolve_model_profile(self) -> ModelProfile | None:
        # From our model table (the parent's table knows OpenAI's models only); keys the
        # table cannot vouch for are left out (unknown), e.g. for self-deployed models.
        return cast("ModelProfile", model_profile(self.model_name))

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "google_vertexai"
        return params

    def _use_responses_api(self, payload: dict) -> bool:
        # Vertex has no Responses API: never route there (reasoning=, built-in tools, ...).
        return False

    # ------------------------------------------------------------------ construction

    @model_validator(mode="before")
    @classmethod
    def _vertex_values(cls, values: Any) -> Any:
        """Take Vertex-style arguments (`_chat_fields.constructor_values`).

        A `ya29.` `api_key` becomes a static Bearer credential; credentials in manifests are
        refused; ChatVertexAI-style `include_thoughts=` / `thinking_budget=` /
        `thinking_level=` and Gemini extras in `model_kwargs` become the typed fields
        without the parent's "not default parameter" warning.
        """
        return fields.constructor_values(values, cls.__name__)

    @model_validator(mode="after")
    def validate_environment(self) -> Self:
        """Check Vertex-specific options and build openai clients signed for Vertex."""
        gemini.check_chat_api_options(
            use_responses_api=self.use_responses_api,
            output_version=self.output_version,
            n=self.n,
            streaming=self.streaming,
        )
        name = self.model_name
        self._build_clients()
        if self.model_name != name and self.profile == model_profile(name):
            # A self-deployed endpoint's model is known only now (not the default Gemini).
            self.profile = self._resolve_model_profile()
        return self

    def _connect(self) -> None:
        self._build_clients()

    def _build_clients(self) -> None:
        fields.check_proxy_alone(self.openai_proxy, self.http_client, self.http_async_client)
        conn = self._connection = fields.connection_options(
            self,
            base_url=self.openai_api_base,
            api_key=self.openai_api_key,
            timeout=self.request_timeout,
        ).connect()
        endpoint = conn.endpoint_at_start
        if endpoint.is_self_deployed and "model_name" not in self.model_fields_set:
            # A self-deployed endpoint serves its own model: send none rather than Gemini.
            self.model_name = ""
        self.project = self.project or endpoint.project
        self.location = self.location or endpoint.location
        self._settings = request_settings(self, model=self.model_name, endpoint=endpoint)
        google = self._settings.google_body()
        self._google_identity = {"google": google} if google else {}
        set_signed_clients(self, conn)

    def _chat_url(self) -> str:
        assert self._connection is not None
        return f"{self._connection.endpoint.base_url}/chat/completions"

    # ------------------------------------------------------------------ token counting
    # The parent counts with tiktoken, which downloads an OpenAI tokenizer from a
    # third-party host; these count with Vertex (Gemini) or offline (vertex_openai._token_count).

    def get_num_tokens_from_messages(
        self,
        messages: Sequence[BaseMessage],
        tools: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> int:
        """Count input tokens: Vertex ``countTokens`` for Gemini, an offline estimate else.

        One request for Gemini models (text, images, tool calls, tools and system
        instructions counted by Vertex itself); no request for partner and self-deployed
        models. Nothing is downloaded (the parent's tiktoken is never used), so
        ``trim_messages(token_counter=llm)`` works offline too.
        """
        assert self._connection is not None
        assert self.root_client is not None
        wire, wire_tools = parent_wire(messages, tools)
        return count_message_tokens(
            self.root_client, self._connection.endpoint, self.model_name, wire, wire_tools
        )

    async def aget_num_tokens_from_messages(
        self,
        messages: Sequence[BaseMessage],
        tools: Sequence[Any] | None = None,
    ) -> int:
        """Async :meth:`get_num_tokens_from_messages`."""
        assert self._connection is not None
        assert self.root_async_client is not None
        wire, wire_tools = parent_wire(messages, tools)
        return await acount_message_tokens(
            self.root_async_client, self._connection.endpoint, self.model_name, wire, wire_tools
        )

    def get_num_tokens(self, text: str) -> int:
        """Tokens of one text, counted as a user message (see get_num_tokens_from_messages)."""
        return self.get_num_tokens_from_messages([HumanMessage(content=text)])

    def get_token_ids(self, text: str) -> list[int]:
        """Not available: Vertex counts tokens but does not return Gemini's token ids.

        Raises:
            NotImplementedError: always (use get_num_tokens instead).
        """
        raise fields.no_token_ids("ChatVertexOpenAI")

    # ------------------------------------------------------------------ requests

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable | BaseTool],
        *,
        tool_choice: dict | str | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; `{"google_search": {}}` turns on Google Search grounding.

        Grounding is `web_search_options` on Vertex's Chat Completions API (the parent
        would otherwise reject the dict or route it to the Responses API).
        """
        search = [o for o in map(gemini.search_tool_options, tools) if o is not None]
        if search:
            kwargs["web_search_options"] = search[-1]
            tools = [t for t in tools if gemini.search_tool_options(t) is None]
            if not tools:
                return self.bind(**kwargs)
        return super().bind_tools(tools, tool_choice=tool_choice, **kwargs)

    def _google_params(self) -> dict[str, Any]:
        # The Gemini extras belong to the cache key and traces (not to the payload
        # defaults: gemini.prepare_chat_request ranks them below per-call values itself).
        return private_attr(self, "_google_identity")  # type: ignore[no-any-return]

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {**super()._identifying_params, **self._google_params()}

    def _get_invocation_params(
        self, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        return {**super()._get_invocation_params(stop=stop, **kwargs), **self._google_params()}

    def _get_request_payload(
        self, input_: LanguageModelInput, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict:
        if isinstance(kwargs.get("extra_body"), Mapping) and self.extra_body:
            # The parent lets a per-call extra_body replace the instance one.
            kwargs["extra_body"] = gemini.deep_merge(self.extra_body, kwargs["extra_body"])
        if not (isinstance(input_, list) and all(isinstance(m, BaseMessage) for m in input_)):
            input_ = self._convert_input(input_).to_messages()  # else the _generate path
        messages = [results.standard_parts(m) for m in input_]
        payload = super()._get_request_payload(messages, stop=stop, **kwargs)
        kept = [m.additional_kwargs if isinstance(m, AIMessage) else None for m in messages]
        payload["messages"] = results.replayed_wire(kept, payload["messages"])
        payload = gemini.prepare_chat_request(payload, private_attr(self, "_settings"))
        if (call := calls.current_call()) is not None:
            call.marker = gemini.effective_thought_marker(payload)
        return payload

    # ------------------------------------------------------------------ responses

    def _create_chat_result(
        self, response: dict | openai.BaseModel, generation_info: dict | None = None
    ) -> ChatResult:
        # Gemini 2.x repeats ids (the function name) for parallel calls: unique ones first.
        response = msgs.with_unique_tool_call_ids(response)
        result = super()._create_chat_result(response, generation_info)
        call = calls.current_call()
        # Outside a call (a direct use of this hook): the instance's own marker.
        marker = call.marker if call else private_attr(self, "_settings").thought_tag_marker
        ai = [g.message if isinstance(g.message, AIMessage) else None for g in result.generations]
        results.apply_response(ai, response, marker, MODEL_PROVIDER)
        if result.llm_output is not None:
            result.llm_output["model_provider"] = MODEL_PROVIDER
        return result

    def _get_generation_chunk_from_completion(
        self, completion: openai.BaseModel
    ) -> ChatGenerationChunk:
        # Final chunk of a `response_format` stream: the thoughts and signatures in it
        # were already streamed (strings would concatenate on merge).
        msgs.fix_accumulated_roles(completion)
        chunk = super()._get_generation_chunk_from_completion(completion)
        for key in fields.INTERNAL_KWARGS:
            chunk.message.additional_kwargs.pop(key, None)
        chunk.message.response_metadata["model_provider"] = MODEL_PROVIDER
        return chunk

    def _convert_chunk_to_generation_chunk(
        self,
        chunk: dict,
        default_chunk_class: type,
        base_generation_info: dict | None,
    ) -> ChatGenerationChunk | None:
        call = calls.current_call()
        if call is None:  # not under our _stream / _astream
            return super()._convert_chunk_to_generation_chunk(
                chunk, default_chunk_class, base_generation_info
            )
        if (rewritten := call.rewrite(chunk, self._stream_url())) is None:
            return None  # a keep-alive without `choices`, skipped as the parent does
        raw, delta = rewritten
        converted = super()._convert_chunk_to_generation_chunk(
            raw, default_chunk_class, base_generation_info
        )
        if converted is None:
            return None
        message = converted.message
        message.response_metadata["model_provider"] = MODEL_PROVIDER
        # Streamed refusals (the parent drops them) become the block translator's refusal
        # block, which langchain-openai's per-chunk structured-output check raises on.
        message.additional_kwargs.update(call.message_extras(delta))
        if isinstance(message, AIMessageChunk) and delta.usage_increment is not None:
            # Chunk usage is added up on merge: report what this chunk adds.
            message.usage_metadata = msgs.usage_metadata(delta.usage_increment)  # type: ignore[assignment]
        return converted

    def _stream_url(self) -> str | None:
        return self._connection.base_url if self._connection is not None else None

    def _finish_chunk(self, call: calls.ChatCall) -> ChatGenerationChunk | None:
        assert self._connection is not None
        must_finish = fields.must_finish_stream(
            self.require_finish_reason, self._connection.endpoint
        )
        if (rest := calls.stream_rest(call, must_finish, self._chat_url)) is None:
            return None
        with calls.in_call(msgs.StreamAccumulator(None)):
            return self._convert_chunk_to_generation_chunk(rest, AIMessageChunk, None)

    def _stream_hooks(self) -> tuple[Any, ...]:
        return self._chat_url, ContextOverflowError, self._finish_chunk, results.tag_chunk_location

    # The parent's stream runs with the run manager, so callbacks see the chunks our
    # `_convert_chunk_to_generation_chunk` cleaned, with the parent's own arguments.

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        parent = super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs)
        for chunk, last in calls.stream_in_call(parent, *self._stream_hooks()):
            if last and run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        parent = super()._astream(messages, stop=stop, run_manager=run_manager, **kwargs)
        async for chunk, last in calls.astream_in_call(parent, *self._stream_hooks()):
            if last and run_manager:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with calls.call_scope(self._chat_url, ContextOverflowError) as where:
            result = super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
        results.record_location((g.message for g in result.generations), where.location)
        return result

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with calls.call_scope(self._chat_url, ContextOverflowError) as where:
            result = await super()._agenerate(
                messages, stop=stop, run_manager=run_manager, **kwargs
            )
        results.record_location((g.message for g in result.generations), where.location)
        return result
