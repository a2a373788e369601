"""Secure headers every response carries (docs/security.md).

Django's SecurityMiddleware and XFrameOptionsMiddleware give X-Content-Type-Options, the
Referrer-Policy, Cross-Origin-Opener-Policy, X-Frame-Options and, over HTTPS, HSTS. This adds
the Content-Security-Policy (only this server's own scripts, styles, images and sockets: the
product never loads anything from elsewhere, §6) and a Permissions-Policy.

Inline scripts carry the request's nonce (`{{ request.csp_nonce }}`); inline style attributes
stay allowed ('unsafe-inline' for styles only) because ECharts writes its tooltips with them
and the admin uses them; no inline script runs without the nonce.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse


def policy(nonce: str, host: str = "") -> str:
    """The Content-Security-Policy for a response whose inline scripts carry `nonce`; the
    live socket's ws(s)://host spelled out for browsers (older WebKit in WeChat) whose 'self'
    does not cover WebSockets."""
    sockets = f" ws://{host} wss://{host}" if host else ""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob:",
            "font-src 'self' data:",
            f"connect-src 'self'{sockets}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


# The camera and microphone (photos, voice messages) and the position of a problem, for this
# site only; nothing else.
PERMISSIONS = "camera=(self), microphone=(self), geolocation=(self), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """Content-Security-Policy with a fresh nonce per request, and a Permissions-Policy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        try:
            host = request.get_host()
        except DisallowedHost:
            host = ""
        response.headers.setdefault("Content-Security-Policy", policy(nonce, host))
        response.headers.setdefault("Permissions-Policy", PERMISSIONS)
        return response
