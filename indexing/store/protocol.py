"""What the QA core asks of an index: nearest paragraphs, their vectors and their records.

The retriever talks to this protocol only, never to a backend client; fusion and
ranking are pure functions over what it returns, so they are testable without a store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from indexing.store.chroma import StoredParagraph


class ParagraphIndex(Protocol):
    """A searchable set of paragraphs, each stored as one or more chunk vectors."""

    def nearest(self, vector: Sequence[float], k: int) -> dict[str, float]:
        """The k paragraphs whose best chunk is nearest: paragraph id -> cosine similarity."""
        ...

    def vectors(self, paragraph_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Chunk vectors (one row per chunk) of the given paragraphs; unknown ids left out."""
        ...

    def paragraph(self, paragraph_id: str) -> StoredParagraph | None:
        """The stored record of one paragraph, or None."""
        ...

    def paragraphs(self) -> list[StoredParagraph]:
        """Every paragraph, ordered by source and paragraph number."""
        ...

    def count(self) -> int:
        """Number of stored chunks."""
        ...
