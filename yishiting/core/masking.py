"""Personal data in public text (PRODUCT.md §6): detection, masking, and quick-capture extraction.

What is found, in the forms residents actually type them — full-width digits and letters,
spaces, dashes or dots between digit groups, a +86 prefix:

- mobile numbers (11 digits from 1[3-9]) and landlines (area code, number, extension);
- ID-card numbers (18 characters whose check digit is right, GB 11643);
- any other run of seven or more digits (an ID with a typo, a bank card, a bare local number);
- licence plates (province, letter, five or six characters: 冀E·12345, 冀ED12345);
- house numbers down to the household (3-2-501, 2单元501室, 5栋302, 301号房);
- the reporter's own name, when given (`mask_text(text, names=[...])`).

Detection runs on a copy of the text with full-width characters made half-width one for one,
so the spans found are the spans of the original, and masking changes nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# One-for-one: full-width digits, letters, dashes and space to their ASCII forms.
_HALF = {chr(0xFF10 + i): str(i) for i in range(10)}
_HALF |= {chr(0xFF21 + i): chr(0x41 + i) for i in range(26)}
_HALF |= {chr(0xFF41 + i): chr(0x61 + i) for i in range(26)}
_HALF |= {c: "-" for c in "－‐‑‒–—―﹣−"} | {"\u3000": " ", "．": ".", "（": "(", "）": ")"}
_HALF |= {"＋": "+", "·": "·", "•": "·", "・": "·", "／": "/", "＿": "_"}
_FULLWIDTH = str.maketrans(_HALF)

# Between two digits: nothing, or up to three spaces, dashes, dots, slashes or underscores
# ("138 - 1234 - 5678", "138/1234/5678"): residents type numbers every way.
_SEP_CHARS = r"[ \t\-./_]"
_SEP = rf"{_SEP_CHARS}{{0,3}}"
_MOBILE = re.compile(rf"(?<![\d+])(?:(?:\+|00)86{_SEP}\s?)?1{_SEP}[3-9](?:{_SEP}\d){{9}}(?!\d)")
_LANDLINE_MAIN = rf"(?:\(0\d{{2,3}}\)|0\d{{2,3}}){_SEP}\d{{3,4}}{_SEP}\d{{4}}"
_LANDLINE = re.compile(
    rf"(?<!\d){_LANDLINE_MAIN}"
    r"(?:[ \-]?(?:转|ext\.?|-)[ ]?\d{1,5})?(?!\d)"
)
_ID18 = re.compile(rf"(?<![\dA-Za-z])\d(?:{_SEP}\d){{16}}{_SEP}[\dXx](?![\dA-Za-z])")
_LONG_NUMBER = re.compile(rf"(?<!\d)\d(?:{_SEP}\d){{6,}}(?!\d)")
# A real date (month 1-12, day 1-31), and a time after it: not an identifier. "1900-00-00"
# is no date, so 0000-1900-00-0 stays one masked number.
_DATE_TIME = re.compile(
    r"(?<!\d)(?:19|20)\d{2}[-./年](?:0?[1-9]|1[0-2])[-./月](?:0?[1-9]|[12]\d|3[01])(?!\d)日?"
    r"(?:[ T]?\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?"
)
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_SEP = r"[ \t\-·./_]{0,3}"
_PLATE = re.compile(
    rf"[{_PROVINCES}]{_PLATE_SEP}[A-Za-z]{_PLATE_SEP}"  # province, city letter
    rf"(?=[A-Za-z0-9 \t\-·./_]*\d)[A-Za-z0-9](?:{_PLATE_SEP}[A-Za-z0-9]){{4,5}}"  # serial
    r"(?![A-Za-z0-9])"
)
_CN_NUM = "一二三四五六七八九十"
_HOUSE = re.compile(
    r"(?<![\d\-])\d{1,3}-\d{1,2}-\d{3,4}(?![\d\-])"  # building-unit-room
    rf"|(?:\d+|[{_CN_NUM}]+)\s*单元\s*(?:\d{{2,4}}\s*(?:室|号|户|房)?)?"  # 2单元(501室)
    r"|\d+\s*(?:栋|幢|座|号楼)\s*\d{3,4}\s*(?:室|号|户|房)?"  # 5栋302, 3号楼501室
    r"|(?<!\d)\d{3,4}\s*(?:室|号房)"  # 501室 (not 户: "120户" counts households)
)
# Numbers with a unit after them are amounts, not identifiers.
_AMOUNT_AFTER = re.compile(
    r"\s*(?:元|万|亿|平|㎡|米|公里|千米|吨|斤|公斤|千克|人|户|次|个|辆|块|份|年)"
)

_NUMBERS = frozenset({"mobile", "landline", "id_card", "number"})
_JOINED_AFTER = re.compile(rf"{_SEP}\d")
_JOINED_BEFORE = re.compile(rf"\d{_SEP}$")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class Found:
    """A piece of personal data in a text: where it is and what kind."""

    start: int
    end: int
    kind: str  # mobile, landline, id_card, number, plate, house, name
    value: str  # as written in the text


def half_width(text: str) -> str:
    """Full-width digits, letters, dashes and spaces as ASCII, character for character."""
    return text.translate(_FULLWIDTH)


def id_checksum_ok(number: str) -> bool:
    """Whether an 18-character ID-card number's last character is its check digit."""
    number = re.sub(r"[ \-.]", "", half_width(number)).upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17]


def _name_pattern(name: str) -> re.Pattern[str] | None:
    chars = [c for c in name if not c.isspace()]
    if len(chars) < 2:
        return None
    return re.compile(r"\s*".join(re.escape(c) for c in chars))


def find_personal_data(text: str, names: Iterable[str] = ()) -> list[Found]:
    """Every piece of personal data in the text, in order, without overlaps (the first kind
    listed in the module docstring wins a tie)."""
    plain = half_width(text)
    found: list[Found] = []
    taken = [False] * len(plain)

    def add(start: int, end: int, kind: str) -> None:
        if any(taken[start:end]):
            return
        if kind in _NUMBERS:
            # Digits joined to a number by a separator are part of it: none may survive.
            while (m := _JOINED_AFTER.match(plain, end)) and not any(taken[end : m.end()]):
                end = m.end()
            while (m := _JOINED_BEFORE.search(plain, 0, start)) and not any(
                taken[m.start() : start]
            ):
                start = m.start()
        for i in range(start, end):
            taken[i] = True
        found.append(Found(start, end, kind, text[start:end]))

    for m in _ID18.finditer(plain):
        if id_checksum_ok(m.group()):
            add(m.start(), m.end(), "id_card")
    for m in _MOBILE.finditer(plain):
        add(m.start(), m.end(), "mobile")
    for m in _LANDLINE.finditer(plain):
        add(m.start(), m.end(), "landline")
    dates = [(m.start(), m.end()) for m in _DATE_TIME.finditer(plain)]
    for m in _LONG_NUMBER.finditer(plain):
        # Left alone only when the whole run is a date: digits joined on either side of one
        # (0000-2019-12-05) make it a number like any other.
        if any(s <= m.start() and m.end() <= e for s, e in dates):
            continue
        if _AMOUNT_AFTER.match(plain, m.end()) and not re.search(_SEP_CHARS, m.group()):
            continue
        add(m.start(), m.end(), "number")
    for m in _PLATE.finditer(plain):
        add(m.start(), m.end(), "plate")
    for m in _HOUSE.finditer(plain):
        add(m.start(), m.end(), "house")
    for name in names:
        pattern = _name_pattern(name or "")
        if pattern is not None:
            for m in pattern.finditer(plain):
                add(m.start(), m.end(), "name")
    return sorted(found, key=lambda f: f.start)


def _stars(value: str, keep_head: int = 0) -> str:
    """Digits and letters (either width) after the first `keep_head` of them become '*'."""
    out, seen = [], 0
    for c in value:
        h = half_width(c)
        if h.isascii() and h.isalnum():
            seen += 1
            out.append(c if seen <= keep_head else "*")
        else:
            out.append(c)
    return "".join(out)


def _mask(found: Found) -> str:
    if found.kind == "name":
        return mask_name(found.value)
    if found.kind == "plate":
        # 冀E·12345 -> 冀E·*****: the province and city letter say little about whose car.
        return found.value[0] + _stars(found.value[1:], keep_head=1)
    if found.kind == "house":
        return re.sub(r"[0-9０-９]", "*", found.value)
    return _stars(found.value)


def mask_phone(phone: str) -> str:
    """138****5678 style: keep the first three and last four digits."""
    digits = re.sub(r"\D", "", half_width(phone))
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str) -> str:
    """张** style: the family name only."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_text(text: str, names: Iterable[str] = ()) -> str:
    """The text with every piece of personal data masked (see `find_personal_data`); `names`
    are the reporter's own name (and any others to hide)."""
    if not text:
        return text
    out, last = [], 0
    for found in find_personal_data(text, names):
        out.append(text[last : found.start])
        out.append(_mask(found))
        last = found.end
    out.append(text[last:])
    return "".join(out)


# A place: one or more named units (东关镇, 幸福小区, 建设路), then optionally a spot
# (3号楼, 门口, 东侧). Names never run across a word that cannot be part of one.
_NAME_CHAR = r"[^\s\d说在的了是我你他她它到从向给把被和与及、，。！？：；,.!?:;()（）“”\"']"
_UNIT = (
    r"(?:省|市|县|区|镇|乡|街道|村|社区|小区|花园|家园|公寓|大厦|广场|公园|小学|中学|学校|医院"
    r"|市场|大道|大街|路(?![灯面上况过])|街|巷|胡同|组)"  # 路灯, 路面: the problem, not a road
)
_SPOT = (
    r"(?:号院|号楼|号|栋|幢|单元|门口|路口|附近|对面|旁边|东侧|西侧|南侧|北侧|东门|西门|南门|北门)"
)
_PLACE = re.compile(
    rf"(?:{_NAME_CHAR}{{1,8}}?{_UNIT})+(?:[\u4e00-\u9fa5A-Za-z0-9\-]{{0,12}}?{_SPOT})?"
)
_SPOT_END = re.compile(rf".*?{_SPOT}")
_PLACE_CUE = re.compile(r"(?:地址|地点|位置|位于|在)[:：]?\s*")
# A chat app's tags before a message: 【东关村群】, [微信]: names of groups, not places.
_CHAT_TAG = re.compile(r"【[^】]{0,30}】|\[[^\]]{0,30}\]|〔[^〕]{0,30}〕")


def extract_contact(text: str) -> tuple[str | None, str | None]:
    """From a pasted chat message, for quick capture: (the first phone number, digits only,
    +86 dropped; the place mentioned, preferring one after 地址/地点/位于/在)."""
    phone = None
    for f in find_personal_data(text):
        if f.kind in ("mobile", "landline"):
            value = half_width(f.value)
            if f.kind == "landline":  # the number without its extension (转8)
                main = re.match(_LANDLINE_MAIN, value)
                value = main.group() if main else value
            digits = re.sub(r"[^\d]", "", value)
            if f.kind == "mobile" and len(digits) > 11:
                digits = digits[-11:]
            phone = digits
            break
    # Tags blanked out character for character, so the spans stay those of `text`.
    plain = _CHAT_TAG.sub(lambda t: " " * len(t.group()), half_width(text))
    m = None
    for cue in _PLACE_CUE.finditer(plain):
        m = _PLACE.match(plain, cue.end())
        if m:
            break
    m = m or _PLACE.search(plain)
    if m is None:
        return phone, None
    # The place ends at its first spot (门口, 3号楼): what follows is the problem, not where.
    spot = _SPOT_END.match(plain, m.start(), m.end())
    end = spot.end() if spot else m.end()
    return phone, text[m.start() : end]
