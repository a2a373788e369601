"""`yishiting import-register FILE.xlsx`: load halls' households and adult residents."""

from __future__ import annotations

from typing import Any

from yishiting.core.workbook_command import WorkbookImportCommand
from yishiting.deliberation.importer import (
    RegisterImportFailed,
    import_register,
    read_workbook,
    write_template,
)


class Command(WorkbookImportCommand):
    help = (
        "Import the registers of village, community and compound halls from an Excel workbook "
        "(sheets 户 and 居民; see docs/deliberation.md). Everything is checked first; any error "
        "imports nothing."
    )

    sheets = "“户”“居民”两张表"
    failure = RegisterImportFailed
    write_template = staticmethod(write_template)

    def read_workbook(self, file: str) -> Any:
        return read_workbook(file)

    def run_import(self, workbook: Any, *, dry_run: bool) -> Any:
        return import_register(workbook, dry_run=dry_run)
