"""renumber(): markers checked, renumbered by first use, and the text otherwise untouched."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest

from bot.qa.citations import renumber

P = ["p1", "p2", "p3", "p4", "p5"]
MARKER = re.compile(r"\[(\d+)\]")


def check_invariants(text: str, cited: list[str]) -> None:
    """Every marker is [n] with 1 <= n <= k, first uses run 1..k in order."""
    numbers = [int(n) for n in MARKER.findall(text)]
    first_uses = list(dict.fromkeys(numbers))
    assert first_uses == list(range(1, len(cited) + 1))
    assert len(set(cited)) == len(cited)
    assert not re.search(r"\[[^\]]*[٠-٩۰-۹,،\-][^\]]*\]", text)  # only plain ASCII markers left


@pytest.mark.parametrize(
    ("text", "expected", "cited"),
    [
        (
            "بدأت القمة في الرياض [1] وانتهت أمس [2].",
            "بدأت القمة في الرياض [1] وانتهت أمس [2].",
            ["p1", "p2"],
        ),
        ("قال [3] ثم أضاف [1].", "قال [1] ثم أضاف [2].", ["p3", "p1"]),
        ("خبر [2] وخبر آخر [2] وثالث [5].", "خبر [1] وخبر آخر [1] وثالث [2].", ["p2", "p5"]),
        ("نص بلا أي إسناد.", "نص بلا أي إسناد.", []),
        ("", "", []),
    ],
)
def test_renumbers_in_order_of_first_use(text: str, expected: str, cited: list[str]) -> None:
    out, got = renumber(text, P)
    assert (out, got) == (expected, cited)
    check_invariants(out, got)


@pytest.mark.parametrize(
    ("text", "expected", "cited"),
    [
        ("قال الوزير [7].", "قال الوزير.", []),
        ("قال الوزير [7] وأضاف [1].", "قال الوزير وأضاف [1].", ["p1"]),
        ("رقم صفري [0] هنا [2].", "رقم صفري هنا [1].", ["p2"]),
        ("[9] في أول النص [1]", "في أول النص [1]", ["p1"]),
        ("سطر أول [1]\n[8] سطر ثان", "سطر أول [1]\nسطر ثان", ["p1"]),
        ("عام [2024] مضى [1].", "عام مضى [1].", ["p1"]),
        ("جمع [1، 9] هنا.", "جمع [1] هنا.", ["p1"]),
        ("مكدس [6][3]", "مكدس [1]", ["p3"]),
    ],
)
def test_drops_markers_pointing_nowhere(text: str, expected: str, cited: list[str]) -> None:
    out, got = renumber(text, P)
    assert (out, got) == (expected, cited)
    check_invariants(out, got)


@pytest.mark.parametrize(
    ("text", "expected", "cited"),
    [
        ("أعلنت الحكومة [١].", "أعلنت الحكومة [1].", ["p1"]),
        ("أعلنت الحكومة [٣] ثم [١].", "أعلنت الحكومة [1] ثم [2].", ["p3", "p1"]),
        ("بالأرقام الفارسية [۲].", "بالأرقام الفارسية [1].", ["p2"]),
        ("مجموعة [1, 2] هنا.", "مجموعة [1][2] هنا.", ["p1", "p2"]),
        ("مجموعة [٢، ١] هنا.", "مجموعة [1][2] هنا.", ["p2", "p1"]),
        ("مجموعة [2; 4] هنا.", "مجموعة [1][2] هنا.", ["p2", "p4"]),
        ("مجموعة [1 و 3] هنا.", "مجموعة [1][2] هنا.", ["p1", "p3"]),
        ("مجموعة [1 2] هنا.", "مجموعة [1][2] هنا.", ["p1", "p2"]),
        ("مكدس [1][2] هنا.", "مكدس [1][2] هنا.", ["p1", "p2"]),
        ("مكدس [1] [2] هنا.", "مكدس [1][2] هنا.", ["p1", "p2"]),
        ("تكرار [2][2] هنا.", "تكرار [1] هنا.", ["p2"]),
        ("مدى [2-4].", "مدى [1][2][3].", ["p2", "p3", "p4"]),
        ("مدى [٤–٥].", "مدى [1][2].", ["p4", "p5"]),
        ("مسافات [ 3 ].", "مسافات [1].", ["p3"]),
        ("علامات اتجاه [\u200f2\u200f].", "علامات اتجاه [1].", ["p2"]),
        ("أولا [2] ثم [1, 2].", "أولا [1] ثم [1][2].", ["p2", "p1"]),
    ],
)
def test_reads_every_marker_form(text: str, expected: str, cited: list[str]) -> None:
    out, got = renumber(text, P)
    assert (out, got) == (expected, cited)
    check_invariants(out, got)


def test_sorts_numbers_inside_a_run_without_breaking_first_use() -> None:
    out, got = renumber("أ [2]. ب [3][2].", P)
    assert out == "أ [1]. ب [1][2]."
    assert got == ["p2", "p3"]


def test_leaves_text_that_is_not_a_marker() -> None:
    text = "قائمة [أ] ورابط [نص](http://x) ومصفوفة a[i] وقوس [ و ] وفاصلة [1,] وفارغ []."
    assert renumber(text, P) == (text, [])


def test_keeps_arabic_text_with_diacritics_and_tatweel_intact() -> None:
    text = "قَالَ الـــوزيرُ إنَّ المحادثاتِ مستمرةٌ [٢]، وإن الاتفاق «قريب» [9]."
    out, got = renumber(text, P)
    assert out == "قَالَ الـــوزيرُ إنَّ المحادثاتِ مستمرةٌ [1]، وإن الاتفاق «قريب»."
    assert got == ["p2"]


def test_no_passages_means_no_marker_survives() -> None:
    assert renumber("شيء [1] وآخر [2].", []) == ("شيء وآخر.", [])


def test_returns_the_passage_objects_themselves() -> None:
    passages = [object(), object(), object()]
    _, got = renumber("[3] [1]", passages)
    assert got[0] is passages[2] and got[1] is passages[0]


def test_is_idempotent() -> None:
    out, got = renumber("ج [4] ب [2][4] أ [١، ٥] [9]", P)
    assert renumber(out, got) == (out, got)


def _random_text(rng: random.Random) -> str:
    words = ["قال", "الوزيرُ", "إن", "ـــ", "2024", "\n", "،", ".", "«نص»", "x"]
    arabic_indic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    digits: list[Callable[[int], str]] = [str, lambda n: str(n).translate(arabic_indic)]
    parts: list[str] = []
    for _ in range(rng.randint(0, 25)):
        if rng.random() < 0.35:
            numbers = [rng.randint(0, 8) for _ in range(rng.randint(1, 3))]
            render = rng.choice(digits)
            separator = rng.choice([", ", "، ", "][", " "])
            parts.append("[" + separator.join(render(n) for n in numbers) + "]")
        else:
            parts.append(rng.choice(words))
    return " ".join(parts)


def test_invariants_hold_on_random_arabic_text() -> None:
    rng = random.Random(20240601)
    for _ in range(500):
        text = _random_text(rng)
        out, got = renumber(text, P)
        check_invariants(out, got)
        assert renumber(out, got) == (out, got)
        # Text between markers survives: only markers and spaces change.
        strip = re.compile(r"\[[^\]]*\]|\s")
        assert strip.sub("", out) == strip.sub("", text)


def test_markers_map_back_to_the_original_passages() -> None:
    rng = random.Random(7)
    for _ in range(200):
        cited_before = [rng.randint(1, 5) for _ in range(rng.randint(1, 6))]
        text = " ".join(f"جملة{i} [{n}]." for i, n in enumerate(cited_before))
        out, got = renumber(text, P)
        after = [got[int(n) - 1] for n in MARKER.findall(out)]
        assert after == [P[n - 1] for n in cited_before]
