"""The socket options langchain-openai gives its own clients, for the clients we build.

It needs langchain-openai's private helpers, so it cannot live in the framework-neutral
core; it is kept apart from the chat class, whose file holds fields and thin overrides.
"""

from __future__ import annotations

from langchain_openai import ChatOpenAI

__all__ = ["parent_socket_options"]


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
