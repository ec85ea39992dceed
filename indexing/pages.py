"""Saved article pages (and HTML fragments) to article text with headline, URL, outlet, author, date.

trafilatura finds the main text (dropping navigation, related lists, share widgets, footers);
it runs entirely offline here (no `fetch_url`, bytes in). Metadata is read from the page's
own declarations first, in this order, because extractors guess where pages state:

- headline: JSON-LD `headline`, then trafilatura's title (og:title, <title> minus the site)
- URL: <link rel=canonical>, og:url, JSON-LD `mainEntityOfPage`/`url`
- outlet: og:site_name, JSON-LD publisher, trafilatura's site name, else the URL's host
- date: JSON-LD `datePublished` and meta tags (with time), then a visible Arabic date in an
  element marked as a date, then the URL's date, then htmldate (via trafilatura) unless it
  is a bare-year guess, then the first visible date anywhere on the page.

isnad's boilerplate rules still run on the text afterwards (in the paragraph splitter):
extractors let Arabic page furniture such as comment policies through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from indexing.articles import SkippedFile, SourceText, clean_field, clean_url
from indexing.dates import first_visible_date, is_fallback_guess, parse_machine_date, url_date

_DATE_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "date",
    "dc.date.issued",
    "dc.date",
    "dcterms.created",
    "sailthru.date",
    "parsely-pub-date",
    "cxenseparse:recs:publishtime",
)
_AUTHOR_META = ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author")
_DATEISH = re.compile(r"date|time|publish|posted|byline|timestamp|تاريخ", re.IGNORECASE)
_BLOCKS = {
    "p",
    "div",
    "br",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "tr",
    "section",
    "article",
}


def _jsonld_objects(tree: Any) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object in the page, @graph members included."""
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text_content() or "null")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                yield item
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)


def _names(value: Any) -> list[str]:
    """Names from a JSON-LD person/organisation value (a string, an object or a list)."""
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    if isinstance(value, dict):
        return _names(value.get("name"))
    return [str(value)] if value else []


def _article_ld(tree: Any) -> dict[str, Any]:
    """The page's NewsArticle/Article JSON-LD object (empty when there is none)."""
    for item in _jsonld_objects(tree):
        kinds = item.get("@type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        is_article = any(isinstance(k, str) and (k.endswith("Article") or k == "WebPage") for k in kinds)
        if is_article and (item.get("headline") or item.get("datePublished")):
            return item
    return {}


def _meta(tree: Any) -> dict[str, str]:
    """<meta> values by lower-cased property/name/itemprop (the first of each wins)."""
    out: dict[str, str] = {}
    for meta in tree.xpath("//meta[@content]"):
        for attr in ("property", "name", "itemprop"):
            key = (meta.get(attr) or "").strip().lower()
            if key and key not in out:
                out[key] = meta.get("content", "")
    return out


def _canonical(tree: Any, meta: dict[str, str], ld: dict[str, Any]) -> str:
    for href in tree.xpath('//link[@rel="canonical"]/@href'):
        if url := clean_url(href):
            return url
    entity = ld.get("mainEntityOfPage")
    if isinstance(entity, dict):
        entity = entity.get("@id") or entity.get("url")
    for candidate in (meta.get("og:url"), entity, ld.get("url")):
        if url := clean_url(candidate):
            return url
    return ""


def _structured_date(tree: Any, meta: dict[str, str], ld: dict[str, Any]) -> str | None:
    for value in (ld.get("datePublished"), *(meta.get(k) for k in _DATE_META)):
        if value and (found := parse_machine_date(value)):
            return found
    for node in tree.xpath("//time[@datetime]"):
        marked = (node.get("itemprop") or "").lower() in ("datepublished", "") or node.get(
            "pubdate"
        ) is not None
        if marked and (found := parse_machine_date(node.get("datetime"))):
            return found
    return None


def _marked_date(tree: Any) -> str | None:
    """A visible date in an element whose class or id says it holds the date."""
    for node in tree.iter():
        if not isinstance(node.tag, str):
            continue
        marks = f"{node.get('class', '')} {node.get('id', '')} {node.get('itemprop', '')}"
        if node.tag == "time" or _DATEISH.search(marks):
            text = node.text_content()
            if len(text) <= 200 and (found := first_visible_date(text)):
                return found
    return None


def fragment_text(markup: str) -> str:
    """Text of an HTML fragment (an export's body, a feed's content), one line per block."""
    try:
        root = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return markup
    for bad in root.xpath("//script|//style|//noscript|//iframe|//form"):
        bad.drop_tree()
    for node in root.iter():
        if isinstance(node.tag, str) and node.tag.lower() in _BLOCKS:
            node.tail = "\n" + (node.tail or "")
            if node.tag.lower() != "br":
                node.text = "\n" + (node.text or "")
    lines = (" ".join(line.split()) for line in root.text_content().split("\n"))
    return "\n".join(line for line in lines if line)


def looks_like_html(text: str) -> bool:
    """Whether a text field holds markup rather than plain text."""
    return re.search(r"<(p|div|br|span|a|h[1-6]|ul|li|strong|em|img|figure)\b[^>]*>", text, re.I) is not None


def read_page(source: str, raw: bytes) -> SourceText | SkippedFile:
    """One saved article page as an article with its metadata."""
    from trafilatura import bare_extraction
    from trafilatura.utils import load_html

    tree = load_html(raw)
    if tree is None:
        return SkippedFile(source, "not a readable HTML page")
    meta = _meta(tree)
    ld = _article_ld(tree)
    url = _canonical(tree, meta, ld)
    published = _structured_date(tree, meta, ld) or _marked_date(tree) or (url_date(url) if url else None)
    meta_author = next((meta[k] for k in _AUTHOR_META if meta.get(k)), "")
    author = clean_field(_names(ld.get("author"))) or clean_field(meta_author)
    outlet = clean_field(meta.get("og:site_name") or _names(ld.get("publisher"))[:1])
    page_text = tree.text_content() if not published else ""

    # trafilatura prunes the tree it is given, so the metadata above is read first.
    document = bare_extraction(
        tree,
        url=url or None,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    found: dict[str, Any] = {}
    if document is not None:
        found = document if isinstance(document, dict) else document.as_dict()
    text = str(found.get("text") or "")
    if not any(ch.isalpha() for ch in text):
        return SkippedFile(source, "no article text found in the page")
    guess = str(found.get("date") or "")
    if not published and guess and not is_fallback_guess(guess):
        published = parse_machine_date(guess)
    if not published:
        published = first_visible_date(page_text)
    headline = clean_field(ld.get("headline")) or clean_field(found.get("title"))
    outlet = outlet or clean_field(found.get("sitename")) or clean_field(found.get("hostname"))
    author = author or clean_field(found.get("author"))
    return SourceText(
        source=source,
        text=text,
        encoding="html",
        headline=headline,
        url=url or clean_url(found.get("url")),
        outlet=outlet,
        author=author,
        published=published or "",
    )
