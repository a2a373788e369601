"""The one shape of an all-or-nothing Excel import command: `FILE.xlsx`, `--template OUT.xlsx`,
`--dry-run` (used by `import-policies` and `import-register`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class WorkbookImportCommand(BaseCommand):
    """Subclasses name their reader, importer, failure type, template writer and sheets."""

    sheets = ""  # e.g. "“类别”“时限规则”两张表"
    failure: type[Exception] = Exception

    def read_workbook(self, file: str) -> Any:
        raise NotImplementedError

    def run_import(self, workbook: Any, *, dry_run: bool) -> Any:
        raise NotImplementedError

    write_template: Callable[[Path], None]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="the .xlsx workbook to import")
        parser.add_argument(
            "--template", metavar="OUT.xlsx", help="write an empty template workbook instead"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, but write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        file, template = options["file"], options["template"]
        if template:
            if file:
                raise CommandError("--template 与要导入的文件不能同时给出")
            path = Path(template)
            if path.suffix.lower() != ".xlsx":
                raise CommandError(f"模板文件名须以 .xlsx 结尾：{path}")
            if path.exists():
                raise CommandError(f"{path} 已存在，不会覆盖；请换一个文件名")
            try:
                type(self).write_template(path)
            except OSError as exc:
                raise CommandError(f"无法写入 {path}：{exc.strerror or exc}") from exc
            self.stdout.write(f"已生成模板 {path}：填好{self.sheets}后导入")
            return
        if not file:
            raise CommandError("请给出要导入的 .xlsx 文件，或用 --template OUT.xlsx 生成模板")
        try:
            summary = self.run_import(self.read_workbook(file), dry_run=options["dry_run"])
        except self.failure as exc:
            raise CommandError(exc.report()) from exc  # type: ignore[attr-defined]
        for line in summary.lines():
            self.stdout.write(line)
