"""Arabic text normalisation for search; display text is never changed.

One function, `normalize_arabic`, defines what counts as the same spelling for every
comparison the engine makes (BM25 terms, question coverage, abstention, sentence
choice, answer types, deduplication of answers): ة/ه, ى/ي, أ/إ/آ/ا, ؤ/ئ, tatweel,
diacritics, and Arabic-Indic and Persian digits against ASCII ones.

Trade-off: the lexical side folds letter variants that writers use interchangeably
(hamza seats, alef maqsura, ta marbuta), which merges a few true minimal pairs
(e.g. "قرية"/"قريه") in exchange for matching the far more common spelling noise.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

# Harakat, tanween, shadda, sukun, superscript alef, Quranic annotation marks.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_TATWEEL = "\u0640"
# Arabic-Indic and Persian digits as ASCII digits.
_DIGIT_FOLDS = {**{chr(0x660 + i): str(i) for i in range(10)}, **{chr(0x6F0 + i): str(i) for i in range(10)}}
_ASCII_DIGITS = str.maketrans(_DIGIT_FOLDS)
_LETTER_FOLDS = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ٲ": "ا",
        "ٳ": "ا",
        "ى": "ي",
        "ی": "ي",  # Persian yeh
        "ئ": "ي",
        "ؤ": "ي",  # the seats of medial hamza are written interchangeably (مسئول / مسؤول)
        "ة": "ه",
        "ک": "ك",  # Persian keheh
        **_DIGIT_FOLDS,
    }
)
# The definite article, alone or after a one-letter proclitic (لل is ل + ال), on a folded word.
_ARTICLE = re.compile("^(?:[وفبك]?ال|لل)")
_WHITESPACE = re.compile(r"\s+")
WORD = re.compile(r"[^\W_]+", re.UNICODE)  # a run of letters and digits (see `words`)
_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3]")

# Function words that carry no topic; written pre-normalised (see normalize_arabic).
_STOPWORDS_RAW = """
في من على إلى الى عن مع أن ان إن لا ما لم لن قد هذا هذه ذلك تلك التي الذي الذين
هو هي هم كان كانت يكون او أو ثم بعد قبل عند حتى كل بين وقد وفي ومن وعلى وأن وان
كما أي اي أيضا ايضا لها له لهم بها به فيها منها عليها إلى إنه انه أنه التى اللذين
هل وهو وهي وكان وكانت فى يا اذا إذا لكن ولكن بل حيث منذ خلال دون ضد نحو غير
"""


def ascii_digits(text: str) -> str:
    """The text with Arabic-Indic and Persian digits written as ASCII digits (nothing else folded)."""
    return text.translate(_ASCII_DIGITS)


def strip_diacritics(text: str) -> str:
    """Remove harakat and tatweel, keeping every letter."""
    return _DIACRITICS.sub("", text).replace(_TATWEEL, "")


def normalize_whitespace(text: str) -> str:
    """Collapse every run of Unicode whitespace (NBSP included) to one space."""
    return _WHITESPACE.sub(" ", text).strip()


def normalize_arabic(text: str) -> str:
    """Fold text to the form the lexical index and deduplication compare.

    NFKC first so presentation forms and ligatures (ﻻ, ﷲ) become plain letters.
    """
    text = unicodedata.normalize("NFKC", text)
    text = strip_diacritics(text).translate(_LETTER_FOLDS)
    return normalize_whitespace(text).lower()


def dedupe_key(text: str) -> str:
    """Key under which two paragraphs count as the same (whitespace and diacritics)."""
    return normalize_whitespace(strip_diacritics(unicodedata.normalize("NFKC", text)))


def words(text: str) -> list[str]:
    """Split already-normalised text into word tokens (letters and digits)."""
    return WORD.findall(text)


def has_arabic(text: str) -> bool:
    """True when the text holds at least one Arabic letter."""
    return _ARABIC_LETTER.search(text) is not None


STOPWORDS = frozenset(normalize_arabic(w) for w in _STOPWORDS_RAW.split())


class ArabicAnalyzer:
    """Turns text into the stemmed, normalised terms both index and query use."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("arabic")
        self._stem = lru_cache(maxsize=200_000)(self._stem_uncached)

    def _stem_uncached(self, folded: str) -> str:
        # The word is folded first, so every spelling of it reaches Snowball as the same
        # string; a final ه goes back to ة because Snowball strips ة (and the pronoun ه)
        # as a suffix but keeps a bare ه: الخارجية / الخارجيه both stem to خارج.
        stem = self._snowball(folded)
        article = _ARTICLE.match(folded)
        if article is None or _ARTICLE.match(stem) is None:
            return stem
        # Snowball left the article on (والجنوب, الكرة, بالسجن): it strips ال only from long
        # words and never after و/ف. Stem the word without the one-letter proclitic, then
        # without the article, so والجنوب / الجنوب / جنوب all give one term.
        if folded[0] in "وفبك" and folded[1] == "ا":
            stem = self._snowball(folded[1:])
        elif folded.startswith("لل"):
            stem = self._snowball("ا" + folded[1:])
        if _ARTICLE.match(stem) and len(folded) - article.end() >= 3:
            stem = self._snowball(folded[article.end() :])
        return stem

    def _snowball(self, folded: str) -> str:
        if len(folded) >= 4 and folded.endswith("ه"):
            folded = folded[:-1] + "ة"
        return normalize_arabic(self._stemmer.stemWord(folded))

    def terms(self, text: str) -> list[str]:
        """Stemmed terms of a text, stopwords dropped; spelling variants give the same terms."""
        return self.folded_terms(normalize_arabic(text))

    def folded_terms(self, folded: str) -> list[str]:
        """`terms` of a text already folded by normalize_arabic."""
        out = []
        for word in words(folded):
            if word in STOPWORDS:
                continue
            out.append(self._stem(word) if has_arabic(word) else word)
        return out
