"""Import halls' registers (户籍与居民登记) from Excel: `yishiting import-register FILE.xlsx`.

Two sheets: 户 (one row per household) and 居民 (one row per adult, with the household's
number, and flags for representative, 两委 and party member; a username links a verified
resident to their account). Cells are read with the org importer's reader
(`orgs.importer.read_sheets` / `sheet_rows`); every row is checked, and only when nothing is
wrong anywhere is everything written in one transaction. A bad row is reported as
`居民!第7行: …`, and nothing is imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from yishiting.deliberation.models import Household, Resident
from yishiting.deliberation.register import REGISTER_KINDS
from yishiting.orgs.importer import (
    Column,
    ImportFailed,
    Problem,
    _code,
    _limited,
    _phone,
    _RowReader,
    _username,
    read_sheets,
    sheet_rows,
)
from yishiting.orgs.models import Hall, User

HOUSEHOLDS_SHEET = "户"
RESIDENTS_SHEET = "居民"
SHEETS = (HOUSEHOLDS_SHEET, RESIDENTS_SHEET)
YES = {"是", "Y", "y", "yes", "1", "√", "✓", "TRUE", "true"}
NO = {"", "否", "N", "n", "no", "0", "FALSE", "false"}

COLUMNS: dict[str, tuple[Column, ...]] = {
    HOUSEHOLDS_SHEET: (
        Column("hall", "议事厅编码", True, "130525001001", "村、社区或小区的编码"),
        Column("number", "户号", True, "0001", "本议事厅内唯一"),
        Column("head", "户主", False, "王秀兰", "可空"),
        Column("address", "住址", False, "3号楼2单元101", "可空"),
    ),
    RESIDENTS_SHEET: (
        Column("hall", "议事厅编码", True, "130525001001", "与户表一致"),
        Column("number", "户号", True, "0001", "须在户表或系统中已有"),
        Column("name", "姓名", True, "王秀兰", "同一户内不重名"),
        Column("phone", "手机号", False, "13812345678", "可空"),
        Column("username", "用户名", False, "resident1", "已实名的居民填其登录名，可空"),
        Column("representative", "代表", False, "是", "是/否"),
        Column("committee", "两委", False, "否", "是/否"),
        Column("party_member", "党员", False, "否", "是/否"),
    ),
}


class RegisterImportFailed(ImportFailed):
    """The register workbook cannot be imported; nothing was written."""


@dataclass
class Summary:
    """What an import wrote (or would write, on a dry run)."""

    households_created: int = 0
    households_updated: int = 0
    residents_created: int = 0
    residents_updated: int = 0
    dry_run: bool = False

    def lines(self) -> list[str]:
        """The summary for the command's output."""
        head = "检查通过（未写入，--dry-run）" if self.dry_run else "导入完成"
        return [
            head,
            f"户：新增 {self.households_created}，更新 {self.households_updated}",
            f"居民：新增 {self.residents_created}，更新 {self.residents_updated}",
        ]


@dataclass
class RegisterData:
    """The rows of both sheets, and the problems found reading them."""

    households: list[dict[str, Any]] = field(default_factory=list)
    residents: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _flag(text: str) -> bool:
    from yishiting.orgs.importer import _BadCell

    if text in YES:
        return True
    if text in NO:
        return False
    raise _BadCell(f"“{text}”应为 是 或 否")


def read_workbook(path: str | Path) -> RegisterData:
    """Read the two sheets; RegisterImportFailed if the file itself is unusable."""
    raw = read_sheets(path, SHEETS, RegisterImportFailed)
    data = RegisterData()
    p = data.problems
    missing = [s for s in SHEETS if s not in raw]
    if missing:
        p.append(Problem(f"缺少工作表“{'”“'.join(missing)}”（需要“户”“居民”两张表）"))
        return data
    for number, cells in sheet_rows(
        HOUSEHOLDS_SHEET, raw[HOUSEHOLDS_SHEET], COLUMNS[HOUSEHOLDS_SHEET], p
    ):
        r = _RowReader(HOUSEHOLDS_SHEET, number, cells, p)
        data.households.append(
            {
                "row": number,
                "hall": r.parse(
                    "hall", "议事厅编码", lambda t: _code(t, "议事厅编码"), required=True
                ),
                "number": r.parse(
                    "number", "户号", lambda t: _limited(t, "户号", 32), required=True
                ),
                "head": r.parse("head", "户主", lambda t: _limited(t, "户主", 50)) or "",
                "address": r.parse("address", "住址", lambda t: _limited(t, "住址", 200)) or "",
                "bad": bool(r.bad),
            }
        )
    for number, cells in sheet_rows(
        RESIDENTS_SHEET, raw[RESIDENTS_SHEET], COLUMNS[RESIDENTS_SHEET], p
    ):
        r = _RowReader(RESIDENTS_SHEET, number, cells, p)
        data.residents.append(
            {
                "row": number,
                "hall": r.parse(
                    "hall", "议事厅编码", lambda t: _code(t, "议事厅编码"), required=True
                ),
                "number": r.parse(
                    "number", "户号", lambda t: _limited(t, "户号", 32), required=True
                ),
                "name": r.parse("name", "姓名", lambda t: _limited(t, "姓名", 50), required=True),
                "phone": r.parse("phone", "手机号", _phone) or "",
                "username": r.parse("username", "用户名", _username),
                "representative": bool(r.parse("representative", "代表", _flag)),
                "committee": bool(r.parse("committee", "两委", _flag)),
                "party_member": bool(r.parse("party_member", "党员", _flag)),
                "bad": bool(r.bad),
            }
        )
    return data


def import_register(data: RegisterData, *, dry_run: bool = False) -> Summary:
    """Check every row against the others and the database; write all or nothing."""
    problems = list(data.problems)
    codes = {r["hall"] for r in [*data.households, *data.residents] if r["hall"]}
    halls = {h.code: h for h in Hall.objects.filter(code__in=codes)}
    for sheet, rows in ((HOUSEHOLDS_SHEET, data.households), (RESIDENTS_SHEET, data.residents)):
        for r in rows:
            hall = halls.get(r["hall"] or "")
            if r["hall"] and hall is None:
                problems.append(Problem(f"议事厅编码 {r['hall']} 不存在", sheet, r["row"]))
            elif hall is not None and hall.kind not in REGISTER_KINDS:
                problems.append(
                    Problem(f"{hall.name}不是村、社区或小区，不设户籍登记", sheet, r["row"]),
                )
    seen: dict[tuple[str, str], int] = {}
    for r in data.households:
        key = (r["hall"], r["number"])
        if None not in key and key in seen:
            problems.append(
                Problem(f"户号 {r['number']} 与第{seen[key]}行重复", HOUSEHOLDS_SHEET, r["row"])
            )
        seen.setdefault(key, r["row"])  # type: ignore[arg-type]
    existing = {
        (h.hall.code, h.number): h
        for h in Household.objects.filter(hall__code__in=codes).select_related("hall")
    }
    usernames = {r["username"] for r in data.residents if r["username"]}
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    people: dict[tuple[str, str, str], int] = {}
    linked: dict[tuple[str, str], int] = {}
    for r in data.residents:
        key = (r["hall"], r["number"])
        if r["hall"] and r["number"] and key not in seen and key not in existing:
            problems.append(
                Problem(f"户号 {r['number']} 不在户表中，也不在系统中", RESIDENTS_SHEET, r["row"])
            )
        pkey = (r["hall"], r["number"], r["name"])
        if r["name"] and pkey in people:
            problems.append(
                Problem(
                    f"{r['name']} 与第{people[pkey]}行重复（同一户内不重名）",
                    RESIDENTS_SHEET,
                    r["row"],
                )
            )
        people.setdefault(pkey, r["row"])
        if r["username"]:
            if r["username"] not in users:
                problems.append(
                    Problem(
                        f"用户名 {r['username']} 不存在（先导入人员或注册）",
                        RESIDENTS_SHEET,
                        r["row"],
                    )
                )
            ukey = (r["hall"], r["username"])
            if ukey in linked:
                problems.append(
                    Problem(
                        f"用户名 {r['username']} 与第{linked[ukey]}行重复",
                        RESIDENTS_SHEET,
                        r["row"],
                    )
                )
            linked.setdefault(ukey, r["row"])
    if problems:
        raise RegisterImportFailed(problems)
    summary = Summary(dry_run=dry_run)
    with transaction.atomic():
        homes = dict(existing)
        for r in data.households:
            key = (r["hall"], r["number"])
            home = homes.get(key)
            if home is None:
                home = Household.objects.create(
                    hall=halls[r["hall"]], number=r["number"], head=r["head"], address=r["address"]
                )
                homes[key] = home
                summary.households_created += 1
            elif (home.head, home.address) != (
                r["head"] or home.head,
                r["address"] or home.address,
            ):
                home.head, home.address = r["head"] or home.head, r["address"] or home.address
                home.save(update_fields=["head", "address"])
                summary.households_updated += 1
        for r in data.residents:
            home = homes[(r["hall"], r["number"])]
            values = {
                "hall": halls[r["hall"]],
                "phone": r["phone"],
                "user": users.get(r["username"]) if r["username"] else None,
                "representative": r["representative"],
                "committee": r["committee"],
                "party_member": r["party_member"],
                "active": True,
            }
            _row, created = Resident.objects.update_or_create(
                household=home, name=r["name"], defaults=values
            )
            if created:
                summary.residents_created += 1
            else:
                summary.residents_updated += 1
        if dry_run:
            transaction.set_rollback(True)
    return summary


def write_template(path: Path) -> None:
    """An empty workbook with both sheets' headers and one example row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for sheet in SHEETS:
        ws = wb.create_sheet(sheet)
        columns = COLUMNS[sheet]
        ws.append([c.header + ("*" if c.required else "") for c in columns])
        ws.append([c.example for c in columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.number_format = "@"
    wb.save(path)
