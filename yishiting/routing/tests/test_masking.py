"""Personal data never survives in public text, in whatever form it is typed (issue 6)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yishiting.core.masking import (
    extract_contact,
    find_personal_data,
    half_width,
    id_checksum_ok,
    mask_name,
    mask_phone,
    mask_text,
)

FULL = {str(i): chr(0xFF10 + i) for i in range(10)}
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

pytestmark = pytest.mark.fuzz


def with_check_digit(first17: str) -> str:
    return (
        first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]
    )


mobiles = st.builds(
    lambda second, rest: f"1{second}{rest}",
    st.sampled_from("3456789"),
    st.text("0123456789", min_size=9, max_size=9),
)
landlines = st.builds(
    lambda area, number: f"0{area}{number}",
    st.text("0123456789", min_size=2, max_size=3),
    st.text("123456789", min_size=1, max_size=1).flatmap(
        lambda first: st.text("0123456789", min_size=6, max_size=7).map(lambda r: first + r)
    ),
)
id_numbers = st.builds(
    lambda region, year, month, day, seq: with_check_digit(
        f"{region}{year}{month:02d}{day:02d}{seq}"
    ),
    st.text("0123456789", min_size=6, max_size=6).filter(lambda r: r[0] != "0"),
    st.integers(1930, 2020).map(str),
    st.integers(1, 12),
    st.integers(1, 28),
    st.text("0123456789", min_size=3, max_size=3),
)
plates = st.builds(
    lambda province, city, serial: (province, city, serial),
    st.sampled_from("京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"),
    st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXY"),
    st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=5, max_size=6).filter(
        lambda s: any(c.isdigit() for c in s)
    ),
)
filler = st.text(
    st.sampled_from("路灯坏了我家门口请尽快处理谢谢联系电话身份证车牌号小区东街，。！：的是"),
    max_size=12,
)


@st.composite
def typed(draw: st.DrawFn, digits: str) -> str:
    """The number as a resident might type it: separators anywhere, some digits full-width."""
    out = []
    for i, c in enumerate(digits):
        if i and draw(st.integers(0, 3)) == 0:
            out.append(draw(st.sampled_from([" ", "-", "－", "\u3000", "."])))
        out.append(FULL.get(c, c) if draw(st.booleans()) else c)
    return "".join(out)


def digits_only(text: str) -> str:
    return re.sub(r"[^0-9Xx]", "", half_width(text))


@settings(max_examples=300)
@given(data=st.data(), kind=st.sampled_from(["mobile", "landline", "id"]))
def test_no_number_survives_masking(data: st.DataObject, kind: str) -> None:
    number = data.draw({"mobile": mobiles, "landline": landlines, "id": id_numbers}[kind])
    if kind == "mobile" and data.draw(st.booleans()):
        prefix = data.draw(st.sampled_from(["+86", "+86 ", "0086", "86"]))
    else:
        prefix = ""
    written = prefix + data.draw(typed(number))
    text = data.draw(filler) + written + data.draw(filler)
    masked = mask_text(text)
    assert number not in digits_only(masked)
    # Not one digit of it is left where it stood.
    assert not re.search(r"[0-9０-９]", masked)


@given(plate=plates, data=st.data())
def test_no_plate_survives_masking(plate: tuple[str, str, str], data: st.DataObject) -> None:
    province, city, serial = plate
    sep = data.draw(st.sampled_from(["", "", "·", " ", "-", "•"]))
    letters = "".join(
        chr(ord(c) - 0x21 + 0xFF01) if data.draw(st.booleans()) and c.isascii() else c
        for c in serial
    )
    text = data.draw(filler) + f"{province}{city}{sep}{letters}" + data.draw(filler)
    masked = mask_text(text)
    assert serial not in half_width(masked).upper().replace(" ", "")
    assert not re.search(r"[0-9０-９]", masked)


@given(name=st.text("王李张刘陈杨赵黄周吴秀兰建国丽华强明", min_size=2, max_size=4), data=st.data())
def test_reporters_own_name_is_masked(name: str, data: st.DataObject) -> None:
    spaced = (" " if data.draw(st.booleans()) else "").join(name)
    text = data.draw(filler) + spaced + data.draw(filler)
    masked = mask_text(text, names=[name])
    assert name not in masked.replace(" ", "")


def test_examples_read_as_expected() -> None:
    assert mask_text("有事打我电话 138 1234 5678，谢谢") == "有事打我电话 *** **** ****，谢谢"
    assert mask_text("座机（0319）5551234") == "座机（****）*******"
    assert mask_text("车牌冀E·12345停在这") == "车牌冀E·*****停在这"
    assert mask_text("住3-2-501，2单元501室") == "住*-*-***，*单元***室"
    assert mask_text("王秀兰说：王 秀 兰家门口", names=["王秀兰"]) == "王**说：王****家门口"


def test_what_is_not_personal_data_is_left_alone() -> None:
    for text in [
        "2019-12-05 10:30在小区门口",
        "项目投资1500000元",
        "建设路12号门口路灯坏了",
        "共有120户居民",
        "３号楼门口",
    ]:
        assert mask_text(text) == text, text


def test_id_numbers_are_told_by_their_check_digit() -> None:
    good = with_check_digit("11010519491231002")
    assert id_checksum_ok(good)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert not id_checksum_ok(bad)
    kinds = [f.kind for f in find_personal_data(f"身份证{good}")]
    assert kinds == ["id_card"]
    # A mistyped one is still masked, as a long number.
    assert [f.kind for f in find_personal_data(f"身份证{bad}")] == ["number"]
    assert mask_text(f"身份证{bad}") == "身份证" + "*" * 18


def test_mask_phone_and_name_keep_their_old_shape() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("１３８-1234-5678") == "138****5678"
    assert mask_name("王秀兰") == "王**"
    assert mask_name("") == ""


def test_extract_contact_for_quick_capture() -> None:
    assert extract_contact("张大爷说东关村村委会门口路灯坏了三天了，电话138 1234 5678") == (
        "13812345678",
        "东关村村委会门口",
    )
    assert extract_contact("地址：东关镇幸福小区3号楼门口，联系人李先生 0319-5551234") == (
        "03195551234",
        "东关镇幸福小区3号楼",
    )
    assert extract_contact("+86 139 8765 4321 西关村") == ("13987654321", "西关村")
    assert extract_contact("路灯坏了") == (None, None)


def test_extract_contact_from_pasted_chat_messages() -> None:
    # The chat group's tag is not the place; a lamp (路灯) is not a road.
    assert extract_contact(
        "【东关村群】李大姐：村西头大桥那边路灯又不亮了，我电话１３９ １２３４ ５６７８"
    ) == (
        "13912345678",
        None,
    )
    # A landline's extension is not part of the number to call back.
    assert extract_contact("[微信] 地点：北街村委会东侧，垃圾没人拉，电话0319-5551234转8") == (
        "03195551234",
        "北街村委会东侧",
    )
    assert extract_contact("张三 09:12\n幸福小区5号楼下水道堵了 联系电话：139-1234-5678") == (
        "13912345678",
        "幸福小区5号楼",
    )
    assert extract_contact("电话 138 - 1234 - 5678 东关镇幸福小区2单元") == (
        "13812345678",
        "东关镇幸福小区2单元",
    )
    assert extract_contact("幸福路路灯不亮") == (None, "幸福路")


def test_separators_and_dates_never_let_a_number_through() -> None:
    # The survivor: 0000-1900-00-0 was read as a date (year 1900, month 00).
    for typed_as in ("0000-1900-00-0", "00.00.1900.0.00", "0 0001 900-00 0", "0000 1900.00-0"):
        assert not re.search(r"\d", mask_text(f"电话{typed_as}谢谢")), typed_as
    for typed_as in (
        "138 - 1234 - 5678",
        "138/1234/5678",
        "138_1234_5678",
        "１３８／１２３４／５６７８",
    ):
        assert not re.search(r"[0-9０-９]", mask_text(typed_as)), typed_as
    assert mask_text("0000-2019-12-05") == "****-****-**-**"  # digits glued to a date
    # Real dates and times stay.
    for text in ("2019-12-05 10:30在小区门口", "2019年12月5日", "2026.3.15上午"):
        assert mask_text(text) == text


def test_plates_in_loose_forms() -> None:
    for plate in (
        "冀E·1.2.3.4.5",
        "冀 E · 12345",
        "冀E  12345",
        "冀E.D.1.2.3.4.5",
        "冀Ｅ１２３４５",
    ):
        masked = mask_text(f"车牌{plate}停在门口")
        assert not re.search(r"[0-9０-９]", masked), (plate, masked)
