"""`yishiting report` and `yishiting stats-rebuild`; rankings and red/black lists."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from yishiting.orgs.models import Hall, HallKind, Membership, Role
from yishiting.requests import actions as A
from yishiting.requests import sweep
from yishiting.stats import metrics as m
from yishiting.stats import rankings as r
from yishiting.stats.models import Rollup
from yishiting.stats.rollups import tz
from yishiting.stats.tests import rows
from yishiting.testing import County

pytestmark = pytest.mark.django_db
OCT = datetime(2026, 10, 12, 9, 0, tzinfo=tz())
NOV = datetime(2026, 11, 2, 9, 0, tzinfo=tz())


def answered(c: County, hall: Hall, liaison: str, at: datetime, late: bool = False) -> None:
    """Acknowledged in time (or 10 minutes late, after the first response clock)."""
    req = A.do_submit(actor=c["resident1"], hall=hall, text="路灯不亮", now=at)
    A.do_acknowledge(req, actor=c[liaison], now=at + timedelta(minutes=10 if late else 1))


def test_townships_ranked_with_trend(county: County) -> None:
    c = county
    answered(c, c.village, "liaison1", OCT, late=True)  # 东关镇 October: 0%
    answered(c, c.village3, "liaison3", OCT)  # 西关镇 October: 100%
    answered(c, c.village, "liaison1", NOV)  # November: both 100%
    answered(c, c.village3, "liaison3", NOV)
    answered(c, c.village3, "liaison3", NOV + timedelta(hours=1), late=True)  # 西关镇 50%
    ranks = r.rankings(m.county_scope(c.county), date(2026, 11, 1))
    halls = {e.code: e for e in ranks["halls"].entries}
    east, west = halls["130500001"], halls["130500002"]
    assert (east.rank, west.rank) == (1, 2)

    def expected(response: float) -> float:
        # only 响应率 (20%) and 解决率 (25%, nothing solved yet) have a denominator
        return round(100 * (0.20 * response + 0.25 * 0) / 0.45, 2)

    assert (east.score, west.score) == (expected(1), expected(0.5))
    assert (east.previous_score, west.previous_score) == (expected(0), expected(1))
    assert east.trend == round(expected(1) - expected(0), 2)
    assert west.trend == round(expected(0.5) - expected(1), 2)
    assert [e.code for e in ranks["halls"].red] == ["130500001", "130500002"]
    assert ranks["halls"].black == []  # fewer than six: nobody is both red and black
    # departments without a request that month are listed, unranked
    assert all(e.rank is None for e in ranks["departments"].entries)


def test_black_list_is_the_bottom_five_worst_first(county: County) -> None:
    c = county
    for i in range(8):
        hall = Hall.objects.create(
            code=f"13050000{i + 3}", name=f"第{i}镇", kind=HallKind.TOWNSHIP, parent=c.county
        )
        village = Hall.objects.create(
            code=f"13050000{i + 3}001", name=f"第{i}村", kind=HallKind.VILLAGE, parent=hall
        )
        Membership.objects.create(user=c["liaison1"], role=Role.LIAISON, hall=village)
        for j in range(8):  # township i answers i of its 8 requests late
            answered(c, village, "liaison1", NOV, late=j < i)
    ranking = r.rankings(m.county_scope(c.county), date(2026, 11, 1))["halls"]
    ranked = [e for e in ranking.entries if e.rank is not None]
    assert len(ranked) == 8
    assert len(ranking.red) == 5 and len(ranking.black) == 3
    assert ranking.black[0].score == min(e.score for e in ranked)  # type: ignore[type-var]
    assert not {e.code for e in ranking.red} & {e.code for e in ranking.black}


def test_report_command_writes_xlsx_and_pdf(county: County, tmp_path: Path) -> None:
    c = county
    A.do_submit(actor=c["resident1"], hall=c.village, text="路灯不亮", now=OCT)
    sweep.run_once(OCT + timedelta(minutes=6))  # nobody answered: escalated, a missed clock
    out = StringIO()
    call_command(
        "report", "--month", "2026-10", "--scope", "county", "--out", str(tmp_path), stdout=out
    )
    paths = [Path(p) for p in out.getvalue().split()]
    assert {p.suffix for p in paths} == {".xlsx", ".pdf"}
    pdf = next(p for p in paths if p.suffix == ".pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"STSong-Light" in pdf
    wb = load_workbook(next(p for p in paths if p.suffix == ".xlsx"))
    assert wb.sheetnames == ["概要", "部门排名", "议事厅排名", "红黑榜", "超时件"]
    summary = {row[0]: row[1] for row in wb["概要"].iter_rows(min_row=3, values_only=True)}
    assert summary["诉求总数"] == "1" and summary["响应率"] == "0.0%"
    cases = list(wb["超时件"].iter_rows(min_row=3, values_only=True))
    assert len(cases) == 1 and cases[0][4] == "响应"  # the missed 5 minutes, escalated
    call_command("report", "--month", "2026-10", "--scope", "township:130500001",
                 "--out", str(tmp_path), stdout=StringIO())  # fmt: skip
    assert (tmp_path / "130500001-2026-10.pdf").exists()
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("report", "--month", "October", stdout=StringIO())
    with pytest.raises(CommandError, match="county or township"):
        call_command(
            "report", "--month", "2026-10", "--scope", "department:zhujian", stdout=StringIO()
        )


def test_stats_rebuild_command(county: County) -> None:
    answered(county, county.village, "liaison1", OCT)
    before = rows.summed()
    Rollup.objects.all().delete()
    out = StringIO()
    call_command("stats_rebuild", stdout=out)
    assert rows.summed() == before
    assert f"{len(before)} rollup rows" in out.getvalue()


def test_deferred_rollups_are_built_once_when_the_block_ends(county) -> None:  # type: ignore[no-untyped-def]
    """Seeding defers the rollups: none are written while the block runs, and they are built
    when it ends (a rebuild afterwards changes nothing; test_exactness shows a rebuild equals
    the rows each event keeps)."""
    from yishiting.requests import actions
    from yishiting.stats import rollups
    from yishiting.stats.models import Rollup
    from yishiting.stats.tests.rows import summed

    def rows() -> list[tuple]:
        return summed()

    actions.do_submit(actor=county["resident1"], hall=county.village, text="村口路灯坏了")
    kept = rows()
    Rollup.objects.all().delete()
    with rollups.deferred():
        Rollup.objects.all().delete()
        assert not Rollup.objects.exists()
        actions.do_submit(actor=county["resident2"], hall=county.village, text="井盖松动")
        assert not Rollup.objects.exists()
    assert rows() and rows() != kept
    built = rows()
    rollups.rebuild()
    assert rows() == built
