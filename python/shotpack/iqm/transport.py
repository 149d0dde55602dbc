"""HTTP transport of the IQM client: one session, timeouts, retries, error mapping.

- One :class:`requests.Session` per client, so connections are reused (keep-alive).
- Every request has a timeout (connect, read) and may have a deadline (monotonic seconds) that
  caps each attempt's read timeout and every wait; when all attempts time out the request raises
  :class:`~shotpack.iqm.errors.OperationTimeoutError`.
- Idempotent requests (GET, DELETE, cancel, and a submit carrying an idempotency key the server
  honours) are retried with exponential backoff and jitter on read timeouts, connection errors,
  truncated responses, and 429/502/503/504, honouring ``Retry-After``. A submit without such a
  key is retried only when it certainly did not reach the server: the connection could not be
  opened, or the server answered 429/503 (it refused the request without acting on it).
- Redirects are never followed, so the ``Authorization`` header cannot leak to another host.
- Requests to this machine (``localhost``, 127.0.0.0/8, ``::1``) never go through a proxy from
  ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``: a proxy cannot reach the caller's loopback
  anyway, and with plain http it would see the token in clear. Remote hosts get a token only
  over https, which a proxy tunnels (``CONNECT``) without seeing it.
- Non-2xx responses raise the exception class of their status code, carrying the server's
  ``message`` and ``error_code``; any token is scrubbed from that text.
- Logs (logger ``shotpack.iqm``) name the method, path and status only, never headers.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError

from shotpack.iqm.auth import TokenManager
from shotpack.iqm.errors import (
    ClientConfigurationError,
    ConnectionFailedError,
    InvalidOperationError,
    OperationTimeoutError,
    ShotpackError,
    error_for_status,
)

logger = logging.getLogger("shotpack.iqm")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
"""Statuses after which an idempotent request is retried."""

SAFE_SUBMIT_RETRY_STATUSES = frozenset({429, 503})
"""Statuses that mean the server refused a request without acting on it."""

KEYED_SUBMIT_RETRY_STATUSES = RETRY_STATUSES | {500}
"""Statuses after which a submit with an honoured idempotency key is retried: also 500, since
the server may have created the job before failing, and the key makes the retry return it."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    The defaults wait at most about 13 s (before ``Retry-After``) over 8 attempts, so a
    request fails only when 8 attempts in a row do: at a 20% fault rate, about 3 in a million.

    Attributes:
        max_attempts: total attempts per request (1 disables retries).
        backoff_base: first backoff in seconds; doubles per attempt.
        backoff_max: cap of one backoff (before jitter).
        retry_after_max: longest ``Retry-After`` honoured, in seconds.
    """

    max_attempts: int = 8
    backoff_base: float = 0.1
    backoff_max: float = 8.0
    retry_after_max: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Delay before retry ``attempt`` (0-based): exponential, jittered to 50-100%."""
        delay = min(self.backoff_max, self.backoff_base * (2.0**attempt))
        return delay * (0.5 + 0.5 * random.random())


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` names this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalize_url(url: str) -> str:
    """Checks a server URL and returns its root (scheme, host, port and path kept, no trailing
    slash).

    A non-empty last path segment is rejected, as iqm-client does, because it used to name the
    quantum computer: ``https://host/garnet`` fails, ``https://host/prefix/`` gives
    ``https://host/prefix``, and ``https://host:8443/prefix/`` keeps both port and path.

    Raises:
        ClientConfigurationError: non-ASCII URL, scheme other than http/https, credentials in the
            URL, a query or fragment, a last path segment, or an obsolete endpoint.
    """
    if not url.isascii():
        raise ClientConfigurationError("Non-ASCII characters in the IQM server URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise ClientConfigurationError(f"Invalid IQM server URL: {e}") from None
    if parts.scheme not in ("http", "https"):
        raise ClientConfigurationError(
            f"The IQM server URL must start with http:// or https://, got scheme {parts.scheme!r}"
        )
    if parts.username is not None or parts.password is not None:
        raise ClientConfigurationError(
            "Credentials in the IQM server URL are not supported; use token or tokens_file"
        )
    if not parts.hostname:
        raise ClientConfigurationError("The IQM server URL has no host")
    if parts.query or parts.fragment:
        raise ClientConfigurationError("The IQM server URL must not have a query or fragment")
    if parts.hostname.startswith("cocos."):
        raise ClientConfigurationError(
            "The Resonance CoCoS API is obsolete; use the IQM Server URL instead"
        )
    segments = parts.path.split("/")
    last = segments[-1]
    if last.endswith(":timeslot"):
        raise ClientConfigurationError(
            "The ':timeslot' URL suffix is obsolete; pass use_timeslot=True when submitting"
        )
    if last:
        raise ClientConfigurationError(
            f"The IQM server URL must not end with a path segment ({last!r}); give the quantum "
            "computer with quantum_computer=... (or end the URL with '/')"
        )
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{netloc}{path}"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _connect_failed_before_send(exc: requests.ConnectionError) -> bool:
    """Whether the connection could not even be opened (so the request was never sent)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason: Any = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError)


class Transport:
    """Sends requests to ``{root}/api/v1/{path}`` with auth, retries and error mapping.

    Args:
        root_url: server root from :func:`normalize_url`.
        tokens: the auth source.
        user_agent: the ``User-Agent`` header value.
        timeout: read timeout per request in seconds (the connect timeout is at most 10 s).
        retry: the retry policy.

    Attributes:
        sleep: called with each computed delay (seconds) before a retry; ``time.sleep`` unless
            replaced.

    Raises:
        ClientConfigurationError: auth is configured and the URL is plain http to a host other
            than this machine.
    """

    def __init__(
        self,
        root_url: str,
        tokens: TokenManager,
        *,
        user_agent: str,
        timeout: float,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.root_url = root_url
        self._tokens = tokens
        self.user_agent = user_agent
        self.timeout = float(timeout)
        self.retry = retry or RetryPolicy()
        parts = urlsplit(root_url)
        self._plain_remote = parts.scheme == "http" and not is_loopback(parts.hostname)
        if self._plain_remote and tokens.enabled:
            raise ClientConfigurationError(
                "Refusing to send an authentication token over plain http to a remote host; "
                "use an https:// URL"
            )
        self.session = requests.Session()
        self.session.headers.clear()
        self._loopback = is_loopback(parts.hostname)
        # Per-request proxy settings that switch every proxy off for a loopback server: a None
        # value overrides both the environment's and the session's entry for that key, and
        # these are all the keys requests consults for one URL (scheme and "all", with and
        # without the host).
        host = parts.hostname or ""
        self._no_proxies: dict[str, Any] | None = (
            {k: None for s in (parts.scheme, "all") for k in (s, f"{s}://{host}")}
            if self._loopback
            else None
        )
        # Waits between attempts go through this attribute, so callers (and tests) can see or
        # replace the computed delays without measuring wall-clock time.
        self.sleep: Callable[[float], None] = time.sleep

    def __repr__(self) -> str:
        return f"Transport({self.root_url!r}, auth={self._tokens.source or 'none'})"

    def close(self) -> None:
        """Closes the pooled connections."""
        self.session.close()

    def url(self, path: str) -> str:
        """Absolute URL of an API path (``jobs/...`` -> ``{root}/api/v1/jobs/...``)."""
        return f"{self.root_url}/api/v1/{path.lstrip('/')}"

    def _headers(
        self, accept: str, has_body: bool, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        # gzip shrinks per-shot JSON about tenfold on the wire; requests decompresses it.
        headers = {"User-Agent": self.user_agent, "Accept": accept, "Accept-Encoding": "gzip"}
        if has_body:
            headers["Content-Type"] = "application/json; charset=UTF-8"
        if extra:
            headers.update(extra)
        auth = self._tokens.auth_header()
        if auth is not None and not self._plain_remote:
            headers["Authorization"] = auth
        return headers

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL a request to ``url`` goes through, or ``None`` for a direct connection.

        Follows requests' own choice (session proxies, then ``*_PROXY``/``NO_PROXY`` from the
        environment), except that a loopback server is always reached directly.
        """
        if self._no_proxies is not None:
            return None
        proxies = dict(self.session.proxies)
        if self.session.trust_env:
            for key, value in requests.utils.get_environ_proxies(url).items():
                proxies.setdefault(key, value)
        return requests.utils.select_proxy(url, proxies)

    def _scrub(self, text: str) -> str:
        for secret in self._tokens.secrets():
            if secret:
                text = text.replace(secret, "***")
        return text

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        accept: str = "application/json",
        idempotent: bool | None = None,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
        deadline: float | None = None,
        retry_statuses: frozenset[int] = RETRY_STATUSES,
    ) -> requests.Response:
        """Sends one request, retrying as the policy allows, and returns a 2xx response.

        Args:
            method: HTTP method.
            path: path under ``api/v1``.
            params: query parameters; booleans become ``"true"``/``"false"``, ``None`` is dropped.
            body: JSON body bytes.
            accept: the ``Accept`` header.
            idempotent: whether repeating the request is harmless (default: by method).
            timeout: read timeout override in seconds.
            headers: extra request headers (e.g. ``Idempotency-Key``).
            deadline: ``time.monotonic()`` value after which no attempt starts and no wait
                ends; each attempt's read timeout is cut to the time left.
            retry_statuses: statuses after which an idempotent request is retried.

        Returns:
            The successful response (body fully read).

        Raises:
            ShotpackError: the mapped subclass for an HTTP error, ``OperationTimeoutError`` for a
                client-side timeout (or the deadline), ``ConnectionFailedError`` when the server
                is unreachable.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
        query = None
        if params:
            query = {
                k: ("true" if v else "false") if isinstance(v, bool) else v
                for k, v in params.items()
                if v is not None and v != {}
            }
        url = self.url(path)
        read_timeout = self.timeout if timeout is None else float(timeout)
        attempts = max(1, self.retry.max_attempts)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            attempt_timeout = read_timeout
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise OperationTimeoutError(
                        f"Deadline reached before {method} {path} could be sent"
                    )
                attempt_timeout = min(read_timeout, left)
            timeouts = (min(10.0, attempt_timeout), attempt_timeout)
            try:
                response = self.session.request(
                    method,
                    url,
                    params=query,
                    data=body,
                    headers=self._headers(accept, body is not None, headers),
                    timeout=timeouts,
                    allow_redirects=False,
                    proxies=self._no_proxies,
                )
                # Read the body inside the retry loop: a truncated body is a connection error.
                _ = response.content
            except requests.exceptions.ReadTimeout:
                # The server may still act on the request; only a repeatable one is retried.
                if last or not idempotent or self._past(deadline):
                    raise OperationTimeoutError(
                        f"Client-side timeout reached ({attempt_timeout:g}s) for {method} {path}"
                        + ("" if idempotent else " (not retried: the request may have arrived)")
                    ) from None
                self._wait(attempt, None, deadline, method, path, "read timeout")
                continue
            except (
                requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                retryable = idempotent or (
                    isinstance(exc, requests.ConnectionError) and _connect_failed_before_send(exc)
                )
                if last or not retryable or self._past(deadline):
                    if isinstance(exc, requests.exceptions.ConnectTimeout):
                        raise OperationTimeoutError(
                            f"Could not connect to {self.root_url} within {timeouts[0]:g}s "
                            f"({method} {path})"
                        ) from None
                    raise ConnectionFailedError(
                        f"{method} {path} failed: {type(exc).__name__} talking to {self.root_url}"
                        + ("" if retryable else " (not retried: the request may have arrived)")
                    ) from None
                self._wait(attempt, None, deadline, method, path, type(exc).__name__)
                continue
            status = response.status_code
            logger.debug("%s %s -> %d", method, path, status)
            if 200 <= status < 300:
                return response
            retryable = (idempotent and status in retry_statuses) or (
                status in SAFE_SUBMIT_RETRY_STATUSES
            )
            if retryable and not last and not self._past(deadline):
                self._wait(attempt, _retry_after(response), deadline, method, path, str(status))
                continue
            raise self._error(response, method, path)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _past(deadline: float | None) -> bool:
        return deadline is not None and time.monotonic() >= deadline

    def _wait(
        self,
        attempt: int,
        retry_after: float | None,
        deadline: float | None,
        method: str,
        path: str,
        why: str,
    ) -> None:
        """Sleeps the backoff before the next attempt (at least ``Retry-After``, never past the
        deadline)."""
        delay = self.retry.backoff(attempt)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry.retry_after_max))
        if deadline is not None:
            delay = max(0.0, min(delay, deadline - time.monotonic()))
        logger.debug("%s %s: %s; retry in %.2fs", method, path, why, delay)
        self.sleep(delay)

    def _error(self, response: requests.Response, method: str, path: str) -> ShotpackError:
        status = response.status_code
        if 300 <= status < 400:
            return InvalidOperationError(
                f"The server requested a redirect ({status}) during {method} {path}; redirects "
                "are not followed. Check the server URL.",
                status_code=status,
            )
        message: str | None = None
        code: str | None = None
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        if isinstance(data, dict):
            raw = data.get("message", data.get("detail"))
            if raw is not None:
                message = raw if isinstance(raw, str) else json.dumps(raw)
            ec = data.get("error_code")
            code = ec if isinstance(ec, str) else None
        if message is None:
            message = response.text.strip() or (response.reason or f"HTTP {status}")
        if len(message) > 2000:
            message = message[:2000] + "..."
        return error_for_status(status, self._scrub(message), error_code=code)
