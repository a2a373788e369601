"""`yishiting import-register FILE.xlsx`: load halls' households and adult residents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishiting.deliberation.importer import (
    RegisterImportFailed,
    import_register,
    read_workbook,
    write_template,
)


class Command(BaseCommand):
    help = (
        "Import the registers of village, community and compound halls from an Excel workbook "
        "(sheets 户 and 居民; see docs/deliberation.md). Everything is checked first; any error "
        "imports nothing."
    )

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
                write_template(path)
            except OSError as exc:
                raise CommandError(f"无法写入 {path}：{exc.strerror or exc}") from exc
            self.stdout.write(f"已生成模板 {path}：填好“户”“居民”两张表后导入")
            return
        if not file:
            raise CommandError("请给出要导入的 .xlsx 文件，或用 --template OUT.xlsx 生成模板")
        try:
            summary = import_register(read_workbook(file), dry_run=options["dry_run"])
        except RegisterImportFailed as exc:
            raise CommandError(exc.report()) from exc
        for line in summary.lines():
            self.stdout.write(line)
