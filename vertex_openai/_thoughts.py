"""Split `<marker>thoughts</marker>` out of Gemini text, in one piece or streamed.

With `thinking_config.include_thoughts` and `thought_tag_marker: "m"`, Vertex returns
`content = "<m>" + thoughts + "</m>" + answer` (https://cloud.google.com/vertex-ai/generative-ai/docs/migrate/openai/overview).
While streaming, the tags may be split anywhere across chunks, and there may be several thought
segments.

`ThoughtParser` is a small state machine: each `feed()` scans only the new text plus at
most `len(tag) - 1` held-back characters (a possible tag prefix), so the total work is
linear in the stream length. Text is returned exactly as sent; nothing is stripped
around the tags.
"""

from __future__ import annotations

import re

from vertex_openai._errors import require_match

__all__ = ["ThoughtParser", "split_thoughts", "validate_marker"]

_MARKER_RE = re.compile(r"^[A-Za-z0-9_.:-]+\Z")


def validate_marker(marker: str) -> str:
    """Check that a thought tag marker can be used inside `<...>` tags.

    Args:
        marker: The tag name, e.g. `"thought"` or `"think"`.

    Returns:
        The marker unchanged.

    Raises:
        VertexConfigError: If it is empty or contains characters other than letters,
            digits, `_`, `-`, `.` and `:`.
    """
    msg = (
        f"Invalid thought_tag_marker {marker!r}: use a plain tag name such as 'thought' "
        "or 'think' (letters, digits, '_', '-', '.', ':'; no '<', '>' or spaces)."
    )
    return require_match(_MARKER_RE, marker, msg)


def _held_suffix(data: str, start: int, tag: str) -> int:
    """Length of the longest suffix of `data[start:]` that is a proper prefix of `tag`."""
    longest = min(len(tag) - 1, len(data) - start)
    # Tags start with '<', which occurs once in them, so only the last '<' can begin one.
    lt = data.rfind("<", len(data) - longest) if longest > 0 else -1
    if lt < 0:
        return 0
    k = len(data) - lt
    return k if tag.startswith(data[lt:]) else 0


class ThoughtParser:
    """Streaming-safe splitter of tagged thoughts and answer text.

    Example:
        >>> p = ThoughtParser("think")
        >>> p.feed("<thi")
        ('', '')
        >>> p.feed("nk>hmm</think>Hi")
        ('hmm', 'Hi')
        >>> p.flush()
        ('', '')
    """

    __slots__ = ("_close", "_in_thought", "_open", "_pending", "marker")

    def __init__(self, marker: str) -> None:
        """Create a parser for `<marker>` / `</marker>` tags.

        Args:
            marker: The `thought_tag_marker` sent to Vertex.

        Raises:
            VertexConfigError: If the marker is not a plain tag name.
        """
        self.marker = validate_marker(marker)
        self._open = f"<{marker}>"
        self._close = f"</{marker}>"
        self._in_thought = False
        self._pending = ""

    @property
    def in_thought(self) -> bool:
        """True while inside an open `<marker>` segment."""
        return self._in_thought

    @property
    def has_pending(self) -> bool:
        """True when characters are held back as a possible tag prefix."""
        return bool(self._pending)

    def feed(self, text: str) -> tuple[str, str]:
        """Consume the next piece of text.

        Args:
            text: The next content delta (may be empty).

        Returns:
            `(thought_delta, answer_delta)`; a possible partial tag at the end is held
            back until the next `feed()` or `flush()`.
        """
        if not text:
            return "", ""
        data = self._pending + text if self._pending else text
        self._pending = ""
        if "<" not in data:
            # Most chunks: no tag and no possible tag prefix (every tag starts with '<').
            return (data, "") if self._in_thought else ("", data)
        thoughts: list[str] = []
        answer: list[str] = []
        pos = 0
        while True:
            tag = self._close if self._in_thought else self._open
            idx = data.find(tag, pos)
            out = thoughts if self._in_thought else answer
            if idx < 0:
                held = _held_suffix(data, pos, tag)
                end = len(data) - held
                if end > pos:
                    out.append(data[pos:end])
                self._pending = data[end:]
                break
            if idx > pos:
                out.append(data[pos:idx])
            pos = idx + len(tag)
            self._in_thought = not self._in_thought
        return "".join(thoughts), "".join(answer)

    def flush(self) -> tuple[str, str]:
        """Release held-back text at the end of the stream and reset the parser.

        Returns:
            `(thought_delta, answer_delta)`: the held-back characters go to the segment
            they were in (an unclosed thought stays a thought).
        """
        pending, self._pending = self._pending, ""
        in_thought, self._in_thought = self._in_thought, False
        return (pending, "") if in_thought else ("", pending)


def split_thoughts(text: str | None, marker: str | None) -> tuple[str, str]:
    """Split a complete text into thoughts and answer.

    Args:
        text: The full `content` string (None is treated as "").
        marker: The thought tag marker, or None (then everything is answer).

    Returns:
        `(thoughts, answer)`; several thought segments are concatenated.
    """
    if not text:
        return "", ""
    if not marker:
        return "", text
    parser = ThoughtParser(marker)
    thoughts, answer = parser.feed(text)
    rest_t, rest_a = parser.flush()
    return thoughts + rest_t, answer + rest_a
