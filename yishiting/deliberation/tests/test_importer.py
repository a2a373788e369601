"""`yishiting import-register`: a good workbook loads households and residents (verified ones
linked to their accounts); a bad row is named by sheet and row, and nothing is imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from yishiting.deliberation.models import Household, Resident
from yishiting.testing import County

pytestmark = pytest.mark.django_db


def _book(path: Path, households: list[list[Any]], residents: list[list[Any]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    ws = wb.create_sheet("户")
    ws.append(["议事厅编码", "户号", "户主", "住址"])
    for row in households:
        ws.append(row)
    ws = wb.create_sheet("居民")
    ws.append(["议事厅编码", "户号", "姓名", "手机号", "用户名", "代表", "两委", "党员"])
    for row in residents:
        ws.append(row)
    wb.save(path)
    return path


def test_a_good_register_imports(county: County, tmp_path: Path, capsys: Any) -> None:
    code = county.village.code
    path = _book(
        tmp_path / "r.xlsx",
        [[code, "0001", "王秀兰", "东街1号"], [code, "0002", "李建国", ""]],
        [
            [code, "0001", "王秀兰", "13812345678", "resident1", "是", "", "否"],
            [code, "0001", "王大山", "", "", "", "是", "是"],
            [code, "0002", "李建国", "", "resident2", "否", "否", "否"],
        ],
    )
    call_command("import_register", str(path))
    assert Household.objects.filter(hall=county.village).count() == 2
    wang = Resident.objects.get(name="王秀兰")
    assert wang.user == county["resident1"] and wang.representative and not wang.committee
    assert Resident.objects.get(name="王大山").committee
    call_command("import_register", str(path))  # again: updated, not doubled
    assert Resident.objects.count() == 3
    assert "更新 3" in capsys.readouterr().out


def test_a_bad_row_imports_nothing(county: County, tmp_path: Path) -> None:
    code = county.village.code
    path = _book(
        tmp_path / "bad.xlsx",
        [[code, "0001", "王秀兰", ""]],
        [
            [code, "0001", "王秀兰", "", "", "", "", ""],
            [code, "0009", "无户", "", "", "", "", ""],
            [code, "0001", "张三", "", "nobody", "也许", "", ""],
        ],
    )
    with pytest.raises(CommandError) as failed:
        call_command("import_register", str(path))
    report = str(failed.value)
    assert "居民!第3行: 户号 0009 不在户表中" in report
    assert "居民!第4行" in report and "用户名 nobody 不存在" in report and "也许" in report
    assert not Household.objects.exists() and not Resident.objects.exists()


def test_template_and_dry_run(county: County, tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    call_command("import_register", template=str(out))
    assert out.exists()
    code = county.village.code
    path = _book(
        tmp_path / "ok.xlsx", [[code, "0001", "", ""]], [[code, "0001", "甲", "", "", "", "", ""]]
    )
    call_command("import_register", str(path), dry_run=True)
    assert not Resident.objects.exists()
