"""Rules that recognise web-page furniture in scraped news text.

The rules describe kinds of lines (comment prompts, back-to-top links, related-link
teasers, newsletter calls, share-button residue, photo credits) rather than the exact
lines of any one site, and only ever match short lines, so a real paragraph that
happens to quote such a phrase is kept.
"""

from __future__ import annotations

import re

from indexing.arabic import has_arabic, normalize_arabic, words

_MAX_FURNITURE_CHARS = 220


def _phrases(*arabic: str) -> str:
    return "|".join(re.escape(normalize_arabic(p)) for p in arabic)


# Whole-line UI labels: the line is nothing but the label (plus punctuation).
_UI_LABEL = re.compile(
    r"^(?:"
    + _phrases(
        "اترك تعليقاً",
        "اترك تعليقا",
        "اترك رداً",
        "أضف تعليقاً",
        "أضف تعليق",
        "التعليقات",
        "تعليقات",
        "شارك",
        "شارك المقال",
        "شارك الخبر",
        "شارك هذا المقال",
        "مشاركة",
        "طباعة",
        "زر الذهاب إلى الأعلى",
        "العودة إلى الأعلى",
        "الذهاب إلى الأعلى",
        "إلى الأعلى",
        "اقرأ المزيد",
        "المزيد",
        "عرض المزيد",
        "تابعونا",
        "تابعنا",
        "إعلان",
        "مواضيع ذات صلة",
        "أخبار ذات صلة",
        "مقالات ذات صلة",
        "الأكثر قراءة",
        "ذات صلة",
    )
    + r")[\s.:!…\-–|]*$"
)

# Related-link teasers: "اقرأ أيضا: ...", "قد يهمك: ...", "شاهد أيضاً - ...".
_TEASER = re.compile(
    r"^(?:"
    + _phrases(
        "اقرأ أيضاً",
        "اقرأ أيضا",
        "اقرأ ايضا",
        "إقرأ أيضاً",
        "اقرأ كذلك",
        "اقرأ المزيد",
        "قد يهمك",
        "قد يعجبك",
        "قد يهمك أيضاً",
        "شاهد أيضاً",
        "شاهد أيضا",
        "طالع أيضاً",
        "طالع أيضا",
        "اقرأ",
        "للمزيد",
        "يمكنك أيضاً قراءة",
        "مواضيع ذات صلة",
        "ذات صلة",
    )
    + r")\s*[:：\-–|]"
)

# Newsletter and subscription calls.
_NEWSLETTER = re.compile(
    _phrases(
        "النشرة البريدية",
        "نشرتنا البريدية",
        "النشرة الإخبارية",
        "نشرتنا الإخبارية",
        "القائمة البريدية",
        "صندوق بريدك",
        "بريدك الإلكتروني",
        "اشترك الآن",
        "اشترك بنشرتنا",
        "هل أعجبك المحتوى",
        "سجل بريدك",
        "تابعونا على",
        "تابعنا على",
        "حمل تطبيق",
    )
)

# Comment policies printed under articles: «ترحب شبكة CNN بالعربية بالنقاش …»,
# «الآراء الواردة أدناه لا تعبر عن رأي …», «التعليقات المنشورة لا تعبر عن رأي …».
_COMMENT_POLICY = re.compile(
    r"^(?:ترحب\s+(?:شبكه|صحيفه|جريده|اسره|موقع|قناه)\s.{0,60}?بالنقاش"
    r"|(?:الاراء|التعليقات|المشاركات)\s+(?:الوارده|المنشوره|المدرجه)(?:\s+\S+){0,2}\s+لا\s+تعبر\s+عن\s+راي"
    r"|(?:جميع|كل)\s+الحقوق\s+محفوظه)"
)

# A photo credit in parentheses at the end of a short line: "(رويترز - أرشيفية)".
_PHOTO_CREDIT = re.compile(
    r"\([^()]*(?<!\w)(?:"
    + _phrases(
        "رويترز",
        "أ ف ب",
        "أ.ف.ب",
        "فرانس برس",
        "أسوشيتد برس",
        "أ ب",
        "إ ب أ",
        "غيتي",
        "أرشيفية",
        "أرشيف",
        "الصورة",
        "صورة",
        "تصوير",
        "الأناضول",
    )
    + r"|afp|reuters|getty|ap|epa)(?!\w)[^()]*\)\s*$"
)


def is_marker(line: str) -> bool:
    """Share-button residue and similar tokens: short lines with no Arabic at all ("TT")."""
    stripped = line.strip()
    return len(stripped) <= 12 and not has_arabic(stripped) and len(stripped.split()) <= 3


def is_photo_caption(line: str) -> bool:
    """A short line that ends with a photo credit."""
    folded = normalize_arabic(line)
    return len(words(folded)) <= 25 and _PHOTO_CREDIT.search(folded) is not None


def is_boilerplate(line: str) -> bool:
    """True for page furniture that must never be stored as a paragraph."""
    if is_marker(line):
        return True
    folded = normalize_arabic(line)
    if len(folded) > _MAX_FURNITURE_CHARS:
        return False
    return bool(
        _UI_LABEL.match(folded)
        or _TEASER.match(folded)
        or _NEWSLETTER.search(folded)
        or _COMMENT_POLICY.search(folded)
        or is_photo_caption(line)
    )
