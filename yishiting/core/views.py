"""The home page: what this is and, in demo mode, the role logins."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

DEMO_LOGINS = [
    ("resident1", "群众"),
    ("liaison1", "联络员（村）"),
    ("manager1", "管理员（乡镇）"),
    ("dispatcher1", "交办员（部门集中交办厅）"),
    ("dept1", "部门人员"),
    ("dept2", "部门人员（另一部门）"),
    ("duty1", "值守人员"),
    ("leader1", "领导"),
    ("admin", "系统管理员"),
]


def home(request: HttpRequest) -> HttpResponse:
    """Landing page."""
    return render(
        request,
        "home.html",
        {"demo": settings.DEMO, "logins": DEMO_LOGINS if settings.DEMO else []},
    )
