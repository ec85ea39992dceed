"""What every reader produces: an article's text with its metadata, and one copy per article.

A plain text file is an "article" with no metadata (or a bundle of news items the paragraph
splitter tells apart); a page, an export record or a feed entry carries its headline, URL,
outlet, author and publication date. An article with a canonical URL is one article however
many copies of it are read, and the newest copy wins.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from indexing.dates import newest_first_key


@dataclass(frozen=True)
class SourceText:
    """One article (or bundle of items) as text; `source` is where it was read from.

    `source` is the path relative to the corpus root, `file#N` for the N-th record of an
    export or feed file, or the article's URL for a feed fetched over the network. The
    metadata fields are "" when unknown; `published` is ISO 8601.
    """

    source: str
    text: str
    encoding: str = "utf-8"
    headline: str = ""
    url: str = ""
    outlet: str = ""
    author: str = ""
    published: str = ""


@dataclass(frozen=True)
class SkippedFile:
    """A corpus file (or a record in one) that could not be read, with the reason in one line."""

    source: str
    reason: str


_CONTROLS = re.compile(r"[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_MAX_FIELD = 300


def clean_field(value: object) -> str:
    """One line of metadata: control and bidi characters dropped, whitespace collapsed, bounded.

    Headlines and outlet names come from pages anyone can write; they reach answers and
    Telegram messages, so they must not carry direction overrides or line breaks.
    """
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "، ".join(filter(None, (clean_field(v) for v in value)))
    text = unicodedata.normalize("NFC", str(value))
    text = " ".join(_CONTROLS.sub(" ", text).split())
    return text[:_MAX_FIELD].strip()


_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|ocid$|cmpid$)", re.IGNORECASE)


def clean_url(value: object) -> str:
    """An absolute http(s) URL without its fragment or tracking parameters, or "".

    Anything else (javascript:, relative paths, no host) is dropped.
    """
    text = clean_field(value).replace(" ", "%20")
    try:
        parts = urlsplit(text)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return ""
    except ValueError:  # a malformed host or port
        return ""
    query = "&".join(p for p in parts.query.split("&") if p and not _TRACKING.match(p.split("=", 1)[0]))
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, query, ""))


def canonical_key(url: str) -> str:
    """The identity of an article URL: scheme, `www.`, fragment, tracking and a final slash ignored."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):  # clean_url has checked the port parses
        host = f"{host}:{parts.port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("", host, path, query, ""))


def article_key(article: SourceText) -> str:
    """The canonical URL when there is one, else the place it was read from."""
    return f"url:{canonical_key(article.url)}" if article.url else f"source:{article.source}"


def one_copy_each(articles: Iterable[SourceText]) -> tuple[list[SourceText], list[SourceText]]:
    """(kept, dropped): one copy per article, the newest by publication date.

    Copies with the same date (or none) keep the first one read, so the choice is stable
    from run to run. Kept articles stay in reading order.
    """
    order: list[str] = []
    best: dict[str, SourceText] = {}
    dropped: list[SourceText] = []
    for article in articles:
        key = article_key(article)
        current = best.get(key)
        if current is None:
            order.append(key)
            best[key] = article
        elif newest_first_key(article.published) > newest_first_key(current.published):
            dropped.append(current)
            best[key] = article
        else:
            dropped.append(article)
    return [best[k] for k in order], dropped
