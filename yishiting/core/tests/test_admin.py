"""The admin: every registered model's pages open, in Chinese; the audit trail is read-only."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from yishiting.api.models import ApiToken, hash_key
from yishiting.orgs.admin import readable_duration
from yishiting.orgs.models import CalendarDay, ClockPolicy, DutyShift, Priority
from yishiting.requests import actions
from yishiting.requests.models import Attachment, Event, Follower, Request
from yishiting.testing import County, png_bytes

# Models registered by this project: each must have a row so its change page is tested too.
OUR_APPS = {"orgs", "requests", "api"}


@pytest.fixture
def data(county: County) -> dict[str, Model]:
    """At least one row of every model the admin shows."""
    photo = io.BytesIO(png_bytes())
    photo.name = "bin.png"
    req = actions.do_submit(
        actor=county["resident1"], hall=county.village, text="垃圾桶坏了", photos=[photo]
    )
    now = timezone.now()
    token, _key = ApiToken.issue(county["admin"], "测试")
    return {
        "request": req,
        "event": req.events.get(),
        "attachment": req.attachments.get(),
        "follower": req.followers.get(),
        "policy": ClockPolicy.objects.create(priority=Priority.NORMAL),
        "shift": DutyShift.objects.create(
            county=county.county,
            user=county["duty1"],
            starts_at=now,
            ends_at=now + timedelta(hours=8),
        ),
        "day": CalendarDay.objects.create(date=date(2025, 10, 11), is_workday=True, note="调休"),
        "token": token,
    }


@pytest.fixture
def client(county: County) -> Client:
    client = Client()
    client.force_login(county["admin"])
    return client


def _url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_registered_model_opens(client: Client, data: dict[str, Model]) -> None:
    assert client.get("/admin/").status_code == 200
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        response = client.get(_url(model, "changelist"))
        assert response.status_code == 200, f"{label} changelist: {response.status_code}"
        # Search and filters must not crash either.
        if model_admin.search_fields:
            response = client.get(_url(model, "changelist"), {"q": "测试"})
            assert response.status_code == 200, f"{label} search"

        response = client.get(_url(model, "add"))
        can_add = model_admin.has_add_permission(response.wsgi_request)
        assert response.status_code == (200 if can_add else 403), f"{label} add page"

        obj = model._default_manager.first()
        if obj is None:
            assert model._meta.app_label not in OUR_APPS, f"create a {label} row in `data`"
            continue
        response = client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, f"{label} change page: {response.status_code}"


def test_admin_is_in_chinese(client: Client, data: dict[str, Model]) -> None:
    page = client.get("/admin/").content.decode()
    assert "百姓议事厅 管理后台" in page
    assert "议事厅" in page and "诉求" in page
    page = client.get(_url(Request, "changelist")).content.decode()
    assert "待响应" in page  # the state label


def test_admin_in_english(client: Client, data: dict[str, Model]) -> None:
    from yishiting.core.i18n import compile_all, reload_translations

    compile_all()
    reload_translations()
    page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Yishiting" in page


def test_request_search_by_number(client: Client, data: dict[str, Model]) -> None:
    req = data["request"]
    assert isinstance(req, Request)
    page = client.get(_url(Request, "changelist"), {"q": req.number}).content.decode()
    assert req.title in page


@pytest.mark.parametrize("name", ["request", "event", "attachment", "follower"])
def test_audit_trail_cannot_be_changed(client: Client, data: dict[str, Model], name: str) -> None:
    obj = data[name]
    model = type(obj)
    before = model._default_manager.filter(pk=obj.pk).values().get()
    post = {"title": "改过了", "note": "改过了", "status": "closed", "kind": "cosigner"}
    assert client.post(_url(model, "change", obj.pk), post).status_code == 403
    assert client.post(_url(model, "add"), post).status_code == 403
    assert client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model._default_manager.filter(pk=obj.pk).values().get() == before
    response = client.post(
        _url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert model._default_manager.filter(pk=obj.pk).exists()


def test_read_only_models(client: Client) -> None:
    for model in (Request, Event, Attachment, Follower):
        model_admin = admin.site._registry[model]
        assert not model_admin.has_add_permission(None)  # type: ignore[arg-type]
        assert not model_admin.has_change_permission(None)  # type: ignore[arg-type]
        assert not model_admin.has_delete_permission(None)  # type: ignore[arg-type]


def test_token_created_in_admin_shows_key_once(client: Client, county: County) -> None:
    response = client.post(
        _url(ApiToken, "add"), {"user": county["dept1"].pk, "name": "对接系统"}, follow=True
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="对接系统")
    shown = [str(m) for m in response.context["messages"]]
    key_re = re.compile(re.escape(token.prefix) + r"[A-Za-z0-9_-]{30,}")
    keys = [match.group() for m in shown if (match := key_re.search(m))]
    assert len(keys) == 1
    assert hash_key(keys[0]) == token.key_hash and keys[0].startswith(token.prefix)
    # Never again: the change page shows the prefix only.
    page = client.get(_url(ApiToken, "change", token.pk)).content.decode()
    assert keys[0] not in page


def test_revoke_action(client: Client, county: County) -> None:
    token, _key = ApiToken.issue(county["dept1"])
    response = client.post(
        _url(ApiToken, "changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    # Revoked stays revoked, with its first revocation time.
    first = token.revoked_at
    client.post(_url(ApiToken, "changelist"), {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at == first


def test_readable_duration() -> None:
    assert readable_duration(300) == "5 分钟"
    assert readable_duration(86400) == "24 小时"
    assert readable_duration(7 * 86400) == "7 天"
    assert readable_duration(3 * 86400, "working_days") == "3 工作日"
    assert readable_duration(1800, "working_hours") == "30 分钟（工作时间）"
    assert readable_duration(90) == "90 秒"


def test_clock_policy_durations_are_readable(client: Client, data: dict[str, Model]) -> None:
    page = client.get(_url(ClockPolicy, "changelist")).content.decode()
    assert "5 分钟" in page and "3 工作日" in page and "30 分钟（工作时间）" in page


def test_add_user_with_a_role_and_a_hall(client: Client, county: County) -> None:
    from yishiting.orgs.models import Hall, HallKind, Membership, Role, User

    response = client.post(
        _url(Hall, "add"),
        {
            "code": "130500001003",
            "name": "南街村",
            "kind": HallKind.VILLAGE,
            "parent": county.township.pk,
            "address": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    hall = Hall.objects.get(code="130500001003")
    assert hall.path == county.township.path + "130500001003/"

    response = client.post(
        _url(User, "add"),
        {
            "username": "liaison9",
            "usable_password": "false",
            "display_name": "钱芳",
            "phone": "13700000000",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-role": Role.LIAISON,
            "memberships-0-hall": hall.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    user = User.objects.get(username="liaison9")
    assert user.display_name == "钱芳" and not user.has_usable_password()
    assert Membership.objects.filter(user=user, role=Role.LIAISON, hall=hall).exists()
