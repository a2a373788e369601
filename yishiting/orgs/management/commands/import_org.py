"""`yishiting import-org FILE.xlsx`: load a county's halls, departments and people."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishiting.orgs.importer import ImportFailed, import_org, read_workbook
from yishiting.orgs.templates_xlsx import write_template


class Command(BaseCommand):
    help = (
        "Import halls, departments and people from an Excel workbook (sheets 议事厅, 部门, 人员; "
        "see docs/import-org.md). Everything is checked first; any error imports nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="the .xlsx workbook to import")
        parser.add_argument(
            "--template",
            metavar="OUT.xlsx",
            help="write an empty template workbook (headers, one example row per sheet)",
        )
        parser.add_argument(
            "--password",
            help="initial password for new users (default: none, an admin sets one later)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, but write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        file, template = options["file"], options["template"]
        if template:
            if file:
                raise CommandError("--template 与要导入的文件不能同时给出")
            self._template(Path(template))
            return
        if not file:
            raise CommandError("请给出要导入的 .xlsx 文件，或用 --template OUT.xlsx 生成模板")
        password = options["password"]
        if password:
            try:
                password_validation.validate_password(password)
            except ValidationError as exc:
                raise CommandError("--password 不合格：" + "；".join(exc.messages)) from exc
        try:
            summary = import_org(read_workbook(file), password=password, dry_run=options["dry_run"])
        except ImportFailed as exc:
            raise CommandError(exc.report()) from exc
        for line in summary.lines():
            self.stdout.write(line)

    def _template(self, path: Path) -> None:
        """Write the template, never over an existing file (it may be a filled-in one)."""
        if path.suffix.lower() != ".xlsx":
            raise CommandError(f"模板文件名须以 .xlsx 结尾：{path}")
        if path.exists():
            raise CommandError(f"{path} 已存在，不会覆盖；请换一个文件名")
        try:
            write_template(path)
        except OSError as exc:
            raise CommandError(f"无法写入 {path}：{exc.strerror or exc}") from exc
        self.stdout.write(f"已生成模板 {path}：填好“议事厅”“部门”“人员”三张表后导入")
