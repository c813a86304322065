"""One error hierarchy for threadline.

Every expected failure is a :class:`ThreadlineError` with a message that says what is wrong and what
to do. Errors that can reach HTTP carry their status; the server turns them into JSON responses and
the CLI prints them as one line.
"""

from __future__ import annotations

import re


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class ThreadlineError(Exception):
    """Base class of every expected threadline error.

    ``status`` is the HTTP status it answers with; ``code`` the machine-readable code of its answer
    (``server.api.errors``): the class's name in snake case (``NotFound``: ``not_found``) unless a
    class sets its own. Clients branch on the code, never on the message's words.
    """

    status: int = 500
    code: str = "threadline_error"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = _snake(cls.__name__)

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


class InvalidParameter(BadRequest):
    """A query or path parameter is missing or malformed (HTTP 400); ``parameter`` names it."""

    def __init__(self, message: str, parameter: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class AmbiguousRunId(BadRequest):
    """A run id prefix starts more than one run (HTTP 400); the message names some of them."""


class Unauthorized(ThreadlineError):
    """No or an unknown API key (HTTP 401)."""

    status = 401


class Forbidden(ThreadlineError):
    """The API key lacks the scope needed (HTTP 403)."""

    status = 403


class NotFound(ThreadlineError):
    """The thing asked for does not exist (HTTP 404)."""

    status = 404


class NoObjectStore(NotFound):
    """This server keeps no objects (started without an object folder), so it has none (HTTP 404)."""


class Conflict(ThreadlineError):
    """The thing to create exists already, or the change needs ``force`` (HTTP 409)."""

    status = 409


class PayloadTooLarge(ThreadlineError):
    """The request body is larger than the configured limit (HTTP 413)."""

    status = 413


class UnsupportedMediaType(ThreadlineError):
    """The request has a content type or encoding we do not accept (HTTP 415)."""

    status = 415


class StoreError(ThreadlineError):
    """The store cannot be opened or used."""

    status = 503
    code = "store_unavailable"


class StoreNotFound(StoreError):
    """A command that only reads found no store where it looked (it never creates one)."""


class StoreReadOnly(StoreError):
    """The store refuses writes (a read-only file, folder or database role); the message says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the store is read-only, so nothing was written: {reason}")
        self.reason = reason


class MigrationRequired(StoreError):
    """The database schema is older than this version of threadline."""


class Overloaded(ThreadlineError):
    """The server takes no more work for now (back-pressure, HTTP 503); ``retry_after`` says in how
    many seconds to try again (the ``Retry-After`` header)."""

    status = 503

    def __init__(self, message: str, retry_after: int, reason: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        #: What is over its limit: ``writer_queue`` or ``projection_lag``.
        self.reason = reason


class ConfigError(ThreadlineError):
    """A setting or command-line option is invalid."""

    status = 400
    code = "invalid_setting"


class ArtifactError(ThreadlineError):
    """The artifact store cannot do what was asked (a bad path, id, manifest or target)."""

    status = 400


class InvalidObjectId(ArtifactError):
    """A string is not an object id of the form ``blake3:<64 hex>`` (``.dir`` for a directory)."""


class ObjectNotFound(ArtifactError, NotFound):
    """An object is not in the object store (HTTP 404)."""

    status = 404

    def __init__(self, message: str, object_id: str = "") -> None:
        super().__init__(message)
        self.object_id = object_id


class CorruptObject(ArtifactError):
    """An object's bytes no longer hash to its id; ``object_id`` and ``path`` say which and where."""

    status = 500

    def __init__(self, object_id: str, path: str, actual: str | None = None, hint: str = "") -> None:
        message = f"object {object_id} at {path} is corrupt"
        if actual is not None:
            message += f" (its bytes hash to {actual})"
        message += f"; {hint or 'remove it with `threadline artifacts check --remove` and pull it again'}"
        super().__init__(message)
        self.object_id = object_id
        self.path = path
        self.actual = actual


class TargetExists(ArtifactError):
    """A checkout target already exists and ``force`` was not given (HTTP 409)."""

    status = 409


class RemoteError(ArtifactError):
    """A remote cannot be opened or used: unknown protocol, missing driver, unreachable (HTTP 502)."""

    status = 502


class TrackingError(ThreadlineError):
    """Run tracking was used wrongly: an input that does not exist or cannot be read, a bad argument."""

    status = 400


class PipelineError(ThreadlineError):
    """A pipeline cannot run or a stage of it failed: a source that is down, a schema that changed
    upstream, a typo'd stage or table, a check of severity ``error`` that failed."""

    status = 422


class RunNotReproducible(ThreadlineError):
    """A run's inputs cannot be snapshotted or restored: changed since the run, or not stored anywhere."""

    status = 409


class SyncError(ThreadlineError):
    """A push or pull cannot go on: the remote is unknown, unreachable, refuses the key, is not a
    threadline server, or speaks another version of the sync protocol (HTTP 502 when it reaches HTTP)."""

    status = 502


class RemoteRefused(SyncError):
    """A remote answered with an error: ``remote_status`` is its HTTP status and ``remote_code`` the
    machine-readable ``code`` of its answer (empty when it gave none), for callers to branch on."""

    def __init__(
        self, message: str, remote_status: int, remote_code: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.remote_status = remote_status
        self.remote_code = remote_code
        #: The seconds its ``Retry-After`` header asked to wait (a 503 of back-pressure), if any.
        self.retry_after = retry_after
