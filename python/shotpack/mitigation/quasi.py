"""Quasi-probability distributions returned by readout mitigation."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shotpack import _native

__all__ = ["QuasiDistribution"]


@dataclass(frozen=True)
class _Problem:
    """What the lazy overhead estimate needs: the reduced system of the mitigation."""

    rows: NDArray[np.uint8]
    p01: NDArray[np.float64]
    p10: NDArray[np.float64]
    distance: int | None
    tol: float
    max_iter: int


class QuasiDistribution(Mapping[str, float]):
    """Mitigated quasi-probabilities of the observed outcomes (they sum to 1, some may be < 0).

    Keys are bitstrings as in Qiskit's counts (bit 0 rightmost). Made by
    :meth:`shotpack.mitigation.ReadoutCalibration.apply`.

    Attributes:
        shots: Shots behind the distribution.
        num_bits: Bits per outcome.
        iterations: GMRES iterations the solve took.
    """

    def __init__(
        self,
        keys: list[str],
        values: NDArray[np.float64],
        rows: NDArray[np.uint8],
        *,
        shots: int,
        num_bits: int,
        iterations: int = 0,
        problem: _Problem | None = None,
        overhead: float | None = None,
    ) -> None:
        self._keys = keys
        self._values = np.asarray(values, dtype=np.float64)
        self._rows = rows
        self._index: dict[str, int] | None = None
        self.shots = shots
        self.num_bits = num_bits
        self.iterations = iterations
        self._problem = problem
        self._overhead = overhead

    def _lookup(self) -> dict[str, int]:
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self._keys)}
        return self._index

    def __getitem__(self, key: str) -> float:
        return float(self._values[self._lookup()[key]])

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        head = dict(list(zip(self._keys, self._values.tolist(), strict=True))[:4])
        more = ", ..." if len(self) > 4 else ""
        return f"QuasiDistribution({head}{more}, shots={self.shots})"

    @property
    def values_array(self) -> NDArray[np.float64]:
        """The quasi-probabilities as an array, in key order (a read-only view)."""
        out = self._values.view()
        out.flags.writeable = False
        return out

    @property
    def mitigation_overhead(self) -> float:
        """Sampling overhead of the mitigation: ``||A^-1||_1 ** 2`` of the reduced assignment
        matrix (estimated by Hager's method; 1 without mitigation). Shots needed for a given
        precision grow by this factor. Computed on first access (a few extra solves)."""
        if self._overhead is None:
            p = self._problem
            if p is None:
                self._overhead = 1.0
            else:
                gamma = _native.readout_inverse_norm(
                    p.rows, self.num_bits, p.p01, p.p10, p.distance, p.tol, p.max_iter
                )
                self._overhead = float(gamma) ** 2
        return self._overhead

    def nearest_probability_distribution(self) -> QuasiDistribution:
        """The closest probability distribution in the 2-norm (Smolin, Gambetta and Smith):
        negative mass is spread evenly over the larger outcomes, and outcomes that would stay
        negative become 0.

        Returns:
            A distribution with the same keys, non-negative values summing to 1, the same
            shots and overhead.
        """
        values = self._values
        n = len(values)
        order = np.argsort(values, kind="stable")
        sorted_values = values[order]
        # Outcomes are zeroed from the smallest up while the mass removed so far, shared over
        # the remaining ones, does not lift the next one above 0.
        removed = np.concatenate(([0.0], np.cumsum(sorted_values)[:-1]))
        remaining = n - np.arange(n)
        negative = sorted_values + removed / remaining < 0
        cut = int(np.argmin(negative)) if not negative.all() else n
        out = np.zeros(n)
        if cut < n:
            out[order[cut:]] = sorted_values[cut:] + removed[cut] / (n - cut)
        return QuasiDistribution(
            self._keys,
            out,
            self._rows,
            shots=self.shots,
            num_bits=self.num_bits,
            iterations=self.iterations,
            problem=self._problem,
            overhead=self._overhead,
        )

    def expectation_value(self, label: str | None = None) -> tuple[float, float]:
        """Expectation value of a diagonal operator, with its standard error.

        Args:
            label: One character per bit, leftmost for the highest bit as in the keys: ``Z``
                (or ``1``-valued sign), ``I``, ``0`` (projector on 0) or ``1`` (projector on
                1). Default all ``Z``.

        Returns:
            ``(value, standard_error)``; the error is ``sqrt(overhead / shots)`` (the bound M3
            uses for operators with eigenvalues in [-1, 1]).

        Raises:
            ValueError: A label of the wrong length or with another character.

        Example:
            >>> from shotpack.mitigation import ReadoutCalibration
            >>> cal = ReadoutCalibration.from_errors(["QB1"], p01=[0.1], p10=[0.1])
            >>> value, err = cal.apply({"0": 900, "1": 100}).expectation_value("Z")
            >>> round(value, 12)
            1.0
        """
        label = "Z" * self.num_bits if label is None else label.upper()
        if len(label) != self.num_bits or set(label) - set("IZ01"):
            raise ValueError(
                f"label {label!r} must have {self.num_bits} characters from I, Z, 0, 1"
            )
        if not len(self):
            raise ValueError("the distribution is empty")
        bits = _native.unpack_to_bool(self._rows, self.num_bits, True)
        factor = np.ones(len(self))
        for j, char in enumerate(reversed(label)):
            if char == "Z":
                factor *= 1.0 - 2.0 * bits[:, j]
            elif char == "0":
                factor *= ~bits[:, j]
            elif char == "1":
                factor *= bits[:, j]
        value = float(np.dot(factor, self._values))
        return value, math.sqrt(self.mitigation_overhead / max(self.shots, 1))
