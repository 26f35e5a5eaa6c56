"""Structured extraction with `with_structured_output` and a pydantic model.

Vertex accepts OpenAI's `response_format` JSON schema; nested pydantic models (which emit
`$defs` / `$ref`) are inlined into a self-contained schema before sending, since Gemini
takes an OpenAPI subset. Both methods are shown: `json_schema` (the default) and
`function_calling`.

Run against Vertex AI:

    gcloud auth application-default login
    export GOOGLE_CLOUD_PROJECT=my-project
    python examples/structured_extraction.py

Run against the local emulator (no Google account), in another shell first
`vertex-openai emulator --port 8765 --write-credentials emu.json`, then:

    export GOOGLE_APPLICATION_CREDENTIALS=$PWD/emu.json GOOGLE_CLOUD_PROJECT=emulator-project
    export CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM=http://127.0.0.1:8765
    python examples/structured_extraction.py

(The emulator returns schema-valid JSON with placeholder values.) `VERTEX_MODEL` overrides
the model (default `google/gemini-2.5-flash`).
"""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

from langchain_vertex_openai import ChatVertexOpenAI

MODEL = os.environ.get("VERTEX_MODEL", "google/gemini-2.5-flash")

EMAIL = """\
From: Ana Souza <ana@example.com>
Hi team, please ship 3 units of the X200 router and 12 Cat6 cables to our Lisbon office
by 14 March. Invoice to ACME Portugal, PO 4471. Thanks!
"""


class LineItem(BaseModel):
    product: str = Field(description="Product name")
    quantity: int = Field(description="Number of units")


class Order(BaseModel):
    """A purchase order found in an email."""

    customer: str = Field(description="Company to invoice")
    contact_email: str
    purchase_order: str | None = Field(default=None, description="PO number, if any")
    ship_to_city: str
    items: list[LineItem]


def main() -> None:
    llm = ChatVertexOpenAI(model=MODEL, temperature=0)
    for method in ("json_schema", "function_calling"):
        extractor = llm.with_structured_output(Order, method=method)
        order = extractor.invoke(f"Extract the order from this email:\n\n{EMAIL}")
        assert isinstance(order, Order)
        print(f"[{method}] {order.model_dump_json(indent=2)}")


if __name__ == "__main__":
    main()
