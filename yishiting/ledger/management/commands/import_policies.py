"""`yishiting import-policies FILE.xlsx`: load request categories and clock policies."""

from __future__ import annotations

from typing import Any

from yishiting.core.workbook_command import WorkbookImportCommand
from yishiting.ledger.policies import (
    PolicyImportFailed,
    import_policies,
    read_workbook,
    write_template,
)


class Command(WorkbookImportCommand):
    help = (
        "Import request categories and clock policies from an Excel workbook (sheets 类别 and "
        "时限规则; see docs/ledger.md). Everything is checked first; any error imports nothing."
    )

    sheets = "“类别”“时限规则”两张表"
    failure = PolicyImportFailed
    write_template = staticmethod(write_template)

    def read_workbook(self, file: str) -> Any:
        return read_workbook(file)

    def run_import(self, workbook: Any, *, dry_run: bool) -> Any:
        return import_policies(workbook, dry_run=dry_run)
