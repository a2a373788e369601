"""Errors every interface reports the same way: `{"error": {"code", "message"}}` (§7)."""

from __future__ import annotations

from typing import Any


class ActionError(Exception):
    """A refused action: nothing was changed."""

    code = "invalid"
    status = 422

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status

    def as_dict(self) -> dict[str, dict[str, str]]:
        """The §7 error body."""
        return {"error": {"code": self.code, "message": self.message}}


class IllegalTransitionError(ActionError):
    """The verb is not allowed from the request's state (HTTP 409)."""

    code = "illegal_transition"
    status = 409


class ConflictError(ActionError):
    """Someone else changed the request first (HTTP 409)."""

    code = "conflict"
    status = 409


class ForbiddenError(ActionError):
    """The actor may not do this here (HTTP 403)."""

    code = "forbidden"
    status = 403


class NotFoundError(ActionError):
    """No such thing, or not visible to the caller (HTTP 404)."""

    code = "not_found"
    status = 404


class InvalidError(ActionError):
    """Input that fails validation (HTTP 422)."""

    code = "invalid"
    status = 422


class TooLargeError(ActionError):
    """An upload over the size limit (HTTP 413)."""

    code = "too_large"
    status = 413


def refuse_nul(value: Any, name: str = "body") -> None:
    """PostgreSQL cannot store text with a NUL character in it: refuse any string holding one,
    however deep in a parsed JSON body, as bad input (422) rather than a 500 at the database."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidError(f"{name}: NUL characters are not allowed")
    elif isinstance(value, dict):
        for key, inner in value.items():
            refuse_nul(key, name)
            refuse_nul(inner, str(key))
    elif isinstance(value, list | tuple):
        for inner in value:
            refuse_nul(inner, name)
