"""Open311 GeoReport v2 with mySociety's `servicerequestupdates` (docs/open311.md).

A thin adapter: services are the categories, a service request is one of our requests, a
POST is `actions.do_submit` on channel `open311` by the API token's user. Every answer is
the public view: names, phone numbers, house numbers and coordinates finer than ~100 m are
never in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from yishiting.api.models import ApiToken
from yishiting.api.schemas import reporter_names
from yishiting.core.errors import ActionError
from yishiting.core.masking import mask_text
from yishiting.open311.render import JSON, XML, Open311Error, error, respond
from yishiting.orgs.models import Category, Hall, HallKind, Priority
from yishiting.orgs.scope import Actor
from yishiting.requests import actions
from yishiting.requests.models import Attachment, Channel, Event, Request
from yishiting.requests.states import STATE_LABELS, VERB_LABELS, State, Verb

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this adapter's behaviour last changed (discovery's `changeset`).
CHANGESET = "2026-12-01T00:00:00+08:00"
MAX_DESCRIPTION = 4000
MAX_SPAN = timedelta(days=90)
MAX_ROWS = 1000
MAX_PAGE = 100_000  # far past any data; keeps the SQL offset a 64-bit number
UPDATES_DEFAULT_SPAN = timedelta(days=1)
# Open311 has two states; ours split into the work still to do and the work that is over.
CLOSED_STATES = frozenset({State.RESOLVED, State.CLOSED, State.REJECTED, State.MERGED})
# Halls a request may be raised in (do_submit refuses the county and the assignment hall).
NOT_RAISED_IN = (HallKind.COUNTY, HallKind.ASSIGNMENT)
COORDINATE_DIGITS = 3  # ~100 m: enough for a public map, not enough to find a door
_ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
_OFFSET_SPACE = re.compile(r" (\d{2}:?\d{2})$")

View = Callable[..., HttpResponse]
Handler = Callable[..., Any]  # returns the answer's data, or (status, data)


def _source(text: Any) -> str:
    """A lazy label in Chinese, whatever language the caller asked for."""
    with translation.override(None):
        return str(text)


def open311_status(state: str) -> str:
    """`open` or `closed` for one of our states."""
    return "closed" if state in CLOSED_STATES else "open"


def endpoint(methods: Iterable[str], root: str, item: str | None) -> Callable[[Handler], View]:
    """A GeoReport view: allowed methods, the answer in the path's format, errors as the
    spec writes them (and refusals of the actions mapped onto 400/403/404)."""
    allowed = tuple(methods)

    def decorate(view: Handler) -> View:
        @wraps(view)
        def run(request: HttpRequest, fmt: str | None = None, **kwargs: Any) -> HttpResponse:
            fmt = fmt or XML  # XML is the spec's required format and its default
            if request.method not in allowed:
                response = error(fmt, 405, f"method {request.method} not allowed here")
                response["Allow"] = ", ".join(allowed)
                return response
            params = request.POST if request.method == "POST" else request.GET
            if any("\x00" in v for _key, values in params.lists() for v in values) or any(
                "\x00" in str(v) for v in kwargs.values()
            ):
                # PostgreSQL cannot store or even compare text with NUL in it.
                return error(fmt, 400, "parameters may not contain NUL characters")
            try:
                result = view(request, **kwargs)
            except Open311Error as exc:
                return error(fmt, exc.status, exc.description)
            except ActionError as exc:
                status = exc.status if exc.status in (403, 404, 429) else 400
                return error(fmt, status, exc.message)
            status = 200
            if isinstance(result, tuple):
                status, result = result
            return respond(fmt, root, item, result, status)

        return csrf_exempt(run) if "POST" in allowed else run

    return decorate


# --- parameters -------------------------------------------------------------------------------


def _params(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else request.GET


def _jurisdiction(request: HttpRequest) -> Hall:
    """The county named by `jurisdiction_id` (optional while there is only one county)."""
    code = (_params(request).get("jurisdiction_id") or "").strip()
    counties = Hall.objects.filter(kind=HallKind.COUNTY)
    if code:
        county = counties.filter(code=code).first()
        if county is None:
            raise Open311Error(404, f"jurisdiction_id {code} not found")
        return county
    found = list(counties[:2])
    if len(found) == 1:
        return found[0]
    if not found:
        raise Open311Error(404, "no jurisdiction is set up on this server")
    raise Open311Error(400, "jurisdiction_id is required: this server serves several counties")


def _date(value: str | None, name: str) -> datetime | None:
    """A W3C time with its offset; a '+' sent unencoded arrives as a space and is put back."""
    if not value:
        return None
    value = _OFFSET_SPACE.sub(r"+\1", value.strip())
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise Open311Error(400, f"{name} is not a W3C date-time, e.g. 2026-12-01T08:00:00+08:00")
    if parsed.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone (Z or an offset such as +08:00)")
    return parsed


def _span(request: HttpRequest, default: timedelta) -> tuple[datetime, datetime]:
    """`start_date`..`end_date`, at most 90 days apart; a missing end is found from the other."""
    start = _date(request.GET.get("start_date"), "start_date")
    end = _date(request.GET.get("end_date"), "end_date")
    if start is None and end is None:
        end = timezone.now()
    if start is None:
        assert end is not None
        start = end - default
    if end is None:
        end = start + default
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date and end_date may be at most 90 days apart")
    return start, end


def _paging(request: HttpRequest) -> tuple[int, int]:
    """The widely implemented `page`/`page_size` extension; default one page of 1000."""
    try:
        page = int(request.GET.get("page") or 1)
        size = int(request.GET.get("page_size") or MAX_ROWS)
    except ValueError:
        raise Open311Error(400, "page and page_size are whole numbers") from None
    if not 1 <= page <= MAX_PAGE or not 1 <= size <= MAX_ROWS:
        raise Open311Error(400, f"page from 1 to {MAX_PAGE}, page_size from 1 to {MAX_ROWS}")
    return (page - 1) * size, size


def _token(request: HttpRequest) -> ApiToken:
    """The caller's API token: `api_key` (or the API's `Authorization: Token` header)."""
    key = _params(request).get("api_key") or ""
    header = request.headers.get("Authorization", "")
    if not key and header.startswith("Token "):
        key = header[6:]
    if not key.strip():
        raise Open311Error(400, "api_key is required")
    token = ApiToken.authenticate(key)
    if token is None:
        raise Open311Error(403, "api_key is not valid")
    return token


# --- discovery and services ---------------------------------------------------------------------


@endpoint(["GET"], "discovery", None)
def discovery(request: HttpRequest) -> dict[str, Any]:
    """Where the endpoint is and what it speaks."""
    url = request.build_absolute_uri(reverse("open311:root"))
    return {
        "changeset": CHANGESET,
        "contact": settings.OPEN311_CONTACT,
        "key_service": "API keys are issued by the county's administrator (yishiting token).",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url.rstrip("/"),
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def service_out(category: Category) -> dict[str, Any]:
    """A category as a GeoReport service."""
    department = category.department.name if category.department else ""
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{category.name}（{department}）" if department else category.name,
        "metadata": True,  # every service has the `hall` attribute
        "type": "realtime",
        "keywords": ",".join(re.split(r"[\s,，、]+", category.keywords.strip()))
        if category.keywords.strip()
        else "",
        "group": department,
    }


@endpoint(["GET"], "services", "service")
def services(request: HttpRequest) -> list[dict[str, Any]]:
    """Every category."""
    _jurisdiction(request)
    return [service_out(c) for c in Category.objects.select_related("department")]


def _category(code: str) -> Category:
    category = Category.objects.select_related("department").filter(code=code).first()
    if category is None:
        raise Open311Error(404, f"service_code {code} not found")
    return category


def _halls(county: Hall) -> QuerySet[Hall]:
    """Halls of the county a resident's request may be raised in."""
    return (
        Hall.objects.filter(path__startswith=county.path)
        .exclude(kind__in=NOT_RAISED_IN)
        .order_by("path")
    )


def _choice(key: str, name: Any) -> dict[str, str]:
    return {"key": key, "name": _source(name)}


@endpoint(["GET"], "service_definition", None)
def service_definition(request: HttpRequest, code: str) -> dict[str, Any]:
    """The attributes a request of this service takes: which hall, and optional details."""
    county = _jurisdiction(request)
    category = _category(code)
    halls = [_choice(h.code, h.name) for h in _halls(county)]
    default_priority = _source(Priority(category.default_priority).label)
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": "hall",
                "datatype": "singlevaluelist",
                "required": True,
                "datatype_description": "议事厅编码",
                "order": 1,
                "description": "诉求提交到哪个议事厅（村、社区、小区等）；"
                "给出 address_id（议事厅编码）时可省略",
                "values": halls,
            },
            {
                "variable": True,
                "code": "title",
                "datatype": "string",
                "required": False,
                "datatype_description": "至多 100 字",
                "order": 2,
                "description": "标题；不填取描述的第一行",
                "values": [],
            },
            {
                "variable": True,
                "code": "priority",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "紧急程度",
                "order": 3,
                "description": f"不填按类别默认（{default_priority}）",
                "values": [_choice(v, label) for v, label in Priority.choices],
            },
            {
                "variable": True,
                "code": "anonymous",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "是否匿名",
                "order": 4,
                "description": "匿名时公开页面不显示反映人",
                "values": [_choice("false", "否"), _choice("true", "是")],
            },
        ],
    }


# --- service requests ----------------------------------------------------------------------------


def _float(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise Open311Error(400, f"{name} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise Open311Error(400, f"{name} is not a number")
    return number


def _attributes(params: Any) -> dict[str, str]:
    known = {"hall", "title", "priority", "anonymous"}
    out: dict[str, str] = {}
    for key in params:
        match = _ATTRIBUTE.match(key)
        if match is None:
            continue
        code = match.group(1)
        if code not in known:
            raise Open311Error(400, f"attribute[{code}] is not an attribute of this service")
        out[code] = (params.get(key) or "").strip()
    return out


def _name(first: str, last: str) -> str:
    """A reporter's name: family name first when it is Chinese (王 + 秀兰), else 'First Last'."""
    if any("\u4e00" <= c <= "\u9fff" for c in first + last):
        return f"{last}{first}"
    return " ".join(p for p in (first, last) if p)


def _submit(request: HttpRequest) -> tuple[int, list[dict[str, Any]]]:
    """POST requests: a new request through do_submit, on the token user's behalf."""
    params = request.POST
    token = _token(request)
    county = _jurisdiction(request)
    code = (params.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code is required")
    category = _category(code)
    attributes = _attributes(params)

    lat_text, long_text = params.get("lat", "").strip(), params.get("long", "").strip()
    address = params.get("address_string", "").strip()
    address_id = params.get("address_id", "").strip()
    if bool(lat_text) != bool(long_text):
        raise Open311Error(400, "give both lat and long")
    if not (lat_text or address or address_id):
        raise Open311Error(
            400, "a location is required: lat and long, address_string or address_id"
        )
    lat = _float(lat_text, "lat") if lat_text else None
    lng = _float(long_text, "long") if long_text else None
    if lat is not None and lng is not None and not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise Open311Error(400, "lat/long out of range")
    halls = _halls(county)
    located_at = None
    if address_id:
        located_at = halls.filter(code=address_id).first()
        if located_at is None:
            raise Open311Error(400, f"address_id {address_id} is not a hall of this jurisdiction")
    hall_code = attributes.get("hall") or (located_at.code if located_at else "")
    if not hall_code:
        raise Open311Error(400, "attribute[hall] is required (or an address_id naming a hall)")
    hall = halls.filter(code=hall_code).first()
    if hall is None:
        raise Open311Error(400, f"attribute[hall] {hall_code} is not a hall of this jurisdiction")
    if not address and located_at is not None:
        address = located_at.address or located_at.name

    description = params.get("description", "").strip()
    if not description:
        raise Open311Error(400, "description is required: say what the problem is")
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION} characters")
    priority = attributes.get("priority") or None
    if priority is not None and priority not in Priority.values:
        raise Open311Error(400, f"attribute[priority] is one of {', '.join(Priority.values)}")
    anonymous = attributes.get("anonymous", "false").lower()
    if anonymous not in ("true", "false", ""):
        raise Open311Error(400, "attribute[anonymous] is true or false")
    email = params.get("email", "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise Open311Error(400, "email is not an e-mail address") from None
    media_url = params.get("media_url", "").strip()
    if media_url:
        try:
            if len(media_url) > 500:
                raise ValidationError("too long")
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError:
            raise Open311Error(
                400, "media_url is not an http(s) URL of at most 500 characters"
            ) from None
    name = _name(params.get("first_name", "").strip(), params.get("last_name", "").strip())
    phone = params.get("phone", "").strip()
    if len(name) > 50 or len(phone) > 20:
        raise Open311Error(400, "first_name/last_name at most 50, phone at most 20 characters")
    if len(address) > 200:
        raise Open311Error(400, "address_string is longer than 200 characters")

    req = actions.do_submit(
        actor=Actor.of(token.user),
        hall=hall,
        text=description,
        title=attributes.get("title", ""),
        category=category,
        priority=priority,
        anonymous=anonymous == "true",
        reporter_name=name,
        reporter_phone=phone,
        address=address,
        lat=lat,
        lng=lng,
        channel=Channel.OPEN311,
        data={"media_url": media_url} if media_url else None,
    )
    notice = f"已提交到{hall.name}，联络员将在 {timezone.localtime(req.respond_by):%H:%M} 前响应"
    return 201, [
        {
            "service_request_id": req.number,
            "token": req.follow_code,
            "service_notice": notice if req.respond_by else f"已提交到{hall.name}",
            "account_id": None,
        }
    ]


def _in_county(county: Hall) -> QuerySet[Request]:
    return Request.objects.select_related(
        "hall", "origin_hall", "department", "category", "reporter"
    ).filter(origin_hall__path__startswith=county.path)


def _by_number(county: Hall, number: str) -> Request | None:
    """A request by its case number (year + id), within the county."""
    if not number.isdigit() or len(number) < 5:
        return None
    req = _in_county(county).filter(pk=int(number[4:])).first()
    return req if req is not None and req.number == number else None


def _media(request: HttpRequest, attachment_id: int) -> str:
    return request.build_absolute_uri(reverse("open311:media", args=[attachment_id]))


def requests_out(request: HttpRequest, rows: list[Request]) -> list[dict[str, Any]]:
    """Requests in GeoReport's fields, the public view (three queries for the whole page)."""
    ids = [r.pk for r in rows]
    submitted = dict(
        Event.objects.filter(request_id__in=ids, seq=1).values_list("request_id", "data")
    )
    notes: dict[int, str] = {}
    for request_id, note in (
        Event.objects.filter(request_id__in=ids, public=True)
        .exclude(note="")
        .order_by("request_id", "seq")
        .values_list("request_id", "note")
    ):
        notes[request_id] = note  # the last one wins
    photos: dict[int, int] = {}
    for request_id, attachment_id in (
        Attachment.objects.filter(request_id__in=ids, event__public=True)
        .order_by("-id")
        .values_list("request_id", "id")
    ):
        photos[request_id] = attachment_id  # the first one wins
    out = []
    for r in rows:
        names = reporter_names(r)
        label = _source(STATE_LABELS[State(r.status)])
        note = mask_text(notes.get(r.pk, ""), names)
        media = (submitted.get(r.pk) or {}).get("media_url") or (
            _media(request, photos[r.pk]) if r.pk in photos else None
        )
        expected = r.resolve_by or r.claim_by or r.respond_by
        out.append(
            {
                "service_request_id": r.number,
                "status": open311_status(r.status),
                "status_notes": f"{label}：{note}" if note else label,
                "service_name": r.category.name if r.category else "",
                "service_code": r.category.code if r.category else "",
                "description": mask_text(r.text, names),
                "agency_responsible": r.department.name if r.department else r.hall.name,
                "service_notice": "",
                "requested_datetime": r.created_at,
                "updated_datetime": r.updated_at,
                "expected_datetime": expected if r.status not in CLOSED_STATES else None,
                "address": mask_text(r.address, names),
                "address_id": r.origin_hall.code,
                "zipcode": "",
                "lat": round(r.lat, COORDINATE_DIGITS) if r.lat is not None else None,
                "long": round(r.lng, COORDINATE_DIGITS) if r.lng is not None else None,
                "media_url": media,
            }
        )
    return out


def _search(request: HttpRequest) -> list[dict[str, Any]]:
    """GET requests with the spec's filters; `service_request_id` overrides the others."""
    county = _jurisdiction(request)
    qs = _in_county(county)
    wanted = (request.GET.get("service_request_id") or "").strip()
    if wanted:
        numbers = [n.strip() for n in wanted.split(",") if n.strip()]
        if len(numbers) > MAX_ROWS:
            raise Open311Error(400, f"at most {MAX_ROWS} service_request_id values")
        if any(not n.isdigit() for n in numbers):
            raise Open311Error(400, "service_request_id is a comma-separated list of numbers")
        found = {r.number: r for n in numbers if (r := _by_number(county, n)) is not None}
        return requests_out(request, [found[n] for n in dict.fromkeys(numbers) if n in found])
    code = (request.GET.get("service_code") or "").strip()
    if code:
        qs = qs.filter(category=_category(code))
    start, end = _span(request, MAX_SPAN)
    qs = qs.filter(created_at__gte=start, created_at__lte=end)
    status = (request.GET.get("status") or "").strip()
    if status:
        wanted_status = {s.strip().lower() for s in status.split(",") if s.strip()}
        if not wanted_status <= {"open", "closed"}:
            raise Open311Error(400, "status is open, closed, or open,closed")
        if wanted_status == {"open"}:
            qs = qs.exclude(status__in=CLOSED_STATES)
        elif wanted_status == {"closed"}:
            qs = qs.filter(status__in=CLOSED_STATES)
    offset, size = _paging(request)
    rows = list(qs.order_by("-created_at", "-id")[offset : offset + size])
    return requests_out(request, rows)


@endpoint(["GET", "POST"], "service_requests", "request")
def service_requests(request: HttpRequest) -> Any:
    """GET: search requests; POST: create one."""
    if request.method == "POST":
        return _submit(request)
    return _search(request)


@endpoint(["GET"], "service_requests", "request")
def service_request(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    """One request, as a list of one (as the spec has it)."""
    req = _by_number(_jurisdiction(request), number)
    if req is None:
        raise Open311Error(404, f"service_request_id {number} not found")
    return requests_out(request, [req])


@endpoint(["GET"], "service_requests", "request")
def token(request: HttpRequest, token: str) -> list[dict[str, Any]]:
    """The request a token (our follow-up code, 查询码) stands for."""
    county = _jurisdiction(request)
    req = _in_county(county).filter(follow_code=token.strip().upper()).first()
    if req is None:
        raise Open311Error(404, f"token {token} not found")
    return [{"service_request_id": req.number, "token": req.follow_code}]


@endpoint(["GET"], "service_request_updates", "request_update")
def updates(request: HttpRequest) -> list[dict[str, Any]]:
    """mySociety's extension: the public events between start_date and end_date, oldest first."""
    county = _jurisdiction(request)
    start, end = _span(request, UPDATES_DEFAULT_SPAN)
    offset, size = _paging(request)
    events = list(
        Event.objects.filter(
            request__origin_hall__path__startswith=county.path,
            public=True,
            created_at__gte=start,
            created_at__lte=end,
        )
        .select_related("request__reporter")
        .order_by("created_at", "id")[offset : offset + size]
    )
    photos: dict[int, int] = {}
    for event_id, attachment_id in (
        Attachment.objects.filter(event_id__in=[e.pk for e in events])
        .order_by("-id")
        .values_list("event_id", "id")
    ):
        photos[event_id] = attachment_id
    out = []
    for e in events:
        names = reporter_names(e.request)
        out.append(
            {
                "update_id": str(e.pk),
                "service_request_id": e.request.number,
                "status": open311_status(e.to_status),
                "external_status_code": e.to_status,
                "updated_datetime": e.created_at,
                "description": mask_text(e.note, names) or _source(VERB_LABELS[Verb(e.verb)]),
                "media_url": _media(request, photos[e.pk]) if e.pk in photos else None,
            }
        )
    return out


def media(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """A photo of a public event (stored without EXIF), for `media_url`."""
    attachment = Attachment.objects.filter(pk=attachment_id, event__public=True).first()
    if attachment is None:
        return error(XML, 404, "media not found")
    return FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)


def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any other path under /open311/v2/: the spec's 404, in the format its suffix names."""
    fmt = JSON if path.endswith(".json") else XML
    return error(fmt, 404, f"no such resource: {path or '/'}")


def root(request: HttpRequest) -> HttpResponse:
    """The endpoint's base URL answers as discovery does (in XML)."""
    return discovery(request)
