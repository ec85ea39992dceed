"""Feeds by URL: fetch each feed, fetch the full article behind summary-only entries, keep them.

A feed lists only its latest entries, but the archive should keep what it has read, so every
article taken from a feed is stored as JSON under `DATA_DIR/feeds/<feed>/` and indexed on
every run whether or not the feed still lists it. An entry already stored is not fetched
again unless the feed now gives it a newer date. A feed or page that fails is one warning;
the feed's stored articles are still indexed. Dropping a feed from the configuration drops
its articles from the index on the next run, like deleting a file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from indexing.articles import SkippedFile, SourceText, canonical_key, clean_url
from indexing.atomic import write_atomically
from indexing.dates import newest_first_key
from indexing.feeds import FeedEntry, parse_feed
from indexing.fetch import FetchConfig, Fetcher, FetchError, gather_settled, run_fetches
from indexing.pages import read_page

SUMMARY_ONLY = "feed-summary"  # the `encoding` of a stored article whose page could not be fetched


@dataclass
class FeedRun:
    """What fetching the feeds gave: articles to index, warnings, and the request count."""

    articles: list[SourceText]
    problems: list[SkippedFile]
    requests: int = 0
    new_articles: int = 0


def _key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:20]


class FeedArchive:
    """The stored articles of one feed."""

    def __init__(self, root: Path, feed_url: str) -> None:
        self.folder = root / _key(canonical_key(feed_url))
        self.feed_url = feed_url

    def _path(self, article_url: str) -> Path:
        return self.folder / f"{_key(canonical_key(article_url))}.json"

    def get(self, article_url: str) -> SourceText | None:
        """The stored article for a URL, if any."""
        return self._read(self._path(article_url))

    @staticmethod
    def _read(path: Path) -> SourceText | None:
        try:
            data = json.loads(path.read_text("utf-8"))
            return SourceText(**{k: str(v) for k, v in data.items() if k in SourceText.__dataclass_fields__})
        except (OSError, ValueError, TypeError):
            return None

    def put(self, entry_url: str, article: SourceText) -> None:
        """Store the article of a feed entry (atomically: a killed run leaves the old copy or the new)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(entry_url)
        write_atomically(path, json.dumps(asdict(article), ensure_ascii=False))

    def all(self) -> list[SourceText]:
        """Every stored article, oldest URL key first (a stable order)."""
        if not self.folder.is_dir():
            return []
        found = (self._read(p) for p in sorted(self.folder.glob("*.json")))
        return [a for a in found if a is not None]


async def _complete(fetcher: Fetcher, entry: FeedEntry) -> SourceText:
    """The entry's article, with the page's full text when the feed gave only a summary."""
    article = entry.article
    if not entry.needs_page:
        return article
    fetched = await fetcher.fetch(article.url, conditional=False)
    page = read_page(article.url, fetched.body)
    if isinstance(page, SkippedFile):
        raise FetchError(page.reason)
    url = page.url or fetched.url  # the page's canonical URL, else where the redirects ended
    return replace(
        article,
        source=url,
        url=url,
        text=page.text,
        headline=article.headline or page.headline,
        outlet=page.outlet or article.outlet,  # the page's site name beats a feed's title
        author=article.author or page.author,
        published=article.published or page.published,
        encoding="html",
    )


async def _one_feed(fetcher: Fetcher, root: Path, feed_url: str, run: FeedRun) -> None:
    archive = FeedArchive(root, feed_url)
    try:
        fetched = await fetcher.fetch(feed_url)
    except FetchError as exc:
        run.problems.append(SkippedFile(feed_url, f"feed not fetched: {exc}"))
        return
    if fetched.not_modified:
        return  # unchanged since the last run: its articles are all stored already
    entries, problem = parse_feed(feed_url, fetched.body)
    if problem:
        run.problems.append(SkippedFile(feed_url, problem))
        return
    wanted = []
    for entry in entries:
        if not entry.article.url:
            title = entry.article.headline[:60]
            run.problems.append(SkippedFile(feed_url, f"entry without a link: {title!r}"))
            continue
        stored = archive.get(entry.article.url)
        if (
            stored is None
            or stored.encoding == SUMMARY_ONLY  # its page failed last time: try again
            or newest_first_key(entry.article.published) > newest_first_key(stored.published)
        ):
            wanted.append(entry)
    results = await gather_settled([_complete(fetcher, e) for e in wanted])
    for entry, result in zip(wanted, results, strict=True):
        if isinstance(result, SourceText):
            if result.text.strip():
                archive.put(entry.article.url, result)
                run.new_articles += 1
            else:
                run.problems.append(SkippedFile(entry.article.url, "feed entry has no text"))
        elif isinstance(result, FetchError):
            # The summary stands in for the page until the feed changes and the page is tried again.
            run.problems.append(SkippedFile(entry.article.url, f"page not fetched: {result}"))
            stored = archive.get(entry.article.url)
            if entry.article.text.strip() and (stored is None or stored.encoding == SUMMARY_ONLY):
                archive.put(entry.article.url, replace(entry.article, encoding=SUMMARY_ONLY))
        else:
            raise result


def fetch_feeds(
    feeds: Sequence[str],
    data_dir: Path,
    config: FetchConfig | None = None,
    transport: object | None = None,
) -> FeedRun:
    """Fetch every feed (and the pages it needs), store new articles, and return all stored ones."""
    root = data_dir / "feeds"
    run = FeedRun([], [])
    urls = list(dict.fromkeys(u.strip() for u in feeds if u.strip()))
    for url in urls:
        if not clean_url(url):
            run.problems.append(SkippedFile(url, "not an http(s) URL"))
    urls = [u for u in urls if clean_url(u)]
    if not urls:
        return run

    async def work(fetcher: Fetcher) -> None:
        results = await gather_settled([_one_feed(fetcher, root, url, run) for url in urls])
        for url, result in zip(urls, results, strict=True):
            if isinstance(result, BaseException):  # a bug, not a network problem: still one line
                run.problems.append(SkippedFile(url, f"feed failed ({type(result).__name__}: {result})"))

    _, run.requests = run_fetches(config or FetchConfig(), data_dir / "http-cache", work, transport)  # type: ignore[arg-type]
    stored = [a for url in urls for a in FeedArchive(root, url).all()]
    run.articles = stored + run.articles
    return run
