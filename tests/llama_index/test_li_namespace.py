"""`llama_index.llms.vertex_openai` is a namespace portion that leaves LlamaIndex intact."""

from __future__ import annotations

import pathlib

import pytest

pytest.importorskip("llama_index.llms.openai_like")

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_llama_index_namespace_import_gives_our_class() -> None:
    import llama_index_vertex_openai
    from llama_index.llms.vertex_openai import ChatVertexOpenAI, VertexOpenAI

    assert VertexOpenAI is llama_index_vertex_openai.VertexOpenAI
    assert ChatVertexOpenAI is llama_index_vertex_openai.ChatVertexOpenAI


def test_we_ship_no_llama_index_package_init() -> None:
    # An __init__.py here would turn LlamaIndex's namespace into our regular package and
    # hide llama_index.core / llama_index.llms.openai_like.
    assert not (ROOT / "llama_index" / "__init__.py").exists()
    assert not (ROOT / "llama_index" / "llms" / "__init__.py").exists()
    import llama_index.core
    import llama_index.llms.openai_like

    assert llama_index.core.__file__
    assert llama_index.llms.openai_like.__file__


def test_versions_agree() -> None:
    from importlib.metadata import version

    import langchain_vertex_openai
    import llama_index.llms.vertex_openai
    import llama_index_vertex_openai
    import vertex_openai

    assert vertex_openai.__version__ == version("vertex-openai")
    assert langchain_vertex_openai.__version__ == vertex_openai.__version__
    assert llama_index_vertex_openai.__version__ == vertex_openai.__version__
    assert llama_index.llms.vertex_openai.__version__ == vertex_openai.__version__
