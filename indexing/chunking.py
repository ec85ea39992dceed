"""Cut paragraphs into embedding-sized chunks, counted in cl100k_base tokens.

A paragraph that fits is one chunk. A longer one becomes overlapping word windows,
so a fact that straddles a cut is still whole in one of them; every window keeps
the paragraph's id. Counting words by their own token count overestimates a little
(tokens that span a space are counted twice), which only makes windows safer.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tiktoken

# multilingual-e5-small reads 512 of its own tokens; Arabic costs 1.7-2.6 cl100k
# tokens per e5 token, so 400 cl100k tokens plus the headline stay inside the window.
DEFAULT_CHUNK_TOKENS = 400
DEFAULT_OVERLAP_TOKENS = 60


def cl100k_tokenizer() -> Callable[[str], list[int]]:
    """tiktoken's cl100k_base, read from the copy bundled in llama-index-core: no download.

    Located without importing llama-index (a second of start-up the indexer rarely needs).
    """
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        spec = importlib.util.find_spec("llama_index.core")
        if spec is not None and spec.submodule_search_locations:
            bundled = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
            os.environ["TIKTOKEN_CACHE_DIR"] = str(bundled)
    encoding = tiktoken.get_encoding("cl100k_base")
    return lambda text: encoding.encode(text, allowed_special="all")


@dataclass(frozen=True)
class ChunkingConfig:
    """Window size and overlap, in cl100k_base tokens."""

    max_tokens: int = DEFAULT_CHUNK_TOKENS
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS

    def __post_init__(self) -> None:
        if not 0 <= self.overlap_tokens < self.max_tokens // 2:
            raise ValueError("overlap must be non-negative and under half the window")


class Chunker:
    """Splits text into token-bounded, overlapping word windows."""

    def __init__(
        self,
        config: ChunkingConfig | None = None,
        tokenizer: Callable[[str], list[int]] | None = None,
    ) -> None:
        self.config = config or ChunkingConfig()
        self._encode = tokenizer or cl100k_tokenizer()

    def count(self, text: str) -> int:
        """Number of cl100k_base tokens in text."""
        return len(self._encode(text))

    def split(self, text: str) -> list[str]:
        """The chunks of one paragraph; a single chunk when it fits."""
        if self.count(text) <= self.config.max_tokens:
            return [text]
        tokens = text.split()
        costs = [self.count(" " + word) for word in tokens]
        chunks: list[str] = []
        start = 0
        while start < len(tokens):
            end, used = start, 0
            while end < len(tokens) and (used + costs[end] <= self.config.max_tokens or end == start):
                used += costs[end]
                end += 1
            chunks.append(" ".join(tokens[start:end]))
            if end >= len(tokens):
                break
            # Step back far enough to repeat about overlap_tokens of context.
            back, kept = end, 0
            while back > start + 1 and kept + costs[back - 1] <= self.config.overlap_tokens:
                back -= 1
                kept += costs[back]
            start = back
        return chunks
