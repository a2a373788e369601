"""Errors every interface reports the same way: `{"error": {"code", "message"}}` (§7)."""

from __future__ import annotations


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
