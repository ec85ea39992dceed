"""How the corpus spells each word: per folded word, every spelling it uses and how often.

The lexical index folds spelling (ة/ه, ى/ي, أ/إ/آ/ا, diacritics); the embedder does not, so
`bot.qa.spelling` writes a question in the corpus's spelling before embedding it. This is
what that needs, kept with the BM25 index (the same paragraphs, the same fields) and saved in
its snapshot folder. Counts, not only the commonest spelling: a refresh that removes paragraphs
subtracts their words, so an updated table equals one counted from scratch.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from indexing.arabic import WORD, normalize_arabic
from indexing.atomic import write_atomically

log = logging.getLogger(__name__)

FILE = "spellings.json"
# A word's folded form; successive questions and paragraphs repeat most words.
folded = lru_cache(maxsize=65_536)(normalize_arabic)


# A folded word's spellings: {spelling: occurrences}, or just the occurrences when the corpus
# writes it only as its folded form (most words: a third of the memory of a dict each).
Forms = dict[str, int] | int


def _spelled(key: str, forms: Forms) -> dict[str, int]:
    return {key: forms} if isinstance(forms, int) else forms


class Spellings:
    """Folded word -> its spellings in the corpus and their occurrences."""

    def __init__(self, forms: dict[str, Forms]) -> None:
        self.forms = forms

    @classmethod
    def of(cls, texts: Iterable[str]) -> Spellings:
        """The spellings of these texts."""
        return cls({}).updated(texts, ())

    def updated(self, added: Iterable[str], removed: Iterable[str]) -> Spellings:
        """These spellings with the words of `added` texts counted and those of `removed` ones taken away."""
        delta: Counter[str] = Counter()
        for text in added:
            delta.update(WORD.findall(text))
        for text in removed:
            delta.subtract(WORD.findall(text))
        by_folded: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for word, change in delta.items():
            if change:
                by_folded[folded(word)].append((word, change))
        forms = dict(self.forms)  # classes not touched are shared with this one
        for key, changes in by_folded.items():
            group = dict(_spelled(key, forms.get(key, {})))
            for word, change in changes:
                count = group.get(word, 0) + change
                if count > 0:
                    group[word] = count
                else:
                    group.pop(word, None)
            if not group:
                forms.pop(key, None)
            elif len(group) == 1 and key in group:
                forms[key] = group[key]
            else:
                forms[key] = group
        return Spellings(forms)

    def commonest(self, word: str) -> str:
        """The word as the corpus writes it: itself when the corpus writes it so (or not at all),
        else the corpus's commonest spelling of it (ties: the first in code-point order)."""
        key = folded(word)
        seen = self.forms.get(key)
        if seen is None:
            return word
        if isinstance(seen, int):
            return key
        if word in seen:
            return word
        return min(seen, key=lambda form: (-seen[form], form))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Spellings) and self.forms == other.forms

    def __len__(self) -> int:
        return len(self.forms)

    # -- persistence -------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write them into a snapshot folder (atomically: a reader sees the old file or the new one)."""
        # One row per folded word: the key, then spelling and count pairs, commonest first.
        rows = []
        for key in sorted(self.forms):
            group = _spelled(key, self.forms[key])
            row: list[str | int] = [key]
            for form in sorted(group, key=lambda f: (-group[f], f)):
                row += [form, group[form]]
            rows.append(row)
        write_atomically(folder / FILE, json.dumps(rows, ensure_ascii=False, separators=(",", ":")))

    @classmethod
    def load(cls, folder: Path) -> Spellings | None:
        """The spellings saved in a snapshot folder; None if it has none (an older index) or is unreadable."""
        try:
            rows = json.loads((folder / FILE).read_text(encoding="utf-8"))
            forms: dict[str, Forms] = {}
            for row in rows:
                key = str(row[0])
                group = {str(row[i]): int(row[i + 1]) for i in range(1, len(row), 2)}
                forms[key] = group[key] if len(group) == 1 and key in group else group
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, IndexError) as exc:
            log.info("spellings unreadable, will count them again: %s", exc)
            return None
        return cls(forms)


__all__ = ["FILE", "Spellings"]
