"""The project's error tree; front ends turn these into one-line messages.

IsnadError
├── CorpusError       the corpus folder is missing or unusable
├── IndexLockedError  another indexer holds the data dir
├── IndexMissingError a data dir with no index where one is required
└── ConfigError       a setting is missing or malformed
"""

from __future__ import annotations


class IsnadError(Exception):
    """Base of every error the project raises on purpose."""


class CorpusError(IsnadError):
    """The corpus folder is missing or unusable."""


class IndexLockedError(IsnadError):
    """Another indexer is writing this data dir."""


class IndexMissingError(IsnadError):
    """The data dir holds no index."""


class ConfigError(IsnadError):
    """A setting is missing or malformed."""


class IndexDamagedError(IsnadError):
    """The store on disk cannot be read; the operator must rebuild it."""


class EmbeddingError(IsnadError):
    """The embeddings endpoint could not embed."""
