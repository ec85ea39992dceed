"""Split a decoded file into numbered paragraphs with their headline and section.

Numbering follows docs/answer-json.md: a paragraph's number is its 1-based position among
the file's non-empty lines (whitespace-only lines, NBSP included, are empty), so
dropped lines (headlines, boilerplate) still take up their number.

Structure is read from layout alone: a short line without final punctuation is a
title; it opens a new article when it is the file's first line, follows a wide gap
(two or more blank lines) or is followed by a share-button marker ("TT"); any other
title is a section heading within the current article. A text whose headline is already
known (a page, an export record, a feed entry) is one article: its short lines are section
headings and its headline repeated in the text is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexing.arabic import dedupe_key
from indexing.boilerplate import is_boilerplate, is_marker, is_photo_caption

_TITLE_MAX_CHARS = 120
_TITLE_MAX_WORDS = 16
_SENTENCE_END = (".", "!", "?", "؟", "…", ":", "؛", "،", ",", ";")
_CLOSERS = " \"'»”’)]>"
_ARTICLE_GAP = 2


@dataclass(frozen=True)
class Line:
    """A non-empty line: its 1-based number, text, and blank lines before it."""

    number: int
    text: str
    gap: int


@dataclass(frozen=True)
class Paragraph:
    """A paragraph as it stands in its file, with the titles it belongs under."""

    source: str
    number: int
    text: str
    headline: str = ""
    section: str = ""
    url: str = ""
    outlet: str = ""
    author: str = ""
    published: str = ""  # ISO 8601, "" when unknown

    @property
    def title(self) -> str:
        """The article headline, or the section heading when the article has none."""
        return self.headline or self.section


def split_lines(text: str) -> list[Line]:
    """Non-empty lines with their numbers and the count of blank lines before each."""
    lines: list[Line] = []
    gap = 0
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped:
            gap += 1
            continue
        lines.append(Line(len(lines) + 1, stripped, gap))
        gap = 0
    return lines


def is_title_like(text: str) -> bool:
    """Short and without sentence-final punctuation."""
    if len(text) > _TITLE_MAX_CHARS or len(text.split()) > _TITLE_MAX_WORDS:
        return False
    return not text.rstrip(_CLOSERS).endswith(_SENTENCE_END)


def parse_paragraphs(source: str, text: str, headline: str = "") -> list[Paragraph]:
    """Paragraphs of one file, boilerplate dropped, each under its headline and section.

    `headline`, when given, is the article's known headline and the text one article.
    """
    lines = split_lines(text)
    keys = [dedupe_key(line.text) for line in lines]
    paragraphs: list[Paragraph] = []
    one_article = bool(headline)
    section = ""
    body_seen = False  # a body paragraph since the current headline
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        prev_key = keys[i - 1] if i > 0 else None
        next_key = keys[i + 1] if nxt else None
        if is_boilerplate(line.text):
            continue
        if is_title_like(line.text):
            # Two identical short lines side by side are a caption printed twice.
            if keys[i] in (prev_key, next_key) and keys[i] != dedupe_key(headline):
                continue
            if keys[i] == dedupe_key(headline):
                continue  # the headline repeated under the share buttons
            if headline and not body_seen:
                section = section or line.text  # the standfirst under the headline
                continue
            opens_article = not one_article and (
                (not paragraphs and not section)
                or line.gap >= _ARTICLE_GAP
                or (nxt is not None and is_marker(nxt.text))
            )
            if opens_article:
                headline, section, body_seen = line.text, "", False
            elif not is_photo_caption(line.text):
                section = line.text
            continue
        paragraphs.append(Paragraph(source, line.number, line.text, headline, section))
        body_seen = True
    return paragraphs
