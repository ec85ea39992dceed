"""Loads the Arabic prompt files of the `prompts` package and renders them strictly.

A prompt is a `prompts/<name>.ar.txt` file with plain `{variable}` placeholders (`{{` and
`}}` for literal braces). Rendering with a missing or an unexpected variable raises
PromptError: a half-filled prompt would still get an answer from the model, just a
quietly wrong one, so it must fail loudly instead.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

PACKAGE = "prompts"
SUFFIX = ".ar.txt"
_NAME = re.compile(r"[a-z][a-z0-9_]*")


class PromptError(ValueError):
    """A prompt is missing or malformed, or was rendered with the wrong variables."""


def _variables(name: str, template: str) -> frozenset[str]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:  # unbalanced braces
        raise PromptError(f"prompt {name!r}: {exc}") from None
    names: set[str] = set()
    for _, field_name, spec, conversion in parsed:
        if field_name is None:
            continue
        # Attribute, index and positional fields would let a template reach into objects.
        if not _NAME.fullmatch(field_name) or spec or conversion:
            raise PromptError(f"prompt {name!r}: only plain {{name}} placeholders are allowed")
        names.add(field_name)
    return frozenset(names)


@dataclass(frozen=True)
class Prompt:
    """A template and the exact set of variables it needs."""

    name: str
    template: str
    variables: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "variables", _variables(self.name, self.template))

    def render(self, **values: object) -> str:
        """The template filled in; every variable must be given, and nothing else."""
        missing = sorted(self.variables - values.keys())
        extra = sorted(values.keys() - self.variables)
        if missing or extra:
            raise PromptError(f"prompt {self.name!r}: missing {missing}, unexpected {extra}")
        return self.template.format(**{key: str(value) for key, value in values.items()})


def prompt_names() -> tuple[str, ...]:
    """Names of every prompt shipped in the package, sorted."""
    root = resources.files(PACKAGE)
    return tuple(
        sorted(
            entry.name.removesuffix(SUFFIX)
            for entry in root.iterdir()
            if entry.is_file() and entry.name.endswith(SUFFIX)
        )
    )


@cache
def load_prompt(name: str) -> Prompt:
    """The prompt `prompts/<name>.ar.txt`, read once per process."""
    if not _NAME.fullmatch(name):
        raise PromptError(f"bad prompt name {name!r}")
    resource = resources.files(PACKAGE).joinpath(name + SUFFIX)
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"no prompt named {name!r}") from None
    # Editors end files with a newline; it is not part of the prompt.
    return Prompt(name, text.rstrip("\n"))


def render(name: str, **values: object) -> str:
    """Load and render a prompt in one call."""
    return load_prompt(name).render(**values)
