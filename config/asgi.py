"""ASGI entry point: HTTP through Django, WebSockets (/ws/live/) through Channels."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from yishiting.core.asgi import LimitedASGIHandler, exit_with_parent, tune_gc  # noqa: E402

exit_with_parent()

django_asgi = LimitedASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the apps loaded)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from yishiting.web.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
# Last: what was loaded so far is frozen, out of the collector's way (core.asgi.tune_gc).
tune_gc()
