"""Prompt files load from the package and render strictly; every one of them renders."""

from __future__ import annotations

import re

import pytest

from bot.qa.prompts import Prompt, PromptError, load_prompt, prompt_names, render

ARABIC = re.compile("[\u0600-\u06ff]")


def test_every_prompt_renders() -> None:
    names = prompt_names()
    assert {"answer", "answer_system", "source"} <= set(names)
    for name in names:
        prompt = load_prompt(name)
        values = {variable: f"<{variable}>" for variable in prompt.variables}
        text = prompt.render(**values)
        assert ARABIC.search(text), name
        for variable, value in values.items():
            assert value in text, (name, variable)
            assert "{" + variable + "}" not in text, (name, variable)


def test_answer_prompts_say_what_the_brief_requires() -> None:
    system = load_prompt("answer_system")
    user = load_prompt("answer")
    assert system.variables == {"not_found"}
    assert user.variables == {"count", "sources", "question", "not_found"}
    assert load_prompt("source").variables == {"n", "title", "source", "paragraph", "text"}
    for prompt in (system, user):
        assert "غير موثوقة" in prompt.template  # the sources are untrusted data
        assert "وحدها" in prompt.template  # answer from them only
        assert "بالعربية" in prompt.template and "بإيجاز" in prompt.template
        assert "[1]" in prompt.template  # how to cite
    assert "<<<بداية المصادر>>>" in user.template and "<<<نهاية المصادر>>>" in user.template


def test_missing_variable_raises() -> None:
    with pytest.raises(PromptError, match="missing \\['question'\\]"):
        render("answer", count=1, sources="x", not_found="y")


def test_extra_variable_raises() -> None:
    with pytest.raises(PromptError, match="unexpected \\['extra'\\]"):
        render("answer_system", not_found="y", extra="z")


def test_values_with_braces_are_not_reparsed() -> None:
    text = Prompt("t", "سؤال: {question}").render(question="{sources} {0}")
    assert text == "سؤال: {sources} {0}"


def test_literal_braces_are_escaped_in_templates() -> None:
    prompt = Prompt("t", "{{مثال}} {x}")
    assert prompt.variables == {"x"}
    assert prompt.render(x=1) == "{مثال} 1"


@pytest.mark.parametrize("template", ["{}", "{0}", "{a.b}", "{a[0]}", "{a!r}", "{a:>5}", "{سؤال}", "{a"])
def test_only_plain_placeholders_are_allowed(template: str) -> None:
    with pytest.raises(PromptError):
        Prompt("t", template)


@pytest.mark.parametrize("name", ["missing", "../bot/prompts", "Answer", "answer.ar", ""])
def test_unknown_or_bad_names_raise(name: str) -> None:
    with pytest.raises(PromptError):
        load_prompt(name)


def test_trailing_newline_is_not_part_of_the_prompt() -> None:
    assert not load_prompt("source").template.endswith("\n")


def test_answer_prompts_ask_for_the_answer_first_one_claim_per_sentence() -> None:
    system = load_prompt("answer_system").template
    user = load_prompt("answer").template
    assert "ابدأ بالجواب" in system and "الجواب أولًا" in user  # the lead says the answer
    assert "جملة واحدة لكل معلومة" in user and "معلومة واحدة" in system  # one sentence per claim
    assert "لا تكرر" in system and "[1][2]" in system  # agreeing sources cited once, together
