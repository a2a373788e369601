"""`yishiting import-policies`: categories and clock policies from Excel, all or nothing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from yishiting.ledger.policies import (
    CATEGORIES_SHEET,
    COLUMNS,
    POLICIES_SHEET,
    parse_duration,
)
from yishiting.orgs.models import Category, ClockPolicy
from yishiting.requests.clocks import Basis
from yishiting.testing import County

pytestmark = pytest.mark.django_db

CATEGORY_HEADERS = [c.header for c in COLUMNS[CATEGORIES_SHEET]]
POLICY_HEADERS = [c.header for c in COLUMNS[POLICIES_SHEET]]


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import-policies".replace("-", "_"), *args, stdout=out)
    return out.getvalue()


def test_import_creates_and_updates(county: County, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "p.xlsx",
        {
            CATEGORIES_SHEET: [
                CATEGORY_HEADERS,
                ["manhole", "井盖缺失", "zhujian", "是", "紧急", "井盖 下水道"],
                ["streetlight", "路灯", "", "", "", ""],  # an update: only the name changes
            ],
            POLICIES_SHEET: [
                POLICY_HEADERS,
                ["manhole", "紧急", "3分钟", "", "", "", "12小时", "自然时间", "", ""],
                ["", "一般", "", "", "1小时", "工作时间", "5天", "工作日", "7天", "30天"],
            ],
        },
    )
    output = run(str(path))
    assert "类别：新建 1，更新 1，未变 0" in output and "时限规则：新建 2" in output
    manhole = Category.objects.get(code="manhole")
    assert manhole.department == county.dept and manhole.on_site
    assert manhole.default_priority == "urgent" and manhole.keywords == "井盖 下水道"
    assert Category.objects.get(code="streetlight").name == "路灯"
    assert Category.objects.get(code="streetlight").on_site  # blank cells keep what was there
    policy = ClockPolicy.objects.get(category=manhole, priority="urgent")
    assert policy.first_response_seconds == 180 and policy.resolution_seconds == 12 * 3600
    assert policy.resolution_basis == Basis.CALENDAR
    default = ClockPolicy.objects.get(category=None, priority="normal")
    assert default.claim_seconds == 3600 and default.claim_basis == Basis.WORKING_HOURS
    assert default.resolution_seconds == 5 * 86400
    # Importing the same file again changes nothing.
    assert "未变 2" in run(str(path))
    assert ClockPolicy.objects.count() == 2


def test_bad_rows_are_all_reported_and_nothing_is_written(county: County, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "bad.xlsx",
        {
            CATEGORIES_SHEET: [
                CATEGORY_HEADERS,
                ["ok1", "好的类别", "", "", "", ""],
                ["bad code!", "名字", "", "", "", ""],
                ["ok1", "重复", "", "", "", ""],
                ["nodept", "无部门", "nosuch", "也许", "很急", ""],
            ],
            POLICIES_SHEET: [
                POLICY_HEADERS,
                ["ok1", "一般", "5分钟", "", "", "", "", "", "", ""],
                ["ok1", "一般", "10分钟", "", "", "", "", "", "", ""],
                ["ghost", "一般", "", "", "", "", "", "", "", ""],
                ["ok1", "紧急", "五分钟", "", "", "月亮时间", "0秒", "", "", "400天"],
                ["", "", "", "", "", "", "", "", "", ""],  # blank: skipped
            ],
        },
    )
    with pytest.raises(CommandError) as caught:
        run(str(path))
    report = str(caught.value)
    assert report.startswith("导入失败，未写入任何数据。")
    for expected in (
        "类别!第3行: 编码 bad code! 不合格",
        "类别!第4行: 编码 ok1 与第2行重复",
        "类别!第5行: 需现场照片 也许 应为 是 或 否",
        "类别!第5行: 紧急程度 很急 不认识",
        "时限规则!第3行: 与第2行重复",
        "时限规则!第4行: 类别编码 ghost 不存在",
        "时限规则!第5行: 时限 五分钟 无法识别",
        "时限规则!第5行: 计时方式 月亮时间 不认识",
        "时限规则!第5行: 时限 0秒 应在 1 秒到 366 天之间",
        "时限规则!第5行: 时限 400天 应在 1 秒到 366 天之间",
    ):
        assert expected in report, (expected, report)
    assert report.index("类别!第3行") < report.index("时限规则!第3行")  # sheet, then row
    assert not Category.objects.filter(code="ok1").exists()
    assert not ClockPolicy.objects.exists()


def test_unknown_department_is_refused(county: County, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "d.xlsx",
        {CATEGORIES_SHEET: [CATEGORY_HEADERS, ["x1", "某类", "nosuch", "", "", ""]]},
    )
    with pytest.raises(CommandError, match=r"类别!第2行: 默认部门编码 nosuch 不存在"):
        run(str(path))


def test_dry_run_template_and_unreadable_files(county: County, tmp_path: Path) -> None:
    template = tmp_path / "模板.xlsx"
    assert "已生成模板" in run("--template", str(template))
    with pytest.raises(CommandError, match="已存在"):
        run("--template", str(template))
    # The template's example rows import as they are.
    assert "检查通过（试运行" in run(str(template), "--dry-run")
    assert not ClockPolicy.objects.exists()
    assert "导入完成" in run(str(template))
    assert ClockPolicy.objects.get(category__code="streetlight").claim_seconds == 1800
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(CommandError, match=r"\.xls"):
        run(str(tmp_path / "old.xls"))
    (tmp_path / "text.xlsx").write_text("编码,名称")
    with pytest.raises(CommandError, match="不是 Excel"):
        run(str(tmp_path / "text.xlsx"))
    other = workbook(tmp_path / "other.xlsx", {"Sheet9": [["a"]]})
    with pytest.raises(CommandError, match="缺少工作表"):
        run(str(other))
    no_header = workbook(tmp_path / "nh.xlsx", {POLICIES_SHEET: [["紧急程度"], ["一般"]]})
    with pytest.raises(CommandError, match="缺少表头“类别编码”"):
        run(str(no_header))
    with pytest.raises(CommandError, match="找不到文件"):
        run(str(tmp_path / "missing.xlsx"))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("300", 300), ("5分钟", 300), ("5 分", 300), ("2小时", 7200), ("1.5h", 5400), ("3天", 259200)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds
