"""The Vertex AI connection settings both LangChain classes take, declared once.

`ChatVertexOpenAI` and `VertexOpenAIEmbeddings` accept the same project, location and
credential settings under the same names; this mixin holds their fields and docstrings,
what tells which credentials sign, and the pickling rules (no clients, no keys), so the
two classes cannot drift apart.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field, PrivateAttr

from vertex_openai._chat_fields import express_key, refuse_key_pickling
from vertex_openai._clients import VertexConnection
from vertex_openai._credential_policy import warn_principal_switch
from vertex_openai._pickling import picklable_state

__all__ = ["VertexConnectionFields"]


class VertexConnectionFields(BaseModel):
    """Project, location and credentials of a Vertex AI model (a pydantic mixin).

    Listed first among a class's bases, so its pickling hooks run before the parent's.
    """

    project: str | None = None
    """Google Cloud project. Env: `GOOGLE_CLOUD_PROJECT` (also `GCLOUD_PROJECT`,
    `CLOUD_ML_PROJECT_ID`); else the project of the credentials."""

    location: str | None = None
    """Region, `"us"` / `"eu"`, or `"global"`. Env: `GOOGLE_CLOUD_LOCATION` (also
    `GOOGLE_CLOUD_REGION`, `CLOUD_ML_REGION`). Default: `"global"` for chat models,
    `"us-central1"` for embeddings (served by regions only)."""

    api_version: str | None = None
    """`"v1"` (default) or `"v1beta1"`."""

    api_endpoint: str | None = None
    """Host or `scheme://host:port` override (Private Service Connect, proxies, emulator)."""

    credentials: Any = Field(default=None, exclude=True, repr=False)
    """google-auth `Credentials`, a path to a credentials JSON file, or its dict.
    Application Default Credentials when omitted (env `GOOGLE_APPLICATION_CREDENTIALS`).
    Never serialized; loaded on the first request."""

    quota_project: str | None = None
    """Project billed for quota (`x-goog-user-project`)."""

    allow_non_google_token_urls: bool = False
    """Accept `external_account` credentials whose token / impersonation URL is not a Google
    STS / IAM Credentials host (refused by default; docs/authentication.md)."""

    fallback_locations: list[str] | None = None
    """Locations that get the same request, in order, when the one in use answers 429
    RESOURCE_EXHAUSTED or 503 UNAVAILABLE (e.g. `["europe-west4", "global"]`). Default
    `None`: requests never leave `location` (data residency). See docs/failover.md."""

    _connection: VertexConnection | None = PrivateAttr(default=None)

    _unpickled_fields: ClassVar[tuple[str, ...]] = ()
    """Fields holding live clients (sockets, locks): cleared when pickled, rebuilt on load."""

    _unpickled_private: ClassVar[tuple[str, ...]] = ("_connection",)
    """Private attributes likewise cleared when pickled."""

    def describe_credentials(self) -> str:
        """What signs the requests (never contains a secret)."""
        assert self._connection is not None
        return self._connection.describe_credentials()

    def _express_key(self) -> str | None:
        return express_key(getattr(self, "openai_api_key", None))

    def _connect(self) -> None:
        """Build the connection and clients from the fields (again after unpickling)."""
        raise NotImplementedError

    # Pickling: the clients hold sockets and locks, so they are rebuilt on load.
    # `credentials` objects and dicts are dropped (re-resolved through ADC); a path is kept.
    # An express-mode API key (or a callable) is never pickled.
    def __getstate__(self) -> dict[Any, Any]:
        if self._express_key() is not None or callable(getattr(self, "openai_api_key", None)):
            raise refuse_key_pickling(type(self).__name__)
        return picklable_state(
            super().__getstate__(),
            clear_fields=self._unpickled_fields,
            clear_private=self._unpickled_private,
        )

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        warn_principal_switch(state, type(self).__name__)
        self._connect()
