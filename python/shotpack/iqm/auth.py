"""Authentication: where the bearer token comes from, and the rules for combining sources.

Sources, combined by iqm-client 36's rules: a ``token`` argument or ``IQM_TOKEN`` (sent
verbatim), or a ``tokens_file`` argument or ``IQM_TOKENS_FILE`` (a JSON object whose
``access_token`` is read, and re-read when the cached token has 60 s or less left, so an
external tool can refresh it).
Arguments and environment variables must not be mixed, and at most one source may be given.
Empty strings count as not given. With no source, requests carry no ``Authorization`` header.

The token never appears in a repr, a log record or an exception message.

Example:
    >>> tm = TokenManager(token="secret")
    >>> tm.auth_header()
    'Bearer secret'
    >>> repr(tm)
    'TokenManager(source=token)'
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
import time
from typing import Any

from shotpack.iqm.errors import ClientAuthenticationError, ClientConfigurationError

REFRESH_MARGIN_SECONDS = 60.0
"""A tokens-file token with this many seconds or fewer left is re-read from the file."""


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim (POSIX seconds) of a JWT, or ``None`` if ``token`` is not a JWT with one.

    The signature is not checked: the server does that; the client only needs to know when to
    re-read the file.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        return float(exp)
    return None


class _TokensFile:
    """Reads ``access_token`` from a JSON file, caching it until it is about to expire."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._token: str | None = None
        self._expiry = 0.0
        self._lock = threading.Lock()

    def _read(self) -> tuple[str, float]:
        try:
            with open(self.path, encoding="utf-8") as f:
                data: Any = json.load(f)
            token = data["access_token"]
            if not isinstance(token, str):
                raise TypeError("access_token is not a string")
        except (OSError, ValueError, KeyError, TypeError) as e:
            # The exception text names the file and the problem, never file contents.
            raise ClientAuthenticationError(
                f"Failed to read access token from file {self.path!r}: {type(e).__name__}"
                + (f": {e.strerror}" if isinstance(e, OSError) and e.strerror else "")
            ) from None
        expiry = jwt_expiry(token)
        if expiry is None or expiry - time.time() <= 0:
            raise ClientAuthenticationError(
                f"Access token in file {self.path!r} has expired or is not valid"
            )
        return token, expiry

    def get(self) -> str:
        with self._lock:
            if self._token is None or self._expiry - time.time() <= REFRESH_MARGIN_SECONDS:
                self._token, self._expiry = self._read()
            return self._token


class TokenManager:
    """Resolves the auth source and builds the ``Authorization`` header value per request.

    Args:
        token: a long-lived token, sent verbatim as ``Bearer <token>``.
        tokens_file: path of a JSON tokens file (``{"access_token": ...}``).
        use_env_vars: also consider ``IQM_TOKEN`` / ``IQM_TOKENS_FILE``.

    Raises:
        ClientConfigurationError: arguments and environment variables both given, or more than
            one source given.
    """

    def __init__(
        self, token: str | None = None, tokens_file: str | None = None, *, use_env_vars: bool = True
    ) -> None:
        args = {k: v for k, v in (("token", token), ("tokens_file", tokens_file)) if v}
        env: dict[str, str] = {}
        if use_env_vars:
            env = {
                k: v
                for k, v in (
                    ("IQM_TOKEN", os.environ.get("IQM_TOKEN")),
                    ("IQM_TOKENS_FILE", os.environ.get("IQM_TOKENS_FILE")),
                )
                if v
            }
        if args and env:
            raise ClientConfigurationError(
                "Authentication parameters given both as initialisation arguments "
                f"({', '.join(sorted(args))}) and as environment variables "
                f"({', '.join(sorted(env))}). Parameter sources must not be mixed."
            )
        given = args or env
        if len(given) > 1:
            raise ClientConfigurationError(
                f"No more than one authentication parameter may be given, received {sorted(given)}"
            )
        self._static: str | None = None
        self._file: _TokensFile | None = None
        self.source: str | None = None
        for name, value in given.items():
            self.source = name
            if name in ("token", "IQM_TOKEN"):
                self._static = value
            else:
                self._file = _TokensFile(value)

    @property
    def enabled(self) -> bool:
        """Whether requests carry an ``Authorization`` header."""
        return self.source is not None

    def token(self) -> str | None:
        """The current token (re-reading the tokens file when needed), or ``None``.

        Raises:
            ClientAuthenticationError: the tokens file cannot be read or its token is expired.
        """
        if self._static is not None:
            return self._static
        if self._file is not None:
            return self._file.get()
        return None

    def auth_header(self) -> str | None:
        """``"Bearer <token>"``, or ``None`` when no auth is configured."""
        tok = self.token()
        return None if tok is None else f"Bearer {tok}"

    def secrets(self) -> list[str]:
        """Strings that must never be shown (used to scrub server messages)."""
        out = []
        if self._static:
            out.append(self._static)
        if self._file is not None and self._file._token:
            out.append(self._file._token)
        return out

    def __repr__(self) -> str:
        return f"TokenManager(source={self.source or 'none'})"
