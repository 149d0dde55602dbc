"""What a PUB needs from its inputs: the circuit protocol and the argument checks both PUBs share.

The circuit is used only through a small duck-typed protocol, so any circuit type works:

* ``circuit.num_qubits`` -- an ``int``;
* ``circuit.parameters`` -- the circuit's parameters **sorted by name** (Qiskit's order), each a
  ``str`` or an object with a ``name`` (shotpack's or Qiskit's ``Parameter``).

shotpack's IQM ``Circuit`` and Qiskit's ``QuantumCircuit`` both satisfy it. Parameter values
given as a bare array (not a mapping) bind to the parameters in that order: the last axis of the
array indexes ``circuit.parameters``.

Example:
    >>> from shotpack.circuit.parameters import Parameter
    >>> class Tiny:
    ...     num_qubits = 1
    ...     parameters = (Parameter("a"), Parameter("b"))
    >>> parameter_names(Tiny())
    ('a', 'b')
    >>> coerce_bindings(Tiny(), [[0.1, 0.2], [0.3, 0.4]]).shape
    (2,)
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from shotpack.containers.bindings_array import BindingsArray

__all__ = [
    "CircuitLike",
    "check_circuit",
    "check_num_parameters",
    "check_precision",
    "check_shots",
    "coerce_bindings",
    "is_circuit",
    "parameter_names",
]


@runtime_checkable
class CircuitLike(Protocol):
    """What a PUB needs from a circuit: its qubit count and sorted parameters."""

    @property
    def num_qubits(self) -> int: ...

    @property
    def parameters(self) -> Any: ...


def is_circuit(obj: object) -> bool:
    return (
        not isinstance(obj, (tuple, list, str, Mapping))
        and isinstance(getattr(obj, "num_qubits", None), numbers.Integral)
        and hasattr(obj, "parameters")
    )


def parameter_names(circuit: Any) -> tuple[str, ...]:
    """Names of ``circuit.parameters`` in order (str items or items with a ``name``)."""
    names = []
    for p in circuit.parameters:
        name = p if isinstance(p, str) else getattr(p, "name", None)
        if not isinstance(name, str):
            raise TypeError(f"circuit parameters must be str or have a name, got {type(p)}")
        names.append(name)
    return tuple(names)


def coerce_bindings(circuit: Any, values: Any) -> BindingsArray:
    if values is None or isinstance(values, (BindingsArray, Mapping)):
        return BindingsArray.coerce(values)
    # A scalar, list or ndarray: its last axis runs over the circuit's sorted parameters.
    return BindingsArray({parameter_names(circuit): values})


def check_circuit(circuit: object) -> None:
    if not is_circuit(circuit):
        raise TypeError(
            "circuit must be QuantumCircuit or a shotpack Circuit (any object with an integer "
            f"`num_qubits` and a `parameters` sequence), got {type(circuit)}"
        )


def check_num_parameters(circuit: Any, values: BindingsArray) -> None:
    """Checks that ``values`` has one value per circuit parameter (Qiskit's PUB check).

    Names are compared when the values are bound, as in Qiskit; when the counts differ, the
    message already names the parameters without a value and the values without a parameter.

    Raises:
        ValueError: Qiskit's ``The number of values (1) does not match the number of parameters
            (2) for the circuit.``, followed by ``No value for parameter(s) ['b']`` and/or
            ``value(s) for unknown parameter(s) [...]``.
    """
    wanted = parameter_names(circuit)
    if values.num_parameters == len(wanted):
        return
    given = values.parameter_names
    missing = [name for name in wanted if name not in set(given)]
    unknown = [name for name in given if name not in set(wanted)]
    details = []
    if missing:
        details.append(f"No value for parameter(s) {missing}")
    if unknown:
        details.append(f"value(s) for unknown parameter(s) {unknown}")
    raise ValueError(
        f"The number of values ({values.num_parameters}) does not match the number of "
        f"parameters ({len(wanted)}) for the circuit."
        + (f" {'; '.join(details)}." if details else "")
    )


def check_precision(precision: object) -> None:
    if not isinstance(precision, numbers.Real) or isinstance(precision, bool):
        raise TypeError(f"precision must be a real number, not {type(precision)}.")
    if precision < 0:
        raise ValueError("precision must be non-negative")


def check_shots(shots: object) -> None:
    if not isinstance(shots, numbers.Integral) or isinstance(shots, bool):
        raise TypeError("shots must be an integer")
    if shots <= 0:
        raise ValueError("shots must be positive")
