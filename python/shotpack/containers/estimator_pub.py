"""``EstimatorPub``: a circuit, observables, parameter values and a precision, with Qiskit's
coercion rules (see :mod:`shotpack.containers.pub_inputs` for what a circuit must offer)."""

from __future__ import annotations

from typing import Any

import numpy as np

from shotpack.containers.bindings_array import BindingsArray
from shotpack.containers.observables_array import ObservablesArray
from shotpack.containers.pub_inputs import (
    check_circuit,
    check_num_parameters,
    check_precision,
    coerce_bindings,
    is_circuit,
)
from shotpack.containers.shape import ShapedMixin

__all__ = ["EstimatorPub"]


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
            check_precision(precision)
        if isinstance(pub, EstimatorPub):
            if pub.precision is None and precision is not None:
                return cls(
                    pub.circuit, pub.observables, pub.parameter_values, precision, validate=False
                )
            return pub
        if is_circuit(pub):
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
        check_circuit(circuit)
        observables = ObservablesArray.coerce(pub[1])
        values = coerce_bindings(circuit, pub[2]) if len(pub) > 2 else BindingsArray()
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
        check_circuit(self._circuit)
        self._observables.validate()
        self._parameter_values.validate()
        if self._precision is not None:
            check_precision(self._precision)
        nq = int(self._circuit.num_qubits)
        for i, obs in enumerate(self._observables.ravel().tolist()):
            if obs.num_qubits != nq:
                raise ValueError(
                    f"The number of qubits of the circuit ({nq}) does not match the number of "
                    f"qubits of the ({i})-th observable ({obs.num_qubits})."
                )
        check_num_parameters(self._circuit, self._parameter_values)

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
