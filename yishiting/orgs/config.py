"""Per-process copies of the county's configuration, checked against one stamp per read.

Every verb needs the clock policies, the holiday overrides, the county's rules, its robots,
webhooks and duty roster. They change a few times a year and are read on every request, so
each process keeps a copy (`cached`) and checks it against the one-row table `ConfigStamp`
with one primary-key read. Any write to a configuration model (one whose manager is a
`ConfigQuerySet`) gives the stamp a new random value in the writer's own transaction, so
every process sees the change with its first read after the commit:

- saves and deletes through the `post_save` / `post_delete` signals (admin, API, imports);
- `update()`, `bulk_create()` and `bulk_update()` through `ConfigQuerySet`, which the
  watched models use as their manager, since those send no signal.

The stamp is random rather than a counter so that a rolled-back change can never be
mistaken for a later committed one. The stamp is read *before* the data: a change that
commits in between leaves a copy filed under the old stamp, which the next read replaces.
A database without the row (a test's flush) is read every time.

Within one HTTP request (`OneStampMiddleware`) the stamp is read once, at the first `cached`
call, rather than at every one (five to seven times per verb): a change that commits while a
request runs counts from the next request, and a request's own change (`bump`) from its next
read.

Cached objects are shared between threads: read them, never change them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from django.apps import apps
from django.db import connection, models
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")
M = TypeVar("M", bound=models.Model)

_copies: dict[str, tuple[str, Any]] = {}
# Inside an HTTP request: [] until the stamp is read, then [the stamp]; None outside.
_held: ContextVar[list[str | None] | None] = ContextVar("config_stamp_held", default=None)


def stamp() -> str | None:
    """The configuration's current stamp (None when there is no stamp row)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT stamp FROM orgs_configstamp WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None


def bump(**_: Any) -> None:
    """Mark the configuration changed, in the caller's transaction."""
    from yishiting.orgs.models import ConfigStamp

    value = secrets.token_hex(8)
    if not ConfigStamp.objects.filter(pk=1).update(stamp=value):
        ConfigStamp.objects.update_or_create(pk=1, defaults={"stamp": value})
    _copies.clear()
    held = _held.get()
    if held is not None:
        held.clear()


def _current() -> str | None:
    held = _held.get()
    if held is None:
        return stamp()
    if not held:
        held.append(stamp())
    return held[0]


def cached(name: str, load: Callable[[], T]) -> T:
    """`load()`, or this process's copy of it while the stamp is unchanged."""
    current = _current()
    held = _copies.get(name)
    if held is not None and current is not None and held[0] == current:
        return held[1]  # type: ignore[no-any-return]
    value = load()
    if current is not None:
        _copies[name] = (current, value)
    return value


class ConfigQuerySet(models.QuerySet):
    """A watched model's queryset: the bulk writes that send no signal bump the stamp too."""

    def update(self, **kwargs: Any) -> int:
        n = super().update(**kwargs)
        bump()
        return n

    def bulk_create(self, *args: Any, **kwargs: Any) -> list[Any]:
        rows = super().bulk_create(*args, **kwargs)
        bump()
        return rows

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        n = super().bulk_update(*args, **kwargs)
        bump()
        return n


class OneStampMiddleware:
    """Read the configuration's stamp at most once per request (see the module's docstring)."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        token = _held.set([])
        try:
            return self.get_response(request)
        finally:
            _held.reset(token)


def by_county(model: type[M]) -> dict[str, M]:
    """A model's rows (one per county, `county` a foreign key) by county code."""
    return cached(
        f"by-county:{model._meta.label}",
        lambda: {r.county.code: r for r in model._default_manager.select_related("county")},  # type: ignore[attr-defined]
    )


def watch() -> None:
    """Bump the stamp whenever a watched model (one whose manager is a `ConfigQuerySet`) is
    saved or deleted. Called once, from `OrgsConfig.ready`: by then every app's models are
    loaded, so the manager alone makes a model watched."""
    for model in apps.get_models():
        if isinstance(model._default_manager.all(), ConfigQuerySet):
            label = model._meta.label
            post_save.connect(bump, sender=model, dispatch_uid=f"config-{label}-save")
            post_delete.connect(bump, sender=model, dispatch_uid=f"config-{label}-del")
