"""Tests of `yishiting import-org`: loading a county's org tree from an Excel workbook."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError

from yishiting.cli import main
from yishiting.orgs.importer import MAX_ERRORS
from yishiting.orgs.models import Department, Hall, HallKind, Membership, Role, User
from yishiting.testing import County

pytestmark = pytest.mark.django_db

Rows = Sequence[Sequence[Any]]

HALL_HEADERS = ["编码", "名称", "类型", "上级编码", "地址"]
DEPT_HEADERS = ["编码", "名称", "所属县编码", "工作时间"]
PEOPLE_HEADERS = ["用户名", "姓名", "手机号", "角色", "议事厅编码", "部门编码"]

# Row 2 of each sheet is the first data row, as Excel numbers it.
HALLS: list[list[Any]] = [
    ["130525", "隆尧县", "县", "", "隆尧县城"],  # 2
    ["130525001", "隆尧镇", "乡镇/街道", "130525", ""],  # 3
    ["130525001001", "东庄村", "村", "130525001", ""],  # 4
    ["130525001002", "城关社区", "社区", "130525001", ""],  # 5
    ["130525001002001", "幸福小区", "compound", "130525001002", "幸福路 8 号"],  # 6
    ["130525900", "隆尧县部门集中交办厅", "部门集中交办厅", "130525", ""],  # 7
]
DEPARTMENTS: list[list[Any]] = [
    ["lyzj", "住建局", "130525", "08:30-12:00，13:30-17:30"],  # 2 (full-width comma)
    ["lygd", "供电公司", "130525", ""],  # 3
]
PEOPLE: list[list[Any]] = [
    ["zhangli", "张丽", "138 1234 5678", "联络员", "130525001001", ""],  # 2
    ["zhangli", "", "", "联络员", "130525001002001", ""],  # 3: same person, second hall
    ["liuzg", "刘志刚", "0319-6661234", "管理员", "130525001", ""],  # 4
    ["chenjing", "陈静", 13900001111, "交办员", "130525900", ""],  # 5: phone as a number
    ["zhouming", "周明", "", "部门人员", "", "lyzj"],  # 6
    ["mashuji", "马书记", "", "leader", "130525", ""],  # 7: English role code
]


def write_book(
    path: Path,
    halls: Rows = HALLS,
    departments: Rows = DEPARTMENTS,
    people: Rows = PEOPLE,
    *,
    headers: dict[str, list[str]] | None = None,
    skip: Sequence[str] = (),
) -> Path:
    """Write a workbook with the three sheets (or fewer) and return its path."""
    heads = {"议事厅": HALL_HEADERS, "部门": DEPT_HEADERS, "人员": PEOPLE_HEADERS}
    heads.update(headers or {})
    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name, rows in (("议事厅", halls), ("部门", departments), ("人员", people)):
        if name in skip:
            continue
        ws = book.create_sheet(name)
        ws.append(heads[name])
        for row in rows:
            ws.append(list(row))
    book.save(path)
    return path


def counts() -> tuple[int, int, int, int]:
    """How many halls, departments, users and memberships there are."""
    return (
        Hall.objects.count(),
        Department.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
    )


def run(path: Path, *args: str) -> str:
    """Run the command and return what it printed."""
    out = StringIO()
    call_command("import_org", str(path), *args, stdout=out)
    return out.getvalue()


def fails(path: Path, *args: str) -> str:
    """Run the command expecting a CommandError; return its message."""
    with pytest.raises(CommandError) as info:
        call_command("import_org", str(path), *args, stdout=StringIO())
    return str(info.value)


def with_row(rows: Rows, *extra: Sequence[Any]) -> list[list[Any]]:
    """The rows with more appended."""
    return [list(r) for r in rows] + [list(r) for r in extra]


def test_valid_county_imports_the_tree(tmp_path: Path) -> None:
    out = run(write_book(tmp_path / "county.xlsx"))

    assert "议事厅：新建 6，更新 0，未变 0" in out
    assert "部门：新建 2" in out
    assert "人员：新建 5" in out
    assert "角色：新建 6" in out
    paths = dict(Hall.objects.values_list("code", "path"))
    assert paths == {
        "130525": "/130525/",
        "130525001": "/130525/130525001/",
        "130525001001": "/130525/130525001/130525001001/",
        "130525001002": "/130525/130525001/130525001002/",
        "130525001002001": "/130525/130525001/130525001002/130525001002001/",
        "130525900": "/130525/130525900/",
    }
    compound = Hall.objects.get(code="130525001002001")
    assert compound.kind == HallKind.COMPOUND
    assert compound.parent is not None and compound.parent.code == "130525001002"
    assert compound.address == "幸福路 8 号"
    assert Hall.objects.get(code="130525").parent is None

    zhujian = Department.objects.get(code="lyzj")
    assert zhujian.county.code == "130525"
    assert zhujian.working_hours == "08:30-12:00,13:30-17:30"  # canonical form
    assert Department.objects.get(code="lygd").working_hours == "08:30-12:00,13:30-17:30"

    zhangli = User.objects.get(username="zhangli")
    assert (zhangli.display_name, zhangli.phone) == ("张丽", "13812345678")
    assert not zhangli.has_usable_password()
    assert set(zhangli.memberships.values_list("role", "hall__code")) == {
        ("liaison", "130525001001"),
        ("liaison", "130525001002001"),
    }
    assert User.objects.get(username="chenjing").phone == "13900001111"
    assert User.objects.get(username="liuzg").phone == "0319-6661234"
    officer = Membership.objects.get(user__username="zhouming")
    assert (officer.role, officer.hall, officer.department) == (Role.DEPARTMENT, None, zhujian)
    assert Membership.objects.get(user__username="mashuji").role == Role.LEADER


def test_reimport_changes_nothing(tmp_path: Path) -> None:
    path = write_book(tmp_path / "county.xlsx")
    run(path)
    before = (
        list(Hall.objects.values_list("code", "name", "kind", "parent__code", "path", "address")),
        list(Department.objects.values_list("code", "name", "county__code", "working_hours")),
        list(User.objects.values_list("username", "display_name", "phone", "password")),
        list(Membership.objects.values_list("user__username", "role", "hall", "department")),
    )

    out = run(path)

    assert "议事厅：新建 0，更新 0，未变 6" in out
    assert "部门：新建 0，更新 0，未变 2" in out
    assert "人员：新建 0，更新 0，未变 5" in out
    assert "角色：新建 0，已有 6" in out
    after = (
        list(Hall.objects.values_list("code", "name", "kind", "parent__code", "path", "address")),
        list(Department.objects.values_list("code", "name", "county__code", "working_hours")),
        list(User.objects.values_list("username", "display_name", "phone", "password")),
        list(Membership.objects.values_list("user__username", "role", "hall", "department")),
    )
    assert after == before


def test_children_may_come_before_parents(tmp_path: Path) -> None:
    run(write_book(tmp_path / "reversed.xlsx", halls=list(reversed(HALLS))))

    compound = Hall.objects.get(code="130525001002001")
    assert compound.path == "/130525/130525001/130525001002/130525001002001/"
    assert Hall.objects.get(code="130525001").parent == Hall.objects.get(code="130525")


def test_parent_may_already_be_in_the_database(tmp_path: Path, county: County) -> None:
    halls = [
        ["130500003", "南关镇", "乡镇", "130500", ""],
        ["130500003001", "南关村", "村", "130500003", ""],
    ]
    run(write_book(tmp_path / "more.xlsx", halls=halls, departments=[], people=[]))

    village = Hall.objects.get(code="130500003001")
    assert village.path == "/130500/130500003/130500003001/"
    assert Hall.objects.get(code="130500003").kind == HallKind.TOWNSHIP  # short form 乡镇


def test_existing_rows_are_updated_and_moved(tmp_path: Path, county: County) -> None:
    compound = Hall.objects.create(
        code="130500001001001", name="东关小区", kind=HallKind.COMPOUND, parent=county.village
    )
    halls = [
        # The village moves from 东关镇 to 西关镇 and is renamed; its compound comes along.
        ["130500001001", "东关新村", "村", "130500002", ""],
    ]
    departments = [["zhujian", "住房和城乡建设局", "130500", "09:00-17:00"]]
    people = [["liaison1", "张丽丽", "13812345678", "联络员", "130500002001", ""]]

    out = run(write_book(tmp_path / "update.xlsx", halls, departments, people))

    assert "议事厅：新建 0，更新 1" in out
    assert "部门：新建 0，更新 1" in out
    assert "人员：新建 0，更新 1" in out
    village = Hall.objects.get(code="130500001001")
    assert (village.name, village.path) == ("东关新村", "/130500/130500002/130500001001/")
    compound.refresh_from_db()
    assert compound.path == "/130500/130500002/130500001001/130500001001001/"
    zhujian = Department.objects.get(code="zhujian")
    assert (zhujian.name, zhujian.working_hours) == ("住房和城乡建设局", "09:00-17:00")
    liaison = User.objects.get(username="liaison1")
    assert (liaison.display_name, liaison.phone) == ("张丽丽", "13812345678")
    # Memberships are added, never taken away.
    assert set(liaison.memberships.values_list("hall__code", flat=True)) == {
        "130500001001",
        "130500002001",
    }
    assert liaison.has_usable_password() is False


def test_moving_a_hall_and_its_child_in_one_import_keeps_paths_right(
    tmp_path: Path, county: County
) -> None:
    compound = Hall.objects.create(
        code="130500001001001", name="东关小区", kind=HallKind.COMPOUND, parent=county.village
    )
    halls = [
        # 东关村 leaves 东关镇 for 西关镇 while 东关镇 itself moves to a new county: the village
        # must be saved with its path as rewritten by the township's move, or its compound is
        # left behind under the old path.
        ["130500001001", "东关村", "村", "130500002", ""],
        ["130500001", "东关镇", "乡镇/街道", "130600", "镇政府"],
        ["130600", "新县", "县", "", ""],
    ]
    run(write_book(tmp_path / "moves.xlsx", halls, [], []))

    assert Hall.objects.get(code="130500001").path == "/130600/130500001/"
    assert Hall.objects.get(code="130500001").address == "镇政府"
    assert Hall.objects.get(code="130500001001").path == "/130500/130500002/130500001001/"
    compound.refresh_from_db()
    assert compound.path == "/130500/130500002/130500001001/130500001001001/"
    assert Hall.objects.get(code="130500001002").path == "/130600/130500001/130500001002/"


def test_password_option_sets_new_users_password(tmp_path: Path, county: County) -> None:
    people = [
        ["newbie", "新人", "", "联络员", "130500001001", ""],
        ["liaison1", "", "", "联络员", "130500001002", ""],
    ]
    run(write_book(tmp_path / "p.xlsx", [], [], people), "--password", "Longyao-2024!")

    assert User.objects.get(username="newbie").check_password("Longyao-2024!")
    assert not User.objects.get(username="liaison1").has_usable_password()  # existing: untouched


def test_weak_password_is_refused(tmp_path: Path) -> None:
    message = fails(write_book(tmp_path / "p.xlsx"), "--password", "123")

    assert "--password 不合格" in message
    assert counts() == (0, 0, 0, 0)


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    out = run(write_book(tmp_path / "county.xlsx"), "--dry-run")

    assert "试运行" in out and "议事厅：新建 6" in out
    assert counts() == (0, 0, 0, 0)


def test_numeric_codes_become_digit_strings(tmp_path: Path) -> None:
    halls = [
        [130525, "隆尧县", "县", None, ""],
        [130525001.0, "隆尧镇", "乡镇/街道", 130525.0, ""],
    ]
    people = [[13812345678, "张丽", 13812345678.0, "管理员", 130525001.0, None]]
    path = write_book(tmp_path / "numbers.xlsx", halls, [], people)
    _floatify(path, ["130525001", "130525", "13812345678"])
    assert "v>130525001.0<" in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()

    run(path)

    assert set(Hall.objects.values_list("code", flat=True)) == {"130525", "130525001"}
    assert Hall.objects.get(code="130525001").path == "/130525/130525001/"
    user = User.objects.get(username="13812345678")
    assert user.phone == "13812345678"
    assert user.memberships.get().hall == Hall.objects.get(code="130525001")


def _floatify(path: Path, numbers: list[str]) -> None:
    """Rewrite whole numbers in the sheets as Excel sometimes stores them: `130525.0`."""
    with zipfile.ZipFile(path) as src:
        items = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in items:
            if info.filename.startswith("xl/worksheets/"):
                text = data.decode()
                for n in numbers:
                    text = text.replace(f"<v>{n}</v>", f"<v>{n}.0</v>")
                data = text.encode()
            dst.writestr(info, data)


def test_leading_zero_number_format_is_kept(tmp_path: Path) -> None:
    path = write_book(tmp_path / "zeros.xlsx", [], [], [])
    book = openpyxl.load_workbook(path)
    ws = book["议事厅"]
    ws.append([1, "零一县", "县", None, None])
    ws["A2"].number_format = "000"
    book.save(path)

    run(path)

    assert Hall.objects.filter(code="001").exists()


BAD_ROWS: list[tuple[str, dict[str, Rows], str]] = [
    (
        "unknown parent",
        {"halls": with_row(HALLS, ["130525002", "莲子镇", "乡镇/街道", "130525999", ""])},
        "议事厅!第8行: 上级编码 130525999 不存在",
    ),
    (
        "bad kind",
        {"halls": with_row(HALLS, ["130525002", "莲子镇", "乡政府", "130525", ""])},
        "议事厅!第8行: 类型 乡政府 不认识",
    ),
    (
        "duplicate hall code",
        {"halls": with_row(HALLS, ["130525001", "又一个隆尧镇", "乡镇/街道", "130525", ""])},
        "议事厅!第8行: 编码 130525001 与第3行重复",
    ),
    (
        "duplicate department code",
        {"departments": with_row(DEPARTMENTS, ["lyzj", "住建局二", "130525", ""])},
        "部门!第4行: 编码 lyzj 与第2行重复",
    ),
    (
        "kind that does not fit its parent",
        {"halls": with_row(HALLS, ["130525003", "某村", "村", "130525", ""])},
        "议事厅!第8行: 村的上级须是乡镇/街道，而上级 130525 是县",
    ),
    (
        "county with a parent",
        {"halls": with_row(HALLS, ["130526", "某县", "县", "130525", ""])},
        "议事厅!第8行: 县级议事厅没有上级",
    ),
    (
        "township without a parent",
        {"halls": with_row(HALLS, ["130525004", "某镇", "乡镇/街道", "", ""])},
        "议事厅!第8行: 类型为乡镇/街道的议事厅须填写上级编码",
    ),
    (
        "code with a slash",
        {"halls": with_row(HALLS, ["1305/25", "某镇", "乡镇/街道", "130525", ""])},
        "议事厅!第8行: 编码 1305/25 不合格",
    ),
    (
        "code stored as a fraction",
        {"halls": with_row(HALLS, [130525001.5, "某镇", "乡镇/街道", "130525", ""])},
        "议事厅!第8行: 编码 130525001.5 不合格",
    ),
    (
        "bad phone",
        {"people": with_row(PEOPLE, ["wangwu", "王五", "1381234", "联络员", "130525001001", ""])},
        "人员!第8行: 手机号 1381234 格式不对",
    ),
    (
        "landline that lost its leading zero",
        {"people": with_row(PEOPLE, ["wangwu", "王五", 3196661234, "联络员", "130525001001", ""])},
        "人员!第8行: 手机号 3196661234 格式不对",
    ),
    (
        "department role without a department",
        {"people": with_row(PEOPLE, ["wangwu", "王五", "", "部门人员", "", ""])},
        "人员!第8行: 角色为部门人员时须填写部门编码",
    ),
    (
        "department role with a hall",
        {"people": with_row(PEOPLE, ["wangwu", "王五", "", "部门人员", "130525", "lyzj"])},
        "人员!第8行: 角色为部门人员时只填部门编码，议事厅编码应留空",
    ),
    (
        "role needing a hall without one",
        {"people": with_row(PEOPLE, ["wangwu", "王五", "", "联络员", "", ""])},
        "人员!第8行: 角色为联络员时须填写议事厅编码",
    ),
    (
        "unknown hall of a person",
        {"people": with_row(PEOPLE, ["wangwu", "王五", "", "联络员", "130525777", ""])},
        "人员!第8行: 议事厅编码 130525777 不存在",
    ),
    (
        "unknown department of a person",
        {"people": with_row(PEOPLE, ["wangwu", "王五", "", "部门人员", "", "nosuch"])},
        "人员!第8行: 部门编码 nosuch 不存在",
    ),
    (
        "dispatcher outside an assignment hall",
        {"people": with_row(PEOPLE, ["wangwu", "王五", "", "交办员", "130525001001", ""])},
        "人员!第8行: 交办员只能设在部门集中交办厅",
    ),
    (
        "unknown role",
        {"people": with_row(PEOPLE, ["wangwu", "王五", "", "村长", "130525001001", ""])},
        "人员!第8行: 角色 村长 不认识",
    ),
    (
        "new user without a name",
        {"people": with_row(PEOPLE, ["wangwu", "", "", "联络员", "130525001001", ""])},
        "人员!第8行: 新用户 wangwu 须填写姓名",
    ),
    (
        "two names for one username",
        {"people": with_row(PEOPLE, ["zhangli", "张莉", "", "联络员", "130525001002", ""])},
        "人员!第8行: 姓名“张莉”与第2行的“张丽”不一致",
    ),
    (
        "the same role twice",
        {"people": with_row(PEOPLE, ["liuzg", "", "", "管理员", "130525001", ""])},
        "人员!第8行: 与第4行重复",
    ),
    (
        "bad working hours",
        {"departments": with_row(DEPARTMENTS, ["lymz", "民政局", "130525", "8点到12点"])},
        "部门!第4行: 工作时间 8点到12点 无法识别",
    ),
    (
        "inverted working hours",
        {"departments": with_row(DEPARTMENTS, ["lymz", "民政局", "130525", "17:30-08:30"])},
        "部门!第4行: 工作时间 17:30-08:30 无法识别",
    ),
    (
        "department under a township",
        {"departments": with_row(DEPARTMENTS, ["lymz", "民政局", "130525001", ""])},
        "部门!第4行: 所属县编码 130525001 是乡镇/街道，不是县级议事厅",
    ),
    (
        "missing required value",
        {"halls": with_row(HALLS, ["130525005", "", "村", "130525001", ""])},
        "议事厅!第8行: 名称不能为空",
    ),
    (
        "a date where a name belongs",
        {
            "people": with_row(
                PEOPLE, ["wangwu", date(2024, 3, 1), "", "联络员", "130525001001", ""]
            )
        },
        "人员!第8行: 姓名被 Excel 当成了日期或时间",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [(c, e) for _, c, e in BAD_ROWS], ids=[n for n, _, _ in BAD_ROWS]
)
def test_bad_row_is_reported_and_nothing_is_written(
    tmp_path: Path, change: dict[str, Rows], expected: str
) -> None:
    path = write_book(tmp_path / "bad.xlsx", **change)  # type: ignore[arg-type]

    message = fails(path)

    assert expected in message
    assert message.startswith("导入失败，未写入任何数据。共 1 处错误")
    assert counts() == (0, 0, 0, 0)


def test_bad_rows_leave_existing_data_untouched(tmp_path: Path, county: County) -> None:
    before = counts()
    halls = [["130500001", "改名镇", "乡镇/街道", "130500", ""], ["x1", "坏厅", "村", "nope", ""]]
    message = fails(write_book(tmp_path / "bad.xlsx", halls, [], []))

    assert "议事厅!第3行: 上级编码 nope 不存在" in message
    assert counts() == before
    assert Hall.objects.get(code="130500001").name == "东关镇"


def test_cycle_is_reported_on_every_row_in_it(tmp_path: Path) -> None:
    halls = with_row(
        HALLS,
        ["c1", "甲", "小区", "c2", ""],  # 8
        ["c2", "乙", "小区", "c1", ""],  # 9
    )
    message = fails(write_book(tmp_path / "cycle.xlsx", halls=halls))

    assert re.search(r"议事厅!第8行: 上级关系成环：c1 → c2 → c1", message)
    assert re.search(r"议事厅!第9行: 上级关系成环", message)
    assert counts() == (0, 0, 0, 0)


def test_cycle_through_the_database_is_reported(tmp_path: Path, county: County) -> None:
    # The township would become a child of its own village.
    halls = [["130500001", "东关镇", "乡镇/街道", "130500001001", ""]]
    message = fails(write_book(tmp_path / "cycle.xlsx", halls, [], []))

    assert "议事厅!第2行: 上级关系成环：130500001 → 130500001001 → 130500001" in message
    assert Hall.objects.get(code="130500001001").path == "/130500/130500001/130500001001/"


def test_changing_a_kind_must_not_strand_existing_children(tmp_path: Path, county: County) -> None:
    halls = [["130500001", "东关镇", "社区", "130500", ""]]  # its villages cannot sit under 社区
    message = fails(write_book(tmp_path / "kind.xlsx", halls, [], []))

    assert "议事厅!第2行: 类型不能改为社区：系统中已有下级 130500001001（村）" in message
    assert Hall.objects.get(code="130500001").kind == HallKind.TOWNSHIP


def test_every_error_is_listed_in_sheet_and_row_order(tmp_path: Path) -> None:
    halls = with_row(HALLS, ["130525002", "莲子镇", "乡镇/街道", "130525999", ""])
    people = with_row(PEOPLE, ["wangwu", "王五", "12345", "联络员", "", ""])
    departments = with_row(DEPARTMENTS, ["lymz", "民政局", "130525", "bad"])

    message = fails(write_book(tmp_path / "bad.xlsx", halls, departments, people))

    lines = message.splitlines()
    assert lines[0] == "导入失败，未写入任何数据。共 4 处错误："
    assert [line.split(":")[0] for line in lines[1:]] == [
        "议事厅!第8行",
        "部门!第4行",
        "人员!第8行",
        "人员!第8行",
    ]


def test_more_than_the_limit_of_errors_is_cut_short(tmp_path: Path) -> None:
    halls = [[f"v{i}", f"村{i}", "村", "nowhere", ""] for i in range(MAX_ERRORS + 10)]
    message = fails(write_book(tmp_path / "many.xlsx", halls, [], []))

    lines = message.splitlines()
    assert lines[0] == f"导入失败，未写入任何数据。共 {MAX_ERRORS + 10} 处错误："
    assert len(lines) == 1 + MAX_ERRORS + 1
    assert lines[-1].startswith("……另有 10 处错误未列出")


def test_headers_are_matched_by_name_in_any_order(tmp_path: Path) -> None:
    heads = ["备注", "类型", "名称", "编码*", "上级编码"]  # an extra column, a starred header
    halls = [
        ["总部", "县", "隆尧县", "130525", ""],
        ["", "乡镇/街道", "隆尧镇", "130525001", "130525"],
    ]
    people_heads = ["username", "name", "role", "hall"]  # English keys; no phone/department
    people = [["mashuji", "马书记", "领导", "130525"]]

    run(
        write_book(
            tmp_path / "order.xlsx",
            halls,
            [],
            people,
            headers={"议事厅": heads, "人员": people_heads},
        )
    )

    assert Hall.objects.get(code="130525001").parent == Hall.objects.get(code="130525")
    assert User.objects.get(username="mashuji").display_name == "马书记"


def test_blank_rows_are_skipped_and_row_numbers_stay_true(tmp_path: Path) -> None:
    halls = [HALLS[0], [None] * 5, ["", " ", "", "", ""], ["bad/code", "某村", "村", "130525", ""]]
    message = fails(write_book(tmp_path / "blank.xlsx", halls, [], []))

    assert "议事厅!第5行: 编码 bad/code 不合格" in message
    assert "第3行" not in message and "第4行" not in message


def test_missing_header_names_sheet_and_header(tmp_path: Path) -> None:
    path = write_book(tmp_path / "nohead.xlsx", headers={"人员": ["用户名", "姓名", "议事厅编码"]})
    message = fails(path)

    assert "人员: 缺少表头“角色”" in message
    assert counts() == (0, 0, 0, 0)


def test_missing_sheet_is_refused(tmp_path: Path) -> None:
    message = fails(write_book(tmp_path / "nosheet.xlsx", skip=["部门"]))

    assert "缺少工作表“部门”" in message
    assert counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("notes.xlsx", b"just some text\n", "不是 Excel 工作簿（.xlsx）文件"),
        ("halls.csv", "编码,名称\n130525,隆尧县\n".encode(), "不是 Excel 工作簿（.xlsx）文件"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, "旧版 Excel 97-2003"),
        ("broken.xlsx", b"PK\x03\x04" + b"\0" * 100, "文件已损坏或不是 Excel 工作簿"),
    ],
)
def test_a_file_that_is_not_xlsx_gives_a_clean_error(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    message = fails(path)

    assert expected in message
    assert name in message


def test_a_zip_that_is_not_a_workbook_gives_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")

    assert "文件已损坏或不是 Excel 工作簿" in fails(path)


def test_missing_file_gives_a_clean_error(tmp_path: Path) -> None:
    assert "找不到文件" in fails(tmp_path / "nope.xlsx")


def test_cli_exits_non_zero_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_text("hello")

    with pytest.raises(SystemExit) as info:
        main(["yishiting", "import-org", str(path)])

    assert info.value.code != 0
    err = capsys.readouterr().err
    assert "不是 Excel 工作簿" in err
    assert "Traceback" not in err


def test_database_failure_rolls_everything_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_save(self: Membership, *args: Any, **kwargs: Any) -> None:
        raise IntegrityError("disk on fire")

    # Halls, departments and users are written before memberships: all must go.
    monkeypatch.setattr(Membership, "save", broken_save)

    message = fails(write_book(tmp_path / "county.xlsx"))

    assert "写入数据库时出错，已全部回滚" in message and "disk on fire" in message
    assert counts() == (0, 0, 0, 0)


def test_template_imports_after_filling_in(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    out = StringIO()
    call_command("import_org", template=str(path), stdout=out)
    assert "已生成模板" in out.getvalue()

    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["说明", "议事厅", "部门", "人员"]
    assert [c.value for c in book["议事厅"][1]] == HALL_HEADERS
    assert [c.value for c in book["部门"][1]] == DEPT_HEADERS
    assert [c.value for c in book["人员"][1]] == PEOPLE_HEADERS
    assert all(book[s].max_row >= 2 and book[s]["A2"].value for s in ("议事厅", "部门", "人员"))
    # Fill in: a township and an assignment hall below the example county, and their staff.
    halls, people = book["议事厅"], book["人员"]
    halls["A3"], halls["B3"], halls["C3"], halls["D3"] = (
        "130525001",
        "隆尧镇",
        "乡镇/街道",
        "130525",
    )
    halls["A4"], halls["B4"], halls["C4"], halls["D4"] = (
        "130525900",
        "交办厅",
        "部门集中交办厅",
        "130525",
    )
    people.append(["liuzg", "刘志刚", "13900001111", "管理员", "130525001", None])
    people.append(["chenjing", "陈静", None, "交办员", "130525900", None])
    book.save(path)

    result = run(path)

    assert "议事厅：新建 3" in result and "人员：新建 3" in result
    assert Hall.objects.get(code="130525001").path == "/130525/130525001/"
    assert Department.objects.get().county.code == "130525"
    assert Membership.objects.filter(hall__code="130525900", role=Role.DISPATCHER).exists()
    assert "部门集中交办厅" not in result  # the county has one, so no warning


def test_template_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "filled.xlsx"
    path.write_bytes(b"precious")

    with pytest.raises(CommandError, match="不会覆盖"):
        call_command("import_org", template=str(path))

    assert path.read_bytes() == b"precious"


def _doc_example() -> dict[str, list[list[str]]]:
    """The tables under "A complete small example" in docs/import-org.md, by sheet."""
    doc = Path(__file__).resolve().parents[3] / "docs" / "import-org.md"
    text = doc.read_text(encoding="utf-8").split("## A complete small example", 1)[1]
    tables: dict[str, list[list[str]]] = {}
    for block in re.split(r"\n(?=\S+:\n)", text):
        name, _, body = block.strip().partition(":\n")
        rows = [
            [cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in body.splitlines()
            if line.startswith("|") and not line.startswith("|---")
        ]
        if rows:
            tables[name.strip()] = rows
    return tables


def test_the_documented_example_imports(tmp_path: Path) -> None:
    tables = _doc_example()
    assert set(tables) == {"议事厅", "部门", "人员"}

    path = write_book(
        tmp_path / "doc.xlsx",
        tables["议事厅"][1:],
        tables["部门"][1:],
        tables["人员"][1:],
        headers={name: rows[0] for name, rows in tables.items()},
    )
    out = run(path)

    assert "议事厅：新建 6" in out and "人员：新建 5" in out and "角色：新建 6" in out
    assert Hall.objects.get(code="130525001101001").path == (
        "/130525/130525001/130525001101/130525001101001/"
    )
