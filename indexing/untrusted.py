"""Article text and file names are data: helpers that stop them acting as layout, markers or lines.

Whoever writes a corpus file (or names it) controls these strings, and they reach chat
messages, terminals and log lines. Four things are taken from them before they are shown:
bidi overrides, embeddings and isolates (U+202A–U+202E, U+2066–U+2069), which reorder what
follows them on screen; zero-width characters, which hide text or make two strings look the
same; `[n]`-shaped text, which would read as one of the engine's citation markers; and
unbounded length. The right-to-left and left-to-right marks (U+200F, U+200E, U+061C) stay:
they only say which way a neutral character leans, and isnad adds them itself.
Control characters in a file name are escaped, never removed, so the name stays recognisable.
"""

from __future__ import annotations

import re
import unicodedata

ELLIPSIS = "…"
# Bidi embeddings/overrides (LRE RLE PDF LRO RLO) and isolates (LRI RLI FSI PDI).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Zero-width space/joiners, word joiner, invisible operators, BOM, Mongolian vowel separator.
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e")
_INVISIBLE = re.compile("[" + "".join(sorted(BIDI_CONTROLS | ZERO_WIDTH)) + "]")
# What the engine writes as a marker ([3], [١], [1، 2], [1-3]) and its full-width look-alike.
_DIGITS = "0-9\u0660-\u0669\u06f0-\u06f9"  # ASCII, Arabic-Indic, extended Arabic-Indic
_MARKER_PAD = "\\s\u200e\u200f\u061c,\u060c;\u061b\u0648\\-\u2013"  # spaces, marks, separators
_MARKER_LIKE = re.compile(rf"[\[\uff3b]([{_MARKER_PAD}]*[{_DIGITS}][{_DIGITS}{_MARKER_PAD}]*)[\]\uff3d]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def strip_invisible(text: str) -> str:
    """The text without bidi overrides, embeddings, isolates and zero-width characters."""
    return _INVISIBLE.sub("", text)


def neutralise_markers(text: str) -> str:
    """`[3]`-shaped text written as `(3)`, so only the engine's markers are markers."""
    return _MARKER_LIKE.sub(lambda m: f"({m.group(1)})", text)


def clip(text: str, max_chars: int) -> str:
    """At most max_chars characters (plus «…»), cut at a word boundary when there is one."""
    text = text.strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= max_chars // 2:  # a giant "word" (a URL, garbage) is cut inside it instead
        cut = cut[:space]
    return cut.rstrip(" \n\t،,؛;:-") + " " + ELLIPSIS


def quoted(text: str, max_chars: int) -> str:
    """Article text fit to quote in an answer: no hidden controls, no marker look-alikes, bounded."""
    return clip(neutralise_markers(strip_invisible(text)), max_chars)


def shown(text: str) -> str:
    """Article text (a paragraph, a headline) fit to display: hidden controls removed."""
    return strip_invisible(text)


def is_utf8(text: str) -> bool:
    """Whether text can be written out as UTF-8: no lone surrogates, which is how bytes that
    were not UTF-8 arrive from a terminal, argv or a stream decoded with surrogateescape."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(name: str) -> str:
    """A file name (or any untrusted string) on one line: controls and invisibles escaped.

    Newlines, carriage returns, escape sequences, bidi controls and zero-width characters
    are written as `\\n`, `\\x1b`, `\\u202e`…, so a name can neither start a forged line nor
    reorder or hide part of the line it is printed in.
    """
    out: list[str] = []
    for ch in name:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch in BIDI_CONTROLS or ch in ZERO_WIDTH or unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
