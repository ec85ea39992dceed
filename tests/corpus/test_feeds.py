"""Feeds by URL against a news site on 127.0.0.1: polite, bounded, cached, and safe."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexing.articles import SourceText
from indexing.feed_archive import SUMMARY_ONLY, fetch_feeds
from indexing.fetch import USER_AGENT, FetchConfig, Fetcher, FetchError, Refused, _ip_allowed
from indexing.paragraphs import parse_paragraphs
from tests.conftest import TESTS
from tests.feed_server import FeedSite

pytestmark = pytest.mark.network

# Short bounds so the slow and huge pages fail fast; loopback allowed as ISNAD_FETCH_ALLOW_PRIVATE=1 does.
CONFIG = FetchConfig(timeout=1.0, deadline=5.0, max_bytes=256 * 1024, allow_private=True)


def body(article: SourceText) -> list[str]:
    return [p.text for p in parse_paragraphs(article.source, article.text, article.headline)]


@pytest.fixture
def site() -> Iterator[FeedSite]:
    with FeedSite() as running:
        yield running


def test_feed_entries_pages_and_failures(site: FeedSite, tmp_path: Path) -> None:
    run = fetch_feeds([f"{site.base}/feed.xml"], tmp_path, CONFIG)
    by_url = {a.url.removeprefix(site.base): a for a in run.articles}
    assert set(by_url) == {
        "/news/full",
        "/news/short",
        "/news/target",
        "/news/slow",
        "/news/missing",
        "/news/huge",
    }

    # The whole article in the feed: no page request.
    assert "/news/full" not in site.paths()
    assert "120 ألف برميل" in by_url["/news/full"].text
    # A summary-only entry: the page is fetched and read like a saved page.
    short = by_url["/news/short"]
    assert body(short)[0].startswith("اللاذقية - أعلنت المديرية العامة للموانئ")
    assert len(body(short)) == 2  # headline, share buttons and the comment policy dropped
    assert (short.headline, short.outlet) == ("ارتفاع حركة السفن في مرفأ اللاذقية", "أخبار الساحل")
    assert short.published == "2024-06-04T09:30:00+03:00"
    assert short.source == f"{site.base}/news/short"
    # A redirect is followed (and checked) to the page it points at.
    assert body(by_url["/news/target"])[0].startswith("طرطوس - افتتحت وزارة الزراعة")
    # The slow, missing and huge pages are one warning each; their summaries stand in.
    reasons = {p.source.removeprefix(site.base): p.reason for p in run.problems}
    assert set(reasons) == {"/news/slow", "/news/missing", "/news/huge"}
    assert "HTTP 404" in reasons["/news/missing"]
    assert "larger than" in reasons["/news/huge"]
    assert "Timeout" in reasons["/news/slow"] or "within" in reasons["/news/slow"]
    assert by_url["/news/missing"].encoding == SUMMARY_ONLY
    assert all(headers.get("User-Agent") == USER_AGENT for _, headers in site.requests)
    assert run.requests == 7  # feed, short, moved + target, slow, missing, huge


@pytest.mark.parametrize("per_host", [2, 3])
def test_requests_to_one_host_are_limited(per_host: int, tmp_path: Path) -> None:
    import threading
    import time

    config = FetchConfig(
        timeout=5.0, deadline=20.0, max_bytes=256 * 1024, allow_private=True, per_host=per_host
    )
    release = threading.Event()
    with FeedSite(hold_pages=release) as site:  # five summary-only pages wanted at once
        done = threading.Thread(target=fetch_feeds, args=([f"{site.base}/feed.xml"], tmp_path, config))
        done.start()
        deadline = time.monotonic() + 60
        while site.in_flight < per_host and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # room for one more request to arrive if the limit did not hold
        most = site.most_in_flight
        release.set()
        done.join(60)
    assert most == per_host


def test_unchanged_feed_costs_one_request_and_keeps_its_articles(site: FeedSite, tmp_path: Path) -> None:
    first = fetch_feeds([f"{site.base}/feed.xml"], tmp_path, CONFIG)
    site.requests.clear()
    again = fetch_feeds([f"{site.base}/feed.xml"], tmp_path, CONFIG)
    assert site.paths() == ["/feed.xml"]
    assert site.requests[0][1].get("If-None-Match") == '"v1"'
    assert again.requests == 1 and again.new_articles == 0 and not again.problems
    assert sorted(a.url for a in again.articles) == sorted(a.url for a in first.articles)


def test_private_addresses_are_refused_without_a_request(site: FeedSite, tmp_path: Path) -> None:
    run = fetch_feeds([f"{site.base}/feed.xml"], tmp_path, FetchConfig())
    [problem] = run.problems
    assert (
        "private, loopback or link-local" in problem.reason and "ISNAD_FETCH_ALLOW_PRIVATE" in problem.reason
    )
    assert site.requests == [] and run.articles == []


@pytest.mark.parametrize(
    ("address", "allowed"),
    [("10.1.2.3", False), ("192.168.0.1", False), ("127.0.0.1", False), ("169.254.169.254", False),
     ("::1", False), ("::ffff:127.0.0.1", False), ("fe80::1", False), ("0.0.0.0", False),
     ("8.8.8.8", True), ("2a00:1450:4001::200e", True)],
)  # fmt: skip
def test_address_rules(address: str, allowed: bool) -> None:
    assert _ip_allowed(address) is allowed


def test_only_http_urls_are_fetched(tmp_path: Path) -> None:
    async def attempt(url: str) -> None:
        fetcher = Fetcher(CONFIG)
        try:
            await fetcher.fetch(url)
        finally:
            await fetcher.close()

    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/"):
        with pytest.raises(Refused):
            asyncio.run(attempt(url))
    with pytest.raises(FetchError):
        asyncio.run(attempt("http://no-such-host.invalid/feed"))


@pytest.mark.slow  # embeds a corpus of its own
def test_isnad_index_with_feed_urls_indexes_once(site: FeedSite, tmp_path: Path, write_corpus) -> None:
    corpus = write_corpus(
        {"a.txt": "عنوان محلي\n\nوقال المتحدث إن الاجتماع انتهى دون اتفاق على موعد جديد.\n"}
    )
    env = {
        **os.environ,
        "ISNAD_DATA_DIR": str(tmp_path / "data"),
        "ISNAD_FEEDS": f"{site.base}/feed.xml",
        "ISNAD_FETCH_ALLOW_PRIVATE": "1",
    }

    def index(*extra: str) -> tuple[dict, str]:
        result = subprocess.run(
            [sys.executable, "-m", "isnad", "index", "--corpus", str(corpus), "--json", *extra],
            capture_output=True, text=True, env=env, timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout), result.stderr

    first, stderr = index()
    assert first["feeds"] == 1 and first["articles"] == 7 and first["new_from_feeds"] == 3
    warnings = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 3 and all("/news/" in w for w in warnings)  # slow, missing, huge: one line each
    second, _ = index("--feed", f"{site.base}/feed.xml")  # the same feed twice counts once
    assert (second["added"], second["removed"], second["updated"], second["embedded"]) == (0, 0, 0, 0)
    assert second["paragraphs"] == first["paragraphs"] and second["fetched"] == 1


def test_https_goes_to_the_checked_address_and_still_verifies_the_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The request is pinned to the resolved address; TLS still checks the certificate for the name.

    A throwaway certificate for news.test (tests/fixtures/tls, test use only) is served on
    loopback; news.test and other.test both resolve there.
    """
    import socket
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    import httpx

    tls = TESTS / "fixtures" / "tls"

    class Echo(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = f"host={self.headers.get('Host')}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = HTTPServer(("127.0.0.1", 0), Echo)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls / "news.test.crt", tls / "news.test.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: real("127.0.0.1" if host.endswith(".test") else host, *a, **k),
    )
    trust = ssl.create_default_context(cafile=str(tls / "news.test.crt"))

    async def get(url: str) -> bytes:
        fetcher = Fetcher(CONFIG, transport=httpx.AsyncHTTPTransport(verify=trust))
        try:
            return (await fetcher.fetch(url)).body
        finally:
            await fetcher.close()

    port = server.server_address[1]
    try:
        assert asyncio.run(get(f"https://news.test:{port}/a")) == f"host=news.test:{port}".encode()
        with pytest.raises(FetchError, match="certificate"):
            asyncio.run(get(f"https://other.test:{port}/a"))
    finally:
        server.shutdown()
        server.server_close()
