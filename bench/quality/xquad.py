"""XQuAD-ar as an isnad corpus: one file per article, title as headline, gold mapping.

XQuAD (Artetxe, Ruder and Yogatama, 2019) is CC BY-SA 4.0; the data file stays in
../shared/eval and is not copied into the repo.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bench import PROJECT_ROOT

DEFAULT_XQUAD = PROJECT_ROOT.parent / "shared" / "eval" / "xquad.ar.json"


@dataclass(frozen=True)
class Question:
    """One XQuAD question with its gold paragraph location and answers."""

    qid: str
    text: str
    source: str
    paragraph: int
    answers: tuple[str, ...]
    article: int


def load(path: Path = DEFAULT_XQUAD) -> list[dict]:
    """The SQuAD-format articles."""
    return json.loads(path.read_text(encoding="utf-8"))["data"]


def write_corpus(articles: list[dict], root: Path) -> list[Question]:
    """Write one file per article (headline, blank line, paragraphs) and map each question."""
    root.mkdir(parents=True, exist_ok=True)
    questions: list[Question] = []
    for a, article in enumerate(articles):
        source = f"{a:02d}_{article['title']}.txt"
        lines = [article["title"].replace("_", " ")]
        for p, para in enumerate(article["paragraphs"]):
            lines.append(" ".join(para["context"].split()))
            number = p + 2  # the headline is non-empty line 1
            for qa in para["qas"]:
                questions.append(
                    Question(
                        qid=qa["id"],
                        text=qa["question"],
                        source=source,
                        paragraph=number,
                        answers=tuple(ans["text"] for ans in qa["answers"]),
                        article=a,
                    )
                )
        text = "\n\n".join(lines) + "\n"
        target = root / source
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return questions


def split(questions: list[Question]) -> tuple[list[Question], list[Question]]:
    """Dev (even articles, for tuning) and held-out test (odd articles)."""
    dev = [q for q in questions if q.article % 2 == 0]
    test = [q for q in questions if q.article % 2 == 1]
    return dev, test


def every_nth(questions: list[Question], stride: int) -> list[Question]:
    """A fixed, evenly spread subset: every stride-th question in file order."""
    return questions[::stride]


def article_sources(questions: list[Question]) -> dict[int, str]:
    """Article number -> the corpus file it was written to."""
    return {q.article: q.source for q in questions}
