"""Translations: the English catalog is complete and in use, and no marked string is missing.

The msgids are the Chinese strings of the code. After adding or changing one, run
`python -m django makemessages -l en -i .venv -i var --settings=config.settings` (needs GNU
gettext), translate the new entries in yishiting/locale/en/LC_MESSAGES/django.po, and
`python -m yishiting.core.i18n` compiles it (no gettext needed).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

from yishiting.core.i18n import LOCALE_DIR, compile_all, reload_translations
from yishiting.requests.states import STATE_LABELS, VERB_LABELS, State, Verb

ROOT = Path(settings.BASE_DIR)
PO = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
# gettext functions and which positional arguments are msgids.
MARKERS = {
    "_": (0,),
    "gettext": (0,),
    "gettext_lazy": (0,),
    "ngettext": (0, 1),
    "ngettext_lazy": (0, 1),
    "pgettext": (1,),
    "pgettext_lazy": (1,),
}
TEMPLATE_TAG = re.compile(r"""\{%\s*(?:translate|trans)\s+(["'])(.*?)\1""")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


@pytest.fixture(scope="module")
def catalog() -> polib.POFile:
    return polib.pofile(str(PO))


@pytest.fixture(scope="module")
def compiled() -> None:
    """Compile the .po files (as `make install` does) and make Django read them again."""
    compile_all()
    reload_translations()


def _live(catalog: polib.POFile) -> list[polib.POEntry]:
    return [e for e in catalog if not e.obsolete]


def test_every_msgid_is_translated(catalog: polib.POFile) -> None:
    assert catalog.metadata.get("Language") == "en"
    assert "nplurals=2" in catalog.metadata.get("Plural-Forms", "")
    missing = [e.msgid for e in _live(catalog) if not e.translated()]
    assert not missing, f"untranslated or fuzzy in {PO.name}: {missing}"
    for entry in _live(catalog):
        forms = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for form in forms:
            # A placeholder missing or misspelt in a translation breaks `%` at run time.
            assert set(PLACEHOLDER.findall(form)) == set(PLACEHOLDER.findall(entry.msgid)), (
                f"placeholders differ: {entry.msgid!r} -> {form!r}"
            )


def test_labels_follow_the_language(compiled: None) -> None:
    with translation.override("en"):
        assert str(STATE_LABELS[State.SUBMITTED]) == "Awaiting response"
        assert str(VERB_LABELS[Verb.DISPATCH]) == "Dispatch"
    with translation.override("zh-hans"):
        assert str(STATE_LABELS[State.SUBMITTED]) == "待响应"
        assert str(VERB_LABELS[Verb.DISPATCH]) == "派单"


def test_home_page_in_both_languages(compiled: None, client) -> None:  # type: ignore[no-untyped-def]
    assert "管理后台" in client.get("/").content.decode()
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Administration" in page and "管理后台" not in page


def test_compile_skips_fresh_catalogs(compiled: None) -> None:
    """`make install` runs it every time: a .mo newer than its .po is not rewritten."""
    assert compile_all() == []


def _source_files() -> Iterator[Path]:
    yield ROOT / "config" / "settings.py"
    for path in sorted((ROOT / "yishiting").rglob("*.py")):
        parts = set(path.relative_to(ROOT).parts)
        if parts & {"migrations", "tests"} or path.name.startswith("test_"):
            continue
        if path.name == "conftest.py":
            continue
        yield path


def _marked_strings(path: Path) -> Iterator[tuple[str, int]]:
    """(msgid, line) of every literal passed to a gettext function in a Python file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        for index in MARKERS.get(name or "", ()):
            if index < len(node.args):
                arg = node.args[index]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    yield arg.value, node.lineno


def _template_strings() -> Iterator[tuple[Path, str, int]]:
    for path in sorted((ROOT / "yishiting").rglob("templates/**/*.html")):
        text = path.read_text(encoding="utf-8")
        for match in TEMPLATE_TAG.finditer(text):
            yield path, match.group(2), text.count("\n", 0, match.start()) + 1


def test_no_marked_string_is_missing_from_the_catalog(catalog: polib.POFile) -> None:
    known = {e.msgid for e in _live(catalog)} | {e.msgid_plural for e in _live(catalog)}
    missing = [
        f"{path.relative_to(ROOT)}:{line}: {msgid!r}"
        for path in _source_files()
        for msgid, line in _marked_strings(path)
        if msgid not in known
    ]
    missing += [
        f"{path.relative_to(ROOT)}:{line}: {msgid!r}"
        for path, msgid, line in _template_strings()
        if msgid not in known
    ]
    assert not missing, "not in the English catalog (run makemessages, translate):\n" + "\n".join(
        missing
    )


def test_the_scan_sees_strings() -> None:
    """Guard against a scan that silently finds nothing."""
    found = {m for path in _source_files() for m, _line in _marked_strings(path)}
    assert {"待响应", "议事厅", "%(n)s 工作日"} <= found
    assert "百姓议事厅" in {m for _p, m, _l in _template_strings()}
