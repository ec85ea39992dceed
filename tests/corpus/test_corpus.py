"""Reading the corpus: encodings and bad files never stop the job."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexing.corpus import SkippedFile, SourceText, read_corpus, read_source
from indexing.errors import CorpusError

ARTICLE = "عنوان الخبر\n\nوقال المتحدث باسم الوزارة إن الاجتماع انتهى دون اتفاق.\n"


def test_reads_corpus_files_recursively_and_ignores_other_files(write_corpus) -> None:
    root = write_corpus(
        {"a.txt": ARTICLE, "sub/b.md": ARTICLE, "c.pdf": "%PDF-1.4", ".hidden/d.txt": ARTICLE}
    )
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


# -- hostile corpora (issue 16): links out, special files, forged names


def _read_with_deadline(root: Path, seconds: float = 20.0) -> dict[str, SourceText | SkippedFile]:
    """read_corpus in a daemon thread, so a reader that hangs fails the test instead of the suite."""
    import threading

    out: dict[str, SourceText | SkippedFile] = {}
    errors: list[BaseException] = []

    def work() -> None:
        try:
            out.update({item.source: item for item in read_corpus(root)})
        except BaseException as exc:  # MemoryError from /dev/zero included
            errors.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "reading the corpus hung"
    assert not errors, errors
    return out


def test_symlinks_out_of_the_corpus_are_not_read(write_corpus, tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir()
    (private / "secret.txt").write_text("سر لا يخص أحدا: كلمة المرور 1234.\n", encoding="utf-8")
    root = write_corpus({"good.txt": ARTICLE, "sub/inner.txt": ARTICLE})
    (root / "s.txt").symlink_to(private / "secret.txt")
    (root / "passwd.txt").symlink_to("/etc/passwd")
    (root / "up.txt").symlink_to("../private/secret.txt")
    (root / "inside.txt").symlink_to("sub/inner.txt")  # a link that stays inside is fine
    items = _read_with_deadline(root)
    for name in ("s.txt", "passwd.txt", "up.txt"):
        assert isinstance(items[name], SkippedFile) and "outside the corpus" in items[name].reason, name
    assert isinstance(items["inside.txt"], SourceText)
    assert not any("1234" in item.text for item in items.values() if isinstance(item, SourceText))


def test_an_allowed_folder_may_be_linked_to(write_corpus, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "article.txt").write_text(ARTICLE, encoding="utf-8")
    root = write_corpus({"good.txt": ARTICLE})
    (root / "linked.txt").symlink_to(shared / "article.txt")
    [item] = [i for i in read_corpus(root, allowed=[shared]) if i.source == "linked.txt"]
    assert isinstance(item, SourceText) and item.text == ARTICLE


def test_devices_and_fifos_are_refused_without_hanging(write_corpus, tmp_path: Path) -> None:
    import os

    root = write_corpus({"good.txt": ARTICLE})
    (root / "zero.txt").symlink_to("/dev/zero")
    os.mkfifo(root / "pipe.txt")  # a FIFO in the corpus itself
    outside = tmp_path / "outside.fifo"
    os.mkfifo(outside)
    (root / "to-pipe.md").symlink_to(outside)
    items = _read_with_deadline(root)
    assert set(items) == {"good.txt", "zero.txt", "pipe.txt", "to-pipe.md"}
    assert isinstance(items["good.txt"], SourceText)
    for name in ("zero.txt", "pipe.txt", "to-pipe.md"):
        assert isinstance(items[name], SkippedFile), name
    assert "FIFO" in items["pipe.txt"].reason


def test_reads_are_capped_by_bytes_read_not_by_reported_size(tmp_path: Path) -> None:
    from indexing.safe_open import Refused, read_capped

    (tmp_path / "a.txt").write_bytes(b"x" * 5000)
    assert read_capped(tmp_path / "a.txt", tmp_path, limit=5000) == b"x" * 5000
    with pytest.raises(Refused, match="too large"):
        read_capped(tmp_path / "a.txt", tmp_path, limit=4999)
    # A device reports size 0: only counting what is read stops it (allowed explicitly here).
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    with pytest.raises(Refused, match="device"):
        read_capped(tmp_path / "zero.txt", tmp_path, allowed=[Path("/dev")])


def test_control_characters_in_file_names_cannot_forge_warning_lines(write_corpus) -> None:
    from indexing.pipeline import build_indexer

    forged = "x.txt\nwarning: skipped real.txt: binary file, not text\n\u202eevil.txt"
    root = write_corpus({"real.txt": ARTICLE, forged: b""})
    lines: list[str] = []
    indexer = build_indexer(root.parent / "data", progress=False)
    indexer.warn = lines.append
    report = indexer.run(root)
    assert report.files == 1  # real.txt was indexed
    assert len(lines) == 1 and "\n" not in lines[0] and "\u202e" not in lines[0]
    assert lines[0].startswith("warning: skipped x.txt\\nwarning: skipped real.txt") and "\\u202e" in lines[0]
    assert [s["file"] for s in report.skipped] == [forged]  # the JSON report keeps the real name


def test_isnad_corpus_allow_lets_the_index_job_follow_links_there(
    write_corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from isnad.jobs import run_index
    from isnad.settings import Settings

    shared, private = tmp_path / "shared", tmp_path / "private"
    for folder in (shared, private):
        folder.mkdir()
        (folder / "article.txt").write_text(ARTICLE, encoding="utf-8")
    root = write_corpus({})
    (root / "shared.txt").symlink_to(shared / "article.txt")
    (root / "private.txt").symlink_to(private / "article.txt")
    monkeypatch.setenv("ISNAD_CORPUS_DIR", str(root))
    monkeypatch.setenv("ISNAD_CORPUS_ALLOW", f"{tmp_path / 'elsewhere'}, {shared}")
    settings = Settings.from_env(dotenv=None)
    assert settings.corpus_allow == (tmp_path / "elsewhere", shared)
    report = run_index(settings, progress=False)
    assert report.files == 1
    assert [s["file"] for s in report.skipped] == ["private.txt"]
