"""Arabic BM25 over the stored paragraphs, kept as a cache derived from the row table.

The index keeps raw counts, not precomputed scores: per term, the paragraphs that hold
it and how often (a term-major sparse matrix), plus every paragraph's length. Scores
are computed per question from global statistics (paragraph count, mean length,
document frequency = postings per term), so they are exact by construction, and an
update is array work: postings of removed paragraphs are dropped, the few added
paragraphs are analysed and their postings merged in. Nothing is re-analysed, so a
refresh of 100 paragraphs in 100k takes about a second instead of a full rebuild;
the result equals a rebuild from scratch posting for posting.

The scoring is bm25s's default ("lucene": idf = ln(1 + (N - df + .5) / (df + .5)),
tf part tf / (tf + k1 (1 - b + b dl / avgdl)), k1 1.5, b 0.75), which this index
replaced; a paragraph with no terms counts as one empty term, as bm25s indexes it.

Each build lives in its own folder named by the store fingerprint it reflects (see
`snapshots`); a stale index is updated, never served. Term frequencies are counts, kept in
the smallest unsigned type that holds them (one byte a posting in practice; a build that
kept them as float32 is read as it is and written compact by its next update).

Beside the postings, each build keeps how the corpus spells each word (`spellings`: per folded
word, its spellings and their counts), updated with the same paragraphs: a removed paragraph's
words are read from the table the index last matched (`previous`). An index from before the
spellings, or one that cannot tell what a removed paragraph held, counts them again from the
table (one read of every paragraph: 4.6 s at 100k, 0.5 s at 10k, on the bench's corpus).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from indexing.arabic import ArabicAnalyzer
from indexing.store import snapshots
from indexing.store.chroma import StoredParagraph
from indexing.store.spellings import Spellings

if TYPE_CHECKING:
    from indexing.store.table import ParagraphTable

log = logging.getLogger(__name__)

# Bump when the analyzer, the indexed fields or the layout change, so old caches are rebuilt.
# v2: words folded before stemming; v3: raw postings, scored at query time (incremental).
FORMAT = "bm25-ar-v4"
K1, B = 1.5, 0.75
_EMPTY = ""


def counts(values: np.ndarray) -> np.ndarray:
    """Term frequencies in the smallest unsigned integer type that holds them."""
    top = int(values.max()) if len(values) else 0
    dtype = np.uint8 if top <= 0xFF else np.uint16 if top <= 0xFFFF else np.uint32
    return np.asarray(values).astype(dtype)


def lexical_text(paragraph: StoredParagraph) -> str:
    """What the lexical index reads for a paragraph: its titles, then its text."""
    return " ".join(filter(None, (paragraph.headline, paragraph.section, paragraph.text)))


def _keys(ids: Sequence[str]) -> np.ndarray:
    return np.array([i.encode("utf-8") for i in ids], dtype=bytes) if len(ids) else np.array([], "S1")


class LexicalIndex:
    """Term-major postings (paragraph row, term frequency) over paragraphs sorted by id."""

    def __init__(
        self,
        paragraph_ids: np.ndarray,
        lengths: np.ndarray,
        vocab: list[str],
        indptr: np.ndarray,
        rows: np.ndarray,
        tf: np.ndarray,
        fingerprint: str,
        analyzer: ArabicAnalyzer,
    ) -> None:
        self.paragraph_ids = paragraph_ids  # bytes, sorted; row i is paragraph_ids[i]
        self.lengths = lengths  # terms per paragraph
        self.vocab = vocab
        self.column = {term: i for i, term in enumerate(vocab)}
        self.indptr = indptr  # postings of term j: rows[indptr[j]:indptr[j + 1]]
        self.rows = rows
        self.tf = tf
        self.fingerprint = fingerprint
        self.analyzer = analyzer
        # How the indexed paragraphs spell each word; None until counted (an index saved before them).
        self.spellings: Spellings | None = None
        n = len(paragraph_ids)
        mean = float(lengths.sum()) / n if n else 1.0
        # The length part of every paragraph's denominator, computed once per index.
        self._norm = (K1 * ((1 - B) + B * lengths.astype(np.float64) / mean)).astype(np.float32)

    # -- building ------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        paragraphs: Sequence[StoredParagraph],
        fingerprint: str,
        analyzer: ArabicAnalyzer | None = None,
    ) -> LexicalIndex:
        """Index the given paragraphs in memory."""
        analyzer = analyzer or ArabicAnalyzer()
        empty = cls(_keys([]), np.zeros(0, np.int32), [], np.zeros(1, np.int64),
                    np.zeros(0, np.int32), np.zeros(0, np.float32), fingerprint, analyzer)  # fmt: skip
        empty.spellings = Spellings({})
        return empty.updated(paragraphs, (), fingerprint, removed_paragraphs=())

    def updated(
        self,
        added: Sequence[StoredParagraph],
        removed: Sequence[str],
        fingerprint: str,
        removed_paragraphs: Sequence[StoredParagraph] | None = None,
    ) -> LexicalIndex:
        """This index with paragraphs added and removed; only the added ones are analysed.

        The spellings follow when `removed_paragraphs` (the removed paragraphs' records) are
        given and no added paragraph is already indexed; otherwise the new index has none.
        """
        gone = _keys(list(removed)) if len(removed) else np.array([], "S1")
        new_keys = _keys([p.paragraph_id for p in added])
        drop = np.isin(self.paragraph_ids, np.concatenate([gone, new_keys]).astype(bytes))
        kept_ids = self.paragraph_ids[~drop]
        # Postings of the kept paragraphs, as (column, old row, tf).
        columns = np.repeat(np.arange(len(self.vocab), dtype=np.int32), np.diff(self.indptr))
        alive = ~drop[self.rows] if len(self.rows) else np.zeros(0, bool)
        columns, old_rows, tfs = columns[alive], self.rows[alive], self.tf[alive]
        lengths = [self.lengths[~drop]]
        vocab = list(self.vocab)
        column = dict(self.column)
        add_cols: list[int] = []
        add_rows: list[int] = []
        add_tf: list[int] = []
        add_lengths = np.zeros(len(added), dtype=np.int32)
        for i, paragraph in enumerate(added):
            terms = self.analyzer.terms(lexical_text(paragraph)) or [_EMPTY]
            add_lengths[i] = len(terms)
            for term, count in Counter(terms).items():
                if term not in column:
                    column[term] = len(vocab)
                    vocab.append(term)
                add_cols.append(column[term])
                add_rows.append(i)
                add_tf.append(count)
        lengths.append(add_lengths)
        # New row order: every paragraph id, sorted; map old and added rows into it.
        all_ids = np.concatenate([kept_ids, new_keys]).astype(bytes)
        order = np.argsort(all_ids, kind="stable")
        new_row = np.empty(len(all_ids), dtype=np.int32)
        new_row[order] = np.arange(len(all_ids), dtype=np.int32)
        kept_row = np.full(len(self.paragraph_ids), -1, dtype=np.int32)
        kept_row[~drop] = new_row[: len(kept_ids)]
        cols = np.concatenate([columns, np.asarray(add_cols, dtype=np.int32)])
        rows = np.concatenate(
            [kept_row[old_rows], new_row[len(kept_ids) :][np.asarray(add_rows, dtype=np.int64)]]
        ).astype(np.int32)
        tf = counts(np.concatenate([np.asarray(tfs, dtype=np.int64), np.asarray(add_tf, dtype=np.int64)]))
        by_column = np.argsort(cols, kind="stable")
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=len(vocab)), out=indptr[1:])
        index = LexicalIndex(
            paragraph_ids=all_ids[order],
            lengths=np.concatenate(lengths)[order].astype(np.int32),
            vocab=vocab,
            indptr=indptr,
            rows=rows[by_column],
            tf=tf[by_column],
            fingerprint=fingerprint,
            analyzer=self.analyzer,
        )
        readded = bool(np.isin(self.paragraph_ids, new_keys).any())
        if self.spellings is not None and removed_paragraphs is not None and not readded:
            index.spellings = self.spellings.updated(
                (lexical_text(p) for p in added), (lexical_text(p) for p in removed_paragraphs)
            )
        return index

    # -- lookups -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.paragraph_ids)

    def paragraph_id(self, row: int) -> str:
        """The paragraph id of a row."""
        return bytes(self.paragraph_ids[row]).decode("utf-8")

    def rows_of(self, paragraph_ids: Sequence[str]) -> np.ndarray:
        """Rows of the given paragraph ids; -1 for ids the index does not hold."""
        if not len(self.paragraph_ids) or not len(paragraph_ids):
            return np.full(len(paragraph_ids), -1, dtype=np.int64)
        keys = _keys(list(paragraph_ids))
        rows = np.minimum(np.searchsorted(self.paragraph_ids, keys), len(self.paragraph_ids) - 1)
        return np.where(self.paragraph_ids[rows] == keys, rows, -1)

    def document_frequency(self, term: str) -> int:
        """Number of paragraphs that hold an analysed term."""
        col = self.column.get(term)
        return 0 if col is None else int(self.indptr[col + 1] - self.indptr[col])

    def scores_for(self, query: str) -> np.ndarray:
        """BM25 score of every paragraph (aligned with the rows), for the query's terms."""
        n = len(self.paragraph_ids)
        rows: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        for term in self.analyzer.terms(query):  # a repeated term counts each time, as in bm25s
            col = self.column.get(term)
            if col is None:
                continue
            start, end = int(self.indptr[col]), int(self.indptr[col + 1])
            if start == end:
                continue
            df = end - start
            idf = np.float32(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
            posting_rows = self.rows[start:end]
            tf = self.tf[start:end].astype(np.float32)  # exact: counts far below 2**24
            rows.append(posting_rows)
            weights.append(idf * (tf / (self._norm[posting_rows] + tf)))
        if not rows:
            return np.zeros(n, dtype=np.float32)
        # Summed in float64, then float32: one pass over the paragraphs fewer than filling a zeroed array.
        summed = np.bincount(np.concatenate(rows), weights=np.concatenate(weights), minlength=n)
        return summed.astype(np.float32)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top-k (paragraph id, BM25 score), best first; zero scores dropped."""
        if k <= 0 or not len(self.paragraph_ids):
            return []
        scores = self.scores_for(query)
        return [(self.paragraph_id(i), float(scores[i])) for i in top_rows(scores, k)]

    def idf(self, term: str) -> float:
        """Inverse document frequency of an analysed term; unseen terms weigh the most."""
        n = len(self.paragraph_ids)
        if n == 0:
            return 0.0
        return float(np.log(1.0 + n / (1.0 + self.document_frequency(term))))

    # -- persistence -------------------------------------------------------------------

    _ARRAYS = ("paragraph_ids", "lengths", "indptr", "rows", "tf")

    def save(self, root: Path) -> None:
        """Write this build beside older ones and make it the current one."""

        def write(folder: Path) -> None:
            for name in self._ARRAYS:
                np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)
            meta = {"format": FORMAT, "fingerprint": self.fingerprint, "vocab": self.vocab}
            (folder / "isnad.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            if self.spellings is not None:
                self.spellings.save(folder)

        snapshots.publish(root, snapshots.folder_name(FORMAT, self.fingerprint), write)

    @classmethod
    def load(cls, root: Path, analyzer: ArabicAnalyzer | None = None) -> LexicalIndex | None:
        """The current build, or None when there is none or it cannot be read."""
        try:
            snapshot = snapshots.read_current(root, FORMAT, cls._ARRAYS)
            if snapshot is None:
                return None
            vocab = [str(t) for t in snapshot.meta["vocab"]]
        except (OSError, ValueError, KeyError) as exc:
            log.info("lexical index unreadable, will rebuild: %s", exc)
            return None
        index = cls(
            vocab=vocab,
            fingerprint=str(snapshot.meta["fingerprint"]),
            analyzer=analyzer or ArabicAnalyzer(),
            **snapshot.arrays,
        )
        index.spellings = Spellings.load(snapshot.folder)
        return index


def top_rows(scores: np.ndarray, k: int) -> list[int]:
    """Rows of the k highest positive scores, best first (ties by row), without a full sort."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > k:
        part = np.argpartition(-scores[positive], k - 1)[:k]
        positive = positive[part]
    order = np.lexsort((positive, -scores[positive]))
    return [int(i) for i in positive[order]]


def load_or_build(
    table: ParagraphTable,
    root: Path,
    analyzer: ArabicAnalyzer | None = None,
    previous: ParagraphTable | None = None,
) -> tuple[LexicalIndex, bool]:
    """The lexical index matching the table; (index, rebuilt from scratch).

    A stale index is brought up to date by the difference in paragraph ids: a
    paragraph's id hashes its text and titles, so an id present in both is unchanged.
    `previous`, the table before the change (the index job has it), holds what the
    removed paragraphs said, which the spellings subtract.
    """
    current = LexicalIndex.load(root, analyzer)
    if current is not None and current.fingerprint == table.fingerprint:
        if current.spellings is None:  # saved before the spellings: count them once, keep them
            current.spellings = counted_spellings(table)
            folder = snapshots.current(root)
            try:
                if folder is not None:
                    current.spellings.save(folder)
            except OSError as exc:
                log.warning("spellings not saved (counted again on the next open): %s", exc)
        return current, False
    if current is None:
        index = LexicalIndex.build(table.paragraphs(), table.fingerprint, analyzer)
        log.info("lexical index built: %d paragraphs", len(index))
    else:
        added = np.setdiff1d(table.paragraph_ids, current.paragraph_ids)
        removed = np.setdiff1d(current.paragraph_ids, table.paragraph_ids)
        fresh = [table.paragraph_at(int(r)) for r in np.searchsorted(table.paragraph_ids, added)]
        removed_ids = [bytes(r).decode("utf-8") for r in removed]
        gone = _records(previous, current.fingerprint, removed_ids)
        index = current.updated(fresh, removed_ids, table.fingerprint, removed_paragraphs=gone)
        if index.spellings is None:
            index.spellings = counted_spellings(table)
        log.info("lexical index updated: %d paragraphs added, %d removed", len(added), len(removed))
    index.save(root)
    return index, current is None


def counted_spellings(table: ParagraphTable) -> Spellings:
    """The spellings of every paragraph in the table, counted from scratch (reads every record)."""
    log.info("counting the spellings of %d paragraphs", table.paragraph_count)
    return Spellings.of(lexical_text(p) for p in table.paragraphs())


def _records(
    previous: ParagraphTable | None, fingerprint: str, ids: list[str]
) -> list[StoredParagraph] | None:
    """The records of these paragraph ids in the table the index last matched; None if not all known."""
    if not ids:
        return []
    if previous is None or previous.fingerprint != fingerprint:
        return None
    records = [previous.paragraph(pid) for pid in ids]
    return None if any(r is None for r in records) else [r for r in records if r is not None]
