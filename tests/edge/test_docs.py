"""The interface is documented inside the project, and the documents keep up with the code.

docs/cli.md must name every subcommand and flag the parser has, docs/environment.md every
variable the settings read or .env.example lists; nothing the project ships points outside
it (to ../shared); --help states the defaults the code really uses; and an installed wheel
(not an editable checkout) carries the default corpus and keeps its data in the user's
data folder.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from isnad import settings as settings_module
from isnad.cli import build_parser
from isnad.settings import DEFAULT_CORPUS_DIR, DEFAULT_DATA_DIR, default_data_dir
from tests.conftest import PROJECT_ROOT, SEEDS

DOCS = PROJECT_ROOT / "docs"


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's subcommands by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def variables_read_by_settings() -> set[str]:
    """Every variable name Settings.from_env looks up."""
    source = Path(settings_module.__file__).read_text()
    return set(re.findall(r'(?<![.\w])get\("([A-Z][A-Z0-9_]+)"\)', source))


def test_cli_doc_names_every_subcommand_and_flag() -> None:
    doc = (DOCS / "cli.md").read_text()
    parser = build_parser()
    commands = subparsers(parser)
    assert set(commands) == {"index", "ask", "repl", "bot"}
    missing = []
    for name, command in [("", parser), *commands.items()]:
        if name and f"isnad {name}" not in doc and f"isnad [-v] {name}" not in doc:
            missing.append(name)
        for action in command._actions:
            missing += [o for o in action.option_strings if o not in ("-h", "--help") and f"`{o}" not in doc]
    assert missing == [], f"add these to docs/cli.md: {missing}"


def test_environment_doc_names_every_variable() -> None:
    doc = (DOCS / "environment.md").read_text()
    example = (PROJECT_ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    read = variables_read_by_settings()
    assert {"ISNAD_STATE_URL", "ISNAD_WEBHOOK_SECRET", "CHROMA_AUTH_TOKEN", "ISNAD_EMBED_URL"} <= read
    own = {name for name in read if not name.startswith("XDG_")}  # the XDG base dirs are the desktop's
    assert own == listed, f"settings and .env.example differ: {sorted(own ^ listed)}"
    missing = sorted(name for name in read | listed if f"`{name}`" not in doc)
    assert missing == [], f"add these to docs/environment.md: {missing}"


def test_nothing_shipped_points_outside_the_project() -> None:
    shipped = [PROJECT_ROOT / "README.md", *DOCS.glob("*.md")]
    for package in ("isnad", "bot", "indexing", "prompts"):
        shipped += (PROJECT_ROOT / package).rglob("*.py")
    pointing = [
        str(p.relative_to(PROJECT_ROOT)) for p in shipped if re.search(r"CONTRACT|\.\./shared", p.read_text())
    ]
    assert pointing == []
    helps = [build_parser().format_help(), *(c.format_help() for c in subparsers(build_parser()).values())]
    assert not [h for h in helps if "CONTRACT" in h or "../shared" in h]
    assert all("docs/cli.md" in h and "docs/environment.md" in h for h in helps)
    for link in re.findall(r"\]\((docs/[^)]+)\)", (PROJECT_ROOT / "README.md").read_text()):
        assert (PROJECT_ROOT / link).is_file(), link


def test_help_states_the_real_defaults() -> None:
    commands = subparsers(build_parser())
    for name, command in commands.items():
        text = " ".join(command.format_help().split())  # argparse wraps lines
        assert f"else {DEFAULT_DATA_DIR})" in text, name
    assert f"else {DEFAULT_CORPUS_DIR})" in " ".join(commands["index"].format_help().split())
    # Run from this checkout: the folders git ignores (data/) and ships (seeds/).
    assert DEFAULT_DATA_DIR == PROJECT_ROOT / "data" and DEFAULT_CORPUS_DIR == SEEDS


def test_installed_data_dir_is_the_users(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(settings_module, "PROJECT_ROOT", tmp_path / "site-packages")
    assert default_data_dir({"XDG_DATA_HOME": str(tmp_path / "xdg")}) == tmp_path / "xdg" / "isnad"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir({}) == tmp_path / "home" / ".local" / "share" / "isnad"


@pytest.mark.slow
def test_a_built_wheel_carries_the_seeds_and_finds_them_from_anywhere(tmp_path: Path) -> None:
    """Build the wheel offline (this venv's setuptools), install it apart, ask it where things are."""
    wheels, target, elsewhere = tmp_path / "wheels", tmp_path / "installed", tmp_path / "elsewhere"
    elsewhere.mkdir()
    # setuptools writes build/ and *.egg-info beside the sources: build from a copy of what git tracks.
    source = tmp_path / "source"
    tracked = (
        subprocess.run(
            ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True, timeout=60
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        if (PROJECT_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT_ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(wheels)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = wheels.glob("isnad-*.whl")
    subprocess.run(
        [*pip, "install", str(wheel), "--no-deps", "--target", str(target)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ISNAD_", "XDG_"))}
    env.update(PYTHONPATH=str(target), HOME=str(tmp_path / "home"))  # the installed copy comes first
    script = (
        "import isnad.settings as s; print(s.__file__, s.DEFAULT_CORPUS_DIR, s.DEFAULT_DATA_DIR, sep='\\n')"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    module, corpus, data = (Path(line) for line in done.stdout.splitlines())
    assert module.is_relative_to(target)
    assert corpus == target / "seeds"
    assert sorted(p.name for p in corpus.iterdir()) == sorted(p.name for p in SEEDS.iterdir())
    assert data == tmp_path / "home" / ".local" / "share" / "isnad"
