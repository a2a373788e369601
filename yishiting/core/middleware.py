"""Request guards that hold for every interface."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from yishiting.core.errors import InvalidError


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
