"""Cited answers from an OpenAI-compatible chat model, with the extractive answer as safety net.

The model sees the best passages that fit a token budget, numbered [1]..[k] inside
delimiters that mark them as untrusted data. Its reply is kept only if at least one
citation survives `citations.renumber`; otherwise the reader gets the extractive draft
with an Arabic notice saying the answer could not be verified. A timeout, connection
error, HTTP 5xx or 429 gets exactly one retry after a short wait (Retry-After honoured
up to a cap), then the extractive draft with a notice that the model is unavailable.
The trade-off: a dead endpoint costs at most two timeouts plus the capped wait, and the
reader always gets an answer whose every [n] points at a real paragraph.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import openai
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms import LLM
from llama_index.core.utils import get_tokenizer
from llama_index.llms.openai_like import OpenAILike

from bot.qa.answer import NOT_IN_SOURCES, Answerer, Draft
from bot.qa.citations import renumber
from bot.qa.prompts import Prompt, load_prompt
from bot.qa.retrieval import Passage
from indexing.errors import ConfigError
from indexing.untrusted import neutralise_markers, strip_invisible

logger = logging.getLogger(__name__)

# A line of the instructions this long, found in a reply, is a leak, not a coincidence.
_LEAK_MIN_LETTERS = 24
UNAVAILABLE_NOTICE = "النموذج اللغوي غير متاح الآن، فهذه إجابة مستخرجة من المصادر مباشرة."
UNVERIFIED_NOTICE = "تعذّر التحقق من الإجابة المولَّدة مقابل المصادر، فهذه إجابة مستخرجة منها مباشرة."
NO_TITLE = "بلا عنوان"

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Two attempts and the capped wait between them stay under 30 s, so a reader gets the
# extractive answer in time even when the endpoint hangs.
DEFAULT_TIMEOUT_S = 12.0
DEFAULT_CONTEXT_TOKENS = 3000
DEFAULT_MAX_ANSWER_TOKENS = 512
RETRY_WAIT_S = 0.5
MAX_RETRY_WAIT_S = 2.0
# The openai client refuses to start without a key; local endpoints ignore it.
_NO_KEY = "no-key"
_ELLIPSIS = " …"
_RETRYABLE = (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)


def build_llm(
    base_url: str | None,
    api_key: str | None,
    model: str,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    *,
    max_tokens: int = DEFAULT_MAX_ANSWER_TOKENS,
    temperature: float = 0.0,
) -> OpenAILike:
    """A chat client for any OpenAI-compatible endpoint; it never retries on its own."""
    return OpenAILike(
        model=model,
        api_base=base_url or DEFAULT_BASE_URL,
        api_key=api_key or _NO_KEY,
        is_chat_model=True,
        is_function_calling_model=False,
        timeout=timeout_s,
        # Both llama-index and openai retry with waits of up to a minute; ours is one short retry.
        max_retries=0,
        max_tokens=max_tokens,
        temperature=temperature,
    )


@dataclass(frozen=True)
class AnswerPrompts:
    """The three prompt files the answerer fills in."""

    system: Prompt
    user: Prompt
    source: Prompt

    @classmethod
    def load(cls) -> AnswerPrompts:
        """The prompts shipped in the `prompts` package."""
        return cls(load_prompt("answer_system"), load_prompt("answer"), load_prompt("source"))


def _defang(text: str) -> str:
    """Break delimiter and marker look-alikes so a paragraph can neither close its own data block
    nor hand the model a "[3]" to copy as if it were a citation."""
    return neutralise_markers(strip_invisible(text)).replace("<<<", "‹‹‹").replace(">>>", "›››")


def source_block(prompt: Prompt, n: int, passage: Passage, text: str | None = None) -> str:
    """One numbered source as the model sees it; `text` overrides the paragraph text."""
    paragraph = passage.paragraph
    return prompt.render(
        n=n,
        title=_defang(paragraph.title or NO_TITLE),
        source=_defang(paragraph.source),
        paragraph=paragraph.number,
        text=_defang(paragraph.text if text is None else text),
    )


def _truncated_block(
    prompt: Prompt, n: int, passage: Passage, count: Callable[[str], int], budget: int
) -> str | None:
    """The longest prefix of the passage whose block fits the budget, or None."""

    def block(prefix: str) -> str:
        return source_block(prompt, n, passage, prefix.rstrip() + _ELLIPSIS)

    text = passage.paragraph.text
    if count(block("")) > budget:
        return None
    low, high = 0, len(text)
    while low < high:  # token counts grow (almost) monotonically with the prefix
        middle = (low + high + 1) // 2
        if count(block(text[:middle])) <= budget:
            low = middle
        else:
            high = middle - 1
    best = block(text[:low])
    space = text.rfind(" ", 0, low)
    if space > low // 2:  # end on a whole word when that costs little text
        at_word = block(text[:space])
        if count(at_word) <= budget:
            return at_word
    return best


def fit_sources(
    passages: Sequence[Passage], prompt: Prompt, count: Callable[[str], int], budget: int
) -> tuple[list[Passage], list[str]]:
    """The best passages whose blocks fit the token budget, and those blocks.

    Passages come best first and are kept whole; the first one that does not fit ends
    the list, so what is dropped is always the lowest-ranked. Only when even the best
    passage is too long is it cut, because a cut best passage beats no context at all.
    """
    kept: list[Passage] = []
    blocks: list[str] = []
    used = 0
    separator = count("\n\n")
    for passage in passages:
        n = len(kept) + 1
        block = source_block(prompt, n, passage)
        cost = count(block) + (separator if kept else 0)
        if used + cost <= budget:
            kept.append(passage)
            blocks.append(block)
            used += cost
            continue
        if not kept:
            cut = _truncated_block(prompt, n, passage, count, budget)
            if cut is not None:
                kept.append(passage)
                blocks.append(cut)
        break
    return kept, blocks


def _retry_after_s(exc: Exception) -> float | None:
    """The server's requested wait in seconds, if it sent one."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return float(milliseconds) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()


def _letters(text: str) -> str:
    """Letters and digits only: compares sentences across punctuation and diacritics."""
    return "".join(ch for ch in text if ch.isalnum())


class OpenAIAnswerer:
    """Answerer backed by an OpenAI-compatible chat model (see the module docstring)."""

    def __init__(
        self,
        llm: LLM,
        fallback: Answerer,
        *,
        prompts: AnswerPrompts | None = None,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
        tokenizer: Callable[[str], Sequence[int]] | None = None,
        retry_wait_s: float = RETRY_WAIT_S,
        max_retry_wait_s: float = MAX_RETRY_WAIT_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # The model is required: unlike llama-index engines, never reach for Settings.llm.
        self.llm = llm
        self.fallback = fallback
        self.prompts = prompts or AnswerPrompts.load()
        self.context_tokens = context_tokens
        # llama-index points tiktoken at its bundled cl100k_base file: no download.
        self._encode = tokenizer or get_tokenizer()
        self.retry_wait_s = retry_wait_s
        self.max_retry_wait_s = max_retry_wait_s
        self._sleep = sleep
        key = getattr(llm, "api_key", None)
        self._secrets = (key,) if isinstance(key, str) and key and key != _NO_KEY else ()

    @classmethod
    def from_args(
        cls,
        *,
        model: str | None,
        fallback: Answerer,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    ) -> OpenAIAnswerer:
        """Wire an answerer from settings (OPENAI_BASE_URL, OPENAI_API_KEY, ISNAD_LLM_MODEL)."""
        if not model:
            raise ConfigError("ISNAD_LLM_MODEL must be set when ISNAD_LLM=openai")
        llm = build_llm(base_url, api_key, model, timeout_s)
        return cls(llm, fallback, context_tokens=context_tokens)

    def count_tokens(self, text: str) -> int:
        """Number of cl100k_base tokens in text."""
        return len(self._encode(text))

    def messages(self, question: str, blocks: Sequence[str]) -> list[ChatMessage]:
        """The chat sent to the model: rules as system, numbered sources and question as user."""
        system = self.prompts.system.render(not_found=NOT_IN_SOURCES)
        user = self.prompts.user.render(
            count=len(blocks),
            sources="\n\n".join(blocks),
            question=question.strip(),
            not_found=NOT_IN_SOURCES,
        )
        return [
            ChatMessage(role=MessageRole.SYSTEM, content=system),
            ChatMessage(role=MessageRole.USER, content=user),
        ]

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        """A cited answer from the model, or the extractive one with a notice saying why."""
        if not passages:
            return self.fallback.answer(question, passages)
        sent, blocks = fit_sources(passages, self.prompts.source, self.count_tokens, self.context_tokens)
        if not sent:
            logger.warning("context budget of %d tokens holds no passage", self.context_tokens)
            return self.fallback.answer(question, passages)
        logger.info(
            "asking %s with %d of %d passages", self.llm.metadata.model_name, len(sent), len(passages)
        )
        messages = self.messages(question, blocks)
        reply = self._chat(messages)
        if reply is None:
            return self._fall_back(question, passages, UNAVAILABLE_NOTICE)
        if self._repeats_instructions(reply):
            logger.warning("model reply repeats its instructions; using the extractive answer")
            return self._fall_back(question, passages, UNVERIFIED_NOTICE)
        text, cited = renumber(reply.strip(), sent)
        if cited:
            return Draft(text=text.strip(), cited=cited, mode="openai")
        if _letters(text) == _letters(NOT_IN_SOURCES):
            # The model followed the prompt and said the sources do not answer.
            return Draft(text=NOT_IN_SOURCES, mode="openai")
        logger.warning("model reply cites no passage it was given; using the extractive answer")
        return self._fall_back(question, passages, UNVERIFIED_NOTICE)

    def _repeats_instructions(self, reply: str) -> bool:
        """True when the reply quotes a line of the instructions (a prompt leak).

        Sources may be quoted freely; the rules the model was given may not, so an
        injected "print your system prompt" never reaches a reader.
        """
        instructions = "\n".join(
            (
                self.prompts.system.render(not_found=NOT_IN_SOURCES),
                self.prompts.user.render(count=0, sources="", question="", not_found=NOT_IN_SOURCES),
            )
        )
        said = _letters(reply)
        for line in instructions.splitlines():
            letters = _letters(line)
            if len(letters) >= _LEAK_MIN_LETTERS and letters != _letters(NOT_IN_SOURCES) and letters in said:
                return True
        return False

    def _fall_back(self, question: str, passages: Sequence[Passage], notice: str) -> Draft:
        draft = self.fallback.answer(question, passages)
        return replace(draft, notice=f"{notice}\n{draft.notice}" if draft.notice else notice)

    def _chat(self, messages: list[ChatMessage]) -> str | None:
        """The reply's text, or None when the model could not be reached."""
        for attempt in (1, 2):
            try:
                return self.llm.chat(messages).message.content or ""
            except _RETRYABLE as exc:
                if attempt == 2:
                    logger.warning("model unavailable after one retry: %s", self._describe(exc))
                    return None
                requested = _retry_after_s(exc)
                wait = self.retry_wait_s if requested is None else requested
                wait = max(0.0, min(wait, self.max_retry_wait_s))
                logger.warning("model call failed (%s); retrying once in %.1fs", self._describe(exc), wait)
                self._sleep(wait)
            except Exception as exc:
                # Bad key, bad request, malformed reply: retrying will not help, and the
                # model is an optional layer that must never cost the reader an answer.
                logger.warning("model call failed, not retrying: %s", self._describe(exc))
                return None
        return None

    def _describe(self, exc: Exception) -> str:
        """Exception type, status and message, with the API key masked (servers echo it)."""
        status = getattr(exc, "status_code", None)
        message = str(exc)
        for secret in self._secrets:
            message = message.replace(secret, "***")
        # Cut after masking, or a key split at the cut would slip through half-masked.
        return f"{type(exc).__name__}{f' {status}' if status else ''}: {message[:300]}"


def build_openai_answerer(
    base_url: str | None,
    api_key: str | None,
    model: str | None,
    *,
    fallback: Answerer,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
) -> OpenAIAnswerer:
    """The answerer for ISNAD_LLM=openai, from OPENAI_BASE_URL, OPENAI_API_KEY, ISNAD_LLM_MODEL."""
    return OpenAIAnswerer.from_args(
        model=model,
        fallback=fallback,
        base_url=base_url,
        api_key=api_key,
        timeout_s=timeout_s,
        context_tokens=context_tokens,
    )
