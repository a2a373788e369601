"""Import a county's halls, departments and people from an Excel workbook (docs/import-org.md).

Two steps: `read_workbook` turns the three sheets into rows (cell-level checks only, no
database), `import_org` checks the rows against each other and the database and, only when
nothing is wrong anywhere, writes them all in one transaction. Messages are Chinese: they are
read by county staff fixing their spreadsheet.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import translation
from openpyxl import load_workbook

from yishiting.orgs.models import (
    CODE_PATTERN,
    PARENT_KINDS,
    ROLE_HALL_KINDS,
    Department,
    Hall,
    HallKind,
    Membership,
    Role,
    User,
)
from yishiting.requests.clocks import WorkingHours

__all__ = [
    "COLUMNS",
    "DEPARTMENTS_SHEET",
    "HALLS_SHEET",
    "MAX_ERRORS",
    "PEOPLE_SHEET",
    "SHEETS",
    "Column",
    "Counts",
    "ImportFailed",
    "OrgData",
    "Problem",
    "Summary",
    "hall_kind_label",
    "import_org",
    "read_workbook",
    "role_label",
]

# Only this many errors are shown; the total is always given.
MAX_ERRORS = 50

HALLS_SHEET = "议事厅"
DEPARTMENTS_SHEET = "部门"
PEOPLE_SHEET = "人员"
SHEETS = (HALLS_SHEET, DEPARTMENTS_SHEET, PEOPLE_SHEET)

# Short forms people type besides the official labels.
_KIND_ALIASES = {"乡镇": "township", "街道": "township", "乡": "township", "镇": "township"}
_ROLE_ALIASES = {
    "代表": "representative",
    "村民代表": "representative",
    "居民代表": "representative",
    "值守": "duty",
    "值班人员": "duty",
}

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
# Area code (3 digits for 010 and 02x, else 4), 7–8 digit number, optional extension.
_LANDLINE_RE = re.compile(r"^(0(?:10|2\d|[3-9]\d{2}))-?(\d{7,8})(?:-(\d{1,6}))?$")
_ZEROS_RE = re.compile(r"^0+$")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97–2003 .xls
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Column:
    """One column of a sheet: Chinese header, English key, whether the header must exist."""

    key: str
    header: str
    required: bool
    example: str
    note: str


COLUMNS: dict[str, tuple[Column, ...]] = {
    HALLS_SHEET: (
        Column("code", "编码", True, "130525", "唯一；字母、数字、- 或 _，最长 32 位"),
        Column("name", "名称", True, "隆尧县", "最长 100 字"),
        Column("kind", "类型", True, "县", "县、乡镇/街道、村、社区、小区、家长议事厅、……"),
        Column("parent", "上级编码", True, "", "县级留空，其余必填；上级可在本表任意行或系统中"),
        Column("address", "地址", False, "隆尧县城关镇政府街 1 号", "可空；留空不改已有地址"),
    ),
    DEPARTMENTS_SHEET: (
        Column("code", "编码", True, "lyx-zhujian", "唯一；字母、数字、- 或 _，最长 32 位"),
        Column("name", "名称", True, "住房和城乡建设局", "最长 100 字"),
        Column("county", "所属县编码", True, "130525", "须是县级议事厅的编码"),
        Column(
            "working_hours",
            "工作时间",
            False,
            "08:30-12:00,13:30-17:30",
            "可空；新部门默认 08:30-12:00,13:30-17:30",
        ),
    ),
    PEOPLE_SHEET: (
        Column("username", "用户名", True, "zhangli", "登录名；同一人可占多行（多个角色或议事厅）"),
        Column("name", "姓名", True, "张丽", "新用户必填（同一人填一行即可）"),
        Column("phone", "手机号", False, "13812345678", "11 位手机号或带区号座机，可空"),
        Column("role", "角色", True, "联络员", "联络员、管理员、交办员、部门人员、……"),
        Column("hall", "议事厅编码", True, "130525", "除部门人员外必填"),
        Column("department", "部门编码", False, "", "部门人员必填，其他角色留空"),
    ),
}


def _labels(choices: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Chinese source labels of model choices (whatever language is active) → code."""
    with translation.override(None):
        return {str(label): value for value, label in choices}


def hall_kind_label(kind: str) -> str:
    """The Chinese label of a hall kind code."""
    with translation.override(None):
        return str(HallKind(kind).label)


def role_label(role: str) -> str:
    """The Chinese label of a role code."""
    with translation.override(None):
        return str(Role(role).label)


@dataclass(frozen=True)
class Problem:
    """One error: where (sheet and Excel row, when known) and what."""

    message: str
    sheet: str | None = None
    row: int | None = None

    def __str__(self) -> str:
        """Format as `议事厅!第7行: 上级编码 130525999 不存在`."""
        if self.sheet is None:
            return self.message
        if self.row is None:
            return f"{self.sheet}: {self.message}"
        return f"{self.sheet}!第{self.row}行: {self.message}"

    def sort_key(self) -> tuple[int, int, str]:
        """Order by sheet, then row; whole-file and whole-sheet problems first."""
        sheet = SHEETS.index(self.sheet) if self.sheet in SHEETS else -1
        return (sheet, self.row or 0, self.message)


class ImportFailed(Exception):
    """The workbook cannot be imported; nothing was written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        """Keep every problem, sorted by sheet and row."""
        self.problems = sorted(problems, key=Problem.sort_key)
        super().__init__(self.report())

    def report(self, limit: int = MAX_ERRORS) -> str:
        """The problems as lines, at most `limit` of them, under a one-line verdict."""
        shown = self.problems[:limit]
        lines = [f"导入失败，未写入任何数据。共 {len(self.problems)} 处错误："]
        lines += [str(p) for p in shown]
        if len(self.problems) > limit:
            lines.append(f"……另有 {len(self.problems) - limit} 处错误未列出，请先改正以上错误")
        return "\n".join(lines)


@dataclass
class HallRow:
    """A row of 议事厅; cells that could not be read are None and their keys are in `bad`."""

    row: int
    code: str | None
    name: str
    kind: HallKind | None
    parent: str | None
    address: str
    bad: frozenset[str] = frozenset()


@dataclass
class DepartmentRow:
    """A row of 部门."""

    row: int
    code: str | None
    name: str
    county: str | None
    working_hours: str
    bad: frozenset[str] = frozenset()


@dataclass
class PersonRow:
    """A row of 人员: one role of one person in one hall or department."""

    row: int
    username: str | None
    name: str
    phone: str
    role: Role | None
    hall: str | None
    department: str | None
    bad: frozenset[str] = frozenset()


@dataclass
class OrgData:
    """What a workbook holds, with the problems found while reading its cells."""

    halls: list[HallRow] = field(default_factory=list)
    departments: list[DepartmentRow] = field(default_factory=list)
    people: list[PersonRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Counts:
    """Rows created, updated and left as they were."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        """`新建 3，更新 1，未变 0`."""
        return f"新建 {self.created}，更新 {self.updated}，未变 {self.unchanged}"


@dataclass
class Summary:
    """What an import did."""

    halls: Counts = field(default_factory=Counts)
    departments: Counts = field(default_factory=Counts)
    users: Counts = field(default_factory=Counts)
    memberships_created: int = 0
    memberships_existing: int = 0
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def lines(self) -> list[str]:
        """The summary as printable lines."""
        head = "检查通过（试运行，未写入任何数据）：" if self.dry_run else "导入完成："
        return [
            head,
            f"  {HALLS_SHEET}：{self.halls}",
            f"  {DEPARTMENTS_SHEET}：{self.departments}",
            f"  {PEOPLE_SHEET}：{self.users}",
            f"  角色：新建 {self.memberships_created}，已有 {self.memberships_existing}",
            *(f"注意：{w}" for w in self.warnings),
        ]


# --- reading ------------------------------------------------------------------------------


class _BadCell(Exception):
    """A cell that cannot be read; the message says why, in Chinese."""


def _cell_text(value: Any, number_format: str | None) -> str:
    """A cell as trimmed text: numbers become digit strings (no '.0'), blanks ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise _BadCell("是逻辑值 TRUE/FALSE，应为文本")
    if isinstance(value, datetime | date | time | timedelta):
        raise _BadCell("被 Excel 当成了日期或时间，请把该列设为“文本”格式后重新填写")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        text = str(value)
        # A number shown with leading zeros ("000123") keeps them, as the user sees it.
        if number_format and _ZEROS_RE.match(number_format):
            text = text.zfill(len(number_format))
        return text
    return str(value).strip()


def _norm(text: str) -> str:
    """Fold full-width letters, digits and punctuation (Chinese input methods) to ASCII."""
    return unicodedata.normalize("NFKC", text).strip()


def _code(text: str, label: str) -> str:
    """A hall or department code, validated."""
    code = _norm(text)
    if not CODE_PATTERN.match(code):
        raise _BadCell(f"{label} {text} 不合格：只能由字母、数字、- 或 _ 组成，最长 32 位")
    return code


def _kind(text: str) -> HallKind:
    """A hall kind from its Chinese label, a short form, or its English code."""
    key = _norm(text)
    labels = _labels(HallKind.choices)
    code = labels.get(key) or _KIND_ALIASES.get(key) or key.lower()
    if code not in HallKind.values:
        raise _BadCell(f"类型 {text} 不认识，应为 {'、'.join(labels)} 之一")
    return HallKind(code)


def _role(text: str) -> Role:
    """A role from its Chinese label, a short form, or its English code."""
    key = _norm(text)
    labels = _labels(Role.choices)
    code = labels.get(key) or _ROLE_ALIASES.get(key) or key.lower()
    if code not in Role.values:
        raise _BadCell(f"角色 {text} 不认识，应为 {'、'.join(labels)} 之一")
    return Role(code)


def _phone(text: str) -> str:
    """A mainland mobile (11 digits) or landline with area code, normalised."""
    compact = re.sub(r"[\s()（）]", "", _norm(text))
    if compact.startswith("+86"):
        compact = compact[3:]
    mobile = compact.replace("-", "")
    if _MOBILE_RE.match(mobile):
        return mobile
    match = _LANDLINE_RE.match(compact)
    if match:
        area, number, extension = match.groups()
        return f"{area}-{number}" + (f"-{extension}" if extension else "")
    hint = ""
    if compact.isdigit() and compact[0] != "0" and 9 <= len(compact) <= 11:
        hint = "；座机号开头的 0 可能被 Excel 去掉了，请把该列设为“文本”格式"
    raise _BadCell(
        f"手机号 {text} 格式不对：应为 11 位手机号（如 13812345678）"
        f"或带区号的座机（如 0319-6661234）{hint}"
    )


def _username(text: str) -> str:
    """A login name, validated like Django's own forms do."""
    username = User.normalize_username(text.strip())
    if len(username) > 150:
        raise _BadCell(f"用户名 {text} 太长（最多 150 个字符）")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        raise _BadCell(f"用户名 {text} 不合格：只能包含文字、数字和 @ . + - _，不能有空格") from exc
    return username


def _limited(text: str, label: str, limit: int) -> str:
    """Text no longer than the model field allows."""
    if len(text) > limit:
        raise _BadCell(f"{label}太长（{len(text)} 字，最多 {limit} 字）")
    return text


def _hours(text: str) -> str:
    """Working hours in canonical form, e.g. '08:30-12:00,13:30-17:30'."""
    try:
        return str(WorkingHours.parse(text))
    except ValueError as exc:
        # The parser's detail is English; the verdict and the expected form are Chinese.
        raise _BadCell(
            f"工作时间 {text} 无法识别，应形如 08:30-12:00,13:30-17:30（{exc}）"
        ) from exc


class _RowReader:
    """Reads one row's cells by column key, collecting problems instead of stopping."""

    def __init__(
        self, sheet: str, row: int, cells: dict[str, tuple[Any, str | None]], out: list[Problem]
    ) -> None:
        """Wrap a row's raw cells (value, number format) keyed by column key."""
        self.sheet, self.row, self.cells, self.out = sheet, row, cells, out
        self.bad: set[str] = set()

    def fail(self, key: str, message: str) -> None:
        """Record a problem with one cell of this row."""
        self.bad.add(key)
        self.out.append(Problem(message, self.sheet, self.row))

    def text(self, key: str, header: str) -> str | None:
        """The cell as text ('' when blank), or None after recording why it is unreadable."""
        value, number_format = self.cells.get(key, (None, None))
        try:
            return _cell_text(value, number_format)
        except _BadCell as exc:
            self.fail(key, f"{header}{exc}")
            return None

    def parse(self, key: str, header: str, parser: Any, *, required: bool = False) -> Any:
        """The cell parsed, None when blank or bad; a bad or missing required value fails."""
        text = self.text(key, header)
        if text is None:
            return None
        if not text:
            if required:
                self.fail(key, f"{header}不能为空")
            return None
        try:
            return parser(text)
        except _BadCell as exc:
            self.fail(key, str(exc))
            return None


def _header_key(value: Any, columns: Sequence[Column]) -> str | None:
    """Which column a header cell names (Chinese header or English key; a trailing * is ok)."""
    if not isinstance(value, str):
        return None
    text = _norm(value).rstrip("*").strip()
    for column in columns:
        if text == column.header or text.lower() == column.key:
            return column.key
    return None


def sheet_rows(
    sheet: str,
    rows: list[list[tuple[Any, str | None]]],
    columns: Sequence[Column],
    out: list[Problem],
) -> list[tuple[int, dict[str, tuple[Any, str | None]]]]:
    """Non-blank data rows of a sheet as (Excel row number, cells by column key); none when a
    required header is missing (reported in `out`, like a repeated header)."""
    index: dict[str, int] = {}
    for i, (value, _fmt) in enumerate(rows[0] if rows else []):
        key = _header_key(value, columns)
        if key is None:
            continue  # extra columns (remarks, serial numbers) are ignored
        if key in index:
            out.append(Problem(f"表头“{value}”出现了不止一次", sheet))
        index.setdefault(key, i)
    missing = [c.header for c in columns if c.required and c.key not in index]
    if missing:
        out.append(Problem(f"缺少表头“{'”“'.join(missing)}”（表头在第 1 行）", sheet))
        return []
    result = []
    for number, cells in enumerate(rows[1:], start=2):
        picked = {key: cells[i] if i < len(cells) else (None, None) for key, i in index.items()}
        if all(v is None or (isinstance(v, str) and not v.strip()) for v, _ in picked.values()):
            continue  # blank row
        result.append((number, picked))
    return result


def _read_halls(rows: list[tuple[int, dict[str, Any]]], out: list[Problem]) -> list[HallRow]:
    """Rows of 议事厅."""
    halls = []
    for number, cells in rows:
        r = _RowReader(HALLS_SHEET, number, cells, out)
        code = r.parse("code", "编码", lambda t: _code(t, "编码"), required=True)
        name = r.parse("name", "名称", lambda t: _limited(t, "名称", 100), required=True)
        kind = r.parse("kind", "类型", _kind, required=True)
        parent = r.parse("parent", "上级编码", lambda t: _code(t, "上级编码"))
        address = r.parse("address", "地址", lambda t: _limited(t, "地址", 200))
        halls.append(
            HallRow(number, code, name or "", kind, parent, address or "", frozenset(r.bad))
        )
    return halls


def _read_departments(
    rows: list[tuple[int, dict[str, Any]]], out: list[Problem]
) -> list[DepartmentRow]:
    """Rows of 部门."""
    departments = []
    for number, cells in rows:
        r = _RowReader(DEPARTMENTS_SHEET, number, cells, out)
        code = r.parse("code", "编码", lambda t: _code(t, "编码"), required=True)
        name = r.parse("name", "名称", lambda t: _limited(t, "名称", 100), required=True)
        county = r.parse("county", "所属县编码", lambda t: _code(t, "所属县编码"), required=True)
        hours = r.parse("working_hours", "工作时间", _hours)
        departments.append(
            DepartmentRow(number, code, name or "", county, hours or "", frozenset(r.bad))
        )
    return departments


def _read_people(rows: list[tuple[int, dict[str, Any]]], out: list[Problem]) -> list[PersonRow]:
    """Rows of 人员."""
    people = []
    for number, cells in rows:
        r = _RowReader(PEOPLE_SHEET, number, cells, out)
        username = r.parse("username", "用户名", _username, required=True)
        name = r.parse("name", "姓名", lambda t: _limited(t, "姓名", 50))
        phone = r.parse("phone", "手机号", _phone)
        role = r.parse("role", "角色", _role, required=True)
        hall = r.parse("hall", "议事厅编码", lambda t: _code(t, "议事厅编码"))
        department = r.parse("department", "部门编码", lambda t: _code(t, "部门编码"))
        people.append(
            PersonRow(
                number,
                username,
                name or "",
                phone or "",
                role,
                hall,
                department,
                frozenset(r.bad),
            )
        )
    return people


Rows = list[list[tuple[Any, str | None]]]


def read_sheets(
    path: str | Path, sheets: Sequence[str], failed: type[ImportFailed] = ImportFailed
) -> dict[str, Rows]:
    """The named sheets of an .xlsx file that has them, as rows of (value, number format);
    `failed` (with one problem) when the file itself is missing or not a workbook."""
    path = Path(path)

    def unreadable(why: str) -> ImportFailed:
        return failed([Problem(f"无法读取 {path.name}：{why}")])

    if not path.is_file():
        raise failed([Problem(f"找不到文件 {path}")])
    with path.open("rb") as fh:
        magic = fh.read(8)
        fh.seek(0)
        if magic.startswith(_OLE_MAGIC):
            raise unreadable(
                "这是旧版 Excel 97-2003（.xls）文件，请在 Excel 中另存为“Excel 工作簿 (.xlsx)”"
            )
        if not magic.startswith(_ZIP_MAGIC):
            raise unreadable("不是 Excel 工作簿（.xlsx）文件")
        raw: dict[str, Rows] = {}
        try:
            # read_only streams the sheets; data_only gives formulas' saved results.
            book = load_workbook(fh, read_only=True, data_only=True)
            try:
                names = {name.strip(): name for name in book.sheetnames}
                for sheet in sheets:
                    if sheet in names:
                        raw[sheet] = [
                            [(c.value, getattr(c, "number_format", None)) for c in row]
                            for row in book[names[sheet]].iter_rows()
                        ]
            finally:
                book.close()
        except Exception as exc:  # openpyxl raises many kinds of error on a damaged file
            raise unreadable(
                f"文件已损坏或不是 Excel 工作簿（.xlsx）（{type(exc).__name__}）"
            ) from exc
    return raw


def read_workbook(path: str | Path) -> OrgData:
    """Read the three sheets of a workbook; ImportFailed if the file itself is unusable."""
    raw = read_sheets(path, SHEETS)
    data = OrgData()
    missing = [sheet for sheet in SHEETS if sheet not in raw]
    if missing:
        data.problems.append(
            Problem(
                f"缺少工作表“{'”“'.join(missing)}”（需要“{'”“'.join(SHEETS)}”三张表，"
                "不用的表保留表头即可）"
            )
        )
    p = data.problems
    data.halls = _read_halls(
        sheet_rows(HALLS_SHEET, raw.get(HALLS_SHEET, []), COLUMNS[HALLS_SHEET], p), p
    )
    data.departments = _read_departments(
        sheet_rows(
            DEPARTMENTS_SHEET, raw.get(DEPARTMENTS_SHEET, []), COLUMNS[DEPARTMENTS_SHEET], p
        ),
        p,
    )
    data.people = _read_people(
        sheet_rows(PEOPLE_SHEET, raw.get(PEOPLE_SHEET, []), COLUMNS[PEOPLE_SHEET], p), p
    )
    if missing:
        # A missing sheet is not also a sheet with missing headers.
        data.problems = [q for q in data.problems if q.sheet not in missing]
    return data


# --- checking against each other and the database ------------------------------------------


@dataclass
class _Tree:
    """The hall tree as it will be after the import: database rows overlaid with the file."""

    parent: dict[str, str | None]
    kind: dict[str, HallKind | None]
    db_children: dict[str, list[str]]
    db_kind: dict[str, str]
    rows: dict[str, HallRow]

    def depth(self, code: str) -> int:
        """Levels above `code` (the tree is known to be acyclic when this is called)."""
        depth, node = 0, self.parent.get(code)
        while node is not None:
            depth, node = depth + 1, self.parent.get(node)
        return depth


def _first_rows(rows: Sequence[Any], sheet: str, out: list[Problem]) -> dict[str, Any]:
    """Rows by code; a code already used on an earlier row is an error (and left out)."""
    first: dict[str, Any] = {}
    for row in rows:
        if row.code is None:
            continue
        if row.code in first:
            out.append(Problem(f"编码 {row.code} 与第{first[row.code].row}行重复", sheet, row.row))
        else:
            first[row.code] = row
    return first


def _hall_tree(data: OrgData, out: list[Problem]) -> _Tree:
    """Build the future tree and check parents, cycles and kinds."""
    rows: dict[str, HallRow] = _first_rows(data.halls, HALLS_SHEET, out)
    parent: dict[str, str | None] = {}
    kind: dict[str, HallKind | None] = {}
    db_kind: dict[str, str] = {}
    db_children: dict[str, list[str]] = defaultdict(list)
    for code, parent_code, hall_kind in Hall.objects.values_list("code", "parent__code", "kind"):
        parent[code], kind[code], db_kind[code] = parent_code, HallKind(hall_kind), hall_kind
        if parent_code is not None:
            db_children[parent_code].append(code)
    for code, row in rows.items():
        parent[code], kind[code] = row.parent, row.kind
    tree = _Tree(parent, kind, db_children, db_kind, rows)
    # Rows with a wrong parent get one message for it, not one per later check.
    flagged: set[str] = set()

    def fail(row: HallRow, message: str) -> None:
        flagged.add(str(row.code))
        out.append(Problem(message, HALLS_SHEET, row.row))

    for code, row in rows.items():
        if row.kind is None or "parent" in row.bad:
            continue
        label = hall_kind_label(row.kind)
        if row.kind == HallKind.COUNTY:
            if row.parent is not None:
                fail(row, f"县级议事厅没有上级，上级编码应留空（现为 {row.parent}）")
        elif row.parent is None:
            fail(row, f"类型为{label}的议事厅须填写上级编码（只有县级议事厅没有上级）")
        elif row.parent == code:
            fail(row, "上级编码不能是本厅自己的编码")
        elif row.parent not in kind:
            fail(row, f"上级编码 {row.parent} 不存在（本表和系统中都没有）")

    for code, cycle in _cycles(tree).items():
        if code not in flagged:
            fail(rows[code], f"上级关系成环：{' → '.join(cycle)}")

    for code, row in rows.items():
        if code in flagged or row.kind is None or row.parent is None:
            continue
        parent_kind = kind.get(row.parent)
        if parent_kind is not None and parent_kind not in PARENT_KINDS[row.kind]:
            allowed = "或".join(hall_kind_label(k) for k in _ordered(PARENT_KINDS[row.kind]))
            fail(
                row,
                f"{hall_kind_label(row.kind)}的上级须是{allowed}，"
                f"而上级 {row.parent} 是{hall_kind_label(parent_kind)}",
            )

    for code, row in rows.items():
        if row.kind is None or code not in db_kind or db_kind[code] == row.kind:
            continue
        # Changing an existing hall's kind must not strand the children it already has.
        for child in db_children.get(code, []):
            child_kind = kind[child]
            if child in rows or child_kind is None or row.kind in PARENT_KINDS[child_kind]:
                continue
            out.append(
                Problem(
                    f"类型不能改为{hall_kind_label(row.kind)}：系统中已有下级 {child}"
                    f"（{hall_kind_label(child_kind)}）不能挂在{hall_kind_label(row.kind)}下",
                    HALLS_SHEET,
                    row.row,
                )
            )
    return tree


def _ordered(kinds: Iterable[HallKind]) -> list[HallKind]:
    """Kinds in the order HallKind declares them."""
    return [k for k in HallKind if k in set(kinds)]


def _cycles(tree: _Tree) -> dict[str, list[str]]:
    """File rows that sit on a cycle of parents, each with the cycle as a list of codes."""
    found: dict[str, list[str]] = {}
    done: set[str] = set()
    for start in tree.rows:
        chain: list[str] = []
        node: str | None = start
        while node is not None and node not in done:
            if node in chain:
                cycle = [*chain[chain.index(node) :], node]
                for code in cycle:
                    if code in tree.rows:
                        found.setdefault(code, cycle)
                break
            chain.append(node)
            node = tree.parent.get(node)
        done.update(chain)
    return found


def _check_departments(
    data: OrgData, tree: _Tree, out: list[Problem]
) -> tuple[dict[str, DepartmentRow], set[str]]:
    """Check department rows; return them by code and the codes already in the database."""
    rows: dict[str, DepartmentRow] = _first_rows(data.departments, DEPARTMENTS_SHEET, out)
    for row in rows.values():
        if row.county is None:
            continue
        county_kind = tree.kind.get(row.county)
        if row.county not in tree.kind:
            out.append(Problem(f"所属县编码 {row.county} 不存在", DEPARTMENTS_SHEET, row.row))
        elif county_kind is not None and county_kind != HallKind.COUNTY:
            out.append(
                Problem(
                    f"所属县编码 {row.county} 是{hall_kind_label(county_kind)}，不是县级议事厅",
                    DEPARTMENTS_SHEET,
                    row.row,
                )
            )
    # A county whose kind the file changes must not strand the departments it already has.
    for code, hall in tree.rows.items():
        was_county = tree.db_kind.get(code) == HallKind.COUNTY
        if hall.kind is None or hall.kind == HallKind.COUNTY or not was_county:
            continue
        stranded = [
            dept
            for dept in Department.objects.filter(county__code=code).values_list("code", flat=True)
            if dept not in rows or rows[dept].county == code
        ]
        if stranded:
            out.append(
                Problem(
                    f"类型不能改为{hall_kind_label(hall.kind)}：系统中部门 {'、'.join(stranded)} "
                    "属于该县",
                    HALLS_SHEET,
                    hall.row,
                )
            )
    wanted = set(rows) | {p.department for p in data.people if p.department}
    existing = set(Department.objects.filter(code__in=wanted).values_list("code", flat=True))
    return rows, existing


def _check_people(
    data: OrgData,
    tree: _Tree,
    departments: dict[str, DepartmentRow],
    db_departments: set[str],
    out: list[Problem],
) -> set[str]:
    """Check people rows; return the usernames already in the database."""
    usernames = {p.username for p in data.people if p.username}
    existing = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    seen: dict[tuple[str, str, str | None, str | None], int] = {}
    name_at: dict[str, PersonRow] = {}
    phone_at: dict[str, PersonRow] = {}
    unreadable_name: set[str] = set()

    for row in data.people:

        def fail(message: str, row: PersonRow = row) -> None:
            out.append(Problem(message, PEOPLE_SHEET, row.row))

        if row.username is None:
            continue
        if "name" in row.bad:
            unreadable_name.add(row.username)
        if row.name:
            first = name_at.setdefault(row.username, row)
            if first.name != row.name:
                fail(f"姓名“{row.name}”与第{first.row}行的“{first.name}”不一致（同一用户名）")
        if row.phone:
            first = phone_at.setdefault(row.username, row)
            if first.phone != row.phone:
                fail(f"手机号 {row.phone} 与第{first.row}行的 {first.phone} 不一致（同一用户名）")
        if row.role is None:
            continue
        label = role_label(row.role)
        if row.role == Role.DEPARTMENT:
            if row.department is None and "department" not in row.bad:
                fail(f"角色为{label}时须填写部门编码")
            if row.hall is not None:
                fail(f"角色为{label}时只填部门编码，议事厅编码应留空")
        else:
            if row.hall is None and "hall" not in row.bad:
                fail(f"角色为{label}时须填写议事厅编码")
            if row.department is not None:
                fail(f"角色为{label}时部门编码应留空（只有部门人员填写部门）")
        if row.hall is not None:
            hall_kind = tree.kind.get(row.hall)
            if row.hall not in tree.kind:
                fail(f"议事厅编码 {row.hall} 不存在")
            elif hall_kind is not None and row.role in ROLE_HALL_KINDS:
                allowed = ROLE_HALL_KINDS[row.role]
                if hall_kind not in allowed:
                    names = "或".join(hall_kind_label(k) for k in _ordered(allowed))
                    fail(f"{label}只能设在{names}，而 {row.hall} 是{hall_kind_label(hall_kind)}")
        if (
            row.department is not None
            and row.department not in departments
            and row.department not in db_departments
        ):
            fail(f"部门编码 {row.department} 不存在")
        key = (row.username, row.role.value, row.hall, row.department)
        if key in seen:
            fail(f"与第{seen[key]}行重复（同一人、同一角色、同一议事厅或部门）")
        else:
            seen[key] = row.row

    first_rows: dict[str, PersonRow] = {}
    for row in data.people:
        if row.username:
            first_rows.setdefault(row.username, row)
    named = existing | name_at.keys() | unreadable_name
    for username, row in first_rows.items():
        if username not in named:
            out.append(
                Problem(
                    f"新用户 {username} 须填写姓名（同一人的各行中至少一行）", PEOPLE_SHEET, row.row
                )
            )
    return existing


# --- writing -----------------------------------------------------------------------------


def _set(obj: Any, values: dict[str, Any]) -> bool:
    """Set attributes that differ; whether anything changed."""
    changed = False
    for attr, value in values.items():
        if getattr(obj, attr) != value:
            setattr(obj, attr, value)
            changed = True
    return changed


def _write_halls(tree: _Tree, counts: Counts) -> None:
    """Create or update the file's halls, parents before children."""
    for code in sorted(tree.rows, key=lambda c: (tree.depth(c), tree.rows[c].row)):
        row = tree.rows[code]
        # Fetched fresh each time: moving a hall rewrites its subtree's paths in the database,
        # and Hall.save computes a path from its parent's current one.
        parent = Hall.objects.get(code=row.parent) if row.parent else None
        hall = Hall.objects.filter(code=code).first()
        assert row.kind is not None  # checked
        if hall is None:
            Hall.objects.create(
                code=code, name=row.name, kind=row.kind, parent=parent, address=row.address
            )
            counts.created += 1
            continue
        values: dict[str, Any] = {"name": row.name, "kind": row.kind.value}
        if row.address:
            values["address"] = row.address
        changed = _set(hall, values)
        if hall.parent_id != (parent.pk if parent else None):
            hall.parent = parent
            changed = True
        if changed:
            hall.save()
            counts.updated += 1
        else:
            counts.unchanged += 1


def _write_departments(rows: dict[str, DepartmentRow], counts: Counts) -> None:
    """Create or update the file's departments."""
    wanted = {r.county for r in rows.values() if r.county}
    counties = Hall.objects.in_bulk(wanted, field_name="code")
    existing = Department.objects.in_bulk(list(rows), field_name="code")
    for code, row in rows.items():
        assert row.county is not None  # checked
        values: dict[str, Any] = {"name": row.name, "county": counties[row.county]}
        if row.working_hours:
            values["working_hours"] = row.working_hours
        dept = existing.get(code)
        if dept is None:
            Department.objects.create(code=code, **values)
            counts.created += 1
        elif _set(dept, values):
            dept.save()
            counts.updated += 1
        else:
            counts.unchanged += 1


def _write_people(data: OrgData, password: str | None, summary: Summary) -> None:
    """Create or update users, then add the memberships they lack."""
    people = [p for p in data.people if p.username]
    names = {p.username: p.name for p in reversed(people) if p.name}
    phones = {p.username: p.phone for p in reversed(people) if p.phone}
    users = User.objects.in_bulk({p.username for p in people}, field_name="username")
    # One hash for all: everyone gets the same password anyway, and hashing takes ~0.3 s
    # (PBKDF2), which would make a county's thousand new users a five-minute wait.
    hashed = make_password(password) if password else None
    for username in dict.fromkeys(p.username for p in people if p.username):
        user = users.get(username)
        values = {"display_name": names.get(username), "phone": phones.get(username)}
        values = {k: v for k, v in values.items() if v}
        if user is None:
            user = User(username=username, **values)
            if hashed:
                user.password = hashed
            else:
                user.set_unusable_password()
            user.save()
            users[username] = user
            summary.users.created += 1
        elif _set(user, values):
            user.save(update_fields=list(values))
            summary.users.updated += 1
        else:
            summary.users.unchanged += 1
    halls = Hall.objects.in_bulk({p.hall for p in people if p.hall}, field_name="code")
    departments = Department.objects.in_bulk(
        {p.department for p in people if p.department}, field_name="code"
    )
    for p in people:
        assert p.username is not None and p.role is not None  # checked
        _, created = Membership.objects.get_or_create(
            user=users[p.username],
            role=p.role.value,
            hall=halls[p.hall] if p.hall else None,
            department=departments[p.department] if p.department else None,
        )
        if created:
            summary.memberships_created += 1
        else:
            summary.memberships_existing += 1


def _warnings(tree: _Tree, summary: Summary, password: str | None) -> None:
    """Things that are allowed but probably not meant."""
    for code, row in tree.rows.items():
        if row.kind == HallKind.COUNTY:
            county = Hall.objects.get(code=code)
            if not Hall.objects.filter(
                kind=HallKind.ASSIGNMENT, path__startswith=county.path
            ).exists():
                summary.warnings.append(
                    f"县 {code}（{row.name}）还没有部门集中交办厅，乡镇上报的诉求将无处可去"
                )
    if summary.users.created and not password:
        summary.warnings.append(
            f"新建的 {summary.users.created} 个用户还没有密码，管理员设置密码后才能登录"
        )


def import_org(data: OrgData, *, password: str | None = None, dry_run: bool = False) -> Summary:
    """Check `data` against itself and the database, then write it all or nothing."""
    summary = Summary(dry_run=dry_run)
    try:
        with transaction.atomic():
            problems = list(data.problems)
            tree = _hall_tree(data, problems)
            departments, db_departments = _check_departments(data, tree, problems)
            _check_people(data, tree, departments, db_departments, problems)
            if problems:
                raise ImportFailed(problems)
            _write_halls(tree, summary.halls)
            _write_departments(departments, summary.departments)
            _write_people(data, password, summary)
            _warnings(tree, summary, password)
            if dry_run:
                transaction.set_rollback(True)
    except DatabaseError as exc:
        raise ImportFailed(
            [Problem(f"写入数据库时出错，已全部回滚，未导入任何数据：{exc}")]
        ) from exc
    return summary
