"""API tokens: a key shown once, stored hashed, scoped to one user."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yishiting.core.prepared import Prepared


def hash_key(key: str) -> str:
    """The stored form of a token key."""
    return hashlib.sha256(key.encode()).hexdigest()


# `last_used_at` is kept to this resolution: a token used all the time writes it once a minute,
# not on every call (a write on every read would cost each GET a transaction, and on SQLite
# the one write lock).
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiToken(models.Model):
    """An integration's token (`Authorization: Token <key>`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("名称"), max_length=100, blank=True)
    prefix = models.CharField(_("前缀"), max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user: models.Model, name: str = "") -> tuple[ApiToken, str]:
        """Create a token; the key is returned once and never stored in clear."""
        key = secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=key[:8], key_hash=hash_key(key))
        return token, key

    @classmethod
    def authenticate(cls, key: str) -> ApiToken | None:
        """The live token with this key (of an active user), its use recorded; else None.

        The use is recorded as `last_used_at`, to the minute (LAST_USED_RESOLUTION; docs/api.md,
        "Tokens")."""
        key = (key or "").strip()
        if not key:
            return None
        rows = _live_token(hash_key(key))
        token = rows[0] if rows else None
        if token is None or not token.user.is_active:
            return None
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            cls.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None


# Every API call reads its token this way: compiled once (core.prepared). `key_hash` is unique.
_live_token = Prepared(
    lambda key_hash: ApiToken.objects.select_related("user").filter(
        key_hash=key_hash, revoked_at__isnull=True
    ),
    str,
)
