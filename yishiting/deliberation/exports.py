"""四议两公开 forms for the township: one matter's six steps as .xlsx and PDF.

The PDF uses reportlab's built-in CID font STSong-Light (as `stats.report` does), so Chinese
renders with no font file. A filed county form: its labels are Chinese only.
"""

from __future__ import annotations

from typing import IO, Any

from django.utils import timezone

from yishiting.deliberation.models import Matter
from yishiting.deliberation.states import STEPS
from yishiting.ledger.xlsx import XLSX
from yishiting.stats.report import FONT

__all__ = ["XLSX", "rows", "write_pdf", "write_xlsx"]

HEADER = ["序号", "步骤", "日期", "参加人数", "签名", "内容", "关联会议"]


def title(matter: Matter) -> str:
    """The form's title."""
    return f"{matter.hall.name}“四议两公开”工作记录：{matter.title}"


def rows(matter: Matter) -> list[list[str]]:
    """One row per step in the statutory order; steps not yet recorded are left blank."""
    done = {s.step: s for s in matter.steps.select_related("meeting")}
    out = [HEADER]
    for i, (code, name) in enumerate(STEPS, start=1):
        s = done.get(code)
        if s is None:
            out.append([str(i), name, "", "", "", "（未进行）", ""])
            continue
        meeting = ""
        if s.meeting is not None:
            m = s.meeting
            meeting = f"{m.title}（应到 {m.roster_size or '—'}，实到 {m.present or '—'}，" + (
                f"赞成 {m.yes}，反对 {m.no}，弃权 {m.abstain}）"
                if m.yes is not None
                else "未表决）"
            )
        out.append(
            [str(i), name, s.held_on.isoformat(), str(s.attendance), s.signatures, s.note, meeting]
        )
    return out


def write_xlsx(matter: Matter, out: IO[bytes]) -> None:
    """The form as a workbook."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "四议两公开"
    ws.append([title(matter)])
    ws["A1"].font = Font(bold=True, size=14)
    for row in rows(matter):
        ws.append(row)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    ws.append([])
    ws.append([f"导出时间：{timezone.localtime():%Y-%m-%d %H:%M}"])
    for letter, width in zip("ABCDEFG", (6, 26, 12, 10, 40, 40, 40), strict=True):
        ws.column_dimensions[letter].width = width
    wb.save(out)


def write_pdf(matter: Matter, out: IO[bytes]) -> None:
    """The form as a printable A4 PDF."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    head = ParagraphStyle("title", fontName=FONT, fontSize=16, leading=22, spaceAfter=6)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=12)
    doc = SimpleDocTemplate(
        out, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
        topMargin=12 * mm, bottomMargin=12 * mm, title=title(matter),
    )  # fmt: skip
    table = Table([[Paragraph(v, cell) for v in row] for row in rows(matter)], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story: list[Any] = [
        Paragraph(title(matter), head),
        table,
        Spacer(1, 6 * mm),
        Paragraph(f"导出时间：{timezone.localtime():%Y-%m-%d %H:%M}", cell),
    ]
    doc.build(story)
