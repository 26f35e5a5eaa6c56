"""ThoughtParser / split_thoughts: tags split anywhere, several segments, exact text."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vertex_openai._errors import VertexConfigError
from vertex_openai._thoughts import ThoughtParser, split_thoughts


def feed_all(marker: str, pieces: list[str]) -> tuple[str, str]:
    parser = ThoughtParser(marker)
    thoughts, answer = [], []
    for piece in pieces:
        t, a = parser.feed(piece)
        thoughts.append(t)
        answer.append(a)
    t, a = parser.flush()
    return "".join(thoughts) + t, "".join(answer) + a


def test_split_basic() -> None:
    assert split_thoughts("<think>hmm</think>Hello", "think") == ("hmm", "Hello")


def test_answer_kept_exactly_after_closing_tag() -> None:
    assert split_thoughts("<t>a</t>\n\n  B \n", "t") == ("a", "\n\n  B \n")


def test_no_tags_is_all_answer() -> None:
    assert split_thoughts("plain < text > here", "thought") == ("", "plain < text > here")


def test_marker_none_or_empty_text() -> None:
    assert split_thoughts("<x>a</x>b", None) == ("", "<x>a</x>b")
    assert split_thoughts(None, "x") == ("", "")


def test_several_segments() -> None:
    text = "<m>one</m>A<m>two</m>B"
    assert split_thoughts(text, "m") == ("onetwo", "AB")


def test_unclosed_thought_stays_thought() -> None:
    assert split_thoughts("<m>still thinking", "m") == ("still thinking", "")


def test_tag_split_across_every_boundary() -> None:
    text = "<thought>**Plan**\nstep</thought>The answer is 4."
    for i in range(len(text) + 1):
        assert feed_all("thought", [text[:i], text[i:]]) == ("**Plan**\nstep", "The answer is 4.")


def test_holds_back_only_possible_tag_prefix() -> None:
    parser = ThoughtParser("thought")
    assert parser.feed("Hello <tho") == ("", "Hello ")
    assert parser.feed("rn") == ("", "<thorn")
    assert parser.feed("x <") == ("", "x ")
    assert parser.flush() == ("", "<")


def test_partial_close_tag_held_inside_thought() -> None:
    parser = ThoughtParser("t")
    assert parser.feed("<t>abc</") == ("abc", "")
    assert parser.feed("t>done") == ("", "done")


def test_overlapping_lt_characters() -> None:
    assert feed_all("t", ["<<t", ">x<</t", "><y"]) == ("x<", "<<y")


@pytest.mark.parametrize("bad", ["", "a b", "<x>", "x>", 3])
def test_invalid_marker(bad: object) -> None:
    with pytest.raises(VertexConfigError, match="thought_tag_marker"):
        ThoughtParser(bad)  # type: ignore[arg-type]


def test_linear_time_on_many_small_chunks() -> None:
    parser = ThoughtParser("thought")
    pieces = [
        "<tho",
        "ught>",
        *("x" for _ in range(50_000)),
        "</thou",
        "ght>",
        *("y" for _ in range(50_000)),
    ]
    start = time.perf_counter()
    thoughts = answer = 0
    for piece in pieces:
        t, a = parser.feed(piece)
        thoughts += len(t)
        answer += len(a)
    assert (thoughts, answer) == (50_000, 50_000)
    assert time.perf_counter() - start < 2.0


# --------------------------------------------------------------------------- properties

MARKERS = st.sampled_from(["thought", "think", "t", "x-y"])
TEXT = st.text(alphabet=st.sampled_from(list("ab <>/\nthoughkxy-")), max_size=30)


def reference_split(segments: list[tuple[bool, str]]) -> tuple[str, str]:
    thoughts = "".join(s for is_thought, s in segments if is_thought)
    answer = "".join(s for is_thought, s in segments if not is_thought)
    return thoughts, answer


@settings(max_examples=200, deadline=None)
@given(
    marker=MARKERS,
    segments=st.lists(st.tuples(st.booleans(), TEXT), max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_any_split_equals_unsplit(
    marker: str, segments: list[tuple[bool, str]], cuts: list[int]
) -> None:
    text = "".join(f"<{marker}>{s}</{marker}>" if th else s for th, s in segments)
    whole = split_thoughts(text, marker)
    points = sorted({c % (len(text) + 1) for c in cuts})
    pieces = [text[i:j] for i, j in zip([0, *points], [*points, len(text)])]
    assert feed_all(marker, pieces) == whole
    # Text without stray tag characters in the segments parses to the segments exactly.
    if all(f"<{marker}>" not in s and f"</{marker}>" not in s for _, s in segments):
        if not any("<" in s for _, s in segments):
            assert whole == reference_split(segments)


@settings(max_examples=200, deadline=None)
@given(marker=MARKERS, text=TEXT, cuts=st.lists(st.integers(0, 60), max_size=8))
def test_arbitrary_text_any_split(marker: str, text: str, cuts: list[int]) -> None:
    whole = split_thoughts(text, marker)
    points = sorted({c % (len(text) + 1) for c in cuts})
    pieces = [text[i:j] for i, j in zip([0, *points], [*points, len(text)])]
    assert feed_all(marker, pieces) == whole
    # Nothing is lost except the tags themselves.
    assert len(whole[0]) + len(whole[1]) <= len(text)
