"""Sentence vectors: each indexed paragraph's sentences, embedded once at index time, kept compact.

The second ranking stage compares the question with every sentence of a candidate paragraph
(bot/qa/rerank.py); embedding those sentences per question would cost more than the whole
search, so the index job embeds them when a paragraph is indexed, with the same embedder
(passage side), and keeps them here:

- int8, one scale per vector (the vector is about scale * int8): 384 + 4 bytes a sentence;
- a paragraph of one sentence keeps no vector (its chunk vector already says the same);
- keyed by paragraph id (sorted, with the start of its sentences), so a table rebuild or a
  paragraph that moves changes nothing; memory-mapped, published like the other derived
  caches (indexing/store/snapshots.py);
- in append-only segments, like the row table: a refresh writes only its new paragraphs'
  sentences to a new segment and hard-links the others into the next snapshot; each segment
  carries a small mask of which of its paragraphs are still indexed (rewritten per snapshot).
  Segments are merged into one when removed sentences outnumber live ones or there are more
  than 16. A `sentences-v1` store (one segment, no mask) is read as it is and extended.

`sync` brings the store in line with the row table: vectors of paragraphs still indexed are
kept (a paragraph removed and indexed again gets its old vectors back), new paragraphs'
sentences are embedded, removed ones are masked out; an unchanged table embeds and writes
nothing. The cosines are the same whichever segment a vector sits in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexing.sentences import split_sentences
from indexing.store import snapshots
from indexing.store.table import ParagraphTable

log = logging.getLogger(__name__)

FORMAT = "sentences-v2"
_READS = ("sentences-v1", FORMAT)
_MAX_SEGMENTS = 16
# Sentences per embedder call, shortest first. As many as the index job's chunk steps: each call
# re-sorts and pads its own texts, and 32 a call cost the job ≈ 3 points of overhead over the
# bare encoder (bench: embed, job_overhead; XQuAD-ar +10.1 % with 32 vs +6.6 % with 256).
EMBED_BATCH = 256
# Embeds passage-side texts with the index's embedder: texts -> one vector each.
EmbedTexts = Callable[[list[str]], Sequence[Sequence[float]]]


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and one float32 scale per row, with row ≈ scale * codes."""
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    scale = np.abs(vectors).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    codes = np.clip(np.rint(vectors / scale[:, None]), -127, 127).astype(np.int8)
    return codes, scale.astype(np.float32)


@dataclass
class Segment:
    """Sentence vectors of some paragraphs; never changed once written, except its mask."""

    paragraph_ids: np.ndarray  # bytes, sorted
    start: np.ndarray  # int64: paragraph i's sentences are rows start[i]:start[i + 1]
    codes: np.ndarray  # int8, one row per sentence
    scales: np.ndarray  # float32, one per sentence
    alive: np.ndarray  # bool, one per paragraph: still indexed

    _ARRAYS = ("paragraph_ids", "start", "codes", "scales")

    def find(self, key: bytes) -> int:
        """The position of a paragraph id, alive or not; -1 when the segment never held it."""
        i = int(np.searchsorted(self.paragraph_ids, key))
        return i if i < len(self.paragraph_ids) and self.paragraph_ids[i] == key else -1

    def holds(self, keys: np.ndarray) -> np.ndarray:
        """For sorted keys: whether this segment holds each (alive or not)."""
        if not len(self.paragraph_ids):
            return np.zeros(len(keys), dtype=bool)
        at = np.minimum(np.searchsorted(self.paragraph_ids, keys), len(self.paragraph_ids) - 1)
        return np.asarray(self.paragraph_ids[at] == keys)

    def sentences(self, mask: np.ndarray) -> int:
        """How many sentences the masked paragraphs have."""
        return int(((self.start[1:] - self.start[:-1]) * mask).sum())

    def taken(self, picks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sentence counts, codes and scales of the picked paragraphs, in the picks' order."""
        counts = (self.start[picks + 1] - self.start[picks]).astype(np.int64)
        firsts = np.repeat(self.start[picks] - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        index = firsts + np.arange(int(counts.sum()))
        return counts, np.asarray(self.codes)[index], np.asarray(self.scales)[index]

    def write(self, folder: Path, name: str) -> None:
        for array in self._ARRAYS:
            np.save(folder / _file(name, array), getattr(self, array), allow_pickle=False)

    @classmethod
    def read(cls, folder: Path, name: str, masked: bool) -> Segment:
        arrays = {a: _load(folder / _file(name, a)) for a in cls._ARRAYS}
        n = len(arrays["paragraph_ids"])
        alive = np.asarray(_load(folder / _file(name, "alive")), dtype=bool) if masked else np.ones(n, bool)
        return cls(alive=alive, **arrays)


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha1()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
    return h.hexdigest()[:16]


def _file(segment: str, array: str) -> str:
    """A segment's array file; the unnamed segment is a sentences-v1 store's arrays."""
    return f"{segment}-{array}.npy" if segment else f"{array}.npy"


def _load(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError:  # an empty array cannot be memory-mapped
        return np.load(path, allow_pickle=False)


@dataclass
class SentenceVectors:
    """Sentence vectors of indexed paragraphs, memory-mapped, in segments."""

    embedder: str
    segments: list[Segment]
    names: list[
        str | None
    ]  # each segment's file prefix ("" for a sentences-v1 store's); None: not written yet

    def _offsets(self) -> list[int]:
        out = [0]
        for segment in self.segments:
            out.append(out[-1] + len(segment.codes))
        return out

    def _locate(self, paragraph_id: str) -> tuple[int, int, int] | None:
        key = paragraph_id.encode("utf-8")
        for s, segment in enumerate(self.segments):
            i = segment.find(key)
            if i >= 0:
                if not segment.alive[i]:
                    return None
                return s, int(segment.start[i]), int(segment.start[i + 1])
        return None

    def rows(self, paragraph_id: str) -> tuple[int, int] | None:
        """The sentence rows of a paragraph in `codes`: (start, stop); None when not indexed here."""
        found = self._locate(paragraph_id)
        if found is None:
            return None
        s, a, b = found
        offset = self._offsets()[s]
        return offset + a, offset + b

    @property
    def codes(self) -> np.ndarray:
        """Every segment's codes, live or not, one after the other (one segment: no copy)."""
        if len(self.segments) == 1:
            return self.segments[0].codes
        return (
            np.concatenate([np.asarray(s.codes) for s in self.segments])
            if self.segments
            else np.zeros((0, 0))
        )

    def cosines(self, paragraph_id: str, query: np.ndarray) -> np.ndarray | None:
        """Similarity of a (normalised) query vector with each sentence of a paragraph, in order.

        None when the paragraph has no sentence vectors (one sentence, or not indexed here).
        """
        found = self._locate(paragraph_id)
        if found is None or found[1] == found[2]:
            return None
        s, a, b = found
        segment = self.segments[s]
        return (segment.codes[a:b].astype(np.float32) @ query) * segment.scales[a:b]

    @property
    def paragraph_ids(self) -> np.ndarray:
        """Ids of the paragraphs indexed here, sorted."""
        return self.live_ids()

    def live_ids(self) -> np.ndarray:
        """Ids of the paragraphs indexed here, sorted."""
        ids = [np.asarray(s.paragraph_ids)[np.asarray(s.alive)] for s in self.segments]
        return np.sort(np.concatenate(ids)) if ids else np.zeros(0, dtype="S1")

    # -- persistence ---------------------------------------------------------------------

    def save(self, root: Path) -> None:
        """Publish this store as the current one under root; segments on disk are hard-linked."""
        previous = snapshots.current(root)
        names = [
            name if name is not None else "s" + _digest(np.asarray(segment.paragraph_ids).tobytes(), str(i))
            for i, (name, segment) in enumerate(zip(self.names, self.segments, strict=True))
        ]
        live = _digest(self.embedder.encode(), np.ascontiguousarray(self.live_ids()).tobytes(), *names)

        def write(folder: Path) -> None:
            for name, segment, known in zip(names, self.segments, self.names, strict=True):
                if known is not None and previous is not None:
                    for array in Segment._ARRAYS:
                        os.link(previous / _file(name, array), folder / _file(name, array))
                else:
                    segment.write(folder, name)
                np.save(
                    folder / _file(name, "alive"), np.asarray(segment.alive, dtype=bool), allow_pickle=False
                )
            sentences = sum(s.sentences(np.asarray(s.alive)) for s in self.segments)
            meta = {"format": FORMAT, "embedder": self.embedder, "sentences": sentences, "segments": names}
            (folder / "isnad.json").write_text(json.dumps(meta), encoding="utf-8")

        snapshots.publish(root, snapshots.folder_name(FORMAT, live), write)
        self.names = list(names)

    @classmethod
    def load(cls, root: Path, embedder: str | None = None) -> SentenceVectors | None:
        """The current store (memory-mapped); None when absent, unreadable or of another embedder."""
        folder = snapshots.current(root)
        if folder is None:
            return None
        try:
            meta = json.loads((folder / "isnad.json").read_text(encoding="utf-8"))
            if meta.get("format") not in _READS or (
                embedder is not None and meta.get("embedder") != embedder
            ):
                return None
            masked = meta["format"] == FORMAT
            names: list[str | None] = [str(n) for n in meta["segments"]] if masked else [""]
            segments = [Segment.read(folder, name or "", masked) for name in names]
        except (OSError, ValueError, KeyError) as exc:
            log.info("sentence vectors unreadable, will rebuild: %s", exc)
            return None
        return cls(embedder=str(meta["embedder"]), segments=segments, names=names)


def kept_sentences(text: str) -> list[str]:
    """The sentences of a paragraph this store keeps vectors for: none when it has only one
    (the paragraph's own vector stands in for it)."""
    sentences = split_sentences(text)
    return sentences if len(sentences) > 1 else []


def sync(rows: ParagraphTable, root: Path, embed: EmbedTexts, embedder: str) -> int:
    """Bring the sentence vectors under root in line with the table; the number of sentences embedded.

    Only the table's new paragraphs are read and split; the old segments stay where they are.
    """
    current = SentenceVectors.load(root, embedder)
    wanted = np.asarray(rows.paragraph_ids)
    segments = list(current.segments) if current is not None else []
    names: list[str | None] = list(current.names) if current is not None else []
    held = np.zeros(len(wanted), dtype=bool)
    changed = False
    for s, segment in enumerate(segments):
        held |= segment.holds(wanted)
        alive = _member(np.asarray(segment.paragraph_ids), wanted)
        if not np.array_equal(alive, np.asarray(segment.alive)):
            segments[s] = Segment(segment.paragraph_ids, segment.start, segment.codes, segment.scales, alive)
            changed = True
    new = np.flatnonzero(~held)
    if not len(new) and not changed:
        return 0
    texts: list[str] = []
    counts = np.zeros(len(new), dtype=np.int64)
    for j, i in enumerate(new):
        sentences = kept_sentences(rows.paragraph_at(int(i)).text)
        texts.extend(sentences)
        counts[j] = len(sentences)
    dim = next((s.codes.shape[1] for s in segments if s.codes.ndim == 2 and s.codes.shape[1]), 0)
    codes, scales = _embedded(texts, embed, dim)
    if len(new):
        segments.append(
            Segment(wanted[new].copy(), _starts(counts), codes, scales, np.ones(len(new), dtype=bool))
        )
        names.append(None)
    store = SentenceVectors(embedder, segments, names)
    if _wasteful(segments):
        store = SentenceVectors(embedder, [_merged(segments)], [None])
    store.save(root)
    return len(texts)


def _member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """For each key: whether it is in sorted_keys."""
    if not len(sorted_keys) or not len(keys):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return np.asarray(sorted_keys[at] == keys)


def _wasteful(segments: list[Segment]) -> bool:
    """Whether removed sentences outnumber live ones, or there are too many segments."""
    live = sum(s.sentences(np.asarray(s.alive)) for s in segments)
    dead = sum(s.sentences(~np.asarray(s.alive)) for s in segments)
    return len(segments) > _MAX_SEGMENTS or dead > live


def _merged(segments: list[Segment]) -> Segment:
    """One segment with every live paragraph, sorted by id (what a fresh build would write)."""
    dim = max((s.codes.shape[1] for s in segments if s.codes.ndim == 2), default=0)
    ids, counts, codes, scales = [], [], [], []
    for segment in segments:
        picks = np.flatnonzero(np.asarray(segment.alive))
        c, k, sc = segment.taken(picks)
        ids.append(np.asarray(segment.paragraph_ids)[picks])
        counts.append(c)
        codes.append(k.reshape(-1, dim))
        scales.append(sc)
    every = np.concatenate(ids)
    alive = np.ones(len(every), dtype=bool)
    joined = Segment(
        every, _starts(np.concatenate(counts)), np.concatenate(codes), np.concatenate(scales), alive
    )
    order = np.argsort(every, kind="stable")
    c, k, sc = joined.taken(order)
    return Segment(every[order], _starts(c), k, sc, alive)


def _starts(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def _embedded(texts: list[str], embed: EmbedTexts, dim: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Quantised vectors of texts, embedded in batches of similar length (in the texts' order).

    Each batch is quantised as it arrives. The scale is per row, so the codes are those of
    quantising all rows at once, and memory holds int8 codes (0.4 KB a sentence), not every
    float32 vector: a first index of 1M paragraphs (≈ 3M sentences) needed ≈ 10 GB more.
    """
    if not texts:
        return np.zeros((0, dim), dtype=np.int8), np.zeros(0, dtype=np.float32)
    order = np.array(sorted(range(len(texts)), key=lambda i: len(texts[i])), dtype=np.int64)
    codes: np.ndarray | None = None  # allocated once the first batch gives the dimension
    scales = np.zeros(len(texts), dtype=np.float32)
    for a in range(0, len(order), EMBED_BATCH):
        batch = order[a : a + EMBED_BATCH]
        rows = []
        for _, raw in zip(batch, embed([texts[i] for i in batch]), strict=True):
            v = np.asarray(raw, dtype=np.float32)
            rows.append(v / max(float(np.linalg.norm(v)), 1e-12))
        batch_codes, scales[batch] = quantize(np.vstack(rows))
        if codes is None:
            codes = np.zeros((len(texts), batch_codes.shape[1]), dtype=np.int8)
        codes[batch] = batch_codes
    assert codes is not None  # texts is not empty
    return codes, scales


__all__ = ["FORMAT", "Segment", "SentenceVectors", "kept_sentences", "quantize", "sync"]
