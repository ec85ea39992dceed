"""The default answerer: the answer first, quoted from the best sentence, each claim cited.

No model writes anything, so nothing is invented: every word of the answer is a quote.
The second ranking stage (bot/qa/rerank.py) has scored every sentence of the candidate
paragraphs, and the clause runs of the long ones, with fitted weights. The answer is:

1. the lead: the best-scoring sentence; when it is long, the best-scoring run of its clauses
   (cut at ، ؛ and the conjunctions that open a clause), quoted from a clause's start; a lead
   that opens with a pronoun or demonstrative is preceded by the sentence it refers back to
   when both fit the lead's length;
2. the paragraphs that say the same thing as the lead in other words, cited on the lead
   (`… [1][2]`) rather than quoted again;
3. at most two more sentences, only when they are nearly as likely to hold the answer and
   add content words the lead does not already carry;
4. while the answer is shorter than a lead may be, the next-best sentences of the lead's own
   paragraph that fit (a long one cut to its opening clauses), again only when they add content
   words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.qa.answer import NOT_IN_SOURCES, Draft
from bot.qa.evidence import Evidence
from bot.qa.quotable import refers_back
from bot.qa.rerank import LEAD_CHARS, Reranker, ScoredUnit, combined, ranked_units, split_sentences
from bot.qa.retrieval import Passage
from indexing.untrusted import quoted

# A "sentence" of an article without punctuation can be the whole paragraph (900 words);
# each quote is cut at a word boundary after this many characters, so an answer stays short.
MAX_QUOTE_CHARS = 400
# A unit restates another when this share of its content terms are the other's.
PARAPHRASE_OVERLAP = 0.6
# Another paragraph may back the lead when its own paragraph probability is at least 5%.
_SUPPORT_MIN_LOGIT = math.log(0.05 / 0.95)
# A further sentence (tuned on the dev half) must score within this of the lead (log-probability):
# 1.25 keeps the median answer under 250 characters (dev half: 231, answer contains 0.750;
# 2.0 gave 325 and 0.768).
_EXTRA_MARGIN = 1.25
_MAX_EXTRAS = 2
# ... and must bring content words the answer does not carry yet.
_MIN_NEW_TERMS = 2
_MIN_NEW_SHARE = 0.25
# A restatement that covers this much more of the question than the lead is quoted, not merged.
_MORE_OF_THE_QUESTION = 0.05
_MAX_CHARS = 450
# An answer shorter than the lead may be takes the next-best sentences of its lead's paragraph
# that fit it, whole or cut to their opening clauses (a run from inside a sentence, «الذي قاد…»,
# reads as a fragment). When the unit model misses, the answer is most often another sentence of
# the same paragraph (XQuAD-ar dev half: 57 of the 83 questions whose answer cites the gold
# paragraph without its span), and a short answer has room for one at no cost to the median
# length. XQuAD-ar dev half, answer contains gold / median characters, replayed over the same
# rankings: without 0.792 / 231; filling to 200: 0.797 / 231, 220: 0.804 / 231, 240 (this):
# 0.809 / 238, 260: 0.806 / 257, 280: 0.810 / 273; any clause run instead of an opening one at
# 240: 0.806 / 240. Only sentences of the lead's paragraph: an earlier replay taking any
# candidate's found no gain (0.799 either way at 220), and another paragraph's reads as a jump.
# A wider margin above moves along the curve instead: 1.5 gives 0.799 / 272, 1.75 gives
# 0.801 / 304, 2.0 gives 0.807 / 338.
_FILL_CHARS = LEAD_CHARS
_MIN_FILL_CHARS = 30  # less room than this cannot hold a clause worth quoting

__all__ = ["ExtractiveAnswerer", "compose", "restates", "split_sentences"]


def restates(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two units share most of their content terms (one paraphrases the other)."""
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= PARAPHRASE_OVERLAP


def adds_content(unit: ScoredUnit, said: set[str]) -> bool:
    """Whether a unit brings enough content words the answer does not carry yet."""
    new_terms = unit.terms - said
    return len(new_terms) >= max(_MIN_NEW_TERMS, _MIN_NEW_SHARE * len(unit.terms))


def cut(
    sentence: ScoredUnit, units: Sequence[ScoredUnit], budget: int = LEAD_CHARS, opening: bool = False
) -> ScoredUnit | None:
    """A sentence that fits the budget as it is, else its best run of clauses that does (None if none);
    with `opening`, only a run that opens the sentence."""
    if len(sentence.unit.text) <= budget:
        return sentence
    runs = [
        u
        for u in units
        if u.unit.clause
        and u.passage == sentence.passage
        and u.unit.sentence == sentence.unit.sentence
        and len(u.unit.text) <= budget
        and (not opening or sentence.unit.text.startswith(u.unit.text))
    ]
    return max(runs, key=lambda u: u.logit, default=None)


def referent(lead: ScoredUnit, quoted: str, units: Sequence[ScoredUnit]) -> ScoredUnit | None:
    """The sentence before a lead quoted from its start that opens with a pronoun or demonstrative,
    when the two fit the lead's length together (None otherwise)."""
    if not lead.unit.text.startswith(quoted) or not refers_back(quoted):
        return None
    before = next(
        (
            u
            for u in units
            if not u.unit.clause and u.passage == lead.passage and u.unit.sentence == lead.unit.sentence - 1
        ),
        None,
    )
    if before is None or len(before.unit.text) + 1 + len(quoted) > LEAD_CHARS:
        return None
    return before


@dataclass
class Claim:
    """One quoted sentence of the answer and the passages (by index) it is cited from."""

    text: str
    sources: list[int]


def compose(claims: Sequence[Claim], passages: Sequence[Passage]) -> Draft:
    """The answer text: claims in order, each followed by its [n] markers, numbered by first use.

    This is the one place answer text is assembled, so attribution, marker neutralisation
    or a length bound apply to every extractive answer here.
    """
    order: list[int] = []
    parts: list[str] = []
    for claim in claims:
        for source in claim.sources:
            if source not in order:
                order.append(source)
        markers = "".join(f"[{order.index(s) + 1}]" for s in claim.sources)
        # Quoted text is data: a "[3]" inside it must not read as one of the markers added here.
        parts.append(f"{quoted(claim.text, MAX_QUOTE_CHARS)} {markers}")
    return Draft(" ".join(parts), [passages[i] for i in order], "extractive")


class ExtractiveAnswerer:
    """Answers with the lead unit, its corroborating paragraphs, at most two more sentences, and, while
    short, the next-best sentences of the lead's paragraph."""

    def __init__(self, evidence: Evidence, reranker: Reranker | None = None) -> None:
        self.evidence = evidence
        self._reranker = reranker

    @property
    def reranker(self) -> Reranker:
        """The second stage, for passages that did not come through it (loaded on first use)."""
        if self._reranker is None:
            self._reranker = Reranker(self.evidence)
        return self._reranker

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        """Compose a cited answer from the (reranked) passages."""
        if passages and all(p.units is not None and p.logit is not None for p in passages):
            units = ranked_units(passages)  # the engine's retriever already reranked them
        else:
            passages = self.reranker.rank(question, passages).passages
            units = ranked_units(passages)
        if not units:
            return Draft(NOT_IN_SOURCES, [], "extractive")
        logits = [p.logit or 0.0 for p in passages]
        sentences = [u for u in units if not u.unit.clause]
        if not sentences:
            return Draft(NOT_IN_SOURCES, [], "extractive")
        lead = sentences[0]
        lead_score = combined(lead, logits[lead.passage])
        lead_claim = Claim((cut(lead, units) or lead).unit.text, [lead.passage])
        claims = [lead_claim]
        said = set(lead.terms)
        taken = {(lead.passage, lead.unit.sentence)}
        antecedent = referent(lead, lead_claim.text, units)
        if antecedent is not None:
            lead_claim.text = f"{antecedent.unit.text} {lead_claim.text}"
            said |= antecedent.terms
            taken.add((antecedent.passage, antecedent.unit.sentence))
        runners_up: list[ScoredUnit] = []  # the lead paragraph's other sentences, best first
        for unit in sentences[1:]:
            key = (unit.passage, unit.unit.sentence)
            if key in taken:
                continue
            if restates(unit.terms, lead.terms) and unit.coverage <= lead.coverage + _MORE_OF_THE_QUESTION:
                # Another paragraph saying the same: cite it on the lead instead of repeating it.
                if unit.passage not in lead_claim.sources and logits[unit.passage] >= _SUPPORT_MIN_LOGIT:
                    lead_claim.sources.append(unit.passage)
                taken.add(key)
                continue
            if len(claims) > _MAX_EXTRAS or combined(unit, logits[unit.passage]) < lead_score - _EXTRA_MARGIN:
                if unit.passage == lead.passage:
                    runners_up.append(unit)
                continue
            if not adds_content(unit, said):
                continue
            quoted = cut(unit, units, min(LEAD_CHARS, _MAX_CHARS - sum(len(c.text) for c in claims)))
            if quoted is None:
                continue
            claims.append(Claim(quoted.unit.text, [unit.passage]))
            said |= unit.terms
            taken.add(key)
        for unit in runners_up:
            room = _FILL_CHARS - len(compose(claims, passages).text) - len(" [n]")
            if room < _MIN_FILL_CHARS:
                break
            quoted = cut(unit, units, room, opening=True)
            if quoted is None or not adds_content(unit, said):
                continue
            claims.append(Claim(quoted.unit.text, [unit.passage]))
            said |= unit.terms
        return compose(claims, passages)
