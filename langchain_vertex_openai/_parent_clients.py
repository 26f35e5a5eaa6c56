"""What langchain-openai decides for its own clients and wire format, applied to ours.

Read from the parent's fields and decided by its helpers (socket options, message and tool
conversion), so this cannot live in the framework-neutral core; it is kept apart from the
chat class, whose file holds fields and thin overrides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_openai import ChatOpenAI
from langchain_openai.chat_models.base import _convert_message_to_dict

from vertex_openai._clients import VertexConnection

__all__ = ["parent_client_args", "parent_socket_options", "parent_wire", "set_signed_clients"]


def set_signed_clients(model: ChatOpenAI, connection: VertexConnection) -> None:
    """Give ``model`` our openai clients, signed for Vertex, where it has none yet.

    With the parent's client options; a user's ``http_client`` is never modified (another
    model or the app may share it): ours sign each request and send it through theirs.
    """
    args = parent_client_args(model)
    if not model.client:
        model.root_client = connection.sdk_client(False, http_client=model.http_client, **args)
        model.client = model.root_client.chat.completions
    if not model.async_client:
        model.root_async_client = connection.sdk_client(
            True, http_client=model.http_async_client, **args
        )
        model.async_client = model.root_async_client.chat.completions


def parent_wire(
    messages: Sequence[BaseMessage], tools: Sequence[Any] | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """``messages`` and ``tools`` in the wire form the parent would send (for countTokens)."""
    wire = [_convert_message_to_dict(m) for m in messages]
    return wire, [convert_to_openai_tool(t) for t in tools] if tools else None


def parent_client_args(model: ChatOpenAI) -> dict[str, Any]:
    """The SDK client options of ``model``'s fields, as the parent passes them.

    ``max_retries`` only when set (the SDK's default otherwise).
    """
    args: dict[str, Any] = {
        "timeout": model.request_timeout,
        "default_headers": model.default_headers,
        "default_query": model.default_query,
        "proxy": model.openai_proxy or None,
        "socket_options": parent_socket_options(model),
    }
    if model.max_retries is not None:
        args["max_retries"] = model.max_retries
    return args


def parent_socket_options(model: ChatOpenAI) -> tuple[tuple[int, int, int], ...]:
    """The socket options the parent would use for its own default clients.

    langchain-openai applies TCP keepalive + ``TCP_USER_TIMEOUT`` by default (bounding a
    silently dead connection to about two minutes), honours ``http_socket_options``, and
    skips them when a proxy environment variable must keep working. Its helpers decide,
    so the rules stay the parent's; older releases without them use none.
    """
    try:
        from langchain_openai.chat_models._client_utils import (
            _resolve_socket_options,
            _should_bypass_socket_options_for_proxy_env,
        )
    except ImportError:  # langchain-openai without socket options
        return ()
    requested = getattr(model, "http_socket_options", None)
    if _should_bypass_socket_options_for_proxy_env(
        http_socket_options=requested,
        http_client=model.http_client,
        http_async_client=model.http_async_client,
        openai_proxy=model.openai_proxy,
    ):
        return ()
    return tuple(_resolve_socket_options(requested))
