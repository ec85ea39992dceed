"""`isnad index --ray local`: the same index as the plain job, embedded by Ray Data actors."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from ray import cloudpickle

from indexing.embedder_mark import ONNX_NAME
from indexing.embedding import OnnxE5Embedding
from indexing.errors import EmbeddingError
from indexing.pipeline import build_indexer
from indexing.ray_backfill import MAX_RESTARTS, RayEmbedStep, connect, disconnect
from indexing.store.chroma import ParagraphStore, chroma_client
from isnad.cli import main
from tests.conftest import SEEDS
from tests.index.test_scale_out import chroma_server  # noqa: F401  # the real server fixture

pytestmark = pytest.mark.slow

# Workers unpickle the crashing factory below by value: they cannot import tests/.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

QUESTIONS = (
    "بماذا وصفت المتحدثة باسم الخارجية الأميركية فكرة الممر الإنساني؟",
    "ماذا قدمت كوريا الشمالية لنظام الأسد؟",
    "أين تدور المعارك التي تشارك فيها القوات الحكومية السورية؟",
)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    # Modest on a shared 2-core machine: two CPUs, a small object store.
    started = connect("local", num_cpus=2, object_store_mb=100)
    yield
    disconnect(started)


@pytest.fixture(scope="module")
def plain_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("plain-onnx")
    build_indexer(data, progress=False, embedder_factory=OnnxE5Embedding, embedder_name=ONNX_NAME).run(SEEDS)
    return data


def vectors(data: Path) -> dict[str, np.ndarray]:
    store = ParagraphStore(chroma_client(data))
    return {k: np.asarray(v) for k, v in store.embeddings(store.ids()).items()}


def answers(data: Path) -> list[dict]:
    from bot.qa.engine import build

    engine = build(data, embedder=OnnxE5Embedding(threads=1))
    out = []
    for q in QUESTIONS:
        answer = engine.ask(q).as_dict("q")
        answer.pop("timings_ms")
        out.append(answer)
    return out


class CrashOnce:
    """An embedder factory whose worker process dies on its second batch, once per marker."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __call__(self) -> OnnxE5Embedding:
        marker = self.marker

        class Dying(OnnxE5Embedding):
            calls: int = 0

            def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
                self.calls += 1
                if self.calls == 2 and not marker.exists():
                    marker.write_text(str(os.getpid()))
                    os._exit(1)  # the worker process dies mid-run, as under the OOM killer
                return super()._get_text_embeddings(texts)

        return Dying(threads=1)


class CrashAlways:
    """An embedder factory whose worker process dies on every batch, noting each death."""

    def __init__(self, deaths: Path) -> None:
        self.deaths = deaths

    def __call__(self) -> OnnxE5Embedding:
        deaths = self.deaths

        class Doomed(OnnxE5Embedding):
            def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
                with deaths.open("a") as f:
                    f.write(f"{os.getpid()}\n")
                os._exit(1)  # out of memory on every batch, say

        return Doomed(threads=1)


def test_cli_ray_local_gives_the_plain_jobs_index_and_answers(
    local_ray: None,
    plain_onnx: Path,
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    monkeypatch.setenv("ISNAD_EMBED", "onnx")
    assert main(["index", "--ray", "local", "--corpus", str(SEEDS), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["paragraphs"], report["chunks"], report["embedded"]) == (174, 179, 179)
    ours, plain = vectors(isolated_env), vectors(plain_onnx)
    assert ours.keys() == plain.keys()
    # Activations are quantised per token, so batch mates on another worker change nothing.
    assert max(float(np.abs(ours[k] - plain[k]).max()) for k in ours) < 1e-5
    assert answers(isolated_env) == answers(plain_onnx)

    assert main(["index", "--ray", "local", "--corpus", str(SEEDS), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["embedded"], again["added"], again["removed"], again["chunks"]) == (0, 0, 0, 179)


def test_worker_killed_mid_run_is_retried_without_duplicates(
    local_ray: None, plain_onnx: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "worker-died"
    data = tmp_path / "data"
    step = lambda store: RayEmbedStep(store, CrashOnce(marker), server=None, workers=1)  # noqa: E731
    report = build_indexer(
        data, progress=False, embedder_factory=OnnxE5Embedding, embedder_name=ONNX_NAME, embed_step=step
    ).run(SEEDS)
    assert marker.exists()  # a worker really died
    assert report.embedded == 179
    store = ParagraphStore(chroma_client(data))
    ids = store.ids()
    assert len(ids) == len(set(ids)) == store.count() == 179
    assert set(ids) == set(vectors(plain_onnx))


def test_an_unreachable_cluster_address_is_one_line_not_a_hang(
    isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    assert main(["index", "--ray", address, "--corpus", str(SEEDS)]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"cannot reach the Ray cluster at {address}" in err


def test_a_worker_that_keeps_dying_stops_the_job_after_bounded_restarts(
    local_ray: None, tmp_path: Path
) -> None:
    deaths = tmp_path / "deaths"
    step = lambda store: RayEmbedStep(store, CrashAlways(deaths), server=None, workers=1)  # noqa: E731
    indexer = build_indexer(
        tmp_path / "data",
        progress=False,
        embedder_factory=OnnxE5Embedding,
        embedder_name=ONNX_NAME,
        embed_step=step,
    )
    with pytest.raises(EmbeddingError, match="kept failing") as failed:
        indexer.run(SEEDS)
    assert "\n" not in str(failed.value)
    died = deaths.read_text().split()
    assert 1 < len(died) <= MAX_RESTARTS + 1 and len(set(died)) == len(died)  # restarted, then given up


def test_workers_write_to_a_chroma_server(
    local_ray: None,
    plain_onnx: Path,
    chroma_server: tuple[str, int],  # noqa: F811
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    import chromadb

    host, port = chroma_server
    monkeypatch.setenv("ISNAD_EMBED", "onnx")
    monkeypatch.setenv("CHROMA_HOST", host)
    monkeypatch.setenv("CHROMA_PORT", str(port))
    assert main(["index", "--ray", "local", "--corpus", str(SEEDS), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["chunks"], report["embedded"]) == (179, 179)
    assert not (isolated_env / "chroma").exists()  # the workers wrote to the server
    served = ParagraphStore(chromadb.HttpClient(host=host, port=port))
    assert sorted(served.ids()) == sorted(vectors(plain_onnx))
