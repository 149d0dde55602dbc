"""The base of every shotpack error: :class:`ShotpackError`.

The client's HTTP-status family, the job errors and the local server's errors
(:mod:`shotpack.iqm.errors`) all derive from it, so ``except shotpack.ShotpackError`` catches
anything shotpack raises on purpose besides the built-in ``TypeError`` / ``ValueError`` of bad
arguments.

Example:
    >>> try:
    ...     raise ShotpackError("job 7 vanished", error_code="gone", status_code=404)
    ... except ShotpackError as e:
    ...     print(e, e.error_code, e.status_code)
    job 7 vanished gone 404
"""

from __future__ import annotations

__all__ = ["ShotpackError"]


class ShotpackError(Exception):
    """Base of every error raised by shotpack's client, jobs and server.

    Args:
        message: human-readable description (the server's message for HTTP errors).
        error_code: the server's machine-readable error code, when it sent one.
        status_code: the HTTP status code, for errors that come from a response.
    """

    status_code: int | None = None

    def __init__(
        self, message: str = "", *, error_code: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        if status_code is not None:
            self.status_code = status_code

    def __str__(self) -> str:
        return self.message
