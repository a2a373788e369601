"""Bad input: disguised and oversized uploads, broken UTF-8, huge and deeply nested JSON, XSS
and SQL-injection strings in every text field. Each gets a clear 4xx with the §7 body (or the
page's message), nothing is stored half-way, and nothing is rendered unescaped: on the public
board, the request page, the admin, the Excel ledger and Open311."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from PIL import Image

from yishiting.api.models import ApiToken
from yishiting.requests.models import Attachment, Event, Request
from yishiting.testing import County, png_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]


def rows() -> tuple[int, int, int]:
    return Request.objects.count(), Event.objects.count(), Attachment.objects.count()


@pytest.fixture
def api(county: County) -> Client:
    _, key = ApiToken.issue(county["resident1"])
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def _jpeg(size: tuple[int, int] = (80, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, "JPEG")
    return out.getvalue()


def _bomb() -> bytes:
    """A tiny PNG that decodes to 144 million pixels."""
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, "PNG", optimize=True)
    return out.getvalue()


def _named(data: bytes, name: str) -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


BAD_UPLOADS = {
    "a script named .jpg": (b"#!/bin/sh\nrm -rf / # <script>alert(1)</script>\n", 422),
    "html named .jpg": (b"<html><script>alert(document.cookie)</script></html>", 422),
    "an SVG with a script": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        422,
    ),
    "a truncated JPEG": (_jpeg((400, 300))[:700], 422),
    "a decompression bomb": (_bomb(), 422),
    "an empty file": (b"", 422),
    "a zip named .jpg": (b"PK\x03\x04" + b"\x00" * 100, 422),
    "a 50 MB image": (b"\xff\xd8\xff\xe0" + b"\x00" * (50 * 1024 * 1024), 413),
}


@pytest.mark.parametrize("kind", sorted(BAD_UPLOADS))
def test_bad_uploads_are_refused_and_nothing_is_stored(
    county: County, api: Client, kind: str
) -> None:
    data, status = BAD_UPLOADS[kind]
    before = rows()
    form = {"hall": county.village.code, "text": "垃圾桶坏了", "photos": [_named(data, "x.jpg")]}
    response = api.post("/api/v1/requests", form)
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    assert body["error"]["code"] == ("too_large" if status == 413 else "invalid")
    # the page form says so too, with the same status
    page = Client().post(f"/h/{county.village.code}/", {**form, "photos": [_named(data, "x.jpg")]})
    assert page.status_code == status
    # a good photo beside a bad one: the whole submission is refused
    both = [_named(png_bytes(), "ok.png"), _named(data, "x.jpg")]
    assert api.post("/api/v1/requests", {**form, "photos": both}).status_code == status
    assert rows() == before


def test_a_polyglot_photo_is_stored_re_encoded(county: County, api: Client) -> None:
    """A real JPEG with a script appended is accepted, but what is stored is a clean image."""
    data = _jpeg() + b"<script>alert(1)</script>"
    form = {"hall": county.village.code, "text": "路灯不亮", "photos": [_named(data, "x.jpg")]}
    assert api.post("/api/v1/requests", form).status_code == 201
    stored = Attachment.objects.get()
    content = stored.file.read()
    assert b"<script>" not in content and stored.content_type == "image/jpeg"


def test_broken_utf8_in_json_is_refused(county: County, api: Client) -> None:
    before = rows()
    body = b'{"hall": "130500001001", "text": "\xff\xfe\xfd broken"}'
    response = api.post("/api/v1/requests", body, content_type="application/json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid"
    r = api.post(
        f"/api/v1/requests/{_one(county).pk}/comment",
        b'{"note": "\xc3\x28"}',
        content_type="application/json",
    )
    assert r.status_code == 422
    assert rows()[0] == before[0] + 1  # only _one's request


def _one(county: County) -> Request:
    from yishiting.requests import actions

    return actions.do_submit(actor=county["resident1"], hall=county.village, text="下水道堵了")


def test_broken_utf8_in_forms_and_query_strings_is_refused(county: County) -> None:
    before = rows()
    client = Client()
    response = client.post(
        f"/h/{county.village.code}/",
        "text=%FF%FE%E4%B8&name=%C3%28",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert client.get(f"/h/{county.village.code}/board/?page=%FF").status_code == 400
    api = client.get("/api/v1/halls?parent=%C3%28")
    assert api.status_code == 400 and api.json()["error"]["code"] == "bad_request"
    assert rows() == before


def test_huge_json_is_413(county: County, api: Client) -> None:
    before = rows()
    text = "很" * (13 * 1024 * 1024 // 3)
    body = json.dumps({"hall": county.village.code, "text": text}, ensure_ascii=False)
    response = api.post("/api/v1/requests", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert rows() == before


def test_a_long_text_is_422(county: County, api: Client) -> None:
    body = json.dumps({"hall": county.village.code, "text": "很" * 5000})
    response = api.post("/api/v1/requests", body, content_type="application/json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize(
    "path", ["/api/v1/requests", "/api/v1/requests/1/comment", "/api/v1/tokens"]
)
@pytest.mark.parametrize("depth", [2_000, 200_000])
def test_deeply_nested_json_is_refused(county: County, path: str, depth: int) -> None:
    _, key = ApiToken.issue(county["admin"])
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    _one(county)
    before = rows()
    for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        response = client.post(path, body, content_type="application/json")
        assert response.status_code in (400, 422), (path, response.status_code)
        assert set(response.json()) == {"error"}
    patch = client.patch("/api/v1/policies/1", "[" * depth, content_type="application/json")
    assert patch.status_code in (400, 404, 422)
    assert rows() == before


# --- hostile strings in every text field ---------------------------------------------------

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SQLI = "'; DROP TABLE requests_request; --"
FORMULA = '=HYPERLINK("http://evil.example/","点这里")'
TEMPLATE = "{{ request.user }}{% debug %}"
HOSTILE = f"{XSS} {SQLI} {TEMPLATE}"


@pytest.fixture
def hostile(county: County, api: Client) -> Request:
    body = {
        "hall": county.village.code,
        "title": FORMULA,
        "text": HOSTILE,
        "reporter": {"name": "<b onmouseover=alert(1)>王</b>", "phone": "13812345678"},
        "location": {"address": f"{SQLI} {XSS}"[:200]},
    }
    response = api.post("/api/v1/requests", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    from yishiting.requests import actions

    req = Request.objects.get(pk=response.json()["id"])
    actions.do_comment(req.pk, actor=county["liaison1"], note=HOSTILE)
    actions.do_comment(req.pk, actor=county["liaison1"], note=FORMULA, public=False)
    return req


def test_hostile_strings_are_stored_as_given(hostile: Request) -> None:
    assert Request.objects.filter(pk=hostile.pk).exists()  # the table is still there
    assert hostile.text == HOSTILE and hostile.title == FORMULA
    assert Request.objects.filter(text__contains=SQLI).count() == 1


def _no_raw_markup(html: str, where: str) -> None:
    assert "<script>alert" not in html, where
    assert "<img src=x" not in html, where
    assert "<b onmouseover" not in html, where
    assert "{% debug %}" not in html or "&lt;" in html, where


def test_nothing_is_rendered_unescaped(county: County, hostile: Request) -> None:
    staff = Client()
    staff.force_login(county["liaison1"])
    admin = Client()
    admin.force_login(county["admin"])
    pages = {
        "board": Client().get(f"/h/{county.village.code}/board/"),
        "request page (public)": Client().get(f"/r/{hostile.pk}/"),
        "request page (handler)": staff.get(f"/r/{hostile.pk}/"),
        "request fragment": staff.get(f"/r/{hostile.pk}/?fragment=1"),
        "inbox": staff.get("/inbox/"),
        "admin change": admin.get(f"/admin/requests/request/{hostile.pk}/change/"),
        "admin list": admin.get("/admin/requests/request/"),
        "admin events": admin.get("/admin/requests/event/"),
    }
    for where, response in pages.items():
        assert response.status_code == 200, where
        html = response.content.decode()
        _no_raw_markup(html, where)
        if where not in ("board", "inbox", "admin list", "admin events"):  # titles only
            assert "&lt;script" in html, f"{where}: the text is not shown"
    xml = Client().get(f"/open311/v2/requests/{hostile.number}.xml?jurisdiction_id=130500")
    assert xml.status_code == 200 and "<script>" not in xml.content.decode()
    as_json = Client().get(f"/open311/v2/requests/{hostile.number}.json?jurisdiction_id=130500")
    assert json.loads(as_json.content)[0]["description"].startswith("<script>")  # data, as JSON


def test_the_excel_ledger_has_no_formulas_from_residents(county: County, hostile: Request) -> None:
    _, key = ApiToken.issue(county["dispatcher1"])
    response = Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/requests.xlsx")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    book = load_workbook(io.BytesIO(data))
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"a formula in {cell.coordinate}: {cell.value}"
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    assert FORMULA in texts  # shown as the text it is
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert not any("<f>" in z.read(n).decode() for n in sheets)


# --- hypothesis over the resident's form --------------------------------------------------

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=300)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=text, name=st.text(max_size=60), phone=st.text(max_size=30), address=text)
def test_the_submit_form_never_fails_badly(
    county: County, settings_override: Any, text: str, name: str, phone: str, address: str
) -> None:
    before = rows()
    response = Client().post(
        f"/h/{county.village.code}/",
        {"text": text, "name": name, "phone": phone, "address": address},
    )
    assert response.status_code in (302, 400, 413, 422), response.status_code
    if response.status_code == 302:
        req = Request.objects.order_by("-id").first()
        assert req is not None and req.text == text.strip()
        assert rows()[:2] == (before[0] + 1, before[1] + 1)
    else:
        assert rows() == before
        html = response.content.decode()
        assert "<script" not in html.replace('<script nonce="', "").replace('<script src="', "")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(note=text, verb=st.sampled_from(["comment", "acknowledge", "reject", "escalate"]))
def test_the_verb_forms_never_fail_badly(
    county: County, settings_override: Any, note: str, verb: str
) -> None:
    req = _one(county)
    client = Client()
    client.force_login(county["manager1"])
    before = rows()
    response = client.post(f"/r/{req.pk}/do/{verb}/", {"note": note, "reason": note})
    assert response.status_code in (302, 400, 403, 409, 422), response.status_code
    if response.status_code != 302:
        assert rows() == before


@pytest.fixture
def settings_override(settings):  # type: ignore[no-untyped-def]
    """No rate limits while hypothesis submits many times."""
    settings.YISHITING_RATELIMIT = False
    return settings


def test_a_nul_in_a_form_is_refused(county: County, api: Client) -> None:
    """PostgreSQL cannot store NUL: every form refuses it (was a 500 there)."""
    req = _one(county)
    before = rows()
    assert Client().post(f"/h/{county.village.code}/", {"text": "a\x00b"}).status_code == 400
    staff = Client()
    staff.force_login(county["liaison1"])
    assert staff.post(f"/r/{req.pk}/do/comment/", {"note": "a\x00b"}).status_code == 400
    assert (
        Client().post("/accounts/login/", {"username": "a\x00", "password": "x"}).status_code == 400
    )
    multipart = api.post("/api/v1/requests", {"hall": county.village.code, "text": "a\x00b"})
    assert multipart.status_code == 422 and multipart.json()["error"]["code"] == "invalid"
    assert rows() == before
