"""The empty workbook county staff fill in for `yishiting import-org` (docs/import-org.md)."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from yishiting.orgs.importer import (
    COLUMNS,
    DEPARTMENTS_SHEET,
    HALLS_SHEET,
    PEOPLE_SHEET,
    SHEETS,
    hall_kind_label,
    role_label,
)
from yishiting.orgs.models import PARENT_KINDS, ROLE_HALL_KINDS, HallKind, Role

# One example per sheet that imports as it is: a county, its department, its leader.
EXAMPLES: dict[str, list[str]] = {
    HALLS_SHEET: ["130525", "隆尧县", "县", "", "隆尧县城关镇政府街 1 号"],
    DEPARTMENTS_SHEET: ["lyx-zhujian", "住房和城乡建设局", "130525", "08:30-12:00,13:30-17:30"],
    PEOPLE_SHEET: ["mashuji", "马书记", "13812345678", "领导", "130525", ""],
}

# Columns Excel must keep as text, or it drops leading zeros and turns long codes into 1.3E+11.
_TEXT_COLUMNS = {"code", "parent", "county", "phone", "hall", "department", "username"}
_ROWS = 2000  # how far down the drop-down lists and text formats reach
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_EXAMPLE_FONT = Font(color="808080", italic=True)


def _list_validation(ws: Worksheet, column: int, values: list[str], title: str) -> None:
    """A drop-down of allowed values for one column (typing other text is still possible)."""
    letter = get_column_letter(column)
    dv = DataValidation(
        type="list", formula1='"' + ",".join(values) + '"', allow_blank=True, showErrorMessage=False
    )
    dv.promptTitle = title
    dv.prompt = "从下拉列表中选择"
    dv.add(f"{letter}2:{letter}{_ROWS}")
    ws.add_data_validation(dv)


def _sheet(ws: Worksheet, sheet: str) -> None:
    """Headers, formats, drop-downs and the example row of one data sheet."""
    columns = COLUMNS[sheet]
    ws.append([c.header for c in columns])
    ws.append(EXAMPLES[sheet])
    ws.freeze_panes = "A2"
    for i, column in enumerate(columns, start=1):
        letter = get_column_letter(i)
        head = ws.cell(row=1, column=i)
        head.font = Font(bold=True)
        head.fill = _HEADER_FILL
        ws.cell(row=2, column=i).font = _EXAMPLE_FONT
        ws.column_dimensions[letter].width = max(14, min(40, len(column.example) * 1.6 + 4))
        if column.key in _TEXT_COLUMNS:
            ws.column_dimensions[letter].number_format = "@"
            for row in range(2, _ROWS + 1):
                ws.cell(row=row, column=i).number_format = "@"
        if column.key == "kind":
            _list_validation(ws, i, [hall_kind_label(k) for k in HallKind], "类型")
        if column.key == "role":
            _list_validation(ws, i, [role_label(r) for r in Role], "角色")


def _guide(ws: Worksheet) -> None:
    """The 说明 sheet: what each column means and which values are allowed."""
    lines: list[list[str]] = [
        ["议事厅组织架构导入模板（yishiting import-org 文件名.xlsx）"],
        ["每张表第 1 行是表头（列的顺序可以调整，多余的列会被忽略），从第 2 行起每行一条。"],
        ["第 2 行是示例，请改成本县的数据。空行会被跳过。任何一行有错，整个文件都不会导入。"],
        ["同一个文件可以反复导入：编码或用户名已存在的会被更新，不会重复创建。"],
        [],
        ["表", "列", "表头必需", "说明"],
    ]
    for sheet in SHEETS:
        for column in COLUMNS[sheet]:
            lines.append([sheet, column.header, "是" if column.required else "否", column.note])
    lines += [[], ["类型", "上级须是"]]
    for kind in HallKind:
        parents = "、".join(hall_kind_label(k) for k in HallKind if k in PARENT_KINDS[kind])
        lines.append([hall_kind_label(kind), parents or "（无上级）"])
    lines += [[], ["角色", "议事厅"]]
    for role in Role:
        if role == Role.DEPARTMENT:
            where = "不填议事厅，填部门编码"
        elif role in ROLE_HALL_KINDS:
            where = "、".join(hall_kind_label(k) for k in HallKind if k in ROLE_HALL_KINDS[role])
        else:
            where = "任意议事厅"
        lines.append([role_label(role), where])
    for line in lines:
        ws.append(line)
    ws["A1"].font = Font(bold=True, size=14)
    for width, letter in zip((16, 16, 8, 60), "ABCD", strict=True):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=False, vertical="top")


def write_template(path: str | Path) -> None:
    """Write an empty import workbook with headers, one example row per sheet and a guide."""
    book = Workbook()
    guide = book.active
    assert guide is not None
    guide.title = "说明"
    _guide(guide)
    for sheet in SHEETS:
        _sheet(book.create_sheet(sheet), sheet)
    book.save(path)
