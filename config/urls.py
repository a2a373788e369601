"""URL map: admin, API v1, pages."""

from django.contrib import admin
from django.urls import include, path

from yishiting.api.api import api
from yishiting.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("open311/v2/", include("yishiting.open311.urls")),
    path("notify/", include("yishiting.notify.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("yishiting.web.urls")),
]
