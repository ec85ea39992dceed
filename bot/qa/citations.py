"""Checks and renumbers the [n] citation markers in a generated answer.

Models cite untidily: Arabic-Indic digits ([١]), groups ([1، 2], [1-3]), stacks ([1][2])
and numbers of paragraphs they were never shown. `renumber` keeps only markers that
point at a passage, writes each run of adjacent markers as plain `[n][m]` with ASCII
digits, and numbers them 1..k in order of first use, so the text and its citation list
agree. Anything that is not a well-formed marker is left alone as text; the price is
that a bracketed number meant as text (`[2024]`) is read as a marker, and dropped
when it points nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

_DIGITS = "[0-9\u0660-\u0669\u06f0-\u06f9]+"  # ASCII, Arabic-Indic, extended (Persian) digits
# Spaces and the bidi marks models wrap around numbers in right-to-left text; never a newline.
_PAD = "[ \t\u00a0\u200c-\u200f\u061c]*"
_ITEM = f"{_DIGITS}(?:{_PAD}[-\u2013]{_PAD}{_DIGITS})?"
_SEP = f"(?:{_PAD}[,\u060c;\u061b\u0648]{_PAD}|[ \t\u00a0]+)"  # , ، ; ؛ و or plain spaces
_GROUP = rf"\[{_PAD}{_ITEM}(?:{_SEP}{_ITEM})*{_PAD}\]"
_RUN = re.compile(rf"{_GROUP}(?:{_PAD}{_GROUP})*")
_ITEM_RE = re.compile(rf"({_DIGITS})(?:{_PAD}[-\u2013]{_PAD}({_DIGITS}))?")
_HSPACE = " \t\u00a0"
# A range wider than this is more likely a typo or a span of years than a citation.
_MAX_RANGE = 20


def _numbers(run: str) -> list[int]:
    """Every number a marker run names, in the order written; ranges expanded."""
    numbers: list[int] = []
    for match in _ITEM_RE.finditer(run):
        first = int(match.group(1))  # int() reads any Unicode decimal digits
        last = int(match.group(2)) if match.group(2) else first
        if first <= last <= first + _MAX_RANGE:
            numbers.extend(range(first, last + 1))
        else:
            numbers.extend((first, last))
    return numbers


def _at_line_start(pieces: list[str]) -> bool:
    """Whether the text written so far is empty or ends a line."""
    for piece in reversed(pieces):
        if piece:
            return piece.endswith("\n")
    return True


def renumber(text: str, passages: Sequence[T]) -> tuple[str, list[T]]:
    """Rewrite markers to point into the returned list, 1..k in order of first use.

    A marker n refers to passages[n - 1]; markers outside 1..len(passages) are removed
    together with the space before them, so no stray gap is left.
    """
    new_number: dict[int, int] = {}  # old n -> new n
    pieces: list[str] = []
    position = 0
    for match in _RUN.finditer(text):
        before = text[position : match.start()]
        valid = [n for n in _numbers(match.group()) if 1 <= n <= len(passages)]
        for n in valid:
            new_number.setdefault(n, len(new_number) + 1)
        if valid:
            pieces.append(before)
            pieces.append("".join(f"[{m}]" for m in sorted({new_number[n] for n in valid})))
            position = match.end()
            continue
        pieces.append(before.rstrip(_HSPACE))
        position = match.end()
        if _at_line_start(pieces):
            # The marker opened a line: drop the space after it instead of the one before.
            while position < len(text) and text[position] in _HSPACE:
                position += 1
    pieces.append(text[position:])
    order = sorted(new_number, key=new_number.__getitem__)
    return "".join(pieces), [passages[n - 1] for n in order]
