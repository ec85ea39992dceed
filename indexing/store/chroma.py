"""The Chroma side of the index: chunks with their vectors and paragraph metadata.

Chroma is the source of truth; the lexical index is derived from what it holds.
The collection is created with no embedding function, so Chroma's default
embedder (which would download a model) can never run: every vector comes from us.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import chromadb
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaSettings

from indexing.errors import IndexDamagedError

if TYPE_CHECKING:
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

COLLECTION = "isnad_paragraphs"
_PAGE = 2000


def chroma_client(
    data_dir: Path | None,
    host: str | None = None,
    port: int | None = None,
    token: str | None = None,
) -> ClientAPI:
    """An embedded store in data_dir, or a Chroma server when host is given.

    A server must listen on loopback or behind authentication: `token` is sent as a
    bearer token for servers that require one (CHROMA_AUTH_TOKEN).
    """
    settings = ChromaSettings(anonymized_telemetry=False)
    if host:
        if token:
            settings = ChromaSettings(
                anonymized_telemetry=False,
                chroma_client_auth_provider="chromadb.auth.token_authn.TokenAuthClientProvider",
                chroma_client_auth_credentials=token,
            )
        try:
            return chromadb.HttpClient(host=host, port=port or 8000, settings=settings)
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError here
            raise IndexDamagedError(
                f"cannot reach the Chroma server at {host}:{port or 8000} ({exc})"
            ) from exc
    if data_dir is None:
        raise ValueError("an embedded Chroma store needs a data dir")
    path = data_dir / "chroma"
    try:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:  # Rust-side errors surface as several unrelated types
        raise damaged(path, exc) from exc


def damaged(path: Path, exc: BaseException) -> IndexDamagedError:
    """The operator-facing error for a store that cannot be read."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return IndexDamagedError(
        f"the index in {path} is damaged ({reason}); move it aside or delete it, "
        "then run `isnad index` to rebuild it"
    )


@dataclass(frozen=True)
class Occurrence:
    """One place a paragraph appears: file and 1-based paragraph number (and its article's outlet/URL)."""

    source: str
    paragraph: int
    outlet: str = ""
    url: str = ""


@dataclass(frozen=True)
class StoredParagraph:
    """A distinct paragraph as the index holds it."""

    paragraph_id: str
    source: str
    paragraph: int
    text: str
    headline: str
    section: str
    occurrences: tuple[Occurrence, ...]
    url: str = ""
    outlet: str = ""
    author: str = ""
    published: str = ""  # ISO 8601; "" when unknown, like the other metadata

    @property
    def title(self) -> str:
        """The article headline, or the section heading when there is none."""
        return self.headline or self.section

    @property
    def other_outlets(self) -> tuple[str, ...]:
        """Other outlets that carried this same paragraph (wire copy), in corpus order."""
        others = (o.outlet for o in self.occurrences if o.outlet and o.outlet != self.outlet)
        return tuple(dict.fromkeys(others))


def encode_occurrences(occurrences: Iterable[Occurrence]) -> str:
    """Chroma metadata holds scalars only, so occurrences travel as JSON.

    A place without outlet or URL stays a pair, so plain-text corpora encode as before.
    """
    return json.dumps(
        [
            [o.source, o.paragraph, o.outlet, o.url] if o.outlet or o.url else [o.source, o.paragraph]
            for o in occurrences
        ],
        ensure_ascii=False,
    )


def decode_occurrences(raw: str) -> tuple[Occurrence, ...]:
    """Inverse of encode_occurrences."""
    return tuple(
        Occurrence(str(item[0]), int(item[1]), *(str(x) for x in item[2:4]))
        for item in json.loads(raw or "[]")
    )


def paragraph_from_metadata(meta: dict[str, Any]) -> StoredParagraph:
    """Rebuild the paragraph a chunk belongs to from the chunk's metadata."""
    return StoredParagraph(
        paragraph_id=str(meta["paragraph_id"]),
        source=str(meta["source"]),
        paragraph=int(meta["paragraph"]),
        text=str(meta["paragraph_text"]),
        headline=str(meta.get("headline", "")),
        section=str(meta.get("section", "")),
        occurrences=decode_occurrences(str(meta.get("occurrences", "[]"))),
        url=str(meta.get("url") or ""),
        outlet=str(meta.get("outlet") or ""),
        author=str(meta.get("author") or ""),
        published=str(meta.get("published") or ""),
    )


class ParagraphStore:
    """Reads and writes paragraph chunks in one Chroma collection."""

    def __init__(self, client: ClientAPI, collection: str = COLLECTION) -> None:
        self.client = client
        try:
            self.collection = client.get_or_create_collection(
                name=collection,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
            )
        except Exception as exc:
            raise IndexDamagedError(f"cannot open the Chroma collection {collection!r} ({exc})") from exc
        self._vector_store: ChromaVectorStore | None = None

    @property
    def vector_store(self) -> ChromaVectorStore:
        """llama-index's view of the collection (imported on first use: it is slow to load)."""
        if self._vector_store is None:
            from llama_index.vector_stores.chroma import ChromaVectorStore

            self._vector_store = ChromaVectorStore(chroma_collection=self.collection)
        return self._vector_store

    def count(self) -> int:
        """Number of stored chunks."""
        return int(self.collection.count())

    def _pages(self, include: list[str]) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = self.collection.get(include=include, limit=_PAGE, offset=offset)  # type: ignore[arg-type]
            if not page["ids"]:
                return
            yield dict(page)
            offset += len(page["ids"])

    def ids(self) -> list[str]:
        """Every chunk id."""
        return [i for page in self._pages([]) for i in page["ids"]]

    def metadata(self) -> dict[str, dict[str, Any]]:
        """Chunk id -> metadata, for the whole collection."""
        out: dict[str, dict[str, Any]] = {}
        for page in self._pages(["metadatas"]):
            out.update(zip(page["ids"], page["metadatas"], strict=True))
        return out

    def embeddings(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """Stored vectors for the given chunk ids (missing ids are left out)."""
        out: dict[str, list[float]] = {}
        for start in range(0, len(ids), _PAGE):
            page = self.collection.get(ids=list(ids[start : start + _PAGE]), include=["embeddings"])  # type: ignore[list-item]
            vectors = page["embeddings"] if page["embeddings"] is not None else []
            for chunk_id, vector in zip(page["ids"], vectors, strict=True):
                out[chunk_id] = [float(x) for x in vector]
        return out

    def add(self, nodes: Sequence[TextNode]) -> None:
        """Store chunks that already carry their embeddings."""
        if nodes:
            self.vector_store.add(list(nodes))

    def delete(self, ids: Sequence[str]) -> None:
        """Remove chunks by id."""
        for start in range(0, len(ids), _PAGE):
            self.collection.delete(ids=list(ids[start : start + _PAGE]))

    def update_metadata(self, updates: dict[str, dict[str, Any]]) -> None:
        """Replace the metadata of existing chunks without touching their vectors."""
        items = list(updates.items())
        for start in range(0, len(items), _PAGE):
            batch = items[start : start + _PAGE]
            self.collection.update(ids=[i for i, _ in batch], metadatas=[m for _, m in batch])

    def paragraphs(self) -> list[StoredParagraph]:
        """Every distinct paragraph, ordered by source and paragraph number."""
        seen: dict[str, StoredParagraph] = {}
        for meta in self.metadata().values():
            pid = str(meta["paragraph_id"])
            if pid not in seen:
                seen[pid] = paragraph_from_metadata(meta)
        return sorted(seen.values(), key=lambda p: (p.source, p.paragraph))

    def fingerprint(self) -> str:
        """Changes whenever the set of stored chunks changes (ids encode content)."""
        digest = hashlib.sha1()
        for chunk_id in sorted(self.ids()):
            digest.update(chunk_id.encode())
            digest.update(b"\n")
        return digest.hexdigest()
