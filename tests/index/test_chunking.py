"""Chunking in cl100k_base tokens: whole paragraphs, or overlapping windows."""

from __future__ import annotations

import itertools

import pytest

from indexing.chunking import Chunker, ChunkingConfig

SENTENCE = "وقال المتحدث باسم الوزارة إن الاجتماع انتهى دون اتفاق على جدول زمني للمفاوضات. "


def test_short_paragraph_is_one_chunk() -> None:
    assert Chunker().split(SENTENCE.strip()) == [SENTENCE.strip()]


def test_long_paragraph_becomes_overlapping_windows_within_budget() -> None:
    chunker = Chunker(ChunkingConfig(max_tokens=60, overlap_tokens=15))
    words = " ".join(f"{SENTENCE.strip()} ({i})" for i in range(12)).split()
    text = " ".join(words)
    chunks = chunker.split(text)
    assert len(chunks) > 3
    assert all(chunker.count(c) <= 60 + 5 for c in chunks)
    # Every word survives, in order, and neighbours share words.
    assert chunks[0].split()[0] == words[0] and chunks[-1].split()[-1] == words[-1]
    for left, right in itertools.pairwise(chunks):
        assert set(left.split()[-3:]) & set(right.split()[:6])


def test_config_rejects_overlap_as_large_as_window() -> None:
    with pytest.raises(ValueError):
        ChunkingConfig(max_tokens=100, overlap_tokens=60)
