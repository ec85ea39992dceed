"""The corpus's spelling of a question's words, for the embedder.

The lexical index folds spelling (ة/ه, ى/ي, أ/إ/آ/ا, ...), but the embedder reads «الخارجيه»
and «الخارجية», «اين» and «أين» as different words: on XQuAD-ar's dev questions rewritten in
everyday spelling (ه for a final ة, ي for a final ى, bare alef), R@1 fell 0.936 -> 0.922 and
answerable questions declined rose 4.6% -> 6.2%. Before the question is embedded, each of its
words that the corpus writes otherwise (the same word once folded) is written as the corpus most
often writes it; a word the corpus also writes as the question does is left as it is.

The counts come with the BM25 index (`indexing.store.spellings`), so this is a dictionary lookup
per word. It first took the spelling of the question's 20 best BM25 paragraphs, which read
those paragraphs' records on every question (≈ 1.2 ms at 100k paragraphs).
"""

from __future__ import annotations

from indexing.arabic import WORD
from indexing.store.spellings import Spellings


def corpus_spelling(question: str, spellings: Spellings) -> str:
    """The question with each word the corpus spells differently written as the corpus most often does."""
    return WORD.sub(lambda match: spellings.commonest(match.group(0)), question)


__all__ = ["corpus_spelling"]
