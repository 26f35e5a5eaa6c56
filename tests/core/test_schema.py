"""Schema sanitizer: $ref inlining, recursion errors, Gemini keyword subset."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vertex_openai._errors import VertexConfigError
from vertex_openai._schema import (
    GEMINI_SCHEMA_KEYS,
    sanitize_response_schema,
    sanitize_schema,
    sanitize_tool_schema,
)

PYDANTIC_NESTED = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {
        "Address": {
            "title": "Address",
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        }
    },
    "title": "Person",
    "type": "object",
    "properties": {
        "name": {"type": "string", "examples": ["Ada"]},
        "home": {"$ref": "#/$defs/Address", "description": "where they live"},
        "work": {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}], "default": None},
        "age": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 200},
        "kind": {"const": "person"},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "nick": {"type": ["string", "null"]},
        "meta": {
            "type": "object",
            "propertyNames": {"pattern": "^[a-z]+$"},
            "additionalProperties": {"type": "string"},
        },
    },
    "required": ["name", "home"],
    "additionalProperties": False,
}


def walk_keys(node: Any) -> set[str]:
    keys: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            keys.add(k)
            if k == "properties" and isinstance(v, dict):
                for sub in v.values():
                    keys |= walk_keys(sub)
            else:
                keys |= walk_keys(v)
    elif isinstance(node, list):
        for item in node:
            keys |= walk_keys(item)
    return keys


def test_tool_schema_pydantic_nested() -> None:
    original = copy.deepcopy(PYDANTIC_NESTED)
    out = sanitize_tool_schema(PYDANTIC_NESTED)
    assert PYDANTIC_NESTED == original  # not mutated
    assert walk_keys(out) <= GEMINI_SCHEMA_KEYS
    props = out["properties"]
    assert props["home"]["properties"]["city"] == {"type": "string"}
    assert props["home"]["description"] == "where they live"
    assert props["work"]["nullable"] is True
    assert props["work"]["type"] == "object"
    assert props["age"]["minimum"] == 0
    assert props["age"]["maximum"] == 200
    assert props["kind"] == {"enum": ["person"], "type": "string"}
    assert props["name"]["example"] == "Ada"
    assert props["nick"] == {"type": "string", "nullable": True}
    assert props["meta"] == {"type": "object"}
    assert "uniqueItems" not in props["tags"]
    assert out["required"] == ["name", "home"]


def test_sanitize_schema_alias() -> None:
    assert sanitize_schema is sanitize_tool_schema


def test_response_schema_keeps_additional_properties() -> None:
    out = sanitize_response_schema(PYDANTIC_NESTED)
    assert "$schema" not in out
    assert "$defs" not in out
    assert out["additionalProperties"] is False
    assert out["properties"]["home"]["additionalProperties"] is False
    assert out["properties"]["age"]["exclusiveMinimum"] == 0


def test_definitions_draft7() -> None:
    schema = {
        "definitions": {"A": {"type": "string"}},
        "type": "object",
        "properties": {"a": {"$ref": "#/definitions/A"}},
    }
    assert sanitize_tool_schema(schema)["properties"]["a"] == {"type": "string"}


def test_allof_single_ref() -> None:
    schema = {
        "$defs": {"E": {"type": "string", "enum": ["x", "y"]}},
        "type": "object",
        "properties": {"e": {"allOf": [{"$ref": "#/$defs/E"}], "description": "d"}},
    }
    assert sanitize_tool_schema(schema)["properties"]["e"] == {
        "type": "string",
        "enum": ["x", "y"],
        "description": "d",
    }


def test_properties_without_type_gets_object() -> None:
    assert sanitize_tool_schema({"properties": {"a": {"type": "string"}}})["type"] == "object"


def test_recursive_schema_names_definition() -> None:
    schema = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
            }
        },
        "$ref": "#/$defs/Node",
    }
    for fn in (sanitize_tool_schema, sanitize_response_schema):
        with pytest.raises(VertexConfigError, match="'Node' is recursive"):
            fn(schema)


def test_mutual_recursion() -> None:
    schema = {
        "$defs": {
            "A": {"type": "object", "properties": {"b": {"$ref": "#/$defs/B"}}},
            "B": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}},
        },
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A"}},
    }
    with pytest.raises(VertexConfigError, match="recursive"):
        sanitize_tool_schema(schema)


def test_root_ref_is_recursive() -> None:
    with pytest.raises(VertexConfigError, match="recursive"):
        sanitize_tool_schema({"type": "object", "properties": {"self": {"$ref": "#"}}})


@pytest.mark.parametrize("ref", ["#/$defs/Missing", "other.json#/A", "#bad"])
def test_bad_refs(ref: str) -> None:
    with pytest.raises(VertexConfigError):
        sanitize_tool_schema({"type": "object", "properties": {"x": {"$ref": ref}}})


def test_not_a_dict() -> None:
    with pytest.raises(VertexConfigError, match="must be an object"):
        sanitize_tool_schema([1, 2])  # type: ignore[arg-type]


def test_shared_definition_used_twice_is_not_recursive() -> None:
    schema = {
        "$defs": {"P": {"type": "string"}},
        "type": "object",
        "properties": {
            "a": {"$ref": "#/$defs/P"},
            "b": {"$ref": "#/$defs/P"},
            "c": {"type": "array", "items": {"$ref": "#/$defs/P"}},
        },
    }
    out = sanitize_tool_schema(schema)
    assert out["properties"]["c"]["items"] == {"type": "string"}


# --------------------------------------------------------------------------- properties


# A tiny validator for the keywords the strategy generates (jsonschema is not a dependency).
def valid(schema: dict[str, Any], value: Any) -> bool:
    kind = schema.get("type")
    if "anyOf" in schema and not any(valid(s, value) for s in schema["anyOf"]):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list) and all(valid(schema.get("items", {}), v) for v in value)
    if kind == "object":
        if not isinstance(value, dict):
            return False
        if any(r not in value for r in schema.get("required", [])):
            return False
        props = schema.get("properties", {})
        return all(valid(props[k], v) for k, v in value.items() if k in props)
    return True


LEAVES = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer"},
        {"type": "boolean"},
        {"type": "string", "enum": ["a", "b"]},
    ]
)


def schemas(defs: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    base = LEAVES | st.sampled_from(
        [{"$ref": f"#/$defs/{d}"} for d in defs] or [{"type": "string"}]
    )
    return st.recursive(
        base,
        lambda inner: st.one_of(
            st.builds(lambda items: {"type": "array", "items": items}, inner),
            st.dictionaries(
                st.sampled_from(["p", "q", "r"]), inner, min_size=1, max_size=3
            ).flatmap(
                lambda props: st.sampled_from(
                    [
                        {"type": "object", "properties": props},
                        {
                            "type": "object",
                            "properties": props,
                            "required": sorted(props)[:1],
                            "additionalProperties": False,
                        },
                    ]
                )
            ),
        ),
        max_leaves=8,
    )


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    # Definition i may only reference definitions < i: non-recursive by construction.
    defs: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 3))):
        defs[f"D{i}"] = draw(schemas(list(defs)))
    root = draw(schemas(list(defs)))
    return {"$schema": "x", "$defs": defs, **root} if defs else root


INSTANCES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["a", "b", "z"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["p", "q", "r"]), inner, max_size=3)
    ),
    max_leaves=6,
)


def resolve_refs(schema: Any, defs: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            return resolve_refs(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
        return {
            k: resolve_refs(v, defs) for k, v in schema.items() if k not in ("$defs", "$schema")
        }
    if isinstance(schema, list):
        return [resolve_refs(s, defs) for s in schema]
    return schema


@settings(max_examples=200, deadline=None)
@given(doc=documents(), instances=st.lists(INSTANCES, max_size=5))
def test_property_no_refs_and_same_validation(doc: dict[str, Any], instances: list[Any]) -> None:
    response = sanitize_response_schema(doc)
    tool = sanitize_tool_schema(doc)
    for out in (response, tool):
        keys = walk_keys(out)
        assert "$ref" not in keys
        assert "$defs" not in keys
        assert "$schema" not in keys
    assert walk_keys(tool) <= GEMINI_SCHEMA_KEYS
    reference = resolve_refs(doc, doc.get("$defs", {}))
    for value in instances:
        assert valid(response, value) == valid(reference, value)
        # The tool variant only drops keywords valid() ignores here -> same verdicts.
        assert valid(tool, value) == valid(reference, value)
