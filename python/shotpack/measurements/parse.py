"""IQM per-shot measurements to ``DataBin`` objects of packed ``BitArray`` objects.

IQM returns, per circuit, ``{key: [[bit, ...] per shot]}``, where column ``j`` of a key is the
``j``-th qubit of that measurement's locus. :func:`measurements_to_data_bin` converts one circuit
given as Python lists; :func:`parse_measurements` converts a whole
``GET jobs/{id}/artifacts/measurements`` body without ever building Python lists. Both run their
per-shot work in Rust.

Layout: column ``j`` becomes bit ``j`` (the rightmost bitstring character is column 0). A key
with zero shots has unknown width and becomes a ``BitArray`` of 0 shots and 0 bits. Keys must
be at most two levels deep (``[shot][qubit]``).

With ``registers=True`` the keys must be Qiskit-on-IQM keys
``<creg>_<creg_len>_<creg_idx>_<clbit_idx>`` (the register name may contain ``_``); they are
grouped into one ``BitArray`` per classical register, named after it and ordered by ``creg_idx``,
as Qiskit's samplers report them: clbit ``clbit_idx`` of the register is that key's bit and
unmeasured clbits are 0. Registers that no key mentions cannot be known and are absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shotpack import _native
from shotpack.containers.bit_array import BitArray
from shotpack.containers.data_bin import _RESTRICTED_NAMES, DataBin

__all__ = ["measurements_to_data_bin", "parse_measurements"]

_Field = tuple[str, NDArray[np.uint8], int]


def data_bin_from_fields(fields: Iterable[_Field], where: str) -> DataBin:
    """Wraps ``(name, packed array, num_bits)`` triples in BitArrays and one DataBin."""
    data: dict[str, Any] = {}
    for name, array, num_bits in fields:
        if name in _RESTRICTED_NAMES:
            raise ValueError(
                f"{where}{name!r} cannot be a DataBin field name (reserved names: "
                f"{sorted(_RESTRICTED_NAMES)})"
            )
        data[name] = BitArray(array, num_bits)
    return DataBin(**data)


def measurements_to_data_bin(
    circuit_measurements: Mapping[str, Sequence[Sequence[int]]], *, registers: bool = False
) -> DataBin:
    """Converts one circuit's IQM measurements (nested lists) to a ``DataBin``.

    Args:
        circuit_measurements: ``{key: [[0 or 1 per qubit of the locus] per shot]}``, as in
            ``RunResult.measurements[circuit]``.
        registers: Group Qiskit-on-IQM keys ``<creg>_<len>_<creg_idx>_<clbit>`` into one
            ``BitArray`` per classical register (see the module docs).

    Returns:
        A ``DataBin`` of shape ``()`` with one ``BitArray`` per key (in key order) or per register
        (in register order). ``{}`` gives an empty ``DataBin``.

    Raises:
        TypeError: If the input is not a mapping, a key is not a ``str``, or a shot or value has
            the wrong Python type (``True``/``False`` count as 1/0 here, as ``int`` subclasses;
            in JSON bodies they are errors).
        ValueError: If a value is not 0 or 1, shots are ragged, a key name is reserved by
            ``DataBin``, or (registers) a key is not a Qiskit-on-IQM key, measures more than one
            qubit, or disagrees with another key of its register. Messages name the key, shot
            and qubit.

    Example:
        >>> d = measurements_to_data_bin({"m": [[0, 1], [1, 1]]})
        >>> d.m.get_bitstrings()
        ['10', '11']
        >>> measurements_to_data_bin({"c_2_0_1": [[1], [0]]}, registers=True).c.get_bitstrings()
        ['10', '00']
    """
    if not isinstance(circuit_measurements, Mapping):
        raise TypeError(
            "circuit_measurements must be a mapping of measurement keys to shots, not "
            f"{type(circuit_measurements).__name__}"
        )
    names: list[str] = []
    arrays: list[NDArray[np.uint8]] = []
    widths: list[int] = []
    for key, shots in circuit_measurements.items():
        if not isinstance(key, str):
            raise TypeError(f"measurement keys must be str, not {type(key).__name__} ({key!r})")
        if isinstance(shots, list | tuple) and not shots:
            # Zero shots: the width is unknown (the packer wants two levels of nesting).
            array, num_bits = np.zeros((0, 0), dtype=np.uint8), 0
        else:
            try:
                array, num_bits = _native.pack_nested_lists(shots, little_endian=True, strict=True)
            except TypeError as exc:
                raise TypeError(f"key {key!r}: {exc}") from None
            except ValueError as exc:
                raise ValueError(f"key {key!r}: {exc}") from None
            if array.ndim != 2:
                raise ValueError(
                    f"key {key!r}: expected [shot][qubit] lists of 0/1, got {array.ndim} levels "
                    "of nesting"
                )
        names.append(key)
        arrays.append(array)
        widths.append(num_bits)
    fields: Iterable[_Field]
    if registers:
        fields = _native.assemble_registers(names, arrays, widths)
    else:
        fields = zip(names, arrays, widths, strict=True)
    return data_bin_from_fields(fields, "")


def parse_measurements(
    body: bytes | bytearray | memoryview | str, *, registers: bool = False
) -> list[DataBin]:
    """Parses the body of ``GET jobs/{id}/artifacts/measurements`` into one ``DataBin`` per circuit.

    The JSON is read in Rust straight into packed buffers (no Python object per shot or bit),
    with the GIL released; a large batch is filled in parallel (``SHOTPACK_NUM_THREADS`` caps
    the threads). ``bytes`` and ASCII ``str`` are read in place (other ``str`` through Python's
    cached UTF-8 form); ``bytearray`` and ``memoryview`` are copied once first.

    Args:
        body: The response body: ``[{key: [[bit, ...], ...], ...}, ...]``.
        registers: Group Qiskit-on-IQM keys into one ``BitArray`` per classical register (see the
            module docs).

    Returns:
        One ``DataBin`` (shape ``()``) per circuit, with the layout of
        :func:`measurements_to_data_bin`. ``[]`` gives ``[]``.

    Raises:
        TypeError: If ``body`` is not bytes-like or ``str``.
        ValueError: If the body is malformed or truncated JSON, or not exactly that shape: a
            bit other than ``0``/``1`` (``true``, ``2``, ``1.0``, ``1e0``, ``01`` included),
            ragged shots, a non-string or duplicate key, or (registers) a bad key. The message
            gives the byte offset and the circuit, key, shot and qubit.

    Example:
        >>> [d] = parse_measurements(b'[{"m": [[0, 1], [1, 1]]}]')
        >>> d.m.get_bitstrings()
        ['10', '11']
    """
    raw: list[list[Any]] = _native.parse_measurements_json(body, registers=registers)
    return [data_bin_from_fields(fields, f"circuit {i}: ") for i, fields in enumerate(raw)]
