"""One error hierarchy for threadline.

Every expected failure is a :class:`ThreadlineError` with a message that says what is wrong and what
to do. Errors that can reach HTTP carry their status; the server turns them into JSON responses and
the CLI prints them as one line.
"""

from __future__ import annotations


class ThreadlineError(Exception):
    """Base class of every expected threadline error."""

    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ThreadlineError):
    """The request or input is malformed (HTTP 400)."""

    status = 400


class InvalidEvent(BadRequest):
    """An OpenLineage event fails core validation; ``field`` names the offending JSON path."""

    def __init__(self, message: str, field: str = "$") -> None:
        super().__init__(message)
        self.field = field


class Unauthorized(ThreadlineError):
    """No or an unknown API key (HTTP 401)."""

    status = 401


class Forbidden(ThreadlineError):
    """The API key lacks the scope needed (HTTP 403)."""

    status = 403


class NotFound(ThreadlineError):
    """The thing asked for does not exist (HTTP 404)."""

    status = 404


class PayloadTooLarge(ThreadlineError):
    """The request body is larger than the configured limit (HTTP 413)."""

    status = 413


class UnsupportedMediaType(ThreadlineError):
    """The request has a content type or encoding we do not accept (HTTP 415)."""

    status = 415


class StoreError(ThreadlineError):
    """The store cannot be opened or used."""

    status = 503


class MigrationRequired(StoreError):
    """The database schema is older than this version of threadline."""


class ConfigError(ThreadlineError):
    """A setting or command-line option is invalid."""

    status = 400
