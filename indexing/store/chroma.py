"""The Chroma side of the index: chunks with their vectors and lean paragraph metadata.

Chroma is the store of record; the row table and the lexical index are derived from
what it holds. The collection is created with no embedding function, so Chroma's
default embedder (which would download a model) can never run: every vector comes from us.

Lean on disk: a chunk is its vector plus a few scalar fields, and the paragraph's text
is stored once, on its first chunk, zlib-compressed from a preset dictionary of frequent
Arabic words (`indexing.store.text_dictionary`: 18% fewer bytes on short paragraphs).
Chroma's SQLite backend keeps every metadata value as a row of its own (with its key,
a primary-key entry and an entry in a value index: strings twice) and full-text-indexes
documents, and its index schema cannot switch any of that off locally (chromadb 1.5.9:
`Schema.delete_index` for a key is accepted and ignored, measured for issue 14). So the
fields isnad never filters on travel packed (`pack`): every known field in one JSON array
under one key, hex ids as base85 bytes, and the text under a second key as base85 instead
of base64: two rows a first chunk instead of six. Readers see the same metadata either
way (`unpack`); chunks written before packing are read as they are. Chunk texts are not
stored: they are the chunker's windows of the paragraph text, recomputed by the indexer
when it needs them.

The collection's metadata carries a fingerprint of its content, kept up to date by
every write through this class (see `Fingerprint`), so readers learn whether their
caches are current without scanning the collection.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from indexing.errors import IndexDamagedError
from indexing.store.text_dictionary import DICTIONARY

log = logging.getLogger(__name__)

COLLECTION = "isnad_paragraphs"
# After a write touching this share of the chunks (and at least _VACUUM_MIN), a local store
# is vacuumed: bulk writes leave SQLite pages part-empty and the purged write log behind.
_VACUUM_SHARE = 0.1
_VACUUM_MIN = 1000
_PAGE = 2000
# HNSW search breadth (ef_search). A question asks for 80 chunks, and Chroma's default
# breadth (100) misses some of the exact 80 nearest. Worse, a process rebuilds the part of
# the graph Chroma has not saved yet (up to its last 1,000 writes: all of a small index)
# its own way, so two processes could answer the same question from different candidates.
# Up to _WIDE_UP_TO chunks a wider search is cheap and finds the exact nearest chunks (on
# XQuAD-ar's 412, in every process); larger indexes keep the default (+0.4 ms at 100k).
_WIDE_EF = 200
_DEFAULT_EF = 100
_WIDE_UP_TO = 20_000
TEXT_KEY = "text_z"  # the paragraph text, zlib + base64, on chunk 0 only
# Fields older versions wrote through llama-index's ChromaVectorStore; ignored when read.
LEGACY_KEYS = frozenset(
    {"_node_content", "_node_type", "document_id", "doc_id", "ref_doc_id", "paragraph_text", "text_hash"}
)
# The stored form (see `pack`): known fields as one JSON array, in this order, and the text.
PACKED_KEY = "isnad"
PACKED_TEXT_KEY = "isnad_text"
PACKED_FIELDS = (
    "paragraph_id", "source", "paragraph", "chunk", "chunks", "headline", "section", "embed_hash",
    "occurrences", "url", "outlet", "author", "published",
)  # fmt: skip
_HEX_FIELDS = frozenset({"paragraph_id", "embed_hash"})
_FINGERPRINT_KEY = "isnad_fingerprint"
_PENDING = "pending"


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
    number: int
    outlet: str = ""
    url: str = ""


@dataclass(frozen=True)
class StoredParagraph:
    """A distinct paragraph as the index holds it."""

    paragraph_id: str
    source: str
    number: int  # 1-based paragraph number in its file; `paragraph` in the answer JSON
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
            [o.source, o.number, o.outlet, o.url] if o.outlet or o.url else [o.source, o.number]
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


def encode_text(text: str) -> str:
    """Compress a paragraph text into a string metadata value (zlib from a dictionary of Arabic words)."""
    compressor = zlib.compressobj(9, zdict=DICTIONARY)
    return base64.b64encode(compressor.compress(text.encode("utf-8")) + compressor.flush()).decode("ascii")


def decode_text(value: str) -> str:
    """Inverse of encode_text; texts compressed without the dictionary (older indexes) read too."""
    decompressor = zlib.decompressobj(zdict=DICTIONARY)
    return (decompressor.decompress(base64.b64decode(value)) + decompressor.flush()).decode("utf-8")


def pack(meta: dict[str, Any]) -> dict[str, Any]:
    """The form a chunk's metadata is stored in: known fields in one array, the text apart.

    A field the metadata lacks is null in the array (Chroma holds no nulls, so nothing is
    lost); unknown fields stay keys of their own. Exact inverse: `unpack`.
    """
    fields: list[Any] = [_packed_value(k, meta[k]) if k in meta else None for k in PACKED_FIELDS]
    while fields and fields[-1] is None:
        fields.pop()
    out = {k: v for k, v in meta.items() if k not in PACKED_FIELDS and k != TEXT_KEY}
    out[PACKED_KEY] = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    if TEXT_KEY in meta:
        out[PACKED_TEXT_KEY] = base64.b85encode(base64.b64decode(str(meta[TEXT_KEY]))).decode("ascii")
    return out


def unpack(stored: dict[str, Any]) -> dict[str, Any]:
    """A chunk's metadata as isnad reads it, from either stored form (see `pack`)."""
    if PACKED_KEY not in stored:
        return stored
    out = {k: v for k, v in stored.items() if k not in (PACKED_KEY, PACKED_TEXT_KEY)}
    for key, value in zip(PACKED_FIELDS, json.loads(str(stored[PACKED_KEY])), strict=False):
        if value is not None:
            out[key] = base64.b85decode(value[0]).hex() if isinstance(value, list) else value
    if PACKED_TEXT_KEY in stored:
        out[TEXT_KEY] = base64.b64encode(base64.b85decode(str(stored[PACKED_TEXT_KEY]))).decode("ascii")
    return out


def _packed_value(key: str, value: Any) -> Any:
    """A hex id as [its bytes in base85] (10-15 characters shorter); anything else as it is."""
    if key in _HEX_FIELDS and isinstance(value, str) and _is_lower_hex(value):
        return [base64.b85encode(bytes.fromhex(value)).decode("ascii")]
    return value


def _is_lower_hex(value: str) -> bool:
    return len(value) % 2 == 0 and all(c in "0123456789abcdef" for c in value)


def paragraph_from_metadata(meta: dict[str, Any], document: str | None = None) -> StoredParagraph:
    """Rebuild a paragraph from its first chunk's metadata (any format isnad has written).

    Older indexes kept the text in `paragraph_text` (and the chunk text as the document).
    """
    meta = unpack(meta)
    if TEXT_KEY in meta:
        text = decode_text(str(meta[TEXT_KEY]))
    else:
        text = str(meta.get("paragraph_text", document or ""))
    source, number = str(meta["source"]), int(meta["paragraph"])
    raw = meta.get("occurrences")
    return StoredParagraph(
        paragraph_id=str(meta["paragraph_id"]),
        source=source,
        number=number,
        text=text,
        headline=str(meta.get("headline", "")),
        section=str(meta.get("section", "")),
        occurrences=decode_occurrences(str(raw)) if raw else (Occurrence(source, number),),
        url=str(meta.get("url") or ""),
        outlet=str(meta.get("outlet") or ""),
        author=str(meta.get("author") or ""),
        published=str(meta.get("published") or ""),
    )


def is_legacy(meta: dict[str, Any]) -> bool:
    """Whether a chunk was written in the format before the lean one."""
    return not LEGACY_KEYS.isdisjoint(meta)


def clean_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """A chunk's metadata without the fields older versions added."""
    return {k: v for k, v in meta.items() if k not in LEGACY_KEYS}


def comparable_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """What the indexer compares with the metadata it plans; an old-format chunk never matches."""
    out = clean_metadata(meta)
    if is_legacy(meta):
        out["legacy"] = True
    return out


class Fingerprint:
    """An order-free hash of (chunk id, metadata) pairs: updated per write, never rescanned.

    The sum of 128-bit hashes (mod 2**128) plus the count: adding a chunk adds its
    hash, removing subtracts it, so a write of a few chunks updates it exactly, and a
    full scan (`of`) gives the same value.
    """

    _MOD = 1 << 128

    def __init__(self, count: int = 0, total: int = 0) -> None:
        self.count = count
        self.total = total % self._MOD

    @staticmethod
    def term(chunk_id: str, meta: dict[str, Any]) -> int:
        """The hash one chunk contributes."""
        blob = json.dumps([chunk_id, clean_metadata(meta)], sort_keys=True, ensure_ascii=False)
        return int.from_bytes(hashlib.blake2b(blob.encode("utf-8"), digest_size=16).digest(), "big")

    def add(self, chunk_id: str, meta: dict[str, Any]) -> None:
        """Account for a stored chunk."""
        self.count += 1
        self.total = (self.total + self.term(chunk_id, meta)) % self._MOD

    def remove(self, chunk_id: str, meta: dict[str, Any]) -> None:
        """Account for a removed chunk."""
        self.count -= 1
        self.total = (self.total - self.term(chunk_id, meta)) % self._MOD

    def __str__(self) -> str:
        return f"{self.count}-{self.total:032x}"

    @classmethod
    def parse(cls, value: object) -> Fingerprint | None:
        """The stored form read back; None when absent or mid-write."""
        if not isinstance(value, str) or value == _PENDING or "-" not in value:
            return None
        count, total = value.split("-", 1)
        try:
            return cls(int(count), int(total, 16))
        except ValueError:
            return None


def _open_collection(client: ClientAPI, name: str) -> Collection:
    try:
        return client.get_or_create_collection(
            name=name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )
    except Exception as exc:
        raise IndexDamagedError(f"cannot open the Chroma collection {name!r} ({exc})") from exc


class ParagraphStore:
    """Reads and writes paragraph chunks in one Chroma collection."""

    def __init__(self, client: ClientAPI, collection: str = COLLECTION) -> None:
        self._opening: Future[tuple[ClientAPI, Collection]] | None = None
        self._client, self._collection = client, _open_collection(client, collection)

    @classmethod
    def opening(cls, connect: Callable[[], ClientAPI], collection: str = COLLECTION) -> ParagraphStore:
        """A store that connects on a thread of its own while the caller goes on.

        Chroma's first open of a new folder creates and migrates its SQLite database: tens
        of commits, 0.02-0.2 s here, mostly spent waiting, which the index job spends
        reading and parsing the corpus instead. Errors are raised where the store is
        first used.
        """

        def connect_and_open() -> tuple[ClientAPI, Collection]:
            client = connect()
            return client, _open_collection(client, collection)

        store = cls.__new__(cls)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chroma-open")
        store._opening = pool.submit(connect_and_open)
        pool.shutdown(wait=False)
        return store

    @property
    def client(self) -> ClientAPI:
        """The Chroma client (waits for a background open to finish)."""
        self._opened()
        return self._client

    @property
    def collection(self) -> Collection:
        """The paragraph collection (waits for a background open to finish)."""
        self._opened()
        return self._collection

    def _opened(self) -> None:
        if self._opening is not None:
            self._client, self._collection = self._opening.result()
            self._opening = None

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

    def nearest(self, vector: Sequence[float], n: int) -> tuple[list[str], list[float]]:
        """Ids and cosine distances of the n nearest chunks: HNSW alone, no metadata read."""
        if n <= 0:
            return [], []
        result = self.collection.query(
            query_embeddings=[list(vector)],  # type: ignore[arg-type]
            n_results=n,
            include=["distances"],  # type: ignore[list-item]
        )
        distances = result["distances"][0] if result["distances"] else []  # type: ignore[index]
        return list(result["ids"][0]), [float(d) for d in distances]

    def scan(self) -> Iterator[tuple[list[str], np.ndarray, list[dict[str, Any]], list[str | None]]]:
        """Every chunk, page by page: ids, vectors, metadata and (old indexes only) documents."""
        for page in self._pages(["embeddings", "metadatas", "documents"]):
            vectors = np.asarray(page["embeddings"], dtype=np.float32)
            yield (
                list(page["ids"]),
                vectors,
                [unpack(dict(m)) for m in page["metadatas"]],
                list(page["documents"]),
            )

    def scan_metadata(self) -> Iterator[tuple[list[str], list[dict[str, Any]], list[str | None]]]:
        """Every chunk without its vector, page by page: ids, metadata and (old indexes only) documents."""
        for page in self._pages(["metadatas", "documents"]):
            yield list(page["ids"]), [unpack(dict(m)) for m in page["metadatas"]], list(page["documents"])

    def vectors_of(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the given chunk ids, as float32 arrays (one lookup by primary key)."""
        if not ids:
            return {}
        page = self.collection.get(ids=list(ids), include=["embeddings"])  # type: ignore[list-item]
        vectors = page["embeddings"] if page["embeddings"] is not None else []
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(page["ids"], vectors, strict=True)}

    def get(self, ids: Sequence[str]) -> tuple[list[str], np.ndarray, list[dict[str, Any]], list[str | None]]:
        """The given chunks (missing ids left out): ids, vectors, metadata, documents."""
        out_ids: list[str] = []
        vectors: list[np.ndarray] = []
        metas: list[dict[str, Any]] = []
        documents: list[str | None] = []
        for start in range(0, len(ids), _PAGE):
            page = self.collection.get(
                ids=list(ids[start : start + _PAGE]),
                include=["embeddings", "metadatas", "documents"],  # type: ignore[list-item]
            )
            out_ids.extend(page["ids"])
            if page["ids"]:
                vectors.append(np.asarray(page["embeddings"], dtype=np.float32))
            metas.extend(unpack(dict(m)) for m in page["metadatas"] or [])
            documents.extend(page["documents"] or [None] * len(page["ids"]))
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)
        return out_ids, matrix, metas, documents

    def ids(self) -> list[str]:
        """Every chunk id."""
        return [i for page in self._pages([]) for i in page["ids"]]

    def metadata(self) -> dict[str, dict[str, Any]]:
        """Chunk id -> metadata, for the whole collection."""
        out: dict[str, dict[str, Any]] = {}
        for page in self._pages(["metadatas"]):
            out.update(zip(page["ids"], (unpack(dict(m)) for m in page["metadatas"]), strict=True))
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

    # -- writes: each keeps the stored fingerprint exact -----------------------------

    def _stored_fingerprint(self) -> Fingerprint | None:
        meta = self.collection.metadata or {}
        if _FINGERPRINT_KEY not in meta and self.count() == 0:
            return Fingerprint()
        return Fingerprint.parse(meta.get(_FINGERPRINT_KEY))

    def _set_fingerprint(self, value: str) -> None:
        meta = dict(self.collection.metadata or {})
        meta[_FINGERPRINT_KEY] = value
        self.collection.modify(metadata=meta)

    def _write(
        self, change: Any, before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
    ) -> None:
        """Run one change with the fingerprint marked pending; then store the new value.

        `before`/`after` are the (id -> metadata) of the touched chunks as they were and
        as they will be. A reader that sees "pending" (a writer died mid-way) scans.
        """
        fingerprint = self._stored_fingerprint() or self.scan_fingerprint()
        self._set_fingerprint(_PENDING)
        change()
        for chunk_id, meta in before.items():
            fingerprint.remove(chunk_id, meta)
        for chunk_id, meta in after.items():
            fingerprint.add(chunk_id, meta)
        self._set_fingerprint(str(fingerprint))

    def metadata_of(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Chunk id -> metadata for the given ids (missing ids left out)."""
        return self._current(ids)

    def _current(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {i: unpack(m) for i, m in self._stored(ids).items()}

    def _stored(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Chunk id -> metadata as Chroma holds it (packed or not)."""
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _PAGE):
            page = self.collection.get(ids=list(ids[start : start + _PAGE]), include=["metadatas"])  # type: ignore[list-item]
            out.update(zip(page["ids"], (dict(m) for m in page["metadatas"] or []), strict=True))
        return out

    def add(
        self,
        ids: Sequence[str],
        vectors: Sequence[Sequence[float]] | np.ndarray,
        metas: Sequence[dict[str, Any]],
    ) -> None:
        """Store chunks with their vectors (an id already stored is replaced)."""
        if not len(ids):
            return
        before = self._current(ids)

        def change() -> None:
            for start in range(0, len(ids), _PAGE):
                end = start + _PAGE
                self.collection.upsert(
                    ids=list(ids[start:end]),
                    embeddings=np.asarray(vectors[start:end], dtype=np.float32),
                    metadatas=[pack(m) for m in metas[start:end]],
                )

        self._write(change, before, dict(zip(ids, metas, strict=True)))

    def delete(self, ids: Sequence[str]) -> None:
        """Remove chunks by id."""
        before = self._current(ids)
        if not before:
            return

        def change() -> None:
            found = list(before)
            for start in range(0, len(found), _PAGE):
                self.collection.delete(ids=found[start : start + _PAGE])

        self._write(change, before, {})

    def update_metadata(self, updates: dict[str, dict[str, Any]]) -> None:
        """Replace the metadata of existing chunks without touching their vectors.

        Chroma merges metadata on update, so fields the new metadata lacks are deleted
        explicitly (None); that is also how an old-format chunk loses its legacy fields.
        """
        stored = self._stored(list(updates))
        if not stored:
            return
        before = {i: unpack(m) for i, m in stored.items()}
        packed = {i: pack(updates[i]) for i in stored}
        replaced = {i: {**{k: None for k in stored[i] if k not in packed[i]}, **packed[i]} for i in stored}

        def change() -> None:
            items = list(replaced.items())
            for start in range(0, len(items), _PAGE):
                batch = items[start : start + _PAGE]
                self.collection.update(ids=[i for i, _ in batch], metadatas=[m for _, m in batch])  # type: ignore[misc]

        self._write(change, before, {i: updates[i] for i in before})

    def settle(self, changed: int) -> bool:
        """After a bulk write (`changed` chunks), compact a local store's SQLite file; whether it ran.

        Chroma's own maintenance command (`chroma vacuum`, which also purges its write log)
        reclaims what a bulk write leaves: ≈ 230 B a paragraph at 100k, about 6% of its
        SQLite file, in ≈ 3 s. A Chroma server is its operator's to vacuum. Best effort: a
        store that is busy or a missing command only leaves the file as it is. A local
        store's HNSW search breadth is set here too, from its size (see _WIDE_EF).
        """
        settings = self.client.get_settings()
        if not settings.is_persistent or not settings.persist_directory:
            return False
        count = self.count()
        self._set_search_breadth(count)
        if changed < max(_VACUUM_MIN, _VACUUM_SHARE * count):
            return False
        command = Path(sys.executable).parent / "chroma"
        if not command.is_file():
            log.info("chroma command not found beside %s; store not vacuumed", sys.executable)
            return False
        path = settings.persist_directory
        args = [str(command), "vacuum", "--path", path, "--force", "--timeout", "30"]
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        if done.returncode:
            log.info("chroma vacuum of %s failed: %s", path, done.stderr.strip()[-300:])
        return done.returncode == 0

    def _set_search_breadth(self, count: int) -> None:
        """A wide HNSW search on a small local index (`count` chunks), Chroma's default on a large one."""
        breadth = _WIDE_EF if count <= _WIDE_UP_TO else _DEFAULT_EF
        hnsw = (self.collection.configuration or {}).get("hnsw") or {}
        if hnsw.get("ef_search", _DEFAULT_EF) == breadth:
            return
        try:
            self.collection.modify(configuration={"hnsw": {"ef_search": breadth}})
        except Exception as exc:  # best effort: searches stay as they were
            log.info("HNSW search breadth not changed to %d: %s", breadth, exc)

    # -- reads --------------------------------------------------------------------------

    def paragraphs(self) -> list[StoredParagraph]:
        """Every distinct paragraph, ordered by source and paragraph number (a full scan)."""
        seen: dict[str, StoredParagraph] = {}
        for page in self._pages(["metadatas", "documents"]):
            for stored, document in zip(page["metadatas"], page["documents"], strict=True):
                meta = unpack(dict(stored))
                if int(meta.get("chunk", 0)) == 0:
                    seen.setdefault(str(meta["paragraph_id"]), paragraph_from_metadata(meta, document))
        return sorted(seen.values(), key=lambda p: (p.source, p.number))

    def scan_fingerprint(self) -> Fingerprint:
        """The fingerprint computed from every chunk (the slow path)."""
        fingerprint = Fingerprint()
        for chunk_id, meta in self.metadata().items():
            fingerprint.add(chunk_id, meta)
        return fingerprint

    def fingerprint(self) -> str:
        """Changes whenever a chunk is added, removed or has its metadata changed.

        Read from the collection's metadata; scanned only for a store that has none
        (written before fingerprints were kept) or whose last writer died mid-write.
        """
        return str(self._stored_fingerprint() or self.scan_fingerprint())
