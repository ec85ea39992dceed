"""The corpus's spelling of a question's words, for the embedder.

The lexical index folds spelling (ة/ه, ى/ي, أ/إ/آ/ا, ...), but the embedder reads «الخارجيه»
and «الخارجية», «اين» and «أين» as different words: on XQuAD-ar's dev questions rewritten in
everyday spelling (ه for a final ة, ي for a final ى, bare alef), R@1 fell 0.936 -> 0.922 and
answerable questions declined rose 4.6% -> 6.2%. Before the question is embedded, each of its
words that the best BM25 paragraphs write otherwise (the same word once folded) is written as
they most often write it; a word they also write as the question does is left as it is.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import lru_cache

from indexing.arabic import normalize_arabic

_WORD = re.compile(r"[^\W_]+")
# A word's folded form; the best BM25 paragraphs of successive questions repeat most words.
_folded = lru_cache(maxsize=65_536)(normalize_arabic)


def corpus_spelling(question: str, texts: Iterable[str]) -> str:
    """The question with each word the texts spell differently written as the texts most often do."""
    wanted = {_folded(w) for w in _WORD.findall(question)}
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    for text in texts:
        for word in _WORD.findall(text):
            folded = _folded(word)
            if folded in wanted:
                forms[folded][word] += 1

    def respell(match: re.Match[str]) -> str:
        word = match.group(0)
        seen = forms.get(_folded(word))
        if not seen or word in seen:
            return word
        return min(seen, key=lambda form: (-seen[form], form))

    return _WORD.sub(respell, question)


__all__ = ["corpus_spelling"]
