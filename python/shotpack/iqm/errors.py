"""Exceptions of the IQM client, the jobs and the local server, under one base: ShotpackError.

HTTP status codes map to classes as iqm-client maps them (:func:`error_for_status`); each
exception carries the server's message (``.message``), its ``error_code`` when the server sent
one, and the HTTP ``status_code``. Exception text never contains a token or request headers.

Example:
    >>> try:
    ...     raise error_for_status(404, "Job not found")
    ... except NotFoundError as e:
    ...     print(e.status_code, e.message)
    404 Job not found
"""

from __future__ import annotations

# The base class lives in shotpack.errors; this name stays importable from here too.
from shotpack.errors import ShotpackError as ShotpackError

IQMError = ShotpackError
"""iqm-client's base class name (``exa.common.errors.iqm_error.IQMError``): catching it catches
every shotpack error, as catching ``IQMError`` catches every iqm-client one."""

# --- configuration and authentication (client side) ------------------------------------------


class ClientConfigurationError(ShotpackError, ValueError):
    """The client was configured wrongly (URL, quantum computer, auth parameters)."""


class ClientAuthenticationError(ShotpackError):
    """The client could not obtain a usable token (tokens file unreadable, expired, invalid)."""


# --- HTTP errors (server side), by status code -----------------------------------------------


class InvalidOperationError(ShotpackError):
    """400: the request was not valid for this operation."""

    status_code = 400


class AuthenticationError(ShotpackError):
    """401: the server did not accept the credentials."""

    status_code = 401


class ForbiddenError(ShotpackError):
    """403: the credentials do not allow this operation."""

    status_code = 403


class NotFoundError(ShotpackError):
    """404: the resource (job, calibration set, quantum computer) does not exist."""

    status_code = 404


class ConflictError(ShotpackError):
    """409: the operation conflicts with the resource's state (e.g. cancelling a finished job)."""

    status_code = 409


class DataSizeError(ShotpackError):
    """413: the request body is too large."""

    status_code = 413


class ValidationError(ShotpackError, ValueError):
    """422: the server rejected the request's content."""

    status_code = 422


class RateLimitError(ShotpackError):
    """429: too many requests; retry later."""

    status_code = 429


class InternalSystemError(ShotpackError):
    """500 (and any unmapped status): the server failed."""

    status_code = 500


class BadGatewayError(ShotpackError):
    """502: a proxy in front of the server failed."""

    status_code = 502


class SystemUnavailableError(ShotpackError):
    """503: the server is temporarily unavailable."""

    status_code = 503


class OperationTimeoutError(ShotpackError, TimeoutError):
    """504, a client-side request timeout, or a job that did not finish in time."""

    status_code = 504


class ConnectionFailedError(ShotpackError, ConnectionError):
    """The server could not be reached (after the retries allowed)."""


# --- circuits and jobs -----------------------------------------------------------------------


class CircuitValidationError(ValidationError):
    """A circuit failed client-side (or server-side) validation."""


class CircuitExecutionError(InternalSystemError):
    """A job finished without the data it should have produced."""


class RegisterMismatchError(CircuitExecutionError, ValueError):
    """A job's measured registers disagree with the registers its circuit declares (a width, or a
    register the circuit does not have). Also a ``ValueError``, which the primitives raised for
    it before the one register check served both."""


class JobFailedError(CircuitExecutionError):
    """The job failed on the server; ``message`` carries the server's error text."""


class JobCancelledError(ShotpackError):
    """The job was cancelled before it produced results."""


# --- iqm-client's specialised names --------------------------------------------------------------
# iqm-client 36 defines these for failures its server reports; a server error reaches the client
# as its HTTP-status class (above), so shotpack raises these only where stated.


class CircuitTranspilationError(ValidationError):
    """A circuit cannot be transpiled for the target (unsupported gates, loci or moves)."""


class EmptyComponentListError(ValidationError, ValueError):
    """An empty list was given where components (qubits) are required."""


class UnknownObservationError(ValidationError):
    """An observation (calibration or quality-metric) name is well-formed but unknown."""


class UnknownSettingError(NotFoundError, AttributeError):
    """A setting was not found."""


class EngineInitialisationError(SystemUnavailableError):
    """The server's execution engine is not initialised."""


# iqm-client 36's transport-named aliases of the classes above (kept there for older code).
BadRequestError = InvalidOperationError
UnauthorizedError = AuthenticationError
PayloadTooLargeError = DataSizeError
TooManyRequestsError = RateLimitError
InternalServerError = InternalSystemError
ServiceUnavailableError = SystemUnavailableError
GatewayTimeoutError = OperationTimeoutError


_BY_STATUS: dict[int, type[ShotpackError]] = {
    cls.status_code: cls
    for cls in (
        InvalidOperationError,
        AuthenticationError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        DataSizeError,
        ValidationError,
        RateLimitError,
        InternalSystemError,
        BadGatewayError,
        SystemUnavailableError,
        OperationTimeoutError,
    )
}


def error_class_for_status(status_code: int) -> type[ShotpackError]:
    """The exception class for an HTTP status code (``InternalSystemError`` if unmapped)."""
    return _BY_STATUS.get(status_code, InternalSystemError)


def error_for_status(
    status_code: int, message: str, *, error_code: str | None = None
) -> ShotpackError:
    """Builds the exception for an HTTP error response.

    Args:
        status_code: the response's status code (4xx or 5xx).
        message: the server's message.
        error_code: the server's error code, if any.

    Returns:
        An instance of the mapped class, with ``status_code`` set to the actual code.
    """
    cls = error_class_for_status(status_code)
    return cls(message, error_code=error_code, status_code=status_code)
