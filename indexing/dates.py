"""Publication dates from Arabic news: visible dates, machine dates and dates in URLs.

Visible Arabic dates are parsed here by hand because no well-kept library reads them:
dateparser and htmldate know only some Arabic month names, and none of them reads the
double forms newsrooms print («الأحد، 04 آب/اغسطس 2013») or Hijri dates. Arabic writes
months in several families, all recognised:

- transliterated (Egypt, Gulf): يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس … ديسمبر
- Syriac (Levant, Iraq): كانون الثاني شباط آذار نيسان أيار حزيران تموز آب أيلول تشرين الأول …
- French-derived (Algeria, Tunisia): جانفي فيفري أفريل ماي جوان جويلية أوت; Moroccan: يوليوز غشت شتنبر …
- Hijri: محرم صفر ربيع الأول … ذو الحجة, converted with the Umm al-Qura calendar (hijridate)

Everything returned is an ISO 8601 string: `YYYY-MM-DD` for a day, or a full timestamp
(with its offset when the source gave one) when a time is known.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

# Our own folding, so month matching does not move when search normalisation changes.
_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ة": "ه",
        "ـ": "",
        **{chr(0x660 + i): str(i) for i in range(10)},
    }
    | {chr(0x6F0 + i): str(i) for i in range(10)}
)
_DIACRITICS = re.compile("[\u064b-\u065f\u0670]")


def fold(text: str) -> str:
    """Fold letter variants, diacritics and Eastern digits the way the month table is written."""
    return _DIACRITICS.sub("", unicodedata.normalize("NFKC", text)).translate(_FOLD)


_GREGORIAN_NAMES: dict[int, tuple[str, ...]] = {
    1: ("يناير", "كانون الثاني", "جانفي", "ينير"),
    2: ("فبراير", "شباط", "فيفري", "فبرير"),
    3: ("مارس", "آذار", "اذار"),
    4: ("أبريل", "إبريل", "ابريل", "نيسان", "أفريل", "ابريل"),
    5: ("مايو", "أيار", "ماي"),
    6: ("يونيو", "يونيه", "حزيران", "جوان"),
    7: ("يوليو", "يوليه", "تموز", "جويلية", "يوليوز"),
    8: ("أغسطس", "اغسطس", "أغشت", "آب", "أوت", "غشت"),
    9: ("سبتمبر", "أيلول", "شتنبر"),
    10: ("أكتوبر", "تشرين الأول", "اكتوبر"),
    11: ("نوفمبر", "تشرين الثاني", "نونبر"),
    12: ("ديسمبر", "كانون الأول", "دجنبر"),
}
_HIJRI_NAMES: dict[int, tuple[str, ...]] = {
    1: ("محرم", "المحرم"),
    2: ("صفر",),
    3: ("ربيع الأول", "ربيع أول"),
    4: ("ربيع الثاني", "ربيع الآخر", "ربيع ثاني"),
    5: ("جمادى الأولى", "جمادى الأول", "جمادي الأولى"),
    6: ("جمادى الآخرة", "جمادى الثانية", "جمادى الآخر", "جمادي الآخرة"),
    7: ("رجب",),
    8: ("شعبان",),
    9: ("رمضان",),
    10: ("شوال",),
    11: ("ذو القعدة", "ذي القعدة"),
    12: ("ذو الحجة", "ذي الحجة"),
}


def _table(names: dict[int, tuple[str, ...]]) -> dict[str, int]:
    return {fold(name): month for month, forms in names.items() for name in forms}


_GREGORIAN = _table(_GREGORIAN_NAMES)
_HIJRI = _table(_HIJRI_NAMES)
_ANY_MONTH = "|".join(re.escape(n) for n in sorted({*_GREGORIAN, *_HIJRI}, key=len, reverse=True))
# "04 آب/اغسطس 2013", "4 أغسطس (آب) 2013", "26 رمضان 1434 هـ"; the second name of a pair is optional.
_VISIBLE = re.compile(
    rf"(?<!\d)(\d{{1,2}})\s*(?:من\s+)?(?P<m1>{_ANY_MONTH})(?!\w)"
    rf"(?:\s*[/\-–(]\s*(?:{_ANY_MONTH})(?!\w)\s*\)?)?\s*[,،\-–]?\s*(\d{{4}})(?!\d)"
)
_NUMERIC = re.compile(r"(?<![\d/.\-])(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?![\d/.\-])")
_ISO_DAY = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def _plausible(day: date) -> bool:
    return 1900 <= day.year <= datetime.now(UTC).year + 1


def _hijri_to_gregorian(year: int, month: int, day: int) -> date | None:
    from hijridate import Hijri

    try:
        return Hijri(year, month, day).to_gregorian()
    except (ValueError, OverflowError):  # outside the Umm al-Qura table (1343-1500 AH) or no such day
        return None


def _visible(text: str) -> list[tuple[int, date, bool]]:
    """(position, day, from a Hijri date) for every date written out in the text."""
    folded = fold(text)
    found: list[tuple[int, date, bool]] = []
    for match in _VISIBLE.finditer(folded):
        day, year, name = int(match.group(1)), int(match.group(3)), match.group("m1")
        if name in _HIJRI and 1300 <= year <= 1500:
            parsed = _hijri_to_gregorian(year, _HIJRI[name], day)
        elif name in _GREGORIAN:
            try:
                parsed = date(year, _GREGORIAN[name], day)
            except ValueError:
                parsed = None
        else:
            parsed = None
        if parsed is not None and _plausible(parsed):
            found.append((match.start(), parsed, name in _HIJRI))
    for pattern, order in ((_NUMERIC, (3, 2, 1)), (_ISO_DAY, (1, 2, 3))):
        for match in pattern.finditer(folded):
            try:
                parsed = date(*(int(match.group(i)) for i in order))
            except ValueError:
                continue
            if _plausible(parsed):
                found.append((match.start(), parsed, False))
    return sorted(found, key=lambda item: item[0])


def visible_dates(text: str) -> list[str]:
    """Every date written out in Arabic in the text, in order, as YYYY-MM-DD.

    A day-first numeric date (04/08/2013, the Arab convention) counts too.
    """
    return [day.isoformat() for _, day, _ in _visible(text)]


def first_visible_date(text: str) -> str | None:
    """The first date written out in the text, or None.

    Pages that print both calendars («26 رمضان 1434 هـ - 4 أغسطس 2013») are read by the
    Gregorian one: the Hijri day depends on moon sighting and may differ by a day.
    """
    found = _visible(text)
    gregorian = [day for _, day, hijri in found if not hijri]
    hijri = [day for _, day, is_hijri in found if is_hijri]
    best = gregorian or hijri
    return best[0].isoformat() if best else None


# /2013/08/04/, /2013/middle_east/8/4/ (CNN Arabic), /2022/3/21/, /20130804/, /2013-08-04
_URL_YEAR_FIRST = re.compile(r"/((?:19|20)\d\d)/(?:[^/\d][^/]*/){0,2}(\d{1,2})/(\d{1,2})(?:/|$|[-_.])")
_URL_COMPACT = re.compile(r"[/_-]((?:19|20)\d\d)[-_]?(\d\d)[-_]?(\d\d)(?:/|$|[-_.])")


def url_date(url: str) -> str | None:
    """The publication day encoded in an article URL's path, or None."""
    path = re.sub(r"^[a-z]+://[^/]+", "", url.strip(), flags=re.IGNORECASE).split("?")[0]
    for pattern in (_URL_YEAR_FIRST, _URL_COMPACT):
        for match in pattern.finditer(path):
            try:
                parsed = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                continue
            if _plausible(parsed):
                return parsed.isoformat()
    return None


def parse_machine_date(value: object) -> str | None:
    """An ISO 8601 or RFC 2822 date (meta tags, JSON-LD, exports, feeds) as ISO 8601, or None.

    A value with a time keeps it (and its offset); midnight with no offset is just the day.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        return value.isoformat() if _plausible(value) else None
    elif isinstance(value, (int, float)) and 0 < value < 10**11:
        parsed = datetime.fromtimestamp(value, UTC)  # seconds since the epoch (some exports)
    elif isinstance(value, str) and value.strip():
        text = fold(value.strip())
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            try:
                parsed = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                day = _ISO_DAY.search(text)
                if day is None:
                    return first_visible_date(value)
                try:
                    parsed = datetime(int(day.group(1)), int(day.group(2)), int(day.group(3)))
                except ValueError:
                    return None
    else:
        return None
    if not _plausible(parsed.date()):
        return None
    if parsed.tzinfo is None and parsed.time() == datetime.min.time():
        return parsed.date().isoformat()
    return parsed.isoformat()


def is_fallback_guess(iso: str) -> bool:
    """An extractor's guess from a bare year (1 January, no time) is not a publication date."""
    return len(iso) == 10 and iso.endswith("-01-01")


def newest_first_key(published: str | None) -> str:
    """A sort key on ISO dates that works across day-only and timestamped values."""
    if not published:
        return ""
    try:
        parsed = datetime.fromisoformat(published)
    except ValueError:
        return published
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.isoformat()
