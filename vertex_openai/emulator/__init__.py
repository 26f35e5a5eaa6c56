"""Local Vertex AI emulator: the OpenAI-compatible chat endpoint, OAuth and metadata, offline.

``Emulator`` serves, on 127.0.0.1:

* ``POST /{v1|v1beta1}/projects/P/locations/L/endpoints/openapi/chat/completions``
  (Google and MaaS models, ``publisher/model`` ids) and ``.../endpoints/{id}/chat/completions``
  (self-deployed; model optional, the served model name is echoed). ``?key=`` takes the
  express-mode API key (``emu.api_key``); otherwise ``Authorization: Bearer`` with a token
  the emulator issued. Dedicated endpoints answer only on their own host name.
* ``GET .../endpoints/{id}``: the endpoint resource (``dedicatedEndpointDns`` when dedicated).
* ``POST /token`` (JWT-bearer and refresh_token grants), IAM ``:generateAccessToken``, and a
  GCE metadata server (``/``, ``/computeMetadata/v1/...``), so real google-auth flows work.
* ``/_emulator/...`` admin routes: ``GET requests``, ``GET stats``, ``POST faults``,
  ``GET|POST config``, ``POST revoke``, ``POST reset``, ``POST token``.
* Anything else: Google's HTML 404 page.

The wire follows Vertex's documented and captured samples (docs/internals.md): sorted keys,
non-``chatcmpl`` ids, ``system_fingerprint: ""``, usage on the final stream chunk, list-wrapped
backend errors,
plain-object auth errors. The deterministic model is described in
:mod:`vertex_openai.emulator._model`; in short: tools are called when the user names them (or
``tool_choice`` forces it) with arguments built from the schema and the user's literals, tool
results are quoted back in text, ``response_format`` gets schema-valid JSON, thinking follows
the budget, and nothing is random except seeded stream chunk boundaries.

Faults (``inject_fault(kind, count)`` or the ``x-emulator-fault: kind[; k=v]`` header):
``429``/``rate_limit``, ``500``/``internal``, ``503``/``unavailable``, ``403``, ``drop``,
``stall`` (``seconds=``, ``after_chunks=``), ``malformed_json``, ``truncate``
(``after_chunks=``), ``token_outage`` (token requests answer 503), ``revoke``.
"""

from __future__ import annotations

from vertex_openai._extras import raise_for_missing_extra

try:
    from vertex_openai.emulator._config import EmulatorConfig
    from vertex_openai.emulator._process import EmulatorProcess
    from vertex_openai.emulator._server import Emulator, serve
    from vertex_openai.emulator._state import RecordedRequest
except ModuleNotFoundError as err:
    raise_for_missing_extra(err, feature="The Vertex AI emulator", extra="emulator")
    raise

__all__ = ["Emulator", "EmulatorConfig", "EmulatorProcess", "RecordedRequest", "serve"]
