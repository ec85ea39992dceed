"""`python -m bench.quality.native`: hand-written questions about the seeds, native Arabic news.

XQuAD-ar, on which the second stage and the abstention rule are fitted, is Wikipedia translated
from English; isnad answers questions about Arabic news. `seeds_qa.json` holds questions a reader
might ask about seeds/, written by hand from its paragraphs in the forms and spellings readers
type (everyday spelling, a question word glued to the next, paraphrase), each with the spans
that answer it, and questions the seeds cannot answer. Nothing is fitted or tuned on them: they
show whether XQuAD-ar's figures carry over, beside them in the bench report. 42 questions move
a share by 2.4 points each, so read them as a check, not a figure to two decimals.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from bench.metrics import contains_gold, share
from bench.quality.figures import LEAD_LIMIT, lead_of

QUESTIONS = Path(__file__).resolve().with_name("seeds_qa.json")
CONVERSATIONS = Path(__file__).resolve().with_name("seeds_conversations.json")


def load(path: Path = QUESTIONS) -> tuple[list[dict[str, Any]], list[str]]:
    """The answerable questions (question, golds, source) and those the seeds cannot answer."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["answerable"], data["not_in_seeds"]


def run(engine: Any, path: Path = QUESTIONS) -> dict[str, Any]:
    """Ask every question of an engine over the seeds; the figures and each answer."""
    answerable, absent = load(path)
    records = []
    for item in answerable:
        answer = engine.ask(item["question"])
        text = answer.text if answer.answered else ""
        lead = lead_of(text)
        records.append(
            {
                "question": item["question"],
                "golds": item["golds"],
                "answered": answer.answered,
                "answer": text,
                "contains_gold": bool(text) and contains_gold(text, item["golds"]),
                "lead_contains_gold": bool(text) and contains_gold(lead, item["golds"]),
                "lead_chars": len(lead),
                "right_article": bool(answer.citations) and answer.citations[0].source == item["source"],
            }
        )
    declined = [not engine.ask(question).answered for question in absent]
    answered = [r for r in records if r["answered"]]
    return {
        "n": len(records),
        "answered": share([r["answered"] for r in records]),
        "contains_gold": share([r["contains_gold"] for r in records]),
        "lead_contains_gold": share([r["lead_contains_gold"] for r in records]),
        "lead_short_contains_gold": share(
            [r["lead_contains_gold"] and r["lead_chars"] <= LEAD_LIMIT for r in records]
        ),
        "first_citation_right_article": share([r["right_article"] for r in records]),
        "median_answer_chars": statistics.median([len(r["answer"]) for r in answered]) if answered else 0.0,
        "absent": len(absent),
        "absent_declined": share(declined),
        "records": records,
    }


def converse(engine: Any, path: Path = CONVERSATIONS) -> dict[str, Any]:
    """Hold every conversation of `seeds_conversations.json` with an engine; figures per turn.

    A follow-up turn (every turn after the first that does not change the topic) counts as
    answered, holding its gold, citing the right article first; a turn marked `new_topic` also
    counts whether it was searched as asked (not completed with the old topic's words).
    """
    conversations = json.loads(path.read_text(encoding="utf-8"))["conversations"]
    records = []
    for number, conversation in enumerate(conversations):
        key = f"bench-conversation-{number}"
        engine.reset(key)
        for turn_number, turn in enumerate(conversation["turns"]):
            answer = engine.ask(turn["question"], conversation=key)
            text = answer.text if answer.answered else ""
            records.append(
                {
                    "question": turn["question"],
                    "standalone": answer.standalone,
                    "golds": turn["golds"],
                    "kind": "new_topic" if turn.get("new_topic") else "follow_up" if turn_number else "first",
                    "answered": answer.answered,
                    "answer": text,
                    "contains_gold": bool(text) and contains_gold(text, turn["golds"]),
                    "right_article": bool(answer.citations) and answer.citations[0].source in turn["sources"],
                    "left_alone": answer.standalone == answer.question,
                }
            )
        engine.reset(key)
    follow_ups = [r for r in records if r["kind"] == "follow_up"]
    new_topics = [r for r in records if r["kind"] == "new_topic"]
    return {
        "conversations": len(conversations),
        "turns": len(records),
        "follow_ups": len(follow_ups),
        "follow_up_answered": share([r["answered"] for r in follow_ups]),
        "follow_up_contains_gold": share([r["contains_gold"] for r in follow_ups]),
        "follow_up_right_article": share([r["right_article"] for r in follow_ups]),
        "turns_contain_gold": share([r["contains_gold"] for r in records]),
        "new_topics": len(new_topics),
        "new_topic_left_alone": share([r["left_alone"] for r in new_topics]),
        "new_topic_contains_gold": share([r["contains_gold"] for r in new_topics]),
        "records": records,
    }


def missed(record: dict[str, Any]) -> bool:
    """A question or turn whose answer lacks its gold span, or a topic change read as a follow-up."""
    return not record["contains_gold"] or (record.get("kind") == "new_topic" and not record["left_alone"])


def _kept(figures: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Figures as the bench's results tree keeps them: these fields of the misses, not every record."""
    out = {k: v for k, v in figures.items() if k != "records"}
    out["misses"] = [{k: r[k] for k in fields} for r in figures["records"] if missed(r)]
    return out


def summary(figures: dict[str, Any]) -> dict[str, Any]:
    """`run`'s figures as the bench keeps them: the questions that missed, not every answer."""
    return _kept(figures, ("question", "golds", "answered", "answer"))


def conversation_summary(talk: dict[str, Any]) -> dict[str, Any]:
    """`converse`'s figures as the bench keeps them: the turns that missed."""
    return _kept(talk, ("question", "standalone", "golds", "kind", "answer"))


def main(argv: list[str] | None = None) -> int:
    """Index the seeds into the bench cache (unchanged: nothing embedded) and print the figures."""
    from bench import DEFAULT_CACHE, SEEDS
    from bot.qa.engine import build
    from indexing.pipeline import build_indexer

    description = __doc__.splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m bench.quality.native", description=description)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--conversations", type=Path, default=CONVERSATIONS)
    parser.add_argument("--json", action="store_true", help="print every answer as JSON too")
    args = parser.parse_args(argv)
    data = args.cache_dir.resolve() / "seeds-data"
    build_indexer(data).run(SEEDS)
    engine = build(data)
    figures = run(engine, args.questions)
    for r in filter(missed, figures["records"]):
        print(f"miss: {r['question']} | {r['golds'][0]} | {r['answer'][:120]}", file=sys.stderr)
    talk = converse(engine, args.conversations)
    for r in filter(missed, talk["records"]):
        print(f"turn miss: {r['standalone']} | {r['golds'][0]} | {r['answer'][:120]}", file=sys.stderr)
    print(
        f"answered {figures['answered']:.3f}, answer contains gold {figures['contains_gold']:.3f}, "
        f"lead contains gold {figures['lead_contains_gold']:.3f}, first citation from the right article "
        f"{figures['first_citation_right_article']:.3f}, median answer {figures['median_answer_chars']:.0f} "
        f"chars (n={figures['n']}); not in the seeds, declined {figures['absent_declined']:.3f} "
        f"(n={figures['absent']})"
    )
    print(
        f"conversations: follow-ups answered {talk['follow_up_answered']:.3f}, contain gold "
        f"{talk['follow_up_contains_gold']:.3f}, first citation from the right article "
        f"{talk['follow_up_right_article']:.3f} (n={talk['follow_ups']}); topic changes searched as asked "
        f"{talk['new_topic_left_alone']:.3f}, contain gold {talk['new_topic_contains_gold']:.3f} "
        f"(n={talk['new_topics']}); all turns contain gold {talk['turns_contain_gold']:.3f} "
        f"(n={talk['turns']} in {talk['conversations']} conversations)"
    )
    if args.json:
        print(json.dumps({**figures, "conversations": talk}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
