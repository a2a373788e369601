"""Open311 GeoReport v2 (and mySociety's updates): every endpoint in JSON and XML, against the
spec's field lists and error format."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from yishiting.api.models import ApiToken
from yishiting.open311.render import w3c
from yishiting.orgs.models import Hall, HallKind, User
from yishiting.requests import actions
from yishiting.requests.models import Channel, Event, Request
from yishiting.testing import County, png_bytes

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"
# The spec's fields (GeoReport v2 wiki; mySociety's servicerequestupdates).
SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
ATTRIBUTE_FIELDS = {
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
UPDATE_FIELDS = {
    "update_id",
    "service_request_id",
    "status",
    "updated_datetime",
    "description",
    "media_url",
}


@pytest.fixture
def key(county: County) -> str:
    """An API key of the city's 12345 platform account (no role in any hall)."""
    platform = User.objects.create(username="p12345", display_name="12345 平台")
    return ApiToken.issue(platform, "12345")[1]


def get(path: str, **params: Any) -> Any:
    return Client().get(f"{BASE}/{path}", params)


def post(path: str, data: dict[str, Any]) -> Any:
    return Client().post(f"{BASE}/{path}", data)


def as_json(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content.decode()
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content)


def as_xml(response: Any, status: int = 200) -> ET.Element:
    assert response.status_code == status, response.content.decode()
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def json_error(response: Any, status: int) -> str:
    body = as_json(response, status)
    assert isinstance(body, list) and len(body) == 1, body
    assert set(body[0]) == {"code", "description"} and body[0]["code"] == status
    assert body[0]["description"]
    return body[0]["description"]


def xml_error(response: Any, status: int) -> str:
    root = as_xml(response, status)
    assert root.tag == "errors"
    (err,) = root.findall("error")
    assert err.findtext("code") == str(status)
    assert err.findtext("description")
    return err.findtext("description") or ""


def fields(element: ET.Element) -> set[str]:
    return {child.tag for child in element}


def good(county: County, key: str, **extra: Any) -> dict[str, Any]:
    """A valid POST requests body."""
    return {
        "api_key": key,
        "jurisdiction_id": county.county.code,
        "service_code": "streetlight",
        "lat": "37.3512345",
        "long": "114.7712345",
        "attribute[hall]": county.village.code,
        "description": "村东头路灯不亮了，联系人王秀兰 13812345678，住3-2-501",
        "first_name": "秀兰",
        "last_name": "王",
        "phone": "13812345678",
        "email": "wxl@example.com",
        **extra,
    }


def submit(county: County, key: str, **extra: Any) -> Request:
    body = as_json(post("requests.json", good(county, key, **extra)), 201)
    return Request.objects.get(pk=int(body[0]["service_request_id"][4:]))


# --- discovery and services ----------------------------------------------------------------


def test_discovery_in_both_formats(county: County) -> None:
    body = as_json(get("discovery.json"))
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root = as_xml(get("discovery.xml"))
    assert root.tag == "discovery"
    formats = [f.text for f in root.iterfind("endpoints/endpoint/formats/format")]
    assert formats == ["text/xml", "application/json"]
    # No suffix: XML, the spec's required format.
    assert as_xml(get("discovery")).tag == "discovery"


def test_services_are_the_categories(county: County) -> None:
    body = as_json(get("services.json"))
    assert [s["service_code"] for s in body] == ["sewage", "streetlight"]
    assert all(set(s) == SERVICE_FIELDS for s in body)
    light = body[1]
    assert light["service_name"] == "路灯照明" and light["group"] == "住建局"
    assert light["metadata"] is True and light["type"] == "realtime"
    root = as_xml(get("services.xml"))
    assert root.tag == "services"
    services = root.findall("service")
    assert [s.findtext("service_code") for s in services] == ["sewage", "streetlight"]
    assert all(fields(s) == SERVICE_FIELDS for s in services)
    assert services[1].findtext("metadata") == "true"


def test_service_definition_names_the_halls(county: County) -> None:
    body = as_json(get("services/streetlight.json"))
    assert body["service_code"] == "streetlight"
    assert all(set(a) == ATTRIBUTE_FIELDS for a in body["attributes"])
    hall = body["attributes"][0]
    assert hall["code"] == "hall" and hall["required"] is True
    assert hall["datatype"] == "singlevaluelist"
    keys = [v["key"] for v in hall["values"]]
    # Where a request may be raised: townships and villages, never the county or assignment hall.
    assert county.village.code in keys and county.township.code in keys
    assert county.county.code not in keys and county.assignment.code not in keys
    root = as_xml(get("services/streetlight.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "streetlight"
    attrs = root.findall("attributes/attribute")
    assert [a.findtext("code") for a in attrs] == ["hall", "title", "priority", "anonymous"]
    assert all(fields(a) == ATTRIBUTE_FIELDS for a in attrs)
    values = attrs[0].findall("values/value")
    assert {v.findtext("key") for v in values} == set(keys)
    assert json_error(get("services/nosuch.json"), 404) == "service_code nosuch not found"
    xml_error(get("services/nosuch.xml"), 404)


# --- POST requests -----------------------------------------------------------------------------


def test_post_goes_through_do_submit_on_channel_open311(county: County, key: str) -> None:
    body = as_json(
        post("requests.json", good(county, key, media_url="https://img.example.com/1.jpg")), 201
    )
    (answer,) = body
    assert set(answer) == {"service_request_id", "token", "service_notice", "account_id"}
    req = Request.objects.get()
    assert answer["service_request_id"] == req.number and answer["token"] == req.follow_code
    assert req.channel == Channel.OPEN311 and req.hall == county.village
    assert req.category == county.streetlight and req.status == "submitted"
    assert req.reporter_name == "王秀兰" and req.reporter_phone == "13812345678"
    assert (req.lat, req.lng) == (37.3512345, 114.7712345)
    event = Event.objects.get(request=req)
    assert event.verb == "submit" and event.data["channel"] == "open311"
    assert event.data["media_url"] == "https://img.example.com/1.jpg"
    assert req.respond_by is not None  # the 5-minute clock runs as for any submission

    root = as_xml(post("requests.xml", good(county, key)), 201)
    assert root.tag == "service_requests"
    (item,) = root.findall("request")
    assert fields(item) == {"service_request_id", "token", "service_notice", "account_id"}
    assert Request.objects.count() == 2


def test_address_id_names_a_hall_and_places_the_request_there(county: County, key: str) -> None:
    county.village2.address = "北街村村委会"
    county.village2.save()
    body = good(county, key, address_id=county.village2.code)
    for name in ("lat", "long", "attribute[hall]"):
        del body[name]
    as_json(post("requests.json", body), 201)
    req = Request.objects.get()
    assert req.hall == county.village2 and req.address == "北街村村委会"


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"api_key": "wrong"}, 403, "api_key is not valid"),
        ({"api_key": ""}, 400, "api_key is required"),
        ({"lat": "", "long": ""}, 400, "a location is required"),
        ({"long": ""}, 400, "give both lat and long"),
        ({"lat": "north"}, 400, "lat is not a number"),
        ({"lat": "95"}, 400, "lat/long out of range"),
        ({"service_code": ""}, 400, "service_code is required"),
        ({"service_code": "nosuch"}, 404, "service_code nosuch not found"),
        ({"jurisdiction_id": "999999"}, 404, "jurisdiction_id 999999 not found"),
        ({"attribute[hall]": ""}, 400, "attribute[hall] is required"),
        ({"attribute[hall]": "130500900"}, 400, "is not a hall of this jurisdiction"),
        ({"attribute[colour]": "red"}, 400, "attribute[colour] is not an attribute"),
        ({"attribute[priority]": "asap"}, 400, "attribute[priority] is one of"),
        ({"description": ""}, 400, "description is required"),
        ({"description": "坏" * 4001}, 400, "longer than 4000"),
        ({"email": "not-an-address"}, 400, "email is not an e-mail address"),
        ({"media_url": "file:///etc/passwd"}, 400, "media_url is not an http(s) URL"),
        ({"address_id": "nosuch"}, 400, "address_id nosuch is not a hall"),
    ],
)
def test_post_refusals_change_nothing(
    county: County, key: str, change: dict[str, str], status: int, message: str
) -> None:
    body = {k: v for k, v in {**good(county, key), **change}.items() if v != "" or k == "api_key"}
    if change.get("api_key") == "":
        del body["api_key"]
    assert message in json_error(post("requests.json", body), status)
    assert message in xml_error(post("requests.xml", body), status)
    assert not Request.objects.exists()


def test_a_revoked_key_is_refused_and_use_is_counted(county: County, key: str) -> None:
    submit(county, key)
    token = ApiToken.objects.get(user__username="p12345")
    assert token.last_used_at is not None
    token.revoked_at = timezone.now()
    token.save()
    json_error(post("requests.json", good(county, key)), 403)
    assert Request.objects.count() == 1


def test_jurisdiction_is_required_only_with_several_counties(county: County, key: str) -> None:
    body = good(county, key)
    del body["jurisdiction_id"]
    as_json(post("requests.json", body), 201)
    Hall.objects.create(code="130600", name="另一县", kind=HallKind.COUNTY)
    assert "jurisdiction_id is required" in json_error(post("requests.json", body), 400)
    json_error(get("services.json"), 400)


def test_wrong_method_and_unknown_paths(county: County) -> None:
    response = Client().delete(f"{BASE}/requests.json")
    assert json_error(response, 405) and response["Allow"] == "GET, POST"
    xml_error(Client().post(f"{BASE}/services.xml"), 405)
    xml_error(get("nothing.csv"), 404)
    json_error(get("nothing.json"), 404)


# --- GET requests --------------------------------------------------------------------------


def test_get_requests_is_the_masked_public_view(county: County, key: str) -> None:
    req = submit(county, key)
    (row,) = as_json(get("requests.json"))
    assert set(row) == REQUEST_FIELDS
    assert row["service_request_id"] == req.number
    assert row["status"] == "open" and row["status_notes"] == "待响应"
    assert row["service_code"] == "streetlight" and row["service_name"] == "路灯照明"
    assert row["agency_responsible"] == "东关村"
    # No name, phone, house number or exact spot in a public answer.
    text = json.dumps(row, ensure_ascii=False)
    assert "13812345678" not in text and "王秀兰" not in text and "3-2-501" not in text
    assert row["description"] == "村东头路灯不亮了，联系人王** ***********，住*-*-***"
    assert (row["lat"], row["long"]) == (37.351, 114.771)
    assert row["requested_datetime"].endswith("+08:00")
    assert row["expected_datetime"] == w3c(req.respond_by)

    root = as_xml(get("requests.xml"))
    assert root.tag == "service_requests"
    (item,) = root.findall("request")
    assert fields(item) == REQUEST_FIELDS
    assert item.findtext("description") == row["description"]
    assert item.findtext("lat") == "37.351"


def test_state_maps_onto_open_and_closed_with_notes(county: County, key: str) -> None:
    req = submit(county, key)
    liaison = county["liaison1"]
    req = actions.do_acknowledge(req.pk, actor=liaison, note="已联系电工，明早修")
    req = actions.do_start(req.pk, actor=liaison)
    upload = io.BytesIO(png_bytes())
    upload.name = "fixed.png"
    req = actions.do_resolve(req.pk, actor=liaison, note="已更换灯泡", photos=[upload])
    (row,) = as_json(get(f"requests/{req.number}.json"))
    assert row["status"] == "closed" and row["status_notes"] == "已办结：已更换灯泡"
    assert row["expected_datetime"] is None
    assert row["media_url"].startswith("http://testserver/open311/v2/media/")
    photo_response = Client().get(row["media_url"])
    assert photo_response.status_code == 200 and photo_response["Content-Type"] == "image/jpeg"

    assert as_json(get("requests.json", status="closed"))[0]["service_request_id"] == req.number
    assert as_json(get("requests.json", status="open")) == []
    assert len(as_json(get("requests.json", status="open,closed"))) == 1
    assert "status is open, closed" in json_error(get("requests.json", status="done"), 400)


def test_get_requests_filters(county: County, key: str) -> None:
    first = submit(county, key)
    second = submit(county, key, service_code="sewage")
    numbers = f"{second.number},{first.number},99990000000"
    listed = as_json(get("requests.json", service_request_id=numbers))
    assert [r["service_request_id"] for r in listed] == [second.number, first.number]
    # service_request_id wins over the other filters, as the spec says.
    assert len(as_json(get("requests.json", service_request_id=numbers, status="closed"))) == 2
    json_error(get("requests.json", service_request_id="12,abc"), 400)
    sewage = as_json(get("requests.json", service_code="sewage"))
    assert [r["service_request_id"] for r in sewage] == [second.number]
    json_error(get("requests.json", service_code="nosuch"), 404)
    # Newest first.
    assert [r["service_request_id"] for r in as_json(get("requests.json"))] == [
        second.number,
        first.number,
    ]
    assert len(as_json(get("requests.json", page_size=1, page=2))) == 1
    for bad in ({"page": "0"}, {"page": "10" * 9}, {"page_size": "1001"}, {"page": "x"}):
        json_error(get("requests.json", **bad), 400)


def test_date_range(county: County, key: str) -> None:
    with time_machine.travel("2026-06-01 10:00 +08:00", tick=False):
        old = submit(county, key)
    new = submit(county, key)
    june = as_json(
        get("requests.json", start_date="2026-05-31T00:00:00+08:00", end_date="2026-06-02T00:00Z")
    )
    assert [r["service_request_id"] for r in june] == [old.number]
    # Default: the last 90 days.
    assert [r["service_request_id"] for r in as_json(get("requests.json"))] == [new.number]
    # A '+' sent unencoded arrives as a space: still understood.
    response = Client().get(f"{BASE}/requests.json?start_date=2026-05-31T00:00:00+08:00")
    assert [r["service_request_id"] for r in as_json(response)] == [old.number]
    assert "at most 90 days apart" in json_error(
        get("requests.json", start_date="2026-01-01T00:00Z", end_date="2026-06-01T00:00Z"), 400
    )
    assert "needs a time zone" in json_error(
        get("requests.json", start_date="2026-06-01T00:00"), 400
    )
    assert "not a W3C date-time" in xml_error(get("requests.xml", end_date="yesterday"), 400)
    assert "before start_date" in json_error(
        get("requests.json", start_date="2026-06-02T00:00Z", end_date="2026-06-01T00:00Z"), 400
    )


def test_one_request_and_tokens(county: County, key: str) -> None:
    req = submit(county, key)
    (row,) = as_json(get(f"requests/{req.number}.json"))
    assert row["service_request_id"] == req.number
    root = as_xml(get(f"requests/{req.number}.xml"))
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [req.number]
    json_error(get("requests/99990000000.json"), 404)
    xml_error(get("requests/abc.xml"), 404)

    assert as_json(get(f"tokens/{req.follow_code}.json")) == [
        {"service_request_id": req.number, "token": req.follow_code}
    ]
    root = as_xml(get(f"tokens/{req.follow_code}.xml"))
    assert root.find("request/service_request_id").text == req.number  # type: ignore[union-attr]
    json_error(get("tokens/NOSUCHCODE.json"), 404)


def test_xml_is_well_formed_and_escaped(county: County, key: str) -> None:
    nasty = 'A < B & "C" > D\x01\x0b ]]> </description><x>'
    req = submit(county, key, description=nasty)
    raw = get(f"requests/{req.number}.xml").content
    root = ET.fromstring(raw)  # parses: nothing broke out of its element
    assert root.find("request/x") is None
    assert root.findtext("request/description") == 'A < B & "C" > D ]]> </description><x>'
    (row,) = as_json(get(f"requests/{req.number}.json"))
    assert row["description"] == 'A < B & "C" > D ]]> </description><x>'


# --- servicerequestupdates -----------------------------------------------------------------


def test_updates_are_the_public_events(county: County, key: str) -> None:
    with time_machine.travel("2026-06-01 10:00 +08:00", tick=False):
        req = submit(county, key)
    with time_machine.travel("2026-06-01 10:02 +08:00", tick=False):
        actions.do_acknowledge(req.pk, actor=county["liaison1"], note="马上到，电话 13812345678")
        actions.do_comment(req.pk, actor=county["liaison1"], note="内部：电工姓李", public=False)
    with time_machine.travel("2026-06-01 11:00 +08:00", tick=False):
        actions.do_start(req.pk, actor=county["liaison1"])
        photo = io.BytesIO(png_bytes())
        photo.name = "fixed.png"
        actions.do_resolve(req.pk, actor=county["liaison1"], note="已修好", photos=[photo])
    span = {"start_date": "2026-06-01T00:00:00+08:00", "end_date": "2026-06-02T00:00:00+08:00"}
    rows = as_json(get("servicerequestupdates.json", **span))
    assert all(set(r) >= UPDATE_FIELDS for r in rows)
    assert [r["external_status_code"] for r in rows] == [
        "submitted",
        "acknowledged",
        "in_progress",
        "resolved",
    ]
    assert [r["status"] for r in rows] == ["open", "open", "open", "closed"]
    assert rows[1]["description"] == "马上到，电话 ***********"
    assert rows[2]["description"] == "就地办理"  # no note: the verb says what happened
    assert rows[3]["description"] == "已修好"
    assert [r["media_url"] is not None for r in rows] == [False, False, False, True]
    assert rows[1]["updated_datetime"] == "2026-06-01T10:02:00+08:00"
    assert all(r["service_request_id"] == req.number for r in rows)
    assert "电工姓李" not in json.dumps(rows, ensure_ascii=False)

    root = as_xml(get("servicerequestupdates.xml", **span))
    assert root.tag == "service_request_updates"
    items = root.findall("request_update")
    assert len(items) == 4 and all(fields(i) >= UPDATE_FIELDS for i in items)
    later = {"start_date": "2026-06-01T10:30:00+08:00", "end_date": "2026-06-01T12:00:00+08:00"}
    assert len(as_json(get("servicerequestupdates.json", **later))) == 2
    long_span = {"start_date": "2026-01-01T00:00Z", "end_date": "2026-06-01T00:00Z"}
    xml_error(get("servicerequestupdates.xml", **long_span), 400)


def test_only_the_jurisdictions_requests(county: County, key: str) -> None:
    submit(county, key)
    other = Hall.objects.create(code="130600", name="另一县", kind=HallKind.COUNTY)
    town = Hall.objects.create(code="130600001", name="南镇", kind=HallKind.TOWNSHIP, parent=other)
    Hall.objects.create(code="130600001001", name="南村", kind=HallKind.VILLAGE, parent=town)
    assert as_json(get("requests.json", jurisdiction_id="130600")) == []
    assert len(as_json(get("requests.json", jurisdiction_id=county.county.code))) == 1
    now = timezone.now()
    span = {"start_date": (now - timedelta(hours=1)).isoformat(), "end_date": now.isoformat()}
    assert as_json(get("servicerequestupdates.json", jurisdiction_id="130600", **span)) == []


def test_post_needs_no_csrf_token(county: County, key: str) -> None:
    """Integrations post with an api_key, never a session: CSRF does not apply."""
    response = Client(enforce_csrf_checks=True).post(f"{BASE}/requests.json", good(county, key))
    assert response.status_code == 201, response.content


def test_nul_characters_are_a_400_not_a_server_error(county: County, key: str) -> None:
    assert "NUL" in json_error(post("requests.json", good(county, key, description="a\x00b")), 400)
    assert "NUL" in xml_error(get("requests.xml", service_code="x\x00"), 400)
    assert not Request.objects.exists()


def test_media_serves_only_public_photos(county: County, key: str) -> None:
    from yishiting.requests.models import Attachment

    req = submit(county, key)
    photo = io.BytesIO(png_bytes())
    photo.name = "inside.png"
    actions.do_comment(
        req.pk, actor=county["liaison1"], note="内部照片", public=False, photos=[photo]
    )
    inside = Attachment.objects.get(request=req)
    xml_error(Client().get(f"{BASE}/media/{inside.pk}"), 404)
    xml_error(Client().get(f"{BASE}/media/999999"), 404)
    (row,) = as_json(get(f"requests/{req.number}.json"))
    assert row["media_url"] is None  # the internal photo is not the request's public media
