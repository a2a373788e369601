"""Import request categories and clock policies from Excel (docs/ledger.md, "Import").

As `import-org` (orgs/importer.py, whose cell readers this reuses): every cell of both sheets
is read and checked, the rows against each other and the database, and only when nothing is
wrong anywhere is anything written, in one transaction. Messages are Chinese, with the sheet
and Excel row (`时限规则!第4行: …`): county staff fix the spreadsheet from them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DatabaseError, transaction
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from yishiting.orgs.importer import (
    Column,
    Counts,
    ImportFailed,
    Problem,
    _BadCell,
    _limited,
    _norm,
    _RowReader,
    read_sheets,
    sheet_rows,
)
from yishiting.orgs.models import BASIS_CHOICES, Category, ClockPolicy, Department, Priority
from yishiting.requests.clocks import Basis

CATEGORIES_SHEET = "类别"
POLICIES_SHEET = "时限规则"
SHEETS = (CATEGORIES_SHEET, POLICIES_SHEET)
MAX_SECONDS = 366 * 86400
DURATIONS = (
    "first_response_seconds",
    "parent_response_seconds",
    "claim_seconds",
    "resolution_seconds",
    "rating_window_seconds",
    "reopen_window_seconds",
)
BASES = ("claim_basis", "resolution_basis")

COLUMNS: dict[str, tuple[Column, ...]] = {
    CATEGORIES_SHEET: (
        Column("code", "编码", True, "streetlight", "唯一，最长 32 位；已有的编码会被更新"),
        Column("name", "名称", True, "路灯照明", "最长 100 字"),
        Column("department", "默认部门编码", False, "", "可空；须是系统中已有的部门的编码"),
        Column("on_site", "需现场照片", False, "是", "是 / 否，可空（否）"),
        Column(
            "default_priority", "默认紧急程度", False, "一般", "紧急 / 一般 / 复杂，可空（一般）"
        ),
        Column("keywords", "关键词", False, "路灯 不亮 灯杆", "以空格或逗号分隔，可空"),
    ),
    POLICIES_SHEET: (
        Column(
            "category",
            "类别编码",
            True,
            "streetlight",
            "留空为默认规则（适用于没有专门规则的类别）",
        ),
        Column("priority", "紧急程度", True, "一般", "紧急 / 一般 / 复杂"),
        Column(
            "first_response_seconds",
            "首次响应时限",
            False,
            "5分钟",
            "如 5分钟、2小时、3天；空为不改",
        ),
        Column("parent_response_seconds", "上级响应时限", False, "5分钟", "同上"),
        Column("claim_seconds", "签收时限", False, "30分钟", "同上"),
        Column("claim_basis", "签收计时方式", False, "工作时间", "自然时间 / 工作日 / 工作时间"),
        Column("resolution_seconds", "办结时限", False, "3天", "工作日计时时 3天 即 3 个工作日"),
        Column("resolution_basis", "办结计时方式", False, "工作日", "自然时间 / 工作日 / 工作时间"),
        Column("rating_window_seconds", "评价期", False, "7天", "同上"),
        Column("reopen_window_seconds", "重开期", False, "30天", "同上"),
    ),
}
EXAMPLES = {sheet: [c.example for c in columns] for sheet, columns in COLUMNS.items()}

_UNITS = {
    "": 1,
    "秒": 1,
    "s": 1,
    "分钟": 60,
    "分": 60,
    "min": 60,
    "小时": 3600,
    "时": 3600,
    "h": 3600,
    "天": 86400,
    "日": 86400,
    "个工作日": 86400,
    "工作日": 86400,
    "d": 86400,
}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([^\d\s.]*)$")
_PRIORITY = {"紧急": "urgent", "一般": "normal", "普通": "normal", "复杂": "complex"}
_BASIS = {"自然时间": "calendar", "自然日": "calendar", "工作日": "working_days"}
_BASIS |= {"工作时间": "working_hours", "工作小时": "working_hours"}
_YES = {"是": True, "否": False, "y": True, "n": False, "yes": True, "no": False}
_YES |= {"true": True, "false": False, "1": True, "0": False, "": False}


def _sort_key(problem: Problem) -> tuple[int, int, str]:
    sheet = SHEETS.index(problem.sheet) if problem.sheet in SHEETS else -1
    return (sheet, problem.row or 0, problem.message)


class PolicyImportFailed(ImportFailed):
    """The workbook cannot be imported; nothing was written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=_sort_key)
        Exception.__init__(self, self.report())


@dataclass
class CategoryRow:
    """A row of 类别; cells that could not be read are None."""

    row: int
    code: str | None
    name: str
    department: str | None
    on_site: bool | None
    default_priority: str | None
    keywords: str


@dataclass
class PolicyRow:
    """A row of 时限规则: the values given (blank cells are not in `values`)."""

    row: int
    category: str | None
    priority: str | None
    values: dict[str, Any]
    bad: bool


@dataclass
class PolicyData:
    """What a workbook holds, with the problems found while reading its cells."""

    categories: list[CategoryRow] = field(default_factory=list)
    policies: list[PolicyRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    sheets: tuple[str, ...] = ()


@dataclass
class PolicySummary:
    """What an import did (or, on a dry run, would do)."""

    categories: Counts = field(default_factory=Counts)
    policies: Counts = field(default_factory=Counts)
    dry_run: bool = False

    def lines(self) -> list[str]:
        head = "检查通过（试运行，未写入任何数据）：" if self.dry_run else "导入完成："
        return [
            head,
            f"  {CATEGORIES_SHEET}：{self.categories}",
            f"  {POLICIES_SHEET}：{self.policies}",
        ]


# --- cells ---------------------------------------------------------------------------------


def parse_duration(text: str) -> int:
    """Seconds from '5分钟', '2小时', '3天', '1.5h' or a bare number of seconds."""
    match = _DURATION.match(_norm(text).lower())
    unit = match.group(2) if match else None
    if match is None or unit not in _UNITS:
        raise _BadCell(f"时限 {text} 无法识别，应形如 5分钟、2小时、3天（或秒数）")
    seconds = float(match.group(1)) * _UNITS[unit]
    if seconds != int(seconds) or not 1 <= seconds <= MAX_SECONDS:
        raise _BadCell(f"时限 {text} 应在 1 秒到 366 天之间，且为整秒")
    return int(seconds)


def _priority(text: str) -> str:
    key = _norm(text)
    code = _PRIORITY.get(key) or key.lower()
    if code not in Priority.values:
        raise _BadCell(f"紧急程度 {text} 不认识，应为 紧急、一般 或 复杂")
    return code


def _basis(text: str) -> str:
    key = _norm(text)
    code = _BASIS.get(key) or key.lower()
    if code not in {b.value for b in Basis}:
        labels = "、".join(str(label) for _, label in BASIS_CHOICES)
        raise _BadCell(f"计时方式 {text} 不认识，应为 {labels} 之一")
    return code


def _yes(text: str) -> bool:
    key = _norm(text).lower()
    if key not in _YES:
        raise _BadCell(f"需现场照片 {text} 应为 是 或 否")
    return _YES[key]


def _code(text: str, label: str) -> str:
    code = _norm(text)
    if len(code) > 32 or not re.match(r"^[A-Za-z0-9_-]+$", code):
        raise _BadCell(f"{label} {text} 不合格：只能由字母、数字、- 或 _ 组成，最长 32 位")
    return code


# --- reading -------------------------------------------------------------------------------


def _read_categories(raw: list[Any], out: list[Problem]) -> list[CategoryRow]:
    rows = []
    for number, cells in sheet_rows(CATEGORIES_SHEET, raw, COLUMNS[CATEGORIES_SHEET], out):
        r = _RowReader(CATEGORIES_SHEET, number, cells, out)
        rows.append(
            CategoryRow(
                number,
                r.parse("code", "编码", lambda t: _code(t, "编码"), required=True),
                r.parse("name", "名称", lambda t: _limited(t, "名称", 100), required=True) or "",
                r.parse("department", "默认部门编码", lambda t: _code(t, "默认部门编码")),
                r.parse("on_site", "需现场照片", _yes),
                r.parse("default_priority", "默认紧急程度", _priority),
                r.parse("keywords", "关键词", lambda t: t) or "",
            )
        )
    return rows


def _read_policies(raw: list[Any], out: list[Problem]) -> list[PolicyRow]:
    rows = []
    for number, cells in sheet_rows(POLICIES_SHEET, raw, COLUMNS[POLICIES_SHEET], out):
        r = _RowReader(POLICIES_SHEET, number, cells, out)
        category = r.parse("category", "类别编码", lambda t: _code(t, "类别编码"))
        priority = r.parse("priority", "紧急程度", _priority, required=True)
        values: dict[str, Any] = {}
        for column in COLUMNS[POLICIES_SHEET][2:]:
            parser = _basis if column.key in BASES else parse_duration
            value = r.parse(column.key, column.header, parser)
            if value is not None:
                values[column.key] = value
        rows.append(PolicyRow(number, category, priority, values, bool(r.bad)))
    return rows


def read_workbook(path: str | Path) -> PolicyData:
    """Read the 类别 and 时限规则 sheets (either may be absent, not both)."""
    raw = read_sheets(path, SHEETS, PolicyImportFailed)
    data = PolicyData(sheets=tuple(raw))
    if not raw:
        data.problems.append(Problem(f"缺少工作表：需要“{CATEGORIES_SHEET}”或“{POLICIES_SHEET}”"))
        return data
    p = data.problems
    data.categories = _read_categories(raw.get(CATEGORIES_SHEET, []), p)
    data.policies = _read_policies(raw.get(POLICIES_SHEET, []), p)
    return data


# --- checking and writing ------------------------------------------------------------------


def _check(data: PolicyData, out: list[Problem]) -> tuple[dict[str, CategoryRow], set[str]]:
    """Rows against each other and the database; the category rows by code and the codes
    already in the database."""
    by_code: dict[str, CategoryRow] = {}
    for row in data.categories:
        if row.code is None:
            continue
        if row.code in by_code:
            first = by_code[row.code].row
            out.append(Problem(f"编码 {row.code} 与第{first}行重复", CATEGORIES_SHEET, row.row))
            continue
        by_code[row.code] = row
    departments = set(Department.objects.values_list("code", flat=True))
    for row in by_code.values():
        if row.department and row.department not in departments:
            out.append(Problem(f"默认部门编码 {row.department} 不存在", CATEGORIES_SHEET, row.row))
    existing = set(Category.objects.values_list("code", flat=True))
    seen: dict[tuple[str | None, str], int] = {}
    for policy in data.policies:
        if policy.bad or policy.priority is None:
            continue
        if policy.category and policy.category not in by_code | dict.fromkeys(existing):
            out.append(
                Problem(
                    f"类别编码 {policy.category} 不存在"
                    f"（本文件“{CATEGORIES_SHEET}”表和系统中都没有）",
                    POLICIES_SHEET,
                    policy.row,
                )
            )
        key = (policy.category, policy.priority)
        if key in seen:
            out.append(
                Problem(
                    f"与第{seen[key]}行重复（同一类别、同一紧急程度）", POLICIES_SHEET, policy.row
                )
            )
        seen.setdefault(key, policy.row)
    return by_code, existing


def _write(data: PolicyData, categories: dict[str, CategoryRow], summary: PolicySummary) -> None:
    departments = Department.objects.in_bulk(
        {r.department for r in categories.values() if r.department}, field_name="code"
    )
    stored = Category.objects.in_bulk(list(categories), field_name="code")
    for code, row in categories.items():
        values: dict[str, Any] = {"name": row.name}
        if row.department:
            values["department"] = departments[row.department]
        if row.on_site is not None:
            values["on_site"] = row.on_site
        if row.default_priority:
            values["default_priority"] = row.default_priority
        if row.keywords:
            values["keywords"] = row.keywords
        category = stored.get(code)
        if category is None:
            Category.objects.create(code=code, **values)
            summary.categories.created += 1
            continue
        changed = [k for k, v in values.items() if getattr(category, k) != v]
        if changed:
            for k in changed:
                setattr(category, k, values[k])
            category.save(update_fields=changed)
            summary.categories.updated += 1
        else:
            summary.categories.unchanged += 1
    codes = Category.objects.in_bulk(
        {p.category for p in data.policies if p.category}, field_name="code"
    )
    for p in data.policies:
        assert p.priority is not None  # checked
        category = codes[p.category] if p.category else None
        policy = ClockPolicy.objects.filter(category=category, priority=p.priority).first()
        if policy is None:
            ClockPolicy.objects.create(category=category, priority=p.priority, **p.values)
            summary.policies.created += 1
            continue
        changed = [k for k, v in p.values.items() if getattr(policy, k) != v]
        if changed:
            for k in changed:
                setattr(policy, k, p.values[k])
            policy.save(update_fields=changed)
            summary.policies.updated += 1
        else:
            summary.policies.unchanged += 1


def import_policies(data: PolicyData, *, dry_run: bool = False) -> PolicySummary:
    """Check `data` and write it all, or nothing (PolicyImportFailed with every problem)."""
    summary = PolicySummary(dry_run=dry_run)
    try:
        with transaction.atomic():
            problems = list(data.problems)
            categories, _existing = _check(data, problems)
            if problems:
                raise PolicyImportFailed(problems)
            _write(data, categories, summary)
            if dry_run:
                transaction.set_rollback(True)
    except DatabaseError as exc:
        raise PolicyImportFailed(
            [Problem(f"写入数据库时出错，已全部回滚，未导入任何数据：{exc}")]
        ) from exc
    return summary


def write_template(path: str | Path) -> None:
    """An empty workbook: both sheets with headers, an example row and drop-downs."""
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for sheet in SHEETS:
        ws = book.create_sheet(sheet)
        columns = COLUMNS[sheet]
        ws.append([c.header for c in columns])
        ws.append(EXAMPLES[sheet])
        ws.freeze_panes = "A2"
        for i, column in enumerate(columns, start=1):
            letter = get_column_letter(i)
            head = ws.cell(row=1, column=i)
            head.font = Font(bold=True)
            head.fill = PatternFill("solid", fgColor="DDEBF7")
            ws.column_dimensions[letter].width = 16
            choices = {
                "default_priority": "紧急,一般,复杂",
                "priority": "紧急,一般,复杂",
                "on_site": "是,否",
                "claim_basis": "自然时间,工作日,工作时间",
                "resolution_basis": "自然时间,工作日,工作时间",
            }.get(column.key)
            if choices:
                dv = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
                dv.add(f"{letter}2:{letter}1000")
                ws.add_data_validation(dv)
            if column.key in ("code", "category", "department"):
                for row in range(2, 1001):
                    ws.cell(row=row, column=i).number_format = "@"
    guide = book.create_sheet("说明", 0)
    guide.append(["类别与时限规则导入模板（yishiting import-policies 文件名.xlsx）"])
    guide.append(["第 1 行是表头，从第 2 行起每行一条；任何一行有错，整个文件都不会导入。"])
    guide.append(["两张表可以只填一张；已有的编码（或类别 + 紧急程度）会被更新，不会重复创建。"])
    guide.append([])
    guide.append(["表", "列", "表头必需", "说明"])
    for sheet in SHEETS:
        for column in COLUMNS[sheet]:
            guide.append([sheet, column.header, "是" if column.required else "否", column.note])
    guide["A1"].font = Font(bold=True, size=14)
    for width, letter in zip((12, 16, 8, 60), "ABCD", strict=True):
        guide.column_dimensions[letter].width = width
    book.save(path)
