"""Arabic BM25 over the stored paragraphs, kept as a cache derived from Chroma.

Each build lives in its own folder named by the Chroma fingerprint it was built
from, and a one-line CURRENT file (replaced atomically) names the live one; a
build killed half-way leaves the previous index in service, and a stale index
(fingerprint differs from Chroma) is never used, only rebuilt.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

from indexing.arabic import ArabicAnalyzer
from indexing.store.chroma import ParagraphStore, StoredParagraph

log = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG on import; its progress lines are not ours to print.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# Bump when the analyzer or the indexed fields change, so old caches are rebuilt.
FORMAT = "bm25-ar-v2"  # v2: words are folded before stemming (spelling-robust terms)


def lexical_text(paragraph: StoredParagraph) -> str:
    """What the lexical index reads for a paragraph: its titles, then its text."""
    return " ".join(filter(None, (paragraph.headline, paragraph.section, paragraph.text)))


class LexicalIndex:
    """A bm25s index whose rows are paragraph ids."""

    def __init__(
        self,
        retriever: bm25s.BM25 | None,
        paragraph_ids: list[str],
        fingerprint: str,
        analyzer: ArabicAnalyzer,
    ) -> None:
        self._retriever = retriever
        self.paragraph_ids = paragraph_ids
        self.row_of = {pid: row for row, pid in enumerate(paragraph_ids)}
        self._df: np.ndarray | None = None
        self.fingerprint = fingerprint
        self.analyzer = analyzer

    @classmethod
    def build(
        cls,
        paragraphs: Sequence[StoredParagraph],
        fingerprint: str,
        analyzer: ArabicAnalyzer | None = None,
    ) -> LexicalIndex:
        """Index the given paragraphs in memory."""
        analyzer = analyzer or ArabicAnalyzer()
        ids = [p.paragraph_id for p in paragraphs]
        retriever = None
        if paragraphs:
            retriever = bm25s.BM25()
            corpus = [analyzer.terms(lexical_text(p)) or [""] for p in paragraphs]
            retriever.index(corpus, show_progress=False)
        return cls(retriever, ids, fingerprint, analyzer)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top-k (paragraph id, BM25 score), best first; zero scores dropped."""
        terms = self.analyzer.terms(query)
        if self._retriever is None or not terms or k <= 0:
            return []
        vocab = self._retriever.vocab_dict
        known = [t for t in terms if t in vocab]
        if not known:
            return []
        scores = self._retriever.get_scores(known)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.paragraph_ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def scores_for(self, query: str) -> np.ndarray:
        """BM25 score of every paragraph (aligned with paragraph_ids)."""
        terms = [t for t in self.analyzer.terms(query) if self._retriever and t in self._retriever.vocab_dict]
        if self._retriever is None or not terms:
            return np.zeros(len(self.paragraph_ids), dtype=np.float32)
        return np.asarray(self._retriever.get_scores(terms), dtype=np.float32)

    def idf(self, term: str) -> float:
        """Inverse document frequency of an analysed term; unseen terms weigh the most."""
        n = len(self.paragraph_ids)
        if self._retriever is None:
            return 0.0
        if self._df is None:
            indptr = np.asarray(self._retriever.scores["indptr"])
            self._df = np.diff(indptr)
        column = self._retriever.vocab_dict.get(term)
        df = int(self._df[column]) if column is not None and column < len(self._df) else 0
        return float(np.log(1.0 + n / (1.0 + df)))

    # -- persistence -------------------------------------------------------------

    def save(self, root: Path) -> None:
        """Write this build beside older ones and make it the current one."""
        root.mkdir(parents=True, exist_ok=True)
        name = f"{FORMAT}-{self.fingerprint[:16]}"
        target = root / name
        tmp = root / f".{name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        if self._retriever is not None:
            self._retriever.save(str(tmp), show_progress=False)
        meta = {"format": FORMAT, "fingerprint": self.fingerprint, "paragraph_ids": self.paragraph_ids}
        (tmp / "isnad.json").write_text(json.dumps(meta), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
        current_tmp = root / f".CURRENT.tmp-{os.getpid()}"
        current_tmp.write_text(name, encoding="utf-8")
        os.replace(current_tmp, root / "CURRENT")
        for old in root.iterdir():
            if old.name not in (name, "CURRENT") and not old.name.startswith(".CURRENT"):
                shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, root: Path, analyzer: ArabicAnalyzer | None = None) -> LexicalIndex | None:
        """The current build, or None when there is none or it cannot be read."""
        try:
            folder = root / (root / "CURRENT").read_text(encoding="utf-8").strip()
            meta = json.loads((folder / "isnad.json").read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT:
                return None
            ids = [str(i) for i in meta["paragraph_ids"]]
            retriever = bm25s.BM25.load(str(folder), show_progress=False) if ids else None
        except (OSError, ValueError, KeyError) as exc:
            log.info("lexical index unreadable, will rebuild: %s", exc)
            return None
        return cls(retriever, ids, str(meta["fingerprint"]), analyzer or ArabicAnalyzer())


def load_or_build(
    store: ParagraphStore, root: Path, analyzer: ArabicAnalyzer | None = None
) -> tuple[LexicalIndex, bool]:
    """The lexical index matching what Chroma holds now; (index, rebuilt)."""
    fingerprint = store.fingerprint()
    current = LexicalIndex.load(root, analyzer)
    if current is not None and current.fingerprint == fingerprint:
        return current, False
    index = LexicalIndex.build(store.paragraphs(), fingerprint, analyzer)
    index.save(root)
    return index, True
