"""The docs keep up with the code: every environment setting and every command is documented."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from django.core.management import load_command_class
from django.core.management.base import BaseCommand

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = ROOT / "config" / "settings.py"
SETTINGS_DOC = ROOT / "docs" / "settings.md"
COMMANDS_DOC = ROOT / "docs" / "commands.md"

ENV_READ = re.compile(
    r"""os\.(?:environ\.get|getenv)\(\s*["']([A-Z0-9_]+)["']|os\.environ\[\s*["']([A-Z0-9_]+)["']\s*\]"""
)
DOC_ROW = re.compile(r"^\|\s*`([A-Z0-9_]+)`\s*\|", re.MULTILINE)
SECTION = re.compile(r"^## `yishiting ([a-z0-9-]+)", re.MULTILINE)


def env_settings() -> set[str]:
    """Names config/settings.py reads from the environment."""
    return {a or b for a, b in ENV_READ.findall(SETTINGS.read_text(encoding="utf-8"))}


def commands() -> dict[str, str]:
    """Our management commands: name -> app module (yishiting/<app>/management/commands/*.py)."""
    found = {}
    for path in sorted(ROOT.glob("yishiting/*/management/commands/*.py")):
        if not path.stem.startswith("_"):
            found[path.stem] = f"yishiting.{path.parts[-4]}"
    return found


def sections() -> dict[str, str]:
    """docs/commands.md's `## yishiting NAME` sections: dashed name -> text."""
    text = COMMANDS_DOC.read_text(encoding="utf-8")
    heads = list(SECTION.finditer(text))
    return {
        h.group(1): text[h.start() : heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        for i, h in enumerate(heads)
    }


def test_the_scans_find_something() -> None:
    assert {"DATABASE_URL", "YISHITING_SECRET_KEY"} <= env_settings()
    assert {"serve", "worker", "token"} <= set(commands())


def test_every_environment_setting_is_documented() -> None:
    documented = set(DOC_ROW.findall(SETTINGS_DOC.read_text(encoding="utf-8")))
    missing = env_settings() - documented
    assert not missing, (
        f"read in config/settings.py, not in the table of docs/settings.md: {missing}"
    )
    stale = documented - env_settings()
    assert not stale, f"in docs/settings.md, no longer read by config/settings.py: {stale}"


def test_every_command_is_documented() -> None:
    documented = set(sections())
    ours = {name.replace("_", "-") for name in commands()}
    missing = ours - documented
    assert not missing, f"no `## \\`yishiting NAME\\`` section in docs/commands.md: {missing}"
    stale = documented - ours
    assert not stale, f"docs/commands.md documents commands that do not exist: {stale}"


def _arguments(name: str, app: str) -> tuple[set[str], set[str]]:
    """A command's own options (long form) and positional arguments (upper case)."""
    command = load_command_class(app, name)
    common = {
        opt
        for action in BaseCommand().create_parser("yishiting", name)._actions
        for opt in action.option_strings
    }
    options, positionals = set(), set()
    for action in command.create_parser("yishiting", name)._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if action.option_strings:
            if not set(action.option_strings) & common:
                options.add(max(action.option_strings, key=len))
        else:
            metavar = action.metavar if isinstance(action.metavar, str) else action.dest
            positionals.add(metavar.upper())
    return options, positionals


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_option_is_documented(name: str) -> None:
    section = sections().get(name.replace("_", "-"))
    if section is None:
        pytest.skip("no section (test_every_command_is_documented fails)")
    options, positionals = _arguments(name, commands()[name])
    missing = {o for o in options if not re.search(rf"{re.escape(o)}(?![\w-])", section)}
    missing |= {p for p in positionals if p not in section}
    assert not missing, f"`yishiting {name}` arguments not described in docs/commands.md: {missing}"
    # Options the section lists (a table row or list item starting with one).
    documented = set(re.findall(r"^\s*[|*-]\s*`(--[a-z][a-z0-9-]*)", section, re.MULTILINE))
    stale = documented - options - {"--help"}
    assert not stale, f"docs/commands.md gives `yishiting {name}` options it lacks: {stale}"
