"""Request guards that hold for every interface."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from yishiting.core.errors import ActionError, InvalidError, TooLargeError


class RefuseNulMiddleware:
    """A query string with a NUL character is bad input, never a 500: PostgreSQL can neither
    store nor compare text that holds one. API v1 answers with its §7 error body, pages with a
    plain 400; Open311 answers in the spec's own error format (open311.views)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/open311/") or not any(
            "\x00" in value for _key, values in request.GET.lists() for value in values
        ):
            return self.get_response(request)
        error = InvalidError("query: NUL characters are not allowed")
        if request.path.startswith("/api/"):
            return JsonResponse(error.as_dict(), status=error.status)
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")


# What a multipart body may reach: the photos (9 of YISHITING_MAX_UPLOAD_BYTES each) and room
# for the form's fields.
MULTIPART_SLACK = 2 * 1024 * 1024


def _utf8(raw: str) -> bool:
    """Whether a percent-encoded query string or form body decodes as UTF-8."""
    try:
        unquote_to_bytes(raw.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class NulError(InvalidError):
    """A form value with a NUL character: 422 in API v1, 400 on pages."""


class RefuseBadInputMiddleware:
    """Bodies over the size limit (413) and query strings or form bodies that are not UTF-8
    (400) are refused before any view reads them: Django would otherwise answer a body too
    large with a bare 400 page, and replace broken bytes silently. API v1 answers with its §7
    error body, pages with a plain message; Open311 keeps its own error format."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/open311/"):
            return self.get_response(request)
        error = self._problem(request)
        if error is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse(error.as_dict(), status=error.status)
        status = 400 if isinstance(error, NulError) else error.status
        return HttpResponse(error.message, status=status, content_type="text/plain; charset=utf-8")

    def _problem(self, request: HttpRequest) -> ActionError | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return ActionError(_("请求格式有误"), code="bad_request", status=400)
        content_type = request.META.get("CONTENT_TYPE", "")
        from yishiting.requests.photos import MAX_PHOTOS

        if content_type.startswith("multipart/"):
            limit = MAX_PHOTOS * settings.YISHITING_MAX_UPLOAD_BYTES + MULTIPART_SLACK
        else:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            return TooLargeError(
                _("提交的内容太大（上限 %(mb)d MB）") % {"mb": limit // (1024 * 1024)}
            )
        if not _utf8(request.META.get("QUERY_STRING", "")):
            return ActionError(
                _("网址中有无法识别的字符（不是 UTF-8 编码）"), code="bad_request", status=400
            )
        form = content_type.startswith("application/x-www-form-urlencoded")
        if (
            form
            and request.method in ("POST", "PUT", "PATCH")
            and not _utf8(request.body.decode("latin-1"))
        ):
            return ActionError(
                _("提交的内容有无法识别的字符（不是 UTF-8 编码），请重新填写后再试"),
                code="bad_request",
                status=400,
            )
        # PostgreSQL can neither store nor compare text holding NUL (API v1 checks its JSON
        # itself; this covers every form, the pages' included).
        posted = form or content_type.startswith("multipart/form-data")
        if (
            posted
            and request.method == "POST"
            and any("\x00" in v for _key, values in request.POST.lists() for v in values)
        ):
            return NulError(_("提交的内容不能包含空字符（NUL）"))
        return None
