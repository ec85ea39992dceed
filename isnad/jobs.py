"""Jobs the front ends share: running the indexer on the configured corpus and store."""

from __future__ import annotations

from collections.abc import Callable

from indexing.fetch import FetchConfig
from indexing.lock import DataDirLock
from indexing.pipeline import EmbedStep, IndexReport, build_indexer
from indexing.store.chroma import ParagraphStore
from isnad.settings import Settings


def run_index(settings: Settings, progress: bool | None = None, ray: str | None = None) -> IndexReport:
    """Index settings.corpus_dir and settings.feeds into the configured store, holding the data-dir lock.

    ray: a Ray cluster address (or "local") whose workers embed the new chunks.
    """
    with DataDirLock(settings.data_dir):
        if ray is not None:
            return _run_on_ray(settings, progress, ray)
        return _index(settings, progress)


def _index(
    settings: Settings,
    progress: bool | None,
    embed_step: Callable[[ParagraphStore], EmbedStep] | None = None,
) -> IndexReport:
    """The index job on the configured corpus, feeds and store; `embed_step` swaps how chunks are embedded."""
    indexer = build_indexer(
        settings.data_dir,
        settings.chroma_host,
        settings.chroma_port,
        progress=progress,
        chroma_token=settings.chroma_token,
        embedder_factory=settings.embedder_factory(),
        fetch_config=FetchConfig(allow_private=settings.fetch_allow_private),
        embedder_name=settings.embedder_name,
        embed_step=embed_step,
    )
    return indexer.run(settings.corpus_dir, settings.feeds, allowed=settings.corpus_allow)


def _run_on_ray(settings: Settings, progress: bool | None, address: str) -> IndexReport:
    from indexing.ray_backfill import ChromaServer, RayEmbedStep, connect, disconnect

    server = None
    if settings.chroma_host:
        server = ChromaServer(settings.chroma_host, settings.chroma_port, settings.chroma_token)
    # One model per worker process, one thread each: the workers fill the cores between them.
    worker_factory = settings.embedder_factory(threads=1)
    started = connect(address)
    try:
        return _index(
            settings, progress, embed_step=lambda store: RayEmbedStep(store, worker_factory, server)
        )
    finally:
        disconnect(started)
