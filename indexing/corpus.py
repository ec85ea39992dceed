"""Find and decode the corpus files; a bad file is reported, never fatal."""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from indexing.arabic import has_arabic
from indexing.errors import CorpusError
from indexing.safe_open import Refused, read_capped

SUFFIXES = (".txt", ".md")
_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class SourceText:
    """One decoded corpus file; `source` is its path relative to the corpus root."""

    source: str
    text: str
    encoding: str


@dataclass(frozen=True)
class SkippedFile:
    """A corpus file that could not be read, with the reason in one line."""

    source: str
    reason: str


def corpus_files(root: Path) -> list[Path]:
    """Every *.txt / *.md under root, recursively, in a stable order.

    Anything with a corpus name that is not a folder is listed, links and special files
    included, so that `read_source` names each one it refuses instead of passing it by.
    """
    if not root.is_dir():
        raise CorpusError(f"corpus folder not found: {root}")
    files = [
        p
        for p in root.rglob("*")
        if p.suffix.lower() in SUFFIXES
        and (p.is_symlink() or not p.is_dir())
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return control > max(8, len(head) // 100)


def decode(raw: bytes) -> tuple[str, str] | None:
    """Decode bytes as UTF-8 (BOM allowed), UTF-16 with BOM, or Windows-1256.

    Windows-1256 maps nearly every byte, so it is accepted only when the result
    actually reads as Arabic text.
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            return None
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1256")
    except UnicodeDecodeError:
        return None
    letters = [ch for ch in text if ch.isalpha()]
    arabic = sum(1 for ch in letters if has_arabic(ch))
    if letters and arabic / len(letters) >= 0.5:
        return text, "windows-1256"
    return None


def read_source(path: Path, root: Path, allowed: Sequence[Path] = ()) -> SourceText | SkippedFile:
    """Read one file; any problem becomes a SkippedFile naming it.

    Only regular files whose real path is inside root (or under an `allowed` folder) are
    read, and at most MAX_FILE_BYTES of them (`indexing.safe_open`).
    """
    source = path.relative_to(root).as_posix()
    try:
        raw = read_capped(path, root, allowed)
    except Refused as refused:
        return SkippedFile(source, str(refused))
    if not raw.strip():
        return SkippedFile(source, "empty file")
    if _looks_binary(raw[:_SNIFF_BYTES]) and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return SkippedFile(source, "binary file, not text")
    decoded = decode(raw)
    if decoded is None:
        return SkippedFile(source, "not valid UTF-8 or Windows-1256 text")
    text, encoding = decoded
    if not text.strip():
        return SkippedFile(source, "empty file")
    return SourceText(source, text, encoding)


def read_corpus(root: Path, allowed: Sequence[Path] = ()) -> Iterator[SourceText | SkippedFile]:
    """Decode every corpus file under root, in a stable order."""
    for path in corpus_files(root):
        yield read_source(path, root, allowed)
