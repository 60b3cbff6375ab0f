"""ArangoDB-style errors: every HTTP error answer is ``{error, errorNum, errorMessage, code}``."""

from __future__ import annotations

from typing import Any

# errorNums as ArangoDB numbers them (lib/Basics/voc-errors.h).
ERROR_INTERNAL = 4
ERROR_BAD_PARAMETER = 10
ERROR_FORBIDDEN = 11
ERROR_HTTP_BAD_PARAMETER = 400
ERROR_HTTP_UNAUTHORIZED = 401
ERROR_HTTP_FORBIDDEN = 403
ERROR_HTTP_NOT_FOUND = 404
ERROR_HTTP_METHOD_NOT_ALLOWED = 405
ERROR_HTTP_PRECONDITION_FAILED = 412
ERROR_HTTP_REQUEST_TOO_LARGE = 413
ERROR_HTTP_SERVER_ERROR = 500
ERROR_HTTP_SERVICE_UNAVAILABLE = 503
ERROR_HTTP_GATEWAY_TIMEOUT = 504
ERROR_HTTP_CORRUPTED_JSON = 600
ERROR_ARANGO_CONFLICT = 1200
ERROR_ARANGO_DOCUMENT_NOT_FOUND = 1202
ERROR_ARANGO_DATA_SOURCE_NOT_FOUND = 1203
ERROR_ARANGO_DUPLICATE_NAME = 1207
ERROR_ARANGO_ILLEGAL_NAME = 1208
ERROR_ARANGO_UNIQUE_CONSTRAINT_VIOLATED = 1210
ERROR_ARANGO_DOCUMENT_KEY_BAD = 1221
ERROR_ARANGO_DOCUMENT_TYPE_INVALID = 1227
ERROR_ARANGO_DATABASE_NOT_FOUND = 1228
ERROR_ARANGO_DATABASE_NAME_INVALID = 1229
ERROR_ARANGO_USE_SYSTEM_DATABASE = 1230
ERROR_REPLICATION_INVALID_RESPONSE = 1402
ERROR_REPLICATION_WRONG_CHECKSUM = 1416
ERROR_CLUSTER_LEADERSHIP_CHALLENGE_ONGOING = 1495
ERROR_CLUSTER_NOT_LEADER = 1496
ERROR_USER_INVALID_NAME = 1700
ERROR_USER_DUPLICATE = 1702
ERROR_USER_NOT_FOUND = 1703
ERROR_AGENCY_INFORM_MUST_BE_OBJECT = 20011
ERROR_AGENCY_MALFORMED_TRANSACTION = 20030
ERROR_AGENCY_PRECONDITION_FAILED = 20031
ERROR_AGENCY_NOT_LEADER = 20032


class ArangoError(Exception):
    """An error that becomes an ArangoDB-style HTTP answer.

    ``code`` is the HTTP status, ``error_num`` ArangoDB's errorNum, and
    ``headers`` extra response headers (e.g. ``X-Arango-Endpoint``).
    """

    def __init__(
        self,
        code: int,
        error_num: int,
        message: str,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.error_num = error_num
        self.message = message
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        """The JSON body ArangoDB would send."""
        out: dict[str, Any] = {
            "error": True,
            "errorNum": self.error_num,
            "errorMessage": self.message,
            "code": self.code,
        }
        out.update(self.extra)
        return out

    def __repr__(self) -> str:
        return f"ArangoError({self.code}, {self.error_num}, {self.message!r})"


def bad_parameter(message: str) -> ArangoError:
    return ArangoError(400, ERROR_HTTP_BAD_PARAMETER, message)


def corrupted_json(message: str) -> ArangoError:
    return ArangoError(400, ERROR_HTTP_CORRUPTED_JSON, message)


def not_found(message: str = "unknown path") -> ArangoError:
    return ArangoError(404, ERROR_HTTP_NOT_FOUND, message)


def method_not_allowed(method: str) -> ArangoError:
    return ArangoError(405, ERROR_HTTP_METHOD_NOT_ALLOWED, f"method {method} not allowed")


def unauthorized(message: str = "not authorized to execute this request") -> ArangoError:
    return ArangoError(401, ERROR_HTTP_UNAUTHORIZED, message)


def too_large(limit: int) -> ArangoError:
    return ArangoError(
        413, ERROR_HTTP_REQUEST_TOO_LARGE, f"request body is larger than the limit of {limit} bytes"
    )
