"""Embedding on one background thread, so the index job's writes overlap the model.

The job's serial work (Chroma writes, the row table, BM25, the sentence store) used
to wait for the embedder and the embedder for it; on a 2-core laptop ONNX Runtime
leaves part of a core idle, which that work can use. Texts are embedded in the order
they are submitted, one batch at a time, so the vectors are exactly those the
embedder gives when called directly (bench: `python -m bench.embed`, job_overhead).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

EmbedTexts = Callable[[list[str]], Sequence[Sequence[float]]]


class EmbedAhead:
    """Embeds submitted batches on one worker thread, in submission order.

    `prefetch` embeds texts that will probably be asked for later (the sentences of new
    paragraphs); `embed` answers from what was prefetched and embeds the rest itself, so
    a wrong guess costs time, never a wrong vector.
    """

    def __init__(self, embed: EmbedTexts) -> None:
        self._embed = embed
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="isnad-embed")
        self._ahead: dict[str, tuple[Future[Sequence[Sequence[float]]], int]] = {}

    def submit(self, texts: list[str]) -> Future[Sequence[Sequence[float]]]:
        """Embed one batch after everything submitted before it."""
        return self._pool.submit(self._embed, texts)

    def prefetch(self, texts: Sequence[str], batch: int) -> None:
        """Embed texts (shortest first, `batch` per call) for a later `embed`."""
        todo = sorted({t for t in texts if t not in self._ahead}, key=len)
        for start in range(0, len(todo), batch):
            part = todo[start : start + batch]
            future = self.submit(part)
            self._ahead.update((text, (future, i)) for i, text in enumerate(part))

    def embed(self, texts: list[str]) -> list[Sequence[float]]:
        """Vectors of texts: prefetched ones when ready, the rest embedded now."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._ahead))  # each once
        direct = dict(zip(missing, self.submit(missing).result(), strict=True)) if missing else {}
        out: list[Sequence[float]] = []
        for text in texts:
            if text in direct:
                out.append(direct[text])
            else:
                future, i = self._ahead[text]
                out.append(future.result()[i])
        return out

    def close(self) -> None:
        """Stop: batches not started are dropped, a running one is waited for."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._ahead.clear()


__all__ = ["EmbedAhead", "EmbedTexts"]
