"""How a source is named to readers: a short label, the date in Arabic, and "whose report, when".

Dates are written with Babel's Arabic locale data rather than month tables of our own.
Arabic has two common month-name families: Babel's `ar` (and `ar_EG`, `ar_SA`) prints the
transliterated names (4 أغسطس 2013), its Levant locales the Syriac ones (4 آب 2013).
isnad uses the Levant form (`ar_LB`): it is what the archive's own outlets print first
(«04 آب/اغسطس 2013») and the form the attribution line was specified in. The day and year
stay in Western digits, as those outlets print them.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Protocol

from babel import Locale
from babel.dates import format_date

DATE_LOCALE = "ar_LB"
# Babel's import and its first use of a locale's data take ~150 ms; done here, at import (the
# bot imports this before it serves), so the first answer does not stall the event loop.
_LOCALE = Locale.parse(DATE_LOCALE)
format_date(date(2000, 1, 1), format="long", locale=_LOCALE)
_LABEL_WORDS = 8
_LABEL_CHARS = 70
# What must never reach an answer from page metadata: marker brackets and direction controls.
_UNSAFE = re.compile(r"[\[\]\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


class SourceLike(Protocol):
    """What naming a source needs (a stored paragraph or a citation)."""

    @property
    def source(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...


def parse_published(published: str | None) -> date | None:
    """The day of an ISO 8601 publication date, or None."""
    if not published:
        return None
    try:
        return datetime.fromisoformat(published).date()
    except ValueError:
        try:
            return date.fromisoformat(published[:10])
        except ValueError:
            return None


def arabic_date(published: str | None) -> str:
    """«4 آب 2013» for an ISO date; "" when there is no readable date."""
    day = parse_published(published)
    return format_date(day, format="long", locale=_LOCALE) if day else ""


def short_label(source: SourceLike) -> str:
    """The best short name for a source: its headline, else its opening words, never a bare hash."""
    if source.title:
        return source.title
    words = source.text.split()
    label = " ".join(words[:_LABEL_WORDS])
    if len(label) > _LABEL_CHARS:
        label = label[:_LABEL_CHARS].rsplit(" ", 1)[0]
    return (
        f"«{label}…»" if len(words) > _LABEL_WORDS or len(label) < len(source.text.strip()) else f"«{label}»"
    )


def safe_name(name: str) -> str:
    """An outlet or headline fit to stand inside answer text (no [n] lookalikes, no bidi controls)."""
    return " ".join(_UNSAFE.sub(" ", name).split())


def attribution(outlet: str, published: str | None) -> str:
    """«بحسب CNN بالعربية، 4 آب 2013» for a dated report; "" when the report is undated."""
    when = arabic_date(published)
    if not when:
        return ""
    who = safe_name(outlet)
    return f"بحسب {who}، {when}" if who else f"بحسب تقرير منشور في {when}"


def with_attribution(text: str, outlet: str, published: str | None) -> str:
    """The answer text with its lead attributed to the report it comes from (when dated)."""
    line = attribution(outlet, published)
    if not line or text.startswith(line):
        return text
    return f"{line}: {text}"


def byline(outlet: str, published: str | None) -> str:
    """«CNN بالعربية، 4 آب 2013», or whichever of the two is known."""
    return "، ".join(filter(None, (outlet, arabic_date(published))))


def also_carried(outlets: tuple[str, ...] | list[str]) -> str:
    """«ونشرتها أيضًا: رويترز، الحياة» for a paragraph other outlets carried too; "" otherwise."""
    return f"ونشرتها أيضًا: {'، '.join(outlets)}" if outlets else ""
