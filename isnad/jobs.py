"""Jobs the front ends share: running the indexer on the configured corpus and store."""

from __future__ import annotations

from indexing.fetch import FetchConfig
from indexing.lock import DataDirLock
from indexing.pipeline import IndexReport, build_indexer
from isnad.settings import Settings


def run_index(settings: Settings, progress: bool | None = None) -> IndexReport:
    """Index settings.corpus_dir and settings.feeds into the configured store, holding the data-dir lock."""
    with DataDirLock(settings.data_dir):
        indexer = build_indexer(
            settings.data_dir,
            settings.chroma_host,
            settings.chroma_port,
            progress=progress,
            chroma_token=settings.chroma_token,
            embedder_factory=settings.embedder_factory(),
            fetch_config=FetchConfig(allow_private=settings.fetch_allow_private),
            embedder_name=settings.embedder_name,
        )
        return indexer.run(settings.corpus_dir, settings.feeds, allowed=settings.corpus_allow)
