"""RSS and Atom feeds (files or fetched bodies) to articles, with feedparser.

An entry's text is its full content (`content:encoded`, Atom `content`) when the feed
carries it, else its summary; `needs_page` tells the fetcher when only a summary is there,
so the article page is fetched from the entry's link. A feed file in the corpus is read as
it is, with no network access: indexing a folder never reaches out to the web by itself.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from indexing.articles import SkippedFile, SourceText, clean_field, clean_url
from indexing.dates import parse_machine_date, url_date
from indexing.pages import fragment_text, looks_like_html

# Content this long (in characters) is taken as the article even when the summary is as long.
FULL_TEXT_MIN_CHARS = 400


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed: the article as far as the feed tells it."""

    article: SourceText
    needs_page: bool  # the feed carries only a summary; the page at `article.url` has the rest


def _text(value: str) -> str:
    return (
        fragment_text(value)
        if looks_like_html(value)
        else "\n".join(line.strip() for line in value.splitlines() if line.strip())
    )


def _published(entry: Any) -> str:
    # The feed's own string keeps the publisher's offset; feedparser's parsed form is UTC.
    for key in ("published", "updated", "created"):
        if entry.get(key) and (found := parse_machine_date(entry[key])):
            return found
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            return parse_machine_date(datetime.fromtimestamp(calendar.timegm(parsed), UTC)) or ""
    return ""


def parse_feed(source: str, raw: bytes) -> tuple[list[FeedEntry], str | None]:
    """The entries of a feed and, when it is not a usable feed, the reason."""
    import feedparser

    parsed = feedparser.parse(raw)
    if not parsed.get("version"):
        return [], "not an RSS or Atom feed"
    outlet = clean_field(parsed.feed.get("title", ""))
    entries: list[FeedEntry] = []
    for n, entry in enumerate(parsed.entries, 1):
        url = clean_url(entry.get("link", ""))
        contents = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
        full = _text(max(contents, key=len)) if contents else ""
        summary = _text(entry.get("summary", "") or "")
        text = full if len(full) >= len(summary) else summary
        author = entry.get("author") or [a.get("name") for a in entry.get("authors", []) if a.get("name")]
        article = SourceText(
            source=url if source.startswith(("http://", "https://")) and url else f"{source}#{n}",
            text=text,
            encoding="feed",
            headline=clean_field(entry.get("title", "")),
            url=url,
            outlet=outlet,
            author=clean_field(author),
            published=_published(entry) or (url_date(url) if url else "") or "",
        )
        # Content no longer than the summary is the summary again: the article is on its page.
        teaser = not full or (len(full) < FULL_TEXT_MIN_CHARS and len(full) <= 1.5 * len(summary))
        entries.append(FeedEntry(article, needs_page=bool(url) and teaser))
    return entries, None


def read_feed_file(source: str, raw: bytes) -> Iterator[SourceText | SkippedFile]:
    """A feed file in the corpus: every entry as the feed tells it (no fetching)."""
    entries, problem = parse_feed(source, raw)
    if problem:
        yield SkippedFile(source, problem)
        return
    for entry in entries:
        if entry.article.text.strip():
            yield entry.article
        else:
            yield SkippedFile(entry.article.source, "feed entry has no text")
