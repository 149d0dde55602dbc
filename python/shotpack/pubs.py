"""Primitive Unified Blocs: ``EstimatorPub`` and ``SamplerPub``, with Qiskit's coercion rules.

The circuit is used only through a small duck-typed protocol, so any circuit type works:

* ``circuit.num_qubits`` -- an ``int``;
* ``circuit.parameters`` -- the circuit's parameters **sorted by name** (Qiskit's order), each a
  ``str`` or an object with a ``name`` (shotpack's or Qiskit's ``Parameter``).

shotpack's IQM ``Circuit`` and Qiskit's ``QuantumCircuit`` both satisfy it. Parameter values
given as a bare array (not a mapping) bind to the parameters in that order: the last axis of the
array indexes ``circuit.parameters``.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from shotpack.bindings import BindingsArray
from shotpack.observables import ObservablesArray
from shotpack.shape import ShapedMixin

__all__ = ["CircuitLike", "EstimatorPub", "SamplerPub", "parameter_names"]


@runtime_checkable
class CircuitLike(Protocol):
    """What a PUB needs from a circuit: its qubit count and sorted parameters."""

    @property
    def num_qubits(self) -> int: ...

    @property
    def parameters(self) -> Any: ...


def _is_circuit(obj: object) -> bool:
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


def _bindings(circuit: Any, values: Any) -> BindingsArray:
    if values is None or isinstance(values, (BindingsArray, Mapping)):
        return BindingsArray.coerce(values)
    # A scalar, list or ndarray: its last axis runs over the circuit's sorted parameters.
    return BindingsArray({parameter_names(circuit): values})


def _check_circuit(circuit: object) -> None:
    if not _is_circuit(circuit):
        raise TypeError(
            "the circuit must have an integer `num_qubits` and a `parameters` sequence, "
            f"got {type(circuit)}"
        )


def _check_num_parameters(circuit: Any, values: BindingsArray) -> None:
    n = len(parameter_names(circuit))
    if values.num_parameters != n:
        raise ValueError(
            f"The number of values ({values.num_parameters}) does not match the number of "
            f"parameters ({n}) for the circuit."
        )


def _check_precision(precision: object) -> None:
    if not isinstance(precision, numbers.Real) or isinstance(precision, bool):
        raise TypeError(f"precision must be a real number, not {type(precision)}.")
    if precision < 0:
        raise ValueError("precision must be non-negative")


def _check_shots(shots: object) -> None:
    if not isinstance(shots, numbers.Integral) or isinstance(shots, bool):
        raise TypeError("shots must be an integer")
    if shots <= 0:
        raise ValueError("shots must be positive")


class EstimatorPub(ShapedMixin):
    """A circuit, an array of observables, parameter values and a precision.

    The PUB's shape is ``np.broadcast_shapes(observables.shape, parameter_values.shape)``; every
    output array of the Estimator has exactly that shape.

    Args:
        circuit: any object with ``num_qubits`` and sorted ``parameters`` (see module docs).
        observables: an :class:`ObservablesArray` or anything it accepts.
        parameter_values: a :class:`BindingsArray` (empty when None).
        precision: target standard error, or None for the Estimator's default.
        validate: run :meth:`validate`.

    Raises:
        ValueError: the shapes do not broadcast (the message names both), or a check of
            :meth:`validate` fails.
        TypeError: see :meth:`validate`.

    Example:
        >>> from types import SimpleNamespace
        >>> circ = SimpleNamespace(num_qubits=2, parameters=("a", "b"))
        >>> import numpy as np
        >>> pub = EstimatorPub.coerce((circ, [["ZZ"], ["XX"], ["IY"]], np.zeros((5, 2))))
        >>> pub.shape
        (3, 5)
    """

    __slots__ = ("_circuit", "_observables", "_parameter_values", "_precision", "_shape")

    def __init__(
        self,
        circuit: Any,
        observables: object,
        parameter_values: BindingsArray | None = None,
        precision: float | None = None,
        validate: bool = True,
    ) -> None:
        self._circuit = circuit
        self._observables = ObservablesArray.coerce(observables)
        self._parameter_values = BindingsArray.coerce(parameter_values)
        self._precision = precision
        try:
            self._shape = np.broadcast_shapes(self._observables.shape, self._parameter_values.shape)
        except ValueError:
            raise ValueError(
                f"The observables shape {self._observables.shape} and the parameter values "
                f"shape {self._parameter_values.shape} are not broadcastable."
            ) from None
        if validate:
            self.validate()

    @classmethod
    def coerce(cls, pub: object, precision: float | None = None) -> EstimatorPub:
        """An EstimatorPub from a tuple ``(circuit, observables[, values[, precision]])``.

        Args:
            pub: an EstimatorPub (returned as is, or copied with ``precision`` when its own is
                None) or a tuple/list of length 2, 3 or 4.
            precision: used when the pub gives none.

        Raises:
            TypeError: ``precision`` is not a real number.
            ValueError: ``precision`` is negative, ``pub`` is a bare circuit or has the wrong
                length, or the PUB is invalid.
        """
        if precision is not None:
            _check_precision(precision)
        if isinstance(pub, EstimatorPub):
            if pub.precision is None and precision is not None:
                return cls(
                    pub.circuit, pub.observables, pub.parameter_values, precision, validate=False
                )
            return pub
        if _is_circuit(pub):
            # Seen both for `run([circuit])` and for an unwrapped `run((circuit, obs))`, whose
            # items are then coerced one by one: the message must fit both.
            raise ValueError(
                "An Estimator pub must be a tuple (circuit, observables[, parameter_values[, "
                "precision]]), but a bare circuit was given. Note that a single pub is still "
                "passed in a list: `estimator.run([(circuit, observables)])`."
            )
        if not isinstance(pub, (tuple, list)) or len(pub) not in (2, 3, 4):
            n = len(pub) if isinstance(pub, (tuple, list)) else "?"
            raise ValueError(f"The length of pub must be 2, 3 or 4, but length {n} is given.")
        circuit = pub[0]
        _check_circuit(circuit)
        observables = ObservablesArray.coerce(pub[1])
        values = _bindings(circuit, pub[2]) if len(pub) > 2 else BindingsArray()
        if len(pub) > 3 and pub[3] is not None:
            precision = pub[3]
        return cls(circuit, observables, values, precision, validate=True)

    def validate(self) -> None:
        """Checks the circuit, observables, values and precision.

        Raises:
            TypeError: the circuit lacks the protocol, or the precision is not real.
            ValueError: an observable's qubit count differs from the circuit's, the number of
                values differs from the number of parameters, or the precision is negative.
        """
        _check_circuit(self._circuit)
        self._observables.validate()
        self._parameter_values.validate()
        if self._precision is not None:
            _check_precision(self._precision)
        nq = int(self._circuit.num_qubits)
        for i, obs in enumerate(self._observables.ravel().tolist()):
            if obs.num_qubits != nq:
                raise ValueError(
                    f"The number of qubits of the circuit ({nq}) does not match the number of "
                    f"qubits of the ({i})-th observable ({obs.num_qubits})."
                )
        _check_num_parameters(self._circuit, self._parameter_values)

    @property
    def circuit(self) -> Any:
        """The circuit."""
        return self._circuit

    @property
    def observables(self) -> ObservablesArray:
        """The observables array."""
        return self._observables

    @property
    def parameter_values(self) -> BindingsArray:
        """The parameter values (an empty BindingsArray when none were given)."""
        return self._parameter_values

    @property
    def precision(self) -> float | None:
        """The target precision, or None."""
        return self._precision

    def __repr__(self) -> str:
        return (
            f"EstimatorPub(shape={self._shape}, observables={self._observables.shape}, "
            f"parameter_values={self._parameter_values.shape}, precision={self._precision})"
        )


class SamplerPub(ShapedMixin):
    """A circuit, parameter values and a number of shots; its shape is the values' shape.

    Args:
        circuit: any object with ``num_qubits`` and sorted ``parameters`` (see module docs).
        parameter_values: a :class:`BindingsArray` (empty when None).
        shots: a positive integer, or None for the Sampler's default.
        validate: run :meth:`validate`.

    Raises:
        TypeError: the circuit lacks the protocol, or ``shots`` is not an integer.
        ValueError: ``shots`` is not positive, or the number of values differs from the number
            of parameters.

    Example:
        >>> from types import SimpleNamespace
        >>> circ = SimpleNamespace(num_qubits=1, parameters=("t",))
        >>> SamplerPub.coerce((circ, [[0.1], [0.2]], 100)).shape
        (2,)
    """

    __slots__ = ("_circuit", "_parameter_values", "_shots")

    def __init__(
        self,
        circuit: Any,
        parameter_values: BindingsArray | None = None,
        shots: int | None = None,
        validate: bool = True,
    ) -> None:
        self._circuit = circuit
        self._parameter_values = BindingsArray.coerce(parameter_values)
        self._shots = shots
        if validate:
            self.validate()

    @classmethod
    def coerce(cls, pub: object, shots: int | None = None) -> SamplerPub:
        """A SamplerPub from a circuit or a tuple ``(circuit[, values[, shots]])``.

        Raises:
            TypeError: ``shots`` is not an integer (bools and floats are rejected).
            ValueError: ``shots`` is not positive, the tuple has the wrong length, or the PUB
                is invalid (e.g. a parametric circuit given without values).
        """
        if shots is not None:
            _check_shots(shots)
        if isinstance(pub, SamplerPub):
            if pub.shots is None and shots is not None:
                return cls(pub.circuit, pub.parameter_values, shots, validate=False)
            return pub
        if _is_circuit(pub):
            names = parameter_names(pub)
            if names:
                shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
                raise ValueError(
                    f"The circuit has {len(names)} parameters ({shown}) but no parameter values "
                    "were given: pass the pub as a tuple (circuit, parameter_values), e.g. "
                    "`sampler.run([(circuit, values)])`."
                )
            return cls(pub, None, shots, validate=True)
        if not isinstance(pub, (tuple, list)) or len(pub) not in (1, 2, 3):
            n = len(pub) if isinstance(pub, (tuple, list)) else "?"
            raise ValueError(f"The length of pub must be 1, 2 or 3, but length {n} is given.")
        circuit = pub[0]
        _check_circuit(circuit)
        values = _bindings(circuit, pub[1]) if len(pub) > 1 else BindingsArray()
        if len(pub) > 2 and pub[2] is not None:
            shots = pub[2]
        return cls(circuit, values, shots, validate=True)

    def validate(self) -> None:
        """Checks the circuit, shots and number of values (see the class docs for errors)."""
        _check_circuit(self._circuit)
        if self._shots is not None:
            _check_shots(self._shots)
        self._parameter_values.validate()
        _check_num_parameters(self._circuit, self._parameter_values)

    @property
    def circuit(self) -> Any:
        """The circuit."""
        return self._circuit

    @property
    def parameter_values(self) -> BindingsArray:
        """The parameter values."""
        return self._parameter_values

    @property
    def shots(self) -> int | None:
        """The number of shots, or None."""
        return self._shots

    @property
    def shape(self) -> tuple[int, ...]:
        """The parameter values' shape."""
        return self._parameter_values.shape

    def __repr__(self) -> str:
        return f"SamplerPub(shape={self.shape}, shots={self._shots})"
