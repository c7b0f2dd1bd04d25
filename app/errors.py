"""API errors and the one place they become the error envelope.

Every error a client sees is `{"success": false, "error": {"code", "message", "details"?}}`:
ours, Falcon's own (unknown route, wrong method, malformed body), the data layer's, and bugs.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import falcon
import peewee
from playhouse.pool import MaxConnectionsExceeded

from models.definitions import DefinitionExists
from models.errors import IllegalTransition, InvalidFields, RunConflict
from models.keys import SlugTaken
from models.operations import NotAllowed
from models.schedules import ScheduleConflict
from models.webhooks import TooManyWebhooks

logger = logging.getLogger(__name__)

#: The error code of each HTTP status the API answers with (SPEC section 1).
CODES: dict[int, str] = {
    400: "VALIDATION_ERROR",
    401: "AUTH_ERROR",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMIT_ERROR",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}

#: Messages for Falcon's own errors that come without a description.
_DEFAULT_MESSAGES: dict[int, str] = {
    401: "authentication is required",
    404: "no such resource",
    405: "this method is not allowed on this resource",
    413: "the request body is too large",
    415: "the request body must be JSON",
    500: "an internal error occurred",
    503: "the service is unavailable",
}


class ApiError(falcon.HTTPError):
    """An error the API answers on purpose; subclasses fix the status (and so the code)."""

    http_status: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(self.http_status, description=message, headers=headers)
        self.details = details


class ValidationError(ApiError):
    """400: bad body, bad query parameter. `fields` lists each bad field with its reason."""

    http_status = 400

    def __init__(self, message: str, fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message, {"fields": fields} if fields else None)


class AuthError(ApiError):
    http_status = 401


class NotFound(ApiError):
    http_status = 404


class Conflict(ApiError):
    http_status = 409


class PayloadTooLarge(ApiError):
    http_status = 413


class UnsupportedMediaType(ApiError):
    http_status = 415


class RateLimited(ApiError):
    """429: the workspace is over its request rate; `Retry-After` says when to come back."""

    http_status = 429

    def __init__(self, per_s: int, retry_after: int) -> None:
        super().__init__(
            f"this workspace is over its rate limit of {per_s} requests per second;"
            f" try again in {retry_after} s",
            {"rateLimitPerS": per_s, "retryAfter": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


class InternalError(ApiError):
    http_status = 500


class ServiceUnavailable(ApiError):
    http_status = 503


def envelope(req: falcon.Request, error: falcon.HTTPError) -> dict[str, Any]:
    """The error envelope for any `HTTPError`, ours or Falcon's."""
    status = error.status_code
    code = CODES.get(status) or ("INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR")
    if isinstance(error, falcon.HTTPRouteNotFound):
        message = f"no route matches {req.method} {req.path}"
    elif isinstance(error, falcon.HTTPMethodNotAllowed):
        message = f"method {req.method} is not allowed on {req.path}"
    else:
        message = error.description or _DEFAULT_MESSAGES.get(status) or error.title
    body: dict[str, Any] = {"code": code, "message": message}
    details = getattr(error, "details", None)
    if details:
        body["details"] = details
    return {"success": False, "error": body}


def serialize_error(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    """Falcon's error serializer: always the JSON envelope, whatever the client accepts."""
    resp.content_type = falcon.MEDIA_JSON
    resp.media = envelope(req, error)


def _database_unavailable(req: falcon.Request, resp: falcon.Response, ex: Exception, params):
    logger.warning("database unavailable on %s %s: %s", req.method, req.path, ex)
    raise ServiceUnavailable("the database is unavailable; try again shortly") from ex


def _conflict(req: falcon.Request, resp: falcon.Response, ex: Exception, params):
    raise Conflict(str(ex)) from ex


def _invalid_fields(req: falcon.Request, resp: falcon.Response, ex: Exception, params):
    raise ValidationError(str(ex), ex.fields) from ex


def _unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, params):
    logger.exception("unhandled error on %s %s", req.method, req.path)
    raise InternalError("an internal error occurred") from ex


def register_error_handlers(app: falcon.App) -> None:
    """Map every exception the API lets through to its envelope, once, here."""
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(
        (peewee.OperationalError, peewee.InterfaceError, MaxConnectionsExceeded),
        _database_unavailable,
    )
    app.add_error_handler(
        (
            RunConflict,
            IllegalTransition,
            NotAllowed,
            SlugTaken,
            TooManyWebhooks,
            DefinitionExists,
            ScheduleConflict,
        ),
        _conflict,
    )
    app.add_error_handler(InvalidFields, _invalid_fields)
    app.set_error_serializer(serialize_error)
