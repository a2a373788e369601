"""The case ledger (台账): one .xlsx row per request, for any filter of the request list.

Written with openpyxl's write-only mode from a database iterator, a thousand requests at a
time (their step times in one query per thousand): a county's year of 100,000 requests never
holds more than one batch in memory. Personal data is shown only where the caller handles the
request (queries.sees_personal_data), as on every other view.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.db.models import QuerySet
from django.utils import timezone, translation
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from yishiting.api.schemas import reporter_names
from yishiting.core.masking import mask_name, mask_phone, mask_text
from yishiting.orgs.models import Hall, HallKind, Priority
from yishiting.orgs.scope import Actor
from yishiting.requests.models import Channel, Event, RatingChannel, Request
from yishiting.requests.queries import sees_personal_data
from yishiting.requests.states import RATING_LABELS, STATE_LABELS, Verb

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET = "台账"
BATCH = 1000


@dataclass(frozen=True)
class LedgerColumn:
    """A column: its Chinese header and width."""

    header: str
    width: int
    time: bool = False


COLUMNS = (
    LedgerColumn("编号", 14),
    LedgerColumn("标题", 30),
    LedgerColumn("议事厅", 16),
    LedgerColumn("乡镇", 12),
    LedgerColumn("当前所在", 16),
    LedgerColumn("类别", 12),
    LedgerColumn("承办部门", 16),
    LedgerColumn("紧急程度", 8),
    LedgerColumn("状态", 8),
    LedgerColumn("来源", 10),
    LedgerColumn("反映人", 10),
    LedgerColumn("联系电话", 14),
    LedgerColumn("提交时间", 17, True),
    LedgerColumn("响应时间", 17, True),
    LedgerColumn("上报时间", 17, True),
    LedgerColumn("派单时间", 17, True),
    LedgerColumn("签收时间", 17, True),
    LedgerColumn("办结时间", 17, True),
    LedgerColumn("评价时间", 17, True),
    LedgerColumn("关闭时间", 17, True),
    LedgerColumn("是否超时", 8),
    LedgerColumn("评价", 10),
    LedgerColumn("评价方式", 10),
    LedgerColumn("退单次数", 8),
    LedgerColumn("重开次数", 8),
)
HEADERS = tuple(c.header for c in COLUMNS)
# Steps whose time comes from the events: the first escalation, dispatch and claim, the last
# rating (the reporter's own or a return visit's).
_FIRST = {Verb.ESCALATE: "上报时间", Verb.DISPATCH: "派单时间", Verb.CLAIM: "签收时间"}
_LAST = {Verb.RATE: "评价时间", Verb.VISIT: "评价时间"}


def _labels() -> dict[str, dict[str, str]]:
    """The Chinese labels of every coded column, read once per ledger (activating a language
    per cell would cost more than writing it)."""
    with translation.override(None):
        return {
            "state": {s.value: str(label) for s, label in STATE_LABELS.items()},
            "priority": {v: str(label) for v, label in Priority.choices},
            "channel": {v: str(label) for v, label in Channel.choices},
            "rating": {r.value: str(label) for r, label in RATING_LABELS.items()},
            "rating_channel": {v: str(label) for v, label in RatingChannel.choices},
        }


def _naive(value: datetime | None) -> datetime | None:
    """Excel has no time zones: the county's wall time."""
    return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if value else None


def _batches(rows: Iterable[Request], size: int) -> Iterator[list[Request]]:
    batch: list[Request] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _step_times(ids: list[int]) -> dict[int, dict[str, datetime]]:
    """Per request, the times of the steps that only the events record."""
    out: dict[int, dict[str, datetime]] = {}
    verbs = [*_FIRST, *_LAST]
    for request_id, verb, at in (
        Event.objects.filter(request_id__in=ids, verb__in=verbs)
        .order_by("request_id", "seq")
        .values_list("request_id", "verb", "created_at")
    ):
        times = out.setdefault(request_id, {})
        if verb in _FIRST:
            times.setdefault(_FIRST[Verb(verb)], at)
        else:
            times[_LAST[Verb(verb)]] = at
    return out


class _Townships:
    """The township (乡镇/街道) above a hall, from one read of the hall tree."""

    def __init__(self) -> None:
        self.by_code = {
            code: (name, kind)
            for code, name, kind in Hall.objects.values_list("code", "name", "kind")
        }

    def of(self, hall: Hall) -> str:
        for code in hall.ancestor_codes():
            name, kind = self.by_code.get(code, ("", ""))
            if kind == HallKind.TOWNSHIP:
                return name
        return ""


def _row(
    req: Request,
    who: Actor | None,
    times: dict[str, datetime],
    townships: _Townships,
    labels: dict[str, dict[str, str]],
) -> dict[str, Any]:
    full = sees_personal_data(who, req)
    if req.anonymous and not full:
        name = "匿名"
    else:
        name = req.reporter_name if full else mask_name(req.reporter_name)
    names = reporter_names(req)
    return {
        "编号": req.number,
        "标题": req.title if full else mask_text(req.title, names),
        "议事厅": req.origin_hall.name,
        "乡镇": townships.of(req.origin_hall),
        "当前所在": req.hall.name,
        "类别": req.category.name if req.category else "",
        "承办部门": req.department.name if req.department else "",
        "紧急程度": labels["priority"].get(req.priority, req.priority),
        "状态": labels["state"].get(req.status, req.status),
        "来源": labels["channel"].get(req.channel, req.channel),
        "反映人": name,
        "联系电话": req.reporter_phone if full else mask_phone(req.reporter_phone),
        "提交时间": req.created_at,
        "响应时间": req.first_responded_at,
        "办结时间": req.resolved_at,
        "关闭时间": req.closed_at,
        **times,
        "是否超时": "是" if req.overdue else "否",
        "评价": labels["rating"].get(req.rating, req.rating),
        "评价方式": labels["rating_channel"].get(req.rating_channel, req.rating_channel),
        "退单次数": req.return_count,
        "重开次数": req.reopen_count,
    }


def _text(ws: Any, value: Any) -> Any:
    """A value as it goes into a row. openpyxl stores a string that starts with "=" as a
    formula: a resident's "=HYPERLINK(…)" would run in the reader's Excel. Such a text goes in
    as a cell typed string."""
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


def _cells(row: dict[str, Any], ws: Any) -> list[Any]:
    # Plain values, not cells: openpyxl gives a datetime its date-time format by itself, and
    # building a styled cell per value would double the cost of a row.
    return [
        _naive(row.get(c.header))
        if c.time
        else ("" if row.get(c.header) is None else _text(ws, row[c.header]))
        for c in COLUMNS
    ]


def write_ledger(
    requests: QuerySet[Request], who: Actor | None, out: str | Path | IO[bytes]
) -> int:
    """Write the ledger of `requests` (in their order) to `out`; the number of rows."""
    book = Workbook(write_only=True)
    ws = book.create_sheet(SHEET)
    ws.freeze_panes = "B2"
    for i, column in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = column.width
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    heads = []
    for header in HEADERS:
        cell = WriteOnlyCell(ws, value=header)
        cell.font, cell.fill = head_font, head_fill
        heads.append(cell)
    ws.append(heads)
    townships = _Townships()
    labels = _labels()
    count = 0
    qs = requests.select_related("hall", "origin_hall", "department", "category", "reporter")
    for batch in _batches(qs.iterator(chunk_size=BATCH), BATCH):
        times = _step_times([r.pk for r in batch])
        for req in batch:
            ws.append(_cells(_row(req, who, times.get(req.pk, {}), townships, labels), ws))
            count += 1
    book.save(out)
    return count
