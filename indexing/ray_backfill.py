"""`isnad index --ray ADDRESS`: the indexing job with its embedding spread over a Ray cluster.

The driver reads and cleans the corpus and plans the chunks exactly as the plain job does
(same ids, same paragraphs), and finds what the store lacks. Only those chunks go to Ray
Data, shortest first, in batches of the job's size; `map_batches` runs them through a pool
of actors, each holding one model for its life (one CPU, one thread). With a Chroma server
(CHROMA_HOST) each worker writes its own batches to the server; with the embedded store the
vectors come back and the driver writes them, since only one process may write the files.
Chunk ids are content hashes and Chroma keeps one record per id, so a batch retried after a
worker dies writes nothing twice, and a re-run finds nothing to embed. A worker that keeps
dying (out of memory on every batch, say) is restarted MAX_RESTARTS times, then the job
stops with one line instead of retrying forever (Ray Data's default). Ray is an optional
extra: `pip install "isnad[ray]"`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from indexing.errors import ConfigError, EmbeddingError
from indexing.pipeline import PlannedChunk, store_chunks
from indexing.store.chroma import ParagraphStore

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

log = logging.getLogger(__name__)

LOCAL = "local"
# Chunks per Ray task: small, so a corpus spreads over every worker and a retry redoes little.
RAY_BATCH = 32
MAX_RESTARTS = 2  # per worker, and retries per batch; then the job fails instead of looping


@dataclass(frozen=True)
class ChromaServer:
    """Where workers write when the store is a Chroma server."""

    host: str
    port: int | None
    token: str | None


class EmbedWorker:
    """A Ray Data actor: one embedding model per worker process, built once."""

    def __init__(
        self, factory: Callable[[], BaseEmbedding], server: ChromaServer | None, collection: str | None
    ) -> None:
        self.embedder = factory()
        self.store: ParagraphStore | None = None
        if server is not None:
            from indexing.store.chroma import chroma_client

            client = chroma_client(None, server.host, server.port, server.token)
            self.store = ParagraphStore(client, collection) if collection else ParagraphStore(client)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        texts = [str(t) for t in batch["embed_text"]]
        vectors = self.embedder.get_text_embedding_batch(texts)
        if self.store is not None:
            store_chunks(self.store, list(_chunks(batch)), vectors)
            return {"chunk_id": batch["chunk_id"]}
        return {"chunk_id": batch["chunk_id"], "vector": np.asarray(vectors, dtype=np.float32)}


def _rows(chunks: list[PlannedChunk]) -> list[dict[str, str]]:
    return [
        {
            "chunk_id": c.chunk_id,
            "text": c.text,
            "embed_text": c.embed_text,
            "metadata": json.dumps(c.metadata, ensure_ascii=False),
        }
        for c in chunks
    ]


def _chunks(batch: dict[str, Any]) -> list[PlannedChunk]:
    return [
        PlannedChunk(str(i), str(t), str(e), json.loads(str(m)))
        for i, t, e, m in zip(
            batch["chunk_id"], batch["text"], batch["embed_text"], batch["metadata"], strict=True
        )
    ]


def connect(address: str, num_cpus: int | None = None, object_store_mb: int = 256) -> bool:
    """Join the Ray cluster at address, or start a local instance for "local".

    Returns whether this call started Ray (and so should shut it down).
    """
    try:
        import ray
    except ImportError:
        raise ConfigError('--ray needs Ray: pip install "isnad[ray]"') from None
    if address != LOCAL:
        _reachable(address)
    if ray.is_initialized():
        return False
    quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    logging.getLogger("ray").setLevel(logging.WARNING)
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    if address == LOCAL:
        ray.init(
            num_cpus=num_cpus or os.cpu_count() or 1,
            object_store_memory=object_store_mb * 2**20,
            **quiet,  # type: ignore[arg-type]
        )
    else:
        try:
            ray.init(address=address, **quiet)  # type: ignore[arg-type]
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"cannot join the Ray cluster at {address}: {exc}") from None
    return True


def _reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on a host:port nobody listens on (ray.init retries it for minutes).

    Other forms ("auto", a Ray client address without a port) are left to Ray.
    """
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None


def disconnect(started: bool) -> None:
    """Shut Ray down if connect() started it."""
    if started:
        import ray

        ray.shutdown()


class RayEmbedStep:
    """The indexer's embed step on Ray Data: new chunks in, stored batches out."""

    def __init__(
        self,
        store: ParagraphStore,
        worker_factory: Callable[[], BaseEmbedding],
        server: ChromaServer | None = None,
        workers: int | None = None,
    ) -> None:
        self.store = store
        self.worker_factory = worker_factory
        self.server = server
        self.workers = workers

    def __call__(self, fresh: list[PlannedChunk]) -> Iterator[list[PlannedChunk]]:
        import ray
        import ray.data

        if not fresh:
            return
        by_id = {c.chunk_id: c for c in fresh}
        workers = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        workers = min(workers, -(-len(fresh) // RAY_BATCH))
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.execution_options.preserve_order = True  # shortest first, as planned
        dataset = ray.data.from_items(_rows(fresh), override_num_blocks=max(1, len(fresh) // RAY_BATCH))
        with warnings.catch_warnings():
            # Ray 2.5x-2.6x warns that remote args passed as keywords are deprecated; the
            # restart bound has no named parameter yet.
            warnings.simplefilter("ignore", DeprecationWarning)
            embedded = self._embedded(dataset, workers)
        log.info("embedding %d chunks on %d Ray workers", len(fresh), workers)
        try:
            for batch in embedded.iter_batches(batch_size=None, batch_format="numpy"):
                chunks = [by_id[str(i)] for i in batch["chunk_id"]]
                if self.server is None:
                    vectors = batch["vector"].tolist()
                    store_chunks(self.store, chunks, vectors)
                yield chunks
        except ray.exceptions.RayError as exc:
            raise EmbeddingError(
                f"Ray workers kept failing ({type(exc).__name__}) after {MAX_RESTARTS} restarts; "
                "what was embedded is kept, run the same command again to go on"
            ) from exc

    def _embedded(self, dataset: Any, workers: int) -> Any:
        import ray.data

        return dataset.map_batches(
            EmbedWorker,
            fn_constructor_kwargs={
                "factory": self.worker_factory,
                "server": self.server,
                "collection": self.store.collection.name if self.server else None,
            },
            batch_size=RAY_BATCH,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=1,
            # A dead actor is restarted and its batch retried, a bounded number of times.
            max_restarts=MAX_RESTARTS,
            max_task_retries=MAX_RESTARTS,
        )
