"""Make JSON Schemas acceptable to Gemini: tool parameters and `response_format` schemas.

Vertex documents tool `parameters` as an OpenAPI 3.0 subset (https://ai.google.dev/api/caching#Schema:
`type, format, title, description, nullable, enum, maxItems, minItems, properties, required,
minProperties, maxProperties, minLength, maxLength, pattern, example, anyOf,
propertyOrdering, default, items, minimum, maximum`); on the native API every other
keyword (`additionalProperties`, `$ref`, `$defs`, `const`, `exclusiveMinimum`, `examples`,
`propertyNames`, ...) is a hard 400 "Unknown name". Whether the OpenAI-compatible route is
stricter or more lenient is unconfirmed, so tool schemas are reduced to that subset.

`response_format.json_schema` is documented with `additionalProperties` supported and
fully recursive schemas unsupported (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview),
so that variant only drops `$schema` and inlines references.

Both variants inline non-recursive `$ref`s (local `#/$defs/...`, `#/definitions/...`),
and raise `VertexConfigError` naming the definition for recursive ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vertex_openai._errors import VertexConfigError

__all__ = [
    "GEMINI_SCHEMA_KEYS",
    "MAX_SCHEMA_NESTING",
    "sanitize_response_schema",
    "sanitize_schema",
    "sanitize_tool_schema",
]

GEMINI_SCHEMA_KEYS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    }
)
"""Keywords of Gemini's `Schema` (https://ai.google.dev/api/caching#Schema); tool schemas keep only
these."""

_DEF_KEYS = ("$defs", "definitions")
_DROP_ALWAYS = frozenset({"$schema", "$id", "$comment", *_DEF_KEYS})
# Keywords whose value is a map of name -> subschema.
_SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas")
# Keywords whose value is one subschema.
_SCHEMA_ONE = (
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
)
# Keywords whose value is a list of subschemas.
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_MAX_DEPTH = 64


class _Inliner:
    """Resolves local `$ref`s against the root schema's `$defs` / `definitions`."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def resolve(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#"):
            msg = (
                f"Schema reference {ref!r} is not local; Gemini needs a self-contained "
                "schema. Inline the referenced schema or put it under '$defs'."
            )
            raise VertexConfigError(msg)
        if ref == "#":
            msg = (
                "Schema reference '#' points at the root schema, which makes it recursive; "
                "Gemini does not support recursive schemas. Limit the nesting depth instead."
            )
            raise VertexConfigError(msg)
        node: Any = self.root
        for raw in ref[2:].split("/") if ref.startswith("#/") else ["<bad>"]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                msg = f"Schema reference {ref!r} does not resolve to a definition in the schema."
                raise VertexConfigError(msg)
            node = node[part]
        if isinstance(node, bool):
            return {}
        if not isinstance(node, Mapping):
            msg = f"Schema reference {ref!r} does not point at a schema object."
            raise VertexConfigError(msg)
        return node

    def inline(self, schema: Any, stack: tuple[str, ...] = ()) -> Any:
        """Return a copy of `schema` with every `$ref` replaced by its target."""
        if isinstance(schema, bool):
            return {}
        if not isinstance(schema, Mapping):
            return schema
        if len(stack) > _MAX_DEPTH:
            msg = "Schema is nested too deeply through '$ref's (more than 64 levels)."
            raise VertexConfigError(msg)
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref in stack:
                name = ref.rsplit("/", 1)[-1]
                chain = " -> ".join([*stack[stack.index(ref) :], ref])
                msg = (
                    f"Schema definition {name!r} is recursive ({chain}); Gemini does not "
                    "support recursive schemas. Limit the nesting depth (e.g. a fixed number "
                    "of levels) or pass the nested part as a JSON string."
                )
                raise VertexConfigError(msg)
            target = self.inline(self.resolve(ref), (*stack, ref))
            siblings = {k: v for k, v in schema.items() if k != "$ref" and k not in _DEF_KEYS}
            # Sibling keywords (description, default, ...) refine the referenced schema.
            return {**target, **self._children(siblings, stack)}
        return self._children(schema, stack)

    def _sub(self, schema: Any, stack: tuple[str, ...]) -> Any:
        # Boolean subschemas (`true` / `false`) keep their meaning here.
        return schema if isinstance(schema, bool) else self.inline(schema, stack)

    def _children(self, schema: Mapping[str, Any], stack: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in _DROP_ALWAYS:
                continue
            if key in _SCHEMA_MAPS and isinstance(value, Mapping):
                out[key] = {name: self._sub(sub, stack) for name, sub in value.items()}
            elif key in _SCHEMA_ONE and isinstance(value, (Mapping, bool)):
                out[key] = self._sub(value, stack)
            elif (key in _SCHEMA_LISTS or key == "items") and isinstance(value, list):
                out[key] = [self._sub(sub, stack) for sub in value]
            else:
                out[key] = value
        return out


MAX_SCHEMA_NESTING = 200
"""Deepest JSON nesting (objects and lists) a schema may have: about 100 levels of nested
``properties``. The rewrite below is recursive; a deeper schema would end in a raw
``RecursionError`` (Python's default limit is 1000 frames), so it is refused up front."""


def nesting_error() -> VertexConfigError:
    """The error for a schema (or request value) nested deeper than we accept."""
    msg = (
        f"The JSON schema is nested more than {MAX_SCHEMA_NESTING} levels deep (objects and "
        "lists); Gemini tool and response schemas cannot be that deep. Flatten it, or pass "
        "the deeply nested part as a JSON string."
    )
    return VertexConfigError(msg)


def _check_nesting(schema: Any) -> None:
    # Iterative on purpose: measuring the depth must not itself recurse.
    stack: list[tuple[Any, int]] = [(schema, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_SCHEMA_NESTING:
            raise nesting_error()
        if isinstance(node, Mapping):
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list | tuple):
            stack.extend((value, depth + 1) for value in node)


def _inline(schema: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(schema, Mapping):
        msg = f"A JSON schema must be an object (a dict), got {type(schema).__name__}."
        raise VertexConfigError(msg)
    _check_nesting(schema)
    result = _Inliner(schema).inline(schema)
    assert isinstance(result, dict)
    return result


def _is_null(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "null" and len(schema) <= 2


def _to_gemini(schema: Any) -> Any:
    """Reduce an inlined JSON Schema to Gemini's OpenAPI subset."""
    if not isinstance(schema, Mapping):
        return {} if isinstance(schema, bool) else schema
    src: dict[str, Any] = dict(schema)

    # allOf with one member (pydantic v1 / refs with siblings): merge it in.
    all_of = src.pop("allOf", None)
    if isinstance(all_of, list):
        if len(all_of) == 1 and isinstance(all_of[0], Mapping):
            src = {**all_of[0], **src}
        else:
            merged: dict[str, Any] = {}
            for member in all_of:
                if isinstance(member, Mapping):
                    merged = _merge_all_of(merged, member)
            src = {**merged, **src}
    # oneOf: Gemini only knows anyOf.
    one_of = src.pop("oneOf", None)
    if isinstance(one_of, list) and "anyOf" not in src:
        src["anyOf"] = one_of
    # Optional[X] from pydantic: anyOf [X, {"type": "null"}] -> X + nullable.
    any_of = src.get("anyOf")
    if isinstance(any_of, list):
        non_null = [s for s in any_of if not _is_null(s)]
        if len(non_null) < len(any_of):
            src["nullable"] = True
            if len(non_null) == 1 and isinstance(non_null[0], Mapping):
                del src["anyOf"]
                src = {**non_null[0], **src}
            else:
                src["anyOf"] = non_null
    # type: ["string", "null"] -> type: "string", nullable (OpenAPI 3.0 has no type arrays).
    typ = src.get("type")
    if isinstance(typ, list):
        kinds = [t for t in typ if t != "null"]
        if len(kinds) < len(typ):
            src["nullable"] = True
        if len(kinds) == 1:
            src["type"] = kinds[0]
        elif kinds:
            del src["type"]
            src["anyOf"] = [*src.get("anyOf", []), *({"type": k} for k in kinds)]
        else:
            src["type"] = "null"
    # const -> enum (Gemini enums are strings; other constants cannot be expressed).
    if "const" in src:
        const = src.pop("const")
        if isinstance(const, str) and "enum" not in src:
            src["enum"] = [const]
            src.setdefault("type", "string")
    # exclusiveMinimum/Maximum (draft 6+ numbers) -> inclusive bounds.
    for exclusive, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = src.pop(exclusive, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            src.setdefault(inclusive, value)
    examples = src.pop("examples", None)
    if isinstance(examples, list) and examples and "example" not in src:
        src["example"] = examples[0]
    if "properties" in src and "type" not in src:
        src["type"] = "object"

    out: dict[str, Any] = {}
    for key, value in src.items():
        if key not in GEMINI_SCHEMA_KEYS:
            continue
        if key == "properties" and isinstance(value, Mapping):
            out[key] = {name: _to_gemini(sub) for name, sub in value.items()}
        elif key == "items":
            if isinstance(value, list):  # tuple validation: keep the first item schema
                out[key] = _to_gemini(value[0]) if value else {}
            else:
                out[key] = _to_gemini(value)
        elif key == "anyOf" and isinstance(value, list):
            out[key] = [_to_gemini(sub) for sub in value]
        else:
            out[key] = value
    if isinstance(out.get("required"), list) and isinstance(out.get("properties"), Mapping):
        props = out["properties"]
        out["required"] = [name for name in out["required"] if name in props]
    return out


def _merge_all_of(base: dict[str, Any], member: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**base, **member}
    if isinstance(base.get("properties"), Mapping) and isinstance(
        member.get("properties"), Mapping
    ):
        merged["properties"] = {**base["properties"], **member["properties"]}
    if isinstance(base.get("required"), list) and isinstance(member.get("required"), list):
        merged["required"] = list(dict.fromkeys([*base["required"], *member["required"]]))
    return merged


def sanitize_tool_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Make a tool's `function.parameters` acceptable to Gemini.

    Drops `$schema`, inlines non-recursive `$ref`/`$defs`/`definitions`, rewrites
    `const` (string) to `enum`, `exclusiveMinimum`/`exclusiveMaximum` to inclusive
    bounds, `examples` to `example`, `Optional[X]` / `type: [X, "null"]` to `nullable`,
    `oneOf` to `anyOf`, and drops every keyword outside Gemini's schema subset
    (`additionalProperties`, `propertyNames`, `patternProperties`, ...).

    Args:
        schema: A JSON Schema object (not mutated).

    Returns:
        A new schema dict.

    Raises:
        VertexConfigError: For recursive or unresolvable references.
    """
    result = _to_gemini(_inline(schema))
    assert isinstance(result, dict)
    return result


sanitize_schema = sanitize_tool_schema
"""Alias: the tool-parameter sanitizer."""


def sanitize_response_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Make a `response_format.json_schema.schema` acceptable to Vertex.

    Only drops `$schema` (and `$id`/`$comment`) and inlines non-recursive references;
    `additionalProperties` is documented as supported here (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview).
    Arguments, result and errors as for :func:`sanitize_tool_schema`.
    """
    return _inline(schema)
