"""What kind of span a question asks for, and where a text holds one.

Every pattern runs over `normalize_arabic` text (hamza seats, ى/ي, ة/ه, tatweel and
diacritics folded; Arabic-Indic and Persian digits read as ASCII), so a span is found
however it is spelled. A span only counts when it is not already in the question:
"كم يوما استمر القرار 2401؟" is not answered by the 2401 it names.
"""

from __future__ import annotations

import re
from enum import Enum

from bot.qa.questionwords import INTERROGATIVES, PREPOSITIONS, bare
from indexing.arabic import normalize_arabic, words


class AnswerType(Enum):
    """The shape of what a question asks for."""

    NUMBER = "number"
    DATE = "date"
    PERSON = "person"
    PLACE = "place"
    REASON = "reason"
    MANNER = "manner"
    DEFINITION = "definition"
    YES_NO = "yes_no"
    OTHER = "other"


def _alternation(*items: str) -> str:
    return "|".join(sorted((normalize_arabic(i) for i in items), key=len, reverse=True))


_NUMBER_WORDS = _alternation(
    "واحد",
    "واحدة",
    "اثنان",
    "اثنين",
    "اثنتان",
    "ثلاث",
    "ثلاثة",
    "أربع",
    "أربعة",
    "خمس",
    "خمسة",
    "ست",
    "ستة",
    "سبع",
    "سبعة",
    "ثمان",
    "ثماني",
    "ثمانية",
    "تسع",
    "تسعة",
    "عشر",
    "عشرة",
    "عشرات",
    "عشرون",
    "عشرين",
    "ثلاثون",
    "ثلاثين",
    "أربعون",
    "أربعين",
    "خمسون",
    "خمسين",
    "ستون",
    "ستين",
    "سبعون",
    "سبعين",
    "ثمانون",
    "ثمانين",
    "تسعون",
    "تسعين",
    "مئة",
    "مائة",
    "مئات",
    "مئتان",
    "مئتين",
    "ألف",
    "آلاف",
    "ألفان",
    "ألفين",
    "مليون",
    "ملايين",
    "مليار",
    "مليارات",
    "نصف",
    "ربع",
    "ثلث",
    "عدة",
    "بضع",
    "بضعة",
    "عشرات",
    "المئة",
    "بالمئة",
    "بالمائة",
)
_NUMBER = re.compile(rf"(?<!\d)\d+(?:[.,]\d+)*(?!\d)|(?<!\w)(?:[وب]?(?:ال)?(?:{_NUMBER_WORDS}))(?!\w)")

_MONTHS = _alternation(
    # Gregorian months as written in Egypt and the Maghreb-facing press
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "إبريل",
    "ابريل",
    "مايو",
    "يونيو",
    "يونيه",
    "يوليو",
    "يوليه",
    "أغسطس",
    "اغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
    # Maghreb spellings
    "جانفي",
    "فيفري",
    "أفريل",
    "ماي",
    "جوان",
    "جويلية",
    "أوت",
    "غشت",
    "شتنبر",
    "نونبر",
    "دجنبر",
    # Syriac (Levant and Iraq)
    "كانون",
    "شباط",
    "آذار",
    "نيسان",
    "أيار",
    "حزيران",
    "تموز",
    "آب",
    "أيلول",
    "تشرين",
    # Hijri
    "محرم",
    "صفر",
    "ربيع الأول",
    "ربيع الآخر",
    "ربيع الثاني",
    "جمادى",
    "رجب",
    "شعبان",
    "رمضان",
    "شوال",
    "ذو القعدة",
    "ذي القعدة",
    "ذو الحجة",
    "ذي الحجة",
    # weekdays
    "الأحد",
    "الاثنين",
    "الإثنين",
    "الثلاثاء",
    "الأربعاء",
    "الخميس",
    "الجمعة",
    "السبت",
)
_DATE = re.compile(
    rf"(?<!\d)(?:1\d{{3}}|20\d\d|\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}})(?!\d)"
    rf"|(?<!\w)(?:[وبل]?(?:{_MONTHS}))(?!\w)"
    r"|(?<!\w)(?:[وبفل]?(?:ال)?(?:"
    r"عام|سنه|سنوات|القرن|قرن|العقد|الشهر|شهر|يوم|امس|اليوم|غدا|صباح|مساء|فجر|ظهر"
    r"|هجري|هجريه|ميلادي|ميلاديه|ق م|قبل الميلاد|منتصف|اواخر|اوائل|مطلع"
    r"))(?!\w)"
)
_PERSON = re.compile(
    r"(?<!\w)(?:[وبل]?(?:ال)?(?:"
    + _alternation(
        "رئيس",
        "الرئيس",
        "وزير",
        "ملك",
        "أمير",
        "سلطان",
        "شيخ",
        "سيد",
        "السيدة",
        "دكتور",
        "الدكتور",
        "زعيم",
        "قائد",
        "متحدث",
        "المتحدثة",
        "مدير",
        "أمين",
        "سفير",
        "مبعوث",
        "نائب",
        "جنرال",
        "عالم",
        "كاتب",
        "مؤلف",
        "شاعر",
        "مؤسس",
        "مخرج",
        "لاعب",
        "مدرب",
        "بن",
        "ابن",
        "أبو",
        "عبد",
        "منظمة",
        "وزارة",
        "شركة",
        "مجلس",
        "حزب",
        "جامعة",
        "جمعية",
        "هيئة",
        "حكومة",
        "جيش",
        "قوات",
        "اتحاد",
        "الأمم",
        "لجنة",
        "مؤسسة",
        "بنك",
        "فريق",
        "نادي",
        "محكمة",
        "برلمان",
    )
    + r"))(?!\w)"
)
_PLACE = re.compile(
    r"(?<!\w)(?:[وبلف]?(?:ال)?(?:"
    + _alternation(
        "في",
        "مدينة",
        "منطقة",
        "بلدة",
        "قرية",
        "محافظة",
        "ولاية",
        "إقليم",
        "دولة",
        "بلد",
        "عاصمة",
        "جزيرة",
        "نهر",
        "جبل",
        "بحر",
        "شمال",
        "جنوب",
        "شرق",
        "غرب",
        "ريف",
        "حي",
        "قرب",
        "بالقرب",
        "داخل",
        "خارج",
        "ساحل",
        "وسط",
        "حدود",
        "مقاطعة",
        "قارة",
    )
    + r"))(?!\w)"
)
_REASON = re.compile(
    r"(?<!\w)(?:"
    + _alternation(
        "بسبب",
        "لأن",
        "لأنه",
        "لأنها",
        "نتيجة",
        "بهدف",
        "من أجل",
        "لأجل",
        "كي",
        "لكي",
        "إثر",
        "جراء",
        "بفضل",
        "نظرا",
        "بداعي",
        "بحجة",
        "ذلك أن",
        "إذ",
        "حيث",
        "مما أدى",
        "أدى",
        "سبب",
        "يعود",
        "للحد",
        "لمنع",
        "لتجنب",
        "لضمان",
        "احتجاجا",
        "ردا",
    )
    + r")(?!\w)"
)
_MANNER = re.compile(
    r"(?<!\w)(?:"
    + _alternation("بواسطة", "عبر", "من خلال", "عن طريق", "باستخدام", "بطريقة", "بشكل", "ب")
    + r")(?!\w)"
)
_DEFINITION = re.compile(
    r"(?<!\w)(?:"
    + _alternation(
        "هو",
        "هي",
        "يعد",
        "تعد",
        "يعتبر",
        "تعتبر",
        "عبارة عن",
        "يعرف",
        "تعرف",
        "يشير",
        "تشير",
        "يطلق",
        "أي",
        "يطالب",
        "ينص",
        "تنص",
        "يقضي",
        "يتضمن",
    )
    + r")(?!\w)"
)

_PATTERNS: dict[AnswerType, re.Pattern[str]] = {
    AnswerType.NUMBER: _NUMBER,
    AnswerType.DATE: _DATE,
    AnswerType.PERSON: _PERSON,
    AnswerType.PLACE: _PLACE,
    AnswerType.REASON: _REASON,
    AnswerType.MANNER: _MANNER,
    AnswerType.DEFINITION: _DEFINITION,
}

# Leading conjunctions and prepositions that may sit before the question word:
# "وبماذا", "وعلى ماذا", "ففي أي عام", "ومنذ متى".
_CLITICS = re.compile(r"^(?:و|ف)?(?:ب|ل|ك)?(?=\w{2,})")
_DATE_NOUNS = frozenset(
    normalize_arabic(w)
    for w in (
        "عام",
        "سنة",
        "يوم",
        "شهر",
        "تاريخ",
        "قرن",
        "وقت",
        "فترة",
        "عقد",
        "موسم",
        "العام",
        "السنة",
        "القرن",
    )
)
_PLACE_NOUNS = frozenset(
    normalize_arabic(w)
    for w in (
        "مدينة",
        "بلد",
        "دولة",
        "منطقة",
        "مكان",
        "قارة",
        "جزيرة",
        "ولاية",
        "محافظة",
        "بلدة",
        "عاصمة",
        "نهر",
        "حي",
    )
)
_PERSON_NOUNS = frozenset(
    normalize_arabic(w)
    for w in (
        "شخص",
        "رئيس",
        "لاعب",
        "ملك",
        "حزب",
        "منظمة",
        "شركة",
        "فريق",
        "دولة",
        "جهة",
        "وزير",
        "عالم",
        "كاتب",
    )
)
_NUMBER_NOUNS = frozenset(
    normalize_arabic(w)
    for w in ("عدد", "نسبة", "كمية", "مساحة", "طول", "مبلغ", "قيمة", "حجم", "سعر", "مدة", "عمر")
)


def question_type(question: str) -> AnswerType:
    """The answer type of a question, from its question word and the noun after it."""
    tokens = words(normalize_arabic(question))
    if not tokens:
        return AnswerType.OTHER
    # The question word is usually first, after optional prepositions ("في أي عام").
    i = 0
    while i < len(tokens) - 1 and tokens[i] in PREPOSITIONS and bare(tokens[i + 1]) in INTERROGATIVES:
        i += 1
    word = bare(tokens[i])
    following = tokens[i + 1] if i + 1 < len(tokens) else ""
    after = following[2:] if following.startswith("ال") else following
    if word in ("كم", "بكم"):
        return AnswerType.NUMBER
    if word == "متي":
        return AnswerType.DATE
    if word in ("اين",):
        return AnswerType.PLACE
    if word in ("لماذا", "لم"):
        return AnswerType.REASON
    if word == "كيف":
        return AnswerType.MANNER
    if word == "هل":
        return AnswerType.YES_NO
    if word in ("من", "لمن", "ممن"):
        return AnswerType.PERSON
    if word in ("اي", "ايه"):
        if following in _DATE_NOUNS or after in _DATE_NOUNS:
            return AnswerType.DATE
        if following in _PLACE_NOUNS or after in _PLACE_NOUNS:
            return AnswerType.PLACE
        if following in _NUMBER_NOUNS or after in _NUMBER_NOUNS:
            return AnswerType.NUMBER
        if following in _PERSON_NOUNS or after in _PERSON_NOUNS:
            return AnswerType.PERSON
        return AnswerType.OTHER
    if word in ("ما", "ماذا", "ماهو", "ماهي", "مما", "فيم", "عم", "بم"):
        if following in ("سبب", "اسباب", "السبب", "الاسباب", "دافع", "هدف", "الهدف"):
            return AnswerType.REASON
        if following in _NUMBER_NOUNS or after in _NUMBER_NOUNS:
            return AnswerType.NUMBER
        if following in ("تاريخ", "موعد") or after in ("تاريخ", "موعد"):
            return AnswerType.DATE
        if following in ("اسم", "الاسم"):
            return AnswerType.OTHER
        return AnswerType.DEFINITION
    if any(t in ("سبب", "لماذا") for t in tokens):
        return AnswerType.REASON
    return AnswerType.OTHER


def type_matches(kind: AnswerType, text: str, question: str = "") -> int:
    """How many spans of the wanted kind the text holds that the question does not already say."""
    return folded_type_matches(kind, normalize_arabic(text), said_words(question))


def said_words(question: str) -> frozenset[str]:
    """The question's folded words, as `folded_type_matches` takes them."""
    return frozenset(words(normalize_arabic(question)))


def folded_type_matches(kind: AnswerType, folded: str, said: frozenset[str]) -> int:
    """`type_matches` over text already folded by normalize_arabic and the question's `said_words`."""
    pattern = _PATTERNS.get(kind)
    if pattern is None:
        return 0
    count = 0
    for match in pattern.finditer(folded):
        token = match.group(0).strip()
        if token and token not in said and not (token.isdigit() and any(token in w for w in said)):
            count += 1
    return count


__all__ = ["AnswerType", "folded_type_matches", "question_type", "said_words", "type_matches"]
