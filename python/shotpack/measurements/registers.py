"""Qiskit classical registers from IQM measurement keys: the one place that groups keys into
registers and completes the registers nothing measured.

Qiskit-on-IQM writes clbit ``clbit_idx`` of register ``creg`` as the key
``<creg>_<creg_len>_<creg_idx>_<clbit_idx>`` (the register name may contain ``_``). A circuit
converted by :func:`shotpack.qiskit.to_iqm_circuit` also lists its registers in its metadata
(:data:`QISKIT_REGISTERS_KEY`), so registers that nothing measured can be added as zeros, as
Qiskit's samplers report them. Grouping runs in Rust
(:func:`shotpack._native.assemble_registers`); nothing here loops over shots.

Example:
    >>> [bits] = register_bins(b'[{"c_2_0_1": [[1], [0]], "c_2_0_0": [[0], [0]]}]')
    >>> bits.c.get_bitstrings()
    ['10', '00']
    >>> [(name, ba.num_bits) for name, ba in complete_registers(bits, [["c", 2], ["d", 3]], 2, "")]
    [('c', 2), ('d', 3)]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shotpack import _native
from shotpack.containers.bit_array import BitArray
from shotpack.containers.data_bin import DataBin
from shotpack.iqm.errors import RegisterMismatchError
from shotpack.measurements.parse import data_bin_from_fields, parse_measurements

__all__ = [
    "QISKIT_REGISTERS_KEY",
    "MeasurementKey",
    "complete_registers",
    "group_registers",
    "is_qiskit_keyed",
    "register_bins",
]

QISKIT_REGISTERS_KEY = "shotpack.qiskit_registers"
"""Circuit metadata key listing the Qiskit classical registers as ``[[name, size], ...]``."""

# The Rust extension has the same grammar (rust/core registers); it exposes no key parser, so
# Python keeps this one for MeasurementKey and the all-keys check below.
_KEY_RE = re.compile(r"^(.*)_(\d+)_(\d+)_(\d+)$")


@dataclass(frozen=True)
class MeasurementKey:
    """A Qiskit-on-IQM measurement key: clbit ``clbit_idx`` of register ``creg_name``.

    Example:
        >>> MeasurementKey.from_string("my_reg_2_1_0")
        MeasurementKey(creg_name='my_reg', creg_len=2, creg_idx=1, clbit_idx=0)
        >>> str(MeasurementKey("c", 3, 0, 2))
        'c_3_0_2'
    """

    creg_name: str
    creg_len: int
    creg_idx: int
    clbit_idx: int

    def __str__(self) -> str:
        return f"{self.creg_name}_{self.creg_len}_{self.creg_idx}_{self.clbit_idx}"

    @classmethod
    def parse(cls, key: str) -> MeasurementKey | None:
        """The key's fields, or ``None`` when it does not have the Qiskit-on-IQM form."""
        m = _KEY_RE.match(key)
        if m is None:
            return None
        return cls(m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)))

    @classmethod
    def from_string(cls, key: str) -> MeasurementKey:
        """Parses a key.

        Raises:
            ValueError: the key is not ``<creg>_<len>_<idx>_<bit>``.
        """
        out = cls.parse(key)
        if out is None:
            raise ValueError(f"measurement key {key!r} is not of the form <creg>_<len>_<idx>_<bit>")
        return out


def is_qiskit_keyed(keys: Sequence[str]) -> bool:
    """Whether every key has the Qiskit-on-IQM form (and there is at least one).

    Example:
        >>> is_qiskit_keyed(["c_2_0_0", "c_2_0_1"]), is_qiskit_keyed(["c_2_0_0", "m"])
        (True, False)
    """
    return bool(keys) and all(_KEY_RE.match(k) for k in keys)


def group_registers(bits: DataBin, where: str = "") -> DataBin:
    """One BitArray per classical register from one BitArray per Qiskit-on-IQM key.

    Args:
        bits: one circuit's per-key bits (from ``parse_measurements(..., registers=False)``).
        where: prefix for error messages.

    Returns:
        A ``DataBin`` with one BitArray per register, in register order; clbits no key measured
        are 0.

    Raises:
        ValueError: a key is not a Qiskit-on-IQM key, measures more than one qubit, or
            disagrees with another key of its register.
    """
    keys = list(bits.keys())
    try:
        fields = _native.assemble_registers(
            keys, [bits[k].array for k in keys], [bits[k].num_bits for k in keys]
        )
    except ValueError as exc:
        raise ValueError(f"{where}{exc}") from None
    return data_bin_from_fields(fields, where)


def register_bins(body: bytes | bytearray | memoryview | str) -> list[DataBin]:
    """One ``DataBin`` per circuit of a measurements body: a BitArray per classical register for
    circuits whose keys are all Qiskit-on-IQM keys, a BitArray per key for the others.

    The body is parsed once (in Rust); the Qiskit-keyed circuits are then grouped in Rust too.

    Raises:
        TypeError, ValueError: as :func:`~shotpack.measurements.parse.parse_measurements`, or a
            Qiskit-keyed circuit whose keys disagree (see :func:`group_registers`).
    """
    bins = parse_measurements(body, registers=False)
    return [
        group_registers(bits, f"circuit {i}: ") if is_qiskit_keyed(list(bits.keys())) else bits
        for i, bits in enumerate(bins)
    ]


def _zeros(shots: int, num_bits: int) -> BitArray:
    return BitArray(np.zeros((shots, (num_bits + 7) // 8), dtype=np.uint8), num_bits)


def complete_registers(
    bits: DataBin, declared: Sequence[Sequence[Any]] | None, shots: int, where: str
) -> list[tuple[str, BitArray]]:
    """The circuit's registers in declared order, adding declared but unmeasured ones as zeros.

    Args:
        bits: one BitArray per register (from :func:`group_registers` or
            ``parse_measurements(..., registers=True)``) or per key.
        declared: ``[[name, size], ...]`` from the circuit metadata (:data:`QISKIT_REGISTERS_KEY`),
            or ``None`` (then ``bits`` is returned as it is).
        shots: shot count, for zero-filled registers when nothing was measured at all.
        where: prefix for error messages.

    Returns:
        ``(name, BitArray)`` per register.

    Raises:
        RegisterMismatchError: a measured register has another width than declared, or is not
            declared (a :class:`~shotpack.iqm.errors.CircuitExecutionError` and a ``ValueError``).
    """
    measured: list[tuple[str, BitArray]] = list(bits.items())
    if not declared:
        return measured
    n = measured[0][1].num_shots if measured else shots
    by_name = dict(measured)
    out: list[tuple[str, BitArray]] = []
    for entry in declared:
        name, size = str(entry[0]), int(entry[1])
        ba = by_name.pop(name, None)
        if ba is None:
            ba = _zeros(n, size)
        elif ba.num_bits != size:
            raise RegisterMismatchError(
                f"{where}register {name!r} has {ba.num_bits} bits in the results but {size} in "
                "the circuit"
            )
        out.append((name, ba))
    if by_name:
        raise RegisterMismatchError(
            f"{where}results hold registers {sorted(by_name)} that the circuit does not declare"
        )
    return out
