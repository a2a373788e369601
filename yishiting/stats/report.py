"""The monthly report (月度报告) of a county or a township, as .xlsx and PDF.

Summary, the rates of §5, the rankings and red/black lists, and the month's overdue cases,
all from `metrics` and `rankings` (the same figures as the API). The PDF uses reportlab's
built-in CID font STSong-Light, so Chinese renders with no font file. A printed county
document: its labels are Chinese only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from yishiting.stats import metrics as m
from yishiting.stats import rankings as r

FONT = "STSong-Light"


def _pct(rate: m.Rate) -> str:
    value = rate.value
    return "—" if value is None else f"{value * 100:.1f}%"


def _frac(rate: m.Rate) -> str:
    return f"{rate.numerator}/{rate.denominator}"


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"≤{seconds / 60:.0f} 分钟" if seconds >= 60 else f"≤{seconds} 秒"
    if seconds < 86400:
        return f"≤{seconds / 3600:.1f} 小时"
    return f"≤{seconds / 86400:.1f} 天"


def _times(t: dict[str, int | None]) -> str:
    return f"中位数 {_duration(t['median_seconds'])}，P90 {_duration(t['p90_seconds'])}"


@dataclass
class Report:
    """Everything a monthly report shows, as rows of text."""

    title: str
    summary: list[list[str]]
    departments: list[list[str]]
    halls: list[list[str]]
    lists: list[list[str]]
    cases: list[list[str]]


RANK_HEADER = ["名次", "名称", "得分", "上月得分", "变化", "诉求数", "响应率", "按时办结率",
               "解决率", "满意率", "超时次数", "督办超期", "退单驳回"]  # fmt: skip
CASE_HEADER = ["工单编号", "标题", "议事厅", "承办部门", "超时时限", "时间"]
CLOCK_NAMES = {
    "respond_by": "响应",
    "claim_by": "签收",
    "resolve_by": "办结",
    "supervise_by": "督办",
    "forward_by": "转办",
}


def _rank_rows(ranking: r.Ranking) -> list[list[str]]:
    rows = [RANK_HEADER]
    for e in ranking.entries:
        mt = e.metrics
        c = mt.tally.counts
        rows.append(
            [
                str(e.rank or "—"),
                e.name,
                "—" if e.score is None else f"{e.score:.2f}",
                "—" if e.previous_score is None else f"{e.previous_score:.2f}",
                "—" if e.trend is None else f"{e.trend:+.2f}",
                str(c["submitted"]),
                _pct(mt.response_rate),
                _pct(mt.on_time_rate),
                _pct(mt.resolution_rate),
                _pct(mt.satisfaction_rate),
                str(c["breaches"]),
                str(c["supervision_missed"]),
                str(c["returns_upheld"]),
            ]
        )
    return rows


def build(scope: m.Scope, month: date) -> Report:
    """The report's content for a county or hall scope and a month."""
    since, until = r.month_bounds(month)
    mt = m.metrics(scope, since, until)
    c = mt.tally.counts
    fr, rs = mt.times("first_response"), mt.times("resolution")
    sat = mt.satisfaction_rate
    summary = [
        ["指标", "数值", "说明"],
        ["诉求总数", str(c["submitted"]), "本月提交"],
        ["受理", str(c["accepted"]), "不含不予受理、合并件与甄别通过件"],
        ["不予受理 / 合并", f"{c['rejected']} / {c['merged']}", ""],
        ["响应率", _pct(mt.response_rate),
         f"{_frac(mt.response_rate)} 按时首次响应"],
        ["按时办结率", _pct(mt.on_time_rate),
         f"{_frac(mt.on_time_rate)} 次办结按时（含批准延期）"],
        ["解决率", _pct(mt.resolution_rate),
         f"{_frac(mt.resolution_rate)} 办结且未重开"],
        ["满意率", _pct(sat),
         f"(满意 {c['satisfied']} + {mt.weight}×基本满意 {c['basically_satisfied']})"
         f" / 已评价 {c['rated']}"],
        ["未评价", str(c["unrated"]), "评价期满未评价，不计入满意"],
        ["甄别通过", str(c["appeals_approved"]), "不计入满意率与解决率"],
        ["反弹率", _pct(mt.rebound_rate),
         f"{_frac(mt.rebound_rate)} 关闭后重开"],
        ["首次响应用时", _times(fr), f"{fr['count']} 件"],
        ["办结用时", _times(rs), f"{rs['count']} 件"],
        ["超时次数", str(c["breaches"]), "各类时限超时（含自动上报）"],
        ["督办超期", str(c["supervision_missed"]), "督办时限内未办"],
        ["退单驳回", str(c["returns_upheld"]), "退单经审核驳回"],
    ]  # fmt: skip
    ranks = r.rankings(scope, month)
    lists = [["榜单", "名称", "得分"]]
    for kind, ranking in (("部门", ranks["departments"]), ("议事厅", ranks["halls"])):
        for label, entries in (("红榜", ranking.red), ("黑榜", ranking.black)):
            for e in entries:
                lists.append([f"{kind}{label}", e.name, f"{e.score:.2f}"])
    cases = [CASE_HEADER]
    for case in r.notice(scope, month)["cases"]["overdue"]:
        clocks = "、".join(CLOCK_NAMES.get(k, k) for k in case["clocks"].split(",") if k)
        cases.append(
            [case["number"], case["title"], case["hall"], case["department"], clocks, case["at"]]
        )
    return Report(
        title=f"{scope.label} {month:%Y年%m月} 百姓议事厅诉求办理月度报告",
        summary=summary,
        departments=_rank_rows(ranks["departments"]) if scope.kind == "county" else [],
        halls=_rank_rows(ranks["halls"]),
        lists=lists,
        cases=cases,
    )


def _sheets(rep: Report) -> list[tuple[str, list[list[str]]]]:
    sheets = [("概要", rep.summary)]
    if rep.departments:
        sheets.append(("部门排名", rep.departments))
    sheets += [("议事厅排名", rep.halls), ("红黑榜", rep.lists), ("超时件", rep.cases)]
    return sheets


def write_xlsx(rep: Report, path: Path) -> None:
    """The report as a workbook: one sheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for name, rows in _sheets(rep):
        ws = wb.create_sheet(name)
        ws.append([rep.title])
        ws["A1"].font = Font(bold=True, size=14)
        for row in rows:
            ws.append(row)
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for col in ws.columns:
            width = max(len(str(cell.value or "")) for cell in col[1:]) if len(col) > 1 else 10
            ws.column_dimensions[col[0].column_letter].width = min(60, max(8, width * 1.8))
    wb.save(path)


def write_pdf(rep: Report, path: Path) -> None:
    """The report as a printable A4 PDF."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    title = ParagraphStyle("title", fontName=FONT, fontSize=16, leading=22, spaceAfter=6)
    heading = ParagraphStyle("heading", fontName=FONT, fontSize=12, leading=18, spaceBefore=8)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10)
    doc = SimpleDocTemplate(
        str(path), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
        topMargin=12 * mm, bottomMargin=12 * mm, title=rep.title,
    )  # fmt: skip
    story: list[Any] = [Paragraph(rep.title, title)]
    for name, rows in _sheets(rep):
        story.append(Paragraph(name, heading))
        if len(rows) <= 1:
            story.append(Paragraph("无", cell))
            continue
        table = Table([[Paragraph(v, cell) for v in row] for row in rows], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ]
            )
        )
        story += [table, Spacer(1, 4 * mm)]
    doc.build(story)


def generate(scope: m.Scope, month: date, out: Path) -> list[Path]:
    """Write `<code>-<YYYY-MM>.xlsx` and `.pdf` into `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    rep = build(scope, month)
    code = scope.hall.code if scope.hall is not None else scope.key.replace(":", "-")
    stem = out / f"{code}-{month:%Y-%m}"
    xlsx, pdf = stem.with_suffix(".xlsx"), stem.with_suffix(".pdf")
    write_xlsx(rep, xlsx)
    write_pdf(rep, pdf)
    return [xlsx, pdf]
