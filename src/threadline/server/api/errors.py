"""One shape for every error answer, and the one function that makes it.

Every error the server answers, whatever raised it (threadline's :class:`~threadline.errors.ThreadlineError`
hierarchy, a parameter FastAPI could not validate, an unknown route, a method a route does not take,
a body over its limit, a connection the guard refuses, a bug), is a JSON object::

    {"status": 404, "code": "not_found", "message": "no dataset named ...", "error": "no dataset named ..."}

- ``status``: the HTTP status, repeated so that a body read on its own (a log, a test) says it;
- ``code``: machine-readable, stable: what a client branches on (``not_found``, ``invalid_parameter``,
  ``ambiguous_run_id``, ``payload_too_large``...), never the message's words;
- ``message``: for people: what is wrong and what to do. Marquez's clients read it under this name;
- ``error``: the same message under threadline's first key, which clients older than this shape read.

Some errors add one field: ``field`` (the JSON path of an invalid event, the parameter that failed
validation). Codes of threadline's errors are their class's ``code`` (see :mod:`threadline.errors`).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from threadline.errors import InvalidEvent, InvalidParameter, Overloaded, StoreError, ThreadlineError
from threadline.server.state import json_response

log = logging.getLogger(__name__)

#: What a 500 says: the details are in the server's log, never in the answer.
INTERNAL_MESSAGE = "internal server error; the server log has the details"

#: Codes of the HTTP statuses that Starlette itself answers (unknown route, method, ...).
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_parameter",
    429: "too_many_requests",
    431: "headers_too_large",
    500: "internal_error",
    503: "unavailable",
}


def error_body(status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON object of every error answer (see the module docstring)."""
    return {"status": status, "code": code, "message": message, "error": message, **extra}


def http_code(status: int) -> str:
    """The machine-readable code of an HTTP status answered without a threadline error."""
    return _HTTP_CODES.get(status, "client_error" if status < 500 else "server_error")


def error_answer(exc: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The status, JSON body and headers answering ``exc``: the one place errors become answers."""
    if isinstance(exc, ThreadlineError):
        extra = {}
        if isinstance(exc, InvalidEvent):
            extra["field"] = exc.field
        elif isinstance(exc, InvalidParameter):
            extra["field"] = exc.parameter
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        if isinstance(exc, Overloaded):  # back-pressure: logged when it starts and ends (server.pressure)
            headers = {"Retry-After": str(exc.retry_after)}
        elif exc.status >= 500:
            log.warning("%s: %s", type(exc).__name__, exc.message)
        return exc.status, error_body(exc.status, exc.code, exc.message, **extra), headers
    if isinstance(exc, RequestValidationError):
        return 400, _validation_body(exc), {}
    if isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        message = _http_message(exc)
        return status, error_body(status, http_code(status), message), dict(exc.headers or {})
    # Starlette raises the error again once this answer is sent, and uvicorn then drops the
    # connection: saying so (Connection: close) lets the client open a new one for its next request
    # instead of failing it on a reset.
    return 500, error_body(500, "internal_error", INTERNAL_MESSAGE), {"Connection": "close"}


def _http_message(exc: StarletteHTTPException) -> str:
    if exc.status_code == 404 and exc.detail == "Not Found":
        return "no such endpoint; /api/docs lists them"
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow") or (exc.headers or {}).get("allow")
        return f"this endpoint does not take that method{f'; it takes {allowed}' if allowed else ''}"
    return str(exc.detail)


def _validation_body(exc: RequestValidationError) -> dict[str, Any]:
    parts, fields = [], []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        named = location and location[0] in ("query", "path", "header")
        where = location[-1] if named else ".".join(location)
        fields.append(where)
        message = str(error.get("msg", "invalid"))
        value = error.get("input")
        if error.get("type") == "missing" and named:
            parts.append(f"the {location[0]} parameter {where} is required; /api/docs describes it")
            continue
        shown = isinstance(value, str | int | float)
        got = f", got {value!r}" if shown else ""
        parts.append(f"{where}: {message[:1].lower()}{message[1:]}{got}")
    code = "invalid_body" if fields and fields[0].startswith("body") else "invalid_parameter"
    message = "; ".join(parts) or "invalid request"
    return error_body(400, code, message, field=fields[0] if fields else "")


def error_response(exc: BaseException) -> Response:
    """The JSON answer to ``exc`` (see :func:`error_answer`)."""
    status, body, headers = error_answer(exc)
    return json_response(body, status=status, headers=headers or None)


async def _handle(request: Request, exc: Exception) -> Response:
    if isinstance(exc, StoreError | SQLAlchemyError):  # counted for operators (server.metrics)
        state = getattr(request.app.state, "threadline", None)
        if state is not None and state.metrics is not None:
            state.metrics.store_error("request")
    if not isinstance(exc, ThreadlineError | RequestValidationError | StarletteHTTPException):
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(exc)


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` in the one shape."""
    for kind in (ThreadlineError, StarletteHTTPException, RequestValidationError, Exception):
        app.add_exception_handler(kind, _handle)
