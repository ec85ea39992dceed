"""The indexing job: corpus -> paragraphs -> chunks -> vectors in Chroma -> BM25.

Incremental by construction: the job computes the chunks the corpus should have,
compares their ids with what Chroma holds, and only writes the difference. Ids
hash source, paragraph number and content (titles included), so an unchanged
corpus writes nothing. Vectors are reused by the hash of the text that was
embedded, so a paragraph that merely moved (a line inserted above it) is not
embedded again. New chunks are stored batch by batch as they are embedded, and
removals come after additions, so a run killed at any point is finished by the
next one with nothing duplicated.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from indexing.arabic import dedupe_key
from indexing.articles import one_copy_each
from indexing.chunking import Chunker
from indexing.corpus import SkippedFile, SourceText, read_corpus
from indexing.embedder_mark import EmbedderMark
from indexing.paragraphs import Paragraph, parse_paragraphs
from indexing.private import private_dir
from indexing.store import lexical, manifest, sentence_vectors, table
from indexing.store.chroma import (
    TEXT_KEY,
    Occurrence,
    ParagraphStore,
    comparable_metadata,
    decode_text,
    encode_occurrences,
    encode_text,
)
from indexing.untrusted import printable

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from indexing.fetch import FetchConfig

# Chunks embedded and written per step. Each write costs a few fixed Chroma round trips
# (existing metadata, fingerprint pending/set), so large steps keep the job's overhead over
# the bare model small (bench: embed, job_overhead). The encoders batch internally.
EMBED_BATCH = 256
# Up to this many sentences of new paragraphs are embedded in the same sorted stream as the
# chunks and kept (float32, ≈ 1.5 KB each) until the sentence store takes them: one pass pads
# less and makes fewer calls than two (bench: embed, job_overhead). A bigger job, such as a
# first index of a large archive, embeds its sentences in their own pass, as before.
SENTENCES_WITH_CHUNKS = 20_000
# Bump when parsing or chunk planning changes what an unchanged article yields: every
# article is then planned again once (see `article_digest`).
PLAN_VERSION = "plan-1"
# Embeds and stores chunks (sorted shortest first), yielding each batch once it is stored.
EmbedStep = Callable[[list["PlannedChunk"]], Iterator[list["PlannedChunk"]]]
_WEB = ("http://", "https://")  # the source of an article fetched from a feed is its URL
# Metadata values that are left out of Chroma because an absent field reads as them.
_DEFAULTS: dict[str, Any] = {
    "headline": "",
    "section": "",
    "url": "",
    "outlet": "",
    "author": "",
    "published": "",
    "chunk": 0,
    "chunks": 1,
}
_NO_DEFAULT = object()


def _sha1(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()


def embedding_input(paragraph: Paragraph, chunk: str) -> str:
    """The text the embedder reads: the article's titles give the chunk its context."""
    return "\n".join(filter(None, (paragraph.headline, paragraph.section, chunk)))


@dataclass
class PlannedChunk:
    """A chunk the corpus should have in the store."""

    chunk_id: str
    text: str
    embed_text: str
    metadata: dict[str, Any]
    paragraph_text: str = ""  # on a new paragraph's first chunk: its text, not yet compressed


@dataclass
class IndexReport:
    """What one run did; printed as the `--json` summary."""

    files: int = 0  # corpus files read (an export or feed file counts once)
    articles: int = 0  # articles indexed, one per page, record, feed entry or text file
    paragraphs: int = 0
    chunks: int = 0
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    updated: int = 0
    embedded: int = 0
    embedded_sentences: int = 0  # sentences of new paragraphs, embedded for the second ranking stage
    reused_vectors: int = 0
    duplicates: int = 0  # copies of an article already read (the newest copy is indexed)
    feeds: int = 0  # feed URLs read
    fetched: int = 0  # HTTP requests sent for them
    new_from_feeds: int = 0  # articles (whole pages or entries) the feeds added to the archive this run
    lexical_rebuilt: bool = False
    seconds: float = 0.0
    embed_seconds: float = 0.0  # of `seconds`, embedding and writing new chunks (model load included)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["seconds"] = round(self.seconds, 3)
        out["embed_seconds"] = round(self.embed_seconds, 3)
        return out


def parse_sources(sources: Sequence[SourceText]) -> list[list[tuple[Paragraph, str]]]:
    """Each article's paragraphs with their dedupe keys, article by article."""
    out: list[list[tuple[Paragraph, str]]] = []
    for source in sources:
        found = []
        for parsed in parse_paragraphs(source.source, source.text, source.headline):
            paragraph = replace(
                parsed, url=source.url, outlet=source.outlet, author=source.author, published=source.published
            )
            found.append((paragraph, dedupe_key(paragraph.text)))
        out.append(found)
    return out


def merge_paragraphs(
    parsed: Sequence[Sequence[tuple[Paragraph, str]]],
) -> list[tuple[Paragraph, list[Occurrence]]]:
    """Distinct paragraphs in corpus order, each with every place it occurs."""
    by_key: dict[str, tuple[Paragraph, list[Occurrence]]] = {}
    for found in parsed:
        for paragraph, key in found:
            place = Occurrence(paragraph.source, paragraph.number, paragraph.outlet, paragraph.url)
            if key in by_key:
                by_key[key][1].append(place)
            else:
                by_key[key] = (paragraph, [place])
    return list(by_key.values())


def collect_paragraphs(
    sources: Sequence[SourceText],
) -> list[tuple[Paragraph, list[Occurrence]]]:
    """Distinct paragraphs in corpus order, each with every place it occurs."""
    return merge_paragraphs(parse_sources(sources))


def paragraph_id(paragraph: Paragraph) -> str:
    """A paragraph's id: hashes its place and its content (titles included)."""
    content_hash = _sha1(paragraph.headline, paragraph.section, paragraph.text)
    return _sha1(paragraph.source, str(paragraph.number), content_hash)[:32]


def article_digest(source: SourceText) -> bytes:
    """Everything the planner reads of an article, digested (see `indexing.store.manifest`)."""
    fields = (source.source, source.text, source.headline, source.url, source.outlet, source.author)
    return manifest.digest(PLAN_VERSION, *fields, source.published)


def manifest_entries(parsed: Sequence[Sequence[tuple[Paragraph, str]]]) -> list[list[tuple[bytes, str]]]:
    """Per article: (dedupe key digest, id of the paragraph stored for that key)."""
    owner: dict[str, str] = {}
    for found in parsed:
        for paragraph, key in found:
            if key not in owner:
                owner[key] = paragraph_id(paragraph)
    return [[(manifest.digest(key, size=12), owner[key]) for _, key in found] for found in parsed]


def plan_chunks(
    paragraphs: Sequence[tuple[Paragraph, list[Occurrence]]],
    chunker: Chunker,
    stored: dict[str, dict[str, Any]] | None = None,
) -> list[PlannedChunk]:
    """Every chunk the store should hold, with stable content-derived ids.

    `stored` (chunk id -> metadata) lets a paragraph already in the store skip the
    costly steps (tokenising, compressing): its chunk count, embed hashes and
    compressed text are functions of the content its id hashes, so they are taken
    from the store; every other field is planned afresh.
    """
    stored = stored or {}
    planned: list[PlannedChunk] = []
    for paragraph, occurrences in paragraphs:
        pid = paragraph_id(paragraph)
        reused = _stored_chunks(pid, stored)
        pieces = [""] * len(reused) if reused else chunker.split(paragraph.text)
        for i, piece in enumerate(pieces):
            embed_text = "" if reused else embedding_input(paragraph, piece)
            metadata: dict[str, Any] = {
                "paragraph_id": pid,
                "source": paragraph.source,
                "paragraph": paragraph.number,
                "headline": paragraph.headline,
                "section": paragraph.section,
                "occurrences": encode_occurrences(occurrences),
                "embed_hash": reused[i]["embed_hash"] if reused else _sha1(embed_text),
                "chunk": i,
                "chunks": len(pieces),
            }
            metadata.update(
                url=paragraph.url,
                outlet=paragraph.outlet,
                author=paragraph.author,
                published=paragraph.published,
            )
            if occurrences == [Occurrence(paragraph.source, paragraph.number)]:
                del metadata["occurrences"]  # the paragraph's own place, what readers assume
            # A field at its default is left out: it reads back the same and costs no rows in Chroma.
            metadata = {k: v for k, v in metadata.items() if _DEFAULTS.get(k, _NO_DEFAULT) != v}
            if i == 0:  # the paragraph text is stored once, on its first chunk
                metadata[TEXT_KEY] = reused[0][TEXT_KEY] if reused else encode_text(paragraph.text)
            planned.append(
                PlannedChunk(
                    chunk_id=f"{pid}-{i}",
                    text=piece,
                    embed_text=embed_text,
                    metadata=metadata,
                    paragraph_text=paragraph.text if i == 0 and not reused else "",
                )
            )
    return planned


def _stored_chunks(paragraph_id: str, stored: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored chunks of a paragraph in order, or [] unless all are there in the lean format."""
    first = stored.get(f"{paragraph_id}-0")
    if first is None or "legacy" in first or TEXT_KEY not in first:
        return []
    chunks = [stored.get(f"{paragraph_id}-{i}") for i in range(int(first.get("chunks", 1)))]
    if any(c is None or "embed_hash" not in c for c in chunks):
        return []
    return chunks  # type: ignore[return-value]


def store_chunks(
    store: ParagraphStore, chunks: Sequence[PlannedChunk], vectors: Sequence[Sequence[float]]
) -> None:
    """Write planned chunks with their vectors, in the lean format."""
    store.add([c.chunk_id for c in chunks], [list(v) for v in vectors], [c.metadata for c in chunks])


@dataclass
class _Plan:
    """What one run compares: planned chunks against the stored chunks they may replace."""

    existing: dict[str, dict[str, Any]]  # chunk id -> stored metadata of every chunk in play
    planned: list[PlannedChunk]  # chunks the articles in play should have
    untouched_paragraphs: int  # stored paragraphs outside the plan, kept as they are
    untouched_chunks: int
    manifest: manifest.SourceManifest  # what each article contributes after this run
    changed: bool  # whether that differs from the manifest on disk


class Indexer:
    """Brings the store and the lexical index in line with a corpus folder."""

    def __init__(
        self,
        store: ParagraphStore,
        embedder: BaseEmbedding | Callable[[], BaseEmbedding],
        chunker: Chunker,
        lexical_dir: Path,
        warn: Callable[[str], None] | None = None,
        progress: bool | None = None,
        data_dir: Path | None = None,
        fetch_config: FetchConfig | None = None,
        mark: EmbedderMark | None = None,
        embed_step: EmbedStep | None = None,
    ) -> None:
        self.store = store
        self.mark = mark
        # Embeds and stores new chunks; None: this process, batch by batch (see _embed).
        self.embed_step = embed_step
        # A factory defers loading the model (and llama-index) until something needs embedding.
        self._embedder = embedder
        self.chunker = chunker
        self.lexical_dir = lexical_dir
        self.warn = warn or (lambda message: print(message, file=sys.stderr))
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.data_dir = data_dir  # where feed articles and the HTTP cache are kept
        self.fetch_config = fetch_config  # None: FetchConfig's defaults
        # During a run: sentences to embed along with the chunks, then their vectors.
        self._sentence_texts: list[str] = []
        self._sentence_vectors: dict[str, np.ndarray] = {}

    @property
    def embedder(self) -> BaseEmbedding:
        """The embedding model, created on first use."""
        from llama_index.core.base.embeddings.base import BaseEmbedding

        if not isinstance(self._embedder, BaseEmbedding):
            self._embedder = self._embedder()
        return self._embedder

    def run(self, corpus_dir: Path, feeds: Sequence[str] = (), allowed: Sequence[Path] = ()) -> IndexReport:
        """Index corpus_dir (and the articles of the given feed URLs) incrementally; report what changed.

        Links in the corpus are followed only to files inside it or under an `allowed` folder.
        """
        started = time.perf_counter()
        report = IndexReport()
        read: list[SourceText] = []
        items: list[SourceText | SkippedFile] = list(read_corpus(corpus_dir, allowed))
        if feeds:
            from indexing.feed_archive import fetch_feeds

            if self.data_dir is None:
                raise ValueError("feeds need a data dir to keep their articles in")
            fed = fetch_feeds(feeds, self.data_dir, self.fetch_config)
            report.feeds, report.fetched, report.new_from_feeds = len(feeds), fed.requests, fed.new_articles
            items += [*fed.problems, *fed.articles]
        for item in items:
            if isinstance(item, SkippedFile):
                self.warn(f"warning: skipped {printable(item.source)}: {printable(item.reason)}")
                report.skipped.append({"file": item.source, "reason": item.reason})
            else:
                read.append(item)
        sources, copies = one_copy_each(read)
        report.duplicates = len(copies)
        report.articles = len(sources)
        report.files = len({s.source.split("#", 1)[0] for s in read if not s.source.startswith(_WEB)})

        table_dir = self.lexical_dir.parent / "table"
        sources_dir = self.lexical_dir.parent / "sources"
        current = table.ParagraphTable.load(table_dir)
        if current is not None and current.fingerprint != self.store.fingerprint():
            current = None
        digests = [article_digest(s) for s in sources]
        plan = self._changed_only(sources, digests, current, manifest.SourceManifest.load(sources_dir))
        if plan is None:
            plan = self._everything(sources, digests, current)
        existing, planned = plan.existing, plan.planned
        legacy = sum(1 for m in existing.values() if "legacy" in m)
        if legacy:
            self.warn(
                f"note: converting {legacy} chunks written by an older isnad to the lean format "
                "(vectors kept, nothing re-embedded)"
            )

        if self.mark is not None:
            self.mark.record(has_vectors=bool(existing) or plan.untouched_chunks > 0)
        wanted = {c.chunk_id: c for c in planned}
        to_add = [c for c in planned if c.chunk_id not in existing]
        to_remove = [i for i in existing if i not in wanted]
        to_update = {
            c.chunk_id: c.metadata
            for c in planned
            if c.chunk_id in existing and existing[c.chunk_id] != c.metadata
        }

        old_pids = {str(m.get("paragraph_id")) for m in existing.values()}
        new_pids = {str(c.metadata["paragraph_id"]) for c in planned}
        changed_pids = {str(m["paragraph_id"]) for m in to_update.values()}
        report.paragraphs = plan.untouched_paragraphs + len(new_pids)
        report.chunks = plan.untouched_chunks + len(planned)
        report.added = len(new_pids - old_pids)
        report.removed = len(old_pids - new_pids)
        report.updated = len(changed_pids & old_pids)
        report.unchanged = plan.untouched_paragraphs + len((new_pids & old_pids) - changed_pids)

        written: list[str] = []  # ids of added chunks, to patch the row table with
        self._add(to_add, existing, report, written)
        self.store.delete(to_remove)
        self.store.update_metadata(to_update)
        self.store.settle(len(to_add) + len(to_remove) + len(to_update))
        after = self.store.fingerprint()
        if current is not None:
            stored = self.store.metadata_of(written)  # as Chroma keeps them
            added = (list(stored), list(stored.values()))
            rows = current.updated(after, removed=to_remove, added=added, changed=to_update)
        else:
            rows = table.ParagraphTable.from_store(self.store, after)
        if current is None or rows.fingerprint != current.fingerprint:
            rows.save(table_dir)
        if plan.manifest.fingerprint != after or plan.changed:
            plan.manifest.fingerprint = after
            plan.manifest.save(sources_dir)
        _, report.lexical_rebuilt = lexical.load_or_build(rows, self.lexical_dir, previous=current)
        report.embedded_sentences = self._sentences(rows, report)
        report.seconds = time.perf_counter() - started
        return report

    def _everything(
        self, sources: Sequence[SourceText], digests: list[bytes], current: table.ParagraphTable | None
    ) -> _Plan:
        """Parse and plan every article, compared with every stored chunk."""
        parsed = parse_sources(sources)  # first: a new store is still being opened meanwhile
        if current is not None:
            existing = current.chunk_metadata()  # no scan of Chroma on a routine refresh
        else:
            existing = {i: comparable_metadata(m) for i, m in self.store.metadata().items()}
        planned = plan_chunks(merge_paragraphs(parsed), self.chunker, existing)
        sources_seen = manifest.SourceManifest.of("", digests, manifest_entries(parsed))
        return _Plan(existing, planned, 0, 0, sources_seen, changed=True)

    def _changed_only(
        self,
        sources: Sequence[SourceText],
        digests: list[bytes],
        current: table.ParagraphTable | None,
        seen: manifest.SourceManifest | None,
    ) -> _Plan | None:
        """Parse and plan only the articles that changed since the last run, or None when unsafe.

        Safe when the row table and the manifest both describe what Chroma holds now, and
        no paragraph of a changed (added, edited or gone) article also occurs in an
        unchanged one: the unchanged articles' chunks, occurrences included, then stay as
        they are.
        """
        if current is None or seen is None or seen.fingerprint != current.fingerprint:
            return None
        if len(set(digests)) != len(digests):
            return None
        row_of = {bytes(d): i for i, d in enumerate(seen.articles)}
        kept = np.array([row_of[d] for d in digests if d in row_of], dtype=np.int64)
        changed = [s for s, d in zip(sources, digests, strict=True) if d not in row_of]
        gone = np.setdiff1d(np.arange(len(seen)), kept)
        if not changed and not len(gone):
            return _Plan({}, [], current.paragraph_count, len(current), seen, changed=False)
        parsed = parse_sources(changed)
        mask = seen.entry_mask(gone)
        new_keys = {manifest.digest(key, size=12) for found in parsed for _, key in found}
        touched = np.array(sorted(new_keys | {bytes(k) for k in seen.keys[mask]}), dtype="S12")
        if np.isin(seen.keys[seen.entry_mask(kept)], touched).any():
            return None  # a paragraph shared with an unchanged article: plan everything
        paragraphs = merge_paragraphs(parsed)
        old_pids = {bytes(p).decode("ascii") for p in seen.paragraph_ids[mask]}
        pids = {paragraph_id(p) for p, _ in paragraphs} | old_pids
        existing = current.chunk_metadata(current.chunk_ids_of(pids))
        planned = plan_chunks(paragraphs, self.chunker, existing)
        stored_pids = {str(m["paragraph_id"]) for m in existing.values()}
        # The new manifest: every article in corpus order, unchanged ones as they were.
        entries = iter(manifest_entries(parsed))
        rows = [row_of.get(d, -1) for d in digests]
        listed = [seen.entries(r) if r >= 0 else next(entries) for r in rows]
        return _Plan(
            existing,
            planned,
            current.paragraph_count - len(stored_pids),
            len(current) - len(existing),
            manifest.SourceManifest.of("", digests, listed),
            changed=True,
        )

    def _add(
        self,
        chunks: list[PlannedChunk],
        existing: dict[str, dict[str, Any]],
        report: IndexReport,
        written: list[str],
    ) -> None:
        """Embed (or reuse vectors for) new chunks and store them batch by batch."""
        if not chunks:
            return

        def store(batch: list[PlannedChunk], vectors: list[list[float]]) -> None:
            ids, metas = [c.chunk_id for c in batch], [c.metadata for c in batch]
            self.store.add(ids, vectors, metas)
            written.extend(ids)

        by_hash = {str(m.get("embed_hash")): i for i, m in existing.items()}
        reusable = {
            c.chunk_id: by_hash[c.metadata["embed_hash"]]
            for c in chunks
            if c.metadata["embed_hash"] in by_hash
        }
        vectors = self.store.embeddings(list(set(reusable.values())))
        reused = [c for c in chunks if reusable.get(c.chunk_id) in vectors]
        store(reused, [vectors[reusable[c.chunk_id]] for c in reused])
        report.reused_vectors = len(reused)
        fresh = [c for c in chunks if reusable.get(c.chunk_id) not in vectors]
        # Texts of similar length share a batch, so a batched backend pads little.
        fresh.sort(key=lambda c: len(c.embed_text))
        pending = Counter(str(c.metadata["paragraph_id"]) for c in fresh)
        bar = tqdm(
            total=len(pending),
            desc="embedding",
            unit=" paragraphs",
            disable=not self.progress,
            file=sys.stderr,
        )
        if self.embed_step is None:
            texts = list(dict.fromkeys(_sentences_of(chunks)))
            self._sentence_texts = texts if len(texts) <= SENTENCES_WITH_CHUNKS else []
        steps = (self.embed_step or self._embed)(fresh)
        while True:
            step_started = time.perf_counter()
            batch = next(steps, None)
            report.embed_seconds += time.perf_counter() - step_started
            if batch is None:
                break
            written.extend(c.chunk_id for c in batch)
            report.embedded += len(batch)
            done = 0
            for chunk in batch:
                pid = str(chunk.metadata["paragraph_id"])
                pending[pid] -= 1
                done += pending[pid] == 0
            bar.update(done)
        bar.close()

    def _sentences(self, rows: table.ParagraphTable, report: IndexReport) -> int:
        """Embed the sentences of new paragraphs (indexing/store/sentence_vectors.py); how many."""
        started = time.perf_counter()
        name = self.mark.name if self.mark is not None else ""
        root = self.lexical_dir.parent / "sentences"
        try:
            embedded = sentence_vectors.sync(rows, root, self._embedded_sentences, name)
        finally:
            self._sentence_texts, self._sentence_vectors = [], {}
        report.embed_seconds += time.perf_counter() - started if embedded else 0.0
        return embedded

    def _embedded_sentences(self, texts: list[str]) -> list[Any]:
        """Vectors of sentences: those embedded with the chunks, the rest embedded now."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._sentence_vectors))
        if missing:
            vectors = self.embedder.get_text_embedding_batch(missing)
            self._sentence_vectors.update(zip(missing, map(np.asarray, vectors), strict=True))
        return [self._sentence_vectors[t] for t in texts]

    def _embed(self, fresh: list[PlannedChunk]) -> Iterator[list[PlannedChunk]]:
        """Embed and store chunks batch by batch, yielding each batch once it is stored.

        The sentences planned for the sentence store (`_sentence_texts`) share the chunks'
        stream, shortest text first; their vectors are kept for `_sentences`.
        """
        stream: list[PlannedChunk | str] = [*fresh, *self._sentence_texts]
        stream.sort(key=lambda item: len(item if isinstance(item, str) else item.embed_text))
        batch: list[PlannedChunk] = []
        vectors: list[Sequence[float]] = []
        for start in range(0, len(stream), EMBED_BATCH):
            part = stream[start : start + EMBED_BATCH]
            texts = [item if isinstance(item, str) else item.embed_text for item in part]
            for item, vector in zip(part, self.embedder.get_text_embedding_batch(texts), strict=True):
                if isinstance(item, str):
                    self._sentence_vectors[item] = np.asarray(vector, dtype=np.float32)
                else:
                    batch.append(item)
                    vectors.append(vector)
            if len(batch) >= EMBED_BATCH or (batch and start + EMBED_BATCH >= len(stream)):
                store_chunks(self.store, batch, vectors)
                yield batch
                batch, vectors = [], []


def _sentences_of(chunks: Sequence[PlannedChunk]) -> list[str]:
    """The sentences the sentence store will embed for these new chunks' paragraphs."""
    out: list[str] = []
    for chunk in chunks:
        if TEXT_KEY in chunk.metadata:  # a paragraph's first chunk carries its text
            text = chunk.paragraph_text or decode_text(chunk.metadata[TEXT_KEY])
            out.extend(sentence_vectors.kept_sentences(text))
    return out


def build_indexer(
    data_dir: Path,
    chroma_host: str | None = None,
    chroma_port: int | None = None,
    progress: bool | None = None,
    chroma_token: str | None = None,
    embedder_factory: Callable[[], BaseEmbedding] | None = None,
    fetch_config: FetchConfig | None = None,
    embedder_name: str | None = None,
    embed_step: Callable[[ParagraphStore], EmbedStep] | None = None,
) -> Indexer:
    """Wire the real collaborators: Chroma in data_dir (or a server), the embedder, cl100k.

    Without a factory the data dir's own embedder is used (onnx for a new one);
    embedder_name (the vector space the factory's embedder writes, see
    indexing/embedder_mark.py) keeps the data dir from mixing two embedders' vectors.
    embed_step, given the store, returns another way to embed and store new chunks
    (indexing/ray_backfill.py).
    """
    from indexing.embedder_mark import default_kind
    from indexing.embedder_mark import embedder_name as name_of
    from indexing.store.chroma import chroma_client

    kind = default_kind(data_dir)

    def embedder() -> BaseEmbedding:
        from indexing.embedding import make_embedder

        return make_embedder(kind)

    if embedder_factory is None:
        embedder_name = embedder_name or name_of(kind)
    mark = EmbedderMark(data_dir, embedder_name) if embedder_name else None
    private_dir(data_dir)
    if chroma_host:  # a server that cannot be reached is reported here, before any work
        store = ParagraphStore(chroma_client(data_dir, chroma_host, chroma_port, chroma_token))
    else:  # opens while the corpus is read and parsed (Indexer.run)
        store = ParagraphStore.opening(lambda: chroma_client(data_dir))
    return Indexer(
        store,
        embedder_factory or embedder,
        Chunker(),
        data_dir / "lexical",
        progress=progress,
        data_dir=data_dir,
        fetch_config=fetch_config,
        mark=mark,
        embed_step=embed_step(store) if embed_step else None,
    )
