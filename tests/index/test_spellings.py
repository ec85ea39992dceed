"""How the corpus spells each word, kept with the BM25 index and in step with every refresh."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.qa.engine import build
from indexing.pipeline import build_indexer
from indexing.store import lexical, snapshots
from indexing.store.lexical import LexicalIndex, lexical_text
from indexing.store.spellings import FILE, Spellings
from indexing.store.table import ParagraphTable
from tests.index.test_store_rows import seed_paragraphs

EVERYDAY = "بماذا وصفت المتحدثه باسم الخارجيه الامريكيه فكره الممر الانساني؟"


def test_counts_follow_added_and_removed_texts() -> None:
    texts = ["أعلنت الخارجية الأمريكية", "الخارجية أعلنت", "اعلنت الخارجيه"]
    spellings = Spellings.of(texts)
    assert spellings.forms["الخارجيه"] == {"الخارجية": 2, "الخارجيه": 1}
    assert spellings.forms["اعلنت"] == {"أعلنت": 2, "اعلنت": 1}
    assert spellings.commonest("الخارجيه") == "الخارجيه"  # the corpus writes it so too
    assert spellings.commonest("إعلنت") == "أعلنت"
    fewer = spellings.updated(["الخارجية"], ["اعلنت الخارجيه", "أعلنت الخارجية الأمريكية"])
    assert fewer == Spellings.of(["الخارجية أعلنت", "الخارجية"])
    assert fewer.commonest("الخارجيه") == "الخارجية" and fewer.commonest("الامريكيه") == "الامريكيه"
    assert spellings.updated([], texts) == Spellings({})
    # A word the corpus writes only folded is kept as its count alone; it still respells.
    folded_only = Spellings.of(["قال امس", "امس"])
    assert folded_only.forms == {"قال": 1, "امس": 2}
    assert folded_only.commonest("أمس") == "امس" and folded_only.commonest("امس") == "امس"
    assert folded_only.updated(["أمس"], []).forms["امس"] == {"امس": 2, "أمس": 1}
    assert folded_only.updated(["أمس"], []).updated([], ["أمس"]) == folded_only


def test_an_updated_index_counts_as_a_rebuilt_one() -> None:
    paragraphs = seed_paragraphs()
    first, later = paragraphs[:60], paragraphs[60:80]
    removed = first[5:25]
    final = [p for p in first if p not in removed] + later
    rebuilt = LexicalIndex.build(final, "b").spellings
    old = LexicalIndex.build(first, "a")
    ids = [p.paragraph_id for p in removed]
    assert old.updated(later, ids, "b", removed_paragraphs=removed).spellings == rebuilt
    assert rebuilt == Spellings.of(lexical_text(p) for p in final) and len(rebuilt) > 500
    # Without what the removed paragraphs held, the update cannot tell: it has no spellings.
    assert old.updated(later, ids, "b").spellings is None


def test_spellings_round_trip_through_disk(tmp_path: Path) -> None:
    index = LexicalIndex.build(seed_paragraphs()[:40], "fp")
    index.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical")
    assert loaded is not None and loaded.spellings == index.spellings


@pytest.mark.slow
def test_a_refresh_keeps_the_spellings_in_step_without_counting_again(
    isolated_env: Path, write_corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = "الخبر\n\nأعلنت الخارجية الأمريكية أمس.\n\nوقالت المتحدثة إن الاجتماع انتهى."
    corpus = write_corpus({"a.txt": before})
    indexer = build_indexer(isolated_env, progress=False)
    indexer.run(corpus)

    def counted(table: ParagraphTable) -> Spellings:
        raise AssertionError("spellings counted from scratch")

    monkeypatch.setattr(lexical, "counted_spellings", counted)
    (corpus / "a.txt").write_text("الخبر\n\nاعلنت الخارجيه الامريكيه امس.", encoding="utf-8")
    report = indexer.run(corpus)
    assert (report.added, report.removed) == (1, 2)
    rows = ParagraphTable.load(isolated_env / "table")
    index = LexicalIndex.load(isolated_env / "lexical")
    assert rows is not None and index is not None and index.fingerprint == rows.fingerprint
    assert index.spellings == Spellings.of(lexical_text(p) for p in rows.paragraphs())
    assert index.spellings.commonest("الخارجية") == "الخارجيه"  # the old spelling is gone


def test_an_index_saved_before_the_spellings_counts_them_once(seeds_data: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeds_data, data)
    folder = snapshots.current(data / "lexical")
    assert folder is not None
    expected = Spellings.load(folder)
    (folder / FILE).unlink()
    engine = build(data)
    assert Spellings.load(folder) == expected  # counted from the table and saved where it belongs
    assert engine.retriever.lexical.spellings == expected
    answer = engine.ask(EVERYDAY)
    assert answer.answered
    assert build(data).retriever.lexical.spellings == expected
