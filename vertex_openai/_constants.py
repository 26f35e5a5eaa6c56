"""Names and defaults shared by the core and both framework classes."""

from __future__ import annotations

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
"""OAuth scope Vertex AI's OpenAI-compatible endpoint accepts (REST reference)."""

DEFAULT_LOCATION = "global"
"""Gemini is served on the global endpoint; regional ones are opt-in."""

DEFAULT_ENDPOINT_ID = "openapi"
"""Google's pseudo-endpoint for Gemini and partner (MaaS) models."""

DEFAULT_API_VERSION = "v1"
API_VERSIONS = ("v1", "v1beta1")

GLOBAL_HOST = "aiplatform.googleapis.com"
"""`global` has no region prefix; `global-aiplatform...` does not resolve."""

PROJECT_ENV_VARS = ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "CLOUD_ML_PROJECT_ID")
LOCATION_ENV_VARS = ("GOOGLE_CLOUD_LOCATION", "GOOGLE_CLOUD_REGION", "CLOUD_ML_REGION")
CREDENTIALS_ENV_VAR = "GOOGLE_APPLICATION_CREDENTIALS"
API_ENDPOINT_ENV_VAR = "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM"
"""gcloud's own override of the Vertex AI host (``api_endpoint_overrides/aiplatform``)."""

PLACEHOLDER_API_KEY = "vertex-openai-auth-flow"
"""Given to the openai SDK so it never reads OPENAI_API_KEY; VertexAuth replaces it per request."""

PROJECT_PLACEHOLDER = "-vertex-openai-project-"
"""URL path segment filled in on the first request when the project comes from ADC."""

SIGNATURE_SENTINEL = "skip_thought_signature_validator"
"""Documented value that tells Gemini 3 to skip signature validation for a function call."""

SIGNATURES_KEY = "__vertex_thought_signatures__"
"""Message `additional_kwargs` key holding `{tool_call_id: thought_signature}`."""

MESSAGE_SIGNATURE_KEY = "__vertex_message_signature__"

THOUGHTS_WIRE_KEY = "__vertex_thoughts__"
"""Private key a framework puts on an outgoing assistant wire dict to replay its thoughts;
`prepare_chat_request` folds them into the content (or drops them) and never sends it."""
"""Message `additional_kwargs` key holding the signature of a text answer."""

DEFAULT_THOUGHT_TAG_MARKER = "thought"
"""Marker set automatically when thoughts are requested without one."""

EXPRESS_KEY_DROPPED = "<vertex express-mode api_key not pickled>"
"""Written instead of an express-mode key (pickles, LlamaIndex ``to_dict``): a copy built
from it refuses to run until it is given the key, never signs as another principal."""
