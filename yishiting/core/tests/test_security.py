"""Rate limits (log-in, public submission), CSRF on every form, secure headers, and the
production guard of `yishiting serve` (docs/security.md)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from django.test import Client

from yishiting.api.models import ApiToken
from yishiting.core.management.commands.serve import secret_key_problem
from yishiting.core.ratelimit import Limit
from yishiting.requests.models import Event, Request
from yishiting.testing import County

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture
def liaison(county: County):  # type: ignore[no-untyped-def]
    user = county["liaison1"]
    user.set_password(PASSWORD)
    user.save()
    return user


def login(client: Client, username: str, password: str) -> object:
    return client.post("/accounts/login/", {"username": username, "password": password})


# --- rate limits: log-in -------------------------------------------------------------------


def test_limit_parse() -> None:
    assert Limit.parse("5/300") == Limit(5, 300)
    assert Limit.parse("0") is None and Limit.parse("") is None


def test_login_is_limited_per_username(settings, liaison) -> None:  # type: ignore[no-untyped-def]
    settings.YISHITING_LOGIN_LIMIT_USER = "3/300"
    client = Client()
    with time_machine.travel(time.time(), tick=False) as clock:
        for _ in range(3):
            assert login(client, "liaison1", "wrong").status_code == 200  # the form again
        refused = login(client, "liaison1", PASSWORD)  # even the right password now
        assert refused.status_code == 429
        assert 1 <= int(refused["Retry-After"]) <= 300
        assert "登录失败次数太多" in refused.content.decode()
        assert "_auth_user_id" not in client.session
        # another person on the same address is not locked out
        assert login(Client(), "manager1", "wrong").status_code == 200
        clock.shift(301)
        assert login(client, "LIAISON1", PASSWORD).status_code in (200, 302)
        assert login(client, "liaison1", PASSWORD).status_code == 302


def test_login_is_limited_per_address(settings, liaison) -> None:  # type: ignore[no-untyped-def]
    settings.YISHITING_LOGIN_LIMIT_IP = "4/300"
    client = Client(REMOTE_ADDR="10.1.2.3")
    for i in range(4):
        assert login(client, f"nobody{i}", "wrong").status_code == 200
    assert login(client, "liaison1", PASSWORD).status_code == 429
    assert login(Client(REMOTE_ADDR="10.9.9.9"), "liaison1", PASSWORD).status_code == 302


def test_admin_login_is_limited_too(settings, county: County) -> None:  # type: ignore[no-untyped-def]
    settings.YISHITING_LOGIN_LIMIT_USER = "2/300"
    client = Client()
    for _ in range(2):
        client.post("/admin/login/", {"username": "admin", "password": "x"})
    response = client.post("/admin/login/", {"username": "admin", "password": "x"})
    assert response.status_code == 429 and response.has_header("Retry-After")


# --- rate limits: public submission ---------------------------------------------------------


def _api(county: County, username: str, addr: str = "127.0.0.1") -> Client:
    _, key = ApiToken.issue(county[username])
    return Client(HTTP_AUTHORIZATION=f"Token {key}", REMOTE_ADDR=addr)


def _submit(client: Client, hall: str) -> object:
    body = json.dumps({"hall": hall, "text": "楼道里电动车充电"})
    return client.post("/api/v1/requests", body, content_type="application/json")


def test_submission_is_limited_per_address(settings, county: County) -> None:  # type: ignore[no-untyped-def]
    settings.YISHITING_SUBMIT_LIMIT_IP = "2/3600"
    api = _api(county, "resident1")
    assert [_submit(api, county.village.code).status_code for _ in range(2)] == [201, 201]
    counts = (Request.objects.count(), Event.objects.count())
    refused = _submit(api, county.village2.code)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "分钟后再试" in refused.json()["error"]["message"]
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert (Request.objects.count(), Event.objects.count()) == counts  # nothing stored
    # the page form says so in words, with the same status
    page = Client(REMOTE_ADDR="127.0.0.1").post(f"/h/{county.village.code}/", {"text": "路灯不亮"})
    assert page.status_code == 429 and page.has_header("Retry-After")
    assert "提交太频繁了" in page.content.decode()
    # someone elsewhere still can
    assert _submit(_api(county, "resident2", "10.0.0.8"), county.village.code).status_code == 201


def test_submission_is_limited_per_hall(settings, county: County) -> None:  # type: ignore[no-untyped-def]
    settings.YISHITING_SUBMIT_LIMIT_HALL = "3/3600"
    for i in range(3):
        client = Client(REMOTE_ADDR=f"10.0.0.{i + 1}")
        assert client.post(f"/h/{county.village.code}/", {"text": "井盖丢了"}).status_code == 302
    flood = Client(REMOTE_ADDR="10.0.0.99")
    assert flood.post(f"/h/{county.village.code}/", {"text": "井盖丢了"}).status_code == 429
    assert flood.post(f"/h/{county.village2.code}/", {"text": "井盖丢了"}).status_code == 302


def test_open311_submission_answers_429(settings, county: County) -> None:  # type: ignore[no-untyped-def]
    settings.YISHITING_SUBMIT_LIMIT_IP = "1/3600"
    _, key = ApiToken.issue(county["resident1"])
    data = {
        "api_key": key,
        "jurisdiction_id": "130500",
        "service_code": "streetlight",
        "attribute[hall]": county.village.code,
        "address_string": "东关村口",
        "description": "路灯不亮",
    }
    client = Client()
    assert client.post("/open311/v2/requests.json", data).status_code == 201
    refused = client.post("/open311/v2/requests.json", data)
    assert refused.status_code == 429 and refused.has_header("Retry-After")


def test_staff_capture_and_the_cli_are_not_limited(settings, county: County) -> None:  # type: ignore[no-untyped-def]
    settings.YISHITING_SUBMIT_LIMIT_IP = "1/3600"
    settings.YISHITING_SUBMIT_LIMIT_HALL = "1/3600"
    liaison = _api(county, "liaison1")
    codes = [_submit(liaison, county.village.code).status_code for _ in range(3)]
    assert codes == [201, 201, 201]


def test_behind_a_proxy_the_forwarded_address_counts(settings, county: County) -> None:  # type: ignore[no-untyped-def]
    settings.YISHITING_SUBMIT_LIMIT_IP = "1/3600"
    settings.YISHITING_BEHIND_PROXY = True
    for i in range(2):  # two residents behind the same proxy address
        client = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"spoofed, 10.0.1.{i}")
        assert client.post(f"/h/{county.village.code}/", {"text": "路灯不亮"}).status_code == 302
    again = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.1.0")
    assert again.post(f"/h/{county.village.code}/", {"text": "路灯不亮"}).status_code == 429


def test_rate_limits_can_be_switched_off(settings, county: County) -> None:  # type: ignore[no-untyped-def]
    settings.YISHITING_RATELIMIT = False
    settings.YISHITING_SUBMIT_LIMIT_IP = "1/3600"
    api = _api(county, "resident1")
    assert [_submit(api, county.village.code).status_code for _ in range(3)] == [201] * 3


# --- CSRF -----------------------------------------------------------------------------------

TEMPLATES = sorted(ROOT.glob("yishiting/*/templates/**/*.html"))
POST_FORM = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S | re.I)


def test_every_post_form_in_the_templates_carries_the_token() -> None:
    forms = 0
    for path in TEMPLATES:
        for body in POST_FORM.findall(path.read_text(encoding="utf-8")):
            forms += 1
            assert "{% csrf_token %}" in body, f"{path.relative_to(ROOT)}: a POST form without it"
    assert forms >= 5


def test_htmx_requests_send_the_token() -> None:
    base = (ROOT / "yishiting/web/templates/web/base.html").read_text(encoding="utf-8")
    assert 'hx-headers=\'{"X-CSRFToken": "{{ csrf_token }}"}\'' in base


def test_a_post_without_the_token_is_refused(county: County, liaison) -> None:  # type: ignore[no-untyped-def]
    from yishiting.requests import actions

    req = actions.do_submit(actor=county["resident1"], hall=county.village, text="路灯不亮")
    counts = (Request.objects.count(), Event.objects.count())
    anonymous = Client(enforce_csrf_checks=True)
    assert login(anonymous, "liaison1", PASSWORD).status_code == 403
    assert anonymous.post(f"/h/{county.village.code}/", {"text": "x"}).status_code == 403
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(liaison)
    for path, data in [
        (f"/r/{req.pk}/do/acknowledge/", {"note": "收到"}),
        ("/capture/", {"hall": county.village.code, "text": "代录"}),
        ("/accounts/logout/", {}),
        ("/i18n/setlang/", {"language": "en"}),
    ]:
        assert staff.post(path, data).status_code == 403, path
    # API v1 with the session cookie needs the token too (a Token header needs none)
    body = json.dumps({"note": "收到"})
    api = staff.post(
        f"/api/v1/requests/{req.pk}/acknowledge", body, content_type="application/json"
    )
    assert api.status_code == 403
    assert (Request.objects.count(), Event.objects.count()) == counts
    # with the token from the page it goes through
    page = staff.get(f"/r/{req.pk}/")
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page.content.decode()).group(1)
    done = staff.post(
        f"/r/{req.pk}/do/acknowledge/", {"note": "收到", "csrfmiddlewaretoken": token}
    )
    assert done.status_code == 302
    assert Event.objects.count() == counts[1] + 1


# --- secure headers -------------------------------------------------------------------------


def test_secure_headers_on_pages(county: County) -> None:
    response = Client().get(f"/h/{county.village.code}/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    nonce = re.fullmatch(r"'self' 'nonce-([\w-]+)'", directives["script-src"]).group(1)
    html = response.content.decode()
    # every inline script carries the nonce; every other script is our own static file
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
        if body.strip():
            assert f'nonce="{nonce}"' in attrs
        else:
            assert re.search(r'src="/static/', attrs), attrs
    assert "http://" not in csp and "https://" not in csp and "*" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=(self)" in response["Permissions-Policy"]
    assert not response.has_header("Strict-Transport-Security")  # plain HTTP: no HSTS
    assert Client().get(f"/h/{county.village.code}/")["Content-Security-Policy"] != csp  # fresh


def test_api_and_admin_carry_the_headers(county: County) -> None:
    for path in (
        "/api/v1/docs",
        "/api/v1/openapi.json",
        "/admin/login/",
        "/open311/v2/discovery.json",
    ):
        response = Client().get(path)
        assert response.has_header("Content-Security-Policy"), path
        assert response["X-Content-Type-Options"] == "nosniff", path


def test_hsts_and_secure_cookies_over_https_behind_the_proxy(settings, county: County) -> None:  # type: ignore[no-untyped-def]
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = Client(HTTP_X_FORWARDED_PROTO="https").get("/")
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert not Client().get("/").has_header("Strict-Transport-Security")


def _settings_in(env: dict[str, str], names: str) -> list[object]:
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps([getattr(s, n, None) for n in {names.split()!r}]))"
    )
    full = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings", **env)
    out = subprocess.run(
        [sys.executable, "-c", code], env=full, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_https_settings_follow_the_environment() -> None:
    names = "SESSION_COOKIE_SECURE CSRF_COOKIE_SECURE SECURE_HSTS_SECONDS SECURE_PROXY_SSL_HEADER"
    assert _settings_in({"YISHITING_HTTPS": "0", "YISHITING_BEHIND_PROXY": "0"}, names) == [
        False,
        False,
        0,
        None,
    ]
    assert _settings_in({"YISHITING_HTTPS": "1", "YISHITING_BEHIND_PROXY": "1"}, names) == [
        True,
        True,
        31_536_000,
        ["HTTP_X_FORWARDED_PROTO", "https"],
    ]


# --- yishiting serve in production -----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "default"),
        ("insecure-default-key-change-me", "default"),
        ("short", "weak"),
        ("django-insecure-" + "x" * 40, "weak"),
        ("a" * 50, "weak"),
        ("Vq3z8yH2pLk9mN4tR7wX1cB6dF0gJ5sA-_eU", ""),
    ],
)
def test_secret_key_problem(key: str, problem: str) -> None:
    found = secret_key_problem(key)
    assert (problem in found) if problem else found == ""


@pytest.mark.parametrize("key", ["", "short"])
def test_serve_refuses_an_empty_or_weak_key(tmp_path: Path, key: str) -> None:
    env = dict(
        os.environ, YISHITING_DEBUG="0", YISHITING_SECRET_KEY=key, YISHITING_DATA_DIR=str(tmp_path)
    )
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "yishiting.cli", "serve", "--port", "1"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "refusing to serve" in result.stderr and "YISHITING_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
