"""Notification endpoints: inbound robot callbacks."""

from django.urls import path

from yishiting.notify import views

urlpatterns = [
    path("wecom/<int:binding_id>/callback", views.wecom_callback, name="wecom-callback"),
]
