"""Compile the translation catalogs: `python -m yishiting.core.i18n`.

Every `yishiting/locale/<lang>/LC_MESSAGES/django.po` becomes a `.mo` beside it, with polib
(pure Python, so no GNU gettext is needed). A `.mo` newer than its `.po` is left alone, so this
is cheap enough to run on every `make install`. The `.mo` files are not in git.

The msgids are the Chinese strings of the code; `zh-hans` needs no catalog.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Every django.po under locale_dir."""
    return sorted(locale_dir.glob("*/LC_MESSAGES/django.po"))


def is_stale(po: Path) -> bool:
    """Whether po's .mo is missing or older than po."""
    mo = po.with_suffix(".mo")
    try:
        return mo.stat().st_mtime < po.stat().st_mtime
    except FileNotFoundError:
        return True


def compile_po(po: Path) -> Path:
    """Write po's .mo (atomically: a half-written catalog is never read)."""
    import polib

    mo = po.with_suffix(".mo")
    catalog = polib.pofile(str(po))
    fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".django-", suffix=".mo")
    os.close(fd)
    try:
        catalog.save_as_mofile(tmp)
        os.replace(tmp, mo)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return mo


def compile_all(locale_dir: Path = LOCALE_DIR, *, force: bool = False) -> list[Path]:
    """Compile the stale catalogs (all with force); return the .mo files written."""
    return [compile_po(po) for po in catalogs(locale_dir) if force or is_stale(po)]


def reload_translations() -> None:
    """Make a running Django process read the catalogs again (after compile_all)."""
    from asgiref.local import Local
    from django.utils.translation import trans_real

    # As Django's own test signals do when LOCALE_PATHS changes.
    trans_real._translations = {}  # type: ignore[attr-defined]
    trans_real._default = None  # type: ignore[attr-defined]
    trans_real._active = Local()  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        written = compile_all(force="--force" in args)
    except ImportError:
        print("i18n: polib is needed to compile translations: pip install polib", file=sys.stderr)
        return 1
    for mo in written:
        print(f"compiled {mo.relative_to(Path.cwd()) if mo.is_relative_to(Path.cwd()) else mo}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
