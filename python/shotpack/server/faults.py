"""Fault injection for the local server: real failures at the HTTP and socket level.

A :class:`FaultPlan` decides, per incoming request, whether to misbehave and how:

* ``status``: answer with an error status (e.g. 503, 429, 502) and the JSON error body,
  optionally with a ``Retry-After`` header; the request is not processed.
* ``delay``: sleep, then serve the request normally (exercises client timeouts).
* ``drop``: close the connection without any response. With ``after=True`` the request is
  processed first (a job really is created), and only the response is lost.
* ``reset``: like ``drop``, but the socket is closed with an RST (connection reset by peer).
* ``truncate``: process the request, send the headers with the full ``Content-Length`` but only
  part of the body, then close the connection.

Rules come from a spec string (random faults, for ``shotpack serve --faults``) or from calls made
by tests (deterministic: "the next N requests to this path"). Targeted rules are consulted first,
in the order added; a request gets at most one fault.

Example:
    >>> plan = FaultPlan.parse("503:0.2,delay:0.1:0.5,drop:0.1,truncate:0.05", seed=1)
    >>> rule = plan.fail_next(2, status=503, path="/api/v1/jobs/", retry_after=0)
    >>> plan.pick("GET", "/api/v1/jobs/123").kind
    'status'
"""

from __future__ import annotations

import random
import re
import threading
from collections import deque
from dataclasses import dataclass, field

__all__ = ["Fault", "FaultPlan", "FaultRule", "truncate_path"]

_KINDS = ("status", "delay", "drop", "reset", "truncate")


def truncate_path(path: str, limit: int) -> str:
    """Shorten a request path for a log, saying how long it was.

    Args:
        path: The request path.
        limit: Characters of the path kept.

    Returns:
        ``path`` itself when short enough, else its first ``limit`` characters and a marker.

    Example:
        >>> truncate_path("/api/v1/" + "x" * 300, 12)
        '/api/v1/xxxx...[308 chars]'
    """
    if len(path) <= limit:
        return path
    return f"{path[:limit]}...[{len(path)} chars]"


@dataclass(frozen=True)
class Fault:
    """One way to misbehave.

    Args:
        kind: ``"status"``, ``"delay"``, ``"drop"``, ``"reset"`` or ``"truncate"``.
        status: HTTP status for ``"status"`` faults (400..599).
        delay: Seconds to wait for ``"delay"`` faults.
        retry_after: ``Retry-After`` header value in seconds for ``"status"`` faults, or None.
        after: For ``"drop"``/``"reset"``: process the request before dropping the response.
    """

    kind: str
    status: int = 503
    delay: float = 0.0
    retry_after: float | None = None
    after: bool = False

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {_KINDS}")
        if self.kind == "status" and not 400 <= self.status <= 599:
            raise ValueError(f"fault status must be in 400..599, got {self.status}")
        if self.delay < 0:
            raise ValueError(f"fault delay must be >= 0, got {self.delay}")


@dataclass
class FaultRule:
    """A fault applied to matching requests.

    Args:
        fault: What to do.
        times: How many more requests get the fault; None for unlimited.
        probability: Chance that a matching request gets the fault.
        path: Regular expression searched in the request path (without query); None matches all.
        method: HTTP method to match (e.g. ``"POST"``); None matches all.
    """

    fault: Fault
    times: int | None = None
    probability: float = 1.0
    path: str | None = None
    method: str | None = None
    hits: int = field(default=0, init=False)

    def matches(self, method: str, path: str) -> bool:
        """Whether a request is targeted by this rule (ignoring probability and count)."""
        if self.times is not None and self.times <= 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None


class FaultPlan:
    """A thread-safe set of fault rules with a seeded random source.

    Args:
        seed: Seed for the random choices of probabilistic rules.

    Example:
        >>> plan = FaultPlan()
        >>> _ = plan.drop_next(1, path="/circuit$", method="POST", after=True)
        >>> plan.pick("POST", "/api/v1/jobs/sim/circuit").after
        True
        >>> plan.pick("POST", "/api/v1/jobs/sim/circuit") is None
        True
    """

    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: deque[tuple[str, str, Fault]] = deque(maxlen=10_000)
        """The most recent faults injected, as ``(method, path, fault)`` (see :meth:`limit_log`)."""
        self._max_path_chars = 256

    def limit_log(self, max_records: int, max_path_chars: int) -> None:
        """Bound :attr:`injected` to the last ``max_records`` faults, paths to ``max_path_chars``.

        Args:
            max_records: Records kept (older ones are dropped).
            max_path_chars: Longer paths are truncated (see :func:`truncate_path`).
        """
        with self._lock:
            self.injected = deque(self.injected, maxlen=max_records)
            self._max_path_chars = max_path_chars

    @classmethod
    def parse(cls, spec: str, seed: int | None = None) -> FaultPlan:
        """Build a plan of random faults from a spec string.

        The spec is a comma-separated list of ``KIND:PROBABILITY[:ARG]`` items, where KIND is an
        HTTP status code (ARG: ``Retry-After`` seconds), ``delay`` (ARG: seconds, default 1),
        ``drop``, ``reset``, or ``truncate``. Every item applies to every request.

        Args:
            spec: E.g. ``"503:0.2,delay:0.1:0.5,drop:0.1,truncate:0.05"``.
            seed: Seed for the random choices.

        Returns:
            The plan.

        Raises:
            ValueError: A malformed item, with the item quoted.
        """
        plan = cls(seed)
        for item in filter(None, (part.strip() for part in spec.split(","))):
            fields = item.split(":")
            try:
                if len(fields) not in (2, 3):
                    raise ValueError("expected KIND:PROBABILITY[:ARG]")
                kind, probability = fields[0], float(fields[1])
                arg = float(fields[2]) if len(fields) == 3 else None
                if not 0.0 <= probability <= 1.0:
                    raise ValueError("probability must be in [0, 1]")
                if kind.isdigit():
                    fault = Fault("status", status=int(kind), retry_after=arg)
                elif kind == "delay":
                    fault = Fault("delay", delay=1.0 if arg is None else arg)
                elif arg is not None:
                    raise ValueError(f"{kind} takes no argument")
                else:
                    fault = Fault(kind)
            except ValueError as exc:
                raise ValueError(f"bad fault spec item {item!r}: {exc}") from None
            plan.add(fault, probability=probability)
        return plan

    def add(
        self,
        fault: Fault,
        *,
        times: int | None = None,
        probability: float = 1.0,
        path: str | None = None,
        method: str | None = None,
    ) -> FaultRule:
        """Add a rule (see :class:`FaultRule` for the arguments) and return it."""
        rule = FaultRule(fault, times, probability, path, method)
        with self._lock:
            self._rules.append(rule)
        return rule

    def fail_next(
        self,
        n: int,
        *,
        status: int = 503,
        path: str | None = None,
        method: str | None = None,
        retry_after: float | None = None,
    ) -> FaultRule:
        """Answer the next ``n`` matching requests with ``status`` and a JSON error body."""
        return self.add(
            Fault("status", status=status, retry_after=retry_after),
            times=n,
            path=path,
            method=method,
        )

    def drop_next(
        self, n: int, *, path: str | None = None, method: str | None = None, after: bool = False
    ) -> FaultRule:
        """Close the connection without a response for the next ``n`` matching requests."""
        return self.add(Fault("drop", after=after), times=n, path=path, method=method)

    def reset_next(
        self, n: int, *, path: str | None = None, method: str | None = None, after: bool = False
    ) -> FaultRule:
        """Reset (RST) the connection for the next ``n`` matching requests."""
        return self.add(Fault("reset", after=after), times=n, path=path, method=method)

    def truncate_next(
        self, n: int, *, path: str | None = None, method: str | None = None
    ) -> FaultRule:
        """Send only part of the response body for the next ``n`` matching requests."""
        return self.add(Fault("truncate"), times=n, path=path, method=method)

    def delay_next(
        self, n: int, seconds: float, *, path: str | None = None, method: str | None = None
    ) -> FaultRule:
        """Delay the next ``n`` matching requests by ``seconds``."""
        return self.add(Fault("delay", delay=seconds), times=n, path=path, method=method)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def pick(self, method: str, path: str) -> Fault | None:
        """Choose the fault for one request, consuming one use of a counted rule.

        Args:
            method: HTTP method.
            path: Request path without the query string.

        Returns:
            The fault to inject, or None to serve the request normally.
        """
        with self._lock:
            for rule in sorted(self._rules, key=lambda r: r.times is None):
                if not rule.matches(method, path):
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                rule.hits += 1
                self.injected.append(
                    (method, truncate_path(path, self._max_path_chars), rule.fault)
                )
                return rule.fault
        return None
