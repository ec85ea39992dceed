"""The sentences an answer quotes: the index's sentence split, rejoined where it cut a name,
and the sentence a lead that opens with a pronoun refers back to.

`indexing.sentences.split_sentences` ends a sentence at every full stop followed by a space,
so an initial cuts a sentence in two: «المقاول والمليونير م. ثيو كيرني», «ميشيل إ. مان»,
«د. أحمد». Quoting one half drops the name the question asks for. The sentence vectors of the
index job keep that split (one vector per piece); here the pieces are rejoined for quoting and
scoring, and a joined sentence's similarity is its best piece's. A Latin initial spelled out in
Arabic letters («ترجمة جون سي. ميسنجر», «جيمس أو. ماكينزي») cuts a name the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from indexing.arabic import STOPWORDS, normalize_arabic

# A piece that ends with a one-letter word and its full stop, after a word that is not a number
# («1258 م.» is a year and its era, which does end a sentence).
_ENDS_WITH_INITIAL = re.compile(r"(?:^|\s)(?![\d٠-٩۰-۹])\w+\s+[^\W\d_]\.$|^[^\W\d_]\.$")


def ends_with_initial(piece: str) -> bool:
    """Whether a piece of the split ends with an initial («… م.») rather than a sentence."""
    return bool(_ENDS_WITH_INITIAL.search(piece))


# The names of the Latin letters as Arabic writes them, folded (إس → اس, أو → او, آر → ار).
_LETTER_NAMES = frozenset(
    normalize_arabic(n)
    for n in (
        "إيه", "بي", "سي", "دي", "إي", "إف", "جي", "جيه", "إتش", "آي", "كيه", "إل", "إم",
        "إن", "أو", "كيو", "آر", "إس", "تي", "يو", "في", "دبليو", "إكس", "واي", "زد",
    )
)  # fmt: skip


def ends_with_latin_initial(piece: str, following: str) -> bool:
    """Whether a piece ends with a Latin initial spelled in Arabic letters inside a name
    («… جون سي.» before «ميسنجر …») rather than a sentence.

    The word before it must read as a given name: not a number, not a word with the article
    (a name takes none: «فرضية شينزل الواسعة اتش.» ends a sentence), not a letter name itself
    (an acronym spelled letter by letter ends one: «يو بي تي.»); and the next piece must not
    open with a particle, as a new sentence does («بي سكاي بي. وقد وافقت…»).
    """
    words = piece.split()
    after = following.split()
    if len(words) < 2 or not words[-1].endswith(".") or not after:
        return False
    initial = normalize_arabic(words[-1][:-1].lstrip('"«(“'))
    before = normalize_arabic(words[-2].lstrip('"«(“'))
    return (
        initial in _LETTER_NAMES
        and before.isalpha()
        and not before.startswith("ال")
        and before not in _LETTER_NAMES
        and normalize_arabic(after[0]) not in STOPWORDS
    )


def joined(pieces: Sequence[str]) -> list[tuple[str, tuple[int, ...]]]:
    """The sentences, each with the indices of the split's pieces it joins (in order)."""
    out: list[tuple[str, tuple[int, ...]]] = []
    for i, piece in enumerate(pieces):
        if out and (ends_with_initial(out[-1][0]) or ends_with_latin_initial(out[-1][0], piece)):
            text, parts = out[-1]
            out[-1] = (f"{text} {piece}", (*parts, i))
        else:
            out.append((piece, (i,)))
    return out


def joined_cosines(cosines: np.ndarray, groups: Sequence[tuple[int, ...]]) -> np.ndarray:
    """Each joined sentence's similarity: its best piece's."""
    return np.array([max(float(cosines[i]) for i in group) for group in groups], dtype=np.float64)


# A sentence opening with a personal pronoun or a demonstrative («وهو كذلك أكبر لاعب سناً…»,
# «هذه النظرية تعرف اليوم بـ…») names its subject in the sentence before it.
_REFERS_BACK = frozenset(
    normalize_arabic(c + w)
    for c in ("", "و", "ف")
    for w in ("هو", "هي", "هم", "هما", "هن", "هذا", "هذه", "هذان", "هاتان", "هؤلاء", "ذلك", "تلك", "أولئك")
)


def refers_back(sentence: str) -> bool:
    """Whether a sentence opens with a pronoun or demonstrative whose referent precedes it."""
    first = sentence.split(maxsplit=1)
    return bool(first) and normalize_arabic(first[0]) in _REFERS_BACK


__all__ = ["ends_with_initial", "ends_with_latin_initial", "joined", "joined_cosines", "refers_back"]
