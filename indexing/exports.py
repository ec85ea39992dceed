"""Article exports, one article per record: JSON Lines, JSON (news-please included) and CSV.

Field names vary by tool, so each field is looked up under its common names (case does not
matter); the first non-empty one wins:

- text: text, body, content, maintext, article, full_text, description (HTML is turned into lines)
- headline: title, headline, title_page, title_rss
- url: url, link, canonical_url, source_url
- published: date, published, published_at, date_publish, pubdate, datepublished, pub_date, created_at
- outlet: source, site, outlet, source_domain, site_name, publisher, sitename
- author: author, authors, byline, creator

A JSON file holds one record (what news-please writes per article), a list of records, or
an object with the list under `articles`, `items`, `data`, `records` or `results`.
A record with no text becomes one warning naming the file and record; the rest is read.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

from indexing.articles import SkippedFile, SourceText, clean_field, clean_url
from indexing.dates import parse_machine_date, url_date
from indexing.pages import fragment_text, looks_like_html

TEXT_FIELDS = ("text", "body", "content", "maintext", "article", "full_text", "description")
HEADLINE_FIELDS = ("title", "headline", "title_page", "title_rss")
URL_FIELDS = ("url", "link", "canonical_url", "source_url")
DATE_FIELDS = (
    "date",
    "published",
    "published_at",
    "date_publish",
    "pubdate",
    "datepublished",
    "pub_date",
    "created_at",
)
OUTLET_FIELDS = ("source", "site", "outlet", "source_domain", "site_name", "publisher", "sitename")
AUTHOR_FIELDS = ("author", "authors", "byline", "creator")
_LIST_KEYS = ("articles", "items", "data", "records", "results")


def _first(record: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in record.items()}
    for name in names:
        value = lowered.get(name)
        if isinstance(value, dict):  # {"name": "..."} objects (publisher, source)
            value = value.get("name") or value.get("title")
        if value not in (None, "", [], {}):
            return value
    return None


def record_article(source: str, record: Mapping[str, Any]) -> SourceText | SkippedFile:
    """One export record as an article, or a SkippedFile when it has no text."""
    raw_text = _first(record, TEXT_FIELDS)
    if isinstance(raw_text, list):
        raw_text = "\n".join(str(part) for part in raw_text)
    text = str(raw_text or "")
    if looks_like_html(text):
        text = fragment_text(text)
    if not text.strip():
        return SkippedFile(source, "record has no text")
    url = clean_url(_first(record, URL_FIELDS))
    published = parse_machine_date(_first(record, DATE_FIELDS)) or (url_date(url) if url else None)
    return SourceText(
        source=source,
        text=text,
        encoding="export",
        headline=clean_field(_first(record, HEADLINE_FIELDS)),
        url=url,
        outlet=clean_field(_first(record, OUTLET_FIELDS)),
        author=clean_field(_first(record, AUTHOR_FIELDS)),
        published=published or "",
    )


def _records(source: str, records: list[Any]) -> Iterator[SourceText | SkippedFile]:
    for n, record in enumerate(records, 1):
        where = f"{source}#{n}"
        if isinstance(record, Mapping):
            yield record_article(where, record)
        else:
            yield SkippedFile(where, "record is not an object")


def read_jsonl(source: str, text: str) -> Iterator[SourceText | SkippedFile]:
    """One JSON object per line; a broken line is one warning."""
    n = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        n += 1
        where = f"{source}#{n}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield SkippedFile(where, f"not valid JSON ({exc.msg})")
            continue
        if isinstance(record, Mapping):
            yield record_article(where, record)
        else:
            yield SkippedFile(where, "record is not an object")


def read_json(source: str, text: str) -> Iterator[SourceText | SkippedFile]:
    """A record, a list of records, or an object holding the list."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        # A .json file written one object per line is JSON Lines in disguise.
        if text.lstrip().startswith("{") and "\n{" in text:
            yield from read_jsonl(source, text)
            return
        yield SkippedFile(source, f"not valid JSON ({exc})")
        return
    if isinstance(data, Mapping):
        for key in _LIST_KEYS:
            if isinstance(data.get(key), list):
                yield from _records(source, data[key])
                return
        yield record_article(source, data)
    elif isinstance(data, list):
        yield from _records(source, data)
    else:
        yield SkippedFile(source, "JSON holds neither an article nor a list of articles")


def read_csv(source: str, text: str) -> Iterator[SourceText | SkippedFile]:
    """A header row naming the fields, then one article per row."""
    csv.field_size_limit(16 * 1024 * 1024)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
    except csv.Error as exc:
        yield SkippedFile(source, f"not valid CSV ({exc})")
        return
    if (
        rows
        and _first(rows[0], TEXT_FIELDS) is None
        and not any(k and k.strip().lower() in TEXT_FIELDS for k in rows[0])
    ):
        yield SkippedFile(source, f"no text column (expected one of: {', '.join(TEXT_FIELDS)})")
        return
    yield from _records(source, list(rows))
