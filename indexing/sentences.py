"""A paragraph's sentences: one split shared by the index job (sentence vectors) and the QA core."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?؟…])\s+|(?<=؛)\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences on . ! ? ؟ … ؛ (whitespace after the mark)."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


__all__ = ["split_sentences"]
