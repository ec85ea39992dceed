"""Growth: synthetic corpora of 1k-100k paragraphs, and how query time and index size follow.

A synthetic paragraph is a seeded shuffle of 2-4 real sentences (seeds and the dev half
of XQuAD) under a real headline. Embedding 100k paragraphs would take hours here, so
each sentence is embedded once (cached on disk) and a paragraph's vector is the
renormalised mean of its sentences' vectors: close to what the model gives for the
mix, at no model cost. The 240 real XQuAD paragraphs are copied in with their real
vectors, so the held-out questions still have their answers in the haystack and
recall can be measured as it grows; the fillers hold no held-out sentence, so no
filler can answer a held-out question by copying its gold paragraph.

Fillers go through the real write path: `plan_chunks` for ids and metadata,
`ParagraphStore.add`, then the row table and BM25 patched as the indexing job does.
The generator is one seeded stream, so the 10k corpus is the first 10k of the 100k one.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench import SEEDS
from bench.quality import answers
from bench.quality.xquad import Question
from bot.qa.engine import build
from indexing.arabic import dedupe_key
from indexing.chunking import Chunker
from indexing.paragraphs import Paragraph
from indexing.pipeline import plan_chunks
from indexing.store import lexical, table
from indexing.store import sentence_vectors as sentence_store
from indexing.store.chroma import Occurrence, ParagraphStore, chroma_client

SEED = 20240505
PARAGRAPHS_PER_FILE = 50
_SENTENCE_END = re.compile(r"(?<=[.!?؟…؛])\s+")
_MIN_WORDS, _MAX_WORDS = 5, 60
_WRITE_BATCH = 2000
_EMBED_BATCH = 64


@dataclass(frozen=True)
class SentencePool:
    """Real sentences to mix and real headlines to put over the mixes."""

    sentences: tuple[str, ...]
    titles: tuple[str, ...]

    def key(self) -> str:
        """Content hash, naming the cached sentence vectors."""
        digest = hashlib.sha1("\x1e".join(self.sentences).encode("utf-8"))
        return digest.hexdigest()[:16]


def sentences_of(text: str) -> list[str]:
    """A paragraph's sentences that are long enough to carry content and short enough to mix."""
    out = []
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        n = len(sentence.split())
        if _MIN_WORDS <= n <= _MAX_WORDS:
            out.append(sentence)
    return out


def build_pool(texts: Sequence[str], titles: Sequence[str]) -> SentencePool:
    """Distinct sentences of the given paragraphs, in first-seen order, and usable headlines.

    A headline must read as one to the paragraph parser (short, no final punctuation,
    not boilerplate: XQuAD's English titles are), so the corpus files parse back.
    """
    from indexing.boilerplate import is_boilerplate
    from indexing.paragraphs import is_title_like

    sentences = dict.fromkeys(s for t in texts for s in sentences_of(t))
    usable = (t for t in titles if t and is_title_like(t) and not is_boilerplate(t))
    return SentencePool(tuple(sentences), tuple(dict.fromkeys(usable)))


def pool_for(articles: Sequence[Any]) -> SentencePool:
    """The pool the growth runs mix: sentences of the seeds and of the dev-half XQuAD articles.

    Held-out articles stay out, so no filler holds a sentence a timed question asks about.
    """
    from indexing.corpus import SourceText, read_corpus
    from indexing.pipeline import collect_paragraphs

    seeds = SEEDS
    sources = [s for s in read_corpus(seeds) if isinstance(s, SourceText)]
    seed_paragraphs = [p for p, _ in collect_paragraphs(sources)]
    dev_articles = [a for i, a in enumerate(articles) if i % 2 == 0]
    texts = [p.text for p in seed_paragraphs] + [
        para["context"] for a in dev_articles for para in a["paragraphs"]
    ]
    titles = [p.headline for p in seed_paragraphs] + [a["title"].replace("_", " ") for a in dev_articles]
    return build_pool(texts, titles)


def sentence_vectors(pool: SentencePool, cache_dir: Path, progress: bool = True) -> np.ndarray:
    """One passage vector per pool sentence from the default embedder, embedded once and cached."""
    from indexing.embedder_mark import DEFAULT_KIND, embedder_name
    from indexing.embedding import make_embedder

    path = cache_dir / f"sentence-vectors-{embedder_name(DEFAULT_KIND)}-{pool.key()}.npy"
    if path.is_file():
        cached = np.load(path)
        if cached.shape[0] == len(pool.sentences):
            return cached
    embedder = make_embedder(DEFAULT_KIND)
    parts = []
    for start in range(0, len(pool.sentences), _EMBED_BATCH):
        batch = list(pool.sentences[start : start + _EMBED_BATCH])
        parts.append(np.asarray(embedder.get_text_embedding_batch(batch), dtype=np.float32))
        if progress:
            done = min(start + _EMBED_BATCH, len(pool.sentences))
            print(f"  sentence vectors: {done}/{len(pool.sentences)}", file=sys.stderr)
    vectors = np.concatenate(parts).astype(np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def iter_synthetic(pool: SentencePool, seed: int = SEED) -> Iterator[tuple[Paragraph, list[int]]]:
    """Distinct sentence mixes (paragraph, sentence indices), one seeded stream.

    Each mix is an article of its own in a file of PARAGRAPHS_PER_FILE articles: its
    headline on one line, its text on the next, two blank lines before the next
    article (see `corpus_text`), so the files parse back into exactly these paragraphs.
    """
    rng = random.Random(seed)
    seen: set[bytes] = set()
    i = 0
    while True:
        picks = rng.sample(range(len(pool.sentences)), rng.randint(2, 4))
        headline = rng.choice(pool.titles)
        text = " ".join(pool.sentences[k] for k in picks)
        key = hashlib.blake2b(dedupe_key(text).encode("utf-8"), digest_size=12).digest()
        if key in seen:
            continue
        seen.add(key)
        source = f"synthetic/{i // PARAGRAPHS_PER_FILE:05d}.txt"
        yield Paragraph(source, 2 * (i % PARAGRAPHS_PER_FILE) + 2, text, headline=headline), picks
        i += 1


def synthetic_paragraphs(pool: SentencePool, n: int, seed: int = SEED) -> list[tuple[Paragraph, list[int]]]:
    """The first n mixes of the stream: a prefix of any longer run."""
    return list(itertools.islice(iter_synthetic(pool, seed), n))


def corpus_text(paragraphs: Sequence[Paragraph]) -> str:
    """One synthetic file: each paragraph under its own headline, articles two blank lines apart."""
    return "\n\n\n".join(f"{p.headline}\n{p.text}" for p in paragraphs) + "\n"


def composed_vector(vectors: np.ndarray, picks: Sequence[int]) -> list[float]:
    """Mean of unit sentence vectors, back on the unit sphere."""
    mean = vectors[list(picks)].mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).tolist()


def filler_first_share(engine: Any, questions: Sequence[Question]) -> float:
    """Share of questions whose dense-only best paragraph is a filler.

    No filler holds a held-out sentence, so a high share means the composed vectors
    are hubs (means sit near the centre of the space), not that fillers answer.
    """
    retriever = engine.retriever
    first = 0
    for q in questions:
        scores = retriever.dense(retriever.embedder.get_query_embedding(q.text), 1)
        if not scores:
            continue
        best = retriever.store.paragraph(max(scores, key=scores.__getitem__))
        if best is not None and best.source.startswith("synthetic/"):
            first += 1
    return first / len(questions) if questions else 0.0


def disk_bytes(path: Path) -> int:
    """Bytes of every file under path."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def write_fillers(
    fillers: Iterable[tuple[Paragraph, list[int]]],
    vectors: np.ndarray,
    store: ParagraphStore,
    corpus_dir: Path | None,
    progress: bool = True,
) -> list[str]:
    """Fillers into Chroma through the real write path (ids and metadata from `plan_chunks`).

    With a corpus dir, each file is written too, so the indexing job can run over the
    same corpus and find every filler already stored. Returns the chunk ids written.
    """
    chunker = Chunker()
    written: list[str] = []
    batch: list[tuple[Paragraph, list[int]]] = []
    done = 0

    def flush() -> None:
        nonlocal done
        if corpus_dir is not None:
            by_file: dict[str, list[Paragraph]] = {}
            for p, _ in batch:
                by_file.setdefault(p.source, []).append(p)
            for source, paragraphs in by_file.items():
                path = corpus_dir / source
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as out:  # a file may span two batches
                    if path.stat().st_size:
                        out.write("\n\n")
                    out.write(corpus_text(paragraphs))
        vector_of = {(p.source, p.number): composed_vector(vectors, picks) for p, picks in batch}
        planned = plan_chunks([(p, [Occurrence(p.source, p.number)]) for p, _ in batch], chunker)
        ids = [c.chunk_id for c in planned]
        store.add(
            ids,
            np.asarray([vector_of[(c.metadata["source"], c.metadata["paragraph"])] for c in planned]),
            [c.metadata for c in planned],
        )
        written.extend(ids)
        done += len(batch)
        if progress and done % (10 * _WRITE_BATCH) == 0:
            print(f"  wrote {done:,} fillers", file=sys.stderr, flush=True)
        batch.clear()

    for item in fillers:
        batch.append(item)
        if len(batch) == _WRITE_BATCH:
            flush()
    if batch:
        flush()
    return written


def build_corpus(
    real_data_dir: Path,
    fillers: Iterable[tuple[Paragraph, list[int]]],
    vectors: np.ndarray,
    data_dir: Path,
    progress: bool = True,
    corpus_dir: Path | None = None,
    real_corpus: Path | None = None,
    pool: SentencePool | None = None,
) -> dict[str, float]:
    """A data dir with the real XQuAD chunks plus the fillers, written through the real store.

    The derived caches follow the indexing job's path for a store that grew: the row
    table is patched with the chunks read back from Chroma, then BM25 is updated, then
    (given the pool) the sentence vectors: a filler's sentences are pool sentences, whose
    vectors are cached, so only sentences outside the pool are embedded.
    """
    started = time.perf_counter()
    answers.copy_without(real_data_dir, data_dir, ())  # real chunks, real vectors, first caches
    if (real_data_dir / "embedder.json").is_file():  # whose vectors these are (see embedder_mark)
        shutil.copyfile(real_data_dir / "embedder.json", data_dir / "embedder.json")
    if corpus_dir is not None and real_corpus is not None:
        for path in real_corpus.glob("*.txt"):
            corpus_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, corpus_dir / path.name)
    copied = time.perf_counter()
    store = ParagraphStore(chroma_client(data_dir))
    ids = write_fillers(fillers, vectors, store, corpus_dir, progress)
    store.settle(len(ids))  # as the index job does after a bulk write
    written = time.perf_counter()
    start_table = table.ParagraphTable.load(data_dir / "table")
    assert start_table is not None, "copy_without leaves a current table"
    stored = store.metadata_of(ids)
    rows = start_table.updated(store.fingerprint(), added=(list(stored), list(stored.values())))
    rows.save(data_dir / "table")
    del ids
    table_done = time.perf_counter()
    lexical.load_or_build(rows, data_dir / "lexical")
    lexical_done = time.perf_counter()
    looked_up: list[int] = [0, 0]
    if pool is not None:
        embed = pool_embed(pool, vectors, looked_up)
        sentence_store.sync(rows, data_dir / "sentences", embed, data_dir_embedder(data_dir))
    return {
        "copy_real_s": copied - started,
        "write_chroma_s": written - copied,
        "build_table_s": table_done - written,
        "build_bm25_s": lexical_done - table_done,
        "build_sentences_s": time.perf_counter() - lexical_done,
        "sentences_from_pool": float(looked_up[0]),
        "sentences_embedded": float(looked_up[1]),
        "chunks": float(store.count()),
    }


def data_dir_embedder(data_dir: Path) -> str:
    """The embedder a data dir records (embedder.json), or the default one's name."""
    import json

    from indexing.embedder_mark import DEFAULT_KIND, embedder_name

    try:
        return str(json.loads((data_dir / "embedder.json").read_text(encoding="utf-8"))["embedder"])
    except (OSError, ValueError, KeyError):
        return embedder_name(DEFAULT_KIND)


def pool_embed(
    pool: SentencePool, vectors: np.ndarray, counts: list[int]
) -> Callable[[list[str]], list[Any]]:
    """Passage vectors of texts: cached ones for pool sentences, the default embedder for the rest.

    counts[0] and counts[1] add up the texts looked up and embedded.
    """
    index = {sentence: i for i, sentence in enumerate(pool.sentences)}
    model: list[Any] = []

    def embed(texts: list[str]) -> list[Any]:
        missing = list(dict.fromkeys(t for t in texts if t not in index))
        extra: dict[str, Any] = {}
        if missing:
            if not model:
                from indexing.embedder_mark import DEFAULT_KIND
                from indexing.embedding import make_embedder

                model.append(make_embedder(DEFAULT_KIND))
            extra = dict(zip(missing, model[0].get_text_embedding_batch(missing), strict=True))
        counts[0] += sum(1 for t in texts if t in index)
        counts[1] += len(missing)
        return [vectors[index[t]] if t in index else extra[t] for t in texts]

    return embed


def measure_size(
    size: int,
    real_data_dir: Path,
    pool: SentencePool,
    vectors: np.ndarray,
    questions: Sequence[Question],
    work_dir: Path,
    real_paragraphs: int,
    progress: bool = True,
    breakdown_questions: int = 0,
) -> dict[str, Any]:
    """Build one synthetic corpus of `size` paragraphs and time questions against it."""
    from bench.perf import speed

    data_dir = work_dir / f"growth-{size}"
    shutil.rmtree(data_dir, ignore_errors=True)
    fillers = synthetic_paragraphs(pool, max(size - real_paragraphs, 0))
    build_times = build_corpus(real_data_dir, fillers, vectors, data_dir, progress)
    engine = build(data_dir)
    records = answers.ask_all(engine, questions, f"growth {size}", progress)
    hubs = filler_first_share(engine, questions)
    breakdown = retrieval_breakdown(engine, questions[:breakdown_questions]) if breakdown_questions else None
    process = speed.engine_process(data_dir, [q.text for q in questions[:3]])
    ranks = [r.rank for r in records]
    out = {
        "paragraphs": real_paragraphs + len(fillers),
        "build": build_times,
        "disk_bytes": {
            "chroma": disk_bytes(data_dir / "chroma"),
            "lexical": disk_bytes(data_dir / "lexical"),
            "table": disk_bytes(data_dir / "table"),
            "total": disk_bytes(data_dir),
        },
        "questions": len(records),
        "latency_ms": answers.latency(records),
        "r1": sum(1 for r in ranks if r == 1) / len(ranks) if ranks else 0.0,
        "r5": sum(1 for r in ranks if 1 <= r <= 5) / len(ranks) if ranks else 0.0,
        "answered": sum(r.answered for r in records) / len(records) if records else 0.0,
        "dense_top1_filler": hubs,
        "engine_process": process,
    }
    if breakdown is not None:
        out["breakdown"] = breakdown
    del engine
    shutil.rmtree(data_dir, ignore_errors=True)
    return out


def retrieval_breakdown(engine: Any, questions: Sequence[Question]) -> dict[str, Any]:
    """Each step of HybridRetriever.search timed on its own, to say where the time goes."""
    from bench.metrics import latency_summary
    from bot.qa.fusion import fuse, ranked
    from bot.qa.spelling import corpus_spelling

    retriever = engine.retriever
    k = max(retriever.config.candidates, 10)
    steps: dict[str, list[float]] = {
        "the question in the corpus's spelling (bot/qa/spelling.py)": [],
        "query embedding": [],
        "dense top-k (Chroma HNSW, ids and distances)": [],
        "BM25 scores of every paragraph": [],
        "BM25 top-k (partial sort)": [],
        "vectors of BM25-only candidates (HNSW files; Chroma by id for the rest)": [],
        "fusion and records of the top 10 (row table)": [],
        "whole search": [],
        "whole search without the second stage (fuse)": [],
    }
    names = list(steps)
    spellings = retriever.lexical.spellings
    for q in questions:
        s0 = time.perf_counter()
        spelled = corpus_spelling(q.text, spellings) if spellings is not None else q.text
        t0 = time.perf_counter()
        vector = retriever.embedder.get_query_embedding(spelled)
        t1 = time.perf_counter()
        dense = retriever.dense(vector, k)
        t2 = time.perf_counter()
        scores = retriever.lexical.scores_for(q.text)
        t3 = time.perf_counter()
        top = retriever.bm25_top(scores, k)
        t4 = time.perf_counter()
        qv = np.asarray(vector, dtype=np.float32)
        for pid, matrix in retriever.store.vectors([pid for pid in top if pid not in dense]).items():
            dense[pid] = float((matrix @ qv).max())
        t5 = time.perf_counter()
        candidates = [pid for pid in dict.fromkeys([*dense, *top]) if pid in dense]
        rows = retriever.lexical.rows_of(candidates)
        bm25 = np.where(rows >= 0, scores[np.maximum(rows, 0)], 0.0).astype(np.float32)
        cosine = np.array([dense[pid] for pid in candidates], dtype=np.float32)
        fused = fuse(bm25, cosine, retriever.config.bm25_weight, retriever.config.dense_weight)
        for i in ranked(candidates, fused, 10):
            retriever.store.paragraph(candidates[i])
        t6 = time.perf_counter()
        retriever.search(q.text, 10)
        t7 = time.perf_counter()
        retriever.fuse(q.text, 10)
        t8 = time.perf_counter()
        spans = ((s0, t0), (t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5), (t5, t6), (t6, t7), (t7, t8))
        for name, (a, b) in zip(names, spans, strict=True):
            steps[name].append((b - a) * 1000)
    return {"n": len(questions), "steps": {name: latency_summary(v) for name, v in steps.items()}}
