"""A news site on loopback for the fetch tests: a feed with ETag/304, and pages that misbehave.

Routes (all under http://127.0.0.1:PORT):
- /feed.xml       RSS, ETag "v1" (304 when If-None-Match matches); entries link to the pages below
- /news/full      not requested: its entry carries the whole article (content:encoded)
- /news/short     a summary-only entry's page: a full Arabic article page
- /news/moved     302 to /news/target, a page
- /news/slow      a page that never finishes arriving until the server is stopped
- /news/missing   404
- /news/huge      a page larger than the default 5 MB cap (6 MB, no Content-Length)
Every request is recorded in `requests` as (path, headers). `FeedSite(misbehaving=False)` lists
only the pages that work; `hold_feed` and `hold_pages` (Events), when given, hold /feed.xml or
the /news/ pages until they are set. `most_in_flight` is the most requests served at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

PAGE = """<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8">
<title>{title} | أخبار الساحل</title>
<link rel="canonical" href="{canonical}">
<meta property="og:site_name" content="أخبار الساحل">
<meta property="article:published_time" content="{date}">
</head><body>
<nav><a href="/">الرئيسية</a> <a href="/politics">سياسة</a> <a href="/economy">اقتصاد</a></nav>
<article><h1>{title}</h1>
<div class="share"><a href="#">فيسبوك</a> <a href="#">واتساب</a></div>
{paragraphs}
<p>ترحب أسرة أخبار الساحل بالنقاش البنّاء في التعليقات أدناه.</p>
</article>
<aside><h3>الأكثر قراءة</h3><ul><li><a href="/x">خبر آخر لا علاقة له</a></li></ul></aside>
<footer>جميع الحقوق محفوظة © أخبار الساحل</footer></body></html>"""

SHORT = [
    "اللاذقية - أعلنت المديرية العامة للموانئ أن مرفأ اللاذقية استقبل خلال شهر أيار 214 سفينة تجارية،"
    " بزيادة 18 في المئة عن الشهر نفسه من العام الماضي.",
    "وقال مدير المرفأ إن أعمال توسيع رصيف الحاويات الثالث ستنتهي قبل نهاية العام، ما يرفع الطاقة"
    " الاستيعابية إلى مليون حاوية سنويا.",
]
TARGET = [
    "طرطوس - افتتحت وزارة الزراعة معملا لتجفيف الحمضيات في طرطوس بطاقة 40 طنا يوميا، لتصريف فائض"
    " إنتاج موسم البرتقال الذي قدّر هذا العام بنحو مليون طن.",
]
FULL = (
    "<p>بانياس - بدأت مصفاة بانياس تشغيل وحدة التكرير الثانية بعد صيانة استمرت ستة أشهر،"
    " لترتفع طاقتها إلى 120 ألف برميل يوميا.</p>"
    "<p>وأوضح مدير المصفاة أن الوحدة الجديدة ستغطي نحو ثلث حاجة السوق المحلية من البنزين والمازوت.</p>"
)


def bad_items(item: Callable[[str, str, str, str], str]) -> str:
    """The entries whose pages misbehave: slow, missing, huge."""
    return (
        item("/news/slow", "خبر بطيء التحميل", "Wed, 05 Jun 2024 11:00:00 +0300",
             "ملخص الخبر البطيء: وصلت قافلة مساعدات إلى ريف حماة الشمالي صباح الأربعاء.")
        + item("/news/missing", "خبر حذف من الموقع", "Wed, 05 Jun 2024 12:00:00 +0300",
               "ملخص خبر محذوف عن افتتاح مدرسة جديدة في جبلة.")
        + item("/news/huge", "صفحة ضخمة", "Wed, 05 Jun 2024 13:00:00 +0300", "ملخص الصفحة الضخمة.")
    )  # fmt: skip


def feed(base: str, misbehaving: bool = True) -> str:
    def item(path: str, title: str, date: str, summary: str, content: str = "") -> str:
        encoded = f"<content:encoded><![CDATA[{content}]]></content:encoded>" if content else ""
        return (
            f"<item><title>{title}</title><link>{base}{path}</link><pubDate>{date}</pubDate>"
            f"<description>{summary}</description>{encoded}</item>"
        )

    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<title>أخبار الساحل - آخر الأخبار</title><link>" + base + "/</link>"
        + item("/news/full", "مصفاة بانياس تشغّل وحدة التكرير الثانية", "Mon, 03 Jun 2024 08:00:00 +0300",
               "تشغيل وحدة التكرير الثانية", FULL)
        + item("/news/short", "ارتفاع حركة السفن في مرفأ اللاذقية", "Tue, 04 Jun 2024 09:30:00 +0300",
               "زيادة عدد السفن في أيار")
        + item("/news/moved", "معمل لتجفيف الحمضيات في طرطوس", "Wed, 05 Jun 2024 10:00:00 +0300",
               "افتتاح معمل في طرطوس")
        + (bad_items(item) if misbehaving else "")
        + "</channel></rss>"
    )  # fmt: skip


class FeedSite:
    """The site, served from a thread; use as a context manager."""

    def __init__(
        self,
        misbehaving: bool = True,
        hold_feed: threading.Event | None = None,
        hold_pages: threading.Event | None = None,
    ) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.hold_feed = hold_feed
        self.hold_pages = hold_pages
        self.counting = threading.Lock()
        self.in_flight = self.most_in_flight = 0  # concurrent requests, now and at most
        self.release = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def send_body(self, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                with site.counting:
                    site.in_flight += 1
                    site.most_in_flight = max(site.most_in_flight, site.in_flight)
                try:
                    self.serve()
                finally:
                    with site.counting:
                        site.in_flight -= 1

            def serve(self) -> None:
                site.requests.append((self.path, dict(self.headers)))
                if self.path.startswith("/news/") and site.hold_pages is not None:
                    site.hold_pages.wait(30)
                base = f"http://127.0.0.1:{site.port}"
                if self.path == "/feed.xml":
                    if site.hold_feed is not None:
                        site.hold_feed.wait(30)
                    if self.headers.get("If-None-Match") == '"v1"':
                        self.send_response(304)
                        self.end_headers()
                        return
                    self.send_body(feed(base, misbehaving).encode(), "application/rss+xml", {"ETag": '"v1"'})
                elif self.path in ("/news/short", "/news/target"):
                    paragraphs, title = (
                        (SHORT, "ارتفاع حركة السفن في مرفأ اللاذقية")
                        if self.path == "/news/short"
                        else (TARGET, "معمل لتجفيف الحمضيات في طرطوس")
                    )
                    page = PAGE.format(
                        title=title,
                        canonical=base + self.path,
                        date="2024-06-04T09:30:00+03:00",
                        paragraphs="".join(f"<p>{p}</p>" for p in paragraphs),
                    )
                    self.send_body(page.encode(), "text/html; charset=utf-8")
                elif self.path == "/news/moved":
                    self.send_response(302)
                    self.send_header("Location", "/news/target")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/news/slow":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.end_headers()
                    self.wfile.write(b"<html><body><p>")
                    self.wfile.flush()
                    site.release.wait(30)
                elif self.path == "/news/huge":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.end_headers()
                    chunk = ("<p>" + "حشو " * 2000 + "</p>").encode()
                    for _ in range(6 * 2**20 // len(chunk) + 1):
                        try:
                            self.wfile.write(chunk)
                        except (BrokenPipeError, ConnectionResetError):
                            return
                else:
                    self.send_error(404)  # fmt: skip

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def __enter__(self) -> FeedSite:
        self.thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
