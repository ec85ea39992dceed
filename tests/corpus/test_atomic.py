"""Files replaced whole: the new content or the old one, never half, and no leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexing.atomic import replacing, write_atomically


def test_write_atomically_replaces_text_and_bytes(tmp_path: Path) -> None:
    target = tmp_path / "CURRENT"
    write_atomically(target, "bm25-ar-v4-قديم")
    write_atomically(target, "bm25-ar-v4-جديد")
    assert target.read_text(encoding="utf-8") == "bm25-ar-v4-جديد"
    write_atomically(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CURRENT"]


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "rows.npz"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), replacing(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed halfway")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.npz"]


def test_the_temporary_file_is_hidden_beside_the_target(tmp_path: Path) -> None:
    target = tmp_path / "spellings.json"
    with replacing(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".spellings.json.tmp-")
        assert not target.exists()  # nothing is visible until the block ends
        tmp.write_text("[]", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "[]"
