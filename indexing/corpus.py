"""Find and read the corpus files by extension; a bad file (or record) is reported, never fatal.

Every format goes through `read_bytes`, the one place a corpus file is opened and read,
so checks on files apply to text, pages, exports and feeds alike.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from pathlib import Path

from indexing.arabic import has_arabic
from indexing.articles import SkippedFile, SourceText
from indexing.errors import CorpusError
from indexing.safe_open import Refused, read_capped

TEXT_SUFFIXES = (".txt", ".md")
PAGE_SUFFIXES = (".html", ".htm")
EXPORT_SUFFIXES = (".jsonl", ".json", ".csv")
FEED_SUFFIXES = (".xml", ".rss", ".atom")
SUFFIXES = TEXT_SUFFIXES + PAGE_SUFFIXES + EXPORT_SUFFIXES + FEED_SUFFIXES
_SNIFF_BYTES = 8192


__all__ = ["SUFFIXES", "SkippedFile", "SourceText", "corpus_files", "decode", "read_corpus", "read_source"]


def corpus_files(root: Path) -> list[Path]:
    """Every corpus file (see SUFFIXES) under root, recursively, in a stable order.

    Anything with a corpus name that is not a folder is listed, links and special files
    included, so that `read_bytes` names each one it refuses instead of passing it by.
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


def read_bytes(path: Path, root: Path, allowed: Sequence[Path] = ()) -> bytes | SkippedFile:
    """The bytes of one corpus file; any problem becomes a SkippedFile naming it.

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
    return raw


def read_source(path: Path, root: Path, allowed: Sequence[Path] = ()) -> SourceText | SkippedFile:
    """Read one plain text file; any problem becomes a SkippedFile naming it."""
    source = path.relative_to(root).as_posix()
    raw = read_bytes(path, root, allowed)
    if isinstance(raw, SkippedFile):
        return raw
    return decode_text(source, raw)


def decode_text(source: str, raw: bytes) -> SourceText | SkippedFile:
    """Decoded text of a file's bytes, refusing binary and undecodable data."""
    if _looks_binary(raw[:_SNIFF_BYTES]) and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return SkippedFile(source, "binary file, not text")
    decoded = decode(raw)
    if decoded is None:
        return SkippedFile(source, "not valid UTF-8 or Windows-1256 text")
    text, encoding = decoded
    if not text.strip():
        return SkippedFile(source, "empty file")
    return SourceText(source, text, encoding)


def read_file(path: Path, root: Path, allowed: Sequence[Path] = ()) -> Iterator[SourceText | SkippedFile]:
    """The articles of one corpus file, read by its extension (several for exports and feeds)."""
    source = path.relative_to(root).as_posix()
    suffix = path.suffix.lower()
    raw = read_bytes(path, root, allowed)
    if isinstance(raw, SkippedFile):
        yield raw
        return
    if suffix not in TEXT_SUFFIXES + EXPORT_SUFFIXES and _looks_binary(raw[:_SNIFF_BYTES]):
        yield SkippedFile(source, "binary file, not text")
        return
    if suffix in PAGE_SUFFIXES:
        from indexing.pages import read_page

        yield read_page(source, raw)
    elif suffix in FEED_SUFFIXES:
        from indexing.feeds import read_feed_file

        yield from read_feed_file(source, raw)
    else:
        decoded = decode_text(source, raw)
        if isinstance(decoded, SkippedFile) or suffix in TEXT_SUFFIXES:
            yield decoded
            return
        from indexing import exports

        reader = {".jsonl": exports.read_jsonl, ".json": exports.read_json, ".csv": exports.read_csv}[suffix]
        yield from reader(source, decoded.text)


def read_corpus(root: Path, allowed: Sequence[Path] = ()) -> Iterator[SourceText | SkippedFile]:
    """Read every corpus file under root, in a stable order."""
    for path in corpus_files(root):
        yield from read_file(path, root, allowed)
