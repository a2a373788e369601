"""WebSocket routes."""

from django.urls import path

from yishiting.web.consumers import LiveConsumer

websocket_urlpatterns = [path("ws/live/", LiveConsumer.as_asgi())]
