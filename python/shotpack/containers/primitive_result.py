"""``PrimitiveResult``: the PUB results of one primitive job, with job-wide metadata."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar, overload

from shotpack.containers.pub_result import PubResult

__all__ = ["PrimitiveResult"]


T = TypeVar("T", bound=PubResult)


class PrimitiveResult(Generic[T]):
    """The pub results of one primitive job, with job-wide metadata.

    Args:
        pub_results: The pub results (any iterable; stored as a list).
        metadata: Job-wide metadata; ``None`` (or an empty dict) becomes a new empty dict.

    Example:
        >>> from shotpack import DataBin, PubResult
        >>> res = PrimitiveResult([PubResult(DataBin())], {"version": 2})
        >>> len(res), res[0].data, res.metadata
        (1, DataBin(), {'version': 2})
    """

    __slots__ = ("_metadata", "_pub_results")

    def __init__(self, pub_results: Iterable[T], metadata: dict[str, Any] | None = None) -> None:
        self._pub_results: list[T] = list(pub_results)
        self._metadata: dict[str, Any] = metadata or {}

    @property
    def metadata(self) -> dict[str, Any]:
        """Job-wide metadata."""
        return self._metadata

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self._pub_results[index]

    def __len__(self) -> int:
        return len(self._pub_results)

    def __iter__(self) -> Iterator[T]:
        return iter(self._pub_results)

    def __repr__(self) -> str:
        return f"PrimitiveResult({self._pub_results}, metadata={self._metadata})"
