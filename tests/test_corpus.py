"""Reading the corpus: encodings and bad files never stop the job."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexing.corpus import SkippedFile, SourceText, read_corpus, read_source
from indexing.errors import CorpusError

ARTICLE = "عنوان الخبر\n\nوقال المتحدث باسم الوزارة إن الاجتماع انتهى دون اتفاق.\n"


def test_reads_txt_and_md_recursively_and_ignores_other_files(write_corpus) -> None:
    root = write_corpus({"a.txt": ARTICLE, "sub/b.md": ARTICLE, "c.json": "{}", ".hidden/d.txt": ARTICLE})
    assert [item.source for item in read_corpus(root)] == ["a.txt", "sub/b.md"]


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (ARTICLE.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + ARTICLE.encode("utf-8"), "utf-8"),
        (ARTICLE.encode("cp1256"), "windows-1256"),
        (ARTICLE.encode("utf-16"), "utf-16"),
    ],
)
def test_decodes_common_arabic_encodings(write_corpus, content: bytes, encoding: str) -> None:
    (item,) = read_corpus(write_corpus({"a.txt": content}))
    assert isinstance(item, SourceText)
    assert item.encoding == encoding
    assert item.text.lstrip("\ufeff") == ARTICLE


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"  \n\n \n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        ("Ünïcödé café naïve façade".encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_bad_files_are_named_and_skipped(write_corpus, content: bytes, reason: str) -> None:
    items = list(read_corpus(write_corpus({"bad.txt": content, "good.txt": ARTICLE})))
    bad, good = items
    assert isinstance(bad, SkippedFile) and bad.source == "bad.txt" and reason in bad.reason
    assert isinstance(good, SourceText)


def test_unreadable_file_is_skipped(tmp_path: Path) -> None:
    # A path that cannot be read as a file (here a folder) stands in for a permission error,
    # which root, who runs CI, would not get.
    (tmp_path / "folder.txt").mkdir()
    item = read_source(tmp_path / "folder.txt", tmp_path)
    assert isinstance(item, SkippedFile) and item.reason.startswith("unreadable")


def test_missing_corpus_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not found"):
        list(read_corpus(tmp_path / "nope"))


def test_symlink_loops_and_broken_links_are_named(write_corpus) -> None:
    root = write_corpus({"good.txt": ARTICLE})
    (root / "loop.txt").symlink_to("loop.txt")
    (root / "gone.md").symlink_to("nowhere.md")
    (root / "again").symlink_to(".")  # a folder loop is not followed
    items = {item.source: item for item in read_corpus(root)}
    assert set(items) == {"good.txt", "gone.md", "loop.txt"}
    assert isinstance(items["loop.txt"], SkippedFile) and "symlink" in items["loop.txt"].reason
    assert isinstance(items["gone.md"], SkippedFile)


def test_oversized_file_is_reported_not_read(write_corpus) -> None:
    big = ("وقال المتحدث إن الاجتماع انتهى دون اتفاق. " * 2000 + "\n").encode("utf-8")
    root = write_corpus({"good.txt": ARTICLE})
    with (root / "dump.txt").open("wb") as f:
        while f.tell() < 50 * 2**20:
            f.write(big)
    items = {item.source: item for item in read_corpus(root)}
    assert isinstance(items["dump.txt"], SkippedFile) and "too large (50 MB" in items["dump.txt"].reason
    assert isinstance(items["good.txt"], SourceText)


def test_file_vanishing_mid_run_is_named(write_corpus) -> None:
    root = write_corpus({"a.txt": ARTICLE, "b.txt": ARTICLE})
    items = read_corpus(root)
    first = next(items)
    (root / "b.txt").unlink()
    second = next(items)
    assert isinstance(first, SourceText)
    assert isinstance(second, SkippedFile) and second.source == "b.txt" and "unreadable" in second.reason
