"""The pages with Django's test client: every role's page, scope, masking and refusals."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from yishiting.requests import actions
from yishiting.requests.models import Request
from yishiting.testing import png_bytes

pytestmark = pytest.mark.django_db

TEXT = "东关村口的路灯坏了三天，晚上很黑，我的电话13812345678"


def login(client: Client, user) -> Client:
    client.force_login(user)
    return client


def submit(county, who=None, text=TEXT, **kw) -> Request:
    return actions.do_submit(actor=who, hall=county.village, text=text, **kw)


def test_resident_submits_from_the_hall_page_with_photos(county, client) -> None:
    login(client, county["resident1"])
    page = client.get(f"/h/{county.village.code}/")
    assert page.status_code == 200 and "东关村" in page.content.decode()
    photo = io.BytesIO(png_bytes())
    photo.name = "p.png"
    response = client.post(
        f"/h/{county.village.code}/",
        {"text": TEXT, "address": "村委会东侧", "photos": [photo]},
    )
    assert response.status_code == 302
    req = Request.objects.get()
    assert req.reporter == county["resident1"] and req.attachments.count() == 1
    assert response["Location"] == f"/submitted/{req.follow_code}/"
    assert req.follow_code in client.get(response["Location"]).content.decode()
    mine = client.get("/my/").content.decode()
    assert f"/r/{req.pk}/" in mine


def test_an_empty_submission_is_refused_with_a_message_and_nothing_saved(county, client) -> None:
    response = client.post(f"/h/{county.village.code}/", {"text": "  "})
    assert response.status_code == 422
    assert "text" in response.content.decode()
    assert not Request.objects.exists()


def test_anonymous_visitor_follows_by_code(county, client) -> None:
    response = client.post(f"/h/{county.village.code}/", {"text": TEXT, "anonymous": "1"})
    req = Request.objects.get()
    assert req.reporter is None and req.anonymous
    assert client.get(f"/follow/?code={req.follow_code.lower()}")["Location"] == f"/r/{req.pk}/"
    assert client.get("/follow/?code=NOPE").status_code == 404
    other = Client()
    assert other.get(response["Location"]).status_code == 404  # the code page is this browser's


def test_public_board_and_detail_mask_personal_data(county, client) -> None:
    req = submit(county, county["resident1"])
    board = client.get(f"/h/{county.county.code}/board/").content.decode()
    assert f"/r/{req.pk}/" in board and "路灯" in board
    assert "13812345678" not in board
    detail = client.get(f"/r/{req.pk}/").content.decode()
    assert "13812345678" not in detail and "王秀兰" not in detail
    handler = login(Client(), county["liaison1"]).get(f"/r/{req.pk}/").content.decode()
    assert "13812345678" in handler


def test_liaison_inbox_acknowledges_in_one_tap(county, client) -> None:
    req = submit(county, county["resident1"])
    login(client, county["liaison1"])
    inbox = client.get("/inbox/").content.decode()
    assert f'id="row-{req.pk}"' in inbox and 'data-verb="acknowledge"' in inbox
    response = client.post(
        f"/r/{req.pk}/do/acknowledge/",
        {"note": "收到", "fragment": "row", "version": req.version},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and f'id="row-{req.pk}"' in response.content.decode()
    req.refresh_from_db()
    assert req.status == "acknowledged"
    assert req.events.last().note == "收到"


def test_a_stale_or_illegal_action_shows_409_and_changes_nothing(county, client) -> None:
    req = submit(county, county["resident1"])
    login(client, county["liaison1"])
    stale = client.post(
        f"/r/{req.pk}/do/acknowledge/", {"version": req.version - 1}, HTTP_HX_REQUEST="true"
    )
    assert stale.status_code == 409 and stale["HX-Retarget"] == "#flash"
    illegal = client.post(f"/r/{req.pk}/do/claim/", HTTP_HX_REQUEST="true")
    assert illegal.status_code == 403
    bad = client.post(f"/r/{req.pk}/do/extend/", {"until": "soon", "reason": "x"})
    assert bad.status_code in (403, 422)
    nosuch = client.post(f"/r/{req.pk}/do/fly/")
    assert nosuch.status_code == 404
    req.refresh_from_db()
    assert req.status == "submitted" and req.version == 1


def test_out_of_scope_liaison_sees_no_buttons_and_is_refused(county, client) -> None:
    req = submit(county, county["resident1"])
    login(client, county["liaison3"])
    page = client.get(f"/r/{req.pk}/").content.decode()
    assert 'data-verb="acknowledge"' not in page and "13812345678" not in page
    response = client.post(f"/r/{req.pk}/do/acknowledge/", {"note": "x"})
    assert response.status_code == 403
    assert f'id="row-{req.pk}"' not in client.get("/inbox/").content.decode()


def test_escalation_dispatch_claim_resolve_rate(county, client) -> None:
    req = submit(county, county["resident1"], category=county.streetlight)
    liaison = login(Client(), county["liaison1"])
    assert liaison.post(f"/r/{req.pk}/do/escalate/", {"note": "村里修不了"}).status_code == 302
    manager = login(Client(), county["manager1"])
    assert manager.post(f"/r/{req.pk}/do/acknowledge/").status_code == 302
    assert manager.post(f"/r/{req.pk}/do/escalate/").status_code == 302
    dispatcher = login(Client(), county["dispatcher1"])
    console = dispatcher.get("/dispatch/").content.decode()
    assert f'id="row-{req.pk}"' in console
    assert 'value="zhujian" selected' in dispatcher.get(f"/r/{req.pk}/").content.decode()
    dispatcher.post(f"/r/{req.pk}/do/dispatch/", {"department": "zhujian"})
    dept = login(Client(), county["dept1"])
    assert f'id="row-{req.pk}"' in dept.get("/dept/").content.decode()
    dept.post(f"/r/{req.pk}/do/claim/")
    no_photo = dept.post(f"/r/{req.pk}/do/resolve/", {"note": "修好了"})
    assert no_photo.status_code == 422  # streetlights need a photo of the fix
    photo = io.BytesIO(png_bytes())
    photo.name = "fix.png"
    dept.post(f"/r/{req.pk}/do/resolve/", {"note": "修好了", "photos": [photo]})
    login(client, county["resident1"])
    page = client.get(f"/r/{req.pk}/").content.decode()
    assert "办结照片" in page and 'data-verb="rate"' in page
    client.post(f"/r/{req.pk}/do/rate/", {"rating": "satisfied", "comment": "很快"})
    req.refresh_from_db()
    assert req.status == "closed" and req.rating == "satisfied"


def test_role_pages_refuse_other_roles(county, client) -> None:
    login(client, county["resident1"])
    for url in ("/inbox/", "/capture/", "/dispatch/", "/dept/", "/duty/", "/leader/"):
        assert client.get(url).status_code == 403, url
    assert Client().get("/inbox/").status_code == 302  # to the log-in page


def test_leader_and_duty_pages(county, client) -> None:
    submit(county, county["resident1"])
    assert "路灯" in login(client, county["leader1"]).get("/leader/").content.decode()
    duty = login(Client(), county["duty1"]).get("/duty/")
    assert duty.status_code == 200 and "不在您的值班时段" in duty.content.decode()


def test_capture_prefills_and_files_on_behalf(county, client) -> None:
    login(client, county["liaison1"])
    parsed = client.post(
        "/capture/parse/", {"text": "王大爷说幸福小区3号楼门口污水外溢，电话13912345678"}
    )
    assert parsed.json()["phone"] == "13912345678" and "幸福小区" in parsed.json()["place"]
    response = client.post(
        "/capture/",
        {"hall": county.village.code, "text": "污水外溢", "phone": "13912345678"},
    )
    req = Request.objects.get()
    assert response["Location"] == f"/r/{req.pk}/"
    assert req.channel == "capture" and req.reporter is None


def test_similar_open_requests_while_typing_and_cosign(county, client) -> None:
    req = submit(county, county["resident1"])
    login(client, county["resident2"])
    found = client.get(f"/h/{county.village.code}/similar/", {"text": "村口路灯坏了好几天"})
    assert f"/r/{req.pk}/do/cosign/" in found.content.decode()
    assert client.get(f"/h/{county.village.code}/similar/", {"text": "狗"}).content.strip() == b""
    client.post(f"/r/{req.pk}/do/cosign/")
    assert req.followers.filter(user=county["resident2"]).exists()


def test_qr_code_is_an_svg_of_the_hall_link(county, client) -> None:
    response = client.get(f"/h/{county.village.code}/qr.svg")
    assert response["Content-Type"] == "image/svg+xml" and b"<svg" in response.content


def test_bad_location_is_a_422_not_a_500(county, client) -> None:
    response = client.post(f"/h/{county.village.code}/", {"text": TEXT, "lat": "north"})
    assert response.status_code == 422 and not Request.objects.exists()


def test_english_switch_and_large_type_toggle(county, client) -> None:
    page = client.get(f"/h/{county.village.code}/").content.decode()
    assert "提交" in page and 'id="big-toggle"' in page
    client.post("/i18n/setlang/", {"language": "en", "next": f"/h/{county.village.code}/"})
    english = client.get(f"/h/{county.village.code}/").content.decode()
    assert "What is the problem?" in english and "遇到了什么问题" not in english


def test_handlers_do_not_get_the_residents_me_too_button(county, client) -> None:
    req = submit(county, county["resident1"])
    liaison = login(client, county["liaison1"]).get(f"/r/{req.pk}/").content.decode()
    assert 'data-verb="cosign"' not in liaison
    resident2 = login(Client(), county["resident2"]).get(f"/r/{req.pk}/").content.decode()
    assert 'data-verb="cosign"' in resident2


def test_internal_comment_photos_stay_internal(county, client) -> None:
    req = submit(county, county["resident1"])
    photo = io.BytesIO(png_bytes())
    photo.name = "p.png"
    login(client, county["liaison1"]).post(
        f"/r/{req.pk}/do/comment/", {"note": "内部备注", "has_public": "1", "photos": [photo]}
    )
    event = req.events.get(verb="comment")
    assert not event.public
    attachment = event.attachments.get()
    assert client.get(f"/photos/{attachment.pk}").status_code == 200
    assert Client().get(f"/photos/{attachment.pk}").status_code == 404
    assert "内部备注" not in Client().get(f"/r/{req.pk}/").content.decode()


def test_lead_and_assisting_departments_on_their_pages(county, client) -> None:
    """主办/协办 from the dispatcher's form to both workbenches: the assisting department posts
    its part, a second one is waived, then the lead resolves."""
    from yishiting.orgs.models import Department, Membership, Role
    from yishiting.requests.models import Part

    shizheng = Department.objects.create(code="shizheng", name="市政局", county=county.county)
    Membership.objects.create(user=county["leader1"], role=Role.DEPARTMENT, department=shizheng)
    req = submit(county, county["resident1"], category=county.sewage)
    for who, verb in (
        ("liaison1", "escalate"),
        ("manager1", "acknowledge"),
        ("manager1", "escalate"),
    ):
        assert login(Client(), county[who]).post(f"/r/{req.pk}/do/{verb}/").status_code == 302
    dispatcher = login(Client(), county["dispatcher1"])
    form = dispatcher.get(f"/r/{req.pk}/").content.decode()
    assert 'name="assisting" value="gongdian"' in form
    dispatcher.post(
        f"/r/{req.pk}/do/dispatch/",
        {"department": "zhujian", "assisting": ["gongdian", "shizheng"]},
    )
    assert sorted(Part.objects.filter(request=req).values_list("department__code", flat=True)) == [
        "gongdian",
        "shizheng",
    ]
    lead = login(Client(), county["dept1"])
    lead.post(f"/r/{req.pk}/do/claim/")
    assert lead.post(f"/r/{req.pk}/do/resolve/", {"note": "已疏通"}).status_code == 409
    helper = login(Client(), county["dept2"])
    assert f'id="row-{req.pk}"' in helper.get("/dept/").content.decode()  # under 协办
    assert 'data-verb="post_part"' in helper.get(f"/r/{req.pk}/").content.decode()
    assert helper.post(f"/r/{req.pk}/do/post_part/", {"note": ""}).status_code == 422
    assert helper.post(f"/r/{req.pk}/do/post_part/", {"note": "线路已检修"}).status_code == 302
    waive = dispatcher.get(f"/r/{req.pk}/").content.decode()
    assert 'name="waived_part"' in waive and 'value="shizheng"' in waive
    assert (
        dispatcher.post(
            f"/r/{req.pk}/do/waive_part/", {"waived_part": "shizheng", "reason": "无需市政参与"}
        ).status_code
        == 302
    )
    assert dict(Part.objects.filter(request=req).values_list("department__code", "status")) == {
        "gongdian": "posted",
        "shizheng": "waived",
    }
    assert lead.post(f"/r/{req.pk}/do/resolve/", {"note": "已疏通"}).status_code == 302
    req.refresh_from_db()
    assert req.status == "resolved"


def test_messages_page_lists_in_app_notifications_and_marks_them_read(county, client) -> None:
    """The outbox's in-app rows are what 站内消息 shows; another person's are not there."""
    from yishiting.notify.models import Notification

    req = submit(county, county["resident1"])
    mine = Notification.objects.filter(user=county["liaison1"], channel="in_app")
    assert mine.exists() and mine.filter(read_at__isnull=True).exists()
    page = login(client, county["liaison1"]).get("/messages/").content.decode()
    assert f"/r/{req.pk}/" in page and mine.first().title in page
    assert not mine.filter(read_at__isnull=True).exists()
    other = login(Client(), county["liaison3"]).get("/messages/").content.decode()
    assert f"/r/{req.pk}/" not in other
    assert Client().get("/messages/").status_code == 302  # log-in first


def test_inbox_lists_unrated_closed_requests_for_a_return_visit(county, client) -> None:
    req = submit(county, county["resident1"])
    req = actions.do_acknowledge(req, actor=county["liaison1"])
    req = actions.do_start(req, actor=county["liaison1"])
    req = actions.do_resolve(req, actor=county["liaison1"], note="已修好")
    req = actions.do_close(req, now=req.rate_by)
    inbox = login(client, county["liaison1"]).get("/inbox/").content.decode()
    assert "待回访" in inbox and f'id="row-{req.pk}"' in inbox
    assert 'data-verb="visit"' in client.get(f"/r/{req.pk}/").content.decode()
    actions.do_visit(req, actor=county["liaison1"], rating="satisfied", channel="phone")
    assert "待回访" not in client.get("/inbox/").content.decode()


def test_an_approved_appeal_is_shown_on_the_public_board(county, client) -> None:
    req = submit(county, county["resident1"])
    req = actions.do_acknowledge(req, actor=county["liaison1"])
    req = actions.do_start(req, actor=county["liaison1"])
    req = actions.do_resolve(req, actor=county["liaison1"], note="已按规定处理")
    req = actions.do_rate(req, actor=county["resident1"], rating="dissatisfied")
    board = client.get(f"/h/{county.village.code}/board/").content.decode()
    assert "甄别通过" not in board
    req = actions.do_appeal(req, actor=county["liaison1"], reason="要求拆除合法建筑，依法无法满足")
    actions.do_review_rating(
        req, actor=county["manager1"], decision="approve_appeal", reason="经核实依法无法满足"
    )
    board = client.get(f"/h/{county.village.code}/board/").content.decode()
    assert "甄别通过" in board
