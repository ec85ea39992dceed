"""Faults: indexing killed at random points, damaged data dirs, stale caches."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexing.store.chroma import ParagraphStore, chroma_client
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow  # every test here indexes with the real embedder

# How many index runs are cut short (ISNAD_FAULT_KILLS; 10 by default, in CI too).
KILLS = int(os.environ.get("ISNAD_FAULT_KILLS", "10"))
QUESTIONS = {
    "كم شاحنة قال إيجلاند إنها جاهزة للذهاب إلى دوما؟": "43 شاحنة",
    "متى أعلنت المعارضة السورية أنها حررت دمشق؟": "8 ديسمبر",
}


def run_isnad(*args: str, data: Path, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ISNAD_DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "isnad", *args], capture_output=True, text=True, env=env, timeout=600, **kwargs
    )


def summary(data: Path, corpus: Path) -> dict:
    result = run_isnad("index", "--corpus", str(corpus), "--json", data=data)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def stored_state(data: Path) -> tuple[int, int, list[str]]:
    store = ParagraphStore(chroma_client(data))
    meta = store.metadata()
    texts = [p.text for p in store.paragraphs()]
    return len(meta), len(texts), sorted(texts)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for name in ("000_b4ebc4adb0f988c0.txt", "004_0070464269777607.txt"):
        shutil.copy(SEEDS / name, root / name)
    return root


@pytest.fixture(scope="module")
def clean_build(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> tuple[Path, dict, float]:
    data = tmp_path_factory.mktemp("clean")
    started = time.monotonic()
    report = summary(data, corpus)
    return data, report, time.monotonic() - started


@pytest.mark.slow
def test_indexing_killed_at_random_points_then_rerun_matches_a_clean_build(
    tmp_path: Path, corpus: Path, clean_build: tuple[Path, dict, float]
) -> None:
    clean_data, clean, clean_seconds = clean_build
    # Alternating between the full corpus and one file short gives every run real work:
    # embedding and Chroma writes one way, deletes and the BM25 rebuild the other.
    smaller = tmp_path / "smaller"
    smaller.mkdir()
    shutil.copy(corpus / "000_b4ebc4adb0f988c0.txt", smaller)
    rng = random.Random(2401)
    data = tmp_path / "killed"
    env = {**os.environ, "ISNAD_DATA_DIR": str(data)}
    # A run's length follows the machine's load, so the kill points are drawn against the
    # clean build's time and that span shrinks whenever a run ends before its kill: the test
    # cuts KILLS runs short however fast or slow the machine is at the moment.
    killed, runs, span = 0, 0, clean_seconds
    while killed < KILLS and runs < 4 * KILLS:
        proc = subprocess.Popen(
            [sys.executable, "-m", "isnad", "index", "--corpus", str(corpus if runs % 2 else smaller)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        runs += 1
        time.sleep(rng.uniform(0.1, 0.8) * span)  # a random point of a run's life
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        else:
            span *= 0.7
        proc.wait()
    assert killed >= KILLS // 2, f"only {killed} of {runs} runs were cut short"

    final = summary(data, corpus)
    for key in ("files", "paragraphs", "chunks"):
        assert final[key] == clean[key]
    chunks, paragraphs, texts = stored_state(data)
    assert (chunks, paragraphs) == (clean["chunks"], clean["paragraphs"])
    assert len(texts) == len(set(texts))  # no paragraph stored twice
    assert texts == stored_state(clean_data)[2]
    again = summary(data, corpus)
    assert (again["added"], again["removed"], again["embedded"]) == (0, 0, 0)
    for question, needle in QUESTIONS.items():
        out = json.loads(run_isnad("ask", "--json", question, data=data).stdout)
        assert needle in out["answer"]


def test_truncated_store_gives_a_one_line_rebuild_message(tmp_path: Path, clean_build) -> None:
    data = tmp_path / "data"
    shutil.copytree(clean_build[0], data)
    db = data / "chroma" / "chroma.sqlite3"
    with db.open("r+b") as f:
        f.truncate(4096)
    for args in (("ask", "ما هو القرار 2401؟"), ("index",)):
        result = run_isnad(*args, data=data)
        assert result.returncode != 0
        assert result.stderr.count("\n") == 1, result.stderr
        assert "damaged" in result.stderr and "isnad index" in result.stderr
        assert "Traceback" not in result.stderr


def test_deleted_vector_segment_still_answers(tmp_path: Path, clean_build) -> None:
    data = tmp_path / "data"
    shutil.copytree(clean_build[0], data)
    for segment in (data / "chroma").iterdir():
        if segment.is_dir():
            shutil.rmtree(segment)
    result = run_isnad("ask", "--json", "كم شاحنة قال إيجلاند إنها جاهزة للذهاب إلى دوما؟", data=data)
    if result.returncode == 0:
        assert "43 شاحنة" in json.loads(result.stdout)["answer"]
    else:  # if Chroma cannot rebuild the segment, the operator is told what to do
        assert "isnad index" in result.stderr and "Traceback" not in result.stderr


def test_corrupt_lexical_cache_is_rebuilt(tmp_path: Path, clean_build) -> None:
    data = tmp_path / "data"
    shutil.copytree(clean_build[0], data)
    current = (data / "lexical" / "CURRENT").read_text().strip()
    for f in (data / "lexical" / current).glob("*.npy"):
        f.write_bytes(b"garbage")
    result = run_isnad("ask", "--json", "كم شاحنة قال إيجلاند إنها جاهزة للذهاب إلى دوما؟", data=data)
    assert result.returncode == 0, result.stderr
    assert "43 شاحنة" in json.loads(result.stdout)["answer"]
