"""Telegram HTML for answers: escaped text, allowed tags only, right-to-left lines, 4096-unit parts.

A message is built from `Block`s, each one line (or paragraph) of raw text inside at most one
tag. Text is escaped only when a block is rendered, and a block that does not fit is split
on its raw text (paragraph, then sentence, then word, then character boundaries) with every
piece wrapped in the block's tag again, so no split ever falls inside a tag or an entity.
Lengths are counted in UTF-16 code units, as Telegram counts them, over the HTML source,
which is never less than the text left after the tags are parsed: a conservative bound.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from bot.qa.engine import Answer, Citation
from bot.qa.sources import also_carried, byline, short_label
from indexing.untrusted import clip, printable, shown

RLM = "\u200f"  # keeps lines that start with [n], digits or Latin text right-to-left
MAX_MESSAGE = 4096  # telegram.constants.MessageLimit.MAX_TEXT_LENGTH
# The block tags this module emits; attributes are fixed here, never taken from text.
BLOCK_TAGS = frozenset({"", "b", "i", "blockquote", "blockquote expandable"})

SOURCES_HEADER = "المصادر:"
NO_SOURCES = "لا توجد مصادر لآخر إجابة."
NOT_CITED = "لم تستند آخر إجابة إلى فقرات من المقالات، فلا مصادر لها."
# The cited paragraph under an answer is an excerpt of this many characters at most; /sources
# shows it whole. Without a bound, one long paragraph made a three-message answer.
MAX_EXCERPT_CHARS = 1500


class CitedParagraph(Protocol):
    """What a message needs of a cited paragraph (a live `Citation` or a stored one)."""

    @property
    def n(self) -> int: ...
    @property
    def source(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def paragraph(self) -> int: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class Block:
    """One line or paragraph of raw text in at most one tag; `lead` is a bold label before it.

    `keep_with_next` holds a heading on the same message as the block it introduces.
    With `link` (an http(s) URL) the text is the link's text and `after` plain text after it.
    """

    text: str
    tag: str = ""
    lead: str = ""
    keep_with_next: bool = False
    link: str = ""
    after: str = ""

    def __post_init__(self) -> None:
        if self.tag not in BLOCK_TAGS:
            raise ValueError(f"unsupported block tag {self.tag!r}")
        if self.link and urlsplit(self.link).scheme.lower() not in ("http", "https"):
            raise ValueError("a link must be an http(s) URL")


BLANK = Block("")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Escape the three characters Bot API HTML treats as markup."""
    return html.escape(text, quote=False)


def rtl(text: str) -> str:
    """Start every non-empty line with a right-to-left mark."""
    return "\n".join(RLM + line if line.strip() else line for line in text.split("\n"))


def render_block(block: Block, text: str | None = None) -> str:
    """The HTML of a block (or of one piece of its text)."""
    # Bidi overrides and zero-width characters from articles never reach a message.
    raw = shown(block.text if text is None else text)
    if not raw.strip() and not block.lead:
        return ""
    body = escape(rtl(raw.strip("\n")))
    if block.link:
        body = f'{RLM}<a href="{html.escape(block.link, quote=True)}">{body.removeprefix(RLM)}</a>'
    if block.after:
        body += escape(shown(block.after))
    if block.lead:
        body = f"{RLM}<b>{escape(shown(block.lead))}</b> {body.removeprefix(RLM)}"
    if not block.tag:
        return body
    name = block.tag.split()[0]
    return f"<{block.tag}>{body}</{name}>"


_SPLITTERS: tuple[Callable[[str], list[str]], ...] = (
    lambda text: re.split(r"(?<=\n)", text),  # paragraphs
    lambda text: re.split(r"(?<=[.!?؟…۔])(?=\s)", text),  # sentences; the space opens the next
    lambda text: re.split(r"(?=\s)", text),  # words
)
Fits = Callable[[str, int], bool]  # (piece, its index among the pieces) -> within budget?


def _hard_cut(text: str, fits: Fits, start: int) -> list[str]:
    """Longest prefixes that fit, found by bisection: the last resort for a giant word."""
    pieces: list[str] = []
    while text:
        low, high = 1, len(text)
        while low < high:
            mid = (low + high + 1) // 2
            if fits(text[:mid], start + len(pieces)):
                low = mid
            else:
                high = mid - 1
        pieces.append(text[:low])
        text = text[low:]
    return pieces


def split_text(text: str, fits: Fits, level: int = 0, start: int = 0) -> list[str]:
    """Pieces of text that each fit, cut at the coarsest boundary that works.

    `fits` gets the piece's index so the first piece can be given less room (the rest of
    a message already begun) than the following ones (a whole message each).
    """
    text = text.strip()
    if not text or fits(text, start):
        return [text] if text else []
    if level == len(_SPLITTERS):
        return _hard_cut(text, fits, start)
    pieces: list[str] = []
    current = ""
    for segment in _SPLITTERS[level](text):
        if fits((current + segment).strip(), start + len(pieces)):
            current += segment
            continue
        if current.strip():
            pieces.append(current.strip())
        if fits(segment.strip(), start + len(pieces)):
            current = segment
        else:
            *done, current = split_text(segment, fits, level + 1, start + len(pieces)) or [""]
            pieces.extend(done)
    if current.strip():
        pieces.append(current.strip())
    return pieces


def _split_block(block: Block, limit: int, first: int) -> list[str]:
    """The block's HTML in pieces: the first within `first` units, the others within `limit`."""
    whole = render_block(block)
    if utf16_len(whole) <= first:
        return [whole]
    if block.link or block.after:  # too long for a link line: split it as plain text
        block = Block(block.text + block.after, block.tag, block.lead)
    # Only the first piece carries the label; later ones are plain continuations.
    rest = Block(block.text, block.tag)

    def fits(piece: str, index: int) -> bool:
        budget, shape = (first, block) if index == 0 else (limit, rest)
        return utf16_len(render_block(shape, piece)) <= budget

    pieces = split_text(block.text, fits)
    return [render_block(block if i == 0 else rest, piece) for i, piece in enumerate(pieces)]


def _joined_len(pieces: list[str]) -> int:
    return sum(utf16_len(piece) for piece in pieces) + max(len(pieces) - 1, 0)


def _units(blocks: Iterable[Block]) -> list[list[Block]]:
    """Blocks grouped so each heading (keep_with_next) travels with what follows it."""
    units: list[list[Block]] = []
    for block in blocks:
        if units and units[-1][-1].keep_with_next:
            units[-1].append(block)
        else:
            units.append([block])
    return units


def pack(blocks: Iterable[Block], limit: int = MAX_MESSAGE) -> list[str]:
    """Messages of at most `limit` UTF-16 units made of whole blocks, splitting only what cannot fit.

    A unit (headings and the block they introduce) that fits in a message is never split:
    it moves to the next message whole. One that fits in no message fills the rest of the
    current one (if a fair share is left) and continues in the next messages.
    """
    messages: list[str] = []
    current: list[str] = []

    def flush() -> None:
        while current and not current[-1]:
            current.pop()
        if current:
            messages.append("\n".join(current))
        current.clear()

    def add(piece: str) -> None:
        if current and _joined_len([*current, piece]) > limit:
            flush()
        if current or piece:  # no message opens with a blank line
            current.append(piece)

    for unit in _units(blocks):
        heads = [piece for block in unit[:-1] for piece in _split_block(block, limit, limit)]
        body = unit[-1]
        whole = [*heads, render_block(body)]
        if _joined_len(whole) <= limit:
            if current and _joined_len([*current, *whole]) > limit:
                flush()
            for piece in whole:
                add(piece)
            continue
        used = _joined_len([*current, *heads]) + 1 if current or heads else 0
        if current and limit - used < limit // 4:
            flush()
            used = _joined_len(heads) + 1 if heads else 0
        for piece in heads:
            add(piece)
        for piece in _split_block(body, limit, max(limit - used, 1)):
            add(piece)
    flush()
    return messages


def citation_block(c: Citation) -> Block:
    """[n] headline (a link to the article) — outlet، date; the file only with neither headline nor URL."""
    details = " — ".join(filter(None, [byline(c.outlet, c.published), also_carried(c.also_in)]))
    after = f" — {details}" if details else ""
    if c.url:
        return Block(short_label(c), lead=f"[{c.n}]", keep_with_next=True, link=c.url, after=after)
    if c.title:
        return Block(c.title + after, lead=f"[{c.n}]", keep_with_next=True)
    where = f"{short_label(c)} — {printable(c.source)}، الفقرة {c.paragraph}"
    return Block(where + after, lead=f"[{c.n}]", keep_with_next=True)


def answer_blocks(answer: Answer) -> list[Block]:
    """The answer with [n] markers, then each cited paragraph one tap away (expandable quote)."""
    blocks = [Block(answer.text)]
    if answer.notice:
        blocks.append(Block(answer.notice, "i"))
    if answer.citations:
        blocks += [BLANK, Block(SOURCES_HEADER, "b", keep_with_next=True)]
        for c in answer.citations:
            blocks.append(citation_block(c))
            blocks.append(Block(clip(c.text, MAX_EXCERPT_CHARS), "blockquote expandable"))
    return blocks


def answer_messages(answer: Answer, limit: int = MAX_MESSAGE) -> list[str]:
    """The answer as HTML messages ready for `parse_mode=HTML`."""
    return pack(answer_blocks(answer), limit)


def sources_messages(citations: Sequence[CitedParagraph] | None, limit: int = MAX_MESSAGE) -> list[str]:
    """The whole cited paragraphs of an answer, each with file, paragraph number and headline."""
    if citations is None:
        return text_messages(NO_SOURCES)
    if not citations:
        return text_messages(NOT_CITED)
    blocks: list[Block] = []
    for c in citations:
        if blocks:
            blocks.append(BLANK)
        source = printable(c.source)  # a newline in a file name must not start a line of its own
        blocks.append(Block(f"[{c.n}] {c.title or source}", "b", keep_with_next=True))
        blocks.append(Block(f"{source}، الفقرة {c.paragraph}", "i", keep_with_next=True))
        blocks.append(Block(c.text, "blockquote"))
    return pack(blocks, limit)


def text_messages(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Plain Arabic text (a reply, a notice) as escaped, right-to-left HTML messages."""
    return pack([Block(line) for line in text.split("\n")], limit)


def text_message(text: str) -> str:
    """A short reply that is known to fit in one message."""
    return "\n".join(text_messages(text))
