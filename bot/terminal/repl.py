"""A local question loop for trying answers: readline history and slash commands."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from bot.qa.conversation import Turn
from bot.qa.engine import Answer, Engine
from bot.terminal.render import render_answer, render_debug, render_sources
from indexing.errors import IsnadError
from indexing.private import private_file
from indexing.untrusted import is_utf8, printable

HELP = (
    "اكتب سؤالك بالعربية. الأوامر: /sources المصادر كاملة، /reset محادثة جديدة، "
    "/debug تفاصيل الاسترجاع، /quit للخروج."
)
NOT_UTF8 = "تعذّرت قراءة هذا السطر: ليس نصًّا بترميز UTF-8. أعد كتابة سؤالك."
CANCELLED = "أُلغي السؤال."
UNAVAILABLE = "تعذّرت الإجابة عن هذا السؤال الآن: {reason}. حاول مرة أخرى بعد قليل."
HOW_TO_LEAVE = "للخروج اكتب /quit أو اضغط Ctrl-D."
# Typed to leave (as in a shell), they are not searched: psql answers them the same way.
_LEAVE_WORDS = frozenset({"exit", "quit", "خروج"})
CONVERSATION = "repl"


@contextlib.contextmanager
def _uninterrupted() -> Iterator[None]:
    """Ctrl-C cannot cut the block short; pressed again meanwhile, it asks for what the block
    is already doing, so it is dropped."""
    if not hasattr(signal, "pthread_sigmask"):  # not on Windows
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if signal.SIGINT in signal.sigpending():
            signal.sigwait({signal.SIGINT})
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


class Repl:
    """Reads questions from a terminal or a pipe and prints cited answers."""

    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self.engine = engine
        self.history_file = data_dir / "repl_history"
        self.last: Answer | None = None
        self.interactive = sys.stdin.isatty()

    def _setup_readline(self) -> None:
        try:
            import readline
        except ImportError:  # not on every platform; the loop works without it
            return
        with contextlib.suppress(OSError):
            readline.read_history_file(self.history_file)
        readline.set_history_length(1000)
        import atexit

        atexit.register(self._save_history, readline)

    def _save_history(self, readline: object) -> None:
        with contextlib.suppress(OSError):
            private_file(self.history_file)  # every question typed: 0600 before anything is written
            readline.write_history_file(self.history_file)  # type: ignore[attr-defined]

    def handle(self, line: str) -> str | None:
        """Output for one input line; None means quit."""
        text = line.strip()
        if not text:
            return ""
        if not is_utf8(text):
            return NOT_UTF8
        command = text.lower()
        if command in ("/quit", "/exit", "/q"):
            return None
        if command in _LEAVE_WORDS:
            return HOW_TO_LEAVE
        if command == "/help":
            return HELP
        if command == "/sources":
            return render_sources(self.last)
        if command == "/reset":
            self.engine.reset(CONVERSATION)
            self.last = None
            return "بدأنا محادثة جديدة."
        if command == "/debug":
            return render_debug(self.last.retrieved if self.last else [])
        if text.startswith("/"):
            return f"أمر غير معروف: {printable(text)}\n{HELP}"
        self.last = self.engine.ask(text, CONVERSATION)
        return render_answer(self.last)

    def _state(self) -> tuple[Answer | None, list[Turn]]:
        return self.last, self.engine.memory.history(CONVERSATION)

    def _restore(self, state: tuple[Answer | None, list[Turn]]) -> None:
        """Put back the last answer and the conversation's turns as they were."""
        self.last, turns = state
        with _uninterrupted():
            self.engine.memory.reset(CONVERSATION)
            for turn in turns:
                self.engine.memory.add(CONVERSATION, turn)

    def _abandon(self, state: tuple[Answer | None, list[Turn]]) -> None:
        """Undo a line cut short by Ctrl-C and say so. Putting the turns back is held off from
        Ctrl-C, but one already on its way (the key pressed twice) can still land as it
        starts: the restore is idempotent, so it is simply done again."""
        while True:
            try:
                self._restore(state)
                print(f"\n{CANCELLED}", flush=True)
                return
            except KeyboardInterrupt:
                continue

    def run(self) -> None:
        """Loop until /quit or end of input.

        At a terminal, Ctrl-C while a question is answered abandons it, as Python's own REPL
        does: the conversation is put back as it was before that line (even when the engine had
        already stored the turn), and the prompt comes back. Without a terminal (questions piped
        in) nobody is at a prompt to go on from, so Ctrl-C stops the loop as it stops
        `ask --batch`. So does a service that fails (the embeddings endpoint, Chroma's server),
        which at a terminal is said in the question's place before the prompt comes back.
        """
        # Bytes that are not UTF-8 arrive as lone surrogates (answered with NOT_UTF8) instead
        # of a UnicodeDecodeError ending the loop.
        with contextlib.suppress(AttributeError, ValueError):  # a replaced or closed stdin
            sys.stdin.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
        if self.interactive:
            self._setup_readline()
            print(HELP)
        while True:
            try:
                line = input("؟ " if self.interactive else "")
            except EOFError:
                if self.interactive:
                    print()  # Ctrl-D leaves the cursor after the prompt; the shell's starts below
                break
            except KeyboardInterrupt:
                if not self.interactive:
                    raise
                print()
                continue
            state = self._state()
            try:
                out = self.handle(line)
                if out is None:
                    break
                if out:
                    print(out, flush=True)  # an answer cut short on screen is abandoned too
            except KeyboardInterrupt:
                if not self.interactive:
                    raise
                self._abandon(state)
            except IsnadError as exc:  # a service gone (the embeddings endpoint, Chroma's server)
                if not self.interactive:
                    raise  # piped: one error line and status 2, as ask --batch
                self._restore(state)
                print(UNAVAILABLE.format(reason=printable(str(exc))), flush=True)
