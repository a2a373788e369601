"""The `yishiting` command: Django's management commands with this project's settings.

`yishiting import-org FILE` is `import_org`: dashes in a subcommand become underscores.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a management command."""
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["yishiting", *argv[1:]])


if __name__ == "__main__":
    main()
