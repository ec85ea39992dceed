"""The Arabic words that shape a question rather than name its topic: one list for the QA core.

Answer types read the interrogative a question opens with, evidence leaves these words out of
a question's content terms, and the follow-up rewriter recognises a follow-up by them. Every
form is folded with `normalize_arabic` (متى -> متي, أين -> اين), so match folded text.
"""

from __future__ import annotations

import re

from indexing.arabic import normalize_arabic

INTERROGATIVES = frozenset(
    normalize_arabic(w)
    for w in (
        "ما",
        "ماذا",
        "متى",
        "كيف",
        "لماذا",
        "لم",
        "أين",
        "كم",
        "أي",
        "أية",
        "هل",
        "من",
        "ماهو",
        "ماهي",
        # with a preposition fused on
        "مما",
        "مم",
        "فيم",
        "فيما",
        "عم",
        "عما",
        "بم",
        "لمن",
        "ممن",
        "بكم",
    )
)
# Relative pronouns in "ما الذي…", "ما الدولة التي…": shape, not topic.
RELATIVES = frozenset(normalize_arabic(w) for w in ("الذي", "التي"))
# Prepositions that may stand before the question word: "في أي عام", "وعلى ماذا".
PREPOSITIONS = frozenset(
    normalize_arabic(w) for w in ("في", "إلى", "على", "منذ", "حتى", "مع", "عن", "من", "بعد", "قبل")
)
# Conjunctions and prepositions that are written glued to a question word: "وبماذا", "فلمن".
CLITICS = ("", "و", "ف", "ب", "ل", "ك", "وب", "ول", "فب", "فل", "وك")

# Everything that is not a question's content, with its conjunction: "وما", "ومتى", "فكيف".
NOT_CONTENT = frozenset(c + w for c in ("", "و", "ف") for w in INTERROGATIVES | RELATIVES)


def bare(word: str) -> str:
    """A folded word without the clitics glued before its interrogative (وبماذا -> ماذا)."""
    for clitic in sorted(CLITICS, key=len):
        if word.startswith(clitic) and word[len(clitic) :] in INTERROGATIVES:
            return word[len(clitic) :]
    return word


def is_question_word(word: str) -> bool:
    """Whether a folded word is an interrogative or relative, with any glued clitics."""
    return any(word.startswith(c) and word[len(c) :] in INTERROGATIVES | RELATIVES for c in CLITICS)


def _alternation(items: frozenset[str]) -> str:
    return "|".join(sorted(items, key=len, reverse=True))


# A follow-up that opens with a conjunction, optionally with a preposition, before the question
# word: "ومن…", "وبماذا", "وعلى ماذا", "ولماذا", "وفي أي", "وإلى أين", "ولمن". Match folded text.
CONJUNCTION_QUESTION = re.compile(
    rf"^[وف](?:[بلكم]|(?:{_alternation(PREPOSITIONS)})\s+)?(?:{_alternation(INTERROGATIVES)})(?!\w)"
)
