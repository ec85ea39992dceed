"""The Arabic words that shape a question rather than name its topic: one list for the QA core.

Answer types read the interrogative a question opens with, evidence leaves these words out of
a question's content terms, and the follow-up rewriter recognises a follow-up by them. Every
form is folded with `normalize_arabic` (متى -> متي, أين -> اين), so match folded text.
"""

from __future__ import annotations

import re

from indexing.arabic import normalize_arabic, words

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
# Prepositions a follow-up may put between its conjunction and question word («وأمام أي مجلس»,
# «ولدى من»): wider than PREPOSITIONS, which answer types read and XQuAD-ar's figures rest on.
FOLLOW_UP_PREPOSITIONS = PREPOSITIONS | frozenset(
    normalize_arabic(w) for w in ("أمام", "لدى", "عند", "حول", "بين", "خلال", "ضد", "نحو", "بحسب", "وفق")
)
CONJUNCTION_QUESTION = re.compile(
    rf"^[وف](?:[بلكم]|(?:{_alternation(FOLLOW_UP_PREPOSITIONS)})\s+)?(?:{_alternation(INTERROGATIVES)})(?!\w)"
)


# A question word written glued to the pronoun or relative after it, as many people type it
# («ماهي», «منهو», «مالذي»), with the conjunction it may carry («وماهي»). Only forms that are
# no other word: «منهم» and «منهي» are words of their own. Glued, XQuAD-ar's 215 questions that
# open with ما هي / ما هو / من هو are embedded as other questions (confidence −0.17 on average,
# one declined), and «منهو» / «مالذي» hid the question word from the answer type.
_GLUED = {
    glued: apart
    for forms, apart in (
        (("ماهو",), "ما هو"),
        (("ماهي", "ماهى"), "ما هي"),
        (("منهو",), "من هو"),
        (("مالذي", "ماالذي", "مالذى", "ماالذى"), "ما الذي"),
        (("ماالتي",), "ما التي"),
    )
    for glued in forms
}
_GLUED_QUESTION_WORD = re.compile(rf"(?<![^\W_])([وف]?)({'|'.join(_GLUED)})(?![^\W_])")

# The question words of spoken Arabic, as readers type them in a chat («مين رئيس…»، «امتى…»،
# «الأسد راح فين؟»), and their standard forms. A dialect word is taken as the question word only
# where a question word stands, first (after و/ف) or last, since several are also other words
# mid-sentence («برنامج التوك شو»، «جون وين»). Without this it counts as a rare content word the
# corpus never writes (the seeds: «مين الناطق باسم الكرملين؟» confidence 2.7 against 7.9 for
# «من»), and the question has no answer type.
_DIALECT = {
    spoken: standard
    for forms, standard in (
        (("مين",), "من"),
        (("امتى", "إمتى", "امتا", "إمتا"), "متى"),
        (("فين", "وين"), "أين"),
        (("كام", "قديش", "قداش"), "كم"),
        (("ليش", "ليه", "لويش"), "لماذا"),
        (("شو", "ايش", "إيش", "شنو"), "ما"),
    )
    for spoken in forms
}
_SPOKEN = "|".join(sorted(_DIALECT, key=len, reverse=True))
_DIALECT_FIRST = re.compile(rf"^(\W*)([وف]?)({_SPOKEN})(?![^\W_])")
# Asked last only when the question opens with no question word, and never the words that end
# other phrases too («التوك شو», «كام» a name). Egyptian «ايه» (what) is left out: it is also
# the name of the letter A («إيه بي سي»).
_ASKED_LAST = "|".join(sorted(set(_DIALECT) - {"شو", "كام", "ليه"}, key=len, reverse=True))
_DIALECT_LAST = re.compile(rf"(?<![^\W_])({_ASKED_LAST})(\s*[؟?]*\s*)$")


def standard_question_words(question: str) -> str:
    """The question with a glued question word written apart («ماهي» -> «ما هي») and a spoken
    one in its standard form, first («مين رئيس…» -> «من رئيس…»; one asked last moves first:
    «الأسد راح فين؟» -> «أين الأسد راح؟»)."""
    text = _GLUED_QUESTION_WORD.sub(lambda m: m.group(1) + _GLUED[m.group(2)], question)
    first = _DIALECT_FIRST.match(text)
    if first:
        return text[: first.start(3)] + _DIALECT[first.group(3)] + text[first.end(3) :]
    last = _DIALECT_LAST.search(text)
    opening = words(normalize_arabic(text))[:1]
    if last and last.start() > 0 and not (opening and bare(opening[0]) in INTERROGATIVES):
        return f"{_DIALECT[last.group(1)]} {text[: last.start()].rstrip()}{last.group(2).strip()}"
    return text
