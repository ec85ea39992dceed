"""Feedback buttons under an answer and the compact callback data they carry (≤ 64 bytes).

Paragraph ids are 32 hex digits, too long to put several in callback data, so a button
names the answer's row id in SQLite and the citation number; the store maps those back to
the paragraph ids that were cited.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit

from bot.telegram import texts

_BUTTONS_PER_ROW = 3
_MAX_WRONG_SOURCE_BUTTONS = 9
_PATTERN = re.compile(r"^(?P<kind>[vw]):(?P<answer>\d{1,18}):(?P<value>[+-]|\d{1,3})$")


@dataclass(frozen=True)
class Feedback:
    """One press: a vote (+1/-1) on an answer, or citation n flagged as a wrong source."""

    answer_id: int
    vote: int = 0
    wrong_source: int = 0

    def data(self) -> str:
        """The callback_data string."""
        if self.vote:
            out = f"v:{self.answer_id}:{'+' if self.vote > 0 else '-'}"
        else:
            out = f"w:{self.answer_id}:{self.wrong_source}"
        assert len(out.encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
        return out

    @classmethod
    def parse(cls, data: str | None) -> Feedback | None:
        """The press a callback_data string stands for, or None for anything else."""
        match = _PATTERN.match(data or "")
        if match is None:
            return None
        answer_id, value = int(match["answer"]), match["value"]
        if match["kind"] == "v":
            return cls(answer_id, vote=1 if value == "+" else -1) if value in "+-" else None
        return cls(answer_id, wrong_source=int(value)) if value.isdigit() and int(value) > 0 else None


def feedback_keyboard(answer_id: int, cited: Sequence[int]) -> InlineKeyboardMarkup:
    """👍 / 👎 on the answer, then one "wrong source" button per cited paragraph."""
    rows = [
        [
            InlineKeyboardButton(texts.VOTE_UP, callback_data=Feedback(answer_id, vote=1).data()),
            InlineKeyboardButton(texts.VOTE_DOWN, callback_data=Feedback(answer_id, vote=-1).data()),
        ]
    ]
    flags = [
        InlineKeyboardButton(
            texts.WRONG_SOURCE_BUTTON.format(n=n), callback_data=Feedback(answer_id, wrong_source=n).data()
        )
        for n in list(cited)[:_MAX_WRONG_SOURCE_BUTTONS]
    ]
    rows += [flags[i : i + _BUTTONS_PER_ROW] for i in range(0, len(flags), _BUTTONS_PER_ROW)]
    return InlineKeyboardMarkup(rows)
